/* SPDX-License-Identifier: BSD-3-Clause */
/* First-contact registration (MakeCredential at the verifier, ActivateCredential here) and
 * its record in the vTPM, so later quotes by the same AK skip it. */
#include "registration.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cborenc.h"
#include "ctlproto.h"
#include "log.h"
#include "secmem.h"
#include "verifierapi.h"

#define URL_MAX 1024

/* The recorded id when the record names this verifier; -ENOENT otherwise. */
static int recorded(struct attest *a, const char *url, char id[REG_ID_MAX])
{
    char who[URL_MAX];
    cbor_item_t *m = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    int r = vtpm_nv_read(a->tpm, VTPM_NV_REG, &buf, &len);

    if (r < 0)
        return r;
    r = ctl_decode(buf, len, &m);
    if (r == 0 && (ctl_get_str(m, "verifier", who, sizeof(who)) ||
                   ctl_get_str(m, "registration", id, REG_ID_MAX)))
        r = -EBADMSG;
    if (r == 0 && strcmp(who, url))
        r = -ENOENT;
    if (r == -EBADMSG)
        LOG_WARN("vTPM: unreadable registration record; registering again");
    if (m)
        cbor_decref(&m);
    free(buf);
    return r;
}

static int record(struct attest *a, const char *url, const char *id)
{
    cbor_item_t *m = ctl_map_new();
    uint8_t *buf = NULL;
    size_t len = 0;
    int r = -ENOMEM;

    if (m && !ctl_put_str(m, "verifier", url) && !ctl_put_str(m, "registration", id))
        r = cb_encode(m, &buf, &len);
    if (r == 0)
        r = vtpm_nv_write(a->tpm, VTPM_NV_REG, buf, len);
    if (m)
        cbor_decref(&m);
    free(buf);
    return r;
}

static int challenge(const struct evidence *e, const struct http_opts *o,
                     struct reg_challenge *c)
{
    struct reg_reply rep;
    uint8_t *req = NULL;
    size_t len = 0;
    int r = register_request_encode(e, &req, &len);

    if (r == 0)
        r = verifier_register(o, "/v1/register", req, len, &rep);
    free(req);
    if (r < 0)
        return r;
    if (rep.registered) {
        LOG_ERROR("verifier: malformed registration reply");
        return -EBADMSG;
    }
    *c = rep.c;
    return 0;
}

int registration_answer(const struct http_opts *o, const char *id, const uint8_t *cred,
                  size_t cred_len)
{
    uint8_t *req = NULL;
    size_t len = 0;
    int r = activate_request_encode(id, cred, cred_len, &req, &len);

    if (r == 0)
        r = verifier_activate(o, req, len);
    secure_free(req, len);
    if (r == -EACCES)
        LOG_ERROR("verifier: credential activation refused");
    return r;
}

static int do_register(struct attest *a, const struct evidence *e, const struct http_opts *o,
                       char id[REG_ID_MAX])
{
    struct reg_challenge c;
    uint8_t *cred = NULL;
    size_t cred_len = 0;
    int r = challenge(e, o, &c);

    if (r < 0)
        return r;
    r = vtpm_activate(a->tpm, c.blob, c.blob_len, c.secret, c.secret_len, &cred, &cred_len);
    if (r == 0)
        r = registration_answer(o, c.registration, cred, cred_len);
    if (r == 0)
        memcpy(id, c.registration, REG_ID_MAX);
    secure_free(cred, cred_len);
    reg_challenge_free(&c);
    return r;
}

int registration_ensure(struct attest *a, const struct evidence *e, const struct http_opts *o,
                        char id[REG_ID_MAX])
{
    int r = a->ak_created ? -ENOENT : recorded(a, o->base_url, id);

    if (r == 0)
        return 0;
    if (r != -ENOENT && r != -EBADMSG)
        return r;
    LOG_INFO("registering the AK of vTPM %s at %s", a->vt.uuid, o->base_url);
    if ((r = do_register(a, e, o, id)) < 0)
        return r;
    return record(a, o->base_url, id);
}
