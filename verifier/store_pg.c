/* SPDX-License-Identifier: BSD-3-Clause */
/* The store's PostgreSQL backend (libpq): shared by several verifier instances. */
#include <errno.h>

#include "log.h"
#include "store_ops.h"

int store_pg_open(const char *conninfo, struct store **out)
{
    (void)conninfo;
    (void)out;
    LOG_ERROR("PostgreSQL backend not built yet");
    return -ENOTSUP;
}
