/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer harness: a vTPM's meta.cbor decoder. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "instance.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct instance in;

    memset(&in, 0, sizeof(in));
    if (inst_meta_decode(data, size, &in) == 0 &&
        (strlen(in.uuid_str) != 36 || strlen(in.tenant) == 0))
        __builtin_trap();
    return 0;
}
