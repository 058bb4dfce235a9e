/* SPDX-License-Identifier: BSD-3-Clause */
/* vtpm-mgr: hosts container vTPMs rooted in the host TPM. main() parses and daemonizes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "mgr.h"

static int g_ready_fd = -1;

/* The launcher returns only when the daemon is serving (exit 0) or has failed (exit 1). */
static int daemonize(void)
{
    int p[2];
    char c;
    pid_t pid;

    if (pipe2(p, O_CLOEXEC) != 0)
        return -errno;
    pid = fork();
    if (pid < 0)
        return -errno;
    if (pid > 0) {
        close(p[1]);
        _exit(read(p[0], &c, 1) == 1 ? 0 : 1);
    }
    close(p[0]);
    if (setsid() < 0)
        return -errno;
    g_ready_fd = p[1];
    return 0;
}

void daemon_ready(void)
{
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);

    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        close(null);
    }
    if (g_ready_fd >= 0) {
        if (write(g_ready_fd, "r", 1) != 1)
            LOG_WARN("launcher gone before ready");
        close(g_ready_fd);
        g_ready_fd = -1;
    }
}

int main(int argc, char **argv)
{
    struct mgr_config cfg;
    int r = config_parse(argc, argv, &cfg);

    if (r != 0)
        return r > 0 ? 0 : 2;
    log_set_ident("vtpm-mgr");
    if (config_check(&cfg) != 0)
        return 1;
    if (cfg.reseal)
        return mgr_reseal(&cfg);
    if (cfg.accept_state)
        return mgr_accept_state(&cfg);
    if (!cfg.foreground && daemonize() != 0) {
        fprintf(stderr, "vtpm-mgr: cannot daemonize: %s\n", strerror(errno));
        return 1;
    }
    return mgr_run(&cfg);
}
