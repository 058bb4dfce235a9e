/* SPDX-License-Identifier: BSD-3-Clause */
/* Error text of the verifier's file and policy parsers. */
#ifndef VERIFIER_ERRFMT_H
#define VERIFIER_ERRFMT_H

#include <stddef.h>

/* Formats the message into err (errsz bytes, truncated) and returns -EINVAL. */
int errf_inval(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
