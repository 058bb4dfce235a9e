/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer harness: the runtime monitor's mountinfo line parser (mount points come from a
 * container's config.json) and cgroup list readers, on arbitrary text. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtmonparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rtmon_minfo mi;
    char *text = malloc(size + 1), out[128];

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    if (rtmon_cgroup_pick(text, out, sizeof(out)) == 0 && !rtmon_in_cgroup(text, out))
        __builtin_trap(); /* the picked line places the process */
    if (rtmon_parse_mountinfo(text, &mi) == 0) {
        if (strlen(mi.point) >= sizeof(mi.point) || strlen(mi.fstype) >= sizeof(mi.fstype))
            __builtin_trap();
        (void)rtmon_no_exec_fs(&mi);
        (void)rtmon_under(mi.point, "/");
    }
    free(text);
    return 0;
}
