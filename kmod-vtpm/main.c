// SPDX-License-Identifier: GPL-2.0-only
/*
 * vtpm_attest: per-container vTPM character devices served by a userspace
 * vTPM manager, each creation and destruction measured into the host TPM.
 * Module init brings the parts up in order; exit takes them down in exactly
 * the reverse order.
 */
#include <linux/module.h>

#include "control.h"
#include "measure.h"
#include "vdev.h"

static int __init vtpm_attest_init(void)
{
	int ret;

	ret = vtpm_measure_init();
	if (ret)
		return ret;
	ret = vtpm_dev_class_init();
	if (ret)
		goto err_measure;
	ret = vtpm_control_init();
	if (ret)
		goto err_class;
	return 0;

err_class:
	vtpm_dev_class_uninit();
err_measure:
	vtpm_measure_uninit();
	return ret;
}

/*
 * Every device holds its server file, and every file of ours holds a module
 * reference, so no device exists when this runs.
 */
static void __exit vtpm_attest_exit(void)
{
	vtpm_control_uninit();
	vtpm_dev_class_uninit();
	vtpm_measure_uninit();
}

module_init(vtpm_attest_init);
module_exit(vtpm_attest_exit);

MODULE_DESCRIPTION("Per-container vTPM character devices, measured into the host TPM");
MODULE_AUTHOR("vtpm-attest");
MODULE_LICENSE("GPL");
