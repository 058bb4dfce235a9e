/* SPDX-License-Identifier: BSD-3-Clause */
/* Command-line options of vtpm-cuse. */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cfgfile.h"
#include "sockclient.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vtpm-cuse --socket PATH [--name NAME] [--foreground] [--timeout SECONDS]\n"
            "                 [--user UID[:GID]] [--debug] [--config FILE]\n"
            "  --config   options from a JSON file (default " CFGFILE_DIR "/vtpm-cuse.json when\n"
            "             it exists); the command line's win\n"
            "Presents the vTPM served on PATH (<run-dir>/vtpm/<uuid>/tpm.sock) as the\n"
            "character device /dev/NAME (default tpm0) through CUSE.\n"
            "  --timeout  bound on one command round trip (default 30 s)\n"
            "  --user     numeric ids to run as after the device is set up\n"
            "  --help, -h | --version   this text | the version\n");
}

static int parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
    char *end = NULL;

    errno = 0;
    *out = strtoul(s, &end, 10);
    if (errno || end == s || *end || *out > max || *s == '-')
        return -EINVAL;
    return 0;
}

/* "UID" or "UID:GID"; GID defaults to UID. Never root: that is not a drop. */
static int parse_user(const char *s, struct adapter_config *cfg)
{
    char buf[32], *colon;
    unsigned long uid, gid;

    if (strlen(s) >= sizeof(buf))
        return -EINVAL;
    strcpy(buf, s);
    colon = strchr(buf, ':');
    if (colon)
        *colon = '\0';
    if (parse_ulong(buf, UINT_MAX - 1, &uid) < 0)
        return -EINVAL;
    gid = uid;
    if (colon && parse_ulong(colon + 1, UINT_MAX - 1, &gid) < 0)
        return -EINVAL;
    if (uid == 0 || gid == 0)
        return -EINVAL;
    cfg->uid = (uid_t)uid, cfg->gid = (gid_t)gid, cfg->change_id = true;
    return 0;
}

static int parse_one(int c, const char *arg, struct adapter_config *cfg)
{
    unsigned long secs;

    switch (c) {
    case 'n':
        /* A device name, not a path: CUSE would create it anywhere under /dev. */
        if (!*arg || strchr(arg, '/') || strchr(arg, '=') || !strcmp(arg, ".") ||
            !strcmp(arg, ".."))
            return -EINVAL;
        cfg->name = arg;
        return 0;
    case 's': cfg->socket = arg; return 0;
    case 'f': cfg->foreground = true; return 0;
    case 'd': cfg->debug = true; return 0;
    case 'u': return parse_user(arg, cfg);
    case 't':
        if (parse_ulong(arg, 3600, &secs) < 0 || secs == 0)
            return -EINVAL;
        cfg->timeout_ms = (int)secs * 1000;
        return 0;
    default:
        return -EINVAL;
    }
}

int options_parse(int argc, char **argv, struct adapter_config *cfg)
{
    static const struct option opts[] = {
        { "name", required_argument, NULL, 'n' },    { "socket", required_argument, NULL, 's' },
        { "foreground", no_argument, NULL, 'f' },    { "debug", no_argument, NULL, 'd' },
        { "user", required_argument, NULL, 'u' },    { "timeout", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },          { NULL, 0, NULL, 0 },
    };
    int c, idx = 0;

    *cfg = (struct adapter_config){ .name = "tpm0", .timeout_ms = SOCKCLIENT_DEFAULT_TIMEOUT_MS };
    switch (cli_ask(argc, argv)) {
    case CLI_HELP: usage(stdout); return 1;
    case CLI_VERSION: cli_version("vtpm-cuse"); return 1;
    default: break;
    }
    if (cfgfile_expand("vtpm-cuse", "vtpm-cuse", opts, 1, &argc, &argv) < 0)
        return -EINVAL;
    while ((c = getopt_long(argc, argv, "", opts, &idx)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return 1;
        }
        if (c == '?') /* getopt said why */
            goto bad;
        if (parse_one(c, optarg, cfg) < 0) {
            fprintf(stderr, "vtpm-cuse: bad value '%s' for --%s\n", optarg, opts[idx].name);
            goto bad;
        }
    }
    if (optind != argc || !cfg->socket || !*cfg->socket)
        goto bad;
    return 0;
bad:
    usage(stderr);
    return -EINVAL;
}
