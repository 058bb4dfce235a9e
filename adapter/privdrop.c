/* SPDX-License-Identifier: BSD-3-Clause */
/* Privileges vtpm-cuse gives up once /dev/cuse is open. */
#include "privdrop.h"

#include <errno.h>
#include <grp.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cap-ng.h>

#include "log.h"

static int change_identity(uid_t uid, gid_t gid)
{
    if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
        return -errno;
    if (getuid() != uid || geteuid() != uid || getgid() != gid || getegid() != gid)
        return -EPERM;
    return 0;
}

static int clear_caps(void)
{
    capng_clear(CAPNG_SELECT_BOTH);
    if (capng_apply(CAPNG_SELECT_CAPS) < 0)
        return -EPERM;
    capng_get_caps_process();
    if (capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE)
        return -EPERM;
    return 0;
}

int privdrop_apply(bool change_id, uid_t uid, gid_t gid)
{
    int r = 0;

    /* Only possible while CAP_SETPCAP is held; a container may not grant it. */
    capng_clear(CAPNG_SELECT_BOTH);
    if (capng_apply(CAPNG_SELECT_BOUNDS) < 0)
        LOG_INFO("capability bounding set left as it is (no CAP_SETPCAP)");
    if (change_id)
        r = change_identity(uid, gid);
    if (r == 0)
        r = clear_caps();
    if (r == 0 && (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
                   prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0))
        r = -errno;
    if (r < 0)
        LOG_ERROR("cannot drop privileges: %s", strerror(-r));
    return r;
}
