/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer harness: the host-quote request checks of vtpm-mgr (control socket input), the
 * agent's reading of the reply, and PCR list options (one input, three readers). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "hostquote.h"
#include "mgrclient.h"
#include "pcrlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void as_text(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    uint32_t mask;

    if (!s)
        return;
    memcpy(s, data, size);
    s[size] = '\0';
    if (pcrlist_parse(s, &mask) == 0) {
        char out[80];
        uint32_t again = 0;
        /* what is accepted formats and parses back to the same PCRs */
        if (pcrlist_format(mask, out, sizeof(out)) != 0 || pcrlist_parse(out, &again) != 0 ||
            again != mask)
            abort();
    }
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hostquote_req q;
    struct mgr_host_quote hq;
    const char *why;
    cbor_item_t *m = NULL;

    as_text(data, size);
    if (ctl_decode(data, size, &m) != 0)
        return 0;
    if (hostquote_parse(m, &q, &why) == 0 && (q.mask == 0 || q.mask >> 24 ||
                                              q.nonce_len < 16 || q.nonce_len > 64))
        abort();
    if (mgr_host_quote_parse(m, 0x20ffu, &hq) == 0)
        mgr_host_quote_free(&hq);
    if (mgr_host_quote_parse(m, 0xffffffu, &hq) == 0)
        mgr_host_quote_free(&hq);
    cbor_decref(&m);
    return 0;
}
