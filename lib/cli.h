/* SPDX-License-Identifier: BSD-3-Clause */
/* What every command shares on its command line: --help/-h, --version, and where the helper
 * binaries it execs (vtpm-mgr-worker, verifier-serve) are installed. */
#ifndef VTPM_CLI_H
#define VTPM_CLI_H

#include <stddef.h>

enum cli_ask { CLI_RUN = 0, CLI_HELP, CLI_VERSION };

/* Whether the command line asks for --help (or -h) or --version anywhere before "--", the first
 * one of them winning; CLI_RUN otherwise. Subcommands are covered: "verifier serve --help". */
enum cli_ask cli_ask(int argc, char *const argv[]);

/* "NAME (vtpm-attest) VERSION" and the licence on stdout, as help2man reads it. */
void cli_version(const char *name);

/* The path of helper binary name: beside this executable when one is there (the build tree),
 * else the installed libexec directory (VTPM_LIBEXECDIR, set by make's libexecdir). 0, or -1
 * when the path does not fit in size. */
int cli_helper_path(const char *name, char *buf, size_t size);

#endif
