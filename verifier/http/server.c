/* SPDX-License-Identifier: BSD-3-Clause */
/* The verifier service: HTTPS with mutual TLS (libmicrohttpd + GnuTLS), routing to api.c, run
 * by one thread of ours that also enforces the connection guard (connguard.h). */
#include "http/server.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "sched/admission.h"
#include "http/api.h"
#include "check/chain.h"
#include "http/connguard.h"
#include "fileio.h"
#include "log.h"
#include "sched/sweeper.h"

#define MAX_PEM          (256u * 1024u)
/* How long the loop waits in libmicrohttpd at most: the deadlines' resolution. */
#define LOOP_WAIT_MS     100
#define TLS_PRIORITIES   "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

struct conn {
    uint8_t *buf;
    size_t len, cap;
    int too_big;
};

struct server {
    struct api_ctx api;
    struct sweeper_stats sweep;
    int tls;
    char *cert, *key, *ca;
    struct guard guard; /* only the loop thread touches it */
    struct MHD_Daemon *d;
    atomic_int stop;
};

static int read_text(const char *path, char **out)
{
    uint8_t *b;
    size_t len;
    int r = file_read_all_flags(AT_FDCWD, path, 0, MAX_PEM, &b, &len);

    if (r < 0)
        LOG_ERROR("cannot read %s: %s", path, strerror(-r));
    else
        *out = (char *)b; /* NUL-terminated by file_read_all */
    return r;
}

/* GnuTLS asked for a client certificate (HTTPS_MEM_TRUST); a request is served only when one
 * was presented and verifies against --client-ca. */
static int client_cert_ok(struct MHD_Connection *con)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    gnutls_session_t s = ci ? (gnutls_session_t)ci->tls_session : NULL;
    unsigned int status = 1, n = 0;

    if (!s || !gnutls_certificate_get_peers(s, &n) || n == 0)
        return 0;
    return gnutls_certificate_verify_peers2(s, &status) == 0 && status == 0;
}

static enum MHD_Result send_reply(struct MHD_Connection *con, struct api_reply *rep)
{
    struct MHD_Response *resp;
    enum MHD_Result r;

    resp = MHD_create_response_from_buffer(rep->len, rep->body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        api_reply_free(rep);
        return MHD_NO;
    }
    rep->body = NULL; /* owned by resp */
    MHD_add_response_header(resp, "Content-Type", rep->ctype);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    r = MHD_queue_response(con, rep->status, resp);
    MHD_destroy_response(resp);
    return r;
}

static int is_cbor(struct MHD_Connection *con)
{
    const char *ct = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Type");

    return ct && !strncmp(ct, "application/cbor", 16);
}

static int is_json(struct MHD_Connection *con)
{
    const char *ct = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Type");

    return ct && !strncmp(ct, "application/json", 16);
}

static void route_post(struct server *sv, struct MHD_Connection *con, const char *url,
                       struct conn *cn, struct api_reply *rep)
{
    if (cn->too_big) {
        api_error(rep, 413, "body too large");
    } else if (!strcmp(url, "/v1/admission")) { /* Kubernetes sends JSON */
        if (is_json(con))
            api_admission(&sv->api, cn->buf, cn->len, rep);
        else
            api_error(rep, 415, "application/json expected");
    } else if (!is_cbor(con)) {
        api_error(rep, 415, "application/cbor expected");
    } else if (!strcmp(url, "/v1/evidence")) {
        api_evidence(&sv->api, cn->buf, cn->len, rep);
    } else if (!strcmp(url, "/v1/hosts/evidence")) {
        api_host_evidence(&sv->api, cn->buf, cn->len, rep);
    } else if (!strcmp(url, "/v1/register")) {
        api_register(&sv->api, cn->buf, cn->len, rep);
    } else if (!strcmp(url, "/v1/hosts/register")) {
        api_host_register(&sv->api, cn->buf, cn->len, rep);
    } else if (!strcmp(url, "/v1/register/activate")) {
        api_activate(&sv->api, cn->buf, cn->len, rep);
    } else {
        api_error(rep, 404, "not found");
    }
}

static void route_get(struct server *sv, const char *url, struct api_reply *rep)
{
    static const char cpfx[] = "/v1/containers/", npfx[] = "/v1/nodes/";

    if (!strcmp(url, "/v1/nonce"))
        api_nonce(&sv->api, rep);
    else if (!strcmp(url, "/healthz"))
        api_health(&sv->api, rep);
    else if (!strcmp(url, "/metrics"))
        api_metrics(&sv->api, rep);
    else if (!strncmp(url, cpfx, sizeof(cpfx) - 1) && url[sizeof(cpfx) - 1] &&
             !strchr(url + sizeof(cpfx) - 1, '/') && strlen(url) < sizeof(cpfx) + EVIDENCE_MAX_ID)
        api_container(&sv->api, url + sizeof(cpfx) - 1, rep);
    else if (!strncmp(url, npfx, sizeof(npfx) - 1))
        api_node(&sv->api, url + sizeof(npfx) - 1, rep); /* checks the name */
    else
        api_error(rep, 404, "not found");
}

static int body_append(struct conn *cn, const char *data, size_t n)
{
    uint8_t *nb;
    size_t cap;

    if (cn->too_big || cn->len + n > API_MAX_BODY) {
        cn->too_big = 1;
        return 0;
    }
    if (cn->len + n > cn->cap) {
        cap = cn->cap ? cn->cap : 4096;
        while (cap < cn->len + n)
            cap *= 2;
        if (!(nb = realloc(cn->buf, cap)))
            return -1;
        cn->buf = nb;
        cn->cap = cap;
    }
    memcpy(cn->buf + cn->len, data, n);
    cn->len += n;
    return 0;
}

static struct guard_conn *guard_of(struct MHD_Connection *con)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return ci ? ci->socket_context : NULL;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *con, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    struct server *sv = cls;
    struct conn *cn = *con_cls;
    struct api_reply rep = { 0 };

    if (!cn) { /* first call: headers only */
        if (!(cn = calloc(1, sizeof(*cn))))
            return MHD_NO;
        *con_cls = cn;
        guard_phase(guard_of(con), GUARD_BODY, guard_now_ms());
        return MHD_YES;
    }
    if (*upload_size) {
        if (body_append(cn, upload, *upload_size) < 0)
            return MHD_NO;
        *upload_size = 0;
        return MHD_YES;
    }
    guard_phase(guard_of(con), GUARD_BUSY, guard_now_ms());
    sv->api.m.requests++;
    if (sv->tls && !client_cert_ok(con)) {
        sv->api.m.tls_refused++;
        api_error(&rep, 403, "client certificate required");
    } else if (!strcmp(method, MHD_HTTP_METHOD_GET)) {
        route_get(sv, url, &rep);
    } else if (!strcmp(method, MHD_HTTP_METHOD_POST)) {
        route_post(sv, con, url, cn, &rep);
    } else {
        api_error(&rep, 405, "method not allowed");
    }
    return send_reply(con, &rep);
}

static void completed(void *cls, struct MHD_Connection *con, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct conn *cn = *con_cls;

    if (cn) {
        free(cn->buf);
        free(cn);
    }
    *con_cls = NULL;
    guard_phase(guard_of(con), GUARD_WAIT, guard_now_ms()); /* kept alive: idle */
}

/* Called when the request line is complete (so the TLS handshake is done). */
static void *request_line(void *cls, const char *uri, struct MHD_Connection *con)
{
    guard_phase(guard_of(con), GUARD_HEAD, guard_now_ms());
    return NULL; /* handle() allocates the request's struct conn */
}

static void conn_event(void *cls, struct MHD_Connection *con, void **socket_context,
                       enum MHD_ConnectionNotificationCode code)
{
    struct server *sv = cls;
    const union MHD_ConnectionInfo *ci;

    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        guard_close(&sv->guard, *socket_context);
        *socket_context = NULL;
        return;
    }
    ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci || !(*socket_context = guard_open(&sv->guard, ci->connect_fd, guard_now_ms()))) {
        if (ci) /* untracked connections are not served: no deadline would hold them */
            shutdown(ci->connect_fd, SHUT_RDWR);
        *socket_context = NULL;
    }
}

/* HOST:PORT ([v6]:PORT too) to a socket address. */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sl)
{
    char host[256];
    const char *colon = strrchr(s, ':');
    struct addrinfo hints = { .ai_flags = AI_NUMERICSERV, .ai_socktype = SOCK_STREAM }, *ai;
    size_t hl;

    if (!colon || colon == s || (hl = (size_t)(colon - s)) >= sizeof(host))
        return -EINVAL;
    memcpy(host, s, hl);
    host[hl] = '\0';
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
        return -EINVAL;
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *sl = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

/* No internal thread: server_run's loop thread runs libmicrohttpd and the guard's deadlines,
 * so requests are still handled one at a time. */
static struct MHD_Daemon *start_daemon(struct server *sv, const struct server_config *cfg)
{
    const struct guard_limits *l = &cfg->conn;
    struct sockaddr_storage ss;
    socklen_t sl;
    unsigned flags = MHD_USE_ERROR_LOG | MHD_USE_AUTO;

    if (parse_listen(cfg->listen, &ss, &sl) < 0) {
        LOG_ERROR("bad --listen %s (HOST:PORT)", cfg->listen);
        return NULL;
    }
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (!sv->tls)
        return MHD_start_daemon(flags, 0, NULL, NULL, handle, sv, MHD_OPTION_SOCK_ADDR, &ss,
                                MHD_OPTION_NOTIFY_COMPLETED, completed, sv,
                                MHD_OPTION_NOTIFY_CONNECTION, conn_event, sv,
                                MHD_OPTION_URI_LOG_CALLBACK, request_line, sv,
                                MHD_OPTION_CONNECTION_TIMEOUT, l->idle_s,
                                MHD_OPTION_CONNECTION_LIMIT, l->max_conns,
                                MHD_OPTION_PER_IP_CONNECTION_LIMIT, l->per_ip, MHD_OPTION_END);
    return MHD_start_daemon(flags | MHD_USE_TLS, 0, NULL, NULL, handle, sv,
                            MHD_OPTION_SOCK_ADDR, &ss, MHD_OPTION_NOTIFY_COMPLETED, completed, sv,
                            MHD_OPTION_NOTIFY_CONNECTION, conn_event, sv,
                            MHD_OPTION_URI_LOG_CALLBACK, request_line, sv,
                            MHD_OPTION_CONNECTION_TIMEOUT, l->idle_s,
                            MHD_OPTION_CONNECTION_LIMIT, l->max_conns,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, l->per_ip,
                            MHD_OPTION_HTTPS_MEM_KEY, sv->key, MHD_OPTION_HTTPS_MEM_CERT, sv->cert,
                            MHD_OPTION_HTTPS_MEM_TRUST, sv->ca,
                            MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES, MHD_OPTION_END);
}

/* At most once a minute: how many connections the guard closed since the last report (an
 * operator's sign of a slow-connection attack or of limits too tight). */
static void guard_report(struct server *sv, uint64_t now, uint64_t *last, uint64_t *seen)
{
    uint64_t n = sv->guard.timeouts + sv->guard.evictions;

    if (now - *last < 60000u || n == *seen)
        return;
    LOG_WARN("connection guard: %llu timed out, %llu evicted so far (docs/verifier.md, "
             "\"Connection limits\")", (unsigned long long)sv->guard.timeouts,
             (unsigned long long)sv->guard.evictions);
    *last = now;
    *seen = n;
}

/* The one thread that serves: libmicrohttpd's events, then the deadlines. */
static void *serve_loop(void *arg)
{
    struct server *sv = arg;
    uint64_t now, last = guard_now_ms(), seen = 0;

    while (!atomic_load(&sv->stop)) {
        if (MHD_run_wait(sv->d, LOOP_WAIT_MS) == MHD_NO)
            LOG_WARN("libmicrohttpd run failed");
        now = guard_now_ms();
        guard_reap(&sv->guard, now);
        guard_report(sv, now, &last, &seen);
    }
    return NULL;
}

/* Admission and re-attestation settings; the cache is optional (--admission-cache-ms 0). */
static int load_sched(struct server *sv, const struct server_config *cfg)
{
    sv->api.admission_max_age = (int64_t)cfg->admission_max_age;
    sv->api.reattest_interval = (int64_t)cfg->reattest_interval;
    sv->api.reattest_grace = (int64_t)cfg->reattest_grace;
    sv->api.sweep = &sv->sweep;
    if (cfg->admission_cache_ms && !(sv->api.acache = admission_cache_new(
                                         ADMISSION_CACHE_ENTRIES, (unsigned)cfg->admission_cache_ms)))
        return -1;
    return 0;
}

static int load(struct server *sv, const struct server_config *cfg)
{
    char err[160];

    if (policy_load(cfg->policy, &sv->api.pol, err, sizeof(err)) < 0) {
        LOG_ERROR("policy %s: %s", cfg->policy, err);
        return -1;
    }
    if (cfg->boot_policy &&
        policy_load_boot(&sv->api.pol, cfg->boot_policy, err, sizeof(err)) < 0) {
        LOG_ERROR("boot policy %s: %s", cfg->boot_policy, err);
        return -1;
    }
    if (!cfg->boot_policy)
        LOG_WARN("no --boot-policy: the hosts' measured boot is checked for consistency only, "
                 "not against reference values");
    if (!(sv->api.trust = chain_trust_load(cfg->trust)))
        return -1;
    if (store_open_url(cfg->db, &sv->api.st) < 0) {
        LOG_ERROR("cannot use the database (sqlite:PATH or postgresql://...)");
        return -1;
    }
    sv->api.nonce_ttl = (unsigned)cfg->nonce_ttl;
    if (load_sched(sv, cfg) < 0)
        return -1;
    sv->tls = !cfg->insecure_no_tls;
    if (sv->tls && (read_text(cfg->tls_cert, &sv->cert) < 0 ||
                    read_text(cfg->tls_key, &sv->key) < 0 || read_text(cfg->client_ca, &sv->ca) < 0))
        return -1;
    return 0;
}

static void unload(struct server *sv)
{
    admission_cache_free(sv->api.acache);
    store_close(sv->api.st);
    X509_STORE_free(sv->api.trust);
    policy_free(&sv->api.pol);
    free(sv->cert);
    if (sv->key)
        explicit_bzero(sv->key, strlen(sv->key));
    free(sv->key);
    free(sv->ca);
}

/* Written whole and renamed, so that a reader never sees a partial number. */
static int write_port(const char *path, unsigned port)
{
    char tmp[4096];
    FILE *f;
    int ok;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp) || !(f = fopen(tmp, "we")))
        return -1;
    ok = fprintf(f, "%u\n", port) > 0;
    ok = fclose(f) == 0 && ok;
    return ok && rename(tmp, path) == 0 ? 0 : -1;
}

static void announce(struct MHD_Daemon *d, const struct server_config *cfg)
{
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = di ? di->port : 0;

    LOG_INFO("listening on %s (port %u)%s", cfg->listen, port,
             cfg->insecure_no_tls ? " WITHOUT TLS" : ", mutual TLS");
    if (cfg->port_file && write_port(cfg->port_file, port) < 0)
        LOG_WARN("cannot write %s", cfg->port_file);
}

static int start_sweeper(const struct server_config *cfg, struct server *sv, struct sweeper **out)
{
    const struct sweeper_cfg sc = { cfg->db, cfg->notify_url, cfg->notify_ca,
                                    (int)cfg->notify_max_attempts };

    if (sweeper_start(&sc, &sv->sweep, out) < 0) {
        LOG_ERROR("cannot start the revocation sweeper");
        return -1;
    }
    return 0;
}

int server_run(const struct server_config *cfg)
{
    struct server sv = { 0 };
    struct sweeper *sw = NULL;
    pthread_t loop;
    int looping = 0;
    sigset_t set;
    int sig = 0, rc = -1;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    /* Blocked before the daemon's thread starts, so only sigwait below sees them. */
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 || load(&sv, cfg) < 0)
        goto out;
    signal(SIGPIPE, SIG_IGN);
    guard_init(&sv.guard, &cfg->conn);
    if (!(sv.d = start_daemon(&sv, cfg))) {
        LOG_ERROR("cannot listen on %s", cfg->listen);
        goto out;
    }
    if (start_sweeper(cfg, &sv, &sw) < 0)
        goto out;
    if (pthread_create(&loop, NULL, serve_loop, &sv) != 0) {
        LOG_ERROR("cannot start the service thread");
        goto out;
    }
    looping = 1;
    announce(sv.d, cfg);
    while (sigwait(&set, &sig) != 0 || (sig != SIGTERM && sig != SIGINT))
        ;
    LOG_INFO("stopping (signal %d)", sig);
    rc = 0;
out:
    atomic_store(&sv.stop, 1);
    if (looping)
        pthread_join(loop, NULL);
    sweeper_stop(sw);
    if (sv.d)
        MHD_stop_daemon(sv.d); /* closes the connections: the guard's entries go with them */
    guard_free(&sv.guard);
    unload(&sv);
    return rc;
}
