/* SPDX-License-Identifier: BSD-3-Clause */
/* libtpms glue: one TPM per process, so instances are swapped in and out of libtpms' globals. */
#ifndef VTPM_WORKER_TPMCORE_H
#define VTPM_WORKER_TPMCORE_H

#include <stddef.h>
#include <stdint.h>

#include "inst.h"

/* Chooses TPM 2.0 and registers the in-memory NVRAM callbacks; 0 or -EIO. */
int tpmcore_init(void);

/*
 * Makes inst the TPM libtpms runs. The previous instance's volatile state is saved into
 * its vol slot first. inst starts from inst->perm (or is manufactured if it has none)
 * and, if inst->vol is set, resumes from it (vol is consumed); otherwise it waits for
 * TPM2_Startup. 0, or -EINVAL if libtpms rejects the state (nothing is active then).
 */
int tpmcore_activate(struct inst *inst);

/* Stops the active instance; save_vol keeps its volatile state in its vol slot. */
void tpmcore_deactivate(int save_vol);

/* The instance libtpms runs now, or NULL. */
struct inst *tpmcore_active(void);

/*
 * Runs one TPM command on inst (activating it). Copies the response to resp (cap bytes)
 * and sets *resp_len. 0, or a negative errno (no response then).
 */
int tpmcore_process(struct inst *inst, const uint8_t *cmd, size_t cmd_len, uint8_t *resp,
                    size_t cap, size_t *resp_len);

/* tpmEstablished flag of inst (activating it); a SWTPM_RES_* value. */
uint32_t tpmcore_get_established(struct inst *inst, uint8_t *bit);
/* Resets tpmEstablished as if from locality loc; a SWTPM_RES_* or libtpms error value. */
uint32_t tpmcore_reset_established(struct inst *inst, uint8_t loc);

/* Activations that had to swap another instance out. */
uint64_t tpmcore_swaps(void);

#endif
