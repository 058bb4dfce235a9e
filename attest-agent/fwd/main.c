/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * attest-agent-hook: the fast createRuntime hook. Takes `attest-agent hook`'s options,
 * forwards the OCI state to the agent service (attest-agent serve) and relays its verdict;
 * when no service answers, execs `attest-agent hook` (beside this binary) to do the work.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli.h"
#include "hookfwd.h"
#include "opts.h"

static void usage(void)
{
    printf("usage: attest-agent-hook [hook] --verifier URL [--run-dir DIR] [--ca F --cert F --key F]\n"
           "                         [--timeout SECONDS] [--agent-socket PATH|''] [OPTIONS]\n"
           "  The OCI createRuntime hook (OCI state on stdin). Takes the options of\n"
           "  `attest-agent hook` (attest-agent --help); forwards the state to the agent\n"
           "  service (attest-agent serve) on --agent-socket, default " AGENT_DEFAULT_SOCKET ",\n"
           "  and relays its verdict: exit 0, the container may start; non-zero, it must not.\n"
           "  When no service answers (or --agent-socket ''), execs attest-agent hook from\n"
           "  this binary's directory to do the whole check itself.\n"
           "  --help, -h | --version   this text | the version\n");
}

/* The value of option name ("--name V" or "--name=V"), or NULL. Full parsing is the
 * service's or the fallback's: this binary only needs the socket and the time bound. */
static const char *opt_value(int argc, char **argv, const char *name)
{
    size_t n = strlen(name);
    const char *v = NULL;
    int i;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], name) && i + 1 < argc)
            v = argv[++i];
        else if (!strncmp(argv[i], name, n) && argv[i][n] == '=')
            v = argv[i] + n + 1;
    }
    return v;
}

static int timeout_ms(int argc, char **argv)
{
    const char *s = opt_value(argc, argv, "--timeout");
    char *end;
    double v = s ? strtod(s, &end) : 0;

    if (!s || end == s || *end || !(v > 0) || v > 3600)
        return AGENT_DEFAULT_TIMEOUT_MS;
    return (int)(v * 1000);
}

/* stdin for the fallback: the state already read, in a memfd. */
static int state_to_stdin(const uint8_t *state, size_t len)
{
    int fd = memfd_create("oci-state", 0);
    size_t off = 0;

    int r = 0;

    if (fd < 0)
        return -errno;
    while (off < len && r == 0) {
        ssize_t k = write(fd, state + off, len - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            r = -EIO;
        else
            off += (size_t)k;
    }
    if (r == 0 && (lseek(fd, 0, SEEK_SET) < 0 || dup2(fd, STDIN_FILENO) < 0))
        r = -errno;
    close(fd);
    return r;
}

/* Execs `attest-agent hook ARGS --agent-socket ''` from this binary's directory. */
static int fallback(int argc, char **argv, const uint8_t *state, size_t len)
{
    char self[PATH_MAX], full[PATH_MAX + 16], **av = calloc((size_t)argc + 4, sizeof(*av));
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    char *slash;
    int i;

    if (!av || n <= 0 || state_to_stdin(state, len) < 0) {
        free(av);
        fprintf(stderr, "attest-agent: the container must not start: no fallback\n");
        return 1;
    }
    self[n] = '\0';
    if ((slash = strrchr(self, '/')))
        *slash = '\0';
    snprintf(full, sizeof(full), "%s/attest-agent", self);
    av[0] = "attest-agent";
    av[1] = "hook";
    for (i = 1; i < argc; i++)
        av[i + 1] = argv[i];
    av[argc + 1] = "--agent-socket";
    av[argc + 2] = "";
    (void)hookfwd_watchdog(0); /* an interval timer survives exec; the full hook sets its own */
    execv(full, av);
    fprintf(stderr, "attest-agent: the container must not start: exec %s: %s\n", full,
            strerror(errno));
    free(av);
    return 1;
}

int main(int argc, char **argv)
{
    const char *sock = opt_value(argc, argv, "--agent-socket");
    uint8_t *state = NULL;
    size_t len = 0;
    int r;

    switch (cli_ask(argc, argv)) {
    case CLI_HELP: usage(); return 0;
    case CLI_VERSION: cli_version("attest-agent-hook"); return 0;
    default: break;
    }
    if (argc > 1 && !strcmp(argv[1], "hook")) { /* the command word is optional */
        argv[1] = argv[0];
        argv++;
        argc--;
    }
    if (!sock)
        sock = AGENT_DEFAULT_SOCKET;
    signal(SIGPIPE, SIG_IGN);
    if (hookfwd_watchdog(timeout_ms(argc, argv)) < 0 || hookfwd_read_state(&state, &len) < 0)
        return 1;
    r = *sock ? hookfwd_run(sock, argv + 1, argc - 1, state, len) : HOOKFWD_FALLBACK;
    if (r == HOOKFWD_FALLBACK)
        r = fallback(argc, argv, state, len);
    free(state);
    return r;
}
