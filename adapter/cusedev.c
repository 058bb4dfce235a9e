/* SPDX-License-Identifier: BSD-3-Clause */
/* The CUSE character device of vtpm-cuse: libfuse3 callbacks mapped onto tpmfile. */
#define FUSE_USE_VERSION 312
#include "cusedev.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <limits.h>

#include <cuse_lowlevel.h>
#include <fuse_lowlevel.h>

#include "log.h"
#include "precheck.h"
#include "runlock.h"
#include "sdnotify.h"
#include "privdrop.h"
#include "sockclient.h"
#include "tpmfile.h"
#include "vtpm_ipc.h"

struct cusedev {
    struct sockclient sc;
    const char *name;
};

/* One open file: the TPM state and the poll handle of a caller waiting for a response. */
struct cuse_file {
    struct tpmfile *tf;
    pthread_mutex_t ph_lock; /* guards ph */
    struct fuse_pollhandle *ph;
};

static struct cuse_file *file_of(const struct fuse_file_info *fi)
{
    return (struct cuse_file *)(uintptr_t)fi->fh;
}

static void dev_init_done(void *userdata)
{
    const struct cusedev *d = userdata;

    LOG_INFO("device /dev/%s ready, forwarding to %s", d->name, d->sc.path);
    sdnotify("READY=1");
}

static void dev_open(fuse_req_t req, struct fuse_file_info *fi)
{
    const struct cusedev *d = fuse_req_userdata(req);
    struct cuse_file *cf = calloc(1, sizeof(*cf));

    if (!cf || !(cf->tf = tpmfile_new(&d->sc))) {
        free(cf);
        fuse_reply_err(req, ENOMEM);
        return;
    }
    pthread_mutex_init(&cf->ph_lock, NULL);
    fi->fh = (uintptr_t)cf;
    fi->direct_io = 1;
    fi->nonseekable = 1;
    if (fuse_reply_open(req, fi) != 0) {
        /* The opener is gone: no release will come for this file. */
        pthread_mutex_destroy(&cf->ph_lock);
        tpmfile_free(cf->tf);
        free(cf);
    }
}

static void dev_read(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi)
{
    uint8_t buf[VTPM_TPM_BUFSIZE];
    size_t n = tpmfile_read(file_of(fi)->tf, buf, size < sizeof(buf) ? size : sizeof(buf));

    fuse_reply_buf(req, (const char *)buf, n);
    explicit_bzero(buf, n);
}

/* Wakes a poller waiting for the response that just arrived. */
static void wake_poller(struct cuse_file *cf)
{
    struct fuse_pollhandle *ph;

    pthread_mutex_lock(&cf->ph_lock);
    ph = cf->ph;
    cf->ph = NULL;
    pthread_mutex_unlock(&cf->ph_lock);
    if (ph) {
        fuse_lowlevel_notify_poll(ph);
        fuse_pollhandle_destroy(ph);
    }
}

static void dev_write(fuse_req_t req, const char *buf, size_t size, off_t off,
                      struct fuse_file_info *fi)
{
    struct cuse_file *cf = file_of(fi);
    ssize_t r = tpmfile_write(cf->tf, (const uint8_t *)buf, size);

    if (r < 0) {
        fuse_reply_err(req, (int)-r);
        return;
    }
    /* Before the reply: once the writer is answered it may close, and release frees cf. */
    wake_poller(cf);
    fuse_reply_write(req, (size_t)r);
}

static void dev_poll(fuse_req_t req, struct fuse_file_info *fi, struct fuse_pollhandle *ph)
{
    struct cuse_file *cf = file_of(fi);
    struct fuse_pollhandle *old = NULL;

    if (ph) {
        pthread_mutex_lock(&cf->ph_lock);
        old = cf->ph;
        cf->ph = ph;
        pthread_mutex_unlock(&cf->ph_lock);
    }
    if (old)
        fuse_pollhandle_destroy(old);
    fuse_reply_poll(req, tpmfile_poll(cf->tf));
}

static void dev_release(fuse_req_t req, struct fuse_file_info *fi)
{
    struct cuse_file *cf = file_of(fi);

    if (cf->ph)
        fuse_pollhandle_destroy(cf->ph);
    pthread_mutex_destroy(&cf->ph_lock);
    tpmfile_free(cf->tf);
    free(cf);
    fuse_reply_err(req, 0);
}

static const struct cuse_lowlevel_ops dev_ops = {
    .init_done = dev_init_done,
    .open = dev_open,
    .read = dev_read,
    .write = dev_write,
    .poll = dev_poll,
    .release = dev_release,
};

static int serve(struct fuse_session *se)
{
    struct fuse_loop_config *lc = fuse_loop_cfg_create();
    int r;

    if (!lc)
        return -ENOMEM;
    /* Threads, so a command blocked on a slow vTPM does not stall other open files. */
    r = fuse_session_loop_mt(se, lc);
    fuse_loop_cfg_destroy(lc);
    return r < 0 ? r : 0;
}

/* One adapter per vTPM: an flock on the socket's directory (<run-dir>/vtpm/<uuid>, often a
 * read-only bind mount: nothing is created), held until exit. The descriptor or -errno. */
static int lock_vtpm(const char *socket)
{
    char dir[PATH_MAX], what[PATH_MAX + 32], *slash;

    if (strlen(socket) >= sizeof(dir))
        return -ENAMETOOLONG;
    memcpy(dir, socket, strlen(socket) + 1);
    if (!(slash = strrchr(dir, '/')))
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    snprintf(what, sizeof(what), "the vTPM socket %s", socket);
    return runlock_take_dir(dir, what);
}

int cusedev_run(const struct adapter_config *cfg)
{
    struct cusedev d = { .sc = { .path = cfg->socket, .timeout_ms = cfg->timeout_ms },
                         .name = cfg->name };
    char devname[256];
    const char *dev_info[] = { devname };
    struct cuse_info ci = { .dev_info_argc = 1, .dev_info_argv = dev_info };
    char *argv[4] = { "vtpm-cuse", NULL, NULL, NULL };
    struct fuse_session *se;
    int argc = 1, mt = 0, r, lock;

    if (snprintf(devname, sizeof(devname), "DEVNAME=%s", cfg->name) >= (int)sizeof(devname))
        return -ENAMETOOLONG;
    if (precheck_socket("--socket", cfg->socket) < 0)
        return -ENOENT;
    if ((lock = lock_vtpm(cfg->socket)) < 0)
        return lock;
    sdnotify_init(); /* before the seccomp filter: later only a write(2) */
    if (cfg->foreground)
        argv[argc++] = "-f";
    if (cfg->debug)
        argv[argc++] = "-d";
    se = cuse_lowlevel_setup(argc, argv, &ci, &dev_ops, &mt, &d);
    if (!se) {
        LOG_ERROR("cannot set up CUSE device /dev/%s (is the cuse module loaded, /dev/cuse "
                  "usable, the name free?)", cfg->name);
        close(lock);
        return -ENODEV;
    }
    r = privdrop_apply(cfg->change_id, cfg->uid, cfg->gid);
    if (r == 0)
        r = privdrop_seccomp();
    if (r == 0)
        r = serve(se);
    sdnotify("STOPPING=1");
    cuse_lowlevel_teardown(se);
    close(lock);
    return r;
}
