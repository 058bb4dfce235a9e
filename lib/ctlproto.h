/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vtpm-mgr control protocol (vtpmctl <-> daemon): length-prefixed CBOR maps over a
 * Unix stream socket. Frame = 4-byte big-endian length + one CBOR map of that length.
 * Wire format and operations are documented in docs/control-protocol.md.
 */
#ifndef VTPM_CTLPROTO_H
#define VTPM_CTLPROTO_H

#include <cbor.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_PROTO_VERSION  1
#define CTL_MAX_REQUEST    (64u * 1024u)
#define CTL_MAX_RESPONSE   (4u * 1024u * 1024u)
#define CTL_MAX_KEY        64u

/*
 * Decodes one frame body strictly: exactly one definite-length map covering the whole
 * buffer, text-string keys of at most CTL_MAX_KEY bytes, no duplicate keys.
 * *out is callee-allocated (cbor_decref). Returns 0 or -EBADMSG.
 */
int ctl_decode(const uint8_t *buf, size_t len, cbor_item_t **out);

/* Encodes a map (definite lengths throughout) into a callee-allocated buffer. */
int ctl_serialize(const cbor_item_t *map, uint8_t **out, size_t *outlen);

/* Encodes and sends one frame. Returns 0 or a negative errno. */
int ctl_send(int fd, const cbor_item_t *map);

/* Receives one frame of at most maxlen body bytes and decodes it with ctl_decode.
 * Returns 0, -ECONNRESET on EOF before a frame, -EMSGSIZE if too large, -EBADMSG. */
/* ctl_send for a message larger than CTL_MAX_RESPONSE allows, up to maxlen (a runtime
 * monitor registration with its rootfs manifest): -EMSGSIZE beyond. */
int ctl_send_max(int fd, const cbor_item_t *map, size_t maxlen);
int ctl_recv(int fd, size_t maxlen, cbor_item_t **out);

/* Map building; each returns 0 or -ENOMEM. ctl_put_item takes ownership of v. */
cbor_item_t *ctl_map_new(void);
int ctl_put_str(cbor_item_t *m, const char *k, const char *v);
int ctl_put_uint(cbor_item_t *m, const char *k, uint64_t v);
int ctl_put_bool(cbor_item_t *m, const char *k, int v);
int ctl_put_bytes(cbor_item_t *m, const char *k, const uint8_t *v, size_t len);
int ctl_put_item(cbor_item_t *m, const char *k, cbor_item_t *v);
/* A map PCR index -> bytes(32) of the PCRs set in mask (bit i: PCR i < 24), values by index
 * (host-quote replies and host evidence). NULL on allocation failure. */
cbor_item_t *ctl_pcr_map(uint32_t mask, const uint8_t values[24][32]);

/* Map lookup (NULL when absent). */
cbor_item_t *ctl_get(const cbor_item_t *m, const char *k);
/* Typed getters: 0, -ENOENT when absent, -EINVAL when the type is wrong or the text does not
 * fit (outsz includes the terminating NUL) or contains a NUL byte. */
int ctl_get_str(const cbor_item_t *m, const char *k, char *out, size_t outsz);
int ctl_get_uint(const cbor_item_t *m, const char *k, uint64_t *out);
int ctl_get_bool(const cbor_item_t *m, const char *k, int *out);
/* True for a CBOR true/false item (safe on any item, unlike libcbor's cbor_is_bool). */
int ctl_is_bool(const cbor_item_t *v);
/* Borrowed pointer into m; valid while m lives. */
int ctl_get_bytes(const cbor_item_t *m, const char *k, const uint8_t **out, size_t *len);

/* Error response {"v":1,"ok":false,"error":msg,"errno":err}. */
cbor_item_t *ctl_error(int err, const char *msg);
/* Success response {"v":1,"ok":true}, to which results are added. */
cbor_item_t *ctl_ok(void);

#endif
