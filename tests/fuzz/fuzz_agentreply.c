/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer harness: the agent's decoding of the verifier's registration answers and
 * verdicts (network input). */
#include <stddef.h>
#include <stdint.h>

#include "evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct reg_challenge c;

    if (register_reply_parse(data, size, &c) == 0)
        reg_challenge_free(&c);
    (void)activate_reply_parse(data, size);
    (void)verdict_reply_parse(data, size, 200);
    return 0;
}
