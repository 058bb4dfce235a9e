/* SPDX-License-Identifier: BSD-3-Clause */
/* The verifier service: HTTPS with mutual TLS (libmicrohttpd + GnuTLS), routing to api.c. N
 * serving threads ("shards"), each running its own libmicrohttpd daemon with its own store
 * handle; one accepting thread hands each new connection to the shard with the fewest; one
 * connection guard (connguard.h) for all of them. */
#include "http/server.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

#include "sched/admission.h"
#include "http/api.h"
#include "check/chain.h"
#include "check/rtcache.h"
#include "check/runtime.h"
#include "http/connguard.h"
#include "fileio.h"
#include "log.h"
#include "precheck.h"
#include "runlock.h"
#include "sdnotify.h"
#include "sched/sweeper.h"
#include "sched/wpolicy.h"

#define MAX_PEM          (256u * 1024u)
/* How long the loop waits in libmicrohttpd at most: the deadlines' resolution. */
#define LOOP_WAIT_MS     100
#define TLS_PRIORITIES   "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
/* libmicrohttpd's memory per connection (request line, headers, its read and write buffers;
 * bodies go to struct conn): its default is 32 KiB, and it clears the pool after every
 * request, which was 6% of an admission review's CPU. Headers up to about 8 KiB fit. */
#define CONN_POOL_BYTES  (16u * 1024u)
/* A request body buffer up to this size is kept for the connection's next request. */
#define CONN_SPARE_MAX   (64u * 1024u)
/* Connections the accepting thread takes per wake-up before it polls again. */
#define ACCEPT_BATCH     16

struct conn {
    uint8_t *buf;
    size_t len, cap;
    size_t limit;   /* the body's bound: API_MAX_BODY, or a manifest upload's length */
    int too_big;
    int upload;     /* holds one of the service's manifest upload slots */
    int refused;    /* a manifest upload refused before its body: 411, 413 or 503 */
};

struct server;

/* What SIGHUP reloads (policy files, trust directory, TLS files), shared by the shards: each
 * holds a reference to the one its context and daemon use until it takes the next one
 * between two rounds of its loop, so no request sees a change half-way. */
struct bundle {
    struct policy pol;
    X509_STORE *trust;
    char *cert, *key, *ca; /* PEM texts; NULL without TLS */
    atomic_int refs;
};

/* A connection accepted for a shard, not yet given to its daemon. */
struct pending {
    struct pending *next;
    int fd;
    socklen_t len;
    struct sockaddr_storage addr;
};

/* One serving thread: its daemon (its connections) and its api context (its store). */
struct shard {
    struct server *sv;
    struct api_ctx *api;
    struct MHD_Daemon *d;
    struct bundle *b;   /* the settings api and d were made with */
    unsigned gen;       /* sv->gen when b was taken */
    pthread_t th;
    int running;
    int ep;             /* its loop waits here: the daemon's epoll fd and efd */
    int efd;            /* eventfd: connections were queued for it */
    int mhd_ep;         /* the daemon's epoll fd as registered in ep */
    atomic_uint_least64_t busy_since_ms; /* when its current request began (api->busy) */
    pthread_mutex_t qmu; /* guards queue */
    struct pending *queue;
};

struct server {
    struct api_ctx base; /* what the shards share: policy, trust, settings, admission cache */
    struct api_ctx *apis; /* n copies of base, each with its own store and counters */
    struct shard *shards;
    unsigned n;
    struct sweeper_stats sweep;
    int tls;
    const struct server_config *cfg;
    pthread_mutex_t cur_mu; /* guards cur */
    struct bundle *cur;     /* the latest settings loaded */
    atomic_uint gen;        /* counts SIGHUP reloads that worked */
    struct guard guard; /* locked inside: every shard's connections */
    atomic_uint uploads; /* manifest uploads whose bodies are being read (all shards) */
    int lfd;            /* the listening socket, the accepting thread's */
    pthread_t acceptor;
    int acceptor_running;
    unsigned next_rr;   /* where the acceptor's search for the least loaded shard starts */
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
 * was presented and verifies against --client-ca. The verification (a signature check and the
 * chain's parse: a third of the service's CPU when done for every request) is remembered for
 * the connection, for the exact certificate it was made on (a renegotiation that changes it is
 * verified again) and for CERT_RECHECK_MS at most (an expiry is seen within that). */
#define CERT_RECHECK_MS 60000u
static int client_cert_ok(struct MHD_Connection *con, struct guard_conn *gc)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    gnutls_session_t s = ci ? (gnutls_session_t)ci->tls_session : NULL;
    const gnutls_datum_t *peers;
    unsigned int status = 1, n = 0;
    unsigned char md[32];
    uint64_t now = guard_now_ms();

    if (!s || !(peers = gnutls_certificate_get_peers(s, &n)) || n == 0 ||
        gnutls_hash_fast(GNUTLS_DIG_SHA256, peers[0].data, peers[0].size, md) != 0)
        return 0;
    if (gc && gc->peer_ok_ms && now - gc->peer_ok_ms < CERT_RECHECK_MS &&
        !memcmp(gc->peer_md, md, sizeof(md)))
        return 1;
    if (gnutls_certificate_verify_peers2(s, &status) != 0 || status != 0) {
        if (gc)
            gc->peer_ok_ms = 0;
        return 0;
    }
    if (gc) {
        if (memcmp(gc->peer_md, md, sizeof(md)))
            gc->peer_admission = 0; /* another certificate: its CN is looked at again */
        memcpy(gc->peer_md, md, sizeof(md));
        gc->peer_ok_ms = now ? now : 1;
    }
    return 1;
}

static int is_json_ct(struct MHD_Connection *con);

/* The verified client certificate's subject common name when it is one of --policy-admin
 * (client_cert_ok has verified the chain for this request). 0 and cn, or -1. */
static int cn_listed(struct MHD_Connection *con, const char *const *names, unsigned n,
                     char cn[256]);

static int policy_admin(struct MHD_Connection *con, const struct server_config *cfg,
                        char cn[256])
{
    return cn_listed(con, cfg->policy_admins, cfg->n_policy_admins, cn);
}

/* May this connection's client post admission reviews? Without TLS or --admission-client,
 * any client; else only a verified certificate whose CN is listed, looked at once per
 * connection and certificate (parsing it for every review would cost more than the review). */
static int admission_client(struct MHD_Connection *con, const struct server_config *cfg,
                            struct guard_conn *gc)
{
    char cn[256];
    int ok;

    if (cfg->insecure_no_tls || !cfg->n_admission_clients)
        return 1;
    if (gc && gc->peer_admission)
        return gc->peer_admission == 1;
    ok = cn_listed(con, cfg->admission_clients, cfg->n_admission_clients, cn) == 0;
    if (gc)
        gc->peer_admission = ok ? 1 : 2;
    return ok;
}

/* The verified client certificate's subject common name when it is one of names (the caller
 * has verified the chain for this request). 0 and cn, or -1. */
static int cn_listed(struct MHD_Connection *con, const char *const *names, unsigned n_names,
                     char cn[256])
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    gnutls_session_t s = ci ? (gnutls_session_t)ci->tls_session : NULL;
    const gnutls_datum_t *peers;
    gnutls_x509_crt_t crt;
    unsigned int n = 0;
    size_t len = 256;
    int ok;

    if (!s || !(peers = gnutls_certificate_get_peers(s, &n)) || n == 0 ||
        gnutls_x509_crt_init(&crt) < 0)
        return -1;
    ok = gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER) == 0 &&
         gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &len) == 0 &&
         strlen(cn) == len; /* no NUL inside */
    gnutls_x509_crt_deinit(crt);
    for (unsigned i = 0; ok && i < n_names; i++)
        if (!strcmp(cn, names[i]))
            return 0;
    return -1;
}

/* /v1/policies: only over TLS and only for an admin client (--policy-admin). */
static void route_policies(struct server *sv, struct api_ctx *api, struct MHD_Connection *con,
                           const char *method, const char *url, struct conn *cn,
                           struct api_reply *rep)
{
    char who[256];

    if (!sv->tls || !sv->cfg->n_policy_admins) {
        api_error(rep, 403, "the policy API needs TLS and --policy-admin");
    } else if (policy_admin(con, sv->cfg, who) < 0) {
        api_error(rep, 403, "client is not a policy admin (--policy-admin)");
    } else if (cn->too_big) {
        api_error(rep, 413, "body too large");
    } else if (!strcmp(method, MHD_HTTP_METHOD_PUT) && !is_json_ct(con)) {
        api_error(rep, 415, "application/json expected");
    } else {
        api_policies(api, method, url + strlen("/v1/policies"),
                     MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "version"), who,
                     cn->buf, cn->len, rep);
    }
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

static int is_ctype(struct MHD_Connection *con, const char *want)
{
    const char *ct = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Type");
    size_t n = strlen(want);

    return ct && !strncmp(ct, want, n) && (!ct[n] || ct[n] == ';' || ct[n] == ' ');
}

static int is_json(struct MHD_Connection *con)
{
    const char *ct = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Type");

    return ct && !strncmp(ct, "application/json", 16);
}

static int is_json_ct(struct MHD_Connection *con)
{
    return is_json(con);
}

static void route_post(struct api_ctx *api, struct MHD_Connection *con, const char *url,
                       struct conn *cn, struct api_reply *rep)
{
    if (cn->too_big) {
        api_error(rep, 413, "body too large");
    } else if (!strcmp(url, "/v1/admission")) { /* Kubernetes sends JSON */
        if (is_json(con))
            api_admission(api, cn->buf, cn->len, rep);
        else
            api_error(rep, 415, "application/json expected");
    } else if (!is_cbor(con)) {
        api_error(rep, 415, "application/cbor expected");
    } else if (!strcmp(url, "/v1/evidence")) {
        api_evidence(api, cn->buf, cn->len, rep);
    } else if (!strcmp(url, "/v1/hosts/evidence")) {
        api_host_evidence(api, cn->buf, cn->len, rep);
    } else if (!strcmp(url, "/v1/register")) {
        api_register(api, cn->buf, cn->len, rep);
    } else if (!strcmp(url, "/v1/hosts/register")) {
        api_host_register(api, cn->buf, cn->len, rep);
    } else if (!strcmp(url, "/v1/register/activate")) {
        api_activate(api, cn->buf, cn->len, rep);
    } else {
        api_error(rep, 404, "not found");
    }
}

static void route_get(struct api_ctx *api, const char *url, struct api_reply *rep)
{
    static const char cpfx[] = "/v1/containers/", npfx[] = "/v1/nodes/";

    if (!strcmp(url, "/v1/nonce"))
        api_nonce(api, rep);
    else if (!strcmp(url, "/healthz"))
        api_health(api, rep);
    else if (!strcmp(url, "/metrics"))
        api_metrics(api, rep);
    else if (!strncmp(url, cpfx, sizeof(cpfx) - 1) && url[sizeof(cpfx) - 1] &&
             !strchr(url + sizeof(cpfx) - 1, '/') && strlen(url) < sizeof(cpfx) + EVIDENCE_MAX_ID)
        api_container(api, url + sizeof(cpfx) - 1, rep);
    else if (!strncmp(url, npfx, sizeof(npfx) - 1))
        api_node(api, url + sizeof(npfx) - 1, rep); /* checks the name */
    else
        api_error(rep, 404, "not found");
}

static int body_append(struct conn *cn, const char *data, size_t n)
{
    uint8_t *nb;
    size_t cap;

    if (cn->refused) /* answered by its refusal (411, 413, 503): the body is dropped */
        return 0;
    if (cn->too_big || cn->len + n > cn->limit) {
        cn->too_big = 1;
        return 0;
    }
    if (cn->len + n > cn->cap) {
        /* the first chunk's size, not 4 KiB: most bodies come in one chunk, and a request
         * of 1 KiB or more makes glibc's malloc consolidate its fast bins (5% of an
         * admission review's CPU) */
        cap = cn->cap ? cn->cap : (n + 63) & ~(size_t)63;
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

static const char mpfx[] = "/v1/manifests/";

static int is_manifest_url(const char *url)
{
    return !strncmp(url, mpfx, sizeof(mpfx) - 1);
}

/* Headers of PUT /v1/manifests/...: its body (up to RUNTIME_MANIFEST_MAX) is read only with a
 * Content-Length within that bound and one of the service's --max-manifest-uploads slots, so
 * that clients cannot make it hold more than slots x 32 MiB of bodies at once; otherwise the
 * body is discarded as it arrives and the request answered 411, 413 or 503. */
static void upload_start(struct server *sv, struct MHD_Connection *con, struct conn *cn)
{
    const char *cl = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Length");
    unsigned long long n;
    unsigned cur;
    char *end;

    if (!cl || !*cl || *cl < '0' || *cl > '9') {
        cn->refused = 411;
        return;
    }
    errno = 0;
    n = strtoull(cl, &end, 10);
    if (*end || errno || n > RUNTIME_MANIFEST_MAX) {
        cn->refused = 413;
        return;
    }
    cur = atomic_load(&sv->uploads);
    do {
        if (cur >= sv->cfg->max_manifest_uploads) {
            cn->refused = 503;
            return;
        }
    } while (!atomic_compare_exchange_weak(&sv->uploads, &cur, cur + 1));
    cn->upload = 1;
    cn->limit = (size_t)n;
}

static void route_manifest(struct server *sv, struct api_ctx *api, struct MHD_Connection *con,
                           const char *method, const char *url, struct conn *cn,
                           struct api_reply *rep)
{
    char lim[80];

    if (strcmp(method, MHD_HTTP_METHOD_PUT) && strcmp(method, MHD_HTTP_METHOD_GET) &&
        strcmp(method, MHD_HTTP_METHOD_HEAD)) {
        api_error(rep, 405, "method not allowed (HEAD, GET, PUT)");
        return;
    }
    if (strcmp(method, MHD_HTTP_METHOD_PUT)) {
        api_manifest(api, method, url + sizeof(mpfx) - 1, NULL, 0, rep);
        return;
    }
    if (cn->refused || cn->too_big)
        api->m.manifest_refused++;
    if (cn->refused == 411) {
        api_error(rep, 411, "Content-Length required");
    } else if (cn->refused == 413 || cn->too_big) {
        snprintf(lim, sizeof(lim), "manifest over %u bytes (or not its Content-Length)",
                 RUNTIME_MANIFEST_MAX);
        api_error(rep, 413, lim);
    } else if (cn->refused == 503) {
        snprintf(lim, sizeof(lim), "%u manifest uploads at once already: try again later",
                 sv->cfg->max_manifest_uploads);
        api_error(rep, 503, lim);
    } else if (!is_ctype(con, "application/cbor-seq")) {
        api->m.manifest_refused++;
        api_error(rep, 415, "application/cbor-seq expected");
    } else if (cn->len != cn->limit) {
        api->m.manifest_refused++;
        api_error(rep, 400, "body shorter than its Content-Length");
    } else {
        api_manifest(api, method, url + sizeof(mpfx) - 1, cn->buf, cn->len, rep);
        return;
    }
    LOG_WARN("manifest upload %.80s refused (%u): %.*s", url + sizeof(mpfx) - 1, rep->status,
             (int)rep->len, rep->body ? (const char *)rep->body : "");
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
    struct shard *sh = cls;
    struct server *sv = sh->sv;
    struct conn *cn = *con_cls;
    struct api_reply rep = { 0 };
    uint64_t now;

    if (!cn) { /* first call: headers only */
        struct guard_conn *gc = guard_of(con);

        if (!(cn = calloc(1, sizeof(*cn))))
            return MHD_NO;
        *con_cls = cn;
        if (gc && gc->spare) { /* the previous request's buffer */
            cn->buf = gc->spare;
            cn->cap = gc->spare_cap;
            gc->spare = NULL;
        }
        cn->limit = API_MAX_BODY;
        if (is_manifest_url(url) && !strcmp(method, MHD_HTTP_METHOD_PUT))
            upload_start(sv, con, cn);
        guard_phase(&sv->guard, guard_of(con), GUARD_BODY, guard_now_ms());
        return MHD_YES;
    }
    if (*upload_size) {
        if (body_append(cn, upload, *upload_size) < 0)
            return MHD_NO;
        *upload_size = 0;
        return MHD_YES;
    }
    now = guard_now_ms();
    guard_phase(&sv->guard, guard_of(con), GUARD_BUSY, now);
    atomic_store_explicit(&sh->busy_since_ms, now, memory_order_relaxed);
    atomic_store_explicit(&sh->api->busy, 1, memory_order_relaxed);
    sh->api->m.requests++;
    if (sv->tls && !client_cert_ok(con, guard_of(con))) {
        sh->api->m.tls_refused++;
        api_error(&rep, 403, "client certificate required");
    } else if (!strncmp(url, "/v1/policies", 12) && (!url[12] || url[12] == '/')) {
        route_policies(sv, sh->api, con, method, url, cn, &rep);
    } else if (!strcmp(url, "/v1/admission") && !admission_client(con, sv->cfg, guard_of(con))) {
        sh->api->m.admission_refused++;
        api_error(&rep, 403, "client is not an admission client (--admission-client)");
    } else if (is_manifest_url(url)) {
        route_manifest(sv, sh->api, con, method, url, cn, &rep);
    } else if (!strcmp(method, MHD_HTTP_METHOD_GET)) {
        route_get(sh->api, url, &rep);
    } else if (!strcmp(method, MHD_HTTP_METHOD_POST)) {
        route_post(sh->api, con, url, cn, &rep);
    } else {
        api_error(&rep, 405, "method not allowed");
    }
    atomic_store_explicit(&sh->api->busy, 0, memory_order_relaxed);
    if (cn->upload) { /* the body is answered: its slot and memory go back now */
        free(cn->buf);
        cn->buf = NULL;
        cn->len = cn->cap = 0;
        cn->upload = 0;
        atomic_fetch_sub(&sv->uploads, 1);
    }
    return send_reply(con, &rep);
}

static void completed(void *cls, struct MHD_Connection *con, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct shard *sh = cls;
    struct conn *cn = *con_cls;

    if (cn) {
        struct guard_conn *gc = guard_of(con);

        if (cn->upload) /* ended before its answer (a broken or timed-out upload) */
            atomic_fetch_sub(&sh->sv->uploads, 1);
        if (gc && !gc->spare && cn->buf && cn->cap <= CONN_SPARE_MAX) {
            gc->spare = cn->buf; /* the next request on this connection starts with it */
            gc->spare_cap = cn->cap;
        } else {
            free(cn->buf);
        }
        free(cn);
    }
    *con_cls = NULL;
    guard_phase(&sh->sv->guard, guard_of(con), GUARD_WAIT, guard_now_ms()); /* kept alive: idle */
}

/* Called when the request line is complete (so the TLS handshake is done). */
static void *request_line(void *cls, const char *uri, struct MHD_Connection *con)
{
    struct shard *sh = cls;

    guard_phase(&sh->sv->guard, guard_of(con), GUARD_HEAD, guard_now_ms());
    return NULL; /* handle() allocates the request's struct conn */
}

static void conn_event(void *cls, struct MHD_Connection *con, void **socket_context,
                       enum MHD_ConnectionNotificationCode code)
{
    struct shard *sh = cls;
    const union MHD_ConnectionInfo *ci, *ai;

    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        guard_close(&sh->sv->guard, *socket_context);
        *socket_context = NULL;
        atomic_fetch_sub(&sh->api->conns, 1);
        return;
    }
    atomic_fetch_add(&sh->api->conns, 1);
    ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
    ai = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !(*socket_context = guard_open(&sh->sv->guard, ci->connect_fd,
                                              ai ? ai->client_addr : NULL, guard_now_ms()))) {
        /* over a limit, or untracked (no deadline would hold it): not served */
        if (ci)
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

/* The listening socket (non-blocking), which only the accepting thread (accept_loop) reads. */
static int open_listener(const char *listen_at)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int fd, one = 1;

    if (parse_listen(listen_at, &ss, &sl) < 0) {
        LOG_ERROR("bad --listen %s (HOST:PORT)", listen_at);
        return -1;
    }
    /* As libmicrohttpd's own socket was: an IPv6 address listens for IPv6 only. */
    if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        (ss.ss_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
        bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, SOMAXCONN) < 0) {
        LOG_ERROR("cannot listen on %s: %s", listen_at, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* No internal thread and no listening socket: the shard's loop thread runs libmicrohttpd
 * (external epoll) and the guard's deadlines, and adds the connections the acceptor queued
 * for it. Connection limits are the guard's (for the whole service); libmicrohttpd's own
 * limit is only a backstop at the same number. */
static struct MHD_Daemon *start_daemon(struct shard *sh, const struct server_config *cfg,
                                       const struct bundle *b)
{
    const struct guard_limits *l = &cfg->conn;
    struct server *sv = sh->sv;
    unsigned flags = MHD_USE_ERROR_LOG | MHD_USE_EPOLL | MHD_USE_NO_LISTEN_SOCKET;

    if (!sv->tls)
        return MHD_start_daemon(flags, 0, NULL, NULL, handle, sh,
                                MHD_OPTION_NOTIFY_COMPLETED, completed, sh,
                                MHD_OPTION_NOTIFY_CONNECTION, conn_event, sh,
                                MHD_OPTION_URI_LOG_CALLBACK, request_line, sh,
                                MHD_OPTION_CONNECTION_TIMEOUT, l->idle_s,
                                MHD_OPTION_CONNECTION_LIMIT, l->max_conns,
                                MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_POOL_BYTES,
                                MHD_OPTION_END);
    return MHD_start_daemon(flags | MHD_USE_TLS, 0, NULL, NULL, handle, sh,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, sh,
                            MHD_OPTION_NOTIFY_CONNECTION, conn_event, sh,
                            MHD_OPTION_URI_LOG_CALLBACK, request_line, sh,
                            MHD_OPTION_CONNECTION_TIMEOUT, l->idle_s,
                            MHD_OPTION_CONNECTION_LIMIT, l->max_conns,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_POOL_BYTES,
                            MHD_OPTION_HTTPS_MEM_KEY, b->key, MHD_OPTION_HTTPS_MEM_CERT, b->cert,
                            MHD_OPTION_HTTPS_MEM_TRUST, b->ca,
                            MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES, MHD_OPTION_END);
}

/* At most once a minute: how many connections the guard closed since the last report (an
 * operator's sign of a slow-connection attack or of limits too tight). */
static void guard_report(struct server *sv, uint64_t now, uint64_t *last, uint64_t *seen)
{
    uint64_t to, ev, rf;

    guard_counts(&sv->guard, &to, &ev, &rf);
    if (now - *last < 60000u || to + ev + rf == *seen)
        return;
    LOG_WARN("connection guard: %llu timed out, %llu evicted, %llu refused so far "
             "(docs/verifier.md, \"Connection limits\")", (unsigned long long)to,
             (unsigned long long)ev, (unsigned long long)rf);
    *last = now;
    *seen = to + ev + rf;
}

static void bundle_put(struct bundle *b)
{
    if (!b || atomic_fetch_sub(&b->refs, 1) != 1)
        return;
    policy_free(&b->pol);
    X509_STORE_free(b->trust);
    free(b->cert);
    if (b->key)
        explicit_bzero(b->key, strlen(b->key));
    free(b->key);
    free(b->ca);
    free(b);
}

static struct bundle *bundle_get(struct server *sv)
{
    struct bundle *b;

    pthread_mutex_lock(&sv->cur_mu);
    b = sv->cur;
    atomic_fetch_add(&b->refs, 1);
    pthread_mutex_unlock(&sv->cur_mu);
    return b;
}

static int same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* The shard's loop waits on d's epoll fd (instead of the one it waited on). */
static int shard_watch(struct shard *sh, struct MHD_Daemon *d)
{
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_EPOLL_FD);
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 0 };

    if (!di || di->epoll_fd < 0 || epoll_ctl(sh->ep, EPOLL_CTL_ADD, di->epoll_fd, &ev) < 0)
        return -1;
    if (sh->mhd_ep >= 0)
        epoll_ctl(sh->ep, EPOLL_CTL_DEL, sh->mhd_ep, NULL);
    sh->mhd_ep = di->epoll_fd;
    return 0;
}

/* In the shard's own thread, between two rounds: its context takes the latest settings; its
 * daemon is replaced when the TLS files changed (a new one on the same listening socket
 * first: when it cannot start, the old one stays). */
static void shard_reload(struct shard *sh)
{
    struct server *sv = sh->sv;
    unsigned gen = atomic_load(&sv->gen);
    struct bundle *nb = bundle_get(sv), *old = sh->b;

    if (sv->tls && (!same_text(nb->cert, old->cert) || !same_text(nb->key, old->key) ||
                    !same_text(nb->ca, old->ca))) {
        struct MHD_Daemon *d = start_daemon(sh, sv->cfg, nb);
        if (!d) {
            LOG_ERROR("reload: libmicrohttpd does not start with the new TLS files (--tls-cert "
                      "%s, --tls-key %s, --client-ca %s); this thread keeps the previous ones",
                      sv->cfg->tls_cert, sv->cfg->tls_key, sv->cfg->client_ca);
            bundle_put(nb);
            sh->gen = gen;
            return;
        }
        if (shard_watch(sh, d) < 0) {
            LOG_ERROR("reload: cannot wait on the new daemon's events; this thread keeps the "
                      "previous TLS files");
            MHD_stop_daemon(d);
            bundle_put(nb);
            sh->gen = gen;
            return;
        }
        MHD_stop_daemon(sh->d); /* its open connections are closed; clients connect again */
        sh->d = d;
    }
    sh->api->pol = nb->pol;
    sh->api->trust = nb->trust;
    sh->b = nb;
    sh->gen = gen;
    bundle_put(old);
}

/* The connections the acceptor queued for this shard go to its daemon (which closes one it
 * cannot take). */
static void shard_take_queued(struct shard *sh)
{
    struct pending *p, *next;
    uint64_t cnt;

    if (read(sh->efd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
        LOG_WARN("serving thread: reading its eventfd: %s", strerror(errno));
    pthread_mutex_lock(&sh->qmu);
    p = sh->queue;
    sh->queue = NULL;
    pthread_mutex_unlock(&sh->qmu);
    for (; p; p = next) {
        next = p->next;
        /* From here conn_event counts it (STARTED, in this call), or the daemon refused and
         * closed it. */
        MHD_add_connection(sh->d, p->fd, (const struct sockaddr *)&p->addr, p->len);
        atomic_fetch_sub(&sh->api->conns, 1);
        free(p);
    }
}

/* A serving thread: the connections queued for it, its libmicrohttpd's events (handshakes
 * and requests of its connections), then the deadlines of all (guard_tick: one walk per
 * period). */
static void *serve_loop(void *arg)
{
    struct shard *sh = arg;
    struct server *sv = sh->sv;
    struct epoll_event ev[2];

    while (!atomic_load(&sv->stop)) {
        MHD_UNSIGNED_LONG_LONG to;
        int wait = LOOP_WAIT_MS, n;

        if (atomic_load(&sv->gen) != sh->gen)
            shard_reload(sh);
        if (MHD_get_timeout(sh->d, &to) == MHD_YES && to < (MHD_UNSIGNED_LONG_LONG)wait)
            wait = (int)to;
        n = epoll_wait(sh->ep, ev, 2, wait);
        for (int i = 0; i < n; i++)
            if (ev[i].data.u32 == 1)
                shard_take_queued(sh);
        if (MHD_run(sh->d) == MHD_NO)
            LOG_WARN("libmicrohttpd run failed");
        guard_tick(&sv->guard, guard_now_ms());
    }
    return NULL;
}

/* A shard inside one request for this long is held (a database lock, a slow PostgreSQL round
 * trip): new connections go elsewhere. Shorter, it is only answering (a review takes tens of
 * microseconds): skipping it then would leave the shards that happened to be answering while
 * a burst of connections came with fewer of them, which showed as a p99 several times p50. */
#define SHARD_HELD_MS 20u

/* The shard for a new connection: the one with the fewest open connections among those not
 * held by a request (a held thread would hold the newcomer too); when every shard is held,
 * the fewest. Ties: the next after the last one chosen. */
static struct shard *least_loaded(struct server *sv)
{
    struct shard *best = NULL;
    long best_n = 0;
    uint64_t now = guard_now_ms();

    for (unsigned k = 0; k < sv->n; k++) {
        struct shard *sh = &sv->shards[(sv->next_rr + k) % sv->n];
        long c = atomic_load(&sh->api->conns);

        if (atomic_load_explicit(&sh->api->busy, memory_order_relaxed) &&
            now - atomic_load_explicit(&sh->busy_since_ms, memory_order_relaxed) >= SHARD_HELD_MS)
            c += 1L << 30;
        if (!best || c < best_n) {
            best = sh;
            best_n = c;
        }
    }
    sv->next_rr = (unsigned)(best - sv->shards + 1) % sv->n;
    return best;
}

/* The accepting thread: every new connection that the guard admits goes to the shard holding
 * the fewest. A connection stays with its shard; spreading them evenly keeps the threads'
 * shares of the CPU even per connection (a shared listening socket let whichever thread woke
 * first take a batch, and the connections of a crowded thread waited for it). */
static void *accept_loop(void *arg)
{
    struct server *sv = arg;
    struct pollfd pfd = { .fd = sv->lfd, .events = POLLIN };
    uint64_t last_err = 0;

    while (!atomic_load(&sv->stop)) {
        if (poll(&pfd, 1, LOOP_WAIT_MS) <= 0)
            continue;
        for (int k = 0; k < ACCEPT_BATCH; k++) {
            struct pending in = { .len = sizeof(in.addr) }, *p;
            struct shard *sh;
            uint64_t one = 1;

            in.fd = accept4(sv->lfd, (struct sockaddr *)&in.addr, &in.len,
                            SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (in.fd < 0) {
                int e = errno;

                if (e != EAGAIN && e != EWOULDBLOCK && e != EINTR && e != ECONNABORTED) {
                    uint64_t now = guard_now_ms();
                    if (now - last_err >= 60000u) {
                        LOG_ERROR("accept on %s: %s", sv->cfg->listen, strerror(e));
                        last_err = now;
                    }
                    poll(NULL, 0, LOOP_WAIT_MS); /* out of descriptors: not a busy loop */
                }
                break;
            }
            /* A client over a limit costs no more than this (conn_event's guard_open then
             * decides for the connections let in). */
            if (!guard_admit(&sv->guard, in.len >= (socklen_t)sizeof(sa_family_t)
                                             ? (const struct sockaddr *)&in.addr : NULL) ||
                !(p = malloc(sizeof(*p)))) {
                close(in.fd);
                continue;
            }
            *p = in;
            sh = least_loaded(sv);
            atomic_fetch_add(&sh->api->conns, 1);
            pthread_mutex_lock(&sh->qmu);
            p->next = sh->queue;
            sh->queue = p;
            pthread_mutex_unlock(&sh->qmu);
            if (write(sh->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
                LOG_WARN("acceptor: waking a serving thread: %s", strerror(errno));
        }
    }
    return NULL;
}

/* Admission and re-attestation settings; the cache is optional (--admission-cache-ms 0). */
static int load_sched(struct server *sv, const struct server_config *cfg)
{
    sv->base.admission_max_age = (int64_t)cfg->admission_max_age;
    sv->base.reattest_interval = (int64_t)cfg->reattest_interval;
    sv->base.reattest_grace = (int64_t)cfg->reattest_grace;
    sv->base.sweep = &sv->sweep;
    if (!(sv->base.wp = wp_holder_new((unsigned)cfg->policy_poll_ms)))
        return -1;
    if (!cfg->insecure_no_tls && !cfg->n_admission_clients)
        LOG_WARN("no --admission-client: any client certificate of --client-ca (every node's "
                 "agent) may post admission reviews, and a review it makes up can record an "
                 "admitted pod; give the API server's webhook client CN");
    if (cfg->n_admission_clients && cfg->insecure_no_tls)
        LOG_WARN("--admission-client without TLS: not enforced (no client certificate)");
    if (cfg->n_policy_admins && cfg->insecure_no_tls)
        LOG_WARN("--policy-admin without TLS: /v1/policies refuses every client (it needs a "
                 "verified client certificate)");
    sv->base.mquota = (struct store_manifest_quota){
        .total = (int64_t)cfg->manifest_quota_mb << 20, .idle_s = (int64_t)cfg->manifest_idle_s,
        .unused_s = SERVER_MANIFEST_UNUSED_S };
    if (cfg->manifest_cache_mb &&
        !(sv->base.mcache = rtcache_new((size_t)cfg->manifest_cache_mb << 20)))
        return -1;
    if (cfg->admission_cache_ms && !(sv->base.acache = admission_cache_new(
                                         ADMISSION_CACHE_ENTRIES, (unsigned)cfg->admission_cache_ms)))
        return -1;
    return 0;
}

/* The TLS texts as GnuTLS will take them: the key pair matches, --client-ca holds a
 * certificate. A broken file is named here, not by a daemon that fails to start. */
static int tls_check(const struct server_config *cfg, const struct bundle *b)
{
    gnutls_certificate_credentials_t cr;
    gnutls_datum_t c = { (unsigned char *)b->cert, (unsigned)strlen(b->cert) },
                   k = { (unsigned char *)b->key, (unsigned)strlen(b->key) },
                   ca = { (unsigned char *)b->ca, (unsigned)strlen(b->ca) };
    int r, ok = 1;

    if (gnutls_certificate_allocate_credentials(&cr) < 0)
        return -1;
    if ((r = gnutls_certificate_set_x509_key_mem(cr, &c, &k, GNUTLS_X509_FMT_PEM)) < 0) {
        LOG_ERROR("--tls-cert %s with --tls-key %s: %s", cfg->tls_cert, cfg->tls_key,
                  gnutls_strerror(r));
        ok = 0;
    }
    if ((r = gnutls_certificate_set_x509_trust_mem(cr, &ca, GNUTLS_X509_FMT_PEM)) <= 0) {
        LOG_ERROR("--client-ca %s: %s", cfg->client_ca,
                  r < 0 ? gnutls_strerror(r) : "no PEM certificate in it");
        ok = 0;
    }
    gnutls_certificate_free_credentials(cr);
    return ok ? 0 : -1;
}

/* The files SIGHUP reloads, each error naming its file; NULL on any. */
static struct bundle *load_bundle(const struct server_config *cfg)
{
    struct bundle *b = calloc(1, sizeof(*b));
    char err[512];

    if (!b)
        return NULL;
    atomic_init(&b->refs, 1);
    if (policy_load(cfg->policy, &b->pol, err, sizeof(err)) < 0) {
        LOG_ERROR("--policy %s: %s", cfg->policy, err);
        goto fail;
    }
    if (cfg->boot_policy && policy_load_boot(&b->pol, cfg->boot_policy, err, sizeof(err)) < 0) {
        LOG_ERROR("--boot-policy %s: %s", cfg->boot_policy, err);
        goto fail;
    }
    if (!cfg->boot_policy && !b->pol.boot)
        LOG_WARN("no --boot-policy: the hosts' measured boot is checked for consistency only, "
                 "not against reference values");
    if (!(b->trust = chain_trust_load(cfg->trust)))
        goto fail;
    if (!cfg->insecure_no_tls &&
        (read_text(cfg->tls_cert, &b->cert) < 0 || read_text(cfg->tls_key, &b->key) < 0 ||
         read_text(cfg->client_ca, &b->ca) < 0 || tls_check(cfg, b) < 0))
        goto fail;
    return b;
fail:
    bundle_put(b);
    return NULL;
}

static int load(struct server *sv, const struct server_config *cfg)
{
    if (!(sv->cur = load_bundle(cfg)))
        return -1;
    sv->base.pol = sv->cur->pol;
    sv->base.trust = sv->cur->trust;
    sv->base.nonce_ttl = (unsigned)cfg->nonce_ttl;
    if (load_sched(sv, cfg) < 0)
        return -1;
    sv->tls = !cfg->insecure_no_tls;
    return 0;
}

/* SIGHUP: every file loaded again; on any error the previous settings stay in force. */
static void reload(struct server *sv, const struct server_config *cfg)
{
    struct bundle *nb, *old;

    sdnotify("RELOADING=1");
    LOG_INFO("SIGHUP: loading --policy %s%s%s, --trust %s%s again", cfg->policy,
             cfg->boot_policy ? ", --boot-policy " : "", cfg->boot_policy ? cfg->boot_policy : "",
             cfg->trust, cfg->insecure_no_tls ? "" : " and the TLS files");
    if (!(nb = load_bundle(cfg))) {
        LOG_ERROR("reload failed (above); still serving with the previous settings");
    } else {
        pthread_mutex_lock(&sv->cur_mu);
        old = sv->cur;
        sv->cur = nb;
        pthread_mutex_unlock(&sv->cur_mu);
        bundle_put(old);
        atomic_fetch_add(&sv->gen, 1);
        LOG_INFO("reloaded: new checks use the new settings (admission answers already cached "
                 "stay for --admission-cache-ms at most)");
    }
    sdnotify("READY=1");
}

/* The database URL without a password (postgresql://user:secret@host/db -> user@host/db). */
static const char *db_shown(const char *url, char *out, size_t n)
{
    const char *at = strchr(url, '@'), *scheme = strstr(url, "://"), *colon;

    if (!at || !scheme || at < scheme)
        return url;
    colon = memchr(scheme + 3, ':', (size_t)(at - scheme - 3));
    if (!colon)
        return url;
    snprintf(out, n, "%.*s:***%s", (int)(colon - url), url, at);
    return out;
}

/* The shards' contexts: base's settings, each its own store handle ("one struct store is used
 * by one thread at a time") and counters; /metrics on any of them sums all. */
static int load_shards(struct server *sv, const struct server_config *cfg)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    sv->n = cfg->threads ? cfg->threads
                         : cpus > 0 ? (unsigned)cpus * SERVER_THREADS_PER_CPU : SERVER_THREADS_PER_CPU;
    if (sv->n > SERVER_MAX_THREADS)
        sv->n = SERVER_MAX_THREADS;
    if (!(sv->apis = calloc(sv->n, sizeof(*sv->apis))) ||
        !(sv->shards = calloc(sv->n, sizeof(*sv->shards))))
        return -1;
    for (unsigned i = 0; i < sv->n; i++) {
        memcpy(&sv->apis[i], &sv->base, sizeof(sv->base)); /* counters zero, shared pointers */
        sv->apis[i].st = NULL;
        sv->apis[i].peers = sv->apis;
        sv->apis[i].npeers = sv->n;
        sv->shards[i] = (struct shard){ .sv = sv, .api = &sv->apis[i], .b = bundle_get(sv),
                                        .ep = -1, .efd = -1, .mhd_ep = -1 };
        pthread_mutex_init(&sv->shards[i].qmu, NULL);
        if (store_open_url(cfg->db, &sv->apis[i].st) < 0 ||
            store_check_ready(sv->apis[i].st) < 0) {
            char shown[512];
            LOG_ERROR("--db %s: cannot open or reach the database",
                      db_shown(cfg->db, shown, sizeof(shown)));
            return -1;
        }
    }
    return 0;
}

static void unload(struct server *sv)
{
    for (unsigned i = 0; sv->apis && i < sv->n; i++)
        store_close(sv->apis[i].st);
    free(sv->apis);
    admission_cache_free(sv->base.acache);
    rtcache_free(sv->base.mcache);
    wp_holder_free(sv->base.wp);
    for (unsigned i = 0; sv->shards && i < sv->n; i++)
        bundle_put(sv->shards[i].b);
    free(sv->shards); /* after its bundles are put */
    bundle_put(sv->cur);
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

static int announce(struct server *sv, const struct server_config *cfg)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    unsigned port = 0;

    if (getsockname(sv->lfd, (struct sockaddr *)&ss, &sl) == 0)
        port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                              : ((struct sockaddr_in *)&ss)->sin_port);

    LOG_INFO("listening on %s (port %u)%s, %u serving thread(s)", cfg->listen, port,
             cfg->insecure_no_tls ? " WITHOUT TLS" : ", mutual TLS", sv->n);
    if (cfg->port_file && write_port(cfg->port_file, port) < 0) {
        LOG_ERROR("--port-file %s: cannot write it: %s", cfg->port_file, strerror(errno));
        return -1;
    }
    return 0;
}

static int start_sweeper(const struct server_config *cfg, struct server *sv, struct sweeper **out)
{
    const struct sweeper_cfg sc = { cfg->db, cfg->notify_url, cfg->notify_ca,
                                    (int)cfg->notify_max_attempts,
                                    (int64_t)cfg->audit_keep_days * 86400 };

    if (sweeper_start(&sc, &sv->sweep, out) < 0) {
        LOG_ERROR("cannot start the revocation sweeper");
        return -1;
    }
    return 0;
}

static int start_shards(struct server *sv, const struct server_config *cfg)
{
    for (unsigned i = 0; i < sv->n; i++) {
        struct shard *sh = &sv->shards[i];
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 1 };

        if ((sh->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
            (sh->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
            epoll_ctl(sh->ep, EPOLL_CTL_ADD, sh->efd, &ev) < 0) {
            LOG_ERROR("serving thread %u: epoll or eventfd: %s", i, strerror(errno));
            return -1;
        }
        if (!(sh->d = start_daemon(sh, cfg, sh->b)) || shard_watch(sh, sh->d) < 0) {
            LOG_ERROR("cannot start libmicrohttpd on %s", cfg->listen);
            return -1;
        }
    }
    return 0;
}

static int start_threads(struct server *sv)
{
    for (unsigned i = 0; i < sv->n; i++) {
        if (pthread_create(&sv->shards[i].th, NULL, serve_loop, &sv->shards[i]) != 0) {
            LOG_ERROR("cannot start serving thread %u", i);
            return -1;
        }
        sv->shards[i].running = 1;
    }
    if (pthread_create(&sv->acceptor, NULL, accept_loop, sv) != 0) {
        LOG_ERROR("cannot start the accepting thread");
        return -1;
    }
    sv->acceptor_running = 1;
    return 0;
}

static void stop_shards(struct server *sv)
{
    atomic_store(&sv->stop, 1);
    if (sv->acceptor_running)
        pthread_join(sv->acceptor, NULL);
    for (unsigned i = 0; sv->shards && i < sv->n; i++)
        if (sv->shards[i].running)
            pthread_join(sv->shards[i].th, NULL);
    for (unsigned i = 0; sv->shards && i < sv->n; i++) {
        struct shard *sh = &sv->shards[i];
        struct pending *p, *next;

        for (p = sh->queue; p; p = next) { /* accepted, never served */
            next = p->next;
            close(p->fd);
            free(p);
        }
        sh->queue = NULL;
        if (sh->d) /* closes its connections (the guard's entries go) */
            MHD_stop_daemon(sh->d);
        if (sh->efd >= 0)
            close(sh->efd);
        if (sh->ep >= 0)
            close(sh->ep);
    }
    if (sv->lfd >= 0)
        close(sv->lfd);
}

/* Signals are waited for here, with a 1 s tick for the guard's report. */
static int wait_signal(struct server *sv, const sigset_t *set)
{
    const struct timespec tick = { 1, 0 };
    uint64_t last = guard_now_ms(), seen = 0;
    int sig;

    for (;;) {
        sig = sigtimedwait(set, NULL, &tick);
        if (sig == SIGTERM || sig == SIGINT)
            return sig;
        if (sig == SIGHUP)
            reload(sv, sv->cfg);
        guard_report(sv, guard_now_ms(), &last, &seen);
    }
}

/* The settings' paths and addresses, before anything is made (the lock file, the database). */
static int precheck(const struct server_config *cfg)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int bad = 0;

    if (parse_listen(cfg->listen, &ss, &sl) < 0) {
        LOG_ERROR("--listen %s: not a numeric HOST:PORT this machine has", cfg->listen);
        bad = 1;
    }
    if (cfg->port_file)
        bad |= precheck_writable_file("--port-file", cfg->port_file) < 0;
    bad |= precheck_readable("--policy", cfg->policy) < 0;
    if (cfg->boot_policy)
        bad |= precheck_readable("--boot-policy", cfg->boot_policy) < 0;
    if (!cfg->insecure_no_tls) {
        bad |= precheck_readable("--tls-cert", cfg->tls_cert) < 0;
        bad |= precheck_readable("--tls-key", cfg->tls_key) < 0;
        bad |= precheck_readable("--client-ca", cfg->client_ca) < 0;
    }
    if (cfg->notify_ca)
        bad |= precheck_readable("--notify-ca", cfg->notify_ca) < 0;
    if (cfg->notify_url)
        bad |= precheck_url("--notify-url", cfg->notify_url) < 0;
    if (!strncmp(cfg->db, "sqlite:", 7))
        bad |= precheck_writable_file("--db", cfg->db + 7) < 0;
    return bad ? -1 : 0;
}

/* --port-file's lock (FILE.lock): a second service given the same port file stops there and
 * leaves the first one's file as it is. */
static int lock_port_file(const char *port_file, int *fd)
{
    char lock[4096], what[4160];

    *fd = -1;
    if (!port_file)
        return 0;
    if (snprintf(lock, sizeof(lock), "%s.lock", port_file) >= (int)sizeof(lock)) {
        LOG_ERROR("--port-file %s: path too long", port_file);
        return -1;
    }
    snprintf(what, sizeof(what), "the port file %s", port_file);
    *fd = runlock_take(lock, what);
    return *fd < 0 ? -1 : 0;
}

int server_run(const struct server_config *cfg)
{
    struct server sv = { .lfd = -1, .cfg = cfg, .cur_mu = PTHREAD_MUTEX_INITIALIZER };
    struct sweeper *sw = NULL;
    sigset_t set;
    int sig, rc = -1, lock = -1;

    if (precheck(cfg) < 0)
        return -1;
    sdnotify_init();
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    /* Blocked before any thread starts, so only sigtimedwait below sees them. */
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 || load(&sv, cfg) < 0)
        goto out;
    guard_init(&sv.guard, &cfg->conn);
    /* Listening before the database is opened: a port in use makes no database file. */
    if ((sv.lfd = open_listener(cfg->listen)) < 0 || load_shards(&sv, cfg) < 0)
        goto out;
    /* The port file's lock once every setting worked (nothing of ours is left on a failure
     * before it), and before any thread or the port file is started or written. */
    if (lock_port_file(cfg->port_file, &lock) < 0)
        goto out;
    signal(SIGPIPE, SIG_IGN);
    if (start_shards(&sv, cfg) < 0 || start_sweeper(cfg, &sv, &sw) < 0 || start_threads(&sv) < 0)
        goto out;
    if (announce(&sv, cfg) < 0)
        goto out;
    sdnotify("READY=1");
    sig = wait_signal(&sv, &set);
    sdnotify("STOPPING=1");
    LOG_INFO("stopping (signal %d)", sig);
    rc = 0;
out:
    stop_shards(&sv);
    sweeper_stop(sw);
    guard_free(&sv.guard);
    unload(&sv);
    if (lock >= 0)
        close(lock);
    return rc;
}
