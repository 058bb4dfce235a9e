/* SPDX-License-Identifier: BSD-3-Clause */
/* Single-instance locks (flock) of the daemons, with the holder's pid for the error message. */
#include "runlock.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "log.h"

/* /proc/locks lines: "N: FLOCK  ADVISORY  WRITE PID MAJ:MIN:INODE START END"; waiters are
 * marked "->" after the number and are skipped. */
pid_t runlock_holder(int fd)
{
    char line[256], type[16];
    struct stat st;
    unsigned maj, min;
    uintmax_t ino;
    long pid;
    FILE *f;
    pid_t found = 0;

    if (fstat(fd, &st) != 0 || !(f = fopen("/proc/locks", "re")))
        return 0;
    while (!found && fgets(line, sizeof(line), f)) {
        char *p = strchr(line, ':');
        if (!p || strstr(line, "->"))
            continue;
        if (sscanf(p + 1, " %15s %*s %*s %ld %x:%x:%ju", type, &pid, &maj, &min, &ino) != 5 ||
            strcmp(type, "FLOCK"))
            continue;
        if (ino == (uintmax_t)st.st_ino && maj == major(st.st_dev) &&
            min == minor(st.st_dev) && pid > 0 && pid != (long)getpid())
            found = (pid_t)pid;
    }
    fclose(f);
    return found;
}

static int lock_fd(int fd, const char *path, const char *what)
{
    pid_t holder;

    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
        return 0;
    if (errno != EWOULDBLOCK) {
        int e = errno;
        LOG_ERROR("cannot lock %s: %s", path, strerror(e));
        return -e;
    }
    holder = runlock_holder(fd);
    if (holder > 0)
        LOG_ERROR("%s is in use by another process (pid %ld holds the lock %s); not starting",
                  what, (long)holder, path);
    else
        LOG_ERROR("%s is in use by another process (it holds the lock %s); not starting",
                  what, path);
    return -EBUSY;
}

int runlock_take(const char *path, const char *what)
{
    char pid[24];
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600), r, n;

    if (fd < 0) {
        r = -errno;
        LOG_ERROR("cannot open the lock file %s: %s", path, strerror(-r));
        return r;
    }
    if ((r = lock_fd(fd, path, what)) < 0) {
        close(fd);
        return r;
    }
    /* For operators (the error above reads /proc/locks): who holds it. */
    n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
        LOG_WARN("cannot write the pid into the lock file %s: %s", path, strerror(errno));
    return fd;
}

int runlock_take_dir(const char *dir, const char *what)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

    if (fd < 0) {
        r = -errno;
        LOG_ERROR("cannot open the directory %s: %s", dir, strerror(-r));
        return r;
    }
    if ((r = lock_fd(fd, dir, what)) < 0) {
        close(fd);
        return r;
    }
    return fd;
}
