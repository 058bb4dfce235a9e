/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer harness: the rollback manifest's layout checks, behind a valid HMAC (the harness
 * signs the input, as only the daemon could), and its encode/decode round trip. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "rollback.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t key[STATE_KEY_LEN] = { 5 };
    struct rb_manifest m;
    uint8_t *img = malloc(size + 32), *again = NULL;
    size_t outlen = 0, len = 0;

    if (!img)
        return 0;
    memcpy(img, data, size);
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, sizeof(key), data, size, img + size,
                   32, &outlen))
        __builtin_trap();
    /* without the key nobody produces a manifest that decodes: success here is a bug */
    if (rb_manifest_decode(data, size, key, &m) == 0)
        __builtin_trap();
    if (rb_manifest_decode(img, size + 32, key, &m) == 0) {
        if (rb_manifest_encode(&m, key, &again, &len) != 0 || len != size + 32 ||
            memcmp(again, img, len) != 0)
            __builtin_trap(); /* what decodes re-encodes to the same bytes */
        free(again);
        rb_manifest_free(&m);
    }
    free(img);
    return 0;
}
