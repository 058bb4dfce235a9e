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

struct launch_config {
    struct strset capabilities;     /* union of bounding, effective, permitted */
    struct strset host_namespaces;  /* network, pid, ipc, uts, mount, user, cgroup not unshared */
    struct strset privileged_mounts;/* host paths bind-mounted read-write */
    struct strset devices;          /* device nodes, and "allow T MAJ:MIN ACC" cgroup rules */
    struct strset mount_points;     /* mount destinations relative to the root ("dev/pts");
                                     * not measured here: the rootfs digest skips them */
    int seccomp, seccomp_default_deny, no_new_privileges, readonly_rootfs;
    uint64_t memory_limit, cpu_shares; /* 0 = none */
    uint32_t uid, gid;
    uint8_t config_digest[DIGEST_LEN];
};

/* Adds s unless present, keeping the set sorted. Returns 0 or -ENOMEM. */
int strset_add(struct strset *s, const char *v);
void strset_free(struct strset *s);

/*
 * Extracts the launch configuration from a parsed config.json. Every field it reads must
 * have the OCI type (a wrong type, an unknown namespace type, a negative uid is -EINVAL,
 * logged); absent optional fields take the runtime's defaults. Free with launchcfg_free().
 */
int launchcfg_extract(const json_t *config, const uint8_t digest[DIGEST_LEN],
                      struct launch_config *lc);
void launchcfg_free(struct launch_config *lc);

/* The `config` map of a launch-config record (docs/evidence.md). NULL on ENOMEM. */
cbor_item_t *launchcfg_to_cbor(const struct launch_config *lc);
/* The same as a JSON object, for `attest-agent measure`. */
json_t *launchcfg_to_json(const struct launch_config *lc);

#endif
