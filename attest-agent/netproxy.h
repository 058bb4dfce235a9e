/* SPDX-License-Identifier: BSD-3-Clause */
/* The agent service's network process: the verifier's REST calls (libcurl, TLS, parsing of
 * the answers) in a sandboxed child, typed requests and answers on a socketpair. */
#ifndef AGENT_NETPROXY_H
#define AGENT_NETPROXY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "http.h"
#include "opts.h"

struct reg_reply;
struct verdict_info;

#define NET_MAGIC     0x6e657432u   /* "net2" */
#define NET_BODY_MAX  (8u << 20)    /* a request body (evidence with host logs) */
#define NET_MANIFEST_MAX (32u << 20) /* a NET_MANIFEST body: a rootfs manifest */
#define NET_BLOB_MAX  4096u         /* a nonce, credential blob or secret */
#define NET_MSG_MAX   (32u * 1024u) /* the diagnostics of one call */
#define NET_TIME_MAX  ((int64_t)1 << 40) /* the node's times (unix seconds) */

enum net_op { NET_NONCE = 1, NET_REGISTER_AK, NET_REGISTER_HOST, NET_ACTIVATE, NET_EVIDENCE,
              NET_HOST_EVIDENCE, NET_MANIFEST };

/* Parent -> child: this header, then body_len bytes. Only these endpoints exist. */
struct net_req {
    uint32_t magic, op;
    int32_t timeout_ms;       /* what is left of the caller's deadline */
    uint32_t body_len;        /* <= NET_BODY_MAX */
};

/* Child -> parent: this header, then id_len + a_len + b_len + msg_len bytes: the
 * registration id (no NUL), the nonce or credential blob, the secret, the diagnostics
 * (printed on the parent's stderr). Every length is checked before anything is read. */
struct net_rep {
    uint32_t magic;
    int32_t rc;               /* 0 or -errno (-4095..0) */
    uint32_t registered;      /* 0 or 1; NET_MANIFEST: 1 when it was uploaded */
    uint32_t id_len, a_len, b_len, msg_len;
    uint32_t node_deny;       /* NET_EVIDENCE denied with a node-verdict-* reason: 0 or 1 */
    uint32_t mf_missing;      /* NET_EVIDENCE denied with runtime-manifest-missing: 0 or 1 */
    int64_t node_time, node_due, node_fresh_until; /* NET_HOST_EVIDENCE allowed: the node
                                                    * row's times, 0..NET_TIME_MAX */
};

#define NET_CHANS_MAX (AGENT_MAX_LANES + 1) /* channels (service threads) it serves */
#define NET_CHAN_MAGIC 0x6e636831u  /* "nch1" */

/* Parent -> child on the first channel right after the fork, nchan - 1 times: this header
 * with one more channel's child end (SCM_RIGHTS). The child serves each channel in a thread
 * of its own (its own libcurl handle): calls on different channels run at once. */
struct net_chan_msg {
    uint32_t magic, index;    /* index 1..nchan-1, in order */
};

/* Forks the network process for the service's options o (TLS files read here first: the
 * child runs as nobody) with nchan (1..NET_CHANS_MAX) channels: the parent's ends in
 * chans[0..nchan), one per thread that calls the verifier. 0 or -errno. */
int netproxy_spawn(const struct agent_opts *o, int nchan, int *chans, pid_t *pid);

/* Parent-side calls (verifierapi.c uses them once verifier_use_proxy() is set). */
int netproxy_nonce(int chan, const struct http_opts *o, uint8_t **nonce, size_t *len);
int netproxy_register(int chan, const struct http_opts *o, const char *path,
                      const uint8_t *body, size_t len, struct reg_reply *out);
/* NET_ACTIVATE, NET_EVIDENCE, NET_HOST_EVIDENCE: 0, -EACCES (refused, denied), -errno; vi
 * (or NULL) as verifier_send_evidence() and verifier_send_host_evidence() fill it. */
int netproxy_post(int chan, const struct http_opts *o, enum net_op op, const uint8_t *body,
                  size_t len, struct verdict_info *vi);

/* NET_MANIFEST: verifier_manifest() in the network process. */
int netproxy_manifest(int chan, const struct http_opts *o, const uint8_t *mf, size_t len,
                      int *uploaded);

/* 1 once the child broke the protocol or is gone (the service then stops). */
int netproxy_failed(void);

/* Checks an answer's header against op (exposed for tests): 0 or -EBADMSG. */
int netproxy_rep_check(const struct net_rep *h, enum net_op op);

#endif
