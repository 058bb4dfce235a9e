/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer harness: the verifier's rootfs manifest decoder (runtime integrity), behind a
 * matching tree digest (the harness hashes the input, as a measured rootfs would), and the
 * lookups of what it decoded. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <openssl/sha.h>

#include "check/runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rt_manifest m;
    uint8_t want[32];
    char err[96];

    SHA256(data, size, want);
    if (rt_manifest_parse(data, size, want, &m, err, sizeof(err)) == 0) {
        for (size_t i = 0; i < m.n; i++)
            if (rt_manifest_lookup(&m, m.v[i].path) == NULL)
                __builtin_trap(); /* every decoded file is found again */
        rt_manifest_free(&m);
    }
    want[0] ^= 1; /* another digest: never accepted */
    if (rt_manifest_parse(data, size, want, &m, err, sizeof(err)) == 0)
        __builtin_trap();
    return 0;
}
