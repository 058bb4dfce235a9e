/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the worker records and rendezvous check a restarted vtpm-mgr adopts workers by. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "fileio.h"
#include "vtpm_ipc.h"
#include "workerpool.h"

#define TOKEN "0123456789abcdef"

static char dir[] = "/tmp/test_workerrec.XXXXXX";
static struct mgr_config cfg;
static struct pool pool;
static const uint8_t ua[16] = { 0xaa, 1 }, ub[16] = { 0xbb, 2 };

static int setup(void **state)
{
    char path[PATH_MAX];

    (void)state;
    if (!mkdtemp(dir))
        return -1;
    snprintf(cfg.run_dir, sizeof(cfg.run_dir), "%s", dir);
    snprintf(path, sizeof(path), "%s/workers", dir);
    if (mkdir(path, 0700) != 0)
        return -1;
    pool.cfg = &cfg;
    pool.wdir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return pool.wdir_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    close(pool.wdir_fd);
    return dir_remove_tree(AT_FDCWD, dir) == 0 ? 0 : -1;
}

static struct worker *fake_worker(void)
{
    struct worker *w = calloc(1, sizeof(*w));

    assert_non_null(w);
    w->pid = 4242;
    w->pidfd = -1;
    snprintf(w->tenant, sizeof(w->tenant), "team-a");
    snprintf(w->token, sizeof(w->token), TOKEN);
    w->owner_uid = 1234;
    return w;
}

static void free_worker(struct worker *w)
{
    free(w->uuids);
    free(w);
}

static void test_record_follows_assignments(void **state)
{
    struct worker *w = fake_worker();
    struct pool_record rec;

    (void)state;
    assert_int_equal(pool_write_record(&pool, w), 0);
    assert_int_equal(pool_read_record(&pool, TOKEN, &rec), 0);
    assert_int_equal(rec.pid, 4242);
    assert_int_equal(rec.n, 0);
    assert_int_equal(rec.ipc_version, VTPM_IPC_VERSION);
    assert_string_equal(rec.tenant, "team-a");
    assert_int_equal(rec.owner_uid, 1234); /* pool_pick's key survives adoption */
    assert_int_equal(pool_assign(&pool, w, ua), 0);
    assert_int_equal(pool_assign(&pool, w, ub), 0);
    assert_int_equal(pool_assign(&pool, w, ua), 0); /* once only */
    assert_int_equal(w->ninst, 2);
    assert_int_equal(pool_read_record(&pool, TOKEN, &rec), 0);
    assert_int_equal(rec.n, 2);
    assert_memory_equal(rec.uuids[0], ua, 16);
    assert_memory_equal(rec.uuids[1], ub, 16);
    free(rec.uuids);
    pool_unassign(&pool, w, ua);
    assert_int_equal(pool_read_record(&pool, TOKEN, &rec), 0);
    assert_int_equal(rec.n, 1);
    assert_memory_equal(rec.uuids[0], ub, 16);
    free(rec.uuids);
    pool_forget_files(&pool, TOKEN);
    assert_int_equal(pool_read_record(&pool, TOKEN, &rec), -ENOENT);
    free_worker(w);
}

/* Rewrites the record with byte off set to val, cut to len bytes if len is not 0. */
static void corrupt(size_t len, size_t off, uint8_t val)
{
    uint8_t *b;
    size_t n;

    assert_int_equal(file_read_all(pool.wdir_fd, TOKEN ".rec", 1 << 20, &b, &n), 0);
    if (off < n)
        b[off] = val;
    assert_int_equal(file_write_atomic(pool.wdir_fd, TOKEN ".rec", b, len ? len : n, 0600), 0);
    free(b);
}

static void test_malformed_records(void **state)
{
    struct worker *w = fake_worker();
    struct pool_record rec;
    size_t full;

    (void)state;
    assert_int_equal(pool_assign(&pool, w, ua), 0);
    assert_int_equal(pool_read_record(&pool, TOKEN, &rec), 0);
    free(rec.uuids);
    full = 24 + MGR_NAME_MAX + 16;
    corrupt(full - 1, full, 0); /* truncated */
    assert_int_equal(pool_read_record(&pool, TOKEN, &rec), -EBADMSG);
    pool_write_record(&pool, w);
    corrupt(0, 0, 'X'); /* magic */
    assert_int_equal(pool_read_record(&pool, TOKEN, &rec), -EBADMSG);
    pool_write_record(&pool, w);
    corrupt(0, 12, 2); /* count says 2, one uuid there */
    assert_int_equal(pool_read_record(&pool, TOKEN, &rec), -EBADMSG);
    pool_write_record(&pool, w);
    corrupt(0, 8, 1); /* pid 1: never a worker of ours */
    corrupt(0, 9, 0);
    assert_int_equal(pool_read_record(&pool, TOKEN, &rec), -EBADMSG);
    pool_write_record(&pool, w);
    for (size_t i = 24; i < 24 + MGR_NAME_MAX; i++) /* tenant without its NUL */
        corrupt(0, i, 'a');
    assert_int_equal(pool_read_record(&pool, TOKEN, &rec), -EBADMSG);
    pool_forget_files(&pool, TOKEN);
    free_worker(w);
}

static int listen_at_token(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/workers/" TOKEN ".sock", dir);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 4), 0);
    return fd;
}

/* Only the recorded pid listening on the rendezvous socket is adopted. */
static void test_adopt_checks_the_listener(void **state)
{
    struct pool_record rec = { .pid = getpid() + 1, .ipc_version = VTPM_IPC_VERSION };
    struct worker *w = NULL;
    int lfd;

    (void)state;
    snprintf(rec.tenant, sizeof(rec.tenant), "team-a");
    assert_int_equal(pool_adopt(&pool, TOKEN, &rec, &w), -ENOENT); /* no socket at all */
    lfd = listen_at_token();
    assert_int_equal(pool_adopt(&pool, TOKEN, &rec, &w), -EPERM); /* someone else listens */
    assert_null(pool.head);
    rec.pid = getpid();
    assert_int_equal(pool_adopt(&pool, TOKEN, &rec, &w), 0);
    assert_ptr_equal(pool.head, w);
    assert_true(w->adopted);
    assert_int_equal(w->pid, getpid());
    assert_string_equal(w->token, TOKEN);
    assert_int_equal(w->ninst, 0);
    pool.head = NULL;
    close(w->fd);
    if (w->pidfd >= 0)
        close(w->pidfd);
    free_worker(w);
    close(lfd);
    assert_int_equal(pool_adopt(&pool, TOKEN, &rec, &w), -ECONNREFUSED); /* the worker is gone */
    pool_forget_files(&pool, TOKEN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_follows_assignments),
        cmocka_unit_test(test_malformed_records),
        cmocka_unit_test(test_adopt_checks_the_listener),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
