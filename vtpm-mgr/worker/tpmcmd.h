/* SPDX-License-Identifier: BSD-3-Clause */
/* Validation of TPM 2.0 command headers from clients and construction of TPM error responses. */
#ifndef VTPM_WORKER_TPMCMD_H
#define VTPM_WORKER_TPMCMD_H

#include <stddef.h>
#include <stdint.h>

#define TPM_HDR_LEN 10u

/*
 * Checks a 10-byte command header: tag must be TPM_ST_NO_SESSIONS or TPM_ST_SESSIONS and
 * size within [TPM_HDR_LEN, VTPM_TPM_BUFSIZE]. Returns 0 and the total size, or the TPM
 * response code to answer with (TPM2_RC_BAD_TAG or TPM2_RC_COMMAND_SIZE).
 */
uint32_t tpmcmd_check_header(const uint8_t hdr[TPM_HDR_LEN], uint32_t *size);
/* Command code of a command whose header was checked. */
uint32_t tpmcmd_code(const uint8_t hdr[TPM_HDR_LEN]);
/* Response code of a response of at least TPM_HDR_LEN bytes; TPM2_RC_FAILURE if shorter. */
uint32_t tpmcmd_resp_rc(const uint8_t *resp, size_t len);
/* Writes a 10-byte error response carrying rc into out; returns TPM_HDR_LEN. */
size_t tpmcmd_error_response(uint8_t out[TPM_HDR_LEN], uint32_t rc);

#endif
