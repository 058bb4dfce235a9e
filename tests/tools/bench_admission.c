/* SPDX-License-Identifier: BSD-3-Clause */
/* Load client for the verifier's admission webhook: CONCURRENCY threads with one kept-alive
 * connection each POST AdmissionReviews and report latency percentiles and throughput. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#define MAX_CONCURRENCY 1000
#define MAX_BODIES      4096
#define MAX_BODY        (1024 * 1024)

struct bench {
    const char *url;
    char *bodies[MAX_BODIES]; /* one review per line of BODYFILE, sent round robin */
    size_t n_bodies;
    long requests;
    atomic_long next, errors;
    double *lat_ms; /* by request index */
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
    long started = 0;
    double t0, secs;

    if (pthread_barrier_init(&b->start, NULL, (unsigned)conc + 1) != 0)
        return -1;
    for (; started < conc; started++)
        if (pthread_create(&th[started], NULL, worker, b) != 0)
            break;
    if (started < conc) { /* the barrier would never open: cannot recover, say so */
        fprintf(stderr, "bench_admission: only %ld threads\n", started);
        exit(1);
    }
    pthread_barrier_wait(&b->start);
    t0 = now_ms();
    for (long i = 0; i < conc; i++)
        pthread_join(th[i], NULL);
    secs = (now_ms() - t0) / 1e3;
    pthread_barrier_destroy(&b->start);
    qsort(b->lat_ms, (size_t)b->requests, sizeof(double), cmp);
    printf("requests=%ld concurrency=%ld errors=%ld p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f "
           "max_ms=%.2f rps=%.0f\n", b->requests, conc, atomic_load(&b->errors),
           pct(b->lat_ms, b->requests, 0.50), pct(b->lat_ms, b->requests, 0.90),
           pct(b->lat_ms, b->requests, 0.99), b->lat_ms[b->requests - 1], b->requests / secs);
    return atomic_load(&b->errors) ? 1 : 0;
}

int main(int argc, char **argv)
{
    static struct bench b;
    long conc;
    int rc;

    if (argc != 5 || (conc = atol(argv[2])) < 1 || conc > MAX_CONCURRENCY ||
        (b.requests = atol(argv[3])) < 1) {
        fprintf(stderr, "usage: bench_admission URL CONCURRENCY(1-%d) REQUESTS BODYFILE\n"
                        "       (BODYFILE: one AdmissionReview per line, sent round robin)\n",
                MAX_CONCURRENCY);
        return 2;
    }
    b.url = argv[1];
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
