/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer harness: the CUSE adapter's TPM command and response framing checks. */
#include <stddef.h>
#include <stdint.h>

#include "tpmframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t rsize = 0;

    /* An accepted command's header must describe exactly the bytes written. */
    if (tpmframe_check_command(data, size) == 0 &&
        (size < TPMFRAME_HDR_LEN ||
         ((uint32_t)data[2] << 24 | (uint32_t)data[3] << 16 | (uint32_t)data[4] << 8 | data[5]) != size))
        __builtin_trap();
    if (size >= TPMFRAME_HDR_LEN && tpmframe_response_size(data, &rsize) == 0 &&
        rsize < TPMFRAME_HDR_LEN)
        __builtin_trap();
    return 0;
}
