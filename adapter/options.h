/* SPDX-License-Identifier: BSD-3-Clause */
/* Command-line options of vtpm-cuse. */
#ifndef VTPM_ADAPTER_OPTIONS_H
#define VTPM_ADAPTER_OPTIONS_H

#include <stdbool.h>
#include <sys/types.h>

struct adapter_config {
    const char *name;     /* device name under /dev (DEVNAME), default "tpm0" */
    const char *socket;   /* the vTPM's tpm.sock */
    bool foreground;
    bool debug;           /* libfuse's request trace */
    int timeout_ms;       /* bound on one command round trip */
    bool change_id;       /* --user given */
    uid_t uid;
    gid_t gid;
};

/* Fills cfg from argv (pointers into argv). Returns 0, 1 after printing --help, -EINVAL. */
int options_parse(int argc, char **argv, struct adapter_config *cfg);

#endif
