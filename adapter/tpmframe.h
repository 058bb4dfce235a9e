/* SPDX-License-Identifier: BSD-3-Clause */
/* TPM 2.0 command and response framing checks for the CUSE adapter, parsed with Tss2_MU. */
#ifndef VTPM_ADAPTER_TPMFRAME_H
#define VTPM_ADAPTER_TPMFRAME_H

#include <stddef.h>
#include <stdint.h>

#define TPMFRAME_HDR_LEN 10u

/*
 * Checks that buf[0..len) is exactly one TPM 2.0 command: a TPM2_ST_NO_SESSIONS or
 * TPM2_ST_SESSIONS tag and a size field equal to len. Returns 0, -E2BIG when len exceeds
 * the vTPM buffer (VTPM_TPM_BUFSIZE; the error the kernel's /dev/tpm0 gives), or -EINVAL.
 */
int tpmframe_check_command(const uint8_t *buf, size_t len);

/*
 * Reads the total size from a response header. Accepts the TPM 2.0 response tags and
 * TPM_ST_RSP_COMMAND (a TPM 2.0 answers a malformed command with it). Returns 0 and sets
 * *size (10 .. VTPM_TPM_BUFSIZE), or -EPROTO and leaves *size untouched.
 */
int tpmframe_response_size(const uint8_t hdr[TPMFRAME_HDR_LEN], uint32_t *size);

#endif
