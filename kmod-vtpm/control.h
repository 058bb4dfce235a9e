/* SPDX-License-Identifier: GPL-2.0-only */
/* The control device /dev/vtpmx-attest and its ioctls. */
#ifndef _VTPM_CONTROL_H
#define _VTPM_CONTROL_H

int vtpm_control_init(void);
void vtpm_control_uninit(void);

#endif /* _VTPM_CONTROL_H */
