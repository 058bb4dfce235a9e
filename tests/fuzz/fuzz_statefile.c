/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer harness: the encrypted state-file reader must reject every forgery cleanly. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "statestore.h"
#include "vtpm_ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t key[STATE_KEY_LEN] = { 7 };
    static const uint8_t uuid[16] = { 1 };
    uint8_t *pt = NULL;
    size_t len;

    /* Without the key nobody can produce a valid file: success here is a bug. */
    if (state_unseal(key, uuid, VTPM_STATE_PERM, data, size, NULL, &pt, &len) == 0)
        __builtin_trap();
    return 0;
}
