/* SPDX-License-Identifier: BSD-3-Clause */
/* JSON configuration files (jansson) expanded into command-line options ahead of argv's. */
#include "cfgfile.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct vec {
    char **v;
    int n, cap;
};

static int push(struct vec *a, char *s)
{
    if (!s)
        return -1;
    if (a->n + 1 >= a->cap) {
        int cap = a->cap ? a->cap * 2 : 16;
        char **v = realloc(a->v, (size_t)cap * sizeof(*v));
        if (!v) {
            free(s);
            return -1;
        }
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
    return 0;
}

static const struct option *find_opt(const struct option *opts, const char *name)
{
    for (; opts->name; opts++)
        if (!strcmp(opts->name, name))
            return opts;
    return NULL;
}

/* One scalar as "--key=VALUE"; NULL (and *why) when it is not a string or number. */
static char *scalar(const char *key, const json_t *v, const char **why)
{
    char *s = NULL;
    int r = -1;

    if (json_is_string(v))
        r = asprintf(&s, "--%s=%s", key, json_string_value(v));
    else if (json_is_integer(v))
        r = asprintf(&s, "--%s=%lld", key, (long long)json_integer_value(v));
    else if (json_is_real(v))
        r = asprintf(&s, "--%s=%g", key, json_real_value(v));
    else
        *why = "a string, a number or an array of them is expected";
    return r < 0 ? NULL : s;
}

static int bad(const char *prog, const char *file, const char *key, const char *why)
{
    fprintf(stderr, "%s: config file %s: key \"%s\": %s\n", prog, file, key, why);
    return -1;
}

static int add_key(const char *prog, const char *file, const struct option *o, const char *key,
                   const json_t *v, struct vec *a)
{
    const char *why = "out of memory";
    char *s;
    size_t i;
    json_t *e;

    if (o->has_arg == no_argument) {
        if (!json_is_boolean(v))
            return bad(prog, file, key, "a flag: true or false is expected");
        if (json_is_true(v) && asprintf(&s, "--%s", key) >= 0)
            return push(a, s) < 0 ? bad(prog, file, key, why) : 0;
        return json_is_true(v) ? bad(prog, file, key, why) : 0;
    }
    if (json_is_array(v)) {
        if (json_array_size(v) == 0)
            return bad(prog, file, key, "an empty array");
        json_array_foreach(v, i, e) {
            if (!(s = scalar(key, e, &why)) || push(a, s) < 0)
                return bad(prog, file, key, why);
        }
        return 0;
    }
    if (!(s = scalar(key, v, &why)) || push(a, s) < 0)
        return bad(prog, file, key, why);
    return 0;
}

/* The value of --config among argv[keep..] (NULL: none), and at *skip the indices of its
 * words; argv itself is left as it is (a caller may exec itself with it). -1 in *err when
 * the value is missing. */
static const char *find_config(int keep, int argc, char **argv, int *skip, int *err)
{
    const char *file = NULL;

    *err = 0;
    skip[0] = skip[1] = -1;
    for (int i = keep; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            break;
        if (!strcmp(argv[i], "--config")) {
            if (i + 1 >= argc) {
                *err = -1;
                return NULL;
            }
            file = argv[i + 1];
            skip[0] = i;
            skip[1] = ++i;
        } else if (!strncmp(argv[i], "--config=", 9)) {
            file = argv[i] + 9;
            skip[0] = i;
            skip[1] = -1;
        }
    }
    return file;
}

int cfgfile_expand(const char *prog, const char *name, const struct option *opts, int keep,
                   int *argcp, char ***argvp)
{
    char deflt[PATH_MAX];
    const char *file, *key;
    struct vec a = { 0 };
    json_error_t je;
    json_t *root, *v;
    int err, i, skip[2];

    file = find_config(keep, *argcp, *argvp, skip, &err);
    if (err) {
        fprintf(stderr, "%s: --config needs a FILE\n", prog);
        return -1;
    }
    if (!file) {
        snprintf(deflt, sizeof(deflt), CFGFILE_DIR "/%s.json", name);
        if (access(deflt, F_OK) != 0)
            return 0;
        file = deflt;
    }
    if (!(root = json_load_file(file, JSON_REJECT_DUPLICATES, &je))) {
        if (je.line > 0)
            fprintf(stderr, "%s: config file %s: %s (line %d)\n", prog, file, je.text, je.line);
        else
            fprintf(stderr, "%s: config file %s: %s\n", prog, file, je.text);
        return -1;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        fprintf(stderr, "%s: config file %s: not a JSON object\n", prog, file);
        return -1;
    }
    for (i = 0; i < keep && i < *argcp; i++)
        if (push(&a, strdup((*argvp)[i])) < 0)
            goto fail;
    json_object_foreach(root, key, v) {
        const struct option *o = find_opt(opts, key);
        if (!o || !strcmp(key, "help") || !strcmp(key, "config")) {
            bad(prog, file, key, "not an option of this command");
            goto fail;
        }
        if (add_key(prog, file, o, key, v, &a) < 0)
            goto fail;
    }
    for (i = keep; i < *argcp; i++)
        if (i != skip[0] && i != skip[1] && push(&a, strdup((*argvp)[i])) < 0)
            goto fail;
    json_decref(root);
    *argcp = a.n;
    *argvp = a.v;
    return 0;
fail:
    json_decref(root);
    for (i = 0; i < a.n; i++)
        free(a.v[i]);
    free(a.v);
    return -1;
}
