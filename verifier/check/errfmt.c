/* SPDX-License-Identifier: BSD-3-Clause */
/* Error text of the verifier's file and policy parsers (errfmt.h). */
#include "check/errfmt.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

int errf_inval(char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
    return -EINVAL;
}
