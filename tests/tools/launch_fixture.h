/* SPDX-License-Identifier: BSD-3-Clause */
/* Test fixture: completes a launch-config `config` map with the fields of a hardened
 * container (docs/evidence.md) that the default policy allows. Header-only: the tools and
 * unit tests that build evidence by hand include it. */
#ifndef TESTS_LAUNCH_FIXTURE_H
#define TESTS_LAUNCH_FIXTURE_H

#include <cbor.h>

#include "ctlproto.h"

static inline cbor_item_t *lf_texts(const char *const *v, size_t n)
{
    cbor_item_t *a = cbor_new_definite_array(n);

    for (size_t i = 0; a && i < n; i++)
        cbor_array_push(a, cbor_move(cbor_build_string(v[i])));
    return a;
}

static inline void lf_put(cbor_item_t *c, const char *k, cbor_item_t *v)
{
    if (ctl_get(c, k))
        cbor_decref(&v); /* the caller set it */
    else
        ctl_put_item(c, k, v);
}

static inline cbor_item_t *lf_mount(const char *type, const char *dest, const char *mode)
{
    cbor_item_t *m = ctl_map_new();

    ctl_put_str(m, "type", type);
    ctl_put_str(m, "source", type);
    ctl_put_str(m, "destination", dest);
    ctl_put_str(m, "mode", mode);
    ctl_put_str(m, "propagation", "");
    return m;
}

/* Adds every field c lacks, with a hardened container's value. */
static inline void launch_fixture_fill(cbor_item_t *c)
{
    static const char *const masked[] = { "/proc/acpi", "/proc/asound", "/proc/kcore",
        "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
        "/proc/sched_debug", "/sys/firmware", "/proc/scsi" };
    static const char *const ro[] = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                      "/proc/sysrq-trigger" };
    static const char *const arch[] = { "SCMP_ARCH_X86_64" };
    cbor_item_t *user = ctl_map_new(), *mounts = cbor_new_definite_array(2);

    ctl_put_uint(user, "uid", 1000);
    ctl_put_uint(user, "gid", 1000);
    ctl_put_item(user, "additional_gids", lf_texts(NULL, 0));
    cbor_array_push(mounts, cbor_move(lf_mount("proc", "/proc", "rw")));
    cbor_array_push(mounts, cbor_move(lf_mount("sysfs", "/sys", "ro")));
    lf_put(c, "capabilities", lf_texts(NULL, 0));
    lf_put(c, "host_namespaces", lf_texts(NULL, 0));
    lf_put(c, "user", user);
    lf_put(c, "user_namespace", cbor_build_bool(false));
    lf_put(c, "uid_mappings", lf_texts(NULL, 0));
    lf_put(c, "gid_mappings", lf_texts(NULL, 0));
    lf_put(c, "no_new_privileges", cbor_build_bool(true));
    lf_put(c, "readonly_rootfs", cbor_build_bool(true));
    lf_put(c, "memory_limit", cbor_build_uint32(256u << 20));
    lf_put(c, "cpu_shares", cbor_build_uint16(512));
    lf_put(c, "pids_limit", cbor_build_uint8(100));
    lf_put(c, "oom_score_adj", cbor_build_uint8(0));
    lf_put(c, "apparmor_profile", cbor_build_string(""));
    lf_put(c, "selinux_label", cbor_build_string(""));
    lf_put(c, "seccomp", cbor_build_bool(true));
    lf_put(c, "seccomp_default_deny", cbor_build_bool(true));
    lf_put(c, "seccomp_default_action", cbor_build_string("SCMP_ACT_ERRNO"));
    lf_put(c, "seccomp_architectures", lf_texts(arch, 1));
    lf_put(c, "seccomp_allowed_dangerous", lf_texts(NULL, 0));
    lf_put(c, "masked_paths", lf_texts(masked, sizeof(masked) / sizeof(masked[0])));
    lf_put(c, "readonly_paths", lf_texts(ro, sizeof(ro) / sizeof(ro[0])));
    lf_put(c, "rootfs_propagation", cbor_build_string(""));
    lf_put(c, "sysctl", lf_texts(NULL, 0));
    lf_put(c, "device_nodes", lf_texts(NULL, 0));
    lf_put(c, "device_rules", lf_texts(NULL, 0));
    lf_put(c, "hooks", lf_texts(NULL, 0));
    lf_put(c, "host_mounts", lf_texts(NULL, 0));
    lf_put(c, "mounts", mounts);
    lf_put(c, "rootfs_setid", lf_texts(NULL, 0));
    lf_put(c, "rootfs_devices", lf_texts(NULL, 0));
}

#endif
