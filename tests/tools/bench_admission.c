/* SPDX-License-Identifier: BSD-3-Clause */
/* Load client for the verifier's admission webhook: CONCURRENCY kept-alive connections POST
 * AdmissionReviews and report latency percentiles and throughput. The connections are driven
 * by LOOPS event-loop threads (libevent's HTTP client, CONCURRENCY / LOOPS connections each;
 * -l, default 1), or with -l 0 by one blocking libcurl thread per connection: the older client,
 * whose 200 threads take a few times the CPU per request, and scheduling delay, from the
 * server they measure on a small machine (docs/benchmarks.md 7). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#define MAX_CONCURRENCY 1000
#define MAX_BODIES      4096
#define MAX_BODY        (1024 * 1024)

struct bench {
    const char *url;
    char *bodies[MAX_BODIES]; /* one review per line of BODYFILE, sent round robin */
    size_t n_bodies;
    long requests;
    atomic_long next, errors, next_loop;
    double *lat_ms; /* by request index */
    long loops;     /* event-loop threads; 0: a blocking thread per connection */
    int unique;     /* -u: each "@UID@" of a body becomes the request's number (12 digits) */
    long conc;
    char host[256], path[1024];
    int port;
    pthread_barrier_t start;
};

struct reply {
    char buf[512]; /* the start of the answer holds "allowed" */
    size_t len;
};

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct reply *r = arg;
    size_t len = size * n, room = sizeof(r->buf) - 1 - r->len;

    memcpy(r->buf + r->len, p, len < room ? len : room);
    r->len += len < room ? len : room;
    r->buf[r->len] = '\0';
    return len;
}

static CURL *client(struct bench *b, struct curl_slist *hdrs, struct reply *rep)
{
    CURL *h = curl_easy_init();

    if (h && (curl_easy_setopt(h, CURLOPT_URL, b->url) != CURLE_OK ||
              curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
              curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L) != CURLE_OK ||
              curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
              curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
              curl_easy_setopt(h, CURLOPT_WRITEDATA, rep) != CURLE_OK)) {
        curl_easy_cleanup(h);
        return NULL;
    }
    return h;
}

static int one(struct bench *b, CURL *h, struct reply *rep, long i)
{
    const char *body = b->bodies[(size_t)i % b->n_bodies];
    long status = 0;

    rep->len = 0;
    rep->buf[0] = '\0';
    if (curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body)) != CURLE_OK ||
        curl_easy_perform(h) != CURLE_OK ||
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
        return -1;
    return status == 200 && strstr(rep->buf, "\"allowed\":true") ? 0 : -1;
}

static void *worker(void *arg)
{
    struct bench *b = arg;
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    struct reply rep;
    CURL *h = hdrs ? client(b, hdrs, &rep) : NULL;
    long i;

    pthread_barrier_wait(&b->start);
    while ((i = atomic_fetch_add(&b->next, 1)) < b->requests) {
        double t0 = now_ms();
        if (!h || one(b, h, &rep, i) < 0)
            atomic_fetch_add(&b->errors, 1);
        b->lat_ms[i] = now_ms() - t0;
    }
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    return NULL;
}

/* One connection of an event loop: one request in flight at a time, the next one sent from the
 * completion of the last. */
struct slot {
    struct bench *b;
    struct evhttp_connection *conn;
    struct event_base *base;
    long i;    /* the request index in flight */
    double t0; /* when it was sent */
    long *active;
};

static void slot_send(struct slot *s);

static void slot_done(struct evhttp_request *req, void *arg)
{
    struct slot *s = arg;
    struct bench *b = s->b;
    int ok = 0;

    b->lat_ms[s->i] = now_ms() - s->t0;
    if (req && evhttp_request_get_response_code(req) == 200) {
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t n = evbuffer_get_length(in);
        char buf[512];
        ev_ssize_t got = evbuffer_copyout(in, buf, n < sizeof(buf) - 1 ? n : sizeof(buf) - 1);

        if (got >= 0) {
            buf[got] = '\0';
            ok = strstr(buf, "\"allowed\":true") != NULL;
        }
    }
    if (!ok)
        atomic_fetch_add(&b->errors, 1);
    slot_send(s);
}

/* The body of request i: with -u, every "@UID@" replaced by i as 12 digits (a new pod uid per
 * request, as an API server's reviews of new pods have). *copied: the result is the caller's
 * to free. */
static char *body_of(const struct bench *b, long i, int *copied)
{
    const char *body = b->bodies[(size_t)i % b->n_bodies], *p, *q;
    size_t n = strlen(body), k = 0;
    char num[16], *out, *o;

    *copied = 0;
    for (p = body; b->unique && (p = strstr(p, "@UID@")); p += 5)
        k++;
    if (!k || !(out = malloc(n + k * 7 + 1)))
        return (char *)body;
    snprintf(num, sizeof(num), "%012ld", i % 1000000000000L);
    for (o = out, p = body; (q = strstr(p, "@UID@")); p = q + 5) {
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, num, 12);
        o += 12;
    }
    strcpy(o, p);
    *copied = 1;
    return out;
}

static void slot_send(struct slot *s)
{
    struct bench *b = s->b;
    struct evhttp_request *req;
    char *body;
    int copied;

    if ((s->i = atomic_fetch_add(&b->next, 1)) >= b->requests) {
        if (--*s->active == 0)
            event_base_loopexit(s->base, NULL);
        return;
    }
    body = body_of(b, s->i, &copied);
    s->t0 = now_ms();
    if (!(req = evhttp_request_new(slot_done, s)) ||
        evhttp_add_header(evhttp_request_get_output_headers(req), "Host", b->host) != 0 ||
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                          "application/json") != 0 ||
        (copied ? evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body))
                : evbuffer_add_reference(evhttp_request_get_output_buffer(req), body,
                                         strlen(body), NULL, NULL)) != 0 ||
        evhttp_make_request(s->conn, req, EVHTTP_REQ_POST, b->path) != 0) {
        fprintf(stderr, "bench_admission: cannot send a request to %s:%d\n", b->host, b->port);
        exit(1);
    }
    if (copied)
        free(body);
}

/* An event base whose epoll changes are batched per loop round (libevent's changelist): the
 * HTTP client adds and removes a connection's events several times per request, each an
 * epoll_ctl otherwise (six per request, a third of the client's CPU). */
static struct event_base *new_base(void)
{
    struct event_config *cfg = event_config_new();
    struct event_base *base;

    if (!cfg)
        return NULL;
    event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    return base;
}

static void *loop_worker(void *arg)
{
    struct bench *b = arg;
    long id = atomic_fetch_add(&b->next_loop, 1);
    long n = b->conc / b->loops + (id < b->conc % b->loops), active = n;
    struct event_base *base = new_base();
    struct slot *sl = calloc((size_t)n, sizeof(*sl));
    int ok = base && sl;

    for (long k = 0; ok && k < n; k++) {
        sl[k] = (struct slot){.b = b, .base = base, .active = &active};
        ok = (sl[k].conn = evhttp_connection_base_new(base, NULL, b->host,
                                                      (unsigned short)b->port)) != NULL;
        if (ok)
            evhttp_connection_set_timeout(sl[k].conn, 10);
    }
    pthread_barrier_wait(&b->start);
    if (!ok) {
        fprintf(stderr, "bench_admission: cannot set up %ld connections\n", n);
        exit(1);
    }
    for (long k = 0; k < n; k++)
        slot_send(&sl[k]);
    if (active > 0 && event_base_dispatch(base) < 0) {
        fprintf(stderr, "bench_admission: event loop failed\n");
        exit(1);
    }
    for (long k = 0; k < n; k++)
        evhttp_connection_free(sl[k].conn);
    event_base_free(base);
    free(sl);
    return NULL;
}

/* The host, port and path of an http:// URL, by libevent's URI parser. */
static int split_url(struct bench *b)
{
    struct evhttp_uri *u = evhttp_uri_parse(b->url);
    const char *h = u ? evhttp_uri_get_host(u) : NULL, *p = u ? evhttp_uri_get_path(u) : NULL;
    const char *sch = u ? evhttp_uri_get_scheme(u) : NULL;
    int rc = -1;

    if (h && sch && strcmp(sch, "http") == 0 && strlen(h) < sizeof(b->host) &&
        (!p || strlen(p) < sizeof(b->path))) {
        snprintf(b->host, sizeof(b->host), "%s", h);
        snprintf(b->path, sizeof(b->path), "%s", p && *p ? p : "/");
        b->port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : 80;
        rc = 0;
    }
    if (u)
        evhttp_uri_free(u);
    return rc;
}

static int load_bodies(struct bench *b, const char *path)
{
    FILE *f = fopen(path, "re");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    if (!f)
        return -1;
    while (b->n_bodies < MAX_BODIES && (n = getline(&line, &cap, f)) > 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0 || n > MAX_BODY || !(b->bodies[b->n_bodies] = strdup(line)))
            continue;
        b->n_bodies++;
    }
    free(line);
    fclose(f);
    return b->n_bodies ? 0 : -1;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double pct(const double *v, long n, double p)
{
    long i = (long)(p * (double)(n - 1) + 0.5);

    return v[i < n ? i : n - 1];
}

static int run(struct bench *b, long conc)
{
    pthread_t th[MAX_CONCURRENCY];
    long started = 0, nth = b->loops ? b->loops : conc;
    double t0, secs;

    if (pthread_barrier_init(&b->start, NULL, (unsigned)nth + 1) != 0)
        return -1;
    for (; started < nth; started++)
        if (pthread_create(&th[started], NULL, b->loops ? loop_worker : worker, b) != 0)
            break;
    if (started < nth) { /* the barrier would never open: cannot recover, say so */
        fprintf(stderr, "bench_admission: only %ld threads\n", started);
        exit(1);
    }
    pthread_barrier_wait(&b->start);
    t0 = now_ms();
    for (long i = 0; i < nth; i++)
        pthread_join(th[i], NULL);
    secs = (now_ms() - t0) / 1e3;
    pthread_barrier_destroy(&b->start);
    qsort(b->lat_ms, (size_t)b->requests, sizeof(double), cmp);
    printf("requests=%ld concurrency=%ld loops=%ld errors=%ld p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f "
           "max_ms=%.2f rps=%.0f\n", b->requests, conc, b->loops, atomic_load(&b->errors),
           pct(b->lat_ms, b->requests, 0.50), pct(b->lat_ms, b->requests, 0.90),
           pct(b->lat_ms, b->requests, 0.99), b->lat_ms[b->requests - 1], b->requests / secs);
    return atomic_load(&b->errors) ? 1 : 0;
}

int main(int argc, char **argv)
{
    static struct bench b;
    long conc;
    int rc;

    b.loops = 1;
    for (int opt; (opt = getopt(argc, argv, "l:u")) != -1;) {
        char *end;

        if (opt == 'u') {
            b.unique = 1;
            continue;
        }
        if (opt != 'l' || (b.loops = strtol(optarg, &end, 10), *end) || b.loops < 0 ||
            b.loops > 64) {
            fprintf(stderr, "bench_admission: -l: not 0 to 64 event loops\n");
            return 2;
        }
    }
    argc -= optind - 1;
    argv += optind - 1;
    if (argc != 5 || (conc = atol(argv[2])) < 1 || conc > MAX_CONCURRENCY ||
        (b.requests = atol(argv[3])) < 1) {
        fprintf(stderr, "usage: bench_admission [-l LOOPS] [-u] URL CONCURRENCY(1-%d) REQUESTS "
                        "BODYFILE\n"
                        "       (BODYFILE: one AdmissionReview per line, sent round robin;\n"
                        "        LOOPS: event-loop threads, default 1; 0: a thread per\n"
                        "        connection; -u: each @UID@ in a body becomes the request's\n"
                        "        number, 12 digits;\n"
                        "        event loops only)\n",
                MAX_CONCURRENCY);
        return 2;
    }
    if (b.loops > conc)
        b.loops = conc;
    b.conc = conc;
    b.url = argv[1];
    if (b.loops && split_url(&b) < 0) {
        fprintf(stderr, "bench_admission: %s: not an http://HOST[:PORT]/PATH URL\n", b.url);
        return 2;
    }
    if (load_bodies(&b, argv[4]) < 0 || !(b.lat_ms = calloc((size_t)b.requests, sizeof(double)))) {
        fprintf(stderr, "bench_admission: cannot read %s\n", argv[4]);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = run(&b, conc);
    curl_global_cleanup();
    for (size_t i = 0; i < b.n_bodies; i++)
        free(b.bodies[i]);
    free(b.lat_ms);
    return rc;
}
