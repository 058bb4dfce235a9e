/* SPDX-License-Identifier: BSD-3-Clause */
/* Small ESAPI queries that both the host-TPM layer and the agent's vTPM session need. */
#ifndef VTPM_ESYSUTIL_H
#define VTPM_ESYSUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <tss2/tss2_esys.h>

/*
 * 1 when handle (e.g. a persistent object) exists in the TPM, 0 when not, -1 when the query
 * failed (*rc tells why; the caller logs it). Asking first keeps ESYS from logging errors
 * for handles that are simply not there yet.
 */
int esys_handle_present(ESYS_CONTEXT *esys, uint32_t handle, TSS2_RC *rc);

/* Moves the bytes of an ESYS-allocated digest (e.g. an activated credential) into a new
 * buffer (*out, free()), then wipes and frees the ESYS copy. 0 or -ENOMEM (still freed). */
int esys_digest_take(TPM2B_DIGEST *d, uint8_t **out, size_t *len);

#endif
