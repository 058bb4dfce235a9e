/* SPDX-License-Identifier: BSD-3-Clause */
/* vtpm-mgr's settings: command-line options and their defaults for a real host. */
#ifndef VTPM_MGR_CONFIG_H
#define VTPM_MGR_CONFIG_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "hosttpm.h"

#define MGR_DEFAULT_STATE_DIR "/var/lib/vtpm-mgr"
#define MGR_DEFAULT_RUN_DIR   "/run/vtpm-mgr"
#define MGR_DEFAULT_PER_WORKER 64u
#define MGR_DEFAULT_TENANT    "default"
#define MGR_NAME_MAX          64 /* names and tenants, with the NUL */

struct mgr_config {
    char state_dir[PATH_MAX];
    char run_dir[PATH_MAX];
    char host_tcti[512];
    char host_ek_ca[PATH_MAX];
    char seal_pcrs[128];
    char worker_path[PATH_MAX];
    char kmod_control[PATH_MAX]; /* kmod-vtpm control device */
    int foreground;
    int reseal;              /* --reseal: re-seal the state key to --seal-pcrs, then exit */
    int accept_state;        /* --accept-state: take the state directory as the latest, exit */
    uint32_t counter_index;  /* rollback counter NV index in the host TPM */
    unsigned per_worker;     /* instances a worker hosts at most */
    unsigned issuer_lifetime; /* seconds an issuer key's certificate is valid (issuer.h) */
    uid_t worker_uid;        /* unprivileged identity of the workers */
    gid_t worker_gid;
    gid_t ctl_gid;           /* group also allowed on the control socket; (gid_t)-1: none */
    int host_mnt_set;        /* --host-mnt-ns: the host's mount namespace, instead of PID 1's */
    uint64_t host_mnt_dev, host_mnt_ino;
    struct hosttpm_config host;
};

/* Parses argv into cfg (defaults first). Returns 0 to run, 1 when help/version was printed,
 * -1 on a usage error (message already printed to stderr). */
int config_parse(int argc, char **argv, struct mgr_config *cfg);

/* The settings' paths checked before anything is made: each fault logged naming the option
 * and path. 0 or -1. */
int config_check(const struct mgr_config *cfg);

#endif
