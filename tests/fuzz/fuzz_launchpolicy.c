/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer harness: the verifier's launch rules on untrusted input. First byte even: the
 * rest is a launch-config record's `config` map (CBOR, from evidence), judged by the default
 * rules. Odd: the rest is a policy's `launch` object (JSON, from an operator's file),
 * validated and, when valid, used to judge a fixed hardened record. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "../../verifier/check/launchpolicy.h"
#include "../tools/launch_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void judge(const json_t *pol, const cbor_item_t *record)
{
    struct reasons r = { 0 };

    launch_policy_check(pol, record, &r);
    reasons_free(&r);
}

static void record_case(const uint8_t *data, size_t size)
{
    static json_t *pol;
    cbor_item_t *it = NULL;

    if (!pol && !(pol = launch_policy_defaults()))
        abort();
    if (ctl_decode(data, size, &it) < 0) /* the bounded decoder evidence goes through */
        return;
    if (cbor_isa_map(it))
        judge(pol, it);
    cbor_decref(&it);
}

static void policy_case(const uint8_t *data, size_t size)
{
    static cbor_item_t *record;
    json_t *l = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL), *pol;
    char err[256];

    if (!record) {
        record = ctl_map_new();
        launch_fixture_fill(record);
    }
    if (!l)
        return;
    pol = launch_policy_defaults();
    if (pol && launch_policy_validate(l, err, sizeof(err)) == 0 && json_object_update(pol, l) == 0)
        judge(pol, record);
    json_decref(pol);
    json_decref(l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        policy_case(data + 1, size - 1);
    else
        record_case(data + 1, size - 1);
    return 0;
}
