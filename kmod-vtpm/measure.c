// SPDX-License-Identifier: GPL-2.0-only
/*
 * Measurement: every vTPM creation and destruction is extended into a PCR of
 * the host TPM and appended to an in-kernel list that a verifier replays,
 * /sys/kernel/security/vtpm_attest/measurements, one line per event:
 *
 *   <pcr> <sha256 of event, hex> <event>
 *
 * Each allocated bank is extended with H_bank(event); a bank whose hash the
 * kernel cannot compute gets the SHA-256 digest, truncated or zero padded
 * (as IMA does). The first event of a module lifetime (op=load) records the
 * PCR's value in every bank before it, so replay starts from that value.
 */
#include <crypto/hash.h>
#include <crypto/hash_info.h>
#include <crypto/sha2.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/security.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/tpm.h>

#include "measure.h"
#include "vdev.h"

#define VTPM_EVENT_MAX	2048

static unsigned int pcr = 13;
module_param(pcr, uint, 0444);
MODULE_PARM_DESC(pcr, "host TPM PCR extended with vTPM events (default 13)");

static bool require_tpm = true;
module_param(require_tpm, bool, 0444);
MODULE_PARM_DESC(require_tpm, "refuse to create vTPMs without a host TPM");

struct vtpm_measurement {
	struct list_head list;
	u32 pcr;
	u8 digest[SHA256_DIGEST_SIZE];
	char event[];
};

/*
 * vtpm_measure_lock protects vtpm_measurements and orders the PCR extends so
 * that the list order is the extend order. Entries are never removed while
 * the module is loaded.
 */
static DEFINE_MUTEX(vtpm_measure_lock);
static LIST_HEAD(vtpm_measurements);
static struct tpm_chip *vtpm_chip;
static struct dentry *vtpm_sfs_dir;
static struct dentry *vtpm_sfs_list;

static const char *vtpm_bank_name(const struct tpm_bank_info *bank)
{
	if (bank->crypto_id >= HASH_ALGO__LAST)
		return "unknown";
	return hash_algo_name[bank->crypto_id];
}

static int vtpm_hash(const struct tpm_bank_info *bank, const char *data,
		     size_t len, u8 *out)
{
	struct crypto_shash *tfm;
	int ret;

	if (bank->crypto_id >= HASH_ALGO__LAST)
		return -ENOENT;
	tfm = crypto_alloc_shash(hash_algo_name[bank->crypto_id], 0, 0);
	if (IS_ERR(tfm))
		return PTR_ERR(tfm);
	if (crypto_shash_digestsize(tfm) == bank->digest_size)
		ret = crypto_shash_tfm_digest(tfm, data, len, out);
	else
		ret = -EINVAL;
	crypto_free_shash(tfm);
	return ret;
}

/* Caller holds vtpm_measure_lock. */
static int vtpm_extend(const char *event, const u8 *sha256)
{
	struct tpm_digest *digests;
	size_t len = strlen(event);
	u32 i;
	int ret;

	lockdep_assert_held(&vtpm_measure_lock);
	digests = kcalloc(vtpm_chip->nr_allocated_banks, sizeof(*digests),
			  GFP_KERNEL);
	if (!digests)
		return -ENOMEM;
	for (i = 0; i < vtpm_chip->nr_allocated_banks; i++) {
		const struct tpm_bank_info *bank = &vtpm_chip->allocated_banks[i];

		digests[i].alg_id = bank->alg_id;
		if (vtpm_hash(bank, event, len, digests[i].digest))
			memcpy(digests[i].digest, sha256,
			       min_t(u16, bank->digest_size, SHA256_DIGEST_SIZE));
	}
	ret = tpm_pcr_extend(vtpm_chip, pcr, digests);
	kfree(digests);
	return ret;
}

/* Extend @event into the PCR and append it to the list. */
static int vtpm_record(const char *event)
{
	struct vtpm_measurement *m;
	size_t len = strlen(event);
	int ret = 0;

	m = kzalloc(struct_size(m, event, len + 1), GFP_KERNEL);
	if (!m)
		return -ENOMEM;
	m->pcr = pcr;
	memcpy(m->event, event, len + 1);
	sha256(event, len, m->digest);

	mutex_lock(&vtpm_measure_lock);
	if (vtpm_chip)
		ret = vtpm_extend(event, m->digest);
	if (ret)
		kfree(m);
	else
		list_add_tail(&m->list, &vtpm_measurements);
	mutex_unlock(&vtpm_measure_lock);
	return ret;
}

bool vtpm_measure_available(void)
{
	return vtpm_chip || !require_tpm;
}

int vtpm_measure_dev(const struct vtpm_dev *vdev, enum vtpm_measure_op op)
{
	char *event;
	int ret;

	event = kasprintf(GFP_KERNEL,
			  "vtpm-attest/1 op=%s index=%u uuid=%pUb ek=sha256:%*phN label=%s %s",
			  op == VTPM_OP_CREATE ? "create" : "destroy",
			  vdev->index, vdev->uuid,
			  VTPM_ATTEST_DIGEST_SIZE, vdev->ek_digest,
			  vdev->label, vdev->identity);
	if (!event)
		return -ENOMEM;
	ret = vtpm_record(event);
	kfree(event);
	return ret;
}

/* Append " <alg>:<hex>" for every bank's current PCR value to @buf. */
static int vtpm_format_base(char *buf, size_t size)
{
	struct tpm_digest d;
	size_t n = 0;
	u32 i;
	int ret;

	for (i = 0; i < vtpm_chip->nr_allocated_banks; i++) {
		const struct tpm_bank_info *bank = &vtpm_chip->allocated_banks[i];

		memset(&d, 0, sizeof(d));
		d.alg_id = bank->alg_id;
		ret = tpm_pcr_read(vtpm_chip, pcr, &d);
		if (ret)
			return ret;
		n += scnprintf(buf + n, size - n, "%s%s:%*phN", i ? "," : "",
			       vtpm_bank_name(bank), bank->digest_size, d.digest);
	}
	return 0;
}

/* The first event of a module lifetime: where replay starts. */
static int vtpm_measure_load(void)
{
	char *event, *base;
	int ret = 0;

	event = kzalloc(VTPM_EVENT_MAX, GFP_KERNEL);
	if (!event)
		return -ENOMEM;
	base = event + VTPM_EVENT_MAX / 2;
	if (vtpm_chip)
		ret = vtpm_format_base(base, VTPM_EVENT_MAX / 2);
	else
		strscpy(base, "none", VTPM_EVENT_MAX / 2);
	if (!ret) {
		scnprintf(event, VTPM_EVENT_MAX / 2,
			  "vtpm-attest/1 op=load pcr=%u base=%s", pcr, base);
		ret = vtpm_record(event);
	}
	kfree(event);
	return ret;
}

static void *vtpm_seq_start(struct seq_file *m, loff_t *pos)
{
	mutex_lock(&vtpm_measure_lock);
	return seq_list_start(&vtpm_measurements, *pos);
}

static void *vtpm_seq_next(struct seq_file *m, void *v, loff_t *pos)
{
	return seq_list_next(v, &vtpm_measurements, pos);
}

static void vtpm_seq_stop(struct seq_file *m, void *v)
{
	mutex_unlock(&vtpm_measure_lock);
}

static int vtpm_seq_show(struct seq_file *m, void *v)
{
	const struct vtpm_measurement *e =
		list_entry(v, struct vtpm_measurement, list);

	seq_printf(m, "%u %*phN %s\n", e->pcr, SHA256_DIGEST_SIZE, e->digest,
		   e->event);
	return 0;
}

static const struct seq_operations vtpm_seq_sops = {
	.start = vtpm_seq_start,
	.next = vtpm_seq_next,
	.stop = vtpm_seq_stop,
	.show = vtpm_seq_show,
};

DEFINE_SEQ_ATTRIBUTE(vtpm_seq);

static void vtpm_measure_free_list(void)
{
	struct vtpm_measurement *m, *tmp;

	list_for_each_entry_safe(m, tmp, &vtpm_measurements, list) {
		list_del(&m->list);
		kfree(m);
	}
}

static int vtpm_measure_init_chip(void)
{
	if (pcr >= TPM2_PLATFORM_PCR)
		return -EINVAL;
	vtpm_chip = tpm_default_chip();
	if (!vtpm_chip)
		pr_warn("no host TPM: vTPM events are listed but not extended\n");
	return 0;
}

int vtpm_measure_init(void)
{
	int ret;

	ret = vtpm_measure_init_chip();
	if (ret)
		return ret;
	vtpm_sfs_dir = securityfs_create_dir("vtpm_attest", NULL);
	if (IS_ERR(vtpm_sfs_dir)) {
		ret = PTR_ERR(vtpm_sfs_dir);
		goto err_chip;
	}
	vtpm_sfs_list = securityfs_create_file("measurements", 0440,
					       vtpm_sfs_dir, NULL,
					       &vtpm_seq_fops);
	if (IS_ERR(vtpm_sfs_list)) {
		ret = PTR_ERR(vtpm_sfs_list);
		goto err_dir;
	}
	ret = vtpm_measure_load();
	if (ret)
		goto err_list;
	return 0;

err_list:
	securityfs_remove(vtpm_sfs_list);
err_dir:
	securityfs_remove(vtpm_sfs_dir);
err_chip:
	if (vtpm_chip)
		put_device(&vtpm_chip->dev);
	vtpm_chip = NULL;
	return ret;
}

void vtpm_measure_uninit(void)
{
	securityfs_remove(vtpm_sfs_list);
	securityfs_remove(vtpm_sfs_dir);
	vtpm_measure_free_list();
	if (vtpm_chip)
		put_device(&vtpm_chip->dev);
	vtpm_chip = NULL;
}
