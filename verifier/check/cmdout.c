/* SPDX-License-Identifier: BSD-3-Clause */
/* What the verifier's commands print on stdout (cmdout.h). */
#include "check/cmdout.h"

#include <stdio.h>
#include <stdlib.h>

int cmd_print_json(json_t *j, size_t flags)
{
    char *s = j ? json_dumps(j, flags) : NULL;

    if (!s)
        return -1;
    printf("%s\n", s);
    free(s);
    return 0;
}
