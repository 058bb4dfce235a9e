/* SPDX-License-Identifier: BSD-3-Clause */
/* Delivery of one revocation notification to the operator's webhook: an HTTP(S) POST by libcurl. */
#ifndef VERIFIER_NOTIFY_H
#define VERIFIER_NOTIFY_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define NOTIFY_TIMEOUT_MS 5000L /* connect and whole transfer */
#define NOTIFY_ID_HEADER  "X-Vtpm-Attest-Notification"

struct notifier;

/* url: http:// or https:// (TLS verified against ca, a PEM file, or the system store when ca
 * is NULL). Calls curl_global_init: open from the main thread before other threads use curl.
 * 0, -EINVAL bad URL, -ENOMEM. */
int notify_open(const char *url, const char *ca, struct notifier **out);
void notify_close(struct notifier *n);

/* POSTs body (application/json) with the notification's id in NOTIFY_ID_HEADER (receivers
 * de-duplicate on it: delivery is at least once). 0 on a 2xx answer; -ECANCELED when *stop
 * became non-zero during the transfer; -EIO otherwise, with the cause in err. Redirects are not
 * followed (a 3xx is a failure). */
int notify_post(struct notifier *n, int64_t id, const char *body, const atomic_int *stop,
                char *err, size_t errsz);

#endif
