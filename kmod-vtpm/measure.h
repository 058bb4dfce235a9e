/* SPDX-License-Identifier: GPL-2.0-only */
/* Measurement: host-TPM PCR extends and the replayable in-kernel event list. */
#ifndef _VTPM_MEASURE_H
#define _VTPM_MEASURE_H

#include <linux/types.h>

struct vtpm_dev;

enum vtpm_measure_op {
	VTPM_OP_CREATE,
	VTPM_OP_DESTROY,
};

int vtpm_measure_init(void);
void vtpm_measure_uninit(void);
int vtpm_measure_dev(const struct vtpm_dev *vdev, enum vtpm_measure_op op);
bool vtpm_measure_available(void);

#endif /* _VTPM_MEASURE_H */
