/* SPDX-License-Identifier: BSD-3-Clause */
/* vtpm-mgr's command-line options, kept apart from the daemon's lifecycle. */
#include "config.h"
#include "cli.h"
#include "issuer.h"
#include "cfgfile.h"
#include "kdev.h"
#include "precheck.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
        "usage: vtpm-mgr [--config FILE] [options]\n"
        "  --config FILE            options from a JSON file (default " CFGFILE_DIR "/vtpm-mgr.json\n"
        "                           when it exists); the command line's win\n"
        "  --state-dir DIR          persistent state (default " MGR_DEFAULT_STATE_DIR ")\n"
        "  --run-dir DIR            sockets (default " MGR_DEFAULT_RUN_DIR ")\n"
        "  --host-tcti TCTI         physical TPM (default " HOSTTPM_DEFAULT_TCTI ")\n"
        "  --foreground             do not daemonize\n"
        "  --reseal                 re-seal the state key to --seal-pcrs (current values), exit;\n"
        "                           the daemon must be stopped (docs/operations.md)\n"
        "  --accept-state           take the state directory as it is now as the latest (after a\n"
        "                           host TPM clear or a rollback), exit (docs/operations.md)\n"
        "  --counter-index H        rollback counter NV index in the host TPM (default 0x%08x)\n"
        "  --host-ek-ca FILE        PEM issuer of the host EK certificate (exported by host-chain)\n"
        "  --seal-pcrs SPEC         PCRs the state key is sealed to, e.g. sha256:7 (default) or none\n"
        "  --issuer-lifetime S      validity of the EK-certificate issuer key, seconds (default %u,\n"
        "                           at least %u); a new one is made at half life\n"
        "  --worker PATH            worker binary (default: vtpm-mgr-worker beside vtpm-mgr,\n"
        "                           else in the installed libexec directory)\n"
        "  --instances-per-worker N vTPMs per worker process (default %u)\n"
        "  --worker-user USER       unprivileged user of the workers (default nobody)\n"
        "  --control-group GROUP    group also allowed to use the control socket\n"
        "  --kmod-control PATH      kmod-vtpm control device (default " KDEV_DEFAULT_CONTROL ")\n"
        "  --host-mnt-ns DEV:INO    the host's mount namespace (stat -L -c %%d:%%i of a host\n"
        "                           process's /proc/PID/ns/mnt; default: PID 1's), for a daemon\n"
        "                           in a container (docs/manager-container.md)\n"
        "  --ek-handle H --ak-handle H --ca-handle H   persistent handles in the host TPM\n"
        "  --help, -h | --version   this text | the version\n",
        HOSTTPM_DEFAULT_COUNTER_INDEX, ISSUER_DEFAULT_LIFETIME, ISSUER_MIN_LIFETIME,
        MGR_DEFAULT_PER_WORKER);
}

static int copy_opt(char *dst, size_t dstsz, const char *src, const char *what)
{
    if (strlen(src) >= dstsz || !src[0]) {
        fprintf(stderr, "vtpm-mgr: %s: empty or too long\n", what);
        return -1;
    }
    memcpy(dst, src, strlen(src) + 1);
    return 0;
}

static int parse_u32(const char *s, uint32_t *out, const char *what)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 0);
    if (errno || *end || end == s || v > UINT32_MAX) {
        fprintf(stderr, "vtpm-mgr: %s: not a number: %s\n", what, s);
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

/* --host-mnt-ns DEV:INO (decimal, as stat prints an nsfs file's device and inode). */
static int parse_mnt_ns(struct mgr_config *cfg, const char *s)
{
    char *end;
    unsigned long long dev, ino;

    errno = 0;
    dev = strtoull(s, &end, 10);
    if (errno || end == s || *end != ':')
        goto bad;
    s = end + 1;
    ino = strtoull(s, &end, 10);
    if (errno || end == s || *end || ino == 0)
        goto bad;
    cfg->host_mnt_dev = dev;
    cfg->host_mnt_ino = ino;
    cfg->host_mnt_set = 1;
    return 0;
bad:
    fprintf(stderr, "vtpm-mgr: --host-mnt-ns: not DEV:INO (decimal): %s\n", s);
    return -1;
}

static int set_worker_user(struct mgr_config *cfg, const char *name)
{
    struct passwd *pw = getpwnam(name);

    if (!pw) {
        fprintf(stderr, "vtpm-mgr: --worker-user: unknown user %s\n", name);
        return -1;
    }
    cfg->worker_uid = pw->pw_uid;
    cfg->worker_gid = pw->pw_gid;
    return 0;
}

static int set_ctl_group(struct mgr_config *cfg, const char *name)
{
    struct group *gr = getgrnam(name);

    if (!gr) {
        fprintf(stderr, "vtpm-mgr: --control-group: unknown group %s\n", name);
        return -1;
    }
    cfg->ctl_gid = gr->gr_gid;
    return 0;
}

/* The rollback counter lives in the owner NV range (TCG handle registry). */
static int parse_counter_index(struct mgr_config *cfg, const char *a)
{
    if (parse_u32(a, &cfg->counter_index, "--counter-index"))
        return -1;
    if (cfg->counter_index < 0x01000000u || cfg->counter_index > 0x013fffffu) {
        fprintf(stderr, "vtpm-mgr: --counter-index: %s is not an owner NV index "
                "(0x01000000-0x013fffff)\n", a);
        return -1;
    }
    return 0;
}

static int parse_lifetime(struct mgr_config *cfg, const char *a)
{
    if (parse_u32(a, &cfg->issuer_lifetime, "--issuer-lifetime"))
        return -1;
    if (cfg->issuer_lifetime < ISSUER_MIN_LIFETIME || cfg->issuer_lifetime > ISSUER_MAX_LIFETIME) {
        fprintf(stderr, "vtpm-mgr: --issuer-lifetime: %s is not %u-%u seconds\n", a,
                ISSUER_MIN_LIFETIME, ISSUER_MAX_LIFETIME);
        return -1;
    }
    return 0;
}

static void defaults(struct mgr_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    strcpy(cfg->state_dir, MGR_DEFAULT_STATE_DIR);
    strcpy(cfg->run_dir, MGR_DEFAULT_RUN_DIR);
    strcpy(cfg->host_tcti, HOSTTPM_DEFAULT_TCTI);
    strcpy(cfg->seal_pcrs, "sha256:7");
    strcpy(cfg->kmod_control, KDEV_DEFAULT_CONTROL);
    cfg->per_worker = MGR_DEFAULT_PER_WORKER;
    cfg->issuer_lifetime = ISSUER_DEFAULT_LIFETIME;
    cfg->worker_uid = 65534;
    cfg->worker_gid = 65534;
    cfg->ctl_gid = (gid_t)-1;
    cfg->counter_index = HOSTTPM_DEFAULT_COUNTER_INDEX;
    hosttpm_config_defaults(&cfg->host);
}

enum { O_STATE = 256, O_RUN, O_TCTI, O_FG, O_EKCA, O_PCRS, O_WORKER, O_PERW, O_WUSER,
       O_CGROUP, O_EKH, O_AKH, O_CAH, O_KCTL, O_HMNT, O_RESEAL, O_ACCEPT, O_CIDX, O_LIFE, O_HELP, O_VERSION };

static const struct option opts[] = {
    { "state-dir", required_argument, NULL, O_STATE },
    { "run-dir", required_argument, NULL, O_RUN },
    { "host-tcti", required_argument, NULL, O_TCTI },
    { "foreground", no_argument, NULL, O_FG },
    { "reseal", no_argument, NULL, O_RESEAL },
    { "accept-state", no_argument, NULL, O_ACCEPT },
    { "counter-index", required_argument, NULL, O_CIDX },
    { "host-ek-ca", required_argument, NULL, O_EKCA },
    { "seal-pcrs", required_argument, NULL, O_PCRS },
    { "issuer-lifetime", required_argument, NULL, O_LIFE },
    { "worker", required_argument, NULL, O_WORKER },
    { "instances-per-worker", required_argument, NULL, O_PERW },
    { "worker-user", required_argument, NULL, O_WUSER },
    { "control-group", required_argument, NULL, O_CGROUP },
    { "ek-handle", required_argument, NULL, O_EKH },
    { "ak-handle", required_argument, NULL, O_AKH },
    { "ca-handle", required_argument, NULL, O_CAH },
    { "kmod-control", required_argument, NULL, O_KCTL },
    { "host-mnt-ns", required_argument, NULL, O_HMNT },
    { "help", no_argument, NULL, O_HELP },
    { "version", no_argument, NULL, O_VERSION },
    { NULL, 0, NULL, 0 },
};

static int apply(struct mgr_config *cfg, int c, const char *a)
{
    switch (c) {
    case O_STATE: return copy_opt(cfg->state_dir, sizeof(cfg->state_dir), a, "--state-dir");
    case O_RUN: return copy_opt(cfg->run_dir, sizeof(cfg->run_dir), a, "--run-dir");
    case O_TCTI: return copy_opt(cfg->host_tcti, sizeof(cfg->host_tcti), a, "--host-tcti");
    case O_FG: cfg->foreground = 1; return 0;
    case O_RESEAL: cfg->reseal = 1; return 0;
    case O_ACCEPT: cfg->accept_state = 1; return 0;
    case O_CIDX: return parse_counter_index(cfg, a);
    case O_EKCA: return copy_opt(cfg->host_ek_ca, sizeof(cfg->host_ek_ca), a, "--host-ek-ca");
    case O_PCRS: return copy_opt(cfg->seal_pcrs, sizeof(cfg->seal_pcrs), a, "--seal-pcrs");
    case O_LIFE: return parse_lifetime(cfg, a);
    case O_WORKER: return copy_opt(cfg->worker_path, sizeof(cfg->worker_path), a, "--worker");
    case O_PERW: return parse_u32(a, &cfg->per_worker, "--instances-per-worker") ||
                        !cfg->per_worker ? -1 : 0;
    case O_WUSER: return set_worker_user(cfg, a);
    case O_CGROUP: return set_ctl_group(cfg, a);
    case O_EKH: return parse_u32(a, &cfg->host.ek_handle, "--ek-handle");
    case O_AKH: return parse_u32(a, &cfg->host.ak_handle, "--ak-handle");
    case O_CAH: return parse_u32(a, &cfg->host.ca_handle, "--ca-handle");
    case O_KCTL: return copy_opt(cfg->kmod_control, sizeof(cfg->kmod_control), a, "--kmod-control");
    case O_HMNT: return parse_mnt_ns(cfg, a);
    default: return -1;
    }
}

static int finish(struct mgr_config *cfg)
{
    if (hosttpm_parse_pcrs(cfg->seal_pcrs, &cfg->host.seal_pcrs) != 0) {
        fprintf(stderr, "vtpm-mgr: --seal-pcrs: bad PCR list %s\n", cfg->seal_pcrs);
        return -1;
    }
    cfg->host.tcti = cfg->host_tcti;
    cfg->host.host_ek_ca_file = cfg->host_ek_ca[0] ? cfg->host_ek_ca : NULL;
    if (!cfg->worker_path[0] &&
        cli_helper_path("vtpm-mgr-worker", cfg->worker_path, sizeof(cfg->worker_path)) < 0)
        return -1;
    return 0;
}

int config_parse(int argc, char **argv, struct mgr_config *cfg)
{
    int c;

    defaults(cfg);
    if (cfgfile_expand("vtpm-mgr", "vtpm-mgr", opts, 1, &argc, &argv) < 0)
        return -1;
    optind = 1;
    /* In order: a bad value before --help still fails (t_mgr_issuer.sh relies on it). */
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == O_HELP || c == 'h') {
            usage(stdout);
            return 1;
        }
        if (c == O_VERSION) {
            cli_version("vtpm-mgr");
            return 1;
        }
        if (c == '?' || apply(cfg, c, optarg) != 0) {
            usage(stderr);
            return -1;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "vtpm-mgr: unexpected argument %s\n", argv[optind]);
        return -1;
    }
    return finish(cfg);
}

/* A device TCTI's node must exist and be usable (other TCTIs are reached at start). */
static int check_tcti(const char *tcti)
{
    const char *dev = !strncmp(tcti, "device:", 7) ? tcti + 7 : NULL;

    if (!dev || !*dev)
        return 0;
    if (access(dev, R_OK | W_OK) != 0) {
        fprintf(stderr, "vtpm-mgr: --host-tcti %s: %s: %s\n", tcti, dev, strerror(errno));
        return -1;
    }
    return 0;
}

int config_check(const struct mgr_config *cfg)
{
    int bad = 0;

    bad |= precheck_dir("--state-dir", cfg->state_dir);
    if (!cfg->reseal && !cfg->accept_state) {
        bad |= precheck_dir("--run-dir", cfg->run_dir);
        bad |= precheck_executable("--worker", cfg->worker_path);
    }
    if (cfg->host_ek_ca[0])
        bad |= precheck_readable("--host-ek-ca", cfg->host_ek_ca);
    bad |= check_tcti(cfg->host_tcti);
    return bad ? -1 : 0;
}
