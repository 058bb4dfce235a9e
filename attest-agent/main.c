/* SPDX-License-Identifier: BSD-3-Clause */
/* attest-agent: OCI hook, hook service and operator tool that measures a container into its vTPM. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hook.h"
#include "hostev.h"
#include "launchcfg.h"
#include "http.h"
#include "log.h"
#include "offline.h"
#include "opts.h"
#include "prepare.h"
#include "rtmon.h"
#include "serve.h"
#include "timing.h"

/* The list a container's seccomp profile blocks to pass the default policy (JSON, one line):
 * scripts and operators write profiles from it instead of a copy of their own. */
static int dangerous_syscalls(void)
{
    json_t *a = launchcfg_dangerous_syscalls();
    char *text = a ? json_dumps(a, JSON_COMPACT) : NULL;
    int bad = !text || puts(text) == EOF || fflush(stdout) == EOF;

    free(text);
    json_decref(a);
    if (bad)
        fprintf(stderr, "attest-agent: dangerous-syscalls: cannot write the list\n");
    return bad;
}

int main(int argc, char **argv)
{
    struct agent_opts o;
    int r;

    switch (cli_ask(argc, argv)) {
    case CLI_HELP: opts_usage(stdout); return 0;
    case CLI_VERSION: cli_version("attest-agent"); return 0;
    default: break;
    }
    if (argc == 2 && !strcmp(argv[1], "dangerous-syscalls"))
        return dangerous_syscalls();
    timing_init();
    log_set_ident("attest-agent");
    if (opts_config(&argc, &argv) < 0)
        return 2;
    if (opts_parse(argc, argv, &o))
        return 2;
    if (opts_validate(&o) < 0)
        return 1;
    if (http_global_init() < 0)
        return 1;
    timing_mark("http init");
    switch (o.cmd) {
    case CMD_HOOK: r = hook_run(&o, argc, argv); break;
    case CMD_SERVE: r = serve_run(&o); break;
    case CMD_EVIDENCE: r = offline_evidence(&o); break;
    case CMD_MEASURE: r = offline_measure(&o); break;
    case CMD_PREPARE: r = prepare_run(&o); break;
    case CMD_HOST_EVIDENCE: r = hostev_offline(&o); break;
    case CMD_MONITOR: r = rtmon_run(&o); break;
    default: r = 2; break;
    }
    http_global_cleanup();
    return r;
}
