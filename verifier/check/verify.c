/* SPDX-License-Identifier: BSD-3-Clause */
/* The stateless evidence checks that offline `verify` and the service share. */
#include "check/verify.h"

#include <string.h>
#include <time.h>

#include "check/chain.h"
#include "check/hostcheck.h"
#include "check/runtime.h"

void verify_evidence(const struct evidence *ev, const struct policy *pol, X509_STORE *trust,
                     struct verify_result *res)
{
    verify_evidence_src(ev, pol, trust, NULL, res);
}

void verify_evidence_src(const struct evidence *ev, const struct policy *pol, X509_STORE *trust,
                         const struct rt_source *src, struct verify_result *res)
{
    struct chain_input ci = {
        .ek_cert = ev->ek_cert, .host_chain = ev->host_chain, .vtpm_uuid = ev->vtpm_uuid,
    };

    memset(res, 0, sizeof(*res));
    quote_check(ev, &res->quote, &res->reasons);
    if (vf_eventlog_check(ev, &res->meas, &res->reasons) == 0) {
        policy_check(pol, &res->meas, &res->reasons);
        runtime_check_src(json_object_get(pol->root, "runtime"), ev,
                          res->meas.has_rootfs ? res->meas.rootfs_digest : "", src,
                          &res->reasons, &res->alerts);
    }
    chain_check_cached(&ci, trust, &res->reasons);
    host_check(ev, pol->boot, &res->host);
    policy_check_boot_period(pol, (int64_t)time(NULL), &res->host);
    reasons_append(&res->reasons, &res->host);
}

void verify_host_evidence(const struct evidence *ev, const struct policy *pol, X509_STORE *trust,
                          struct verify_result *res)
{
    char subject[CHAIN_SUBJECT_MAX];
    uint8_t name[TPM_NAME_MAX];
    size_t nlen = 0;
    struct bytes ak = { 0 };
    EVP_PKEY *ek = NULL;

    memset(res, 0, sizeof(*res));
    chain_host_identity(ev->host_chain, trust, &res->host, &ek, &ak, name, &nlen, subject);
    EVP_PKEY_free(ek);
    host_check(ev, pol->boot, &res->host);
    policy_check_boot_period(pol, (int64_t)time(NULL), &res->host);
    reasons_append(&res->reasons, &res->host);
}

void verify_result_free(struct verify_result *res)
{
    reasons_free(&res->reasons);
    reasons_free(&res->host);
    reasons_free(&res->alerts);
}

json_t *verify_result_json(const struct evidence *ev, const struct reasons *r)
{
    return verify_verdict_json(ev, reasons_deny(r) ? "deny" : "allow", r);
}

json_t *verify_verdict_json(const struct evidence *ev, const char *verdict,
                            const struct reasons *r)
{
    json_t *reasons = reasons_json(r);

    if (!reasons)
        return NULL;
    return json_pack("{s:s, s:o, s:s, s:s}", "verdict", verdict, "reasons", reasons,
                     "container_id", ev->container_id, "vtpm_uuid", ev->vtpm_uuid);
}

json_t *verify_host_result_json(const struct evidence *ev, const struct reasons *r)
{
    json_t *reasons = reasons_json(r);

    if (!reasons)
        return NULL;
    return json_pack("{s:s, s:o, s:s}", "verdict", reasons_deny(r) ? "deny" : "allow",
                     "reasons", reasons, "node", ev->host.node);
}
