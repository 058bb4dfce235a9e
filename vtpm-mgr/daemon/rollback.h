/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Rollback detection for vTPM state files (docs/state-format.md, "Rollback manifest"). Every
 * state file carries a generation; <state-dir>/state.manifest, authenticated with a key
 * derived from the state key, lists each vTPM's latest generations and the value a monotonic
 * NV counter in the host TPM has once the manifest is committed. A batch of state writes is
 * committed together (group commit): files, then the manifest with counter + 1, then one
 * TPM2_NV_Increment, then the acknowledgements. A crash anywhere in that order leaves either
 * files newer than the manifest (a write nobody was told about, taken as the latest) or a
 * manifest one ahead of the counter (finished at the next start), never an older file than
 * the manifest lists: that only a rollback produces.
 */
#ifndef VTPM_MGR_ROLLBACK_H
#define VTPM_MGR_ROLLBACK_H

#include <stddef.h>
#include <stdint.h>

#include "hosttpm.h"
#include "statestore.h"

#define RB_MANIFEST_FILE "state.manifest"
#define RB_MAX_ENTRIES   65536u
#define RB_VOL_LIVE      1u       /* entry flag: vol.enc of vol_gen is waiting to be resumed */

struct rb_entry {
    uint8_t uuid[16];
    uint64_t perm_gen;            /* generation of the latest perm.enc */
    uint64_t vol_gen;             /* generation of the latest vol.enc (live or consumed) */
    uint32_t flags;               /* RB_VOL_LIVE */
};

struct rb_manifest {
    uint64_t counter;             /* the host counter's value once this manifest is committed */
    uint32_t nv_index;            /* the host counter's NV index */
    struct rb_entry *e;
    size_t n, cap;
};

/* Encodes m with an HMAC-SHA256 under key into a callee-allocated buffer (free()). */
int rb_manifest_encode(const struct rb_manifest *m, const uint8_t key[STATE_KEY_LEN],
                       uint8_t **buf, size_t *len);
/* Checks the HMAC and layout, then fills m (release with rb_manifest_free). -EBADMSG when
 * anything is wrong. */
int rb_manifest_decode(const uint8_t *buf, size_t len, const uint8_t key[STATE_KEY_LEN],
                       struct rb_manifest *m);
void rb_manifest_free(struct rb_manifest *m);
struct rb_entry *rb_find(const struct rb_manifest *m, const uint8_t uuid[16]);
/* The entry of uuid, added (zero generations) when absent; NULL when out of memory/room. */
struct rb_entry *rb_add(struct rb_manifest *m, const uint8_t uuid[16]);
void rb_remove(struct rb_manifest *m, const uint8_t uuid[16]);

/* What the state directory as a whole says at start (manifest against host counter). */
enum rb_dir_verdict {
    RB_DIR_OK = 0,           /* manifest committed: its counter is the host counter's value */
    RB_DIR_UNFINISHED,       /* manifest one ahead: a crash before the increment; finish it */
    RB_DIR_FRESH,            /* neither manifest nor vTPMs to protect: start a new one */
    RB_DIR_ROLLED_BACK,      /* manifest older than the counter: the directory was rolled back */
    RB_DIR_NO_MANIFEST,      /* vTPMs but no manifest while the counter exists */
    RB_DIR_NO_COUNTER,       /* a manifest but no counter: host TPM cleared or index deleted */
    RB_DIR_COUNTER_BEHIND,   /* counter more than one behind the manifest: not our counter */
};

/*
 * have_manifest: a valid manifest was read, of counter value mcounter. counter_rc: 0 when the
 * host counter was read (value counter), -ENOENT when absent, -ENODATA when never incremented.
 * have_vtpms: the state directory holds vTPM directories.
 */
enum rb_dir_verdict rb_check_dir(int have_manifest, uint64_t mcounter, int counter_rc,
                                 uint64_t counter, int have_vtpms);

/* What one state file is against its manifest entry (NULL: the vTPM is not listed). */
enum rb_file_verdict {
    RB_FILE_OK = 0,          /* the generation the manifest lists */
    RB_FILE_NEWER,           /* written after the last commit (its ack never went out) */
    RB_FILE_ROLLED_BACK,     /* older than the manifest lists, or a vTPM the manifest lacks */
    RB_FILE_CONSUMED,        /* vol.enc already resumed once: ignore it (never again) */
};

enum rb_file_verdict rb_check_perm(const struct rb_entry *e, uint64_t gen);
enum rb_file_verdict rb_check_vol(const struct rb_entry *e, uint64_t gen);

/* The daemon's guard: the manifest in memory (committed plus pending changes) and the host
 * counter. */
struct rb_guard {
    struct rb_manifest mf;
    uint8_t key[STATE_KEY_LEN];   /* manifest HMAC key (wiped by rb_guard_close) */
    struct hosttpm *host;
    int state_fd;
    uint64_t counter;             /* the host counter's value, as this daemon left it */
    int dirty;                    /* mf differs from the committed manifest */
    int unsynced;                 /* a manifest of counter + 1 is on disk, not yet counted */
    int adopt;                    /* first start: the files on disk are taken as the latest */
    int frozen;                   /* nonzero: nothing is served or committed; see why */
    int serving;                  /* start-up is over (arms the test hook VTPM_MGR_FAULT) */
    char why[200];
};

/*
 * Reads the manifest and the counter and decides (rb_check_dir). Creates the counter on a
 * fresh start. A rolled-back directory, a missing manifest or counter freezes the guard
 * (g->frozen, g->why): every vTPM is then reported rolled-back. Returns 0 (also when frozen),
 * or a negative errno when the host TPM or the disk failed.
 */
int rb_guard_open(struct rb_guard *g, struct hosttpm *h, int state_fd, uint32_t index,
                  const uint8_t master[STATE_KEY_LEN], int have_vtpms);
void rb_guard_close(struct rb_guard *g);

/* Commits every pending change: manifest (counter + 1), then one increment of the host
 * counter. Nothing pending: no TPM command. Returns 0 or a negative errno (-EROFS frozen). */
int rb_guard_commit(struct rb_guard *g);

/*
 * --accept-state: takes the state directory as it is now as the latest (the operator's
 * decision after a host TPM clear or a rollback they want to keep): creates the counter if
 * needed, increments it, and writes a manifest listing every vTPM's files' generations.
 */
int rb_accept_state(struct hosttpm *h, int state_fd, int vtpm_fd, uint32_t index,
                    const uint8_t master[STATE_KEY_LEN]);

#endif
