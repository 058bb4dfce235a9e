/* SPDX-License-Identifier: BSD-3-Clause */
/* AK registration at a verifier by credential activation, remembered in the vTPM's NV. */
#ifndef AGENT_REGISTRATION_H
#define AGENT_REGISTRATION_H

#include "attest.h"
#include "http.h"

/*
 * Gives the id of a completed registration of a's AK at the verifier o->base_url: the one
 * recorded in the vTPM (VTPM_NV_REG) for that verifier, unless the AK is new; otherwise
 * POST /v1/register, ActivateCredential, POST /v1/register/activate, and record it.
 * e must carry vtpm_uuid, ek_cert, ak_pub and host_chain. Returns 0 or a negative errno.
 */
/* POST /v1/register/activate {v, registration, credential}: 0 when the verifier accepts it,
 * -EACCES when it refuses, another negative errno on failure. Also used for host registration. */
int registration_answer(const struct http_opts *o, const char *id, const uint8_t *cred,
                        size_t cred_len);

int registration_ensure(struct attest *a, const struct evidence *e, const struct http_opts *o,
                        char id[REG_ID_MAX]);

#endif
