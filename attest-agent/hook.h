/* SPDX-License-Identifier: BSD-3-Clause */
/* The OCI createRuntime hook: measure, register, quote, ask the verifier, allow or block. */
#ifndef AGENT_HOOK_H
#define AGENT_HOOK_H

#include <cbor.h>
#include <stddef.h>
#include <stdint.h>

#include "mgrclient.h"
#include "noderec.h"
#include "opts.h"

/* Annotation naming an existing vTPM (UUID or vtpm-mgr name) for the container. */
#define ANN_VTPM "org.vtpm-attest.vtpm"
#define ANN_KDEV "org.vtpm-attest.kernel-device" /* auto|on|off, over --kernel-device */

/* What re-attesting an allowed container needs (all borrowed for the callback's duration). */
struct hook_attested {
    const char *container_id, *vtpm, *registration;
    long long pid;                  /* the container's process (OCI state), 0: unknown */
    const cbor_item_t *event_log;   /* records extended at the start: take a reference */
};

/* What the agent service supplies to a check; all zero for a stand-alone hook. */
struct hook_env {
    const char *runtime;      /* runtime binary to measure unless o->runtime; NULL: the parent */
    long long runtime_pid;    /* the runtime's process (its namespaces are the reference for
                               * joined ones, launchcfg.h); 0: the parent */
    /* A vTPM created and registered ahead (PCRs still zero), or < 0: create one. */
    int (*take_vtpm)(void *arg, char uuid[MGR_UUID_LEN]);
    void *arg;
    int host_registered;      /* in/out: the host AK is registered at o->verifier */
    /* Told about each allowed container (the service re-attests them); NULL: nobody. */
    void (*attested)(void *arg, const struct hook_attested *a);
    void *attested_arg;
    /* Node mode: the service's node-freshness records; NULL: the cache file (nodemode.h). */
    struct nodetab *nodes;
};

/* Runs the hook with the OCI state on stdin; argv is the command line (forwarded to the
 * service at o->agent_socket when one answers). Returns the process exit status: 0 only
 * when the verifier answered allow. */
int hook_run(const struct agent_opts *o, int argc, char **argv);

/* One check of the OCI state (len bytes) under o->timeout_ms, without watchdog: 0 allowed,
 * 1 must not start, the reasons on stderr. */
int hook_check(const struct agent_opts *o, const uint8_t *state, size_t len,
               struct hook_env *env);

#endif
