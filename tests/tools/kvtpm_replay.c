// SPDX-License-Identifier: BSD-3-Clause
/*
 * Replays the kmod-vtpm measurement list (securityfs) for the SHA-256 bank:
 * checks every entry's digest against its event text and prints the PCR value
 * the list predicts, starting from the base recorded by the last op=load
 * entry. Usage: kvtpm_replay [LIST]  (default the securityfs file)
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_PATH "/sys/kernel/security/vtpm_attest/measurements"

static int unhex(const char *s, unsigned char *out, size_t len)
{
	unsigned int b;
	size_t i;

	for (i = 0; i < len; i++) {
		if (sscanf(s + 2 * i, "%2x", &b) != 1)
			return -1;
		out[i] = (unsigned char)b;
	}
	return 0;
}

static void sha256(const void *a, size_t alen, const void *b, size_t blen,
		   unsigned char out[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, a, alen);
	if (b)
		EVP_DigestUpdate(ctx, b, blen);
	EVP_DigestFinal_ex(ctx, out, NULL);
	EVP_MD_CTX_free(ctx);
}

/* A load entry resets the replay to its recorded SHA-256 base value. */
static int apply_load(const char *event, unsigned char pcr[32])
{
	const char *base = strstr(event, "base=");
	const char *s = base ? strstr(base, "sha256:") : NULL;

	if (!base)
		return -1;
	if (!s) {
		memset(pcr, 0, 32);	/* no TPM at load: nothing to anchor */
		return 0;
	}
	return unhex(s + 7, pcr, 32);
}

static int replay_line(char *line, unsigned char pcr[32], unsigned int *idx)
{
	unsigned char digest[32], calc[32];
	char hex[65];
	int off = 0;
	char *event;

	line[strcspn(line, "\n")] = 0;
	if (sscanf(line, "%u %64s %n", idx, hex, &off) != 2 || !off)
		return -1;
	event = line + off;
	if (strlen(hex) != 64 || unhex(hex, digest, 32))
		return -1;
	sha256(event, strlen(event), NULL, 0, calc);
	if (memcmp(calc, digest, 32))
		return -1;
	if (strstr(event, " op=load ") && apply_load(event, pcr))
		return -1;
	sha256(pcr, 32, digest, 32, pcr);
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : LIST_PATH;
	unsigned char pcr[32] = { 0 };
	unsigned int idx = 0, n = 0, i;
	char line[4096];
	FILE *f = fopen(path, "r");

	if (!f) {
		perror(path);
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		n++;
		if (replay_line(line, pcr, &idx)) {
			fprintf(stderr, "entry %u: bad format or digest\n", n);
			fclose(f);
			return 1;
		}
	}
	fclose(f);
	if (!n)
		return 1;
	printf("%u sha256 ", idx);
	for (i = 0; i < 32; i++)
		printf("%02x", pcr[i]);
	printf("\n");
	return 0;
}
