/* SPDX-License-Identifier: BSD-3-Clause */
/* Client requests on an instance: TPM commands with their durability and platform rules, control ops. */
#include <errno.h>
#include <string.h>

#include <tss2/tss2_tpm2_types.h>

#include "ctrl.h"
#include "log.h"
#include "provision.h"
#include "swtpm_proto.h"
#include "tpmcmd.h"
#include "tpmcore.h"
#include "worker.h"

size_t wk_exec_command(struct worker *w, struct inst *inst, const uint8_t *cmd, size_t len,
                           uint8_t *out, size_t cap)
{
    size_t out_len = 0;

    if (inst->state != INST_READY || cap < TPM_HDR_LEN)
        return tpmcmd_error_response(out, TPM2_RC_FAILURE);
    if (tpmcore_process(inst, cmd, len, out, cap, &out_len) < 0)
        return tpmcmd_error_response(out, TPM2_RC_FAILURE);
    /* Startup re-enables the platform hierarchy; close it before the client can use it. */
    if (tpmcmd_code(cmd) == TPM2_CC_Startup && tpmcmd_resp_rc(out, out_len) == TPM2_RC_SUCCESS &&
        prov_disable_platform(inst) < 0) {
        LOG_ERROR("cannot disable the platform hierarchy after Startup");
        explicit_bzero(out, out_len);
        return tpmcmd_error_response(out, TPM2_RC_FAILURE);
    }
    if (inst->perm_dirty)
        LOG_DEBUG("command 0x%x changed the permanent state", (unsigned)tpmcmd_code(cmd));
    if (wk_persist(w, inst) < 0) {
        explicit_bzero(out, out_len);
        return tpmcmd_error_response(out, TPM2_RC_NV_UNAVAILABLE);
    }
    return out_len;
}

struct ctrl_ctx {
    struct worker *w;
    struct inst *inst;
};

/* Power off: the volatile state is lost, as with swtpm. */
static void power_off(struct inst *inst)
{
    if (tpmcore_active() == inst)
        tpmcore_deactivate(0);
    winst_clear_blob(&inst->vol, &inst->vol_len);
}

static uint32_t op_init(void *ctx, uint32_t flags)
{
    struct ctrl_ctx *c = ctx;

    power_off(c->inst);
    c->inst->state = INST_READY; /* next command starts from permanent state: needs Startup */
    return SWTPM_RES_SUCCESS;
}

static uint32_t op_shutdown(void *ctx)
{
    struct ctrl_ctx *c = ctx;

    power_off(c->inst);
    c->inst->state = INST_POWERED_OFF;
    return SWTPM_RES_SUCCESS;
}

static uint32_t op_set_locality(void *ctx, uint8_t loc)
{
    struct ctrl_ctx *c = ctx;

    if (loc > 4)
        return SWTPM_RES_BAD_PARAMETER;
    c->inst->locality = loc;
    return SWTPM_RES_SUCCESS;
}

static uint32_t op_get_established(void *ctx, uint8_t *bit)
{
    struct ctrl_ctx *c = ctx;

    if (c->inst->state != INST_READY)
        return SWTPM_RES_FAIL;
    return tpmcore_get_established(c->inst, bit);
}

static uint32_t op_reset_established(void *ctx, uint8_t loc)
{
    struct ctrl_ctx *c = ctx;
    uint32_t res;

    if (loc > 4)
        return SWTPM_RES_BAD_PARAMETER;
    if (c->inst->state != INST_READY)
        return SWTPM_RES_FAIL;
    res = tpmcore_reset_established(c->inst, loc);
    if (wk_persist(c->w, c->inst) < 0)
        return SWTPM_RES_FAIL;
    return res;
}

static const struct ctrl_ops ops = {
    .init = op_init,
    .shutdown = op_shutdown,
    .set_locality = op_set_locality,
    .get_established = op_get_established,
    .reset_established = op_reset_established,
};

size_t wk_exec_ctrl(struct worker *w, struct inst *inst, uint32_t cmd, const uint8_t *payload,
                        uint8_t *out)
{
    struct ctrl_ctx c = { .w = w, .inst = inst };

    return swctrl_handle(&ops, &c, cmd, payload, out);
}
