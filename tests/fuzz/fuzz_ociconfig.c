/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer harness: the agent's OCI state and config.json parsing, launch-config extraction
 * (mounts as runc applies them, masks, devices, seccomp, hooks) and the verifier's launch
 * rules on the record it makes (a bundle's config.json is written by whoever builds the
 * container). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "launchcfg.h"
#include "ocispec.h"
#include "../../verifier/check/launchpolicy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void judge(const cbor_item_t *record)
{
    static json_t *pol;
    struct reasons r = { 0 };

    if (!pol && !(pol = launch_policy_defaults()))
        abort();
    launch_policy_check(pol, record, &r);
    reasons_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct launch_env env = { .bundle_dir = "/nonexistent-bundle",
                                    .mgr_run_dir = "/nonexistent-bundle/run",
                                    .self_exe = "/nonexistent-bundle/attest-agent" };
    struct oci_state st;
    struct oci_bundle b;
    struct launch_config lc;
    uint8_t digest[DIGEST_LEN] = { 0 };

    if (oci_state_parse((const char *)data, size, &st) == 0)
        oci_state_free(&st);
    if (oci_bundle_parse(env.bundle_dir, data, size, &b) != 0)
        return 0;
    if (launchcfg_extract(b.config, digest, &env, &lc) == 0) {
        cbor_item_t *c = launchcfg_to_cbor(&lc);
        json_t *j = launchcfg_to_json(&lc);
        if (c) {
            judge(c);
            cbor_decref(&c);
        }
        json_decref(j);
        launchcfg_free(&lc);
    }
    oci_bundle_free(&b);
    return 0;
}
