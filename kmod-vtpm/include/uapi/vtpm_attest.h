/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * vtpm_attest: the only definition of the kmod-vtpm kernel/userspace ABI.
 *
 * Control device /dev/vtpmx-attest (misc): VTPM_ATTEST_IOC_CREATE, _DESTROY,
 * _QUERY. CREATE returns a server file descriptor and a device index N; the
 * device node /dev/vtpm<N> then carries the TPM command/response byte
 * protocol for processes of the bound container only.
 *
 * Server fd protocol (see docs/kmod-vtpm.md):
 *  - read() returns exactly one whole pending client command (the buffer must
 *    hold VTPM_ATTEST_BUF_SIZE bytes or at least the command, else -EMSGSIZE
 *    and the command stays pending); blocks, or -EAGAIN with O_NONBLOCK;
 *    poll() reports EPOLLIN when a command is pending.
 *  - write() delivers the whole response to the client whose command was last
 *    read (one write, 10 <= size <= VTPM_ATTEST_BUF_SIZE); -EINVAL when no
 *    command is in flight. If that client went away, the response is
 *    discarded and write() still succeeds.
 *  - read() returns 0 (EOF) once the device was destroyed.
 *  - close() destroys the device: clients get -EPIPE, the node disappears.
 *
 * Fields are marked (in) when userspace fills them and (out) when the kernel
 * does. Every flags field rejects unknown bits with -EINVAL; every reserved
 * field must be zero (-EINVAL otherwise); size must equal the size of the
 * structure this header defines (-EINVAL otherwise), so that the structure
 * can grow later with a new size.
 */
#ifndef _UAPI_LINUX_VTPM_ATTEST_H
#define _UAPI_LINUX_VTPM_ATTEST_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define VTPM_ATTEST_CONTROL_NAME	"vtpmx-attest"	/* /dev/vtpmx-attest */
#define VTPM_ATTEST_DEVICE_PREFIX	"vtpm"		/* /dev/vtpm<N> */

/* Largest command or response, in bytes, either direction. */
#define VTPM_ATTEST_BUF_SIZE		8192
#define VTPM_ATTEST_UUID_SIZE		16
#define VTPM_ATTEST_DIGEST_SIZE		32	/* SHA-256 */
#define VTPM_ATTEST_LABEL_SIZE		64

/* create flags: none defined yet; any bit set is rejected. */
#define VTPM_ATTEST_CREATE_FLAGS_ALL	0x0U

/* query flags */
#define VTPM_ATTEST_QUERY_BY_UUID	0x1U	/* look up by uuid, not index */
#define VTPM_ATTEST_QUERY_FLAGS_ALL	0x1U

/* query state bits (out) */
#define VTPM_ATTEST_STATE_SERVER	0x1U	/* server fd still open */
#define VTPM_ATTEST_STATE_BUSY		0x2U	/* a command is queued/in flight */

/**
 * struct vtpm_attest_create - VTPM_ATTEST_IOC_CREATE argument
 * @size:	(in) sizeof(struct vtpm_attest_create)
 * @flags:	(in) VTPM_ATTEST_CREATE_*; must be 0 today
 * @pid:	(in) a process of the container, as a pid in the caller's pid
 *		namespace; the device is bound to its pid, net, mnt and user
 *		namespaces as they are at the time of the call
 * @reserved0:	(in) must be 0
 * @uuid:	(in) the vTPM's UUID (binary, RFC 4122 byte order); unique
 *		among existing devices (-EEXIST)
 * @ek_digest:	(in) SHA-256 of the vTPM's EK public area (TPM2B_PUBLIC
 *		contents as marshalled), recorded in the measurement
 * @label:	(in) container name/id for the measurement list, NUL padded;
 *		characters [A-Za-z0-9._:-] only, may be empty
 * @server_fd:	(out) the server file descriptor (O_RDWR|O_CLOEXEC)
 * @index:	(out) N of /dev/vtpm<N>
 * @major:	(out) the character device's major number
 * @minor:	(out) the character device's minor number
 * @reserved1:	(in) must be 0
 */
struct vtpm_attest_create {
	__u32 size;
	__u32 flags;
	__u32 pid;
	__u32 reserved0;
	__u8  uuid[VTPM_ATTEST_UUID_SIZE];
	__u8  ek_digest[VTPM_ATTEST_DIGEST_SIZE];
	__u8  label[VTPM_ATTEST_LABEL_SIZE];
	__s32 server_fd;
	__u32 index;
	__u32 major;
	__u32 minor;
	__u64 reserved1[4];
};

/**
 * struct vtpm_attest_destroy - VTPM_ATTEST_IOC_DESTROY argument
 * @size:	(in) sizeof(struct vtpm_attest_destroy)
 * @flags:	(in) must be 0
 * @index:	(in) N of /dev/vtpm<N>
 * @reserved0:	(in) must be 0
 * @uuid:	(in) the device's UUID; must match @index (-ESTALE otherwise),
 *		so that a stale index never destroys a newer device
 * @reserved1:	(in) must be 0
 */
struct vtpm_attest_destroy {
	__u32 size;
	__u32 flags;
	__u32 index;
	__u32 reserved0;
	__u8  uuid[VTPM_ATTEST_UUID_SIZE];
	__u64 reserved1[2];
};

/**
 * struct vtpm_attest_query - VTPM_ATTEST_IOC_QUERY argument
 * @size:	(in) sizeof(struct vtpm_attest_query)
 * @flags:	(in) VTPM_ATTEST_QUERY_*
 * @index:	(in) N, unless VTPM_ATTEST_QUERY_BY_UUID; (out) N
 * @state:	(out) VTPM_ATTEST_STATE_* bits
 * @uuid:	(in) with VTPM_ATTEST_QUERY_BY_UUID; (out) the device's UUID
 * @ek_digest:	(out) as given at creation
 * @label:	(out) as given at creation
 * @pidns:	(out) inode number of the bound pid namespace
 * @netns:	(out) inode number of the bound net namespace
 * @mntns:	(out) inode number of the bound mount namespace
 * @userns:	(out) inode number of the bound user namespace
 * @commands:	(out) client commands accepted
 * @responses:	(out) responses delivered to clients
 * @cancelled:	(out) commands whose client went away before the response
 * @denied:	(out) open() calls refused by the container binding
 * @open_count:	(out) client files currently open
 * @reserved0:	(in) must be 0
 * @reserved1:	(in) must be 0
 */
struct vtpm_attest_query {
	__u32 size;
	__u32 flags;
	__u32 index;
	__u32 state;
	__u8  uuid[VTPM_ATTEST_UUID_SIZE];
	__u8  ek_digest[VTPM_ATTEST_DIGEST_SIZE];
	__u8  label[VTPM_ATTEST_LABEL_SIZE];
	__u64 pidns;
	__u64 netns;
	__u64 mntns;
	__u64 userns;
	__u64 commands;
	__u64 responses;
	__u64 cancelled;
	__u64 denied;
	__u32 open_count;
	__u32 reserved0;
	__u64 reserved1[4];
};

/* 0xA1 is shared with linux/vtpm_proxy.h, which uses only nr 0x00. */
#define VTPM_ATTEST_IOC_MAGIC	0xA1
#define VTPM_ATTEST_IOC_CREATE	_IOWR(VTPM_ATTEST_IOC_MAGIC, 0x10, struct vtpm_attest_create)
#define VTPM_ATTEST_IOC_DESTROY	_IOW(VTPM_ATTEST_IOC_MAGIC, 0x11, struct vtpm_attest_destroy)
#define VTPM_ATTEST_IOC_QUERY	_IOWR(VTPM_ATTEST_IOC_MAGIC, 0x12, struct vtpm_attest_query)

#endif /* _UAPI_LINUX_VTPM_ATTEST_H */
