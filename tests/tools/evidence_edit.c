/* SPDX-License-Identifier: BSD-3-Clause */
/* Test tool: reads, replaces or deletes one byte-string key of an evidence file (top map, or
 * one map below it such as "host" or "host_chain"), so that tests can build tampered evidence
 * and hand quote parts to tpm2-tools without a CBOR module in python3. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "fileio.h"

#define EDIT_MAX (16u * 1024u * 1024u)

/* A key path: "KEY" or "MAP.KEY" (split at the first dot: host_chain keys contain dots). */
struct kpath {
    char outer[CTL_MAX_KEY + 1];
    const char *key; /* the last component, into the argument */
    int nested;
};

static void usage(void)
{
    fprintf(stderr,
            "usage: evidence_edit get EVIDENCE [MAP.]KEY OUT      (a byte string to OUT)\n"
            "       evidence_edit set EVIDENCE [MAP.]KEY FILE OUT (replace it with FILE's bytes)\n"
            "       evidence_edit delete EVIDENCE [MAP.]KEY OUT\n"
            "KEY must exist and hold a byte string; MAP is a map key of the top map (e.g. host).\n");
}

static int kpath_parse(const char *s, struct kpath *p)
{
    const char *dot = strchr(s, '.');
    size_t n = dot ? (size_t)(dot - s) : 0;

    memset(p, 0, sizeof(*p));
    p->key = dot ? dot + 1 : s;
    p->nested = dot != NULL;
    if ((dot && (n == 0 || n > CTL_MAX_KEY)) || !*p->key || strlen(p->key) > CTL_MAX_KEY) {
        fprintf(stderr, "evidence_edit: bad key path \"%s\"\n", s);
        return -EINVAL;
    }
    memcpy(p->outer, s, n);
    return 0;
}

static int read_map(const char *path, cbor_item_t **out)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int r = file_read_all_flags(AT_FDCWD, path, 0, EDIT_MAX, &buf, &len);

    if (r == 0 && (r = ctl_decode(buf, len, out)) < 0)
        fprintf(stderr, "evidence_edit: %s is not one CBOR map with text keys\n", path);
    else if (r < 0)
        fprintf(stderr, "evidence_edit: cannot read %s: %s\n", path, strerror(-r));
    free(buf);
    return r;
}

static int write_file(const char *path, const uint8_t *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(p, 1, len, f) == len;

    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok)
        fprintf(stderr, "evidence_edit: cannot write %s\n", path);
    return ok ? 0 : -EIO;
}

/* The map that holds the key: the top map, or its map-valued p->outer. */
static cbor_item_t *holder(const cbor_item_t *root, const struct kpath *p)
{
    cbor_item_t *m = p->nested ? ctl_get(root, p->outer) : (cbor_item_t *)root;

    if (!m || !cbor_isa_map(m) || !cbor_map_is_definite(m)) {
        fprintf(stderr, "evidence_edit: no map \"%s\"\n", p->outer);
        return NULL;
    }
    return m;
}

/* The key must be there as a byte string: a typo must not give unchanged "tampered" evidence. */
static int check_key(const cbor_item_t *m, const char *key)
{
    const uint8_t *b;
    size_t n;

    if (ctl_get_bytes(m, key, &b, &n) == 0)
        return 0;
    fprintf(stderr, "evidence_edit: no byte string \"%s\"\n", key);
    return -ENOENT;
}

static int key_is(const cbor_item_t *k, const char *key)
{
    size_t n = strlen(key);

    return cbor_isa_string(k) && cbor_string_length(k) == n &&
           memcmp(cbor_string_handle(k), key, n) == 0;
}

/* A copy of m with key's value replaced by v in its place (v NULL: the pair left out), so that
 * setting the same bytes gives the same file; pairs are shared (cbor_map_add increfs). */
static cbor_item_t *map_with(const cbor_item_t *m, const char *key, cbor_item_t *v)
{
    struct cbor_pair *pairs = cbor_map_handle(m);
    size_t n = cbor_map_size(m);
    cbor_item_t *out = cbor_new_definite_map(v ? n : n - 1);

    for (size_t i = 0; out && i < n; i++) {
        struct cbor_pair p = pairs[i];
        if (key_is(p.key, key) && !(p.value = v))
            continue;
        if (!cbor_map_add(out, p))
            cbor_decref(&out);
    }
    if (v)
        cbor_decref(&v);
    return out;
}

/* The new top map: the key replaced (or deleted) in its holder, the holder in the top map. */
static cbor_item_t *edit(const cbor_item_t *root, const struct kpath *p, cbor_item_t *v)
{
    cbor_item_t *m = holder(root, p), *inner;

    if (!m || check_key(m, p->key)) {
        if (v)
            cbor_decref(&v);
        return NULL;
    }
    if (!p->nested)
        return map_with(root, p->key, v);
    inner = map_with(m, p->key, v);
    return inner ? map_with(root, p->outer, inner) : NULL;
}

static int cmd_get(const cbor_item_t *root, const struct kpath *p, const char *out)
{
    const cbor_item_t *m = holder(root, p);
    const uint8_t *b;
    size_t n;

    if (!m || check_key(m, p->key))
        return -ENOENT;
    (void)ctl_get_bytes(m, p->key, &b, &n);
    return write_file(out, b, n);
}

static int save_map(const cbor_item_t *m, const char *out)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int r = ctl_serialize(m, &buf, &len);

    if (r == 0)
        r = write_file(out, buf, len);
    free(buf);
    return r;
}

/* set (file != NULL) or delete. */
static int cmd_edit(const cbor_item_t *root, const struct kpath *p, const char *file,
                    const char *out)
{
    cbor_item_t *v = NULL, *nroot = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    int r = file ? file_read_all_flags(AT_FDCWD, file, 0, EDIT_MAX, &data, &len) : 0;

    if (r < 0) {
        fprintf(stderr, "evidence_edit: cannot read %s: %s\n", file, strerror(-r));
        return r;
    }
    if (file && !(v = cbor_build_bytestring(data, len)))
        r = -ENOMEM;
    if (r == 0)
        r = (nroot = edit(root, p, v)) ? save_map(nroot, out) : -EINVAL;
    if (nroot)
        cbor_decref(&nroot);
    free(data);
    return r;
}

static int run(int argc, char **argv, const cbor_item_t *root, const struct kpath *p)
{
    if (!strcmp(argv[1], "get") && argc == 5)
        return cmd_get(root, p, argv[4]);
    if (!strcmp(argv[1], "set") && argc == 6)
        return cmd_edit(root, p, argv[4], argv[5]);
    if (!strcmp(argv[1], "delete") && argc == 5)
        return cmd_edit(root, p, NULL, argv[4]);
    usage();
    return -EINVAL;
}

int main(int argc, char **argv)
{
    cbor_item_t *root = NULL;
    struct kpath p;
    int r;

    if (argc < 5 || argc > 6) {
        usage();
        return 2;
    }
    if (kpath_parse(argv[3], &p) < 0 || read_map(argv[2], &root) < 0)
        return 2;
    r = run(argc, argv, root, &p);
    cbor_decref(&root);
    return r == 0 ? 0 : 1;
}
