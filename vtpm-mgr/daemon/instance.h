/* SPDX-License-Identifier: BSD-3-Clause */
/* The parent's table of vTPM instances and their metadata file (meta.cbor). */
#ifndef VTPM_MGR_INSTANCE_H
#define VTPM_MGR_INSTANCE_H

#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "devnode.h"
#include "peerns.h"
#include "statestore.h"

struct worker;

enum inst_status {
    INST_PENDING = 0, /* being created; state lives in vtpm/.new-<uuid>/ */
    INST_LIVE,        /* published and served */
    INST_BROKEN,      /* state unreadable; never served, never re-manufactured */
    INST_ROLLED_BACK, /* state older than the rollback manifest lists; never served */
};

struct instance {
    uint8_t uuid[16];
    char uuid_str[37];
    char name[MGR_NAME_MAX];
    char tenant[MGR_NAME_MAX];
    int ek_type;                 /* enum vtpm_ek_type */
    uint32_t owner_uid, owner_gid;
    uint64_t created;            /* unix time */
    enum inst_status status;
    char error[256];             /* why BROKEN or ROLLED_BACK */
    uint8_t key[STATE_KEY_LEN];  /* per-vTPM state key (wiped on free) */
    struct worker *worker;
    int data_fd, ctrl_fd;        /* listening sockets, kept across worker restarts */
    int dev_fd;                  /* kmod-vtpm server fd of /dev/vtpm<dev_index>, or -1; kept
                                    across worker restarts, the device lives while it is open */
    uint32_t dev_index;
    char dev_node[DEVNODE_MAX];  /* the device's node in its container ("" none), made by
                                    vtpm-mgr and re-made by a later run (devrec.c) */
    struct {                     /* the process the device was attached for */
        pid_t pid;
        uint64_t start_ticks;
        struct peerns ns;
    } dev_ctr;
    struct peerns_ref bound;     /* the container given this vTPM (bind), held open; kept
                                    across a daemon restart for the same process only
                                    (bindrec.c) */
    struct instance *next;
};

struct inst_table {
    struct instance *head;
    unsigned count;
};

struct instance *inst_new(void);
/* Closes sockets, wipes the key, frees. */
void inst_free(struct instance *in);
void inst_add(struct inst_table *t, struct instance *in);
void inst_unlink(struct inst_table *t, struct instance *in);
struct instance *inst_find(const struct inst_table *t, const uint8_t uuid[16]);
struct instance *inst_find_str(const struct inst_table *t, const char *uuid_or_name);

/* Directory name of the instance under <state-dir>/vtpm ("<uuid>" or ".new-<uuid>"). */
void inst_dirname(const struct instance *in, char *out, size_t outsz);

const char *inst_ek_name(int ek_type);

/* Validates a vTPM name or tenant: 1-63 bytes of [A-Za-z0-9._-], not starting with '.' or '-'. */
int inst_valid_name(const char *s);

/* meta.cbor: encode to a callee-allocated buffer / decode strictly into in. */
int inst_meta_encode(const struct instance *in, uint8_t **buf, size_t *len);
int inst_meta_decode(const uint8_t *buf, size_t len, struct instance *in);

#endif
