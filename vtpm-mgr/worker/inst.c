/* SPDX-License-Identifier: BSD-3-Clause */
/* The worker's instance table: lookup by UUID, creation and wiping removal. */
#include "inst.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "secmem.h"

struct inst *winst_find(const struct inst_table *t, const uint8_t uuid[16])
{
    struct inst *i;

    for (i = t->head; i; i = i->next)
        if (!memcmp(i->uuid, uuid, 16))
            return i;
    return NULL;
}

struct inst *winst_add(struct inst_table *t, const uint8_t uuid[16])
{
    struct inst *i;

    if (winst_find(t, uuid))
        return NULL;
    i = calloc(1, sizeof(*i));
    if (!i)
        return NULL;
    memcpy(i->uuid, uuid, 16);
    i->state = INST_STAGED;
    i->next = t->head;
    t->head = i;
    t->count++;
    return i;
}

void winst_clear_blob(uint8_t **slot, size_t *slot_len)
{
    secure_free(*slot, *slot_len);
    *slot = NULL;
    *slot_len = 0;
}

int winst_set_blob(uint8_t **slot, size_t *slot_len, const void *data, size_t len)
{
    uint8_t *copy;

    if (len == 0)
        return -EINVAL;
    copy = malloc(len);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, data, len);
    winst_clear_blob(slot, slot_len);
    *slot = copy;
    *slot_len = len;
    return 0;
}

void winst_remove(struct inst_table *t, struct inst *inst)
{
    struct inst **pp;

    for (pp = &t->head; *pp; pp = &(*pp)->next) {
        if (*pp == inst) {
            *pp = inst->next;
            t->count--;
            break;
        }
    }
    winst_clear_blob(&inst->perm, &inst->perm_len);
    winst_clear_blob(&inst->vol, &inst->vol_len);
    explicit_bzero(inst, sizeof(*inst));
    free(inst);
}
