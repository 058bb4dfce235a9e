/* SPDX-License-Identifier: BSD-3-Clause */
/* The seccomp profile of config.json: its default, architectures, and which dangerous
 * system calls it lets through. */
#include <errno.h>
#include <string.h>

#include "ctlproto.h"
#include "launchcfg_int.h"

/*
 * The system calls Docker's default profile (moby/profiles seccomp/default.json) does not
 * allow a container without extra capabilities: kernel modules, kexec, mounts and namespaces,
 * keyrings, tracing and other processes' memory, clocks, swap, reboot, BPF and perf, io_uring,
 * obsolete interfaces. ptrace is here although Docker allows it on kernels >= 4.8: our floor
 * denies ptrace. Sorted.
 */
static const char *const dangerous[] = {
    "_sysctl", "acct", "add_key", "bpf", "clock_settime", "clock_settime64", "clone3",
    "create_module", "delete_module", "fanotify_init", "finit_module", "fsconfig", "fsmount",
    "fsopen", "fspick", "get_kernel_syms", "get_mempolicy", "init_module", "io_uring_enter",
    "io_uring_register", "io_uring_setup", "ioperm", "iopl", "kcmp", "kexec_file_load",
    "kexec_load", "keyctl", "lookup_dcookie", "mbind", "mount", "mount_setattr", "move_mount",
    "move_pages", "nfsservctl", "open_by_handle_at", "open_tree", "perf_event_open",
    "pidfd_getfd", "pivot_root", "process_madvise", "process_vm_readv", "process_vm_writev",
    "ptrace", "query_module", "quotactl", "quotactl_fd", "reboot", "request_key",
    "set_mempolicy", "setdomainname", "sethostname", "setns", "settimeofday", "stime",
    "swapoff", "swapon", "syslog", "sysfs", "umount", "umount2", "unshare", "uselib",
    "userfaultfd", "ustat", "vhangup", "vm86", "vm86old",
};
#define N_DANGEROUS (sizeof(dangerous) / sizeof(dangerous[0]))

json_t *launchcfg_dangerous_syscalls(void)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < N_DANGEROUS; i++)
        if (json_array_append_new(a, json_string(dangerous[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* Actions that stop the call. Anything else (ALLOW, LOG, TRACE, NOTIFY, unknown) may let
 * it through: TRACE and NOTIFY hand the decision to another process. */
static int is_deny_action(const char *a)
{
    static const char *const deny[] = { "SCMP_ACT_ERRNO", "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP" };

    for (size_t i = 0; i < sizeof(deny) / sizeof(deny[0]); i++)
        if (!strcmp(a, deny[i]))
            return 1;
    return 0;
}

static int names_call(const json_t *rule, const char *call)
{
    json_t *names = json_object_get(rule, "names"), *n;
    size_t i;

    json_array_foreach(names, i, n)
        if (json_is_string(n) && !strcmp(json_string_value(n), call))
            return 1;
    return 0;
}

static int validate_rules(const json_t *rules)
{
    json_t *rule, *names, *n;
    size_t i, k;

    json_array_foreach(rules, i, rule) {
        names = json_object_get(rule, "names");
        if (!json_is_object(rule) || !json_is_string(json_object_get(rule, "action")) ||
            (names && !json_is_array(names)))
            return lc_bad("a seccomp rule needs an action and an array of names");
        json_array_foreach(names, k, n)
            if (!json_is_string(n))
                return lc_bad("seccomp names must be texts");
    }
    return 0;
}

/*
 * A call gets through when a rule naming it allows it (with or without argument
 * conditions: some arguments pass), or when the default allows and no rule without
 * conditions denies it.
 */
static int lets_through(const json_t *rules, int default_deny, const char *call)
{
    int denied = default_deny;
    json_t *rule;
    size_t i;

    json_array_foreach(rules, i, rule) {
        if (!names_call(rule, call))
            continue;
        if (!is_deny_action(json_string_value(json_object_get(rule, "action"))))
            return 1;
        if (json_array_size(json_object_get(rule, "args")) == 0)
            denied = 1;
    }
    return !denied;
}

static int put_allowed(cbor_item_t *m, const json_t *rules, int present, int default_deny)
{
    cbor_item_t *a = cbor_new_indefinite_array();
    int r = a ? 0 : -ENOMEM;

    for (size_t i = 0; r == 0 && i < N_DANGEROUS; i++)
        if (!present || lets_through(rules, default_deny, dangerous[i]))
            r = lc_push(a, lc_text(dangerous[i]));
    if (r < 0) {
        if (a)
            cbor_decref(&a);
        return r;
    }
    return ctl_put_item(m, "seccomp_allowed_dangerous", a);
}

int launchcfg_seccomp(const json_t *linux_, cbor_item_t *m)
{
    json_t *sc = NULL, *def = NULL, *rules = NULL;
    cbor_item_t *arches = NULL;
    int r = linux_ ? lc_get_opt(linux_, "seccomp", JSON_OBJECT, &sc) : 0, deny = 0;

    if (r == 0 && sc && ((r = lc_get_opt(sc, "defaultAction", JSON_STRING, &def)) < 0 || !def))
        r = r < 0 ? r : lc_bad("seccomp without defaultAction");
    if (r == 0 && sc)
        r = lc_get_opt(sc, "syscalls", JSON_ARRAY, &rules);
    if (r == 0)
        r = validate_rules(rules);
    if (r == 0)
        r = lc_text_list(sc, "architectures", &arches);
    if (r < 0)
        return r;
    deny = def && is_deny_action(json_string_value(def));
    if (ctl_put_bool(m, "seccomp", sc != NULL) || ctl_put_bool(m, "seccomp_default_deny", deny) ||
        ctl_put_str(m, "seccomp_default_action", def ? json_string_value(def) : "") ||
        ctl_put_item(m, "seccomp_architectures", arches))
        return -ENOMEM;
    return put_allowed(m, rules, sc != NULL, deny);
}
