/* SPDX-License-Identifier: BSD-3-Clause */
/* TPM 2.0 command and response inspection for the slow host TPM, all through Tss2_MU. */
#include "inspect.h"

#include <string.h>

#include <tss2/tss2_mu.h>

#define CC(x) { TPM2_CC_##x, #x }
static const struct {
    TPM2_CC code;
    const char *name;
} cc_table[] = {
    CC(NV_UndefineSpaceSpecial), CC(EvictControl), CC(HierarchyControl), CC(NV_UndefineSpace),
    CC(ChangeEPS), CC(ChangePPS), CC(Clear), CC(ClearControl), CC(ClockSet),
    CC(HierarchyChangeAuth), CC(NV_DefineSpace), CC(PCR_Allocate), CC(PCR_SetAuthPolicy),
    CC(PP_Commands), CC(SetPrimaryPolicy), CC(FieldUpgradeStart), CC(ClockRateAdjust),
    CC(CreatePrimary), CC(NV_GlobalWriteLock), CC(GetCommandAuditDigest), CC(NV_Increment),
    CC(NV_SetBits), CC(NV_Extend), CC(NV_Write), CC(NV_WriteLock),
    CC(DictionaryAttackLockReset), CC(DictionaryAttackParameters), CC(NV_ChangeAuth),
    CC(PCR_Event), CC(PCR_Reset), CC(SequenceComplete), CC(SetAlgorithmSet),
    CC(SetCommandCodeAuditStatus), CC(FieldUpgradeData), CC(IncrementalSelfTest), CC(SelfTest),
    CC(Startup), CC(Shutdown), CC(StirRandom), CC(ActivateCredential), CC(Certify),
    CC(PolicyNV), CC(CertifyCreation), CC(Duplicate), CC(GetTime), CC(GetSessionAuditDigest),
    CC(NV_Read), CC(NV_ReadLock), CC(ObjectChangeAuth), CC(PolicySecret), CC(Rewrap),
    CC(Create), CC(ECDH_ZGen), CC(HMAC), CC(Import), CC(Load), CC(Quote), CC(RSA_Decrypt),
    CC(HMAC_Start), CC(SequenceUpdate), CC(Sign), CC(Unseal), CC(PolicySigned),
    CC(ContextLoad), CC(ContextSave), CC(ECDH_KeyGen), CC(EncryptDecrypt), CC(FlushContext),
    CC(LoadExternal), CC(MakeCredential), CC(NV_ReadPublic), CC(PolicyAuthorize),
    CC(PolicyAuthValue), CC(PolicyCommandCode), CC(PolicyCounterTimer), CC(PolicyCpHash),
    CC(PolicyLocality), CC(PolicyNameHash), CC(PolicyOR), CC(PolicyTicket), CC(ReadPublic),
    CC(RSA_Encrypt), CC(StartAuthSession), CC(VerifySignature), CC(ECC_Parameters),
    CC(FirmwareRead), CC(GetCapability), CC(GetRandom), CC(GetTestResult), CC(Hash),
    CC(PCR_Read), CC(PolicyPCR), CC(PolicyRestart), CC(ReadClock), CC(PCR_Extend),
    CC(PCR_SetAuthValue), CC(NV_Certify), CC(EventSequenceComplete), CC(HashSequenceStart),
    CC(PolicyPhysicalPresence), CC(PolicyDuplicationSelect), CC(PolicyGetDigest),
    CC(TestParms), CC(Commit), CC(PolicyPassword), CC(ZGen_2Phase), CC(EC_Ephemeral),
    CC(PolicyNvWritten), CC(PolicyTemplate), CC(CreateLoaded), CC(PolicyAuthorizeNV),
    CC(EncryptDecrypt2), CC(AC_GetCapability), CC(AC_Send), CC(Policy_AC_SendSelect),
    CC(CertifyX509), CC(ACT_SetTimeout),
};
#undef CC

size_t cc_count(void)
{
    return sizeof(cc_table) / sizeof(cc_table[0]);
}

TPM2_CC cc_code(size_t i)
{
    return cc_table[i].code;
}

const char *cc_name(size_t i)
{
    return cc_table[i].name;
}

int cc_index(TPM2_CC cc)
{
    for (size_t i = 0; i < cc_count(); i++)
        if (cc_table[i].code == cc)
            return (int)i;
    return -1;
}

int cc_index_by_name(const char *name)
{
    for (size_t i = 0; i < cc_count(); i++)
        if (!strcmp(cc_table[i].name, name))
            return (int)i;
    return -1;
}

int cc_signs(TPM2_CC cc)
{
    switch (cc) {
    case TPM2_CC_Sign:
    case TPM2_CC_Quote:
    case TPM2_CC_Certify:
    case TPM2_CC_CertifyCreation:
    case TPM2_CC_CertifyX509:
    case TPM2_CC_GetTime:
    case TPM2_CC_NV_Certify:
    case TPM2_CC_GetSessionAuditDigest:
    case TPM2_CC_GetCommandAuditDigest:
        return 1;
    default:
        return 0;
    }
}

const char *alg_name(enum key_alg a)
{
    return a == ALG_ECC ? "ecc" : a == ALG_RSA ? "rsa" : "*";
}

int tpm_header(const uint8_t *buf, size_t len, TPM2_ST *tag, uint32_t *size, uint32_t *code)
{
    size_t off = 0;

    if (Tss2_MU_TPM2_ST_Unmarshal(buf, len, &off, tag) ||
        Tss2_MU_UINT32_Unmarshal(buf, len, &off, size) ||
        Tss2_MU_UINT32_Unmarshal(buf, len, &off, code))
        return -1;
    return 0;
}

static enum key_alg from_type(TPMI_ALG_PUBLIC type)
{
    return type == TPM2_ALG_ECC ? ALG_ECC : type == TPM2_ALG_RSA ? ALG_RSA : ALG_ANY;
}

/*
 * Moves *off past the header, nhandles handles and (for TPM2_ST_SESSIONS) the
 * authorization area, to the first parameter. 0 or -1 (truncated).
 */
static int skip_to_params(const uint8_t *cmd, size_t len, unsigned nhandles, size_t *off)
{
    TPM2_ST tag;
    uint32_t size, code, auth;

    if (tpm_header(cmd, len, &tag, &size, &code))
        return -1;
    *off = TPM_HDR_LEN;
    for (unsigned i = 0; i < nhandles; i++) {
        TPM2_HANDLE h;
        if (Tss2_MU_TPM2_HANDLE_Unmarshal(cmd, len, off, &h))
            return -1;
    }
    if (tag == TPM2_ST_SESSIONS) {
        if (Tss2_MU_UINT32_Unmarshal(cmd, len, off, &auth) || auth > len - *off)
            return -1;
        *off += auth;
    }
    return 0;
}

enum key_alg cmd_object_alg(const uint8_t *cmd, size_t len)
{
    TPM2_ST tag;
    uint32_t size, code;
    size_t off = 0;
    TPM2B_PUBLIC pub;

    if (tpm_header(cmd, len, &tag, &size, &code))
        return ALG_ANY;
    memset(&pub, 0, sizeof(pub));
    switch (code) {
    case TPM2_CC_CreatePrimary:
    case TPM2_CC_Create: {
        TPM2B_SENSITIVE_CREATE sens;
        memset(&sens, 0, sizeof(sens)); /* Tss2_MU fills only a zeroed TPM2B */
        if (skip_to_params(cmd, len, 1, &off) ||
            Tss2_MU_TPM2B_SENSITIVE_CREATE_Unmarshal(cmd, len, &off, &sens) ||
            Tss2_MU_TPM2B_PUBLIC_Unmarshal(cmd, len, &off, &pub))
            return ALG_ANY;
        return from_type(pub.publicArea.type);
    }
    case TPM2_CC_CreateLoaded: {
        TPM2B_SENSITIVE_CREATE sens;
        TPM2B_TEMPLATE tmpl;
        TPMI_ALG_PUBLIC type;
        size_t toff = 0;
        memset(&sens, 0, sizeof(sens));
        memset(&tmpl, 0, sizeof(tmpl));
        if (skip_to_params(cmd, len, 1, &off) ||
            Tss2_MU_TPM2B_SENSITIVE_CREATE_Unmarshal(cmd, len, &off, &sens) ||
            Tss2_MU_TPM2B_TEMPLATE_Unmarshal(cmd, len, &off, &tmpl) ||
            Tss2_MU_UINT16_Unmarshal(tmpl.buffer, tmpl.size, &toff, &type))
            return ALG_ANY;
        return from_type(type);
    }
    case TPM2_CC_Load: {
        TPM2B_PRIVATE priv;
        memset(&priv, 0, sizeof(priv));
        if (skip_to_params(cmd, len, 1, &off) ||
            Tss2_MU_TPM2B_PRIVATE_Unmarshal(cmd, len, &off, &priv) ||
            Tss2_MU_TPM2B_PUBLIC_Unmarshal(cmd, len, &off, &pub))
            return ALG_ANY;
        return from_type(pub.publicArea.type);
    }
    case TPM2_CC_LoadExternal: {
        TPM2B_SENSITIVE sens;
        memset(&sens, 0, sizeof(sens));
        if (skip_to_params(cmd, len, 0, &off) ||
            Tss2_MU_TPM2B_SENSITIVE_Unmarshal(cmd, len, &off, &sens) ||
            Tss2_MU_TPM2B_PUBLIC_Unmarshal(cmd, len, &off, &pub))
            return ALG_ANY;
        return from_type(pub.publicArea.type);
    }
    case TPM2_CC_RSA_Decrypt:
    case TPM2_CC_RSA_Encrypt:
        return ALG_RSA;
    case TPM2_CC_ECDH_ZGen:
    case TPM2_CC_ECDH_KeyGen:
    case TPM2_CC_ZGen_2Phase:
    case TPM2_CC_Commit:
    case TPM2_CC_EC_Ephemeral:
        return ALG_ECC;
    default:
        return ALG_ANY;
    }
}

TPM2_HANDLE cmd_key_handle(const uint8_t *cmd, size_t len)
{
    TPM2_ST tag;
    uint32_t size, code;
    size_t off = TPM_HDR_LEN;
    TPM2_HANDLE h1 = 0, h2 = 0;

    if (tpm_header(cmd, len, &tag, &size, &code))
        return 0;
    switch (code) {
    case TPM2_CC_ActivateCredential: /* activateHandle, keyHandle */
        if (Tss2_MU_TPM2_HANDLE_Unmarshal(cmd, len, &off, &h1) ||
            Tss2_MU_TPM2_HANDLE_Unmarshal(cmd, len, &off, &h2))
            return 0;
        return h2;
    case TPM2_CC_StartAuthSession: /* tpmKey, bind: unsalted when tpmKey is TPM2_RH_NULL */
        if (Tss2_MU_TPM2_HANDLE_Unmarshal(cmd, len, &off, &h1) || h1 == TPM2_RH_NULL)
            return 0;
        return h1;
    default:
        return 0;
    }
}

int64_t resp_code(const uint8_t *resp, size_t len)
{
    TPM2_ST tag;
    uint32_t size, rc;

    if (tpm_header(resp, len, &tag, &size, &rc))
        return -1;
    return rc;
}

static enum key_alg from_sig(TPMI_ALG_SIG_SCHEME alg)
{
    switch (alg) {
    case TPM2_ALG_RSASSA:
    case TPM2_ALG_RSAPSS:
        return ALG_RSA;
    case TPM2_ALG_ECDSA:
    case TPM2_ALG_ECDAA:
    case TPM2_ALG_SM2:
    case TPM2_ALG_ECSCHNORR:
        return ALG_ECC;
    default:
        return ALG_ANY;
    }
}

enum key_alg resp_signature_alg(TPM2_CC cc, const uint8_t *resp, size_t len)
{
    TPM2_ST tag;
    uint32_t size, rc, psize;
    size_t off = 0;
    TPMT_SIGNATURE sig;

    if (tpm_header(resp, len, &tag, &size, &rc) || rc != TPM2_RC_SUCCESS)
        return ALG_ANY;
    off = TPM_HDR_LEN;
    /* None of the signing commands has response handles. */
    if (tag == TPM2_ST_SESSIONS && Tss2_MU_UINT32_Unmarshal(resp, len, &off, &psize))
        return ALG_ANY;
    switch (cc) {
    case TPM2_CC_Sign:
        break;
    case TPM2_CC_Quote:
    case TPM2_CC_Certify:
    case TPM2_CC_CertifyCreation:
    case TPM2_CC_GetTime:
    case TPM2_CC_NV_Certify:
    case TPM2_CC_GetSessionAuditDigest:
    case TPM2_CC_GetCommandAuditDigest: {
        TPM2B_ATTEST att;
        memset(&att, 0, sizeof(att));
        if (Tss2_MU_TPM2B_ATTEST_Unmarshal(resp, len, &off, &att))
            return ALG_ANY;
        break;
    }
    case TPM2_CC_CertifyX509: {
        TPM2B_MAX_BUFFER added;
        TPM2B_DIGEST tbs;
        memset(&added, 0, sizeof(added));
        memset(&tbs, 0, sizeof(tbs));
        if (Tss2_MU_TPM2B_MAX_BUFFER_Unmarshal(resp, len, &off, &added) ||
            Tss2_MU_TPM2B_DIGEST_Unmarshal(resp, len, &off, &tbs))
            return ALG_ANY;
        break;
    }
    default:
        return ALG_ANY;
    }
    memset(&sig, 0, sizeof(sig));
    if (Tss2_MU_TPMT_SIGNATURE_Unmarshal(resp, len, &off, &sig))
        return ALG_ANY;
    return from_sig(sig.sigAlg);
}

size_t readpublic_cmd(TPM2_HANDLE handle, uint8_t out[14])
{
    size_t off = 0;

    if (Tss2_MU_TPM2_ST_Marshal(TPM2_ST_NO_SESSIONS, out, 14, &off) ||
        Tss2_MU_UINT32_Marshal(14, out, 14, &off) ||
        Tss2_MU_TPM2_CC_Marshal(TPM2_CC_ReadPublic, out, 14, &off) ||
        Tss2_MU_TPM2_HANDLE_Marshal(handle, out, 14, &off))
        return 0;
    return off;
}

enum key_alg readpublic_alg(const uint8_t *resp, size_t len)
{
    TPM2_ST tag;
    uint32_t size, rc;
    size_t off = TPM_HDR_LEN;
    TPM2B_PUBLIC pub;

    if (tpm_header(resp, len, &tag, &size, &rc) || rc != TPM2_RC_SUCCESS)
        return ALG_ANY;
    memset(&pub, 0, sizeof(pub));
    if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(resp, len, &off, &pub))
        return ALG_ANY;
    return from_type(pub.publicArea.type);
}
