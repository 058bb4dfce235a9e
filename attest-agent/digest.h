/* SPDX-License-Identifier: BSD-3-Clause */
/* SHA-256 helpers of the agent: buffers, files, hex and "sha256:<hex>" text. */
#ifndef AGENT_DIGEST_H
#define AGENT_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define DIGEST_LEN 32
/* "sha256:" + 64 hex digits + NUL */
#define DIGEST_TEXT_LEN (7 + 2 * DIGEST_LEN + 1)

int digest_buf(const void *data, size_t len, uint8_t out[DIGEST_LEN]);
/* Hashes everything readable from fd (from its current offset). Returns 0 or -errno. */
int digest_fd(int fd, uint8_t out[DIGEST_LEN]);
/* Hashes the file at dirfd/path, following symlinks (for /proc/PID/exe). */
int digest_path(int dirfd, const char *path, uint8_t out[DIGEST_LEN]);
/* "sha256:<hex>" of a digest. */
void digest_text(const uint8_t d[DIGEST_LEN], char out[DIGEST_TEXT_LEN]);
/* Parses hex (even length, no prefix) into a callee-allocated buffer. Returns 0 or -EINVAL. */
int hex_decode(const char *hex, uint8_t **out, size_t *len);
/* pcr = SHA-256(pcr || d): one PCR extend in the sha256 bank. */
int digest_extend(uint8_t pcr[DIGEST_LEN], const uint8_t d[DIGEST_LEN]);

#endif
