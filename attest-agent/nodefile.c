/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The node-freshness record of one-shot hooks: <cache-dir>/node-<SHA-256(node NUL URL)>, a
 * JSON object replaced whole by rename(), read without a lock; the refresh runs under an
 * exclusive flock() of node-<...>.lock, so that concurrent hooks wait for one refresh and take
 * its result instead of each quoting the host. Times are CLOCK_BOOTTIME values, valid within
 * the boot that wrote them (the file names its boot id).
 */
#include "noderec.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cachedir.h"
#include "fileio.h"
#include "log.h"

#define BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"
#define BOOT_ID_LEN  36
#define POLL_MS      5      /* a waiting hook looks at the record this often */

struct nodefile {
    int dfd, lfd;
    char name[80], lock[96];
    const char *node, *url;
    char boot[BOOT_ID_LEN + 1];
};

static int boot_id(char out[BOOT_ID_LEN + 1])
{
    uint8_t *b = NULL;
    size_t n = 0;
    int r = file_read_stream(BOOT_ID_PATH, 64, &b, &n); /* procfs: st_size is 0 */

    if (r == 0 && n >= BOOT_ID_LEN) {
        memcpy(out, b, BOOT_ID_LEN);
        out[BOOT_ID_LEN] = '\0';
    } else if (r == 0) {
        r = -EINVAL;
    }
    free(b);
    return r;
}

/* The record's text: at most NODEREC_FILE_MAX bytes of a private regular file; NULL else. */
static json_t *load_json(const struct nodefile *f)
{
    int fd = openat(f->dfd, f->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    char buf[NODEREC_FILE_MAX + 1];
    json_t *j = NULL;
    ssize_t n = -1;

    if (fd < 0)
        return NULL;
    if (cachedir_private(fd, S_IFREG))
        n = read(fd, buf, sizeof(buf));
    close(fd);
    if (n > 0 && n <= NODEREC_FILE_MAX)
        j = json_loadb(buf, (size_t)n, 0, NULL);
    return j;
}

/* The record's state; all zero when absent, from another boot, node or verifier, not private
 * or malformed (a refresh replaces it). */
static void load(const struct nodefile *f, struct noderec_state *st)
{
    json_t *j = load_json(f);
    json_int_t fresh = 0, done = 0, rc = 0;
    const char *boot = NULL, *node = NULL, *url = NULL;
    int v = 0;

    memset(st, 0, sizeof(*st));
    if (j && json_unpack(j, "{s:i, s:s, s:s, s:s, s:I, s:I, s:I}", "v", &v, "boot_id", &boot,
                         "node", &node, "verifier", &url, "fresh_ms", &fresh, "done_ns", &done,
                         "rc", &rc) == 0 &&
        v == 1 && !strcmp(boot, f->boot) && !strcmp(node, f->node) && !strcmp(url, f->url) &&
        fresh >= 0 && done > 0 && rc <= 0 && rc >= -4095) {
        st->fresh_ms = fresh;
        st->done_ns = done;
        st->rc = (int)rc;
    }
    json_decref(j);
}

static void save(const struct nodefile *f, const struct noderec_state *st)
{
    json_t *j = json_pack("{s:i, s:s, s:s, s:s, s:I, s:I, s:I}", "v", 1, "boot_id", f->boot,
                          "node", f->node, "verifier", f->url, "fresh_ms",
                          (json_int_t)st->fresh_ms, "done_ns", (json_int_t)st->done_ns, "rc",
                          (json_int_t)st->rc);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    int r = text ? cachedir_store(f->dfd, f->name, text, strlen(text)) : -ENOMEM;

    if (r < 0)
        LOG_WARN("node record %s: not written: %s", f->name, strerror(-r));
    free(text);
    json_decref(j);
}

static void nodefile_close(struct nodefile *f)
{
    if (f->lfd >= 0)
        close(f->lfd);
    if (f->dfd >= 0)
        close(f->dfd);
    f->lfd = f->dfd = -1;
}

/* The directory, the names and the lock file: -1 when the record cannot be shared. */
static int nodefile_open(struct nodefile *f, const char *dir, const char *node, const char *url)
{
    uint8_t key[DIGEST_LEN];
    char hex[2 * DIGEST_LEN + 1];

    memset(f, 0, sizeof(*f));
    f->dfd = f->lfd = -1;
    f->node = node;
    f->url = url;
    if (!dir || noderec_key(node, url, key) < 0)
        return -1;
    if (boot_id(f->boot) < 0) {
        LOG_WARN("%s: not readable; node records not shared", BOOT_ID_PATH);
        return -1;
    }
    for (size_t i = 0; i < DIGEST_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", key[i]);
    snprintf(f->name, sizeof(f->name), "node-%s", hex);
    snprintf(f->lock, sizeof(f->lock), "node-%s.lock", hex);
    if ((f->dfd = cachedir_open(dir, "node record cache")) < 0)
        return -1;
    f->lfd = openat(f->dfd, f->lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (f->lfd < 0 || !cachedir_private(f->lfd, S_IFREG)) {
        LOG_WARN("node record lock %s/%s: not usable; not shared", dir, f->lock);
        nodefile_close(f);
        return -1;
    }
    return 0;
}

static int run_refresh(noderec_refresh_fn fn, void *arg, struct noderec_state *st)
{
    struct node_answer a = { 0 };
    int64_t sent = noderec_now_ms();

    st->rc = fn(arg, &a);
    st->fresh_ms = st->rc == 0 ? noderec_expiry(&a, sent, time(NULL)) : 0;
    st->done_ns = noderec_now_ns();
    return st->rc;
}

static int use_of(const struct noderec_state *st, struct noderec_use *u)
{
    u->token = st->done_ns;
    u->fresh_ms = st->fresh_ms;
    return st->rc;
}

/* Under the lock: the record again (a refresh may have ended meanwhile), else a refresh. */
static int locked_step(struct nodefile *f, int64_t need_ms, int64_t since, noderec_refresh_fn fn,
                       void *arg, struct noderec_use *u)
{
    struct noderec_state st;
    enum noderec_action act;

    load(f, &st);
    act = noderec_decide(&st, need_ms, since);
    if (act != NODEREC_REFRESH) {
        u->shared = st.done_ns > since;
        return use_of(&st, u);
    }
    u->refreshed = 1;
    (void)run_refresh(fn, arg, &st);
    save(f, &st);
    return use_of(&st, u);
}

static void nap(void)
{
    struct timespec ts = { 0, POLL_MS * 1000000L };

    nanosleep(&ts, NULL);
}

int nodefile_ensure(const char *dir, const char *node, const char *url, int64_t need_ms,
                    int64_t deadline_ms, noderec_refresh_fn fn, void *arg,
                    struct noderec_use *u)
{
    int64_t since = noderec_now_ns();
    struct noderec_state st;
    struct nodefile f;
    int rc;

    memset(u, 0, sizeof(*u));
    if (nodefile_open(&f, dir, node, url) < 0) {
        if (!fn)
            return -ESTALE;
        u->refreshed = 1;
        rc = run_refresh(fn, arg, &st);
        use_of(&st, u);
        return rc;
    }
    for (;;) {
        load(&f, &st);
        if (noderec_decide(&st, need_ms, since) != NODEREC_REFRESH) {
            u->shared = st.done_ns > since;
            rc = use_of(&st, u);
            break;
        }
        if (!fn) { /* a look only */
            rc = -ESTALE;
            break;
        }
        if (flock(f.lfd, LOCK_EX | LOCK_NB) == 0) {
            rc = locked_step(&f, need_ms, since, fn, arg, u);
            (void)flock(f.lfd, LOCK_UN);
            break;
        }
        if (errno != EWOULDBLOCK && errno != EINTR) {
            rc = -errno;
            break;
        }
        if (noderec_now_ms() >= deadline_ms) {
            rc = -ETIMEDOUT;
            break;
        }
        nap(); /* another hook refreshes: its result is ours */
    }
    nodefile_close(&f);
    return rc;
}

void nodefile_drop(const char *dir, const char *node, const char *url, int64_t token)
{
    struct noderec_state st;
    struct nodefile f;

    if (nodefile_open(&f, dir, node, url) < 0)
        return;
    if (flock(f.lfd, LOCK_EX | LOCK_NB) == 0) {
        load(&f, &st);
        if (st.done_ns == token)
            (void)unlinkat(f.dfd, f.name, 0);
        (void)flock(f.lfd, LOCK_UN);
    }
    nodefile_close(&f);
}
