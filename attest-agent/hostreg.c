/* SPDX-License-Identifier: BSD-3-Clause */
/* Host registration (docs/evidence.md): the verifier's challenge for the host AK, activated in
 * the host TPM by vtpm-mgr. */
#include "hostreg.h"

#include <errno.h>
#include <stdlib.h>

#include "ctlproto.h"
#include "log.h"
#include "registration.h"
#include "secmem.h"
#include "verifierapi.h"

static int host_request(const struct evidence *e, uint8_t **out, size_t *len)
{
    cbor_item_t *m = ctl_map_new();
    int r = -ENOMEM;

    if (m && !ctl_put_uint(m, "v", 1) &&
        !ctl_put_item(m, "host_chain", cbor_incref((cbor_item_t *)e->host_chain)))
        r = ctl_serialize(m, out, len);
    if (m)
        cbor_decref(&m);
    return r;
}

static int activate(const struct mgr_client *mgr, const struct http_opts *o,
                    struct reg_challenge *cp)
{
    struct reg_challenge c = *cp;
    uint8_t *cred = NULL;
    size_t n = 0;
    int r;

    LOG_INFO("registering the host AK at %s", o->base_url);
    r = mgr_host_activate(mgr, c.blob, c.blob_len, c.secret, c.secret_len, &cred, &n);
    if (r == 0)
        r = registration_answer(o, c.registration, cred, n);
    if (r < 0)
        LOG_ERROR("host registration failed: %d", r);
    secure_free(cred, n);
    reg_challenge_free(&c);
    return r;
}

int hostreg_ensure(const struct mgr_client *mgr, const struct evidence *e,
                   const struct http_opts *o)
{
    struct reg_reply rep;
    uint8_t *req = NULL;
    size_t len = 0;
    int r = host_request(e, &req, &len);

    if (r == 0)
        r = verifier_register(o, "/v1/hosts/register", req, len, &rep);
    free(req);
    if (r < 0)
        return r;
    return rep.registered ? 0 : activate(mgr, o, &rep.c);
}
