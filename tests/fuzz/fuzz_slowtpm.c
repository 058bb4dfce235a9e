/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer harness: what the slow host TPM reads of its clients' commands and of answers. */
#include <stddef.h>
#include <stdint.h>

#include "inspect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const TPM2_CC signing[] = {
        TPM2_CC_Sign, TPM2_CC_Quote, TPM2_CC_Certify, TPM2_CC_CertifyCreation,
        TPM2_CC_CertifyX509, TPM2_CC_GetTime, TPM2_CC_NV_Certify,
        TPM2_CC_GetSessionAuditDigest, TPM2_CC_GetCommandAuditDigest,
    };
    TPM2_ST tag;
    uint32_t sz, code;
    enum key_alg a;

    /* A command as a client sends it. */
    a = cmd_object_alg(data, size);
    if (a != ALG_ANY && a != ALG_ECC && a != ALG_RSA)
        __builtin_trap();
    if (cmd_key_handle(data, size) && tpm_header(data, size, &tag, &sz, &code))
        __builtin_trap(); /* a handle only from a readable header */
    (void)resp_code(data, size);
    (void)readpublic_alg(data, size);
    /* An answer to one of the signing commands (first byte picks which). */
    if (size > 0) {
        a = resp_signature_alg(signing[data[0] % (sizeof(signing) / sizeof(signing[0]))],
                               data + 1, size - 1);
        if (a != ALG_ANY && resp_code(data + 1, size - 1) != 0)
            __builtin_trap(); /* an algorithm only from a success answer */
    }
    return 0;
}
