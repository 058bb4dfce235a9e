/* SPDX-License-Identifier: BSD-3-Clause */
/* Test stand-in for the vtpm-mgr parent: drives one vtpm-mgr-worker from line commands on stdin. */
/*
 * Usage: worker_harness DIR   (build dir from VTPM_BUILD, default ./build)
 * Commands (one per line; each answers one line "OK ..." or "ERR ..." on stdout):
 *   spawn                      start a worker with the IPC socketpair on fd 3
 *   create NAME ecc|rsa        IPC_INST_CREATE; EK public written to DIR/NAME.ekpub
 *   ekcert NAME ecc|rsa FILE   IPC_INST_SET_EKCERT with FILE's bytes
 *   attach NAME [UID]          bind DIR/NAME.sock(.ctrl), IPC_INST_ATTACH (uid default 0)
 *   load NAME vol|novol        [IPC_INST_STAGE_VOLATILE] + IPC_INST_LOAD from kept blobs
 *   remove NAME | suspend | stats | pid
 *   failstores N               answer the next N IPC_STATE_STOREs with -EIO
 *   raw TYPE LEN               send a bogus datagram (protocol-error test)
 *   stop                       close the IPC socket, wait for the worker: "OK exit=N"
 *   quit
 *   denypeers N                refuse the next N IPC_PEER_CHECKs (-EACCES); others are admitted
 *   memopeers MS               admissions may be reused for MS ms (IPC_PEER_VERDICT arg)
 * While idle it keeps answering IPC_STATE_STORE, keeping blobs in memory like the parent,
 * and IPC_PEER_CHECK.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vtpm_ipc.h"

#define MAX_INST 64
#define BUFSZ    (sizeof(struct vtpm_ipc_hdr) + VTPM_IPC_MAX_PAYLOAD)

struct hinst {
    char name[32];
    uint8_t uuid[16];
    uint8_t *perm, *vol;
    size_t perm_len, vol_len;
};

static struct hinst g_inst[MAX_INST];
static const char *g_dir;
static int g_fd = -1;
static pid_t g_pid = -1;
static uint32_t g_seq;
static int g_failstores;
static uint8_t g_buf[BUFSZ];

static struct hinst *inst_get(const char *name)
{
    int i;

    for (i = 0; i < MAX_INST; i++)
        if (!strcmp(g_inst[i].name, name))
            return &g_inst[i];
    for (i = 0; i < MAX_INST; i++) {
        if (!g_inst[i].name[0]) {
            snprintf(g_inst[i].name, sizeof(g_inst[i].name), "%s", name);
            g_inst[i].uuid[0] = (uint8_t)(i + 1);
            g_inst[i].uuid[15] = 0x42;
            return &g_inst[i];
        }
    }
    return NULL;
}

static struct hinst *inst_by_uuid(const uint8_t *uuid)
{
    int i;

    for (i = 0; i < MAX_INST; i++)
        if (g_inst[i].name[0] && !memcmp(g_inst[i].uuid, uuid, 16))
            return &g_inst[i];
    return NULL;
}

static int send_msg(uint32_t type, const uint8_t *uuid, uint32_t arg, const void *p, size_t len,
                    const int *fds, int nfds)
{
    struct vtpm_ipc_hdr h = { .type = type, .seq = ++g_seq, .len = (uint32_t)len, .arg = arg };
    struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)p, len } };
    char cbuf[CMSG_SPACE(2 * sizeof(int))];
    struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };

    if (uuid)
        memcpy(h.uuid, uuid, 16);
    if (nfds) {
        struct cmsghdr *c;
        memset(cbuf, 0, sizeof(cbuf));
        mh.msg_control = cbuf;
        mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
        c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
        memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
    }
    return sendmsg(g_fd, &mh, MSG_NOSIGNAL) < 0 ? -errno : (int)h.seq;
}

static void keep(uint8_t **slot, size_t *slot_len, const uint8_t *p, size_t len)
{
    free(*slot);
    *slot = malloc(len);
    memcpy(*slot, p, len);
    *slot_len = len;
}

/* Answers one IPC_STATE_STORE held in g_buf. */
static void on_store(const struct vtpm_ipc_hdr *h)
{
    struct hinst *hi = inst_by_uuid(h->uuid);
    struct vtpm_ipc_hdr ack = { .type = IPC_STATE_ACK, .seq = h->seq };

    memcpy(ack.uuid, h->uuid, 16);
    if (g_failstores > 0) {
        g_failstores--;
        ack.status = -EIO;
    } else if (!hi) {
        ack.status = -ENOENT;
    } else if (h->arg == VTPM_STATE_PERM) {
        keep(&hi->perm, &hi->perm_len, g_buf + sizeof(*h), h->len);
    } else {
        keep(&hi->vol, &hi->vol_len, g_buf + sizeof(*h), h->len);
    }
    if (send(g_fd, &ack, sizeof(ack), MSG_NOSIGNAL) < 0)
        perror("harness: ack");
}

static int g_denypeers;
static uint32_t g_memopeers;

/* Answers one IPC_PEER_CHECK: admitted unless denypeers asked otherwise. */
static void on_peer(const struct vtpm_ipc_hdr *h)
{
    struct vtpm_ipc_hdr v = { .type = IPC_PEER_VERDICT, .seq = h->seq };

    memcpy(v.uuid, h->uuid, 16);
    if (h->len != sizeof(struct vtpm_ipc_peer) || g_denypeers > 0)
        v.status = -EACCES;
    else
        v.arg = g_memopeers;
    if (g_denypeers > 0)
        g_denypeers--;
    if (send(g_fd, &v, sizeof(v), MSG_NOSIGNAL) < 0)
        perror("harness: verdict");
}

/* Reads one message; answers stores and peer checks. Returns the reply header for seq, or type 0 on EOF. */
static int pump(uint32_t seq, struct vtpm_ipc_hdr *out)
{
    for (;;) {
        ssize_t n = recv(g_fd, g_buf, sizeof(g_buf), 0);
        struct vtpm_ipc_hdr h;
        if (n <= 0)
            return -1;
        if ((size_t)n < sizeof(h))
            return -1;
        memcpy(&h, g_buf, sizeof(h));
        if ((size_t)n != sizeof(h) + h.len)
            return -1;
        if (h.type == IPC_STATE_STORE) {
            on_store(&h);
            continue;
        }
        if (h.type == IPC_PEER_CHECK) {
            on_peer(&h);
            continue;
        }
        if (h.type == IPC_REPLY && h.seq == seq) {
            *out = h;
            return 0;
        }
        fprintf(stderr, "harness: unexpected message type %u seq %u\n", h.type, h.seq);
        return -1;
    }
}

static int request(uint32_t type, struct hinst *hi, uint32_t arg, const void *p, size_t len,
                   const int *fds, int nfds, struct vtpm_ipc_hdr *rep)
{
    int seq = send_msg(type, hi ? hi->uuid : NULL, arg, p, len, fds, nfds);

    if (seq < 0 || pump((uint32_t)seq, rep) < 0) {
        printf("ERR ipc\n");
        return -1;
    }
    if (rep->status != 0) {
        printf("ERR status=%d\n", rep->status);
        return -1;
    }
    return 0;
}

static int cmd_spawn(void)
{
    int sv[2];
    char path[4096];
    const char *b = getenv("VTPM_BUILD");

    snprintf(path, sizeof(path), "%s/bin/vtpm-mgr-worker", b ? b : "./build");
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    g_pid = fork();
    if (g_pid == 0) {
        if (dup2(sv[1], VTPM_IPC_FD) < 0)
            _exit(127);
        execl(path, "vtpm-mgr-worker", (char *)NULL);
        _exit(127);
    }
    close(sv[1]);
    g_fd = sv[0];
    printf("OK pid=%d\n", (int)g_pid);
    return 0;
}

static int write_file(const char *name, const char *ext, const uint8_t *p, size_t len)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s.%s", g_dir, name, ext);
    f = fopen(path, "wb");
    if (!f || fwrite(p, 1, len, f) != len) {
        if (f)
            fclose(f);
        return -1;
    }
    return fclose(f);
}

static uint32_t ek_arg(const char *t)
{
    return t && !strcmp(t, "rsa") ? VTPM_EK_RSA_2048 : VTPM_EK_ECC_P256;
}

static void cmd_create(char *name, char *type)
{
    struct hinst *hi = inst_get(name);
    struct vtpm_ipc_hdr rep;

    if (request(IPC_INST_CREATE, hi, ek_arg(type), NULL, 0, NULL, 0, &rep) < 0)
        return;
    if (write_file(name, "ekpub", g_buf + sizeof(rep), rep.len) < 0)
        printf("ERR write\n");
    else
        printf("OK %u\n", rep.len);
}

static void cmd_ekcert(char *name, char *type, char *file)
{
    static uint8_t der[8192];
    struct vtpm_ipc_hdr rep;
    FILE *f = file ? fopen(file, "rb") : NULL;
    size_t n;

    if (!f) {
        printf("ERR file\n");
        return;
    }
    n = fread(der, 1, sizeof(der), f);
    fclose(f);
    if (request(IPC_INST_SET_EKCERT, inst_get(name), ek_arg(type), der, n, NULL, 0, &rep) == 0)
        printf("OK\n");
}

static int bind_sock(const char *name, const char *suffix)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    snprintf(a.sun_path, sizeof(a.sun_path), "%s/%s.sock%s", g_dir, name, suffix);
    unlink(a.sun_path);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 64) < 0 ||
        chmod(a.sun_path, 0777) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static void cmd_attach(char *name, char *uid)
{
    struct vtpm_ipc_hdr rep;
    int fds[2] = { bind_sock(name, ""), bind_sock(name, ".ctrl") };

    if (fds[0] < 0 || fds[1] < 0) {
        printf("ERR bind\n");
        return;
    }
    if (request(IPC_INST_ATTACH, inst_get(name), uid ? (uint32_t)atoi(uid) : 0, NULL, 0, fds, 2,
                &rep) == 0)
        printf("OK\n");
    close(fds[0]);
    close(fds[1]);
}

static void cmd_load(char *name, char *mode)
{
    struct hinst *hi = inst_get(name);
    struct vtpm_ipc_hdr rep;

    if (!hi->perm) {
        printf("ERR noperm\n");
        return;
    }
    if (mode && !strcmp(mode, "vol")) {
        if (!hi->vol) {
            printf("ERR novol\n");
            return;
        }
        if (request(IPC_INST_STAGE_VOLATILE, hi, 0, hi->vol, hi->vol_len, NULL, 0, &rep) < 0)
            return;
    }
    if (request(IPC_INST_LOAD, hi, 0, hi->perm, hi->perm_len, NULL, 0, &rep) == 0)
        printf("OK\n");
}

static void cmd_simple(uint32_t type, char *name)
{
    struct vtpm_ipc_hdr rep;
    struct vtpm_ipc_stats st;

    if (request(type, name ? inst_get(name) : NULL, 0, NULL, 0, NULL, 0, &rep) < 0)
        return;
    if (type != IPC_STATS || rep.len != sizeof(st)) {
        printf("OK\n");
        return;
    }
    memcpy(&st, g_buf + sizeof(rep), sizeof(st));
    printf("OK instances=%u connections=%u commands=%llu swaps=%llu stores=%llu\n", st.instances,
           st.connections, (unsigned long long)st.commands, (unsigned long long)st.swaps,
           (unsigned long long)st.state_stores);
}

static void cmd_raw(char *type, char *len)
{
    static uint8_t junk[VTPM_IPC_MAX_PAYLOAD + 1024];
    struct vtpm_ipc_hdr h = { .type = (uint32_t)strtoul(type ? type : "0", NULL, 0), .seq = 1 };
    size_t n = len ? strtoul(len, NULL, 0) : 0;

    if (n > sizeof(junk))
        n = sizeof(junk);
    h.len = (uint32_t)n + 1; /* lies about its length */
    memcpy(junk, &h, sizeof(h));
    if (send(g_fd, junk, sizeof(h) + n, MSG_NOSIGNAL) < 0)
        printf("ERR send\n");
    else
        printf("OK\n");
}

static void cmd_stop(void)
{
    int st = 0, i;

    if (g_fd >= 0)
        close(g_fd);
    g_fd = -1;
    for (i = 0; i < 100; i++) { /* 10 s, then kill by pid */
        if (waitpid(g_pid, &st, WNOHANG) == g_pid)
            break;
        usleep(100000);
    }
    if (i == 100) {
        kill(g_pid, SIGKILL);
        waitpid(g_pid, &st, 0);
    }
    if (WIFEXITED(st))
        printf("OK exit=%d\n", WEXITSTATUS(st));
    else
        printf("OK signal=%d\n", WTERMSIG(st));
    g_pid = -1;
}

static int dispatch(char *line)
{
    char *save = NULL;
    char *cmd = strtok_r(line, " \t\n", &save);
    char *a = strtok_r(NULL, " \t\n", &save);
    char *b = strtok_r(NULL, " \t\n", &save);
    char *c = strtok_r(NULL, " \t\n", &save);

    if (!cmd)
        return 0;
    if (!strcmp(cmd, "quit"))
        return 1;
    if (!strcmp(cmd, "spawn"))
        cmd_spawn();
    else if (!strcmp(cmd, "stop") && g_pid > 0)
        cmd_stop(); /* also after the worker closed its end first (it may exit on its own) */
    else if (g_fd < 0)
        printf("ERR noworker\n");
    else if (!strcmp(cmd, "create") && a)
        cmd_create(a, b);
    else if (!strcmp(cmd, "ekcert") && a)
        cmd_ekcert(a, b, c);
    else if (!strcmp(cmd, "attach") && a)
        cmd_attach(a, b);
    else if (!strcmp(cmd, "load") && a)
        cmd_load(a, b);
    else if (!strcmp(cmd, "remove") && a)
        cmd_simple(IPC_INST_REMOVE, a);
    else if (!strcmp(cmd, "suspend"))
        cmd_simple(IPC_SUSPEND_ALL, NULL);
    else if (!strcmp(cmd, "stats"))
        cmd_simple(IPC_STATS, NULL);
    else if (!strcmp(cmd, "pid"))
        printf("OK %d\n", (int)g_pid);
    else if (!strcmp(cmd, "failstores") && a)
        printf("OK\n"), g_failstores = atoi(a);
    else if (!strcmp(cmd, "denypeers") && a)
        printf("OK\n"), g_denypeers = atoi(a);
    else if (!strcmp(cmd, "memopeers") && a)
        printf("OK\n"), g_memopeers = (uint32_t)atoi(a);
    else if (!strcmp(cmd, "raw"))
        cmd_raw(a, b);
    else
        printf("ERR unknown\n");
    return 0;
}

/* Reads one line from fd 0 byte by byte: stdio buffering would hide lines from poll(). */
static int read_line(char *line, size_t cap)
{
    size_t n = 0;
    char ch;

    while (n + 1 < cap) {
        ssize_t r = read(0, &ch, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return n ? 0 : -1;
        if (ch == '\n')
            break;
        line[n++] = ch;
    }
    line[n] = 0;
    return 0;
}

/* Waits for a command line while answering the worker's state stores. */
static int next_line(char *line, size_t cap)
{
    for (;;) {
        struct pollfd p[2] = { { .fd = 0, .events = POLLIN }, { .fd = g_fd, .events = POLLIN } };
        struct vtpm_ipc_hdr h;
        if (poll(p, g_fd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
            return -1;
        if (p[0].revents)
            return read_line(line, cap);
        if (g_fd >= 0 && p[1].revents) {
            ssize_t n = recv(g_fd, g_buf, sizeof(g_buf), MSG_DONTWAIT);
            if (n <= 0) { /* worker died: report at the next command */
                close(g_fd);
                g_fd = -1;
                continue;
            }
            memcpy(&h, g_buf, sizeof(h));
            if (h.type == IPC_STATE_STORE && (size_t)n == sizeof(h) + h.len)
                on_store(&h);
            else if (h.type == IPC_PEER_CHECK && (size_t)n == sizeof(h) + h.len)
                on_peer(&h);
        }
    }
}

int main(int argc, char **argv)
{
    char line[4096];

    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    g_dir = argv[1];
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (next_line(line, sizeof(line)) == 0) {
        if (dispatch(line))
            break;
        fflush(stdout);
    }
    if (g_pid > 0) {
        kill(g_pid, SIGKILL);
        waitpid(g_pid, NULL, 0);
    }
    return 0;
}
