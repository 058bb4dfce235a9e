/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Exec latency inside a container (bench_runtime.sh; linked statically and copied into the
 * container's rootfs, so it is a file of the measured image):
 *   execbench run N        N x (fork, execve of this binary as "child", waitpid), each timed;
 *                          prints "n median_us p99_us execs_per_s"
 *   execbench rate R S     execs paced at R per second for S seconds; prints "n seconds"
 *   execbench child        exits 0 at once
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int one_exec(void)
{
    char *argv[] = { "execbench", "child", NULL };
    int st;
    pid_t p = fork();

    if (p < 0)
        return -1;
    if (p == 0) {
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    return 0;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

static int run(long n)
{
    int64_t *lat = calloc((size_t)n, sizeof(*lat)), t0 = now_ns(), total;

    if (!lat || n < 1)
        return 1;
    for (long i = 0; i < n; i++) {
        int64_t s = now_ns();

        if (one_exec() < 0) {
            fprintf(stderr, "execbench: exec %ld failed\n", i);
            return 1;
        }
        lat[i] = now_ns() - s;
    }
    total = now_ns() - t0;
    qsort(lat, (size_t)n, sizeof(*lat), cmp64);
    printf("%ld %.1f %.1f %.0f\n", n, lat[n / 2] / 1000.0, lat[(n * 99) / 100] / 1000.0,
           n / (total / 1e9));
    free(lat);
    return 0;
}

static int rate(long r, long s)
{
    int64_t t0 = now_ns(), step = 1000000000 / r, next = t0;
    long n = 0;

    while (now_ns() - t0 < s * 1000000000LL) {
        int64_t wait = next - now_ns();

        if (wait > 0) {
            struct timespec ts = { wait / 1000000000, wait % 1000000000 };
            nanosleep(&ts, NULL);
        }
        if (one_exec() < 0)
            return 1;
        n++;
        next += step;
    }
    printf("%ld %.2f\n", n, (now_ns() - t0) / 1e9);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "child"))
        return 0;
    if (argc == 3 && !strcmp(argv[1], "run"))
        return run(strtol(argv[2], NULL, 10));
    if (argc == 4 && !strcmp(argv[1], "rate"))
        return rate(strtol(argv[2], NULL, 10), strtol(argv[3], NULL, 10));
    fprintf(stderr, "usage: execbench run N | rate R S | child\n");
    return 2;
}
