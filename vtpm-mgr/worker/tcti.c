/* SPDX-License-Identifier: BSD-3-Clause */
/* In-process TCTI (TSS2_TCTI_CONTEXT_COMMON_V2) whose commands run via TPMLIB_Process. */
#include "tcti.h"

#include <string.h>

#include "tpmcore.h"
#include "vtpm_ipc.h"

#define WTCTI_MAGIC 0x7674706d77746369ull /* "vtpmwtci" */

enum wtcti_state { WTCTI_TRANSMIT, WTCTI_RECEIVE };

struct wtcti {
    TSS2_TCTI_CONTEXT_COMMON_V2 common;
    struct inst *target;
    enum wtcti_state state;
    uint8_t resp[VTPM_TPM_BUFSIZE];
    size_t resp_len;
};

static struct wtcti *cast(TSS2_TCTI_CONTEXT *ctx)
{
    if (!ctx || TSS2_TCTI_MAGIC(ctx) != WTCTI_MAGIC)
        return NULL;
    return (struct wtcti *)ctx;
}

/* The command runs at once; receive only hands the response out. */
static TSS2_RC wtcti_transmit(TSS2_TCTI_CONTEXT *ctx, size_t size, const uint8_t *cmd)
{
    struct wtcti *t = cast(ctx);

    if (!t || !cmd)
        return TSS2_TCTI_RC_BAD_REFERENCE;
    if (t->state != WTCTI_TRANSMIT)
        return TSS2_TCTI_RC_BAD_SEQUENCE;
    if (!t->target || size > VTPM_TPM_BUFSIZE)
        return TSS2_TCTI_RC_BAD_VALUE;
    if (tpmcore_process(t->target, cmd, size, t->resp, sizeof(t->resp), &t->resp_len) < 0)
        return TSS2_TCTI_RC_IO_ERROR;
    t->state = WTCTI_RECEIVE;
    return TSS2_RC_SUCCESS;
}

static TSS2_RC wtcti_receive(TSS2_TCTI_CONTEXT *ctx, size_t *size, uint8_t *resp, int32_t timeout)
{
    struct wtcti *t = cast(ctx);

    if (!t || !size)
        return TSS2_TCTI_RC_BAD_REFERENCE;
    if (t->state != WTCTI_RECEIVE)
        return TSS2_TCTI_RC_BAD_SEQUENCE;
    if (!resp) {
        *size = t->resp_len;
        return TSS2_RC_SUCCESS;
    }
    if (*size < t->resp_len) {
        *size = t->resp_len;
        return TSS2_TCTI_RC_INSUFFICIENT_BUFFER;
    }
    memcpy(resp, t->resp, t->resp_len);
    *size = t->resp_len;
    explicit_bzero(t->resp, t->resp_len);
    t->state = WTCTI_TRANSMIT;
    return TSS2_RC_SUCCESS;
}

static void wtcti_finalize(TSS2_TCTI_CONTEXT *ctx)
{
    struct wtcti *t = cast(ctx);

    if (t)
        explicit_bzero(t->resp, sizeof(t->resp));
}

static TSS2_RC wtcti_cancel(TSS2_TCTI_CONTEXT *ctx)
{
    return TSS2_TCTI_RC_NOT_IMPLEMENTED;
}

static TSS2_RC wtcti_set_locality(TSS2_TCTI_CONTEXT *ctx, uint8_t locality)
{
    return TSS2_TCTI_RC_NOT_IMPLEMENTED;
}

size_t wtcti_size(void)
{
    return sizeof(struct wtcti);
}

void wtcti_init(TSS2_TCTI_CONTEXT *ctx)
{
    struct wtcti *t = (struct wtcti *)ctx;

    memset(t, 0, sizeof(*t));
    t->common.v1.magic = WTCTI_MAGIC;
    t->common.v1.version = 2;
    t->common.v1.transmit = wtcti_transmit;
    t->common.v1.receive = wtcti_receive;
    t->common.v1.finalize = wtcti_finalize;
    t->common.v1.cancel = wtcti_cancel;
    t->common.v1.setLocality = wtcti_set_locality;
    t->state = WTCTI_TRANSMIT;
}

void wtcti_set_target(TSS2_TCTI_CONTEXT *ctx, struct inst *inst)
{
    struct wtcti *t = cast(ctx);

    if (t)
        t->target = inst;
}
