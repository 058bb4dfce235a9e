/* SPDX-License-Identifier: BSD-3-Clause */
/* The CUSE character device of vtpm-cuse: libfuse3 callbacks mapped onto tpmfile. */
#ifndef VTPM_ADAPTER_CUSEDEV_H
#define VTPM_ADAPTER_CUSEDEV_H

#include "options.h"

/*
 * Creates /dev/<cfg->name> through /dev/cuse, drops privileges (privdrop_apply), and serves
 * the device until SIGTERM/SIGINT/SIGHUP. Without cfg->foreground it daemonizes once the
 * CUSE channel is open. Returns 0 on a clean stop, -errno when the device cannot be set up.
 */
int cusedev_run(const struct adapter_config *cfg);

#endif
