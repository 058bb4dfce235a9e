/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * slowtpm: a host TPM as slow as hardware, for tests and benchmarks. It listens on a Unix
 * data socket and its ".ctrl" control socket (the swtpm socket protocol, as tpm2-tss's
 * swtpm TCTI speaks it), forwards every command to a swtpm behind it, one command at a
 * time in arrival order like a real TPM, and holds each response until the command's
 * delay from a latency table (swtpm-ci/slowtpm-profiles.tsv) has passed since the command
 * started. It counts the commands by name into a JSON file; SIGUSR1 zeroes the counts.
 * See docs/slowtpm.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <tss2/tss2_mu.h>

#include "inspect.h"
#include "log.h"
#include "profile.h"
#include "swtpm_proto.h"

#define MAX_CLIENTS    256
#define IDLE_US        (60ull * 1000000)  /* a connection idle this long is dropped */
#define UPSTREAM_MS    120000             /* swtpm itself must answer within this */
#define CTRL_BUF       32
#define MAX_UNKNOWN    32

enum state { READING, QUEUED, SERVING, WRITING };

struct client {
    int fd;
    int is_ctrl;
    enum state st;
    uint64_t seq;          /* arrival order of the queued request */
    uint64_t last_us;      /* last activity */
    uint8_t in[TPM_MAX_CMD];
    size_t inlen, reqlen;  /* bytes read; length of the complete request (0: unknown yet) */
    uint8_t out[TPM_MAX_CMD];
    size_t outlen, outoff;
    int close_after;       /* close once the response is written */
};

static struct {
    const char *listen_path, *upstream_path, *counts_path, *profile_name;
    char listen_ctrl[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char upstream_ctrl[sizeof(((struct sockaddr_un *)0)->sun_path)];
    struct profile *profile;
    int lfd, lcfd, sigfd, upfd;
    struct client *cl[MAX_CLIENTS];
    uint64_t next_seq;
    struct client *serving; /* whose command is in service (NULL once it went away) */
    int busy;               /* a command is in service: the TPM takes nothing else */
    uint64_t release_us, start_us;
    /* counts since the last SIGUSR1 */
    uint64_t *count, *count_ecc, *count_rsa;
    struct { uint32_t code; uint64_t n; } unknown[MAX_UNKNOWN];
    uint64_t unknown_other, ctrl_count[0x20], ctrl_other;
    uint64_t total, signatures, rejected, busy_us, max_waiting, resets;
} g = { .lfd = -1, .lcfd = -1, .sigfd = -1, .upfd = -1 };

static uint64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static const char *ctrl_name(uint32_t c)
{
    static const char *const n[] = {
        [CMD_GET_CAPABILITY] = "GET_CAPABILITY", [CMD_INIT] = "INIT", [CMD_SHUTDOWN] = "SHUTDOWN",
        [CMD_GET_TPMESTABLISHED] = "GET_TPMESTABLISHED", [CMD_SET_LOCALITY] = "SET_LOCALITY",
        [CMD_HASH_START] = "HASH_START", [CMD_HASH_DATA] = "HASH_DATA", [CMD_HASH_END] = "HASH_END",
        [CMD_CANCEL_TPM_CMD] = "CANCEL_TPM_CMD", [CMD_STORE_VOLATILE] = "STORE_VOLATILE",
        [CMD_RESET_TPMESTABLISHED] = "RESET_TPMESTABLISHED", [CMD_GET_STATEBLOB] = "GET_STATEBLOB",
        [CMD_SET_STATEBLOB] = "SET_STATEBLOB", [CMD_STOP] = "STOP", [CMD_GET_CONFIG] = "GET_CONFIG",
        [CMD_SET_DATAFD] = "SET_DATAFD", [CMD_SET_BUFFERSIZE] = "SET_BUFFERSIZE",
        [CMD_GET_INFO] = "GET_INFO", [CMD_LOCK_STORAGE] = "LOCK_STORAGE",
    };
    return c < sizeof(n) / sizeof(n[0]) && n[c] ? n[c] : NULL;
}

/* Request payload length of the control commands we relay (swtpm 0.7 tpm_ioctl.h), or -1. */
static int ctrl_req_len(uint32_t c)
{
    switch (c) {
    case CMD_GET_CAPABILITY: case CMD_SHUTDOWN: case CMD_GET_TPMESTABLISHED:
    case CMD_CANCEL_TPM_CMD: case CMD_STORE_VOLATILE: case CMD_STOP: case CMD_GET_CONFIG:
        return 0;
    case CMD_SET_LOCALITY: case CMD_RESET_TPMESTABLISHED:
        return 1;
    case CMD_INIT: case CMD_SET_BUFFERSIZE:
        return 4;
    default:
        return -1; /* hashing, state blobs, data fds, info: not relayed */
    }
}

/* Length of swtpm's response to a relayed control command on success (result 0). */
static size_t ctrl_resp_len(uint32_t c)
{
    switch (c) {
    case CMD_GET_CAPABILITY: return 8;           /* be64 caps, no result */
    case CMD_GET_TPMESTABLISHED: return 8;       /* result, bit, padding */
    case CMD_GET_CONFIG: return 8;               /* result, flags */
    case CMD_SET_BUFFERSIZE: return 16;          /* result, size, min, max */
    default: return 4;
    }
}

/* --- the counts file --------------------------------------------------------------------- */

static void write_counts(void)
{
    json_t *o = json_object(), *cmds = json_object(), *alg = json_object(), *ctrl = json_object();
    char tmp[4200];

    if (!o || !cmds || !alg || !ctrl)
        goto out;
    json_object_set_new(o, "profile", json_string(g.profile_name));
    json_object_set_new(o, "resets", json_integer((json_int_t)g.resets));
    json_object_set_new(o, "total", json_integer((json_int_t)g.total));
    json_object_set_new(o, "signatures", json_integer((json_int_t)g.signatures));
    json_object_set_new(o, "busy_ms", json_real((double)g.busy_us / 1000.0));
    json_object_set_new(o, "max_waiting", json_integer((json_int_t)g.max_waiting));
    json_object_set_new(o, "rejected", json_integer((json_int_t)g.rejected));
    for (size_t i = 0; i < cc_count(); i++) {
        if (g.count[i])
            json_object_set_new(cmds, cc_name(i), json_integer((json_int_t)g.count[i]));
        char k[64];
        if (g.count_ecc[i]) {
            snprintf(k, sizeof(k), "%s/ecc", cc_name(i));
            json_object_set_new(alg, k, json_integer((json_int_t)g.count_ecc[i]));
        }
        if (g.count_rsa[i]) {
            snprintf(k, sizeof(k), "%s/rsa", cc_name(i));
            json_object_set_new(alg, k, json_integer((json_int_t)g.count_rsa[i]));
        }
    }
    for (size_t i = 0; i < MAX_UNKNOWN && g.unknown[i].n; i++) {
        char k[16];
        snprintf(k, sizeof(k), "0x%08" PRIx32, g.unknown[i].code);
        json_object_set_new(cmds, k, json_integer((json_int_t)g.unknown[i].n));
    }
    if (g.unknown_other)
        json_object_set_new(cmds, "other", json_integer((json_int_t)g.unknown_other));
    for (uint32_t c = 0; c < sizeof(g.ctrl_count) / sizeof(g.ctrl_count[0]); c++)
        if (g.ctrl_count[c] && ctrl_name(c))
            json_object_set_new(ctrl, ctrl_name(c), json_integer((json_int_t)g.ctrl_count[c]));
    if (g.ctrl_other)
        json_object_set_new(ctrl, "other", json_integer((json_int_t)g.ctrl_other));
    json_object_set(o, "commands", cmds);
    json_object_set(o, "by_alg", alg);
    json_object_set(o, "ctrl", ctrl);
    /* Replaced whole by rename: a reader never sees half a file. */
    snprintf(tmp, sizeof(tmp), "%s.tmp", g.counts_path);
    if (json_dump_file(o, tmp, JSON_INDENT(1) | JSON_SORT_KEYS) || rename(tmp, g.counts_path))
        LOG_WARN("cannot write the counts to %s: %s", g.counts_path, strerror(errno));
out:
    json_decref(o);
    json_decref(cmds);
    json_decref(alg);
    json_decref(ctrl);
}

static void zero_counts(void)
{
    memset(g.count, 0, cc_count() * sizeof(*g.count));
    memset(g.count_ecc, 0, cc_count() * sizeof(*g.count_ecc));
    memset(g.count_rsa, 0, cc_count() * sizeof(*g.count_rsa));
    memset(g.unknown, 0, sizeof(g.unknown));
    memset(g.ctrl_count, 0, sizeof(g.ctrl_count));
    g.unknown_other = g.ctrl_other = 0;
    g.total = g.signatures = g.rejected = g.busy_us = g.max_waiting = 0;
    g.resets++;
    write_counts();
}

static void count_command(uint32_t code, enum key_alg alg, int signed_ok)
{
    int i = cc_index(code);

    g.total++;
    if (signed_ok)
        g.signatures++;
    if (i >= 0) {
        g.count[i]++;
        if (alg == ALG_ECC)
            g.count_ecc[i]++;
        else if (alg == ALG_RSA)
            g.count_rsa[i]++;
        return;
    }
    for (size_t k = 0; k < MAX_UNKNOWN; k++)
        if (!g.unknown[k].n || g.unknown[k].code == code) {
            g.unknown[k].code = code;
            g.unknown[k].n++;
            return;
        }
    g.unknown_other++;
}

/* --- sockets ----------------------------------------------------------------------------- */

static int set_path(struct sockaddr_un *sa, const char *path)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa->sun_path))
        return -1;
    strcpy(sa->sun_path, path);
    return 0;
}

static int listen_on(const char *path)
{
    struct sockaddr_un sa;
    int fd;

    if (set_path(&sa, path)) {
        LOG_ERROR("socket path too long: %s", path);
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 128)) {
        LOG_ERROR("cannot listen on %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Blocking connect with a bounded wait for the answer (SO_RCVTIMEO/SO_SNDTIMEO). */
static int connect_to(const char *path)
{
    struct sockaddr_un sa;
    struct timeval tv = { .tv_sec = UPSTREAM_MS / 1000 };
    int fd;

    if (set_path(&sa, path))
        return -1;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        close(fd);
        return -1;
    }
    return fd;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, uint8_t *p, size_t n)
{
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/*
 * One command through swtpm's data socket (connection kept, reopened once if swtpm closed
 * it). Writes the response into out; returns its length, 0 on failure.
 */
static size_t upstream_command(const uint8_t *cmd, size_t len, uint8_t *out, size_t cap)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        TPM2_ST tag;
        uint32_t size, rc;

        if (g.upfd < 0 && (g.upfd = connect_to(g.upstream_path)) < 0) {
            LOG_ERROR("cannot connect to swtpm at %s: %s", g.upstream_path, strerror(errno));
            return 0;
        }
        if (write_all(g.upfd, cmd, len) == 0 && read_all(g.upfd, out, TPM_HDR_LEN) == 0 &&
            tpm_header(out, TPM_HDR_LEN, &tag, &size, &rc) == 0) {
            if (size < TPM_HDR_LEN || size > cap) {
                LOG_ERROR("swtpm answered with a frame of %" PRIu32 " bytes", size);
            } else if (read_all(g.upfd, out + TPM_HDR_LEN, size - TPM_HDR_LEN) == 0) {
                return size;
            }
        }
        close(g.upfd);
        g.upfd = -1;
    }
    LOG_ERROR("swtpm at %s did not answer a command", g.upstream_path);
    return 0;
}

/* One control command through a new connection to swtpm's control socket. */
static size_t upstream_ctrl(uint32_t code, const uint8_t *req, size_t len, uint8_t *out)
{
    int fd = connect_to(g.upstream_ctrl);
    size_t n = 0, want;
    uint32_t res;

    if (fd < 0) {
        LOG_ERROR("cannot connect to swtpm's control socket %s: %s", g.upstream_ctrl, strerror(errno));
        return 0;
    }
    if (write_all(fd, req, len) || read_all(fd, out, 4))
        goto out;
    want = ctrl_resp_len(code);
    if (Tss2_MU_UINT32_Unmarshal(out, 4, NULL, &res))
        goto out;
    if (code != CMD_GET_CAPABILITY && res != 0)
        want = 4; /* an error is the result alone */
    if (want > 4 && read_all(fd, out + 4, want - 4))
        goto out;
    n = want;
out:
    close(fd);
    return n;
}

/* --- clients ----------------------------------------------------------------------------- */

static void drop(struct client *c, const char *why)
{
    if (why)
        LOG_WARN("%s client (fd %d): %s; connection closed", c->is_ctrl ? "control" : "data",
                 c->fd, why);
    if (g.serving == c)
        g.serving = NULL;
    close(c->fd);
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (g.cl[i] == c)
            g.cl[i] = NULL;
    free(c);
}

static void accept_on(int lfd, int is_ctrl)
{
    for (;;) {
        int slot = -1;
        for (int i = 0; i < MAX_CLIENTS; i++)
            if (!g.cl[i]) {
                slot = i;
                break;
            }
        if (slot < 0)
            return; /* full: the rest wait in the listen backlog */
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        struct client *c = calloc(1, sizeof(*c));
        if (!c) {
            close(fd);
            return;
        }
        c->fd = fd;
        c->is_ctrl = is_ctrl;
        c->st = READING;
        c->last_us = now_us();
        g.cl[slot] = c;
    }
}

static size_t count_queued(void)
{
    size_t n = 0;

    for (int i = 0; i < MAX_CLIENTS; i++)
        if (g.cl[i] && g.cl[i]->st == QUEUED)
            n++;
    return n;
}

static void enqueue(struct client *c)
{
    c->st = QUEUED;
    c->seq = g.next_seq++;
    size_t waiting = count_queued() - (g.busy ? 0 : 1);
    if (waiting > g.max_waiting)
        g.max_waiting = waiting;
}

/* Reads what a client sent; queues its request once complete. */
static void read_client(struct client *c)
{
    ssize_t r = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);

    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (r <= 0) {
        drop(c, c->inlen ? "closed in the middle of a request" : NULL);
        return;
    }
    c->inlen += (size_t)r;
    c->last_us = now_us();
    if (c->is_ctrl) {
        uint32_t code;
        if (c->inlen < 4 || Tss2_MU_UINT32_Unmarshal(c->in, 4, NULL, &code))
            return;
        int plen = ctrl_req_len(code);
        if (plen < 0) {
            /* Refused like swtpm refuses an unknown command; its length cannot be known. */
            size_t off = 0;
            Tss2_MU_UINT32_Marshal(SWTPM_RES_BAD_ORDINAL, c->out, sizeof(c->out), &off);
            c->outlen = off;
            c->outoff = 0;
            c->close_after = 1;
            c->st = WRITING;
            g.rejected++;
            g.ctrl_other++;
            LOG_WARN("control command 0x%08" PRIx32 " is not relayed", code);
            write_counts();
            return;
        }
        c->reqlen = 4 + (size_t)plen;
    } else {
        TPM2_ST tag;
        uint32_t size, code;
        if (c->inlen < TPM_HDR_LEN || tpm_header(c->in, c->inlen, &tag, &size, &code))
            return;
        if (size < TPM_HDR_LEN || size > TPM_MAX_CMD) {
            char why[96];
            snprintf(why, sizeof(why), "command header announces %" PRIu32 " bytes (10 to %u)", size,
                     TPM_MAX_CMD);
            g.rejected++;
            write_counts();
            drop(c, why);
            return;
        }
        c->reqlen = size;
    }
    if (c->inlen > c->reqlen) {
        g.rejected++;
        write_counts();
        drop(c, "sent more than one request before the answer");
        return;
    }
    if (c->inlen == c->reqlen)
        enqueue(c);
}

/* Key type of a loaded key, asked of swtpm with TPM2_ReadPublic (not counted, no delay). */
static enum key_alg key_alg_of(TPM2_HANDLE h)
{
    uint8_t cmd[14], resp[TPM_MAX_CMD];
    size_t n = readpublic_cmd(h, cmd);

    if (!n)
        return ALG_ANY;
    n = upstream_command(cmd, n, resp, sizeof(resp));
    return n ? readpublic_alg(resp, n) : ALG_ANY;
}

/* Starts the oldest queued request: forwards it now, releases its answer after its delay. */
static void serve_next(void)
{
    struct client *c = NULL;
    uint64_t t0 = now_us(), delay = 0;

    for (int i = 0; i < MAX_CLIENTS; i++)
        if (g.cl[i] && g.cl[i]->st == QUEUED && (!c || g.cl[i]->seq < c->seq))
            c = g.cl[i];
    if (!c)
        return;
    if (c->is_ctrl) {
        uint32_t code = 0;
        Tss2_MU_UINT32_Unmarshal(c->in, 4, NULL, &code);
        if (code < sizeof(g.ctrl_count) / sizeof(g.ctrl_count[0]))
            g.ctrl_count[code]++;
        else
            g.ctrl_other++;
        c->outlen = upstream_ctrl(code, c->in, c->reqlen, c->out);
    } else {
        TPM2_ST tag;
        uint32_t size, code;
        enum key_alg alg;
        tpm_header(c->in, c->reqlen, &tag, &size, &code);
        alg = cmd_object_alg(c->in, c->reqlen);
        TPM2_HANDLE kh = cmd_key_handle(c->in, c->reqlen);
        if (kh)
            alg = key_alg_of(kh);
        c->outlen = upstream_command(c->in, c->reqlen, c->out, sizeof(c->out));
        int signed_ok = 0;
        if (c->outlen && cc_signs(code)) {
            alg = resp_signature_alg(code, c->out, c->outlen);
            signed_ok = alg != ALG_ANY;
        }
        count_command(code, alg, signed_ok);
        /* A TPM refuses a bad command before the work that makes it slow: an error answer
         * costs what the table's default row says. */
        int64_t rc = c->outlen ? resp_code(c->out, c->outlen) : -1;
        delay = rc == TPM2_RC_SUCCESS ? profile_delay_us(g.profile, code, alg)
                                      : profile_delay_us(g.profile, TPM2_CC_LAST + 1, ALG_ANY);
        LOG_DEBUG("%s/%s: %" PRIu64 " us", cc_index(code) >= 0 ? cc_name((size_t)cc_index(code)) : "?",
                  alg_name(alg), delay);
    }
    if (!c->outlen) {
        write_counts();
        drop(c, "swtpm gave no answer");
        return;
    }
    c->outoff = 0;
    c->st = SERVING;
    g.serving = c;
    g.busy = 1;
    g.start_us = t0;
    g.release_us = t0 + delay;
    write_counts();
}

static void write_client(struct client *c)
{
    while (c->outoff < c->outlen) {
        ssize_t w = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
        if (w < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (w <= 0) {
            drop(c, NULL); /* the client went away; nothing to tell it */
            return;
        }
        c->outoff += (size_t)w;
    }
    if (c->close_after) {
        drop(c, NULL);
        return;
    }
    c->st = READING;
    c->inlen = c->reqlen = c->outlen = c->outoff = 0;
    c->last_us = now_us();
}

/* The command in service is done: its client gets the answer, the next one starts. */
static void release(void)
{
    struct client *c = g.serving;
    uint64_t t = now_us();

    g.serving = NULL;
    g.busy = 0;
    g.busy_us += t - g.start_us;
    if (c) {
        c->st = WRITING;
        write_client(c);
    }
}

/* --- main loop --------------------------------------------------------------------------- */

static int handle_signal(void)
{
    struct signalfd_siginfo si;

    while (read(g.sigfd, &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo == SIGUSR1) {
            zero_counts();
            LOG_INFO("counts zeroed (reset %" PRIu64 ")", g.resets);
        } else {
            LOG_INFO("signal %u: stopping", si.ssi_signo);
            return 1;
        }
    }
    return 0;
}

static int run(void)
{
    struct pollfd pfd[MAX_CLIENTS + 3];
    struct client *who[MAX_CLIENTS + 3];

    for (;;) {
        uint64_t t = now_us();
        int timeout = 1000;

        if (g.busy && t >= g.release_us)
            release();
        if (!g.busy)
            serve_next();
        if (g.busy) {
            t = now_us();
            uint64_t left = g.release_us > t ? g.release_us - t : 0;
            timeout = (int)((left + 999) / 1000);
            if (left == 0)
                continue;
        }
        nfds_t n = 0;
        short lev = 0; /* no free slot: new connections wait in the backlog, no busy loop */
        for (int i = 0; i < MAX_CLIENTS && !lev; i++)
            if (!g.cl[i])
                lev = POLLIN;
        pfd[n] = (struct pollfd){ .fd = g.sigfd, .events = POLLIN };
        who[n++] = NULL;
        pfd[n] = (struct pollfd){ .fd = g.lfd, .events = lev };
        who[n++] = NULL;
        pfd[n] = (struct pollfd){ .fd = g.lcfd, .events = lev };
        who[n++] = NULL;
        for (int i = 0; i < MAX_CLIENTS; i++) {
            struct client *c = g.cl[i];
            if (!c)
                continue;
            if (c->st == READING && t - c->last_us > IDLE_US) {
                /* An idle connection holds a slot: 256 of them would lock everyone out. */
                if (c->inlen) {
                    g.rejected++;
                    write_counts();
                }
                drop(c, c->inlen ? "half a request, idle for 60 s" : NULL);
                continue;
            }
            short ev = c->st == READING ? POLLIN : c->st == WRITING ? POLLOUT : 0;
            pfd[n] = (struct pollfd){ .fd = c->fd, .events = ev };
            who[n++] = c;
        }
        if (poll(pfd, n, timeout) < 0) {
            if (errno == EINTR)
                continue;
            LOG_ERROR("poll: %s", strerror(errno));
            return 1;
        }
        if ((pfd[0].revents & POLLIN) && handle_signal())
            return 0;
        if (pfd[1].revents & POLLIN)
            accept_on(g.lfd, 0);
        if (pfd[2].revents & POLLIN)
            accept_on(g.lcfd, 1);
        for (nfds_t k = 3; k < n; k++) {
            struct client *c = who[k];
            int alive = 0;
            for (int i = 0; i < MAX_CLIENTS; i++)
                if (g.cl[i] == c)
                    alive = 1;
            if (!alive || !pfd[k].revents)
                continue;
            if (c->st == READING && (pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
                read_client(c);
            else if (c->st == WRITING && (pfd[k].revents & (POLLOUT | POLLHUP | POLLERR)))
                write_client(c);
            else if (pfd[k].revents & (POLLHUP | POLLERR))
                drop(c, NULL); /* went away while queued or in service */
        }
    }
}

static void usage(FILE *f)
{
    fprintf(f, "usage: slowtpm --listen SOCK --upstream SWTPM_SOCK --counts FILE\n"
               "               (--profile none | --profile NAME --table FILE)\n"
               "Serves the swtpm socket protocol on SOCK and SOCK.ctrl, forwarding to the swtpm\n"
               "listening on SWTPM_SOCK and SWTPM_SOCK.ctrl one command at a time, each answer\n"
               "held for the command's delay in column NAME of the table (none: no delay). Counts\n"
               "go to FILE as JSON; SIGUSR1 zeroes them. See docs/slowtpm.md.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "listen", required_argument, NULL, 'l' }, { "upstream", required_argument, NULL, 'u' },
        { "counts", required_argument, NULL, 'c' }, { "profile", required_argument, NULL, 'p' },
        { "table", required_argument, NULL, 't' },  { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *table = NULL;
    char err[512];
    sigset_t ss;
    int o, rc;

    log_set_ident("slowtpm");
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'l': g.listen_path = optarg; break;
        case 'u': g.upstream_path = optarg; break;
        case 'c': g.counts_path = optarg; break;
        case 'p': g.profile_name = optarg; break;
        case 't': table = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc || !g.listen_path || !g.upstream_path || !g.counts_path || !g.profile_name) {
        usage(stderr);
        return 2;
    }
    if (strcmp(g.profile_name, "none")) {
        if (!table) {
            fprintf(stderr, "slowtpm: --profile %s needs --table FILE\n", g.profile_name);
            return 2;
        }
        g.profile = profile_load(table, g.profile_name, err, sizeof(err));
        if (!g.profile) {
            fprintf(stderr, "slowtpm: %s\n", err);
            return 2;
        }
    }
    if (snprintf(g.listen_ctrl, sizeof(g.listen_ctrl), "%s.ctrl", g.listen_path) >=
            (int)sizeof(g.listen_ctrl) ||
        snprintf(g.upstream_ctrl, sizeof(g.upstream_ctrl), "%s.ctrl", g.upstream_path) >=
            (int)sizeof(g.upstream_ctrl)) {
        fprintf(stderr, "slowtpm: socket path too long (with .ctrl over %zu bytes)\n",
                sizeof(g.listen_ctrl) - 1);
        return 2;
    }
    g.count = calloc(cc_count(), sizeof(*g.count));
    g.count_ecc = calloc(cc_count(), sizeof(*g.count_ecc));
    g.count_rsa = calloc(cc_count(), sizeof(*g.count_rsa));
    if (!g.count || !g.count_ecc || !g.count_rsa)
        return 1;
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&ss);
    sigaddset(&ss, SIGUSR1);
    sigaddset(&ss, SIGTERM);
    sigaddset(&ss, SIGINT);
    sigaddset(&ss, SIGHUP);
    sigprocmask(SIG_BLOCK, &ss, NULL);
    g.sigfd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
    umask(077); /* sockets and counts: owner only */
    g.lcfd = listen_on(g.listen_ctrl);
    g.lfd = g.lcfd >= 0 ? listen_on(g.listen_path) : -1;
    if (g.sigfd < 0 || g.lfd < 0 || g.lcfd < 0)
        return 1;
    write_counts(); /* its existence tells that both sockets listen */
    LOG_INFO("serving %s (+ .ctrl) in front of %s, profile %s", g.listen_path, g.upstream_path,
             g.profile_name);
    rc = run();
    write_counts();
    unlink(g.listen_path);
    unlink(g.listen_ctrl);
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (g.cl[i])
            drop(g.cl[i], NULL);
    if (g.upfd >= 0)
        close(g.upfd);
    profile_free(g.profile);
    free(g.count);
    free(g.count_ecc);
    free(g.count_rsa);
    return rc;
}
