/* SPDX-License-Identifier: BSD-3-Clause */
/* Runs hosted instances on libtpms, with NVRAM callbacks that keep all state in memory. */
#include "tpmcore.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libtpms/tpm_error.h>
#include <libtpms/tpm_library.h>
#include <libtpms/tpm_nvfilename.h>
#include <libtpms/tpm_tis.h>

#include "log.h"
#include "secmem.h"
#include "swtpm_proto.h"

static struct inst *g_active;
static uint64_t g_swaps;

static TPM_RESULT cb_nvram_init(void)
{
    return TPM_SUCCESS;
}

/* libtpms asks for stored state: only the active instance's permanent blob exists. */
static TPM_RESULT cb_loaddata(unsigned char **data, uint32_t *length, uint32_t tpm_number,
                              const char *name)
{
    unsigned char *copy;

    if (!g_active || !g_active->perm || strcmp(name, TPM_PERMANENT_ALL_NAME))
        return TPM_RETRY; /* "nothing stored": manufacture or cold start */
    copy = malloc(g_active->perm_len);
    if (!copy)
        return TPM_FAIL;
    memcpy(copy, g_active->perm, g_active->perm_len);
    *data = copy;
    *length = (uint32_t)g_active->perm_len;
    return TPM_SUCCESS;
}

/* libtpms changed permanent state: keep it, mark it for IPC_STATE_STORE. */
static TPM_RESULT cb_storedata(const unsigned char *data, uint32_t length, uint32_t tpm_number,
                               const char *name)
{
    if (!g_active)
        return TPM_FAIL;
    if (strcmp(name, TPM_PERMANENT_ALL_NAME))
        return TPM_SUCCESS; /* volatile/savestate are taken explicitly, never from here */
    /* libtpms rewrites unchanged state, e.g. when it resumes a volatile state */
    if (g_active->perm && g_active->perm_len == length && !memcmp(g_active->perm, data, length))
        return TPM_SUCCESS;
    LOG_DEBUG("permanent state changed (%u bytes)", length);
    if (winst_set_blob(&g_active->perm, &g_active->perm_len, data, length) < 0)
        return TPM_FAIL;
    g_active->perm_dirty = 1;
    return TPM_SUCCESS;
}

static TPM_RESULT cb_deletename(uint32_t tpm_number, const char *name, TPM_BOOL must_exist)
{
    return TPM_SUCCESS;
}

static TPM_RESULT cb_io_init(void)
{
    return TPM_SUCCESS;
}

static TPM_RESULT cb_getlocality(TPM_MODIFIER_INDICATOR *loc, uint32_t tpm_number)
{
    *loc = g_active ? g_active->locality : 0;
    return TPM_SUCCESS;
}

static TPM_RESULT cb_getpp(TPM_BOOL *pp, uint32_t tpm_number)
{
    *pp = FALSE;
    return TPM_SUCCESS;
}

int tpmcore_init(void)
{
    struct libtpms_callbacks cbs = {
        .sizeOfStruct = sizeof(cbs),
        .tpm_nvram_init = cb_nvram_init,
        .tpm_nvram_loaddata = cb_loaddata,
        .tpm_nvram_storedata = cb_storedata,
        .tpm_nvram_deletename = cb_deletename,
        .tpm_io_init = cb_io_init,
        .tpm_io_getlocality = cb_getlocality,
        .tpm_io_getphysicalpresence = cb_getpp,
    };

    /* Any file access by libtpms would be a bug; point it at nothing usable. */
    if (setenv("TPM_PATH", "/nonexistent/vtpm-worker", 1) ||
        TPMLIB_ChooseTPMVersion(TPMLIB_TPM_VERSION_2) != TPM_SUCCESS ||
        TPMLIB_RegisterCallbacks(&cbs) != TPM_SUCCESS) {
        LOG_ERROR("libtpms: initialisation failed");
        return -EIO;
    }
    return 0;
}

struct inst *tpmcore_active(void)
{
    return g_active;
}

uint64_t tpmcore_swaps(void)
{
    return g_swaps;
}

void tpmcore_deactivate(int save_vol)
{
    unsigned char *buf = NULL;
    uint32_t len = 0;

    if (!g_active)
        return;
    if (save_vol && TPMLIB_GetState(TPMLIB_STATE_VOLATILE, &buf, &len) == TPM_SUCCESS) {
        if (winst_set_blob(&g_active->vol, &g_active->vol_len, buf, len) < 0)
            LOG_ERROR("libtpms: cannot keep volatile state (ENOMEM)");
    } else if (save_vol) {
        LOG_ERROR("libtpms: cannot get volatile state");
    }
    secure_free(buf, len);
    TPMLIB_Terminate();
    g_active = NULL;
}

/* Hands inst's blobs to libtpms; they are used by the next TPMLIB_MainInit. */
static int set_states(struct inst *inst)
{
    if (inst->perm &&
        TPMLIB_SetState(TPMLIB_STATE_PERMANENT, inst->perm, (uint32_t)inst->perm_len) != TPM_SUCCESS)
        return -EINVAL;
    if (inst->vol &&
        TPMLIB_SetState(TPMLIB_STATE_VOLATILE, inst->vol, (uint32_t)inst->vol_len) != TPM_SUCCESS)
        return -EINVAL;
    return 0;
}

int tpmcore_activate(struct inst *inst)
{
    int r;

    if (g_active == inst)
        return 0;
    if (g_active) {
        tpmcore_deactivate(1);
        g_swaps++;
    }
    g_active = inst;
    /* A failed SetState leaves libtpms with no cached blobs and nothing to terminate. */
    r = set_states(inst);
    if (r == 0 && TPMLIB_MainInit() != TPM_SUCCESS) {
        TPMLIB_Terminate();
        r = -EINVAL;
    }
    if (r < 0) {
        LOG_ERROR("libtpms: instance state rejected");
        g_active = NULL;
        return r;
    }
    winst_clear_blob(&inst->vol, &inst->vol_len);
    return 0;
}

int tpmcore_process(struct inst *inst, const uint8_t *cmd, size_t cmd_len, uint8_t *resp,
                    size_t cap, size_t *resp_len)
{
    unsigned char *rbuf = NULL;
    uint32_t rlen = 0, rcap = 0;
    int r;

    r = tpmcore_activate(inst);
    if (r < 0)
        return r;
    if (TPMLIB_Process(&rbuf, &rlen, &rcap, (unsigned char *)cmd, (uint32_t)cmd_len) != TPM_SUCCESS ||
        rlen > cap) {
        r = -EIO;
        goto out;
    }
    memcpy(resp, rbuf, rlen);
    *resp_len = rlen;
    r = 0;
out:
    secure_free(rbuf, rcap);
    return r;
}

uint32_t tpmcore_get_established(struct inst *inst, uint8_t *bit)
{
    TPM_BOOL b = 0;

    if (tpmcore_activate(inst) < 0 || TPM_IO_TpmEstablished_Get(&b) != TPM_SUCCESS)
        return SWTPM_RES_FAIL;
    *bit = b ? 1 : 0;
    return SWTPM_RES_SUCCESS;
}

uint32_t tpmcore_reset_established(struct inst *inst, uint8_t loc)
{
    uint8_t saved = inst->locality;
    TPM_RESULT res;

    if (tpmcore_activate(inst) < 0)
        return SWTPM_RES_FAIL;
    /* libtpms checks the locality the reset comes from through cb_getlocality. */
    inst->locality = loc;
    res = TPM_IO_TpmEstablished_Reset();
    inst->locality = saved;
    return res;
}
