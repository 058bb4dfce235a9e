/* SPDX-License-Identifier: BSD-3-Clause */
/* The `launch` part of the verifier's policy: its schema, defaults and rules (docs/policy.md). */
#ifndef VERIFIER_LAUNCHPOLICY_H
#define VERIFIER_LAUNCHPOLICY_H

#include <cbor.h>
#include <jansson.h>
#include <stddef.h>

#include "check/reasons.h"

/* 1 when a is a JSON array of strings only (policy files' lists), else 0. */
int policy_json_texts(const json_t *a);
/* The default `launch` object (callee-allocated, json_decref). NULL on ENOMEM. */
json_t *launch_policy_defaults(void);
/* Checks l (a `launch` object) key by key: unknown keys and wrong types are errors. */
int launch_policy_validate(const json_t *l, char *err, size_t errsz);
/* Evaluates cfg (a launch-config record's `config` map) against launch, adding reasons. */
void launch_policy_check(const json_t *launch, const cbor_item_t *cfg, struct reasons *r);

/* Single facts judged by the same rules and reason names as launch_policy_check, for checks
 * made before a container exists (admission of a Kubernetes pod spec, sched/podspec.c). */
enum launch_flag {
    LAUNCH_FLAG_NO_NEW_PRIVILEGES,
    LAUNCH_FLAG_SECCOMP,
    LAUNCH_FLAG_SECCOMP_DEFAULT_DENY,
    LAUNCH_FLAG_READONLY_ROOTFS,
};
enum launch_root {
    LAUNCH_ROOT_NONE,
    LAUNCH_ROOT_UID,       /* runs as uid 0 */
    LAUNCH_ROOT_UID_UNSET, /* the user is not known to be non-root (the image decides) */
    LAUNCH_ROOT_GID,       /* gid 0 */
    LAUNCH_ROOT_EXTRA_GID, /* an additional gid 0 */
};
void launch_rule_capability(const json_t *launch, const char *cap, struct reasons *r);
void launch_rule_host_namespace(const json_t *launch, const char *ns, struct reasons *r);
/* A host bind mount of src ("ro" or "rw"), judged by forbidden_host_sources and
 * allowed_host_mounts. */
void launch_rule_host_bind(const json_t *launch, const char *src, const char *mode,
                           struct reasons *r);
void launch_rule_sysctl(const json_t *launch, const char *key, struct reasons *r);
void launch_rule_device_rule(const json_t *launch, const char *rl, struct reasons *r);
void launch_rule_flag(const json_t *launch, enum launch_flag f, int set, struct reasons *r);
/* Not called when a user namespace maps the container's root elsewhere. */
void launch_rule_root(const json_t *launch, enum launch_root what, struct reasons *r);
/* No masked or read-only /proc paths at all (a privileged or Unmasked /proc). */
void launch_rule_unmasked(const json_t *launch, struct reasons *r);
/* A read-write mount of type ("sysfs", "cgroup2") at dst. */
void launch_rule_writable_mount(const json_t *launch, const char *type, const char *dst,
                                struct reasons *r);
void launch_rule_apparmor(const json_t *launch, const char *profile, struct reasons *r);
void launch_rule_selinux_type(const json_t *launch, const char *type, struct reasons *r);
/* allowed_host_ports: a port of the node bound for the container (admission only: the
 * runtime's config does not show it, the network plugin maps it). */
void launch_rule_host_port(const json_t *launch, long long port, struct reasons *r);

#endif
