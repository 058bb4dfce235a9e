/* SPDX-License-Identifier: BSD-3-Clause */
/* Option parsing (getopt_long) and validation for attest-agent; no lifecycle code here. */
#include "opts.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binding.h"
#include "digestcache.h"
#include "cfgfile.h"
#include "pcrlist.h"
#include "precheck.h"
#include "rtmon.h"
#include "rtmonstate.h"

enum { O_VERIFIER = 1, O_RUN_DIR, O_CA, O_CERT, O_KEY, O_TIMEOUT, O_RUNTIME, O_VTPM, O_NONCE,
       O_BUNDLE, O_OUT, O_ID, O_CACHE_DIR, O_AGENT_SOCKET, O_LISTEN_SOCKET, O_POOL,
       O_NO_HOST, O_HOST_PCRS, O_UEFI_LOG, O_KMOD_LOG, O_HOST_MODE, O_NODE, O_REATTEST, O_BIND_DIR,
       O_LANES, O_REFILL, O_ENGINE_STORAGE, O_CRI_ROOT, O_CRI_STATE, O_KUBELET_ROOT,
       O_KDEV, O_KMOD_CTL, O_DEV_NODE, O_MONITOR, O_STATE_DIR };

static const struct option options[] = {
    { "verifier", required_argument, NULL, O_VERIFIER },
    { "run-dir", required_argument, NULL, O_RUN_DIR },
    { "ca", required_argument, NULL, O_CA },
    { "cert", required_argument, NULL, O_CERT },
    { "key", required_argument, NULL, O_KEY },
    { "timeout", required_argument, NULL, O_TIMEOUT },
    { "runtime", required_argument, NULL, O_RUNTIME },
    { "vtpm", required_argument, NULL, O_VTPM },
    { "nonce", required_argument, NULL, O_NONCE },
    { "bundle", required_argument, NULL, O_BUNDLE },
    { "out", required_argument, NULL, O_OUT },
    { "container-id", required_argument, NULL, O_ID },
    { "cache-dir", required_argument, NULL, O_CACHE_DIR },
    { "agent-socket", required_argument, NULL, O_AGENT_SOCKET },
    { "listen-socket", required_argument, NULL, O_LISTEN_SOCKET },
    { "pool", required_argument, NULL, O_POOL },
    { "no-host-evidence", no_argument, NULL, O_NO_HOST },
    { "host-pcrs", required_argument, NULL, O_HOST_PCRS },
    { "uefi-log", required_argument, NULL, O_UEFI_LOG },
    { "kmod-log", required_argument, NULL, O_KMOD_LOG },
    { "host-evidence", required_argument, NULL, O_HOST_MODE },
    { "node-name", required_argument, NULL, O_NODE },
    { "reattest-interval", required_argument, NULL, O_REATTEST },
    { "bind-dir", required_argument, NULL, O_BIND_DIR },
    { "lanes", required_argument, NULL, O_LANES },
    { "refill-after", required_argument, NULL, O_REFILL },
    { "engine-storage", required_argument, NULL, O_ENGINE_STORAGE },
    { "cri-root", required_argument, NULL, O_CRI_ROOT },
    { "cri-state", required_argument, NULL, O_CRI_STATE },
    { "kubelet-root", required_argument, NULL, O_KUBELET_ROOT },
    { "kernel-device", required_argument, NULL, O_KDEV },
    { "kmod-control", required_argument, NULL, O_KMOD_CTL },
    { "device-node", required_argument, NULL, O_DEV_NODE },
    { "monitor-socket", required_argument, NULL, O_MONITOR },
    { "state-dir", required_argument, NULL, O_STATE_DIR },
    { NULL, 0, NULL, 0 },
};

void opts_usage(FILE *f)
{
    fprintf(f,
        "usage: (any command also takes --config FILE: options from a JSON file, default\n"
        "        " CFGFILE_DIR "/attest-agent-COMMAND.json when it exists)\n"
        "  attest-agent hook --verifier URL [--run-dir DIR] [--ca F --cert F --key F]\n"
        "                    [--timeout SECONDS] [--runtime PATH] [--cache-dir DIR|'']\n"
        "                    [--agent-socket PATH|''] [--bind-dir DIR]\n"
        "                    [--kernel-device auto|on|off] [--kmod-control PATH]\n"
        "                    [--device-node /dev/NAME]   (kmod-vtpm device for the container,\n"
        "                    auto: when " AGENT_DEFAULT_KMOD_CTL " exists; node default "
        AGENT_DEFAULT_DEV_NODE ")\n"
        "                    (OCI state on stdin; runtime digest cache, default "
        AGENT_DEFAULT_CACHE_DIR ";\n"
        "                    forwarded to the service at " AGENT_DEFAULT_SOCKET " when it answers)\n"
        "  attest-agent evidence --run-dir DIR --vtpm UUID --nonce HEX --bundle DIR --out FILE\n"
        "                    [--container-id ID] [--runtime PATH]\n"
        "  attest-agent measure --bundle DIR [--runtime PATH] [--out MANIFEST]\n"
        "  attest-agent prepare --verifier URL --vtpm UUID [--run-dir DIR] [--ca F --cert F --key F]\n"
        "                    [--timeout SECONDS]   (AK and registration ahead of a hook)\n"
        "  attest-agent serve --verifier URL [--listen-socket PATH] [--run-dir DIR]\n"
        "                    [--ca F --cert F --key F] [--pool N] [--cache-dir DIR|'']\n"
        "                    [--reattest-interval S] [--bind-dir DIR] [--lanes N]\n"
        "                    [--refill-after MS]\n"
        "                    (the hook service; socket default " AGENT_DEFAULT_SOCKET ";\n"
        "                    host and containers re-attested every S s, default 300, 0: off;\n"
        "                    N requests served at once, 1..64, default 4 per core, 4..32;\n"
        "                    the pool refilled MS ms after the last request, default 250)\n"
        "  attest-agent host-evidence --nonce HEX --out FILE [--run-dir DIR]\n"
        "  attest-agent dangerous-syscalls   (the system calls a seccomp profile blocks to\n"
        "                    pass the default policy's seccomp rule; a JSON array)\n"
        "  attest-agent monitor --verifier URL [--monitor-socket PATH] [--run-dir DIR]\n"
        "                    [--ca F --cert F --key F] [--cache-dir DIR|''] [--state-dir DIR]\n"
        "                    (runtime integrity: what attested containers execute, PCR 11;\n"
        "                    watched containers kept in DIR for a restart, default\n"
        "                    " RTMON_DEFAULT_STATE ";\n"
        "                    socket default " RTMON_DEFAULT_SOCKET "; hooks register with\n"
        "                    hook --monitor-socket PATH, annotation " ANN_RUNTIME "\n"
        "                    off|monitor|enforce, default monitor)\n"
        "Host evidence (hook, evidence, serve, host-evidence): [--no-host-evidence]\n"
        "    [--host-evidence node|quote] (hook, serve; default node: container evidence names\n"
        "    the node, whose verdict host-only evidence keeps fresh; quote: a host quote per\n"
        "    container evidence; `evidence` always quotes)\n"
        "    [--host-pcrs LIST] (default " HOSTEV_DEFAULT_PCRS ") [--node-name NAME]\n"
        "    [--uefi-log PATH|''] (default " HOSTEV_DEFAULT_UEFI_LOG ")\n"
        "    [--kmod-log PATH|''] (default " HOSTEV_DEFAULT_KMOD_LOG ")\n"
        "The run dir defaults to $VTPM_MGR_RUN_DIR, else " AGENT_DEFAULT_RUN_DIR ";\n"
        "container <-> vTPM bindings are kept in --bind-dir, default " AGENT_DEFAULT_BIND_DIR ".\n"
        "Engine files (hook, serve, measure, evidence): [--engine-storage DIR|''] ... (up to %d;\n"
        "    default " AGENT_DEFAULT_GRAPH_ROOT " and " AGENT_DEFAULT_RUN_ROOT ";\n"
        "    '' for none): binds of a container's own per-container files there are engine_file\n"
        "  [--cri-root DIR|''] [--cri-state DIR|''] (containerd CRI's, default\n"
        "    " AGENT_DEFAULT_CRI_ROOT " and\n"
        "    " AGENT_DEFAULT_CRI_STATE "): a pod container's sandbox\n"
        "    files there are engine_file; [--kubelet-root DIR|''] (default "
        AGENT_DEFAULT_KUBELET_ROOT "):\n"
        "    binds from its pod's directory there are pod_volume\n"
        "  attest-agent --help | -h | --version\n",
        AGENT_MAX_ENGINE_STORAGE);
}

static int parse_timeout(const char *s, int *ms)
{
    char *end;
    double v = strtod(s, &end);

    if (end == s || *end || !(v > 0) || v > 3600)
        return -1;
    *ms = (int)(v * 1000);
    return *ms > 0 ? 0 : -1;
}

static int parse_pool(const char *s, int *n)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (end == s || *end || v < 0 || v > AGENT_MAX_POOL)
        return -1;
    *n = (int)v;
    return 0;
}

static int parse_lanes(const char *s, int *n)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (end == s || *end || v < 1 || v > AGENT_MAX_LANES)
        return -1;
    *n = (int)v;
    return 0;
}

int opts_kdev_parse(const char *s, enum agent_kdev *k)
{
    if (!strcmp(s, "auto"))
        *k = KDEV_AUTO;
    else if (!strcmp(s, "on"))
        *k = KDEV_ON;
    else if (!strcmp(s, "off"))
        *k = KDEV_OFF;
    else
        return -1;
    return 0;
}

static int parse_refill(const char *s, int *ms)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (end == s || *end || v < 0 || v > AGENT_MAX_REFILL_MS)
        return -1;
    *ms = (int)v;
    return 0;
}

static int parse_interval(const char *s, int *sec)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (end == s || *end || v < 0 || v > AGENT_MAX_REATTEST_S)
        return -1;
    *sec = (int)v;
    return 0;
}

static int parse_node(const char *s, const char **node)
{
    if (!hostev_node_valid(s)) {
        fprintf(stderr, "attest-agent: --node-name: 1-253 of [a-z0-9.-], alphanumeric at both "
                        "ends\n");
        return -1;
    }
    *node = s;
    return 0;
}

static int parse_mode(const char *s, enum host_mode *m)
{
    if (!strcmp(s, "node"))
        *m = HOST_MODE_NODE;
    else if (!strcmp(s, "quote"))
        *m = HOST_MODE_QUOTE;
    else
        return -1;
    return 0;
}

static int set_host_opt(struct host_opts *h, int c, const char *arg)
{
    switch (c) {
    case O_NO_HOST: h->off = 1; return 0;
    case O_HOST_PCRS: return pcrlist_parse(arg, &h->pcrs) < 0 ? -1 : 0;
    case O_UEFI_LOG: h->uefi_log = *arg ? arg : NULL; return 0; /* "": never sent */
    case O_KMOD_LOG: h->kmod_log = *arg ? arg : NULL; return 0;
    case O_HOST_MODE: return parse_mode(arg, &h->mode);
    case O_NODE: return parse_node(arg, &h->node);
    default: return -1;
    }
}

/* --engine-storage DIR: an absolute path; '' (alone) for none. The first one given replaces
 * the defaults. */
static int add_engine_storage(struct agent_opts *o, const char *arg)
{
    if (!*arg) {
        if (o->n_engine_storage)
            return -1;
        o->n_engine_storage = -1;
        o->engine_storage[0] = NULL;
        return 0;
    }
    if (arg[0] != '/' || o->n_engine_storage < 0 ||
        o->n_engine_storage >= AGENT_MAX_ENGINE_STORAGE)
        return -1;
    o->engine_storage[o->n_engine_storage++] = arg;
    o->engine_storage[o->n_engine_storage] = NULL;
    return 0;
}

/* --cri-root, --cri-state, --kubelet-root: an absolute path, or '' for none. */
static int set_root(const char **root, const char *arg)
{
    if (*arg && arg[0] != '/')
        return -1;
    *root = *arg ? arg : NULL;
    return 0;
}

static int set_opt(struct agent_opts *o, int c, const char *arg)
{
    if (c >= O_NO_HOST && c <= O_NODE)
        return set_host_opt(&o->host, c, arg);
    switch (c) {
    case O_VERIFIER: o->verifier = arg; return 0;
    case O_RUN_DIR: o->run_dir = arg; return 0;
    case O_CA: o->ca = arg; return 0;
    case O_CERT: o->cert = arg; return 0;
    case O_KEY: o->key = arg; return 0;
    case O_TIMEOUT: return parse_timeout(arg, &o->timeout_ms);
    case O_RUNTIME: o->runtime = arg; return 0;
    case O_VTPM: o->vtpm = arg; return 0;
    case O_NONCE: o->nonce = arg; return 0;
    case O_BUNDLE: o->bundle = arg; return 0;
    case O_OUT: o->out = arg; return 0;
    case O_ID: o->container_id = arg; return 0;
    case O_CACHE_DIR: o->cache_dir = *arg ? arg : NULL; return 0; /* "": no cache */
    case O_AGENT_SOCKET: o->agent_socket = *arg ? arg : NULL; return 0; /* "": no service */
    case O_LISTEN_SOCKET: o->listen_socket = arg; return 0;
    case O_POOL: return parse_pool(arg, &o->pool);
    case O_REATTEST: return parse_interval(arg, &o->reattest_s);
    case O_BIND_DIR: return *arg ? (o->bind_dir = arg, 0) : -1;
    case O_LANES: return parse_lanes(arg, &o->lanes);
    case O_REFILL: return parse_refill(arg, &o->refill_ms);
    case O_ENGINE_STORAGE: return add_engine_storage(o, arg);
    case O_CRI_ROOT: return set_root(&o->cri_root, arg);
    case O_CRI_STATE: return set_root(&o->cri_state, arg);
    case O_KUBELET_ROOT: return set_root(&o->kubelet_root, arg);
    case O_KDEV: return opts_kdev_parse(arg, &o->kdev);
    case O_KMOD_CTL: return *arg ? (o->kmod_control = arg, 0) : -1;
    case O_MONITOR: return *arg ? (o->monitor_socket = arg, 0) : -1;
    case O_STATE_DIR: return *arg == '/' ? (o->state_dir = arg, 0) : -1;
    case O_DEV_NODE: return !strncmp(arg, "/dev/", 5) && arg[5] ? (o->device_node = arg, 0) : -1;
    default: return -1;
    }
}

static int parse_cmd(const char *s, enum agent_cmd *cmd)
{
    if (!strcmp(s, "hook"))
        *cmd = CMD_HOOK;
    else if (!strcmp(s, "evidence"))
        *cmd = CMD_EVIDENCE;
    else if (!strcmp(s, "measure"))
        *cmd = CMD_MEASURE;
    else if (!strcmp(s, "prepare"))
        *cmd = CMD_PREPARE;
    else if (!strcmp(s, "serve"))
        *cmd = CMD_SERVE;
    else if (!strcmp(s, "host-evidence"))
        *cmd = CMD_HOST_EVIDENCE;
    else if (!strcmp(s, "monitor"))
        *cmd = CMD_MONITOR;
    else
        return -1;
    return 0;
}

static int complete(const struct agent_opts *o)
{
    switch (o->cmd) {
    case CMD_HOOK:
        return o->verifier && (!o->cert == !o->key);
    case CMD_EVIDENCE:
        return o->vtpm && o->nonce && o->bundle && o->out;
    case CMD_MEASURE:
        return o->bundle != NULL;
    case CMD_PREPARE:
        return o->verifier && o->vtpm && (!o->cert == !o->key);
    case CMD_SERVE:
        return o->verifier && (!o->cert == !o->key);
    case CMD_HOST_EVIDENCE:
        return o->nonce && o->out && !o->host.off;
    case CMD_MONITOR:
        return o->verifier && (!o->cert == !o->key);
    default:
        return 0;
    }
}

/* An existing directory (the vtpm-mgr run directory). */
static int existing_dir(const char *opt, const char *path)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "attest-agent: %s %s: %s\n", opt, path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "attest-agent: %s %s: not a directory\n", opt, path);
        return -1;
    }
    return 0;
}

/* The socket's directory, made by serve when missing (one level). */
static int socket_dir_ok(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');

    if (!slash || slash == path)
        return 0;
    snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    return precheck_dir("--listen-socket's directory", dir);
}

int opts_config(int *argc, char ***argv)
{
    char name[64];

    if (*argc < 2 || (*argv)[1][0] == '-' || strlen((*argv)[1]) > 32)
        return 0; /* no command: opts_parse says so */
    snprintf(name, sizeof(name), "attest-agent-%s", (*argv)[1]);
    return cfgfile_expand("attest-agent", name, options, 2, argc, argv);
}

int opts_validate(const struct agent_opts *o)
{
    int bad = 0;

    if (o->cmd != CMD_HOOK && o->cmd != CMD_SERVE && o->cmd != CMD_PREPARE &&
        o->cmd != CMD_MONITOR)
        return 0;
    bad |= precheck_url("--verifier", o->verifier);
    if (o->ca)
        bad |= precheck_readable("--ca", o->ca);
    if (o->cert)
        bad |= precheck_readable("--cert", o->cert);
    if (o->key)
        bad |= precheck_readable("--key", o->key);
    bad |= existing_dir("--run-dir", o->run_dir);
    if (o->cmd == CMD_MONITOR)
        bad |= socket_dir_ok(o->monitor_socket ? o->monitor_socket : RTMON_DEFAULT_SOCKET);
    if (o->cmd == CMD_SERVE) {
        bad |= socket_dir_ok(o->listen_socket);
        if (o->cache_dir)
            bad |= precheck_dir("--cache-dir", o->cache_dir);
    }
    return bad ? -1 : 0;
}

int opts_parse(int argc, char **argv, struct agent_opts *o)
{
    const char *env = getenv("VTPM_MGR_RUN_DIR");
    int c;

    memset(o, 0, sizeof(*o));
    o->timeout_ms = AGENT_DEFAULT_TIMEOUT_MS;
    o->cache_dir = AGENT_DEFAULT_CACHE_DIR;
    o->bind_dir = AGENT_DEFAULT_BIND_DIR;
    o->agent_socket = AGENT_DEFAULT_SOCKET;
    o->listen_socket = AGENT_DEFAULT_SOCKET;
    o->pool = AGENT_DEFAULT_POOL;
    o->reattest_s = AGENT_DEFAULT_REATTEST_S;
    o->refill_ms = AGENT_DEFAULT_REFILL_MS;
    o->kmod_control = AGENT_DEFAULT_KMOD_CTL;
    o->device_node = AGENT_DEFAULT_DEV_NODE;
    o->cri_root = AGENT_DEFAULT_CRI_ROOT;
    o->cri_state = AGENT_DEFAULT_CRI_STATE;
    o->kubelet_root = AGENT_DEFAULT_KUBELET_ROOT;
    hostev_opts_defaults(&o->host);
    o->run_dir = env && *env ? env : AGENT_DEFAULT_RUN_DIR;
    if (argc >= 2 && parse_cmd(argv[1], &o->cmd) < 0)
        fprintf(stderr, "attest-agent: unknown command %s\n", argv[1]);
    if (argc < 2 || parse_cmd(argv[1], &o->cmd) < 0)
        goto usage;
    optind = 2;
    opterr = 1;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1)
        if (set_opt(o, c, optarg) < 0)
            goto usage;
    if (optind != argc || !complete(o))
        goto usage;
    if (o->cmd == CMD_MONITOR && !o->monitor_socket)
        o->monitor_socket = RTMON_DEFAULT_SOCKET;
    if (o->cmd == CMD_MONITOR && !o->state_dir)
        o->state_dir = RTMON_DEFAULT_STATE;
    if (o->n_engine_storage == 0) {
        o->engine_storage[0] = AGENT_DEFAULT_GRAPH_ROOT;
        o->engine_storage[1] = AGENT_DEFAULT_RUN_ROOT;
        o->engine_storage[2] = NULL;
    }
    return 0;
usage:
    opts_usage(stderr);
    return 2;
}
