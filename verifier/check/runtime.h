/* SPDX-License-Identifier: BSD-3-Clause */
/* Runtime integrity (docs/runtime-integrity.md): the `exec` records an agent's monitor adds
 * to PCR 11 after the start, judged against the rootfs manifest measured at start and the
 * policy's `runtime` section. */
#ifndef VERIFIER_RUNTIME_H
#define VERIFIER_RUNTIME_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "check/evidence.h"
#include "check/reasons.h"

#define RUNTIME_PCR             11
#define RUNTIME_MANIFEST_MAX    (32u * 1024u * 1024u) /* a manifest, inline or stored */
#define RUNTIME_MANIFEST_FILES  262144u   /* regular files kept from one manifest */
#define RUNTIME_PATH_MAX        4096u

struct rt_file {
    char *path;           /* relative, as in the tree digest ("bin/sh") */
    uint8_t digest[32];   /* SHA-256 of the content */
};

/* The regular files of a rootfs manifest, sorted by path. */
struct rt_manifest {
    struct rt_file *v;
    size_t n;
};

/*
 * A manifest is the concatenation of the CBOR entries whose SHA-256 is the rootfs tree digest
 * (attest-agent/rootfs.h). It is accepted only when it hashes to want (the `rootfs` record's
 * digest, quoted in PCR 8): -EPERM otherwise; -EBADMSG when an entry does not decode or is
 * not the 7-element array of the tree digest, -E2BIG when too large. err gets a short why.
 */
int rt_manifest_parse(const uint8_t *buf, size_t len, const uint8_t want[32],
                      struct rt_manifest *m, char *err, size_t errsz);
/* The digest of the regular file at path ("/bin/sh" or "bin/sh"), NULL when none. */
const uint8_t *rt_manifest_lookup(const struct rt_manifest *m, const char *path);
void rt_manifest_free(struct rt_manifest *m);

/* The policy's `runtime` object, absent or {"drift": "deny"|"alert", "allow": [digest...]}:
 * 0 or -EINVAL with err. */
int runtime_policy_validate(const json_t *rt, char *err, size_t errsz);

/*
 * Checks every `exec` record of ev's event log (already replayed against the quote by
 * vf_eventlog_check): a file of the manifest with the same digest passes, so does a digest of
 * the policy's allow list; anything else is `runtime-drift:<path>` (a deny, or a warning in
 * the log with "drift": "alert"). An `exec-lost` record (the monitor missed events: its queue
 * overflowed or the log is full) is `runtime-events-lost`, judged the same way. rootfs_digest
 * is the `rootfs` record's "sha256:<hex>" ("" when the log has none). policy_runtime is the
 * policy's `runtime` object or NULL (the defaults).
 */
/* What alert mode only logs goes to alerts too (same codes: runtime-drift:<path>,
 * runtime-events-lost, runtime-monitor-gap), for the verifier's alert notification; alerts may
 * be NULL. */
void runtime_check(const json_t *policy_runtime, const struct evidence *ev,
                   const char *rootfs_digest, struct reasons *r, struct reasons *alerts);

/*
 * Where the check finds the manifest of evidence that carries none (the service: its manifest
 * store, docs/verifier.md "Manifest store"). get: 0 and *m, held until put(arg, *ref);
 * -ENOENT when there is none for digest; -EPERM or -EBADMSG when the stored bytes are not a
 * manifest of digest (err says why); another -errno for a store fault.
 */
struct rt_source {
    int (*get)(void *arg, const uint8_t digest[32], const struct rt_manifest **m, void **ref,
               char *err, size_t errsz);
    void (*put)(void *arg, void *ref);
    void *arg;
};

/* runtime_check with a source for manifests evidence does not carry (src may be NULL: none);
 * an inline `rootfs_manifest` is used as before. */
void runtime_check_src(const json_t *policy_runtime, const struct evidence *ev,
                       const char *rootfs_digest, const struct rt_source *src,
                       struct reasons *r, struct reasons *alerts);

#endif
