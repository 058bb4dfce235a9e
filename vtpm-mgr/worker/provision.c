/* SPDX-License-Identifier: BSD-3-Clause */
/* Platform-firmware duties for hosted vTPMs, issued with tss2-sys over the in-process TCTI. */
#include "provision.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_sys.h>

#include "log.h"
#include "tpmtemplates.h"
#include "tcti.h"
#include "vtpm_ipc.h"

#define NV_CHUNK 1024u /* libtpms MAX_NV_BUFFER_SIZE */

static TSS2_TCTI_CONTEXT *g_tcti;
static TSS2_SYS_CONTEXT *g_sys;

/* Empty password session, the only authorization the worker ever uses. */
static const TSS2L_SYS_AUTH_COMMAND pw_auth = {
    .count = 1, .auths = { { .sessionHandle = TPM2_RS_PW } },
};

int prov_init(void)
{
    size_t sys_size = Tss2_Sys_GetContextSize(0);
    TSS2_ABI_VERSION abi = TSS2_ABI_VERSION_CURRENT;

    g_tcti = calloc(1, wtcti_size());
    g_sys = calloc(1, sys_size);
    if (!g_tcti || !g_sys)
        goto fail;
    wtcti_init(g_tcti);
    if (Tss2_Sys_Initialize(g_sys, sys_size, g_tcti, &abi) != TSS2_RC_SUCCESS)
        goto fail;
    return 0;
fail:
    free(g_sys);
    free(g_tcti);
    g_sys = NULL;
    g_tcti = NULL;
    return -ENOMEM;
}

void prov_fini(void)
{
    if (g_sys)
        Tss2_Sys_Finalize(g_sys);
    free(g_sys);
    free(g_tcti);
    g_sys = NULL;
    g_tcti = NULL;
}

static int check(TSS2_RC rc, const char *what)
{
    if (rc == TSS2_RC_SUCCESS)
        return 0;
    LOG_ERROR("provision: %s failed: 0x%x", what, (unsigned)rc);
    return -EIO;
}

int prov_startup_clear(struct inst *inst)
{
    wtcti_set_target(g_tcti, inst);
    return check(Tss2_Sys_Startup(g_sys, TPM2_SU_CLEAR), "TPM2_Startup");
}

int prov_disable_platform(struct inst *inst)
{
    wtcti_set_target(g_tcti, inst);
    return check(Tss2_Sys_HierarchyControl(g_sys, TPM2_RH_PLATFORM, &pw_auth, TPM2_RH_PLATFORM,
                                           TPM2_NO, NULL),
                 "TPM2_HierarchyControl");
}

int prov_create_ek(struct inst *inst, uint32_t ek_type, TPM2B_PUBLIC *pub)
{
    TPM2B_SENSITIVE_CREATE sens = { 0 };
    TPM2B_PUBLIC tmpl;
    TPM2B_DATA outside = { 0 };
    TPML_PCR_SELECTION pcrs = { 0 };
    TPM2B_CREATION_DATA cdata = { 0 };
    TPM2B_DIGEST chash = { .size = sizeof(chash.buffer) };
    TPMT_TK_CREATION ticket = { 0 };
    TPM2B_NAME name = { .size = sizeof(name.name) };
    TPM2_HANDLE h = 0;
    int r;

    if (tcg_ek_template(ek_type, &tmpl) < 0)
        return -EINVAL;
    memset(pub, 0, sizeof(*pub));
    wtcti_set_target(g_tcti, inst);
    r = check(Tss2_Sys_CreatePrimary(g_sys, TPM2_RH_ENDORSEMENT, &pw_auth, &sens, &tmpl, &outside,
                                     &pcrs, &h, pub, &cdata, &chash, &ticket, &name, NULL),
              "TPM2_CreatePrimary(EK)");
    if (r < 0)
        return r;
    return check(Tss2_Sys_FlushContext(g_sys, h), "TPM2_FlushContext");
}

static int define_index(TPMI_RH_NV_INDEX idx, size_t len)
{
    TPM2B_AUTH auth = { 0 };
    TPM2B_NV_PUBLIC pub = { 0 };

    /* As swtpm_setup and the TCG EK Credential Profile: platform-created, platform-written,
     * readable by owner and by index auth (empty), no dictionary-attack lockout. */
    pub.nvPublic.nvIndex = idx;
    pub.nvPublic.nameAlg = TPM2_ALG_SHA256;
    pub.nvPublic.attributes = TPMA_NV_PLATFORMCREATE | TPMA_NV_PPWRITE | TPMA_NV_WRITEDEFINE |
                              TPMA_NV_PPREAD | TPMA_NV_OWNERREAD | TPMA_NV_AUTHREAD |
                              TPMA_NV_NO_DA;
    pub.nvPublic.dataSize = (uint16_t)len;
    return check(Tss2_Sys_NV_DefineSpace(g_sys, TPM2_RH_PLATFORM, &pw_auth, &auth, &pub, NULL),
                 "TPM2_NV_DefineSpace(EK cert)");
}

static int write_chunks(TPMI_RH_NV_INDEX idx, const uint8_t *der, size_t len)
{
    TPM2B_MAX_NV_BUFFER buf;
    size_t off;
    int r = 0;

    for (off = 0; off < len && r == 0; off += buf.size) {
        buf.size = (uint16_t)(len - off > NV_CHUNK ? NV_CHUNK : len - off);
        memcpy(buf.buffer, der + off, buf.size);
        r = check(Tss2_Sys_NV_Write(g_sys, TPM2_RH_PLATFORM, idx, &pw_auth, &buf, (uint16_t)off,
                                    NULL),
                  "TPM2_NV_Write(EK cert)");
    }
    return r;
}

int prov_write_ekcert(struct inst *inst, uint32_t ek_type, const uint8_t *der, size_t len)
{
    TPMI_RH_NV_INDEX idx = ek_type == VTPM_EK_RSA_2048 ? VTPM_NV_EKCERT_RSA : VTPM_NV_EKCERT_ECC;
    int r;

    if (len == 0 || len > 2048)
        return -EINVAL;
    wtcti_set_target(g_tcti, inst);
    r = define_index(idx, len);
    if (r == 0)
        r = write_chunks(idx, der, len);
    if (r == 0) /* WRITEDEFINE: locked until the index is deleted, i.e. for good */
        r = check(Tss2_Sys_NV_WriteLock(g_sys, TPM2_RH_PLATFORM, idx, &pw_auth, NULL),
                  "TPM2_NV_WriteLock(EK cert)");
    return r;
}
