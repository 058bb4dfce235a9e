/* SPDX-License-Identifier: BSD-3-Clause */
/* TPM commands the worker issues itself (Startup, EK, EK certificate, hierarchy control) via SAPI. */
#ifndef VTPM_WORKER_PROVISION_H
#define VTPM_WORKER_PROVISION_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "inst.h"

/* Sets up the SAPI context over the in-process TCTI; 0 or -ENOMEM. */
int prov_init(void);
void prov_fini(void);

/* Each runs on inst (activating it) and returns 0, or -EIO if the TPM refused. */
int prov_startup_clear(struct inst *inst);
int prov_disable_platform(struct inst *inst);
/* Creates the TCG default EK (L-1 RSA 2048 or L-2 ECC P-256), returns its public, flushes it. */
int prov_create_ek(struct inst *inst, uint32_t ek_type, TPM2B_PUBLIC *pub);
/* Defines the TCG EK certificate index with platform auth, writes der and write-locks it. */
int prov_write_ekcert(struct inst *inst, uint32_t ek_type, const uint8_t *der, size_t len);

#endif
