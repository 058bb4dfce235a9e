/* SPDX-License-Identifier: BSD-3-Clause */
/* The stateless evidence checks that offline `verify` and the service share. */
#include "verify.h"

#include <string.h>

#include "chain.h"

void verify_evidence(const struct evidence *ev, const struct policy *pol, X509_STORE *trust,
                     struct verify_result *res)
{
    struct chain_input ci = {
        .ek_cert = ev->ek_cert, .host_chain = ev->host_chain, .vtpm_uuid = ev->vtpm_uuid,
    };

    memset(res, 0, sizeof(*res));
    quote_check(ev, &res->quote, &res->reasons);
    if (vf_eventlog_check(ev, &res->meas, &res->reasons) == 0)
        policy_check(pol, &res->meas, &res->reasons);
    chain_check_cached(&ci, trust, &res->reasons);
}

void verify_result_free(struct verify_result *res)
{
    reasons_free(&res->reasons);
}

json_t *verify_result_json(const struct evidence *ev, const struct reasons *r)
{
    json_t *reasons = reasons_json(r);

    if (!reasons)
        return NULL;
    return json_pack("{s:s, s:o, s:s, s:s}", "verdict", reasons_deny(r) ? "deny" : "allow",
                     "reasons", reasons, "container_id", ev->container_id, "vtpm_uuid",
                     ev->vtpm_uuid);
}
