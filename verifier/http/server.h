/* SPDX-License-Identifier: BSD-3-Clause */
/* The verifier service: HTTPS with mutual TLS (libmicrohttpd + GnuTLS), routing to api.c. */
#ifndef VERIFIER_SERVER_H
#define VERIFIER_SERVER_H

#include "http/connguard.h"

#define SERVER_NONCE_TTL 60u
#define SERVER_REATTEST_INTERVAL 300u
#define SERVER_REATTEST_GRACE    60u
#define SERVER_AUDIT_KEEP_DAYS   90u  /* --audit-keep-days */
#define SERVER_ADMISSION_CACHE_MS 1000u
#define SERVER_MAX_THREADS 1024u
#define SERVER_POLICY_ADMINS_MAX 8u
/* The manifest store (docs/verifier.md "Manifest store"). */
#define SERVER_MANIFEST_QUOTA_MB  1024u      /* --manifest-quota-mb */
#define SERVER_MANIFEST_IDLE_S    (7u * 86400u) /* --manifest-idle: evictable once unused */
#define SERVER_MANIFEST_UNUSED_S  600        /* never used by evidence: evictable this old */
#define SERVER_MANIFEST_CACHE_MB  256u       /* --manifest-cache-mb (decoded manifests) */
#define SERVER_MANIFEST_UPLOADS   2u         /* --max-manifest-uploads at once */
/* The default --threads per online CPU: a thread waits for its check's commit (an fsync, or a
 * PostgreSQL round trip) as often as it computes, so one per CPU left the CPUs idle
 * (docs/benchmarks.md 8h: 4 per CPU served 1.36x the attestations/s of 1 on SQLite). */
#define SERVER_THREADS_PER_CPU 4u

struct server_config {
    const char *listen, *db, *policy, *trust;
    const char *boot_policy; /* optional: the host's boot reference values */
    const char *tls_cert, *tls_key, *client_ca;
    const char *port_file; /* optional: the bound port is written here (for --listen H:0) */
    int insecure_no_tls;
    unsigned long nonce_ttl;
    /* scheduler answers and continuous attestation (docs/verifier.md) */
    unsigned long reattest_interval, reattest_grace; /* seconds */
    const char *notify_url, *notify_ca;               /* optional */
    unsigned long notify_max_attempts;
    unsigned long audit_keep_days; /* audit rows older are purged by the sweeper; 0: never */
    unsigned long admission_cache_ms, admission_max_age;
    struct guard_limits conn; /* connection limits and deadlines (docs/verifier.md) */
    unsigned threads;         /* serving threads; 0: SERVER_THREADS_PER_CPU per online CPU */
    /* per-workload policies (docs/verifier.md): the client certificate common names that may
     * use /v1/policies, and how often the database's policies are checked for a change */
    const char *policy_admins[SERVER_POLICY_ADMINS_MAX];
    unsigned n_policy_admins;
    /* --admission-client: the only client certificate CNs /v1/admission answers (the API
     * server's webhook client); none given: any client of --client-ca (warned at start). */
    const char *admission_clients[SERVER_POLICY_ADMINS_MAX];
    unsigned n_admission_clients;
    unsigned long policy_poll_ms;
    /* the manifest store: quota, eviction, the decoded manifests' cache, uploads at once */
    unsigned long manifest_quota_mb, manifest_idle_s, manifest_cache_mb;
    unsigned max_manifest_uploads;
};

/* Runs until SIGTERM or SIGINT. Returns 0 after a clean stop, -1 when it could not start. */
int server_run(const struct server_config *cfg);

#endif
