/* SPDX-License-Identifier: BSD-3-Clause */
/* --help/--version detection and the helper binaries' location; the version and libexec
 * directory come from the build (build/gen/buildinfo.h, written by the Makefile). */
#include "cli.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buildinfo.h"

enum cli_ask cli_ask(int argc, char *const argv[])
{
    int i;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            break;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return CLI_HELP;
        if (!strcmp(argv[i], "--version"))
            return CLI_VERSION;
    }
    return CLI_RUN;
}

void cli_version(const char *name)
{
    printf("%s (vtpm-attest) %s\n"
           "Userspace licence: BSD-3-Clause; kernel module: GPL-2.0-only.\n",
           name, VTPM_VERSION);
}

int cli_helper_path(const char *name, char *buf, size_t size)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    char *slash;
    int k;

    if (n > 0) {
        self[n] = '\0';
        if ((slash = strrchr(self, '/'))) {
            *slash = '\0';
            k = snprintf(buf, size, "%s/%s", self, name);
            if (k > 0 && (size_t)k < size && access(buf, X_OK) == 0)
                return 0;
        }
    }
    k = snprintf(buf, size, "%s/%s", VTPM_LIBEXECDIR, name);
    return k > 0 && (size_t)k < size ? 0 : -1;
}
