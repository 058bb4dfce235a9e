/* SPDX-License-Identifier: BSD-3-Clause */
/* vtpm-mgr-worker: hosts many libtpms vTPMs for vtpm-mgr, sandboxed, talking IPC on fd 3. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "adopt.h"
#include "cli.h"
#include "handlers.h"
#include "log.h"
#include "sandbox.h"
#include "vtpm_ipc.h"
#include "worker.h"

/* vtpm-mgr runs the worker without arguments; any argument is for a person. */
static int args(int argc, char **argv)
{
    switch (cli_ask(argc, argv)) {
    case CLI_HELP:
        printf("usage: vtpm-mgr-worker\n"
               "  The sandboxed libtpms process of vtpm-mgr, started by vtpm-mgr only, with its\n"
               "  IPC socket on fd %d and its rendezvous socket on fd %d; not run by hand.\n"
               "  --help, -h | --version   this text | the version\n",
               VTPM_IPC_FD, VTPM_ADOPT_FD);
        return EXIT_SUCCESS;
    case CLI_VERSION:
        cli_version("vtpm-mgr-worker");
        return EXIT_SUCCESS;
    default:
        fprintf(stderr, "vtpm-mgr-worker: unexpected argument %s (the worker takes none; "
                "vtpm-mgr starts it)\n", argv[1]);
        return 2;
    }
}

int main(int argc, char **argv)
{
    struct worker w;
    int r;

    if (argc > 1)
        return args(argc, argv);
    log_set_ident("vtpm-mgr-worker");
    if (wk_init(&w, VTPM_IPC_FD) < 0)
        return EXIT_FAILURE;
    /* Libraries open what they need during the warm-up; afterwards the sandbox forbids it. */
    r = wk_adopt_init(&w, VTPM_ADOPT_FD);
    if (r < 0)
        LOG_ERROR("rendezvous socket unusable (%d); a parent crash will end this worker", r);
    r = wk_warmup();
    if (r == 0)
        r = wk_sandbox_enter();
    if (r == 0)
        r = wk_loop(&w);
    wk_fini(&w);
#ifdef __SANITIZE_ADDRESS__
    /* LeakSanitizer's exit-time check needs ptrace and /proc, which seccomp forbids. */
    fflush(stderr);
    _exit(r == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
#endif
    return r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
