/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer harness: the signature parsers of untrusted input (imagesig.c, refbundle.c). The
 * first byte picks the parser, the rest is its input: 0 a containers/image `dir:` signature
 * file, 1 a cosign signature manifest (OCI JSON), 2 a simple-signing payload, 3 a reference's
 * repository, 4 a policy's `image_signatures` section (operator JSON), 5 base64 text, 6 a
 * reference-value bundle document (before its signature is checked). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../verifier/check/imagesig.h"
#include "../../verifier/check/refbundle.h"
#include "../../verifier/check/sigkeys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int layer(void *arg, const char *digest, const char *sig)
{
    size_t *n = arg;

    *n += (digest ? strlen(digest) : 0) + (sig ? strlen(sig) : 0);
    return 0;
}

static char *text(const uint8_t *d, size_t n)
{
    char *s = malloc(n + 1);

    if (!s)
        abort();
    memcpy(s, d, n);
    s[n] = '\0';
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct imagesig_blob b;
    struct imagesig_policy *p = NULL;
    struct refbundle rb;
    char dg[72], ref[256], err[256], *s;
    uint8_t *out;
    size_t n = 0, len;
    json_t *j;

    if (size < 1)
        return 0;
    switch (data[0] % 7) {
    case 0:
        if (imagesig_parse_dirsig(data + 1, size - 1, &b) > 0)
            imagesig_blob_free(&b);
        break;
    case 1:
        imagesig_parse_sigmanifest(data + 1, size - 1, layer, &n);
        break;
    case 2:
        imagesig_parse_payload(data + 1, size - 1, dg, ref, sizeof(ref));
        break;
    case 3:
        s = text(data + 1, size - 1);
        imagesig_repository(s, ref, sizeof(ref));
        free(s);
        break;
    case 4:
        j = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
        if (j && imagesig_parse(j, &p, err, sizeof(err)) == 0) {
            struct reasons r = { 0 };
            imagesig_check(p, "example.org/a/b:1", "sha256:0000000000000000000000000000000000000000000000000000000000000000", 0, &r);
            reasons_free(&r);
            imagesig_free(p);
        }
        json_decref(j);
        break;
    case 6:
        if (refbundle_parse(data + 1, size - 1, &rb, err, sizeof(err)) == 0)
            refbundle_free(&rb);
        break;
    default:
        s = text(data + 1, size - 1);
        if (sig_b64_decode(s, 4096, &out, &len) == 0)
            free(out);
        free(s);
        break;
    }
    return 0;
}
