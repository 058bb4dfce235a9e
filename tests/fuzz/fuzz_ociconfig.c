/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer harness: the agent's OCI state and config.json parsing and launch-config extraction
 * (a bundle's config.json is written by whoever builds the container). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "launchcfg.h"
#include "ocispec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct oci_state st;
    struct oci_bundle b;
    struct launch_config lc;
    uint8_t digest[DIGEST_LEN] = { 0 };

    if (oci_state_parse((const char *)data, size, &st) == 0)
        oci_state_free(&st);
    if (oci_bundle_parse("/nonexistent-bundle", data, size, &b) != 0)
        return 0;
    if (launchcfg_extract(b.config, digest, &lc) == 0) {
        cbor_item_t *c = launchcfg_to_cbor(&lc);
        json_t *j = launchcfg_to_json(&lc);
        if (c)
            cbor_decref(&c);
        json_decref(j);
        launchcfg_free(&lc);
    }
    oci_bundle_free(&b);
    return 0;
}
