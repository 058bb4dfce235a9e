/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Record files of vtpm-mgr (bindrec.c, devrec.c): an 8-byte magic, a count and that many
 * fixed-size entries, written atomically and removed when there is nothing to record.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "mgr.h"

struct rec_file_hdr {
    char magic[8];
    uint32_t n;
    uint32_t pad;
};

int recfile_save(int dirfd, const char *name, const char magic[8], const void *ents, uint32_t n,
                 size_t entsz)
{
    struct rec_file_hdr h = { .n = n };
    uint8_t *buf;
    size_t len;
    int r;

    if (n == 0) { /* nothing to restore: no file */
        r = unlinkat(dirfd, name, 0) == 0 || errno == ENOENT ? 0 : -errno;
        if (r)
            LOG_WARN("%s not removed: %s", name, strerror(-r));
        return r;
    }
    memcpy(h.magic, magic, sizeof(h.magic));
    len = sizeof(h) + (size_t)n * entsz;
    buf = malloc(len);
    if (!buf)
        return -ENOMEM;
    memcpy(buf, &h, sizeof(h));
    memcpy(buf + sizeof(h), ents, (size_t)n * entsz);
    r = file_write_atomic(dirfd, name, buf, len, 0600);
    free(buf);
    return r;
}

int recfile_load(int dirfd, const char *name, const char magic[8], size_t entsz, uint32_t max,
                 uint8_t **ents, uint32_t *n)
{
    struct rec_file_hdr h;
    uint8_t *buf = NULL;
    size_t len = 0;
    int r = file_read_all(dirfd, name, sizeof(h) + (size_t)max * entsz, &buf, &len);

    if (r)
        return r;
    if (len >= sizeof(h))
        memcpy(&h, buf, sizeof(h));
    if (len < sizeof(h) || memcmp(h.magic, magic, sizeof(h.magic)) || h.n > max ||
        len != sizeof(h) + (size_t)h.n * entsz) {
        free(buf);
        return -EBADMSG;
    }
    memmove(buf, buf + sizeof(h), (size_t)h.n * entsz);
    *ents = buf;
    *n = h.n;
    return 0;
}
