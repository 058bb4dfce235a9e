/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The node-freshness record of node mode (docs/attest-agent.md "Node mode"): until when the
 * verifier holds a fresh allow for this node, so that container evidence can name the node
 * instead of carrying a host quote. Kept in memory by the agent service (nodetab) and in a
 * flock'd file of the cache directory by one-shot hooks (nodefile); both let one refresh (one
 * piece of host-only evidence, one host quote) serve every start that waits for it.
 */
#ifndef AGENT_NODEREC_H
#define AGENT_NODEREC_H

#include <pthread.h>
#include <stdint.h>

#include "digest.h"

#define NODEREC_SLOTS     8      /* nodes (node name, verifier) the service keeps apart */
#define NODEREC_MARGIN_MS 2000   /* a record this close to its end counts as stale: the
                                  * container evidence sent next must reach the verifier
                                  * before (one vTPM quote and a POST, no host-TPM command) */
#define NODEREC_MAX_S     (7 * 86400) /* longest freshness taken from an answer */
#define NODEREC_FILE_MAX  4096

/* What the verifier answered to allowed host-only evidence: unix seconds of its clock, 0 where
 * the answer had no such field. */
struct node_answer {
    int64_t time, due, fresh_until;
};

/* CLOCK_BOOTTIME in ms (ns): keeps counting through a suspend, as the verifier's clock does. */
int64_t noderec_now_ms(void);
int64_t noderec_now_ns(void);

/* The instant (noderec_now_ms()) until which a node verdict is fresh at the verifier: a's
 * fresh_until, else its due, whichever is earlier when both are set, as a span after a's time
 * (wall_s, the local unix time, when a has none) counted from sent_ms, when the host evidence
 * was sent; one second less for the verifier's whole seconds. 0 when a bounds nothing. */
int64_t noderec_expiry(const struct node_answer *a, int64_t sent_ms, int64_t wall_s);

/* SHA-256(node NUL verifier URL): the record's key and file name. */
int noderec_key(const char *node, const char *url, uint8_t key[DIGEST_LEN]);

/* A record: the result of the last refresh. */
struct noderec_state {
    int64_t fresh_ms;  /* fresh until then (noderec_now_ms()); 0: no fresh verdict */
    int64_t done_ns;   /* when the last refresh ended (noderec_now_ns()), also the record's
                        * identity for a drop; 0: none (also after a drop) */
    int rc;            /* its result: 0 allow, -EACCES denied, another -errno */
};

enum noderec_action { NODEREC_USE, NODEREC_FAIL, NODEREC_REFRESH };

/* What a caller that needs the verdict fresh until need_ms and has waited since since_ns does:
 * use a record fresh enough; take the result of a refresh that ended while it waited (one
 * refresh serves every start that waited for it, a failed one too); else refresh. */
enum noderec_action noderec_decide(const struct noderec_state *s, int64_t need_ms,
                                   int64_t since_ns);

/* One refresh: host-only evidence; a filled on allow. 0 (allow) or -errno (-EACCES: deny). */
typedef int (*noderec_refresh_fn)(void *arg, struct node_answer *a);

/* What one ensure did, for the caller's log and a later drop. */
struct noderec_use {
    int refreshed;       /* this caller ran the refresh */
    int shared;          /* it took the result of another caller's refresh */
    int64_t token;       /* done_ns of the record used (nodetab_drop, nodefile_drop) */
    int64_t fresh_ms;    /* its freshness */
};

/* ---- in memory (the agent service; thread-safe) ---------------------------------------- */

struct nodetab_slot {
    uint8_t key[DIGEST_LEN];
    int used, busy;             /* busy: a refresh runs (its caller holds no lock meanwhile) */
    int64_t last_ns;            /* last use: the oldest idle slot is reused */
    struct noderec_state st;
};

struct nodetab {
    pthread_mutex_t mu;         /* guards s[] */
    pthread_cond_t cv;          /* a refresh ended */
    struct nodetab_slot s[NODEREC_SLOTS];
};

int nodetab_init(struct nodetab *t);
void nodetab_free(struct nodetab *t);

/* 0 when the verdict for key is fresh until need_ms: the record as it is, the result of a
 * refresh in flight (waited for until deadline_ms, else -ETIMEDOUT), or a refresh by fn that
 * this call runs (fn NULL: -ESTALE instead). A failed refresh's error otherwise. Times are
 * noderec_now_ms() values. */
int nodetab_ensure(struct nodetab *t, const uint8_t key[DIGEST_LEN], int64_t need_ms,
                   int64_t deadline_ms, noderec_refresh_fn fn, void *arg, struct noderec_use *u);

/* Forgets the record when it is still the one used (token), e.g. after a node-verdict-* deny:
 * the next ensure refreshes. A record newer than token, or a refresh in flight, stays. */
void nodetab_drop(struct nodetab *t, const uint8_t key[DIGEST_LEN], int64_t token);

/* ---- in the cache directory (one-shot hooks; between processes) ----------------------- */

/* As nodetab_ensure, with the record in <dir>/node-<hex key> (JSON, written by rename) and the
 * refresh under flock() of <dir>/node-<hex key>.lock. A directory that is not private to this
 * euid (a warning) or an unusable lock: fn runs for this call alone. */
int nodefile_ensure(const char *dir, const char *node, const char *url, int64_t need_ms,
                    int64_t deadline_ms, noderec_refresh_fn fn, void *arg,
                    struct noderec_use *u);
/* As nodetab_drop; skipped while another process refreshes. */
void nodefile_drop(const char *dir, const char *node, const char *url, int64_t token);

#endif
