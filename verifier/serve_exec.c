/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * server_run of the small `verifier` binary (verify, policy, boot-policy): the service lives in
 * `verifier-serve`, the same command line linked with libmicrohttpd, GnuTLS, SQLite, libpq and
 * libcurl, whose loading and relocation cost more than a whole offline check. `verifier serve`
 * has parsed and checked its options by now and execs `verifier-serve` with the same argv (same
 * PID), found beside this binary, else in the installed libexec directory, or named by
 * $VERIFIER_SERVE. docs/verifier.md, "Binaries".
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "http/server.h"
#include "log.h"

#define SERVE_BINARY "verifier-serve"

static char **g_argv;

/* glibc passes main's arguments to ELF constructors too. */
__attribute__((constructor)) static void keep_argv(int argc, char **argv, char **envp)
{
    (void)argc;
    (void)envp;
    g_argv = argv;
}

int server_run(const struct server_config *cfg)
{
    const char *env = getenv("VERIFIER_SERVE");
    char path[PATH_MAX];

    (void)cfg;
    if (env && *env) {
        snprintf(path, sizeof(path), "%s", env);
    } else if (cli_helper_path(SERVE_BINARY, path, sizeof(path)) < 0) {
        LOG_ERROR("the path of %s is too long", SERVE_BINARY);
        return -1;
    }
    if (!g_argv) {
        LOG_ERROR("no command line to pass to %s", path);
        return -1;
    }
    fflush(NULL);
    execv(path, g_argv);
    LOG_ERROR("cannot run the service binary %s: %s", path, strerror(errno));
    return -1;
}
