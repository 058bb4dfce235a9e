/* SPDX-License-Identifier: BSD-3-Clause */
/* Instance lifecycle on the parent's behalf: create, EK certificate, load, attach, remove, suspend. */
#include "handlers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tss2/tss2_mu.h>

#include "devfront.h"
#include "log.h"
#include "provision.h"
#include "tpmcore.h"
#include "worker.h"

static void drop_instance(struct worker *w, struct inst *inst)
{
    fe_detach(w, inst);
    if (tpmcore_active() == inst)
        tpmcore_deactivate(0);
    winst_remove(&w->tab, inst);
}

static int create_ek(struct worker *w, struct inst *inst, uint32_t ek_type, uint8_t *out,
                     size_t cap, size_t *out_len)
{
    TPM2B_PUBLIC pub;
    int r;

    inst->state = INST_READY;
    inst->ph_open = 1;
    r = tpmcore_activate(inst); /* no blobs: libtpms manufactures */
    if (r == 0)
        r = prov_startup_clear(inst);
    if (r == 0)
        r = prov_create_ek(inst, ek_type, &pub);
    *out_len = 0;
    if (r == 0 && Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, out, cap, out_len) != TSS2_RC_SUCCESS)
        r = -EIO;
    if (r == 0)
        r = wk_persist(w, inst);
    return r;
}

static void on_create(struct worker *w, struct ipc_msg *m)
{
    uint8_t pub[sizeof(TPM2B_PUBLIC)];
    size_t len = 0;
    struct inst *inst = winst_add(&w->tab, m->hdr.uuid);
    int r;

    if (!inst) {
        wk_reply(w, &m->hdr, -EEXIST, NULL, 0);
        return;
    }
    r = create_ek(w, inst, m->hdr.arg, pub, sizeof(pub), &len);
    if (r < 0) {
        drop_instance(w, inst);
        len = 0;
    }
    wk_reply(w, &m->hdr, r, pub, len);
}

static struct inst *find_ready(struct worker *w, const uint8_t uuid[16])
{
    struct inst *inst = winst_find(&w->tab, uuid);

    return inst && inst->state != INST_STAGED ? inst : NULL;
}

/* Platform "firmware" is done with the instance: nobody may use platform auth any more. */
static int close_platform(struct worker *w, struct inst *inst)
{
    int r = prov_disable_platform(inst);

    if (r == 0)
        inst->ph_open = 0;
    return r;
}

static void on_ekcert(struct worker *w, struct ipc_msg *m)
{
    struct inst *inst = find_ready(w, m->hdr.uuid);
    int r = -ENOENT;

    if (inst && inst->state != INST_READY)
        r = -EBUSY;
    else if (inst && !inst->ph_open)
        r = -EPERM;
    else if (inst)
        r = prov_write_ekcert(inst, m->hdr.arg, m->payload, m->hdr.len);
    if (r == 0)
        r = close_platform(w, inst);
    if (r == 0)
        r = wk_persist(w, inst);
    wk_reply(w, &m->hdr, r, NULL, 0);
}

static void on_stage(struct worker *w, struct ipc_msg *m)
{
    struct inst *inst = winst_find(&w->tab, m->hdr.uuid);
    int r = 0;

    if (inst && inst->state != INST_STAGED)
        r = -EEXIST;
    else if (!inst && !(inst = winst_add(&w->tab, m->hdr.uuid)))
        r = -ENOMEM;
    if (r == 0)
        r = winst_set_blob(&inst->vol, &inst->vol_len, m->payload, m->hdr.len);
    wk_reply(w, &m->hdr, r, NULL, 0);
}

static int load(struct worker *w, struct inst *inst, const uint8_t *perm, size_t len)
{
    int resume = inst->vol != NULL;
    int r = winst_set_blob(&inst->perm, &inst->perm_len, perm, len);

    if (r < 0)
        return r;
    inst->state = INST_READY;
    r = tpmcore_activate(inst);
    if (r == 0 && !resume) { /* cold start: resetCount goes up, visibly */
        r = prov_startup_clear(inst);
        if (r == 0)
            r = close_platform(w, inst);
    }
    if (r == 0)
        r = wk_persist(w, inst);
    return r;
}

static void on_load(struct worker *w, struct ipc_msg *m)
{
    struct inst *inst = winst_find(&w->tab, m->hdr.uuid);
    int r;

    if (inst && inst->state != INST_STAGED) {
        wk_reply(w, &m->hdr, -EEXIST, NULL, 0);
        return;
    }
    if (!inst && !(inst = winst_add(&w->tab, m->hdr.uuid))) {
        wk_reply(w, &m->hdr, -ENOMEM, NULL, 0);
        return;
    }
    r = load(w, inst, m->payload, m->hdr.len);
    if (r < 0)
        drop_instance(w, inst);
    wk_reply(w, &m->hdr, r, NULL, 0);
}

static void on_attach(struct worker *w, struct ipc_msg *m)
{
    struct inst *inst = find_ready(w, m->hdr.uuid);
    int r = inst ? 0 : -ENOENT;

    /* Never hand a container a vTPM whose platform hierarchy is still open. */
    if (r == 0 && inst->ph_open && inst->state == INST_READY)
        r = close_platform(w, inst);
    if (r == 0)
        r = wk_persist(w, inst);
    if (r == 0) {
        r = fe_attach(w, inst, m->fds[0], m->fds[1], (uid_t)m->hdr.arg);
        m->nfds = 0; /* fe_attach owns them now */
    }
    wipc_msg_close_fds(m);
    wk_reply(w, &m->hdr, r, NULL, 0);
}

/* Same rules as a socket attach: never serve a vTPM whose platform hierarchy is open. */
static void on_attach_device(struct worker *w, struct ipc_msg *m)
{
    struct inst *inst = find_ready(w, m->hdr.uuid);
    int r = inst ? 0 : -ENOENT;

    if (r == 0 && inst->ph_open)
        r = -EPERM;
    if (r == 0) {
        r = dev_attach(w, inst, m->fds[0]);
        m->nfds = 0; /* dev_attach owns it now */
    }
    if (r == 0)
        inst->dev_index = m->hdr.arg;
    wipc_msg_close_fds(m);
    wk_reply(w, &m->hdr, r, NULL, 0);
}

static void on_remove(struct worker *w, struct ipc_msg *m)
{
    struct inst *inst = winst_find(&w->tab, m->hdr.uuid);

    if (inst)
        drop_instance(w, inst);
    wk_reply(w, &m->hdr, inst ? 0 : -ENOENT, NULL, 0);
}

static void on_suspend(struct worker *w, struct ipc_msg *m)
{
    struct inst *inst;
    int r = 0;

    w->suspended = 1; /* a graceful stop: losing the parent now ends the worker */
    tpmcore_deactivate(1); /* the active instance's volatile state joins the others' */
    for (inst = w->tab.head; inst && r == 0; inst = inst->next) {
        fe_detach(w, inst);
        if (inst->state == INST_READY && inst->vol)
            r = wk_store(w, inst, VTPM_STATE_VOL, inst->vol, inst->vol_len);
    }
    for (; inst; inst = inst->next)
        fe_detach(w, inst);
    w->suspended = 1;
    wk_reply(w, &m->hdr, r, NULL, 0);
}

/* A new parent after a crash: drop what the dead one only staged, list the rest. */
static void on_adopt(struct worker *w, struct ipc_msg *m)
{
    struct vtpm_ipc_adopt_ent *ents;
    struct inst *inst, *next;
    size_t n = 0;

    for (inst = w->tab.head; inst; inst = next) {
        next = inst->next;
        if (inst->state == INST_STAGED) {
            drop_instance(w, inst);
            continue;
        }
        /* The dead parent's admissions: the new one may not have the same bindings. */
        explicit_bzero(inst->memo, sizeof(inst->memo));
        inst->memo_next = 0;
    }
    ents = calloc(w->tab.count ? w->tab.count : 1, sizeof(*ents));
    if (!ents) {
        wk_reply(w, &m->hdr, -ENOMEM, NULL, 0);
        return;
    }
    for (inst = w->tab.head; inst; inst = inst->next, n++) {
        memcpy(ents[n].uuid, inst->uuid, sizeof(ents[n].uuid));
        ents[n].flags = (inst->data_l && inst->ctrl_l ? VTPM_ADOPT_F_LISTEN : 0) |
                        (inst->dev ? VTPM_ADOPT_F_DEVICE : 0);
        ents[n].dev_index = inst->dev ? inst->dev_index : 0;
    }
    if (n * sizeof(*ents) > VTPM_IPC_MAX_PAYLOAD)
        wk_reply(w, &m->hdr, -EMSGSIZE, NULL, 0);
    else
        wk_reply(w, &m->hdr, 0, ents, n * sizeof(*ents));
    free(ents);
}

/* The new parent keeps copies of the sockets (and device) to hand a replacement worker. */
static void on_return_fds(struct worker *w, struct ipc_msg *m)
{
    struct inst *inst = find_ready(w, m->hdr.uuid);
    int fds[IPC_MAX_SEND_FDS], n = 0;

    if (!inst || !inst->data_l || !inst->ctrl_l) {
        wk_reply(w, &m->hdr, -ENOENT, NULL, 0);
        return;
    }
    fds[n++] = inst->data_l->fd;
    fds[n++] = inst->ctrl_l->fd;
    if (inst->dev)
        fds[n++] = inst->dev->fd;
    wk_reply_fds(w, &m->hdr, 0, NULL, 0, fds, n);
}

static void on_stats(struct worker *w, struct ipc_msg *m)
{
    struct vtpm_ipc_stats st = {
        .instances = w->tab.count,
        .connections = w->nconns,
        .commands = w->commands,
        .swaps = tpmcore_swaps(),
        .state_stores = w->state_stores,
    };

    wk_reply(w, &m->hdr, 0, &st, sizeof(st));
}

static void on_peer_flush(struct worker *w, struct ipc_msg *m)
{
    struct inst *inst = winst_find(&w->tab, m->hdr.uuid);

    if (inst) {
        explicit_bzero(inst->memo, sizeof(inst->memo));
        inst->memo_next = 0;
    }
    wk_reply(w, &m->hdr, inst ? 0 : -ENOENT, NULL, 0);
}

void wk_handle_request(struct worker *w, struct ipc_msg *m)
{
    switch (m->hdr.type) {
    case IPC_INST_CREATE: on_create(w, m); break;
    case IPC_INST_SET_EKCERT: on_ekcert(w, m); break;
    case IPC_INST_STAGE_VOLATILE: on_stage(w, m); break;
    case IPC_INST_LOAD: on_load(w, m); break;
    case IPC_INST_ATTACH: on_attach(w, m); break;
    case IPC_INST_ATTACH_DEVICE: on_attach_device(w, m); break;
    case IPC_INST_REMOVE: on_remove(w, m); break;
    case IPC_SUSPEND_ALL: on_suspend(w, m); break;
    case IPC_STATS: on_stats(w, m); break;
    case IPC_PEER_FLUSH: on_peer_flush(w, m); break;
    case IPC_ADOPT: on_adopt(w, m); break;
    case IPC_INST_RETURN_FDS: on_return_fds(w, m); break;
    default: /* wipc_validate admits nothing else */
        LOG_ERROR("ipc: unhandled type %u", m->hdr.type);
        w->fatal = -EPROTO;
        break;
    }
    wipc_msg_close_fds(m);
}

int wk_warmup(void)
{
    struct inst tmp;
    TPM2B_PUBLIC pub;
    int r;

    memset(&tmp, 0, sizeof(tmp));
    tmp.state = INST_READY;
    r = tpmcore_activate(&tmp);
    if (r == 0)
        r = prov_startup_clear(&tmp);
    if (r == 0)
        r = prov_create_ek(&tmp, VTPM_EK_ECC_P256, &pub);
    if (tpmcore_active() == &tmp)
        tpmcore_deactivate(0);
    winst_clear_blob(&tmp.perm, &tmp.perm_len);
    winst_clear_blob(&tmp.vol, &tmp.vol_len);
    return r;
}
