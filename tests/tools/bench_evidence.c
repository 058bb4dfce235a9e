/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Load client of tests/bench/bench_scale.sh: makes real evidence for verifier-issued nonces
 * with one vTPM, then posts evidence files to one or more `verifier serve` instances from
 * several threads and reports checks per second and latency.
 *   bench_evidence measure --bundle DIR --runtime PATH
 *       attest-agent measure's JSON, with this binary as the measured agent (for the policy)
 *   bench_evidence make --verifier URL[,URL...] --run-dir DIR --vtpm UUID --bundle DIR
 *                       --runtime PATH --count N --out PREFIX [--node NAME | --host-quote NAME]
 *       registers the host and the vTPM's AK at the first URL, extends the bundle's event log
 *       (the vTPM must be fresh), then N times: GET /v1/nonce (URLs in turn), TPM2_Quote,
 *       evidence to PREFIX00000.cbor, PREFIX00001.cbor, ... (container PREFIX's name + index);
 *       no host part, or with --node the node mode's `node` key, or with --host-quote a host
 *       part quoted by the host TPM over the same nonce (quote mode; NAME is its node, no
 *       UEFI or kmod-vtpm log)
 *   bench_evidence URL[,URL...] CONCURRENCY FILES...
 *       POST /v1/evidence of every file: file k by thread k mod CONCURRENCY, each thread in
 *       file order on one kept-alive connection to URL t mod #URLs; prints one line
 *       "n N allow A deny D error E connects C wall_s W checks_per_s R p50_ms P p99_ms Q
 *       cpu_s U" (U: this process's CPU time while posting);
 *       exit 1 when any answer is not an allow
 * Exit status 2 for a usage error. HTTPS with mutual TLS for both: the environment's
 * BENCH_EVIDENCE_CA (the server's CA), BENCH_EVIDENCE_CERT and BENCH_EVIDENCE_KEY (the client's);
 * BENCH_EVIDENCE_FRESH=1 makes the load client open a new connection (a full TLS handshake) for
 * every post, as a hook process does, instead of keeping one per thread.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "attest.h"
#include "deadline.h"
#include "fileio.h"
#include "hostev.h"
#include "hostreg.h"
#include "http.h"
#include "measure.h"
#include "ocispec.h"
#include "registration.h"
#include "verifierapi.h"
#include "benchutil.h"

#define MAX_URLS      8
#define MAX_THREADS   64
#define MAX_FILES     100000
#define MAX_COUNT     100000
#define RESP_MAX      (64u * 1024)
#define MAKE_TIME_MS  (600 * 1000)  /* the whole `make` run */
#define MGR_TIMEOUT_MS 30000
#define POST_TIMEOUT_MS 30000L

static int die(const char *msg)
{
    fprintf(stderr, "bench_evidence: %s\n", msg);
    return 1;
}

/* Exit status 2: a usage error, apart from 1 (a failure, or an answer that is not allow). */
static int usage(const char *msg)
{
    fprintf(stderr, "bench_evidence: usage: %s\n", msg);
    return 2;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* split_urls: s (modified) at commas into at most MAX_URLS non-empty URLs; count or -1. */
static int split_urls(char *s, const char *urls[MAX_URLS])
{
    int n = 0;

    for (char *save = NULL, *u = strtok_r(s, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
        if (n == MAX_URLS)
            return -1;
        urls[n++] = u;
    }
    return n > 0 ? n : -1;
}

/* --- measure and make: the evidence ---------------------------------------------------------- */

struct make_opts {
    const char *bundle, *runtime, *run_dir, *vtpm, *out;
    const char *node, *host_quote; /* --node, --host-quote: the node's name */
    const char *urls[MAX_URLS];
    int nurls;
    unsigned long count;
};

static int measure_bundle(const struct make_opts *o, struct oci_bundle *b, struct measurement *m)
{
    int r;

    memset(m, 0, sizeof(*m));
    if ((r = oci_bundle_load(o->bundle, b)) < 0)
        return r;
    /* No digest cache: every run hashes the runtime, as `attest-agent measure` does. */
    return measure_collect(b, b->annotations, o->runtime, NULL, NULL, NULL, NULL, m);
}

static int parse_make_opts(int argc, char **argv, struct make_opts *o)
{
    static const struct option lo[] = {
        { "bundle", required_argument, NULL, 'b' }, { "runtime", required_argument, NULL, 'r' },
        { "run-dir", required_argument, NULL, 'd' }, { "vtpm", required_argument, NULL, 'u' },
        { "out", required_argument, NULL, 'o' }, { "verifier", required_argument, NULL, 'v' },
        { "count", required_argument, NULL, 'n' }, { "node", required_argument, NULL, 'N' },
        { "host-quote", required_argument, NULL, 'H' }, { NULL, 0, NULL, 0 }
    };
    char *end;
    int c;

    memset(o, 0, sizeof(*o));
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'b': o->bundle = optarg; break;
        case 'r': o->runtime = optarg; break;
        case 'd': o->run_dir = optarg; break;
        case 'u': o->vtpm = optarg; break;
        case 'o': o->out = optarg; break;
        case 'v': o->nurls = split_urls(optarg, o->urls); break;
        case 'N': o->node = optarg; break;
        case 'H': o->host_quote = optarg; break;
        case 'n':
            errno = 0;
            o->count = strtoul(optarg, &end, 10);
            if (errno || *end || o->count == 0 || o->count > MAX_COUNT)
                return -EINVAL;
            break;
        default: return -EINVAL;
        }
    }
    if ((o->node && !hostev_node_valid(o->node)) ||
        (o->host_quote && !hostev_node_valid(o->host_quote)) || (o->node && o->host_quote))
        return -EINVAL;
    return optind == argc && o->bundle && o->runtime ? 0 : -EINVAL;
}

static int cmd_measure(int argc, char **argv)
{
    struct make_opts o;
    struct oci_bundle b = { 0 };
    struct measurement m;
    json_t *j = NULL;
    int r = parse_make_opts(argc, argv, &o);

    if (r < 0)
        return usage("bench_evidence measure --bundle DIR --runtime PATH");
    r = measure_bundle(&o, &b, &m);
    if (r == 0 && !(j = measure_to_json(&m)))
        r = -ENOMEM;
    if (r == 0 && (json_dumpf(j, stdout, 0) || putchar('\n') == EOF))
        r = -EIO;
    if (r < 0)
        fprintf(stderr, "bench_evidence: measure: %s\n", strerror(-r));
    json_decref(j);
    measure_free(&m);
    oci_bundle_free(&b);
    return r == 0 ? 0 : 1;
}

static int write_file(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wbx"); /* never over an earlier run's file */
    int r = 0;

    if (!f)
        return -errno;
    if (fwrite(data, 1, len, f) != len)
        r = -EIO;
    if (fclose(f) != 0 && r == 0)
        r = -errno;
    return r;
}

/* One evidence: a nonce issued by ho's verifier, a quote over it (and with o->host_quote
 * a host quote over it too), the file k. */
static int make_one(const struct make_opts *o, struct attest *a, const struct http_opts *ho,
                    const char *reg, const char *prefix, unsigned long k)
{
    struct host_opts hopt;
    cbor_item_t *host = NULL;
    char path[PATH_MAX], cid[128], pcopy[PATH_MAX];
    struct evidence e;
    uint8_t *nonce = NULL, *body = NULL;
    size_t nonce_len = 0, len = 0;
    int r = verifier_nonce(ho, &nonce, &nonce_len);

    snprintf(pcopy, sizeof(pcopy), "%s", prefix);
    snprintf(cid, sizeof(cid), "%.64s%05lu", basename(pcopy), k);
    if (snprintf(path, sizeof(path), "%s%05lu.cbor", prefix, k) >= (int)sizeof(path))
        r = r < 0 ? r : -ENAMETOOLONG;
    if (r == 0)
        r = attest_quote(a, cid, nonce, nonce_len, &e);
    e.registration = reg;
    e.node = o->node;
    if (r == 0 && o->host_quote) {
        hostev_opts_defaults(&hopt);
        hopt.uefi_log = NULL;
        hopt.kmod_log = NULL;
        hopt.node = o->host_quote;
        r = hostev_part(&a->mgr, &hopt, nonce, nonce_len, &host);
        e.host = host;
    }
    if (r == 0)
        r = evidence_encode(&e, &body, &len);
    if (host)
        cbor_decref(&host);
    if (r == 0)
        r = write_file(path, body, len);
    free(body);
    free(nonce);
    return r;
}

/* Host and AK registered at the first URL, the event log extended: ready to quote. */
static int make_setup(const struct make_opts *o, struct attest *a, const struct http_opts *ho,
                      char reg[REG_ID_MAX])
{
    struct mgr_client mgr = { .run_dir = o->run_dir, .timeout_ms = MGR_TIMEOUT_MS };
    struct oci_bundle b = { 0 };
    struct measurement m;
    struct evidence e;
    int r = measure_bundle(o, &b, &m);

    if (r == 0)
        r = attest_open(a, &mgr, o->vtpm);
    if (r == 0)
        attest_identity(a, &e);
    if (r == 0)
        r = hostreg_ensure(&a->mgr, &e, ho);
    if (r == 0)
        r = registration_ensure(a, &e, ho, reg);
    if (r == 0)
        r = attest_extend(a, &m);
    measure_free(&m);
    oci_bundle_free(&b);
    return r;
}

static int cmd_make(int argc, char **argv)
{
    struct make_opts o;
    struct attest a = { 0 };
    struct http_opts ho[MAX_URLS];
    char reg[REG_ID_MAX] = "";
    int r = parse_make_opts(argc, argv, &o);

    if (r < 0 || o.nurls < 1 || !o.run_dir || !o.vtpm || !o.out || !o.count)
        return usage("bench_evidence make --verifier URL[,URL...] --run-dir DIR --vtpm UUID "
                   "--bundle DIR --runtime PATH --count N --out PREFIX [--node NAME | --host-quote NAME]");
    if (http_global_init() < 0)
        return die("curl_global_init failed");
    for (int i = 0; i < o.nurls; i++)
        ho[i] = (struct http_opts){ .base_url = o.urls[i], .ca = getenv("BENCH_EVIDENCE_CA"),
                                    .cert = getenv("BENCH_EVIDENCE_CERT"),
                                    .key = getenv("BENCH_EVIDENCE_KEY"),
                                    .deadline = deadline_now_ms() + MAKE_TIME_MS };
    r = make_setup(&o, &a, &ho[0], reg);
    for (unsigned long k = 0; r == 0 && k < o.count; k++)
        r = make_one(&o, &a, &ho[k % (unsigned long)o.nurls], reg, o.out, k);
    if (r < 0)
        fprintf(stderr, "bench_evidence: make (vTPM %s): %s\n", o.vtpm, strerror(-r));
    attest_close(&a);
    http_global_cleanup();
    return r == 0 ? 0 : 1;
}

/* --- the load client ------------------------------------------------------------------------ */

struct body {
    uint8_t *p;
    size_t len;
};

/* The start line: every thread set up (handle, headers) before the clock starts. */
struct start {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ready, go, abort;
};

struct worker {
    pthread_t th;
    struct start *st;
    char url[512];             /* .../v1/evidence */
    const struct body *files;  /* all files; this thread posts index t, t + step, ... */
    size_t nfiles, first, step;
    double *lat_ms;            /* one per request of this thread */
    size_t done, allow, deny, error;
    long connects;
    char resp[RESP_MAX + 1];
    size_t resp_len;
};

static size_t on_resp(char *data, size_t size, size_t n, void *arg)
{
    struct worker *w = arg;
    size_t add = size * n;

    if (add > RESP_MAX - w->resp_len)
        return 0; /* a verdict is small: more is an error (the transfer fails) */
    memcpy(w->resp + w->resp_len, data, add);
    w->resp_len += add;
    w->resp[w->resp_len] = '\0';
    return add;
}

/* The verdict of an answer: 'a' allow, 'd' deny or refused (the verifier wrote nothing: a
 * replay), 'e' anything else. */
static char verdict_of(const struct worker *w, long status)
{
    json_t *j = json_loadb(w->resp, w->resp_len, 0, NULL);
    const char *v = json_string_value(json_object_get(j, "verdict"));
    char r = 'e';

    if (v && !strcmp(v, "allow") && status == 200)
        r = 'a';
    else if (v && (!strcmp(v, "deny") || !strcmp(v, "refused")))
        r = 'd';
    json_decref(j);
    return r;
}

static void count(struct worker *w, CURLcode cc, long status)
{
    char v = cc == CURLE_OK ? verdict_of(w, status) : 'e';
    int first = w->deny + w->error == 0;

    if (v == 'a')
        w->allow++;
    else if (v == 'd')
        w->deny++;
    else
        w->error++;
    if (v != 'a' && first) /* the first failure of each thread says why */
        fprintf(stderr, "bench_evidence: %s: %s %ld %s\n", w->url,
                cc == CURLE_OK ? "HTTP" : curl_easy_strerror(cc), status, w->resp);
}

/* The environment's TLS files (see the top), when set. */
static int setup_tls(CURL *c)
{
    const char *ca = getenv("BENCH_EVIDENCE_CA"), *cert = getenv("BENCH_EVIDENCE_CERT"),
               *key = getenv("BENCH_EVIDENCE_KEY"), *fresh = getenv("BENCH_EVIDENCE_FRESH");
    int ok = (!ca || curl_easy_setopt(c, CURLOPT_CAINFO, ca) == CURLE_OK) &&
             (!cert || curl_easy_setopt(c, CURLOPT_SSLCERT, cert) == CURLE_OK) &&
             (!key || curl_easy_setopt(c, CURLOPT_SSLKEY, key) == CURLE_OK) &&
             (!fresh || strcmp(fresh, "1") ||
              (curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L) == CURLE_OK &&
               curl_easy_setopt(c, CURLOPT_SSL_SESSIONID_CACHE, 0L) == CURLE_OK));

    return ok ? 0 : -EINVAL;
}

static int setup_handle(CURL *c, struct worker *w, struct curl_slist *hdr)
{
    int ok = setup_tls(c) == 0 && curl_easy_setopt(c, CURLOPT_URL, w->url) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, POST_TIMEOUT_MS) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_resp) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_WRITEDATA, w) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_POST, 1L) == CURLE_OK;

    return ok ? 0 : -EINVAL;
}

static void post_one(CURL *c, struct worker *w, const struct body *b)
{
    long status = 0, connects = 0;
    double t0 = now_s();
    CURLcode cc;

    w->resp_len = 0;
    w->resp[0] = '\0';
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->len); /* binary: no strlen */
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, b->p);
    cc = curl_easy_perform(c);
    w->lat_ms[w->done++] = (now_s() - t0) * 1e3;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects); /* 0 when the connection was kept */
    w->connects += connects;
    count(w, cc, status);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    /* Without "Expect:" libcurl waits for a 100 Continue before bodies over 1 KiB. */
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/cbor");
    struct curl_slist *h2 = hdr ? curl_slist_append(hdr, "Expect:") : NULL;
    CURL *c = curl_easy_init();
    int bad = !h2 || !c || setup_handle(c, w, h2) < 0;

    pthread_mutex_lock(&w->st->mu);
    w->st->ready++;
    pthread_cond_broadcast(&w->st->cv);
    while (!w->st->go)
        pthread_cond_wait(&w->st->cv, &w->st->mu);
    bad |= w->st->abort;
    pthread_mutex_unlock(&w->st->mu);
    for (size_t k = w->first; !bad && k < w->nfiles; k += w->step)
        post_one(c, w, &w->files[k]);
    if (bad)
        w->error++;
    curl_easy_cleanup(c);
    curl_slist_free_all(h2 ? h2 : hdr);
    return NULL;
}

struct load {
    struct body *files;
    size_t nfiles;
    const char *urls[MAX_URLS];
    int nurls, threads;
    struct worker *w;
    double wall_s, cpu_s;
};

/* CPU time (user + system) of this process so far. */
static double cpu_now_s(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) < 0)
        return 0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int read_files(struct load *l, char **paths)
{
    l->files = calloc(l->nfiles, sizeof(*l->files));
    if (!l->files)
        return -ENOMEM;
    for (size_t i = 0; i < l->nfiles; i++) {
        int r = file_read_all_flags(AT_FDCWD, paths[i], 0, EVIDENCE_MAX_SIZE, &l->files[i].p,
                                    &l->files[i].len);
        if (r < 0) {
            fprintf(stderr, "bench_evidence: %s: %s\n", paths[i], strerror(-r));
            return r;
        }
    }
    return 0;
}

static int init_workers(struct load *l, struct start *st)
{
    l->w = calloc((size_t)l->threads, sizeof(*l->w));
    if (!l->w)
        return -ENOMEM;
    for (int t = 0; t < l->threads; t++) {
        struct worker *w = &l->w[t];

        w->st = st;
        w->files = l->files;
        w->nfiles = l->nfiles;
        w->first = (size_t)t;
        w->step = (size_t)l->threads;
        if (snprintf(w->url, sizeof(w->url), "%s/v1/evidence", l->urls[t % l->nurls]) >=
                (int)sizeof(w->url) ||
            !(w->lat_ms = calloc(l->nfiles / (size_t)l->threads + 1, sizeof(double))))
            return -ENOMEM;
    }
    return 0;
}

/* Starts the threads, releases them together once all are ready, waits for all; wall_s. */
static int run_workers(struct load *l, struct start *st)
{
    int started = 0, r = 0;
    double t0, c0 = cpu_now_s();

    while (started < l->threads &&
           pthread_create(&l->w[started].th, NULL, worker_main, &l->w[started]) == 0)
        started++;
    pthread_mutex_lock(&st->mu);
    while (st->ready < started)
        pthread_cond_wait(&st->cv, &st->mu);
    st->abort = started < l->threads; /* the started ones then post nothing */
    st->go = 1;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
    t0 = now_s();
    for (int t = 0; t < started; t++)
        r |= pthread_join(l->w[t].th, NULL);
    l->wall_s = now_s() - t0;
    l->cpu_s = cpu_now_s() - c0;
    if (started < l->threads)
        return die("pthread_create failed") ? -EAGAIN : 0;
    return r ? -EIO : 0;
}

static int report(const struct load *l)
{
    size_t n = 0, allow = 0, deny = 0, error = 0;
    long connects = 0;
    double *all = calloc(l->nfiles + 1, sizeof(double));

    if (!all)
        return -ENOMEM;
    for (int t = 0; t < l->threads; t++) {
        const struct worker *w = &l->w[t];

        memcpy(all + n, w->lat_ms, w->done * sizeof(double));
        n += w->done;
        allow += w->allow, deny += w->deny, error += w->error, connects += w->connects;
    }
    qsort(all, n, sizeof(double), cmp_double);
    printf("n %zu allow %zu deny %zu error %zu connects %ld wall_s %.4f checks_per_s %.1f "
           "p50_ms %.2f p99_ms %.2f cpu_s %.4f\n", n, allow, deny, error, connects, l->wall_s,
           l->wall_s > 0 ? (double)n / l->wall_s : 0.0, quantile(all, n, 0.5),
           quantile(all, n, 0.99), l->cpu_s);
    free(all);
    return deny || error || allow != l->nfiles ? 1 : 0;
}

static void load_free(struct load *l)
{
    for (size_t i = 0; l->files && i < l->nfiles; i++)
        free(l->files[i].p);
    for (int t = 0; l->w && t < l->threads; t++)
        free(l->w[t].lat_ms);
    free(l->files);
    free(l->w);
}

static int cmd_load(int argc, char **argv)
{
    struct load l = { 0 };
    struct start st = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
    char *end;
    int r;

    errno = 0;
    l.threads = (int)strtol(argv[2], &end, 10);
    l.nurls = split_urls(argv[1], l.urls);
    l.nfiles = (size_t)(argc - 3);
    if (errno || *end || l.threads < 1 || l.threads > MAX_THREADS || l.nurls < 1 ||
        l.nfiles < (size_t)l.threads || l.nfiles > MAX_FILES)
        return usage("bench_evidence URL[,URL...] CONCURRENCY(1-64) FILES... "
                   "(at least CONCURRENCY files)");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return die("curl_global_init failed");
    r = read_files(&l, argv + 3);
    if (r == 0)
        r = init_workers(&l, &st);
    if (r == 0)
        r = run_workers(&l, &st);
    r = r < 0 ? 1 : report(&l);
    load_free(&l);
    curl_global_cleanup();
    return r;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "measure"))
        return cmd_measure(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "make"))
        return cmd_make(argc - 1, argv + 1);
    if (argc >= 4)
        return cmd_load(argc, argv);
    return usage("bench_evidence measure ... | make ... | URL[,URL...] CONCURRENCY FILES...");
}
