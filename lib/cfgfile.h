/* SPDX-License-Identifier: BSD-3-Clause */
/* Configuration files of the commands: a JSON object whose keys are the command's long option
 * names, turned into command-line options placed before the command line's own, so that an
 * option given on the command line wins (getopt: the last one counts). */
#ifndef VTPM_CFGFILE_H
#define VTPM_CFGFILE_H

#include <getopt.h>

/* The directory of the default files, <dir>/<name>.json (docs/operations.md). */
#define CFGFILE_DIR "/etc/vtpm-attest"

/* argv[0..keep-1] (the program and its subcommand) stay first. The file is the one named by
 * "--config FILE" / "--config=FILE" among argv[keep..] (removed from the arguments; a missing
 * file is an error), else CFGFILE_DIR "/" name ".json" when it exists, else none (argv unchanged).
 * Each key must be one of opts: a string or number becomes --key=VALUE, true --key (options
 * without an argument; false: left out), an array one --key=VALUE per element (a repeatable
 * option). The count and vector are replaced by a new vector (never freed: it lives as long as the
 * process). 0, or -1 after printing the file and the key at fault on stderr. */
int cfgfile_expand(const char *prog, const char *name, const struct option *opts, int keep,
                   int *argcp, char ***argvp);

#endif
