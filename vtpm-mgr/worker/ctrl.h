/* SPDX-License-Identifier: BSD-3-Clause */
/* Decoding and answering of the swtpm control-channel protocol (lib/swtpm_proto.h). */
#ifndef VTPM_WORKER_CTRL_H
#define VTPM_WORKER_CTRL_H

#include <stddef.h>
#include <stdint.h>

#define CTRL_CODE_LEN 4u
#define CTRL_REQ_MAX  16u /* largest request payload we accept after the code */
#define CTRL_RESP_MAX 16u /* largest response we produce */

/* What the control channel may do to its instance; each returns a SWTPM_RES_* value. */
struct ctrl_ops {
    uint32_t (*init)(void *ctx, uint32_t flags);
    uint32_t (*shutdown)(void *ctx); /* CMD_SHUTDOWN and CMD_STOP: power the vTPM off */
    uint32_t (*set_locality)(void *ctx, uint8_t loc);
    uint32_t (*get_established)(void *ctx, uint8_t *bit);
    uint32_t (*reset_established)(void *ctx, uint8_t loc);
};

/*
 * Request payload length (bytes after the 4-byte code) of a command we serve, or -1 for a
 * command we refuse or do not know: its length cannot be trusted, so the caller answers
 * with swctrl_handle() at once and closes the connection.
 */
int swctrl_req_len(uint32_t cmd);

/*
 * Answers one request whose payload (swctrl_req_len(cmd) bytes, none for refused commands)
 * is complete. Writes the response to out (CTRL_RESP_MAX bytes) and returns its length.
 */
size_t swctrl_handle(const struct ctrl_ops *ops, void *ctx, uint32_t cmd, const uint8_t *payload,
                   uint8_t out[CTRL_RESP_MAX]);

/* The capability mask we advertise with CMD_GET_CAPABILITY. */
uint64_t swctrl_capabilities(void);

#endif
