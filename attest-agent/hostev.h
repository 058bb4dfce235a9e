/* SPDX-License-Identifier: BSD-3-Clause */
/* Host evidence (docs/evidence.md "Host evidence"): the host TPM's quote through vtpm-mgr,
 * the host's UEFI event log and kmod-vtpm's measurement list, for container and host-only
 * evidence. */
#ifndef AGENT_HOSTEV_H
#define AGENT_HOSTEV_H

#include <cbor.h>
#include <stddef.h>
#include <stdint.h>

#include "evidence.h"
#include "http.h"
#include "mgrclient.h"
#include "verifierapi.h"

#define HOSTEV_DEFAULT_PCRS     "0-7,13" /* firmware and boot loader, kmod-vtpm's PCR */
#define HOSTEV_DEFAULT_UEFI_LOG "/sys/kernel/security/tpm0/binary_bios_measurements"
#define HOSTEV_DEFAULT_KMOD_LOG "/sys/kernel/security/vtpm_attest/measurements"
#define HOSTEV_LOG_MAX          (4u << 20)
#define HOSTEV_NODE_MAX         253

/* How container evidence shows its host (--host-evidence). */
enum host_mode {
    HOST_MODE_NODE = 0,      /* `node`: the node's verdict, refreshed by host-only evidence */
    HOST_MODE_QUOTE,         /* `host`: a host quote over the container's own nonce */
};

/* What host evidence to send (attest-agent's host options). */
struct host_opts {
    int off;                 /* --no-host-evidence */
    enum host_mode mode;     /* --host-evidence */
    uint32_t pcrs;           /* --host-pcrs: bit i = PCR i */
    const char *uefi_log;    /* --uefi-log */
    const char *kmod_log;    /* --kmod-log */
    const char *node;        /* --node-name; NULL: the host name, lower-cased */
};

void hostev_opts_defaults(struct host_opts *o);

/* 1 for a Kubernetes node name: 1-253 of [a-z0-9.-], starting and ending alphanumeric. */
int hostev_node_valid(const char *s);
/* o->node, else the host name lower-cased; -EINVAL (logged) when that is no node name. */
int hostev_node_name(const struct host_opts *o, char out[HOSTEV_NODE_MAX + 1]);

/* The collected parts of one piece of host evidence; hostev_free() releases them. */
struct hostev {
    char node[HOSTEV_NODE_MAX + 1];
    struct mgr_host_quote quote;
    uint8_t *uefi_log, *kmod_log;   /* NULL when the file does not exist or is empty */
    size_t uefi_len, kmod_len;
};

/* Quotes the host (vtpm-mgr host-quote, qualifying data = nonce), then reads the logs: the
 * kmod-vtpm list after the quote, so that it holds at least every extend the quote covers. */
int hostev_collect(const struct mgr_client *mgr, const struct host_opts *o,
                   const uint8_t *nonce, size_t nonce_len, struct hostev *he);
void hostev_free(struct hostev *he);

/* The `host` map of evidence: {node, quote_attest, quote_sig, pcrs, [uefi_log], [kmod_log]}. */
cbor_item_t *hostev_map(const struct hostev *he);

/* Collects and encodes: *host is the `host` map (cbor_decref), nonce as for the quote. */
int hostev_part(const struct mgr_client *mgr, const struct host_opts *o, const uint8_t *nonce,
                size_t nonce_len, cbor_item_t **host);

/* Sends container evidence e (nonce, quote set) to /v1/evidence, unless o->off with the host
 * shown as o->mode says: the host part quoted with the same nonce (quote), or the node's name
 * (node: the caller made sure the node's verdict is fresh, nodemode.h). 0 on allow, -EACCES
 * on deny (vi, or NULL, tells a node-verdict-* deny), another -errno. */
int hostev_send_container(const struct mgr_client *mgr, const struct host_opts *o,
                          struct evidence *e, const struct http_opts *ho,
                          struct verdict_info *vi);

/* Host-only evidence: GET /v1/nonce, host chain and quote, POST /v1/hosts/evidence.
 * *host_registered as in the agent service (host registration first when 0). On allow ans
 * (or NULL) gets the node verdict's times from the answer. */
int hostev_attest(const struct mgr_client *mgr, const struct host_opts *o,
                  const struct http_opts *ho, int *host_registered, struct node_answer *ans);

struct agent_opts;
/* `attest-agent host-evidence --nonce HEX --out FILE`: host-only evidence written to a file
 * (no verifier). The process exit status. */
int hostev_offline(const struct agent_opts *o);

#endif
