/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer harness for the kmod-vtpm measurement list parser, replay and vTPM lookup, as the
 * verifier runs them on a host's list taken from untrusted evidence. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../verifier/check/kmodlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kmod_replay kr;
    uint8_t quoted[32], ek[32];
    char err[96];

    /* The first 32 bytes stand for the quoted PCR, so that prefix matches are reached. */
    if (size < 32)
        return 0;
    memcpy(quoted, data, 32);
    memset(ek, 0xaa, sizeof(ek));
    if (kmodlist_replay(data + 32, size - 32, quoted, &kr, err, sizeof(err)) == 0)
        (void)kmodlist_has_vtpm(data + 32, size - 32, kr.matched,
                                "0b7c2e5a-1111-4c2d-9e0f-0123456789ab", ek);
    return 0;
}
