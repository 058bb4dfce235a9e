/* SPDX-License-Identifier: BSD-3-Clause */
/* Delivery of one revocation notification to the operator's webhook: an HTTP(S) POST by libcurl,
 * bounded in time, TLS verified, no redirects, abortable when the service stops. */
#include "sched/notify.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

struct notifier {
    CURL *h; /* kept between posts so the connection to the receiver is reused */
    char *url, *ca;
};

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    return size * n; /* the receiver's answer body means nothing here */
}

static int progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    const atomic_int *stop = arg;

    return stop && atomic_load(stop) ? 1 : 0; /* non-zero aborts the transfer */
}

static int set_fixed(struct notifier *n)
{
    CURL *h = n->h;

    return curl_easy_setopt(h, CURLOPT_URL, n->url) == CURLE_OK &&
           curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
           curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK && /* a thread: no SIGALRM */
           curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
           curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, NOTIFY_TIMEOUT_MS) == CURLE_OK &&
           curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, NOTIFY_TIMEOUT_MS) == CURLE_OK &&
           curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
           curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
           (!n->ca || curl_easy_setopt(h, CURLOPT_CAINFO, n->ca) == CURLE_OK) &&
           curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard) == CURLE_OK &&
           curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L) == CURLE_OK &&
           curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress) == CURLE_OK;
}

int notify_open(const char *url, const char *ca, struct notifier **out)
{
    struct notifier *n = NULL;
    int r = -EINVAL;

    *out = NULL;
    if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
        return -EINVAL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -ENOMEM;
    r = -ENOMEM;
    if (!(n = calloc(1, sizeof(*n))) || !(n->url = strdup(url)) || (ca && !(n->ca = strdup(ca))) ||
        !(n->h = curl_easy_init()))
        goto fail;
    r = -EINVAL;
    if (!set_fixed(n))
        goto fail;
    *out = n;
    return 0;
fail:
    notify_close(n);
    if (!n)
        curl_global_cleanup();
    return r;
}

void notify_close(struct notifier *n)
{
    if (!n)
        return;
    curl_easy_cleanup(n->h);
    free(n->url);
    free(n->ca);
    free(n);
    curl_global_cleanup();
}

static struct curl_slist *headers(int64_t id)
{
    char idh[64];
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json"), *h2;

    snprintf(idh, sizeof(idh), NOTIFY_ID_HEADER ": %" PRId64, id);
    if (!h || !(h2 = curl_slist_append(h, idh)) || !(h2 = curl_slist_append(h, "Expect:"))) {
        curl_slist_free_all(h);
        return NULL;
    }
    return h;
}

int notify_post(struct notifier *n, int64_t id, const char *body, const atomic_int *stop,
                char *err, size_t errsz)
{
    struct curl_slist *h = headers(id);
    long status = 0;
    CURLcode cr = CURLE_OUT_OF_MEMORY;
    int r = -EIO;

    if (h && curl_easy_setopt(n->h, CURLOPT_HTTPHEADER, h) == CURLE_OK &&
        curl_easy_setopt(n->h, CURLOPT_POSTFIELDS, body) == CURLE_OK &&
        curl_easy_setopt(n->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body)) == CURLE_OK &&
        curl_easy_setopt(n->h, CURLOPT_XFERINFODATA, (void *)stop) == CURLE_OK)
        cr = curl_easy_perform(n->h);
    if (cr == CURLE_OK)
        curl_easy_getinfo(n->h, CURLINFO_RESPONSE_CODE, &status);
    if (cr == CURLE_ABORTED_BY_CALLBACK)
        r = -ECANCELED;
    else if (cr != CURLE_OK)
        snprintf(err, errsz, "%s", curl_easy_strerror(cr));
    else if (status < 200 || status > 299)
        snprintf(err, errsz, "HTTP status %ld", status);
    else
        r = 0;
    curl_easy_setopt(n->h, CURLOPT_HTTPHEADER, NULL); /* h is freed below */
    curl_slist_free_all(h);
    return r;
}
