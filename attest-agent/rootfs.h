/* SPDX-License-Identifier: BSD-3-Clause */
/* Tree digest of a container's root filesystem (what PCR 8's `rootfs` record measures). */
#ifndef AGENT_ROOTFS_H
#define AGENT_ROOTFS_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "launchcfg.h"

#define ROOTFS_MAX_DEPTH 128

/*
 * SHA-256 over the CBOR encodings of every entry below path (path itself first, as "."),
 * depth first, names sorted bytewise within each directory. Each entry is the CBOR array
 *   [path (text, relative, "." for the root), type (text: dir, file, symlink, char, block,
 *    fifo, socket), mode (uint, permission bits incl. setuid/setgid/sticky), uid, gid,
 *    size (uint: file size, 0 for others), data (bytes: SHA-256 of a file's content, a
 *    symlink's target, the 8-byte big-endian st_rdev of a device, empty otherwise)].
 * Symlinks are never followed; directories of another file system (mount points) are
 * recorded but not entered; timestamps are not measured. Paths in exclude (relative, as
 * launchcfg's mount_points; NULL for none) are skipped with everything below them: the
 * container sees its mounts there, and the runtime creates them before the hook runs.
 * setid and devices (NULL: not wanted) receive the paths of setuid/setgid regular files and
 * of device nodes seen on the way, for the launch-config record. Returns 0 or a negative errno.
 */
int rootfs_digest(const char *path, const struct strset *exclude, uint8_t out[DIGEST_LEN],
                  struct strset *setid, struct strset *devices);

/*
 * The manifest (docs/runtime-integrity.md): the concatenated entry encodings that the tree
 * digest hashes, so that SHA-256 of it is the digest; at most ROOTFS_MANIFEST_MAX bytes (the
 * verifier's manifest store takes that much, about 300,000 files; inline in evidence, for an
 * older verifier, it must fit the evidence's 1 MiB).
 */
#define ROOTFS_MANIFEST_MAX (32u * 1024u * 1024u)
struct rootfs_manifest {
    uint8_t *p;
    size_t len, cap;
    int over;      /* it would exceed ROOTFS_MANIFEST_MAX: not kept (p NULL) */
};
/* rootfs_digest() that also keeps the manifest in mf (empty on entry; rootfs_manifest_free
 * also after an error); a manifest over ROOTFS_MANIFEST_MAX is dropped (mf->over), which
 * does not fail the digest. */
int rootfs_digest_manifest(const char *path, const struct strset *exclude,
                           uint8_t out[DIGEST_LEN], struct strset *setid,
                           struct strset *devices, struct rootfs_manifest *mf);
void rootfs_manifest_free(struct rootfs_manifest *mf);

#endif
