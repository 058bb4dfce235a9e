/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer harness for the Kubernetes AdmissionReview parser, the decision behind it (with a
 * fake node table) and the response, on untrusted JSON. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../verifier/sched/admission.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int lookup(void *arg, const char *node, json_t **out)
{
    if (node[0] == 'e')
        return -EIO;
    if (node[0] == 'u')
        return -ENOENT;
    *out = json_pack("{s:s, s:[s], s:I, s:I}", "verdict", node[0] == 'd' ? "deny" : "allow",
                     "reasons", node[0] == 'r' ? "reattest-missed" : "x", "time",
                     (json_int_t)1796119100, "due", (json_int_t)(node[0] == 's' ? 1 : 0));
    return *out ? 0 : -ENOMEM;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct policy pol;
    static const char text[] =
        "{\"version\":2,\"digests\":{\"image\":[\"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaa\"]},\"launch\":{}}";
    struct admission_cfg cfg = { &pol, lookup, NULL, 60, "fz", 3, 0 };
    struct admission_req rq;
    struct admission_result res;
    char err[160];
    json_t *j;

    if (!pol.root && policy_parse(text, strlen(text), &pol, err, sizeof(err)) < 0)
        abort();
    if (admission_parse(data, size, &rq, err, sizeof(err)) == 0) {
        admission_decide(&cfg, &rq, 1796119200, &res);
        /* every decision must make a response: one that cannot be encoded is no answer */
        if (!(j = admission_response(&rq, &res)))
            abort();
        json_decref(j);
    }
    admission_req_free(&rq);
    return 0;
}
