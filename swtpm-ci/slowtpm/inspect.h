/* SPDX-License-Identifier: BSD-3-Clause */
/* What the slow host TPM needs to know of a TPM 2.0 command and its response (Tss2_MU). */
#ifndef SLOWTPM_INSPECT_H
#define SLOWTPM_INSPECT_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#define TPM_HDR_LEN 10u
#define TPM_MAX_CMD 4096u /* swtpm's default buffer: larger frames are refused */

/* The key algorithm a command's cost depends on. */
enum key_alg { ALG_ANY = 0, ALG_ECC, ALG_RSA };

/* Reads tag, size and code of a command or response header (10 bytes); 0 or -1. */
int tpm_header(const uint8_t *buf, size_t len, TPM2_ST *tag, uint32_t *size, uint32_t *code);

/* Number of known command names, and the i-th (code, name). */
size_t cc_count(void);
TPM2_CC cc_code(size_t i);
const char *cc_name(size_t i);
/* Index of a command code or of a name in the table, or -1. */
int cc_index(TPM2_CC cc);
int cc_index_by_name(const char *name);

/* Commands whose response carries a TPMT_SIGNATURE made with an asymmetric key. */
int cc_signs(TPM2_CC cc);

/*
 * The algorithm of the key a command creates or loads, read from the template in the
 * command (CreatePrimary, Create, CreateLoaded, Load, LoadExternal); ALG_ANY otherwise.
 */
enum key_alg cmd_object_alg(const uint8_t *cmd, size_t len);

/*
 * For commands whose cost is set by a key named only by handle (ActivateCredential,
 * StartAuthSession with a salt key): that handle, else 0.
 */
TPM2_HANDLE cmd_key_handle(const uint8_t *cmd, size_t len);

/* The key algorithm of a signing command's TPMT_SIGNATURE in its response (rc 0). */
enum key_alg resp_signature_alg(TPM2_CC cc, const uint8_t *resp, size_t len);

/* TPM2_ReadPublic(handle) as a command (14 bytes), and the key type of its response. */
size_t readpublic_cmd(TPM2_HANDLE handle, uint8_t out[14]);
enum key_alg readpublic_alg(const uint8_t *resp, size_t len);

/* The response code of a response (0 when unreadable is not possible: -1 means unreadable). */
int64_t resp_code(const uint8_t *resp, size_t len);

const char *alg_name(enum key_alg a);

#endif
