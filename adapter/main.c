/* SPDX-License-Identifier: BSD-3-Clause */
/* vtpm-cuse: presents a vtpm-mgr vTPM socket as a TPM character device inside a container. */
#include <stdlib.h>

#include "cusedev.h"
#include "log.h"
#include "options.h"

int main(int argc, char **argv)
{
    struct adapter_config cfg;
    int r;

    log_set_ident("vtpm-cuse");
    r = options_parse(argc, argv, &cfg);
    if (r != 0)
        return r > 0 ? EXIT_SUCCESS : 2;
    return cusedev_run(&cfg) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
