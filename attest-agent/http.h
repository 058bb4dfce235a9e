/* SPDX-License-Identifier: BSD-3-Clause */
/* HTTP(S) client of the agent (libcurl): the verifier's REST endpoints, mutual TLS. */
#ifndef AGENT_HTTP_H
#define AGENT_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_BODY (1u << 20)

struct http_opts {
    const char *base_url;   /* e.g. https://verifier:8443 (no trailing path) */
    const char *ca;         /* CA bundle for the server certificate, or NULL (system) */
    const char *cert, *key; /* client certificate and key for mutual TLS, or NULL */
    int64_t deadline;       /* deadline_now_ms() value after which requests give up */
};

struct http_resp {
    long status;
    char content_type[128];
    uint8_t *body;          /* NUL-terminated beyond len */
    size_t len;
};

/* TLS files' contents (PEM), NULL where the option is not set; borrowed for the process's
 * life. After http_use_tls_blobs() the paths in http_opts are not opened any more; NULL goes
 * back to the paths. */
struct http_tls_blobs {
    void *ca, *cert, *key;
    size_t ca_len, cert_len, key_len;
};
void http_use_tls_blobs(const struct http_tls_blobs *b);

/* Process-wide setup and teardown (curl_global_*). */
int http_global_init(void);
void http_global_cleanup(void);
/* The calling thread's handle (its connections) closed; for a thread that ends before the
 * process does (http_global_cleanup closes the main thread's). */
void http_thread_cleanup(void);

/* GET base_url + path. 0 when a response arrived (any status), else a negative errno. */
int http_get(const struct http_opts *o, const char *path, struct http_resp *resp);
/* POST base_url + path with body of content type ctype. */
int http_post(const struct http_opts *o, const char *path, const char *ctype,
              const uint8_t *body, size_t len, struct http_resp *resp);
/* POST or PUT (method) base_url + path with body of content type ctype. */
int http_send(const struct http_opts *o, const char *method, const char *path,
              const char *ctype, const uint8_t *body, size_t len, struct http_resp *resp);
/* HEAD base_url + path: the status only. */
int http_head(const struct http_opts *o, const char *path, struct http_resp *resp);
void http_resp_free(struct http_resp *resp);

#endif
