/* SPDX-License-Identifier: BSD-3-Clause */
/* swtpm control-channel commands: fixed-size request decoding and response encoding. */
#include "ctrl.h"

#include <string.h>

#include "swtpm_proto.h"
#include "vtpm_ipc.h"

static size_t put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return 4;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint64_t swctrl_capabilities(void)
{
    return PTM_CAP_INIT | PTM_CAP_SHUTDOWN | PTM_CAP_GET_TPMESTABLISHED | PTM_CAP_SET_LOCALITY |
           PTM_CAP_CANCEL_TPM_CMD | PTM_CAP_STORE_VOLATILE | PTM_CAP_RESET_TPMESTABLISHED |
           PTM_CAP_STOP | PTM_CAP_GET_CONFIG | PTM_CAP_SET_BUFFERSIZE | PTM_CAP_LOCK_STORAGE;
}

int swctrl_req_len(uint32_t cmd)
{
    switch (cmd) {
    case CMD_GET_CAPABILITY:
    case CMD_SHUTDOWN:
    case CMD_GET_TPMESTABLISHED:
    case CMD_CANCEL_TPM_CMD:
    case CMD_STORE_VOLATILE:
    case CMD_STOP:
    case CMD_GET_CONFIG:
        return 0;
    case CMD_SET_LOCALITY:
    case CMD_RESET_TPMESTABLISHED:
        return 1;
    case CMD_INIT:
    case CMD_SET_BUFFERSIZE:
    case CMD_LOCK_STORAGE:
        return 4;
    default:
        return -1; /* HASH_*, *_STATEBLOB, SET_DATAFD, GET_INFO, unknown */
    }
}

static size_t handle_buffersize(const uint8_t *payload, uint8_t *out)
{
    size_t n = 0;

    /* The buffer size is fixed at VTPM_TPM_BUFSIZE: a query and a set both report it. */
    (void)payload;
    n += put_be32(out + n, SWTPM_RES_SUCCESS);
    n += put_be32(out + n, VTPM_TPM_BUFSIZE);
    n += put_be32(out + n, VTPM_TPM_BUFSIZE);
    n += put_be32(out + n, VTPM_TPM_BUFSIZE);
    return n;
}

static size_t handle_caps(uint8_t *out)
{
    uint64_t caps = swctrl_capabilities();

    put_be32(out, (uint32_t)(caps >> 32));
    put_be32(out + 4, (uint32_t)caps);
    return 8;
}

static size_t handle_established(const struct ctrl_ops *ops, void *ctx, uint8_t *out)
{
    uint8_t bit = 0;
    uint32_t res = ops->get_established(ctx, &bit);

    put_be32(out, res);
    out[4] = bit;
    return 5;
}

size_t swctrl_handle(const struct ctrl_ops *ops, void *ctx, uint32_t cmd, const uint8_t *payload,
                   uint8_t out[CTRL_RESP_MAX])
{
    memset(out, 0, CTRL_RESP_MAX);
    switch (cmd) {
    case CMD_GET_CAPABILITY:
        return handle_caps(out);
    case CMD_INIT:
        return put_be32(out, ops->init(ctx, get_be32(payload)));
    case CMD_SHUTDOWN:
    case CMD_STOP:
        return put_be32(out, ops->shutdown(ctx));
    case CMD_GET_TPMESTABLISHED:
        return handle_established(ops, ctx, out);
    case CMD_SET_LOCALITY:
        return put_be32(out, ops->set_locality(ctx, payload[0]));
    case CMD_RESET_TPMESTABLISHED:
        return put_be32(out, ops->reset_established(ctx, payload[0]));
    case CMD_CANCEL_TPM_CMD:   /* commands run to completion; nothing to cancel */
    case CMD_STORE_VOLATILE:   /* the parent owns durability (IPC_SUSPEND_ALL) */
    case CMD_LOCK_STORAGE:     /* the worker never touches storage */
        return put_be32(out, SWTPM_RES_SUCCESS);
    case CMD_GET_CONFIG:
        put_be32(out, SWTPM_RES_SUCCESS);
        return 4 + put_be32(out + 4, 0);
    case CMD_SET_BUFFERSIZE:
        return handle_buffersize(payload, out);
    default:
        /* State blobs, data fds and hashing would bypass the parent's control. */
        return put_be32(out, SWTPM_RES_BAD_ORDINAL);
    }
}
