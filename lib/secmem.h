/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers that wipe secrets and TPM buffers before their memory is released. */
#ifndef VTPM_SECMEM_H
#define VTPM_SECMEM_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Wipes len bytes at p (p may be NULL) and frees it. */
static inline void secure_free(void *p, size_t len)
{
    if (!p)
        return;
    explicit_bzero(p, len);
    free(p);
}

#endif
