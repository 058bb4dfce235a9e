/* SPDX-License-Identifier: BSD-3-Clause */
/* Verifier REST calls: JSON answers parsed with jansson, failures reported on stderr. */
#include "verifierapi.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "log.h"

static json_t *body_json(const struct http_resp *resp)
{
    return resp->body ? json_loadb((const char *)resp->body, resp->len, 0, NULL) : NULL;
}

/* Prints "attest-agent: <what>: <reason>" for each reason, error or the raw body. */
static void print_reasons(const char *what, const struct http_resp *resp)
{
    json_t *j = body_json(resp), *reasons = json_object_get(j, "reasons"), *v;
    const char *err = json_string_value(json_object_get(j, "error"));
    size_t i, n = 0;

    json_array_foreach(reasons, i, v) {
        const char *s = json_string_value(v);
        fprintf(stderr, "attest-agent: %s: %s\n", what, s ? s : "(reason not text)");
        n++;
    }
    if (err)
        fprintf(stderr, "attest-agent: %s: %s\n", what, err);
    else if (n == 0)
        fprintf(stderr, "attest-agent: %s: HTTP %ld %.200s\n", what, resp->status,
                resp->body && !j ? (const char *)resp->body : "");
    json_decref(j);
}

int verifier_nonce(const struct http_opts *o, uint8_t **nonce, size_t *len)
{
    struct http_resp resp;
    json_t *j = NULL;
    const char *hex;
    int r = http_get(o, "/v1/nonce", &resp);

    if (r < 0)
        return r;
    r = -EBADMSG;
    if (resp.status != 200) {
        print_reasons("nonce", &resp);
        r = -EIO;
        goto out;
    }
    j = body_json(&resp);
    hex = json_string_value(json_object_get(j, "nonce"));
    if (hex && hex_decode(hex, nonce, len) == 0) {
        r = *len >= NONCE_MIN && *len <= 64 ? 0 : -EBADMSG;
        if (r < 0)
            free(*nonce);
    }
    if (r < 0)
        LOG_ERROR("verifier: /v1/nonce answer has no usable nonce (hex, 16-64 bytes)");
out:
    json_decref(j);
    http_resp_free(&resp);
    return r;
}

int verifier_post_cbor(const struct http_opts *o, const char *path, const uint8_t *body,
                       size_t len, struct http_resp *resp)
{
    int r = http_post(o, path, "application/cbor", body, len, resp);

    if (r < 0)
        return r;
    if (resp->status >= 200 && resp->status < 300)
        return 0;
    print_reasons(path, resp);
    r = resp->status >= 400 && resp->status < 500 ? -EACCES : -EIO;
    http_resp_free(resp);
    return r;
}

static int judge(const struct http_resp *resp)
{
    json_t *j = body_json(resp);
    const char *v = json_string_value(json_object_get(j, "verdict"));
    int r = -EBADMSG;

    if (v && !strcmp(v, "allow") && resp->status == 200)
        r = 0;
    else if (v && !strcmp(v, "deny"))
        r = -EACCES;
    json_decref(j);
    return r;
}

static int send_for_verdict(const struct http_opts *o, const char *path, const uint8_t *body,
                            size_t len)
{
    struct http_resp resp;
    int r = http_post(o, path, "application/cbor", body, len, &resp);

    if (r < 0)
        return r;
    r = judge(&resp);
    if (r == -EACCES)
        print_reasons("denied", &resp);
    else if (r < 0)
        print_reasons("verifier answer not understood", &resp);
    http_resp_free(&resp);
    return r;
}

int verifier_send_evidence(const struct http_opts *o, const uint8_t *body, size_t len)
{
    return send_for_verdict(o, "/v1/evidence", body, len);
}

int verifier_send_host_evidence(const struct http_opts *o, const uint8_t *body, size_t len)
{
    return send_for_verdict(o, "/v1/hosts/evidence", body, len);
}
