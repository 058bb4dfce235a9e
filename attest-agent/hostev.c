/* SPDX-License-Identifier: BSD-3-Clause */
/* Host evidence: the host quote from vtpm-mgr (the only holder of the host TPM), the UEFI log
 * and the kmod-vtpm list read from securityfs, and the messages that carry them. */
#include "hostev.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cborenc.h"
#include "ctlproto.h"
#include "digest.h"
#include "fileio.h"
#include "hostreg.h"
#include "log.h"
#include "offline.h"
#include "opts.h"
#include "pcrlist.h"
#include "verifierapi.h"

#define OFFLINE_MGR_TIMEOUT_MS 30000

void hostev_opts_defaults(struct host_opts *o)
{
    memset(o, 0, sizeof(*o));
    (void)pcrlist_parse(HOSTEV_DEFAULT_PCRS, &o->pcrs);
    o->uefi_log = HOSTEV_DEFAULT_UEFI_LOG;
    o->kmod_log = HOSTEV_DEFAULT_KMOD_LOG;
}

int hostev_node_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > HOSTEV_NODE_MAX || !isalnum((unsigned char)s[0]) ||
        !isalnum((unsigned char)s[n - 1]))
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789.-") == n;
}

int hostev_node_name(const struct host_opts *o, char out[HOSTEV_NODE_MAX + 1])
{
    char host[HOSTEV_NODE_MAX + 2] = "";

    if (o->node) {
        snprintf(out, HOSTEV_NODE_MAX + 1, "%s", o->node);
        return 0;
    }
    if (gethostname(host, sizeof(host) - 1) < 0)
        return -errno;
    for (char *p = host; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (!hostev_node_valid(host)) {
        LOG_ERROR("host name \"%s\" is not a node name ([a-z0-9.-]{1,253}): use --node-name",
                  host);
        return -EINVAL;
    }
    memcpy(out, host, strlen(host) + 1); /* valid: at most HOSTEV_NODE_MAX characters */
    return 0;
}

/* A log that exists must be read: leaving it out would hide it. Empty counts as absent. */
static int read_part(const char *what, const char *path, uint8_t **out, size_t *len)
{
    int r = path ? file_read_stream(path, HOSTEV_LOG_MAX, out, len) : -ENOENT;

    if (r == -ENOENT)
        return 0;
    if (r < 0)
        LOG_ERROR("%s %s: %s%s", what, path, strerror(-r),
                  r == -EFBIG ? " (over 4 MiB)" : "");
    if (r == 0 && *len == 0) {
        free(*out);
        *out = NULL;
    }
    return r;
}

int hostev_collect(const struct mgr_client *mgr, const struct host_opts *o,
                   const uint8_t *nonce, size_t nonce_len, struct hostev *he)
{
    int r;

    memset(he, 0, sizeof(*he));
    if ((r = hostev_node_name(o, he->node)) < 0)
        return r;
    if ((r = mgr_host_quote(mgr, nonce, nonce_len, o->pcrs, &he->quote)) < 0)
        return r;
    if ((r = read_part("UEFI event log", o->uefi_log, &he->uefi_log, &he->uefi_len)) < 0)
        return r;
    return read_part("kmod-vtpm measurement list", o->kmod_log, &he->kmod_log, &he->kmod_len);
}

void hostev_free(struct hostev *he)
{
    mgr_host_quote_free(&he->quote);
    free(he->uefi_log);
    free(he->kmod_log);
    memset(he, 0, sizeof(*he));
}


cbor_item_t *hostev_map(const struct hostev *he)
{
    cbor_item_t *m = ctl_map_new();

    if (m && (ctl_put_str(m, "node", he->node) ||
              ctl_put_bytes(m, "quote_attest", he->quote.attest, he->quote.attest_len) ||
              ctl_put_bytes(m, "quote_sig", he->quote.sig, he->quote.sig_len) ||
              ctl_put_item(m, "pcrs", ctl_pcr_map(he->quote.mask, he->quote.values)) ||
              (he->uefi_log && ctl_put_bytes(m, "uefi_log", he->uefi_log, he->uefi_len)) ||
              (he->kmod_log && ctl_put_bytes(m, "kmod_log", he->kmod_log, he->kmod_len))))
        cbor_decref(&m);
    return m;
}

int hostev_part(const struct mgr_client *mgr, const struct host_opts *o, const uint8_t *nonce,
                size_t nonce_len, cbor_item_t **host)
{
    struct hostev he;
    int r = hostev_collect(mgr, o, nonce, nonce_len, &he);

    *host = NULL;
    if (r == 0 && !(*host = hostev_map(&he)))
        r = -ENOMEM;
    if (r == 0)
        LOG_DEBUG("host evidence: node %s, UEFI log %zu bytes, kmod-vtpm list %zu bytes",
                  he.node, he.uefi_len, he.kmod_len);
    hostev_free(&he);
    return r;
}

int hostev_send_container(const struct mgr_client *mgr, const struct host_opts *o,
                          struct evidence *e, const struct http_opts *ho,
                          struct verdict_info *vi)
{
    char node[HOSTEV_NODE_MAX + 1];
    cbor_item_t *host = NULL;
    uint8_t *body = NULL;
    size_t len = 0;
    int r = 0;

    if (vi)
        memset(vi, 0, sizeof(*vi));
    if (!o->off && o->mode == HOST_MODE_QUOTE)
        r = hostev_part(mgr, o, e->nonce.p, e->nonce.len, &host);
    else if (!o->off && (r = hostev_node_name(o, node)) == 0)
        e->node = node; /* node mode: no host-TPM command here */
    e->host = host;
    if (r == 0)
        r = evidence_encode(e, &body, &len);
    if (r == 0)
        r = verifier_send_evidence(ho, body, len, vi);
    e->host = NULL;
    e->node = NULL;
    if (host)
        cbor_decref(&host);
    free(body);
    return r;
}

/* Host-only evidence: e borrows nonce, chain and host, which this owns. */
struct host_msg {
    struct evidence e;
    cbor_item_t *chain, *host;
};

static int host_only(const struct mgr_client *mgr, const struct host_opts *o,
                     const uint8_t *nonce, size_t nonce_len, struct host_msg *h)
{
    int r = mgr_host_chain(mgr, &h->chain);

    if (r == 0)
        r = hostev_part(mgr, o, nonce, nonce_len, &h->host);
    h->e.nonce = (struct bytes){ nonce, nonce_len };
    h->e.host_chain = h->chain;
    h->e.host = h->host;
    return r;
}

static void host_msg_free(struct host_msg *h)
{
    if (h->host)
        cbor_decref(&h->host);
    if (h->chain)
        cbor_decref(&h->chain);
    memset(h, 0, sizeof(*h));
}

int hostev_attest(const struct mgr_client *mgr, const struct host_opts *o,
                  const struct http_opts *ho, int *host_registered, struct node_answer *ans)
{
    struct verdict_info vi;
    struct host_msg h = { 0 };
    uint8_t *nonce = NULL, *body = NULL;
    size_t nonce_len = 0, len = 0;
    int r = verifier_nonce(ho, &nonce, &nonce_len);

    if (r == 0)
        r = host_only(mgr, o, nonce, nonce_len, &h);
    if (r == 0 && !*host_registered && (r = hostreg_ensure(mgr, &h.e, ho)) == 0)
        *host_registered = 1;
    if (r == 0)
        r = host_evidence_encode(&h.e, &body, &len);
    if (r == 0)
        r = verifier_send_host_evidence(ho, body, len, &vi);
    if (r == 0 && ans)
        *ans = vi.node;
    if (r < 0)
        *host_registered = 0; /* ask again next time: the verifier may have forgotten */
    host_msg_free(&h);
    free(body);
    free(nonce);
    return r;
}

int hostev_offline(const struct agent_opts *o)
{
    struct mgr_client mgr = { .run_dir = o->run_dir, .timeout_ms = OFFLINE_MGR_TIMEOUT_MS };
    struct host_msg h = { 0 };
    uint8_t *nonce = NULL, *body = NULL;
    size_t nonce_len = 0, len = 0;
    int r = hex_decode(o->nonce, &nonce, &nonce_len);

    if (r < 0 || nonce_len < NONCE_MIN || nonce_len > VTPM_NONCE_MAX) {
        LOG_ERROR("--nonce: %d to %d bytes in hex", NONCE_MIN, VTPM_NONCE_MAX);
        r = -EINVAL;
    }
    if (r == 0)
        r = host_only(&mgr, &o->host, nonce, nonce_len, &h);
    if (r == 0)
        r = host_evidence_encode(&h.e, &body, &len);
    if (r == 0)
        r = offline_write(o->out, body, len);
    if (r < 0)
        log_diag("attest-agent: host-evidence: %s\n", strerror(-r));
    host_msg_free(&h);
    free(body);
    free(nonce);
    return r == 0 ? 0 : 1;
}
