/* SPDX-License-Identifier: BSD-3-Clause */
/* Verifier REST calls: JSON answers parsed with jansson, failures reported on stderr. */
#include "verifierapi.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "digest.h"
#include "evidence.h"
#include "hexutil.h"
#include "log.h"
#include "netproxy.h"

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
        log_diag("attest-agent: %s: %s\n", what, s ? s : "(reason not text)");
        n++;
    }
    if (err)
        log_diag("attest-agent: %s: %s\n", what, err);
    else if (n == 0)
        log_diag("attest-agent: %s: HTTP %ld %.200s\n", what, resp->status,
                resp->body && !j ? (const char *)resp->body : "");
    json_decref(j);
}

static int local_nonce(const struct http_opts *o, uint8_t **nonce, size_t *len)
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

static int post_cbor(const struct http_opts *o, const char *path, const uint8_t *body,
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

/* A time field of the answer: an integer >= 0 (at most NODE_TIME_MAX), else 0 (absent). */
#define NODE_TIME_MAX ((int64_t)1 << 40)
static int64_t time_field(const json_t *j, const char *key)
{
    const json_t *v = json_object_get(j, key);
    json_int_t t = json_is_integer(v) ? json_integer_value(v) : 0;

    return t > 0 && t <= NODE_TIME_MAX ? (int64_t)t : 0;
}

static int node_reason(const json_t *j)
{
    const json_t *v;
    size_t i;

    json_array_foreach(json_object_get(j, "reasons"), i, v) {
        const char *s = json_string_value(v);
        if (s && !strncmp(s, NODE_VERDICT_REASON, strlen(NODE_VERDICT_REASON)))
            return 1;
    }
    return 0;
}

/* 1 when a reason of the answer is code or code:detail. */
static int has_reason(const json_t *j, const char *code)
{
    size_t n = strlen(code), i;
    const json_t *v;

    json_array_foreach(json_object_get(j, "reasons"), i, v) {
        const char *s = json_string_value(v);
        if (s && !strncmp(s, code, n) && (!s[n] || s[n] == ':'))
            return 1;
    }
    return 0;
}

void verdict_info_parse(const uint8_t *buf, size_t len, int allowed, struct verdict_info *vi)
{
    json_t *j = buf ? json_loadb((const char *)buf, len, 0, NULL) : NULL;

    memset(vi, 0, sizeof(*vi));
    if (allowed) {
        vi->node.time = time_field(j, "time");
        vi->node.due = time_field(j, "due");
        vi->node.fresh_until = time_field(j, "fresh_until");
    } else {
        vi->node_deny = node_reason(j);
        vi->manifest_missing = has_reason(j, "runtime-manifest-missing");
    }
    json_decref(j);
}

/* 0 only on allow; a deny and a refusal (evidence that proves nothing) are -EACCES with the
 * verifier's reasons on stderr; an answer not understood fails closed as well. */
static int send_for_verdict(const struct http_opts *o, const char *path, const uint8_t *body,
                            size_t len, struct verdict_info *vi)
{
    struct verdict_info none;
    struct http_resp resp;
    int r = http_post(o, path, "application/cbor", body, len, &resp);

    if (!vi)
        vi = &none;
    memset(vi, 0, sizeof(*vi));
    if (r < 0)
        return r;
    switch (verdict_reply_parse(resp.body, resp.len, resp.status)) {
    case VERDICT_ALLOW:
        verdict_info_parse(resp.body, resp.len, 1, vi);
        r = 0;
        break;
    case VERDICT_DENY:
        verdict_info_parse(resp.body, resp.len, 0, vi);
        print_reasons("denied", &resp);
        r = -EACCES;
        break;
    case VERDICT_REFUSED:
        print_reasons("refused by the verifier (the evidence proves nothing, no verdict "
                      "written)", &resp);
        r = -EACCES;
        break;
    default:
        print_reasons("verifier answer not understood", &resp);
        r = -EBADMSG;
        break;
    }
    http_resp_free(&resp);
    return r;
}

/* 1 when the answer says the AK is already registered (the host's). */
static int already(const struct http_resp *resp)
{
    cbor_item_t *m = NULL;
    int reg = 0;

    if (ctl_decode(resp->body, resp->len, &m) == 0 && ctl_get_bool(m, "registered", &reg) != 0)
        reg = 0;
    if (m)
        cbor_decref(&m);
    return reg;
}

static int local_register(const struct http_opts *o, const char *path, const uint8_t *body,
                          size_t len, struct reg_reply *out)
{
    struct http_resp resp;
    int r = post_cbor(o, path, body, len, &resp);

    memset(out, 0, sizeof(*out));
    if (r < 0)
        return r;
    out->registered = already(&resp);
    if (!out->registered)
        r = register_reply_parse(resp.body, resp.len, &out->c);
    http_resp_free(&resp);
    return r;
}

static int local_activate(const struct http_opts *o, const uint8_t *body, size_t len)
{
    struct http_resp resp;
    int r = post_cbor(o, "/v1/register/activate", body, len, &resp);

    if (r < 0)
        return r;
    r = activate_reply_parse(resp.body, resp.len);
    http_resp_free(&resp);
    return r;
}

/* The manifest store's answers: HEAD 200 there, 404 with a JSON error missing; an older
 * verifier answers 405 (no such method) or 404 from its router. */
static int local_manifest(const struct http_opts *o, const uint8_t *mf, size_t len,
                          int *uploaded)
{
    uint8_t d[DIGEST_LEN];
    char path[96], hex[2 * DIGEST_LEN + 1];
    struct http_resp resp;
    json_t *j;
    int r;

    *uploaded = 0;
    if (digest_buf(mf, len, d) < 0)
        return -EIO;
    hex_encode(d, DIGEST_LEN, hex);
    snprintf(path, sizeof(path), "/v1/manifests/sha256:%s", hex);
    if ((r = http_head(o, path, &resp)) < 0)
        return r;
    r = (int)resp.status;
    http_resp_free(&resp);
    if (r == 200)
        return 0;
    if (r == 405)
        return -ENOTSUP;
    if (r != 404)
        return -EIO;
    if ((r = http_send(o, "PUT", path, "application/cbor-seq", mf, len, &resp)) < 0)
        return r;
    j = body_json(&resp);
    if (resp.status == 200 || resp.status == 201) {
        *uploaded = resp.status == 201;
        r = 0;
    } else if (resp.status == 405 || (resp.status == 404 && !json_object_get(j, "error"))) {
        r = -ENOTSUP;
    } else {
        print_reasons("manifest upload", &resp);
        r = resp.status == 507 ? -ENOSPC : resp.status == 413 ? -EMSGSIZE
            : resp.status >= 400 && resp.status < 500 ? -EACCES : -EIO;
    }
    json_decref(j);
    http_resp_free(&resp);
    return r;
}

/* The service's threads each have their own channel to the network process; once any has
 * one, a thread without one is refused rather than doing HTTP in the root process. */
static int g_proxied;
static _Thread_local int t_proxy = -1;

void verifier_use_proxy(int chan)
{
    __atomic_store_n(&g_proxied, 1, __ATOMIC_SEQ_CST);
    t_proxy = chan;
}

/* 1: through the network process (t_proxy), 0: HTTP here, <0: refused. */
static int proxied(void)
{
    if (t_proxy >= 0)
        return 1;
    if (__atomic_load_n(&g_proxied, __ATOMIC_SEQ_CST)) {
        LOG_ERROR("verifier call from a thread without a network channel refused");
        return -ENOTCONN;
    }
    return 0;
}

int verifier_nonce(const struct http_opts *o, uint8_t **nonce, size_t *len)
{
    int p = proxied();

    if (p > 0)
        return netproxy_nonce(t_proxy, o, nonce, len);
    return p < 0 ? p : local_nonce(o, nonce, len);
}

int verifier_register(const struct http_opts *o, const char *path, const uint8_t *body,
                      size_t len, struct reg_reply *out)
{
    int p = proxied();

    if (p > 0)
        return netproxy_register(t_proxy, o, path, body, len, out);
    return p < 0 ? p : local_register(o, path, body, len, out);
}

int verifier_activate(const struct http_opts *o, const uint8_t *body, size_t len)
{
    int p = proxied();

    if (p > 0)
        return netproxy_post(t_proxy, o, NET_ACTIVATE, body, len, NULL);
    return p < 0 ? p : local_activate(o, body, len);
}

int verifier_manifest(const struct http_opts *o, const uint8_t *mf, size_t len, int *uploaded)
{
    int p = proxied();

    if (p > 0)
        return netproxy_manifest(t_proxy, o, mf, len, uploaded);
    return p < 0 ? p : local_manifest(o, mf, len, uploaded);
}

int verifier_send_evidence(const struct http_opts *o, const uint8_t *body, size_t len,
                           struct verdict_info *vi)
{
    int p = proxied();

    if (p > 0)
        return netproxy_post(t_proxy, o, NET_EVIDENCE, body, len, vi);
    return p < 0 ? p : send_for_verdict(o, "/v1/evidence", body, len, vi);
}

int verifier_send_host_evidence(const struct http_opts *o, const uint8_t *body, size_t len,
                                struct verdict_info *vi)
{
    int p = proxied();

    if (p > 0)
        return netproxy_post(t_proxy, o, NET_HOST_EVIDENCE, body, len, vi);
    return p < 0 ? p : send_for_verdict(o, "/v1/hosts/evidence", body, len, vi);
}
