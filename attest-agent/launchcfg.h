/* SPDX-License-Identifier: BSD-3-Clause */
/* The security-relevant launch configuration of a container, extracted from config.json. */
#ifndef AGENT_LAUNCHCFG_H
#define AGENT_LAUNCHCFG_H

#include <cbor.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"

/* A sorted set of texts. */
struct strset {
    char **v;
    size_t n;
};

/* Where the container is started from: what runc resolves config.json against. */
struct launch_env {
    const char *bundle_dir;  /* relative bind sources resolve against it (runc chdirs there) */
    const char *mgr_run_dir; /* vtpm-mgr's run dir: a host bind that reaches it is flagged */
    const char *self_exe;    /* this agent's binary: a hook running it is flagged `agent` */
    const char *own_vtpm;    /* UUID of the container's vTPM: a bind of exactly
                              * <mgr_run_dir>/vtpm/<uuid> is `own_vtpm`, not `vtpm_mgr` */
    const char *ctr_id;      /* the container's id (OCI state): names its engine files */
    long long pid;           /* the container's process (OCI state), 0: none; a namespace
                              * joined by path that it shows is not the host's is
                              * `joined_namespaces`, not `host_namespaces` */
    long long runtime_pid;   /* the runtime's process (the hook's parent): the reference for
                              * "not the host's" with pid 1; 0: this process */
    const char *const *engine_storage; /* NULL-terminated containers/storage roots (podman's
                              * graph and run roots): a bind of exactly one of the container's
                              * own per-container files there, at its one destination, is
                              * `engine_file` (launchmount.c) */
    const char *cri_root;    /* containerd CRI's root and state (NULL or "": none): a bind of */
    const char *cri_state;   /* one of the container's sandbox's files is `engine_file` */
    const char *kubelet_root; /* the kubelet's root (NULL or "": none): a bind from the pod's
                              * directory there is a `pod_volume` (launchpod.c) */
};

struct launch_config {
    /* The record's `config` map (docs/evidence.md) as extracted from config.json, without
     * the rootfs findings and the digest that launchcfg_to_cbor appends. Owned. */
    cbor_item_t *map;
    struct strset mount_points;     /* mount destinations relative to the root ("dev/pts");
                                     * not measured here: the rootfs digest skips them */
    struct strset rootfs_setid;     /* setuid/setgid files in the rootfs (rootfs_digest) */
    struct strset rootfs_devices;   /* device nodes in the rootfs (rootfs_digest) */
    uint8_t config_digest[DIGEST_LEN];
};

/* Adds s unless present, keeping the set sorted. Returns 0 or -ENOMEM. */
int strset_add(struct strset *s, const char *v);
int strset_has(const struct strset *s, const char *v);
void strset_free(struct strset *s);

/*
 * Extracts the launch configuration from a parsed config.json as runc applies it. Every
 * field it reads must have the OCI type (a wrong type, an unknown namespace type, a negative
 * uid is -EINVAL, logged); absent optional fields take the runtime's defaults. env may be
 * NULL (bundle ".", no run dir, no agent binary). Free with launchcfg_free().
 */
int launchcfg_extract(const json_t *config, const uint8_t digest[DIGEST_LEN],
                      const struct launch_env *env, struct launch_config *lc);
void launchcfg_free(struct launch_config *lc);

/* The `config` map of a launch-config record (docs/evidence.md). NULL on ENOMEM. */
cbor_item_t *launchcfg_to_cbor(const struct launch_config *lc);
/* The same as a JSON object, for `attest-agent measure`. */
json_t *launchcfg_to_json(const struct launch_config *lc);
/* The system calls the default policy's seccomp rule wants blocked (launchseccomp.c), as a JSON
 * array (new reference; NULL when out of memory): `attest-agent dangerous-syscalls`. */
json_t *launchcfg_dangerous_syscalls(void);

#endif
