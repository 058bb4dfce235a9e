/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer harness: the worker's swtpm control-channel decoder (what a container sends). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ctrl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t op_init(void *ctx, uint32_t flags) { (void)ctx; (void)flags; return 0; }
static uint32_t op_shutdown(void *ctx) { (void)ctx; return 0; }
static uint32_t op_loc(void *ctx, uint8_t loc) { (void)ctx; return loc > 4; }
static uint32_t op_get(void *ctx, uint8_t *bit) { (void)ctx; *bit = 1; return 0; }
static uint32_t op_reset(void *ctx, uint8_t loc) { (void)ctx; return loc > 4; }

static const struct ctrl_ops ops = { op_init, op_shutdown, op_loc, op_get, op_reset };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t payload[CTRL_REQ_MAX] = { 0 }, out[CTRL_RESP_MAX];
    uint32_t cmd;
    int need;
    size_t n;

    if (size < CTRL_CODE_LEN)
        return 0;
    cmd = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 | data[3];
    need = swctrl_req_len(cmd);
    if (need > (int)CTRL_REQ_MAX)
        __builtin_trap();
    if (need > 0) {
        if (size - CTRL_CODE_LEN < (size_t)need)
            return 0;
        memcpy(payload, data + CTRL_CODE_LEN, (size_t)need);
    }
    n = swctrl_handle(&ops, NULL, cmd, payload, out);
    if (n < 4 || n > CTRL_RESP_MAX)
        __builtin_trap();
    return 0;
}
