/* SPDX-License-Identifier: BSD-3-Clause */
/* verifier: command-line entry (verify, serve, policy); option parsing only, work elsewhere. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "cfgfile.h"
#include "fileio.h"
#include "log.h"
#include "check/policy.h"
#include "http/server.h"
#include "sched/sweeper.h"
#include "sched/wpolicy.h"
#include "check/verify.h"
#include "check/chain.h"
#include "boot/cmd_bootpolicy.h"
#include "check/cmd_sigs.h"
#include "check/cmdout.h"

#define EXIT_ALLOW 0
#define EXIT_DENY  1
#define EXIT_USAGE 2

static void usage_to(FILE *f)
{
    fprintf(f,
        "usage: verifier verify --policy FILE [--trust DIR] [--boot-policy FILE] [--host]\n"
        "                       [--allow-unregistered-ak] EVIDENCE\n"
        "       verifier serve --listen HOST:PORT --db (sqlite:PATH | postgresql://...)\n"
        "                      --policy FILE --trust DIR\n"
        "                      (--tls-cert F --tls-key F --client-ca F | --insecure-no-tls)\n"
        "                      [--nonce-ttl SECONDS] [--port-file FILE] [--boot-policy FILE]\n"
        "                      [--reattest-interval S] [--reattest-grace S] [--notify-url URL]\n"
        "                      [--notify-ca FILE] [--notify-max-attempts N]\n"
        "                      [--admission-cache-ms MS] [--admission-max-age S]\n"
        "                      [--max-connections N] [--max-connections-per-ip N]\n"
        "                      [--reserve-connections N] [--handshake-timeout S]\n"
        "                      [--header-timeout S] [--body-timeout S] [--idle-timeout S]\n"
        "                      [--threads N]   (serving threads; default: 4 per online CPU)\n"
        "                      [--audit-keep-days D]   (default 90; 0 keeps the audit for ever)\n"
        "                      [--policy-admin CN ...]   (client certificate CNs allowed to use\n"
        "                      /v1/policies; up to 8) [--policy-poll-ms MS]   (default 1000)\n"
        "                      [--admission-client CN ...]   (the only client certificate CNs\n"
        "                      /v1/admission answers: the API server's; up to 8)\n"
        "                      [--manifest-quota-mb MB] [--manifest-idle S]\n"
        "                      [--manifest-cache-mb MB] [--max-manifest-uploads N]\n"
        "                      (rootfs manifest store; defaults 1024, 604800, 256, 2)\n"
        "                      [--config FILE]   (options from a JSON file, default\n"
        "                      " CFGFILE_DIR "/verifier-serve.json when it exists; SIGHUP reloads\n"
        "                      the policy, trust and TLS files)\n"
        "       verifier boot-policy derive --log FILE [--pcrs 0-7,13] [--no-kmod]\n"
        "       verifier boot-policy show --log FILE\n"
        "       verifier boot-policy check --policy FILE --log FILE [--pcr N=HEX ...]\n"
        "                      (host boot reference values)\n"
        "       verifier policy default\n"
        "       verifier policy allow --policy FILE [--rootfs-digest HEX] [--image-digest HEX]\n"
        "                      [--runtime-digest HEX] [--agent-digest HEX]\n"
        "       verifier policy check-image --policy FILE --image REF[@sha256:HEX]\n"
        "                      [--digest sha256:HEX] [--time YYYY-MM-DDTHH:MM:SSZ]\n"
        "                      (image signatures, docs/policy.md)\n"
        "       verifier policy bundle create --publisher NAME --not-before T --not-after T\n"
        "                      [--rootfs-digest HEX] [--runtime-digest HEX] [--agent-digest HEX]\n"
        "                      [--image-digest HEX] [--boot-policy FILE] [--comment TEXT]\n"
        "       verifier policy bundle sign --key PRIVATE.pem BUNDLE   (writes BUNDLE.sig)\n"
        "       verifier policy bundle inspect BUNDLE\n"
        "       verifier policy bundle verify --policy FILE [--time T] BUNDLE\n"
        "                      (signed reference values, docs/policy.md)\n"
        "       verifier --help | -h | --version\n"
        "verifier serve execs verifier-serve (the same command line, linked with the service's\n"
        "libraries), found beside verifier, else in the installed libexec directory.\n");
}

static void usage(void)
{
    usage_to(stderr);
}

static int input_error(const char *what)
{
    json_t *j = json_pack("{s:s, s:s}", "verdict", "error", "error", what);

    cmd_print_json(j, JSON_COMPACT);
    json_decref(j);
    return EXIT_USAGE;
}

struct verify_opts {
    const char *policy, *trust, *evidence, *boot_policy;
    int allow_unregistered, host_only;
};

static int verify_parse(int argc, char **argv, struct verify_opts *o)
{
    static const struct option lo[] = {
        { "policy", required_argument, NULL, 'p' },
        { "trust", required_argument, NULL, 't' },
        { "allow-unregistered-ak", no_argument, NULL, 'a' },
        { "boot-policy", required_argument, NULL, 'b' },
        { "host", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'p': o->policy = optarg; break;
        case 't': o->trust = optarg; break;
        case 'a': o->allow_unregistered = 1; break;
        case 'b': o->boot_policy = optarg; break;
        case 'h': o->host_only = 1; break;
        default: return -1;
        }
    }
    if (!o->policy || optind != argc - 1)
        return -1;
    o->evidence = argv[optind];
    return 0;
}

static int verify_run(const struct verify_opts *o, const struct policy *pol, X509_STORE *trust)
{
    struct evidence ev;
    struct verify_result res;
    uint8_t *buf = NULL;
    size_t len;
    char err[128];
    json_t *j = NULL;
    int rc = EXIT_USAGE;

    if (file_read_all_flags(AT_FDCWD, o->evidence, 0, EVIDENCE_MAX_SIZE, &buf, &len) < 0)
        return input_error("cannot read evidence");
    if ((o->host_only ? vf_host_evidence_parse(buf, len, &ev, err, sizeof(err)) :
                        vf_evidence_parse(buf, len, &ev, err, sizeof(err))) < 0) {
        free(buf);
        vf_evidence_free(&ev);
        return input_error(err[0] ? err : "evidence malformed");
    }
    if (o->host_only)
        verify_host_evidence(&ev, pol, trust, &res);
    else
        verify_evidence(&ev, pol, trust, &res);
    /* Offline, nothing binds the AK to the EK, nor the host AK to the host EK: see
     * docs/verifier.md. */
    /* Node verdicts live in the service's database: offline, node-mode evidence has no host
     * part that could be checked. */
    if (!o->host_only && ev.node[0])
        reasons_add(&res.reasons, "node-verdict-unchecked", "node %s", ev.node);
    if (!o->allow_unregistered) {
        if (!o->host_only)
            reasons_add(&res.reasons, "ak-not-registered", NULL);
        reasons_add(&res.reasons, "host-ak-not-registered", NULL);
    }
    j = o->host_only ? verify_host_result_json(&ev, &res.reasons) :
                       verify_result_json(&ev, &res.reasons);
    if (cmd_print_json(j, JSON_COMPACT) == 0)
        rc = reasons_deny(&res.reasons) ? EXIT_DENY : EXIT_ALLOW;
    json_decref(j);
    verify_result_free(&res);
    vf_evidence_free(&ev);
    free(buf);
    return rc;
}

static int cmd_verify(int argc, char **argv)
{
    struct verify_opts o = { 0 };
    struct policy pol = { 0 };
    X509_STORE *trust = NULL;
    char err[512];
    int rc;

    /* A verify process reports verdicts, not OpenSSL's error texts, and uses no cipher: it
     * skips loading those two tables (docs/verifier.md "Binaries"). The digests stay: OpenSSL
     * finds a certificate signature's digest by name. */
    OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS | OPENSSL_INIT_NO_ADD_ALL_CIPHERS, NULL);
    if (verify_parse(argc, argv, &o) < 0) {
        usage();
        return EXIT_USAGE;
    }
    if (policy_load(o.policy, &pol, err, sizeof(err)) < 0) {
        fprintf(stderr, "verifier: policy %s: %s\n", o.policy, err);
        return EXIT_USAGE;
    }
    if (o.boot_policy && policy_load_boot(&pol, o.boot_policy, err, sizeof(err)) < 0) {
        fprintf(stderr, "verifier: boot policy %s: %s\n", o.boot_policy, err);
        policy_free(&pol);
        return EXIT_USAGE;
    }
    if (o.trust && !(trust = chain_trust_load(o.trust))) {
        policy_free(&pol);
        return input_error("no trusted host EK CA certificate in --trust");
    }
    rc = verify_run(&o, &pol, trust);
    X509_STORE_free(trust);
    policy_free(&pol);
    return rc;
}

static int policy_default_cmd(void)
{
    struct policy pol = { 0 };
    char *s;

    if (policy_default(&pol) < 0 || !(s = policy_dump(&pol)))
        return 1;
    printf("%s\n", s);
    free(s);
    policy_free(&pol);
    return 0;
}

static int policy_allow_cmd(int argc, char **argv)
{
    static const struct option lo[] = {
        { "policy", required_argument, NULL, 'p' },
        { "image-digest", required_argument, NULL, POLICY_IMAGE },
        { "rootfs-digest", required_argument, NULL, POLICY_ROOTFS },
        { "runtime-digest", required_argument, NULL, POLICY_RUNTIME },
        { "agent-digest", required_argument, NULL, POLICY_AGENT },
        { NULL, 0, NULL, 0 },
    };
    struct digest_arg { int which; const char *d; } add[16];
    const char *path = NULL;
    struct policy pol = { 0 };
    char err[160];
    int c, n = 0, rc = EXIT_USAGE;

    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'p': path = optarg; break;
        case POLICY_IMAGE: case POLICY_ROOTFS: case POLICY_RUNTIME: case POLICY_AGENT:
            if (n < 16)
                add[n++] = (struct digest_arg){ c, optarg };
            break;
        default: usage(); return EXIT_USAGE;
        }
    }
    if (!path || n == 0 || optind != argc) {
        usage();
        return EXIT_USAGE;
    }
    if (policy_load_flags(path, &pol, POLICY_LOAD_NO_BUNDLES, err, sizeof(err)) < 0) {
        fprintf(stderr, "verifier: policy %s: %s\n", path, err);
        return EXIT_USAGE;
    }
    for (int i = 0; i < n; i++)
        if (policy_allow(&pol, (enum policy_list)add[i].which, add[i].d) < 0) {
            fprintf(stderr, "verifier: not a SHA-256 digest: %s\n", add[i].d);
            goto out;
        }
    rc = policy_save(&pol, path) == 0 ? 0 : 1;
    if (rc)
        fprintf(stderr, "verifier: cannot write %s\n", path);
out:
    policy_free(&pol);
    return rc;
}

static int cmd_policy(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "default") && argc == 2)
        return policy_default_cmd();
    if (argc >= 2 && !strcmp(argv[1], "allow"))
        return policy_allow_cmd(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "bundle"))
        return cmd_policy_bundle(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "check-image"))
        return cmd_policy_check_image(argc - 1, argv + 1);
    usage();
    return EXIT_USAGE;
}

/* The two database URL forms store_open_url takes. */
static int db_url_ok(const char *db)
{
    return (!strncmp(db, "sqlite:", 7) && db[7]) || !strncmp(db, "postgresql://", 13) ||
           !strncmp(db, "postgres://", 11);
}

/* Scheduler and continuous-attestation options of serve: getopt codes above any letter. */
enum { OPT_REATTEST_INTERVAL = 0x100, OPT_REATTEST_GRACE, OPT_NOTIFY_URL, OPT_NOTIFY_CA,
       OPT_NOTIFY_MAX_ATTEMPTS, OPT_ADMISSION_CACHE_MS, OPT_ADMISSION_MAX_AGE,
       OPT_MAX_CONNS, OPT_PER_IP, OPT_RESERVE, OPT_HANDSHAKE_S, OPT_HEADER_S, OPT_BODY_S,
       OPT_IDLE_S, OPT_THREADS, OPT_AUDIT_KEEP_DAYS, OPT_POLICY_ADMIN, OPT_POLICY_POLL_MS,
       OPT_ADMISSION_CLIENT, OPT_MF_QUOTA, OPT_MF_IDLE, OPT_MF_CACHE, OPT_MF_UPLOADS };

/* A whole decimal number in [0, max]; -1 otherwise. */
static int number(const char *s, unsigned long max, unsigned long *out)
{
    char *end;

    errno = 0;
    *out = strtoul(s, &end, 10);
    return s[0] >= '0' && s[0] <= '9' && !*end && !errno && *out <= max ? 0 : -1;
}

/* A number in [1, max] into an unsigned field. */
static int positive(const char *s, unsigned long max, unsigned *out)
{
    unsigned long v;

    if (number(s, max, &v) < 0 || v == 0)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* Connection limits and deadlines (connguard.h, docs/verifier.md "Connection limits"). */
static int serve_conn_opt(int c, struct guard_limits *l)
{
    switch (c) {
    case OPT_MAX_CONNS: return positive(optarg, 65536, &l->max_conns);
    case OPT_PER_IP: return positive(optarg, 65536, &l->per_ip);
    case OPT_RESERVE: return positive(optarg, 65535, &l->reserve);
    case OPT_HANDSHAKE_S: return positive(optarg, 3600, &l->handshake_s);
    case OPT_HEADER_S: return positive(optarg, 3600, &l->header_s);
    case OPT_BODY_S: return positive(optarg, 3600, &l->body_s);
    case OPT_IDLE_S: return positive(optarg, 3600, &l->idle_s);
    default: return -1;
    }
}

static int serve_sched_opt(int c, struct server_config *cfg)
{
    switch (c) {
    case OPT_REATTEST_INTERVAL: return number(optarg, 86400 * 30, &cfg->reattest_interval);
    case OPT_REATTEST_GRACE: return number(optarg, 86400, &cfg->reattest_grace);
    case OPT_AUDIT_KEEP_DAYS: return number(optarg, 36500, &cfg->audit_keep_days);
    case OPT_NOTIFY_URL: cfg->notify_url = optarg; return 0;
    case OPT_NOTIFY_CA: cfg->notify_ca = optarg; return 0;
    case OPT_NOTIFY_MAX_ATTEMPTS: return number(optarg, 1000, &cfg->notify_max_attempts) < 0 ||
                                          cfg->notify_max_attempts == 0 ? -1 : 0;
    case OPT_ADMISSION_CACHE_MS: return number(optarg, 60000, &cfg->admission_cache_ms);
    case OPT_ADMISSION_MAX_AGE: return number(optarg, 86400 * 365, &cfg->admission_max_age);
    case OPT_THREADS: return positive(optarg, SERVER_MAX_THREADS, &cfg->threads);
    case OPT_POLICY_POLL_MS: return number(optarg, 60000, &cfg->policy_poll_ms);
    case OPT_MF_QUOTA: return number(optarg, 1u << 20, &cfg->manifest_quota_mb) < 0 ||
                              cfg->manifest_quota_mb == 0 ? -1 : 0;
    case OPT_MF_IDLE: return number(optarg, 86400 * 3650, &cfg->manifest_idle_s) < 0 ||
                             cfg->manifest_idle_s < 3600 ? -1 : 0;
    case OPT_MF_CACHE: return number(optarg, 65536, &cfg->manifest_cache_mb);
    case OPT_MF_UPLOADS: return positive(optarg, 64, &cfg->max_manifest_uploads);
    case OPT_POLICY_ADMIN:
        if (cfg->n_policy_admins >= SERVER_POLICY_ADMINS_MAX || !optarg[0])
            return -1;
        cfg->policy_admins[cfg->n_policy_admins++] = optarg;
        return 0;
    case OPT_ADMISSION_CLIENT:
        if (cfg->n_admission_clients >= SERVER_POLICY_ADMINS_MAX || !optarg[0])
            return -1;
        cfg->admission_clients[cfg->n_admission_clients++] = optarg;
        return 0;
    default: return serve_conn_opt(c, &cfg->conn);
    }
}

static int serve_parse(int argc, char **argv, struct server_config *cfg)
{
    static const struct option lo[] = {
        { "listen", required_argument, NULL, 'l' },  { "db", required_argument, NULL, 'd' },
        { "policy", required_argument, NULL, 'p' },  { "trust", required_argument, NULL, 't' },
        { "tls-cert", required_argument, NULL, 'c' }, { "tls-key", required_argument, NULL, 'k' },
        { "client-ca", required_argument, NULL, 'a' }, { "insecure-no-tls", no_argument, NULL, 'i' },
        { "nonce-ttl", required_argument, NULL, 'n' }, { "port-file", required_argument, NULL, 'f' },
        { "boot-policy", required_argument, NULL, 'B' },
        { "reattest-interval", required_argument, NULL, OPT_REATTEST_INTERVAL },
        { "reattest-grace", required_argument, NULL, OPT_REATTEST_GRACE },
        { "audit-keep-days", required_argument, NULL, OPT_AUDIT_KEEP_DAYS },
        { "notify-url", required_argument, NULL, OPT_NOTIFY_URL },
        { "notify-ca", required_argument, NULL, OPT_NOTIFY_CA },
        { "notify-max-attempts", required_argument, NULL, OPT_NOTIFY_MAX_ATTEMPTS },
        { "admission-cache-ms", required_argument, NULL, OPT_ADMISSION_CACHE_MS },
        { "admission-max-age", required_argument, NULL, OPT_ADMISSION_MAX_AGE },
        { "max-connections", required_argument, NULL, OPT_MAX_CONNS },
        { "max-connections-per-ip", required_argument, NULL, OPT_PER_IP },
        { "reserve-connections", required_argument, NULL, OPT_RESERVE },
        { "handshake-timeout", required_argument, NULL, OPT_HANDSHAKE_S },
        { "header-timeout", required_argument, NULL, OPT_HEADER_S },
        { "body-timeout", required_argument, NULL, OPT_BODY_S },
        { "idle-timeout", required_argument, NULL, OPT_IDLE_S },
        { "threads", required_argument, NULL, OPT_THREADS },
        { "policy-admin", required_argument, NULL, OPT_POLICY_ADMIN },
        { "admission-client", required_argument, NULL, OPT_ADMISSION_CLIENT },
        { "policy-poll-ms", required_argument, NULL, OPT_POLICY_POLL_MS },
        { "manifest-quota-mb", required_argument, NULL, OPT_MF_QUOTA },
        { "manifest-idle", required_argument, NULL, OPT_MF_IDLE },
        { "manifest-cache-mb", required_argument, NULL, OPT_MF_CACHE },
        { "max-manifest-uploads", required_argument, NULL, OPT_MF_UPLOADS },
        { NULL, 0, NULL, 0 },
    };
    int c, li = -1;

    if (cfgfile_expand("verifier", "verifier-serve", lo, 1, &argc, &argv) < 0)
        return -1;
    while ((c = getopt_long(argc, argv, "", lo, &li)) != -1) {
        switch (c) {
        case 'l': cfg->listen = optarg; break;
        case 'd': cfg->db = optarg; break;
        case 'p': cfg->policy = optarg; break;
        case 't': cfg->trust = optarg; break;
        case 'c': cfg->tls_cert = optarg; break;
        case 'k': cfg->tls_key = optarg; break;
        case 'a': cfg->client_ca = optarg; break;
        case 'i': cfg->insecure_no_tls = 1; break;
        case 'n': cfg->nonce_ttl = strtoul(optarg, NULL, 10); break;
        case 'f': cfg->port_file = optarg; break;
        case 'B': cfg->boot_policy = optarg; break;
        default:
            if (serve_sched_opt(c, cfg) < 0) {
                if (c != '?' && li >= 0 && optarg) /* getopt named an unknown option */
                    fprintf(stderr, "verifier serve: --%s %s: not a valid value\n",
                            lo[li].name, optarg);
                return -1;
            }
            break;
        }
        li = -1;
    }
    if (optind != argc || !cfg->listen || !cfg->db || !db_url_ok(cfg->db) || !cfg->policy ||
        !cfg->trust ||
        cfg->nonce_ttl == 0 || cfg->nonce_ttl > 3600 || (cfg->notify_ca && !cfg->notify_url) ||
        cfg->conn.reserve >= cfg->conn.max_conns)
        return -1;
    if (cfg->insecure_no_tls)
        return cfg->tls_cert || cfg->tls_key || cfg->client_ca ? -1 : 0;
    return cfg->tls_cert && cfg->tls_key && cfg->client_ca ? 0 : -1;
}

static int cmd_serve(int argc, char **argv)
{
    struct server_config cfg = {
        .nonce_ttl = SERVER_NONCE_TTL, .reattest_interval = SERVER_REATTEST_INTERVAL,
        .reattest_grace = SERVER_REATTEST_GRACE, .audit_keep_days = SERVER_AUDIT_KEEP_DAYS, .notify_max_attempts = SWEEPER_DEFAULT_MAX_ATTEMPTS,
        .admission_cache_ms = SERVER_ADMISSION_CACHE_MS, .policy_poll_ms = WP_POLL_MS,
        .manifest_quota_mb = SERVER_MANIFEST_QUOTA_MB, .manifest_idle_s = SERVER_MANIFEST_IDLE_S,
        .manifest_cache_mb = SERVER_MANIFEST_CACHE_MB,
        .max_manifest_uploads = SERVER_MANIFEST_UPLOADS,
        .conn = { .max_conns = GUARD_MAX_CONNS, .per_ip = GUARD_PER_IP, .reserve = GUARD_RESERVE,
                  .handshake_s = GUARD_HANDSHAKE_S, .header_s = GUARD_HEADER_S,
                  .body_s = GUARD_BODY_S, .idle_s = GUARD_IDLE_S },
    };

    if (serve_parse(argc, argv, &cfg) < 0) {
        usage();
        return EXIT_USAGE;
    }
    return server_run(&cfg) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    log_set_ident("verifier");
    switch (cli_ask(argc, argv)) {
    case CLI_HELP: usage_to(stdout); return 0;
    case CLI_VERSION:
        cli_version(strcmp(program_invocation_short_name, "verifier-serve") ? "verifier"
                                                                            : "verifier-serve");
        return 0;
    default: break;
    }
    if (argc < 2) {
        usage();
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "verify"))
        return cmd_verify(argc - 1, argv + 1);
    if (!strcmp(argv[1], "serve"))
        return cmd_serve(argc - 1, argv + 1);
    if (!strcmp(argv[1], "boot-policy"))
        return cmd_boot_policy(argc - 1, argv + 1);
    if (!strcmp(argv[1], "policy"))
        return cmd_policy(argc - 1, argv + 1);
    fprintf(stderr, "verifier: unknown command %s\n", argv[1]);
    usage();
    return EXIT_USAGE;
}
