/* SPDX-License-Identifier: BSD-3-Clause */
/* The parent's table of vTPM instances and their metadata file (meta.cbor). */
#include "instance.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "ctlproto.h"
#include "vtpm_ipc.h"

struct instance *inst_new(void)
{
    struct instance *in = calloc(1, sizeof(*in));

    if (in) {
        in->data_fd = -1;
        in->ctrl_fd = -1;
        in->dev_fd = -1;
        peerns_ref_init(&in->bound);
    }
    return in;
}

void inst_free(struct instance *in)
{
    if (!in)
        return;
    if (in->data_fd >= 0)
        close(in->data_fd);
    if (in->ctrl_fd >= 0)
        close(in->ctrl_fd);
    if (in->dev_fd >= 0)
        close(in->dev_fd);
    peerns_ref_close(&in->bound);
    explicit_bzero(in->key, sizeof(in->key));
    free(in);
}

void inst_add(struct inst_table *t, struct instance *in)
{
    in->next = t->head;
    t->head = in;
    t->count++;
}

void inst_unlink(struct inst_table *t, struct instance *in)
{
    for (struct instance **pp = &t->head; *pp; pp = &(*pp)->next) {
        if (*pp == in) {
            *pp = in->next;
            t->count--;
            return;
        }
    }
}

struct instance *inst_find(const struct inst_table *t, const uint8_t uuid[16])
{
    for (struct instance *in = t->head; in; in = in->next)
        if (!memcmp(in->uuid, uuid, 16))
            return in;
    return NULL;
}

struct instance *inst_find_str(const struct inst_table *t, const char *s)
{
    uuid_t u;

    if (uuid_parse(s, u) == 0)
        return inst_find(t, u);
    for (struct instance *in = t->head; in; in = in->next)
        if (in->status != INST_PENDING && !strcmp(in->name, s))
            return in;
    return NULL;
}

void inst_dirname(const struct instance *in, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s%s", in->status == INST_PENDING ? ".new-" : "", in->uuid_str);
}

const char *inst_ek_name(int ek_type)
{
    return ek_type == VTPM_EK_RSA_2048 ? "rsa" : "ecc";
}

int inst_valid_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n >= MGR_NAME_MAX || s[0] == '.' || s[0] == '-')
        return 0;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

int inst_meta_encode(const struct instance *in, uint8_t **buf, size_t *len)
{
    cbor_item_t *m = ctl_map_new();
    int r = -ENOMEM;

    if (!m)
        return -ENOMEM;
    if (ctl_put_uint(m, "v", 1) || ctl_put_bytes(m, "uuid", in->uuid, 16) ||
        ctl_put_str(m, "name", in->name) || ctl_put_str(m, "tenant", in->tenant) ||
        ctl_put_str(m, "ek", inst_ek_name(in->ek_type)) ||
        ctl_put_uint(m, "owner_uid", in->owner_uid) ||
        ctl_put_uint(m, "owner_gid", in->owner_gid) || ctl_put_uint(m, "created", in->created))
        goto out;
    r = ctl_serialize(m, buf, len);
out:
    cbor_decref(&m);
    return r;
}

static int meta_fields(const cbor_item_t *m, struct instance *in)
{
    const uint8_t *u;
    size_t ulen;
    uint64_t v, uid, gid, created;
    char ek[8];

    if (ctl_get_uint(m, "v", &v) || v != 1 || ctl_get_bytes(m, "uuid", &u, &ulen) ||
        ulen != 16 || ctl_get_str(m, "name", in->name, sizeof(in->name)) ||
        ctl_get_str(m, "tenant", in->tenant, sizeof(in->tenant)) ||
        ctl_get_str(m, "ek", ek, sizeof(ek)) || ctl_get_uint(m, "owner_uid", &uid) ||
        ctl_get_uint(m, "owner_gid", &gid) || ctl_get_uint(m, "created", &created))
        return -EBADMSG;
    if (uid > UINT32_MAX || gid > UINT32_MAX || !inst_valid_name(in->tenant) ||
        (in->name[0] && !inst_valid_name(in->name)) ||
        (strcmp(ek, "ecc") && strcmp(ek, "rsa")))
        return -EBADMSG;
    memcpy(in->uuid, u, 16);
    uuid_unparse_lower(in->uuid, in->uuid_str);
    in->ek_type = strcmp(ek, "rsa") ? VTPM_EK_ECC_P256 : VTPM_EK_RSA_2048;
    in->owner_uid = (uint32_t)uid;
    in->owner_gid = (uint32_t)gid;
    in->created = created;
    return 0;
}

int inst_meta_decode(const uint8_t *buf, size_t len, struct instance *in)
{
    cbor_item_t *m;
    int r = ctl_decode(buf, len, &m);

    if (r)
        return r;
    r = meta_fields(m, in);
    cbor_decref(&m);
    return r;
}
