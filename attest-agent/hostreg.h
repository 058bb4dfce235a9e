/* SPDX-License-Identifier: BSD-3-Clause */
/* Host registration: proving to the verifier that the host AK lives in the host EK's TPM. */
#ifndef AGENT_HOSTREG_H
#define AGENT_HOSTREG_H

#include "evidence.h"
#include "http.h"
#include "mgrclient.h"

/*
 * POST /v1/hosts/register with the host chain; when the verifier answers with a challenge,
 * vtpm-mgr activates it in the host TPM (host-activate) and the credential goes back through
 * POST /v1/register/activate. Nothing to do when the verifier answers {registered: true}.
 * 0 or a negative errno.
 */
int hostreg_ensure(const struct mgr_client *mgr, const struct evidence *e,
                   const struct http_opts *o);

#endif
