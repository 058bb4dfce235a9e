/* SPDX-License-Identifier: BSD-3-Clause */
/* libcurl requests to the verifier: bounded by the agent's deadline and body size, no
 * redirects, http/https only, optional mutual TLS. One easy handle per process, reset
 * between requests, keeps connections and TLS sessions for the next request. */
#include "http.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadline.h"
#include "log.h"

static _Thread_local CURL *g_handle; /* one per thread: the network process serves one
                                      * channel per thread, each with its connections */

int http_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

void http_thread_cleanup(void)
{
    if (g_handle)
        curl_easy_cleanup(g_handle);
    g_handle = NULL;
}

void http_global_cleanup(void)
{
    http_thread_cleanup();
    curl_global_cleanup();
}

/* The process's handle, reset: options are gone, connections and TLS sessions stay. */
static CURL *handle(void)
{
    if (g_handle)
        curl_easy_reset(g_handle);
    else
        g_handle = curl_easy_init();
    return g_handle;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct http_resp *r = arg;
    size_t add = size * n;
    uint8_t *tmp;

    if (add > HTTP_MAX_BODY - r->len)
        return 0; /* aborts the transfer */
    tmp = realloc(r->body, r->len + add + 1);
    if (!tmp)
        return 0;
    memcpy(tmp + r->len, data, add);
    r->body = tmp;
    r->len += add;
    r->body[r->len] = '\0';
    return add;
}

/* TLS files read ahead (a sandboxed process cannot open them); used instead of the paths. */
static struct curl_blob g_ca, g_cert, g_key;
static int g_blobs;

void http_use_tls_blobs(const struct http_tls_blobs *b)
{
    g_blobs = b != NULL;
    if (!b)
        return;
    g_ca = (struct curl_blob){ b->ca, b->ca_len, CURL_BLOB_NOCOPY };
    g_cert = (struct curl_blob){ b->cert, b->cert_len, CURL_BLOB_NOCOPY };
    g_key = (struct curl_blob){ b->key, b->key_len, CURL_BLOB_NOCOPY };
}

static int tls_files(CURL *c, const struct http_opts *o)
{
    if (g_blobs)
        return (!g_ca.data || curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &g_ca) == CURLE_OK) &&
               (!g_cert.data || curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &g_cert) == CURLE_OK) &&
               (!g_key.data || curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &g_key) == CURLE_OK);
    return (!o->ca || curl_easy_setopt(c, CURLOPT_CAINFO, o->ca) == CURLE_OK) &&
           (!o->cert || curl_easy_setopt(c, CURLOPT_SSLCERT, o->cert) == CURLE_OK) &&
           (!o->key || curl_easy_setopt(c, CURLOPT_SSLKEY, o->key) == CURLE_OK);
}

static int setup(CURL *c, const struct http_opts *o, const char *url, struct http_resp *resp)
{
    int ok = curl_easy_setopt(c, CURLOPT_URL, url) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)deadline_left_ms(o->deadline)) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_WRITEDATA, resp) == CURLE_OK && tls_files(c, o);

    return ok ? 0 : -EINVAL;
}

static void content_type(CURL *c, struct http_resp *resp)
{
    char *ct = NULL;

    if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
        snprintf(resp->content_type, sizeof(resp->content_type), "%s", ct);
}

static int perform(const struct http_opts *o, const char *method, const char *path,
                   struct curl_slist *hdrs, const uint8_t *body, size_t len,
                   struct http_resp *resp)
{
    char url[2048];
    CURL *c = handle();
    CURLcode cc;
    int r = -ENOMEM;

    memset(resp, 0, sizeof(*resp));
    if (!c)
        return r;
    r = -ENAMETOOLONG;
    if (snprintf(url, sizeof(url), "%s%s", o->base_url, path) >= (int)sizeof(url))
        goto out;
    if ((r = setup(c, o, url, resp)) < 0)
        goto out;
    if (body && (curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)body) != CURLE_OK ||
                 curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) != CURLE_OK ||
                 curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK))
        goto out;
    if (method && !strcmp(method, "HEAD") &&
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L) != CURLE_OK)
        goto out;
    if (method && !strcmp(method, "PUT") &&
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT") != CURLE_OK)
        goto out;
    cc = curl_easy_perform(c);
    r = cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO;
    if (cc != CURLE_OK) {
        LOG_ERROR("%s: %s", url, curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    content_type(c, resp);
    r = 0;
out:
    if (r < 0)
        http_resp_free(resp);
    return r;
}

int http_get(const struct http_opts *o, const char *path, struct http_resp *resp)
{
    return perform(o, NULL, path, NULL, NULL, 0, resp);
}

int http_head(const struct http_opts *o, const char *path, struct http_resp *resp)
{
    return perform(o, "HEAD", path, NULL, NULL, 0, resp);
}

int http_post(const struct http_opts *o, const char *path, const char *ctype,
              const uint8_t *body, size_t len, struct http_resp *resp)
{
    return http_send(o, "POST", path, ctype, body, len, resp);
}

int http_send(const struct http_opts *o, const char *method, const char *path,
              const char *ctype, const uint8_t *body, size_t len, struct http_resp *resp)
{
    char h[160];
    struct curl_slist *hdrs = NULL, *tmp;
    int r = -ENOMEM;

    snprintf(h, sizeof(h), "Content-Type: %s", ctype);
    if (!(tmp = curl_slist_append(hdrs, h)))
        goto out;
    hdrs = tmp;
    if (!(tmp = curl_slist_append(hdrs, "Expect:"))) /* no 100-continue round trip */
        goto out;
    hdrs = tmp;
    r = perform(o, method, path, hdrs, body, len, resp);
out:
    curl_slist_free_all(hdrs);
    return r;
}

void http_resp_free(struct http_resp *resp)
{
    free(resp->body);
    memset(resp, 0, sizeof(*resp));
}
