/* SPDX-License-Identifier: BSD-3-Clause */
/* Whose a container is (host uid, tenant) and whether a named vTPM belongs to it. */
#ifndef AGENT_OWNER_H
#define AGENT_OWNER_H

#include <jansson.h>
#include <stdint.h>

#include "mgrclient.h"

/* Annotation naming the container's tenant (vtpm-mgr's `tenant` of its vTPMs). */
#define ANN_TENANT "org.vtpm-attest.tenant"
#define OWNER_DEFAULT_TENANT "default"
#define OWNER_TENANT_MAX 64

struct ctr_owner {
    uint32_t host_uid;                 /* process.user.uid as the host sees it */
    char tenant[OWNER_TENANT_MAX];
};

/* The container's owner from its config.json: process.user.uid mapped through
 * linux.uidMappings when the container gets a new user namespace, and the tenant
 * annotation (default "default"). -EINVAL (reason logged) when that cannot be decided:
 * a user namespace joined by path, a uid without mapping, a malformed field. */
int owner_of_config(const json_t *config, const json_t *annotations, struct ctr_owner *o);

/* 0 when vt (vtpm-mgr's info) is live and owned by o's uid and tenant; -EPERM otherwise,
 * the reason logged with both sides. */
int owner_check(const struct mgr_vtpm *vt, const struct ctr_owner *o);

#endif
