/* SPDX-License-Identifier: BSD-3-Clause */
/* Test tool: writes node and container verdicts into a verifier database through the store API,
 * standing in for host and container evidence in scheduler tests and benchmarks. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../verifier/store/store.h"
#include "../../verifier/store/store_policy.h"
#include "fileio.h"

static void usage(void)
{
    fprintf(stderr,
        "usage: verifier_seed DBURL node NAME VERDICT REASONS_JSON TIME DUE [HOST_SUBJECT]\n"
        "       verifier_seed DBURL nodes PREFIX COUNT TIME DUE   (PREFIX-0 .. allowed)\n"
        "       verifier_seed DBURL container ID VTPM_UUID NODE VERDICT REASONS_JSON TIME DUE\n"
        "       verifier_seed DBURL policies PREFIX COUNT SELECTOR_JSON POLICY_FILE\n"
        "                     (PREFIX-0 ..: per-workload policies; %%d in SELECTOR_JSON is i)\n");
}

static int num(const char *s, long long *out)
{
    char *end;

    errno = 0;
    *out = strtoll(s, &end, 10);
    return s[0] && !*end && !errno ? 0 : -1;
}

static int node_cmd(struct store *st, int argc, char **argv)
{
    long long t, due;

    if ((argc != 5 && argc != 6) || num(argv[3], &t) < 0 || num(argv[4], &due) < 0)
        return -EINVAL;
    return store_node_put(st, argv[0], argc == 6 ? argv[5] : "host:seeded", argv[1], argv[2], t,
                          due);
}

static int nodes_cmd(struct store *st, int argc, char **argv)
{
    long long count, t, due;
    char name[128];
    int r = 0;

    if (argc != 4 || num(argv[1], &count) < 0 || num(argv[2], &t) < 0 || num(argv[3], &due) < 0)
        return -EINVAL;
    for (long long i = 0; i < count && r == 0; i++) {
        snprintf(name, sizeof(name), "%.100s-%lld", argv[0], i);
        r = store_node_put(st, name, "host:seeded", "allow", "[]", t, due);
    }
    return r;
}

static int container_cmd(struct store *st, int argc, char **argv)
{
    long long t, due;

    if (argc != 7 || num(argv[5], &t) < 0 || num(argv[6], &due) < 0)
        return -EINVAL;
    return store_verdict_put(st, argv[0], argv[1], argv[2], argv[3], argv[4], t, due, NULL);
}

/* COUNT per-workload policies PREFIX-i with selector SELECTOR (a printf format of i) and the
 * policy of POLICY_FILE (as written: the tool does not validate it). */
static int policies_cmd(struct store *st, int argc, char **argv)
{
    long long count;
    char name[128], sel[512];
    const char *pct;
    uint8_t *body = NULL;
    size_t len = 0;
    int64_t v;
    int r;

    if (argc != 4 || num(argv[1], &count) < 0)
        return -EINVAL;
    if ((r = file_read_all(AT_FDCWD, argv[3], 1u << 20, &body, &len)) < 0)
        return r;
    for (long long i = 0; i < count && r == 0; i++) {
        snprintf(name, sizeof(name), "%.100s-%lld", argv[0], i);
        pct = strstr(argv[2], "%d");
        if (pct)
            snprintf(sel, sizeof(sel), "%.*s%lld%s", (int)(pct - argv[2]), argv[2], i, pct + 2);
        else
            snprintf(sel, sizeof(sel), "%s", argv[2]);
        r = store_policy_put(st, name, sel, (const char *)body, "seed", 0, &v);
    }
    free(body);
    return r;
}

int main(int argc, char **argv)
{
    struct store *st = NULL;
    int r = -EINVAL;

    if (argc < 3) {
        usage();
        return 2;
    }
    if ((r = store_open_url(argv[1], &st)) < 0) {
        fprintf(stderr, "verifier_seed: cannot open %s: %s\n", argv[1], strerror(-r));
        return 1;
    }
    if (!strcmp(argv[2], "node"))
        r = node_cmd(st, argc - 3, argv + 3);
    else if (!strcmp(argv[2], "nodes"))
        r = nodes_cmd(st, argc - 3, argv + 3);
    else if (!strcmp(argv[2], "container"))
        r = container_cmd(st, argc - 3, argv + 3);
    else if (!strcmp(argv[2], "policies"))
        r = policies_cmd(st, argc - 3, argv + 3);
    else
        r = -EINVAL;
    store_close(st);
    if (r == -EINVAL)
        usage();
    else if (r < 0)
        fprintf(stderr, "verifier_seed: %s\n", strerror(-r));
    return r == 0 ? 0 : r == -EINVAL ? 2 : 1;
}
