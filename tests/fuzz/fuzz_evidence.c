/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer harness for the verifier's evidence parser and every stateless check behind it
 * (event log, TPM structures, X.509 chain, policy, the host part) on untrusted CBOR. */
#include <stddef.h>
#include <stdint.h>

#include "../../verifier/check/evidence.h"
#include "../../verifier/check/policy.h"
#include "../../verifier/check/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct policy pol;
    struct evidence ev;
    struct verify_result res;
    char err[128];

    if (!pol.root && policy_default(&pol) < 0)
        return 0;
    if (vf_evidence_parse(data, size, &ev, err, sizeof(err)) == 0) {
        verify_evidence(&ev, &pol, NULL, &res);
        verify_result_free(&res);
    }
    vf_evidence_free(&ev);
    /* The same bytes as host-only evidence (POST /v1/hosts/evidence). */
    if (vf_host_evidence_parse(data, size, &ev, err, sizeof(err)) == 0) {
        verify_host_evidence(&ev, &pol, NULL, &res);
        verify_result_free(&res);
    }
    vf_evidence_free(&ev);
    return 0;
}
