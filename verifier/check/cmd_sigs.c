/* SPDX-License-Identifier: BSD-3-Clause */
/* `verifier policy check-image`: judges one image (reference, manifest digest) by a policy's
 * image_signatures section exactly as evidence and admission are judged (imagesig.c).
 * `verifier policy bundle create|sign|inspect|verify`: signed reference bundles (refbundle.c). */
#include "check/cmd_sigs.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "fileio.h"
#include "secmem.h"
#include "boot/bootpolicy.h"
#include "check/imagesig.h"
#include "check/refbundle.h"
#include "check/policy.h"
#include "check/reasons.h"
#include "check/sigkeys.h"
#include "check/cmdout.h"

#define EXIT_ALLOW 0
#define EXIT_DENY  1
#define EXIT_USAGE 2

int cmd_policy_check_image(int argc, char **argv)
{
    static const struct option lo[] = {
        { "policy", required_argument, NULL, 'p' },
        { "image", required_argument, NULL, 'i' },
        { "digest", required_argument, NULL, 'd' },
        { "time", required_argument, NULL, 't' },
        { NULL, 0, NULL, 0 },
    };
    const char *path = NULL, *image = NULL, *digest = NULL, *at;
    struct policy pol = { 0 };
    struct reasons r = { 0 };
    int64_t now = (int64_t)time(NULL);
    char err[512], *s;
    json_t *j;
    int c, rc = EXIT_USAGE;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'p': path = optarg; break;
        case 'i': image = optarg; break;
        case 'd': digest = optarg; break;
        case 't':
            if (sig_time_parse(optarg, &now) < 0) {
                fprintf(stderr, "verifier: --time %s is not YYYY-MM-DDTHH:MM:SSZ\n", optarg);
                return EXIT_USAGE;
            }
            break;
        default: return EXIT_USAGE;
        }
    }
    if (!path || !image || optind != argc) {
        fprintf(stderr, "usage: verifier policy check-image --policy FILE --image REF "
                "[--digest sha256:HEX] [--time YYYY-MM-DDTHH:MM:SSZ]\n");
        return EXIT_USAGE;
    }
    if (!digest && (at = strrchr(image, '@')))
        digest = at + 1; /* REF@sha256:HEX */
    if (policy_load(path, &pol, err, sizeof(err)) < 0) {
        fprintf(stderr, "verifier: policy %s: %s\n", path, err);
        return EXIT_USAGE;
    }
    if (!pol.sig) {
        fprintf(stderr, "verifier: policy %s has no image_signatures section\n", path);
        goto out;
    }
    imagesig_check(pol.sig, image, digest ? digest : "", now, &r);
    j = json_pack("{s:s, s:o}", "verdict", reasons_deny(&r) ? "deny" : "allow", "reasons",
                  reasons_json(&r));
    s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (s) {
        printf("%s\n", s);
        rc = reasons_deny(&r) ? EXIT_DENY : EXIT_ALLOW;
    }
    free(s);
    json_decref(j);
out:
    reasons_free(&r);
    policy_free(&pol);
    return rc;
}

static int time_opt(const char *opt, const char *v, int64_t *out)
{
    if (sig_time_parse(v, out) == 0)
        return 0;
    fprintf(stderr, "verifier: %s %s is not YYYY-MM-DDTHH:MM:SSZ\n", opt, v);
    return -1;
}

enum { O_PUB = 1, O_NB, O_NA, O_COMMENT, O_BOOT, O_IMAGE, O_ROOTFS, O_RUNTIME, O_AGENT };

static int add_digest(json_t *digests, const char *list, const char *d)
{
    json_t *l = json_object_get(digests, list);
    char norm[72];

    if (policy_normalize_digest(d, norm) < 0) {
        fprintf(stderr, "verifier: --%s-digest %s is not a SHA-256 digest\n", list, d);
        return -1;
    }
    if (!l && json_object_set_new(digests, list, l = json_array()) < 0)
        return -1;
    return json_array_append_new(l, json_string(norm));
}

static int bundle_create(int argc, char **argv)
{
    static const struct option lo[] = {
        { "publisher", required_argument, NULL, O_PUB },
        { "not-before", required_argument, NULL, O_NB },
        { "not-after", required_argument, NULL, O_NA },
        { "comment", required_argument, NULL, O_COMMENT },
        { "boot-policy", required_argument, NULL, O_BOOT },
        { "image-digest", required_argument, NULL, O_IMAGE },
        { "rootfs-digest", required_argument, NULL, O_ROOTFS },
        { "runtime-digest", required_argument, NULL, O_RUNTIME },
        { "agent-digest", required_argument, NULL, O_AGENT },
        { NULL, 0, NULL, 0 },
    };
    static const char *const names[] = { "image", "rootfs", "runtime", "agent" };
    const char *pub = NULL, *nb = NULL, *na = NULL, *comment = NULL, *boot = NULL;
    json_t *digests = json_object(), *doc = NULL, *bootj = NULL;
    struct refbundle check;
    int64_t t;
    char err[300], *text = NULL;
    int c, rc = 2;

    optind = 1;
    while (digests && (c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case O_PUB: pub = optarg; break;
        case O_NB: nb = optarg; break;
        case O_NA: na = optarg; break;
        case O_COMMENT: comment = optarg; break;
        case O_BOOT: boot = optarg; break;
        case O_IMAGE: case O_ROOTFS: case O_RUNTIME: case O_AGENT:
            if (add_digest(digests, names[c - O_IMAGE], optarg) < 0)
                goto out;
            break;
        default: goto out;
        }
    }
    if (!pub || !nb || !na || optind != argc || (!boot && !json_object_size(digests))) {
        fprintf(stderr, "usage: verifier policy bundle create --publisher NAME --not-before T "
                "--not-after T [--rootfs-digest HEX ...] [--runtime-digest HEX ...] "
                "[--agent-digest HEX ...] [--image-digest HEX ...] [--boot-policy FILE] "
                "[--comment TEXT]\n");
        goto out;
    }
    if (time_opt("--not-before", nb, &t) < 0 || time_opt("--not-after", na, &t) < 0)
        goto out;
    if (boot) {
        struct boot_policy *bp = NULL;
        json_error_t je;
        if (bootpolicy_load(boot, &bp, err, sizeof(err)) < 0) {
            fprintf(stderr, "verifier: --boot-policy %s: %s\n", boot, err);
            goto out;
        }
        bootpolicy_free(bp);
        if (!(bootj = json_load_file(boot, JSON_REJECT_DUPLICATES, &je)))
            goto out;
    }
    doc = json_pack("{s:s, s:i, s:s, s:s, s:s}", "type", REFBUNDLE_TYPE, "version",
                    REFBUNDLE_VERSION, "publisher", pub, "not_before", nb, "not_after", na);
    if (!doc || (comment && json_object_set_new(doc, "comment", json_string(comment)) < 0) ||
        (json_object_size(digests) && json_object_set(doc, "digests", digests) < 0) ||
        (bootj && json_object_set(doc, "boot", bootj) < 0) ||
        !(text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER)))
        goto out;
    if (refbundle_parse((const uint8_t *)text, strlen(text), &check, err, sizeof(err)) < 0) {
        fprintf(stderr, "verifier: bundle: %s\n", err);
        goto out;
    }
    refbundle_free(&check);
    printf("%s\n", text);
    rc = 0;
out:
    free(text);
    json_decref(doc);
    json_decref(bootj);
    json_decref(digests);
    return rc;
}

/* The publisher's private key (PEM, P-256 or Ed25519); the file's bytes are wiped. */
static EVP_PKEY *private_key(const char *path)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    BIO *bio;
    EVP_PKEY *k = NULL;
    int ed, r = file_read_all_flags(AT_FDCWD, path, 0, 16384, &buf, &len);

    if (r < 0) {
        fprintf(stderr, "verifier: --key %s: %s\n", path, strerror(-r));
        return NULL;
    }
    bio = BIO_new_mem_buf(buf, (int)len);
    if (bio)
        k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    secure_free(buf, len);
    if (k && !sigkey_type_ok(k, &ed)) {
        EVP_PKEY_free(k);
        k = NULL;
        fprintf(stderr, "verifier: --key %s: only ECDSA P-256 and Ed25519 keys sign bundles\n",
                path);
    } else if (!k) {
        fprintf(stderr, "verifier: --key %s: not an unencrypted PEM private key\n", path);
    }
    return k;
}

static int bundle_sign(int argc, char **argv)
{
    static const struct option lo[] = {
        { "key", required_argument, NULL, 'k' },
        { NULL, 0, NULL, 0 },
    };
    const char *keyp = NULL, *path;
    uint8_t *buf = NULL, *sig = NULL;
    size_t len, siglen = 0;
    EVP_PKEY *k = NULL;
    EVP_MD_CTX *ctx = NULL;
    struct refbundle check;
    char err[300], *b64 = NULL, *d = NULL, *b = NULL, name[NAME_MAX + 1];
    int c, rc = 2, dfd = -1, r;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (c != 'k')
            return 2;
        keyp = optarg;
    }
    if (!keyp || optind != argc - 1) {
        fprintf(stderr, "usage: verifier policy bundle sign --key PRIVATE.pem BUNDLE\n");
        return 2;
    }
    path = argv[optind];
    r = file_read_all_flags(AT_FDCWD, path, 0, REFBUNDLE_MAX_SIZE, &buf, &len);
    if (r < 0) {
        fprintf(stderr, "verifier: %s: %s\n", path, strerror(-r));
        return 2;
    }
    if (refbundle_parse(buf, len, &check, err, sizeof(err)) < 0) {
        fprintf(stderr, "verifier: %s: %s\n", path, err);
        goto out;
    }
    refbundle_free(&check);
    if (!(k = private_key(keyp)))
        goto out;
    ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_PKEY_is_a(k, "ED25519") ? NULL : EVP_sha256(),
                                   NULL, k) != 1 ||
        EVP_DigestSign(ctx, NULL, &siglen, buf, len) != 1 || !(sig = malloc(siglen)) ||
        EVP_DigestSign(ctx, sig, &siglen, buf, len) != 1 ||
        !(b64 = malloc(4 * ((siglen + 2) / 3) + 2))) {
        fprintf(stderr, "verifier: signing %s failed\n", path);
        goto out;
    }
    r = EVP_EncodeBlock((unsigned char *)b64, sig, (int)siglen);
    b64[r] = '\n';
    d = strdup(path);
    b = strdup(path);
    if (!d || !b || snprintf(name, sizeof(name), "%s.sig", basename(b)) >= (int)sizeof(name))
        goto out;
    dfd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || file_write_atomic(dfd, name, b64, (size_t)r + 1, 0644) < 0) {
        fprintf(stderr, "verifier: cannot write %s.sig\n", path);
        goto out;
    }
    printf("%s.sig\n", path);
    rc = 0;
out:
    if (dfd >= 0)
        close(dfd);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(k);
    free(buf);
    free(sig);
    free(b64);
    free(d);
    free(b);
    return rc;
}

static int bundle_inspect(int argc, char **argv)
{
    struct refbundle bd;
    uint8_t *buf;
    size_t len;
    char err[300], sigp[PATH_MAX + 8], t1[32], t2[32];
    json_t *j, *counts;
    const char *k;
    json_t *v;
    int r;

    if (argc != 2) {
        fprintf(stderr, "usage: verifier policy bundle inspect BUNDLE\n");
        return 2;
    }
    r = file_read_all_flags(AT_FDCWD, argv[1], 0, REFBUNDLE_MAX_SIZE, &buf, &len);
    if (r < 0) {
        fprintf(stderr, "verifier: %s: %s\n", argv[1], strerror(-r));
        return 2;
    }
    r = refbundle_parse(buf, len, &bd, err, sizeof(err));
    free(buf);
    if (r < 0) {
        fprintf(stderr, "verifier: %s: %s\n", argv[1], err);
        return 2;
    }
    snprintf(sigp, sizeof(sigp), "%s.sig", argv[1]);
    sig_time_format(bd.not_before, t1, sizeof(t1));
    sig_time_format(bd.not_after, t2, sizeof(t2));
    counts = json_object();
    json_object_foreach(bd.digests, k, v)
        json_object_set_new(counts, k, json_integer((json_int_t)json_array_size(v)));
    j = json_pack("{s:s, s:s, s:s, s:s, s:o, s:b, s:s}", "file", argv[1], "publisher",
                  bd.publisher, "not_before", t1, "not_after", t2, "digests", counts, "boot",
                  bd.boot != NULL, "signature", access(sigp, F_OK) == 0 ? "present" : "absent");
    r = cmd_print_json(j, JSON_PRESERVE_ORDER) < 0 ? 2 : 0;
    json_decref(j);
    refbundle_free(&bd);
    return r;
}

static int bundle_verify(int argc, char **argv)
{
    static const struct option lo[] = {
        { "policy", required_argument, NULL, 'p' },
        { "time", required_argument, NULL, 't' },
        { NULL, 0, NULL, 0 },
    };
    const char *path = NULL;
    struct policy pol = { 0 };
    struct refbundle bd;
    int64_t now = (int64_t)time(NULL);
    char err[512];
    json_t *j;
    int c, r;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (c == 'p')
            path = optarg;
        else if (c != 't' || time_opt("--time", optarg, &now) < 0)
            return 2;
    }
    if (!path || optind != argc - 1) {
        fprintf(stderr, "usage: verifier policy bundle verify --policy FILE [--time T] BUNDLE\n");
        return 2;
    }
    if (policy_load_flags(path, &pol, POLICY_LOAD_NO_BUNDLES, err, sizeof(err)) < 0) {
        fprintf(stderr, "verifier: policy %s: %s\n", path, err);
        return 2;
    }
    if (!pol.refs) {
        fprintf(stderr, "verifier: policy %s has no reference_bundles section\n", path);
        policy_free(&pol);
        return 2;
    }
    r = refbundle_load(pol.refs, argv[optind], now, &bd, err, sizeof(err));
    j = r == 0 ? json_pack("{s:s, s:s, s:b}", "file", argv[optind], "verdict", "valid", "signed",
                           bd.is_signed)
               : json_pack("{s:s, s:s, s:s}", "file", argv[optind], "verdict", "invalid",
                           "error", err);
    if (r == 0)
        refbundle_free(&bd);
    r = cmd_print_json(j, JSON_PRESERVE_ORDER) < 0 ? 2 : r == 0 ? 0 : 1;
    json_decref(j);
    policy_free(&pol);
    return r;
}

int cmd_policy_bundle(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "create"))
        return bundle_create(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "sign"))
        return bundle_sign(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "inspect"))
        return bundle_inspect(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "verify"))
        return bundle_verify(argc - 1, argv + 1);
    fprintf(stderr, "usage: verifier policy bundle create|sign|inspect|verify ...\n");
    return 2;
}
