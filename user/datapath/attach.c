// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "attach.h"
#include "kernel.h"
#include "lists.h"
#include "datapath.h"
#include "pins.h"
#include "tc_attach.h"
#include "edgeguard.skel.h"

#define EG_PROG_NAME "edgeguard_xdp"

int eg_parse_xdp_mode(const char *text, enum eg_xdp_mode *out, struct eg_err *e)
{
	if (!strcmp(text, "auto"))
		*out = EG_XDP_AUTO;
	else if (!strcmp(text, "native"))
		*out = EG_XDP_NATIVE;
	else if (!strcmp(text, "skb"))
		*out = EG_XDP_SKB;
	else
		return eg_fail(e, "--xdp-mode: '%s' is not one of native, skb, auto", text);
	return 0;
}

static const char *mode_name(enum xdp_attach_mode m)
{
	switch (m) {
	case XDP_MODE_NATIVE:
		return "native";
	case XDP_MODE_SKB:
		return "skb";
	case XDP_MODE_HW:
		return "hw";
	default:
		return "unknown";
	}
}

static int ifindex_of(const char *ifname, struct eg_err *e)
{
	unsigned int idx = if_nametoindex(ifname);

	if (!idx)
		return eg_fail(e, "unknown interface '%s'", ifname);
	return (int)idx;
}

/* Id of the pinned config map: it tells our instances from another edgeguard's. */
static uint32_t pinned_config_id(void)
{
	struct eg_maps m;
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info), id = 0;

	if (eg_maps_open_pinned(&m, NULL))
		return 0;
	if (!bpf_obj_get_info_by_fd(m.config, &info, &len))
		id = info.id;
	eg_maps_close(&m);
	return id;
}

static bool uses_map(struct xdp_program *p, uint32_t map_id)
{
	uint32_t ids[16];
	struct bpf_prog_info info = { .nr_map_ids = 16, .map_ids = (uintptr_t)ids };
	uint32_t len = sizeof(info);

	if (bpf_obj_get_info_by_fd(xdp_program__fd(p), &info, &len))
		return false;
	for (uint32_t i = 0; i < info.nr_map_ids && i < 16; i++)
		if (ids[i] == map_id)
			return true;
	return false;
}

static bool is_ours(struct xdp_program *p, uint32_t config_id)
{
	return p && !strcmp(xdp_program__name(p), EG_PROG_NAME) && config_id &&
	       uses_map(p, config_id);
}

/*
 * Our program in the interface's dispatcher, or NULL. "Ours" means it uses
 * the maps pinned in eg_pin_dir(); config_id 0 (nothing pinned) finds none.
 * Caller closes *mp.
 */
static struct xdp_program *find_ours(int ifindex, uint32_t config_id, struct xdp_multiprog **mp)
{
	struct xdp_program *p = NULL;

	*mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (libxdp_get_error(*mp)) {
		*mp = NULL;
		return NULL;
	}
	if (xdp_multiprog__is_legacy(*mp)) {
		p = xdp_multiprog__main_prog(*mp);
		return is_ours(p, config_id) ? p : NULL;
	}
	while ((p = xdp_multiprog__next_prog(p, *mp)))
		if (is_ours(p, config_id))
			return p;
	return NULL;
}

/* Whether the interface a slot names still runs our program. */
static bool slot_live(const struct eg_iface_slot *s, uint32_t config_id)
{
	struct xdp_multiprog *mp;
	bool live = find_ours((int)s->ifindex, config_id, &mp) != NULL;

	xdp_multiprog__close(mp);
	return live;
}

/*
 * The slot of eg_iface_counters this interface counts into: the one holding
 * its ifindex (it was detached behind our back and keeps its history), else
 * a stale one with its name (the interface was deleted without a detach and
 * made again: one series per name), else the first free one, else any stale
 * one. A slot taken over from another interface starts at zero.
 */
static int pick_slot(const char *ifname, int ifindex, uint32_t config_id, uint32_t *slot,
		     struct eg_err *e)
{
	struct eg_iface_slot all[EG_MAX_IFACES];
	struct eg_maps m;
	uint32_t s, free_slot = 0, same_name = 0;
	int rc = 0;

	*slot = 1;
	if (!eg_pins_exist())
		return 0; /* the maps will be new: every slot is free and zero */
	if (eg_maps_open_pinned(&m, e))
		return -1;
	if (eg_read_ifaces(&m, all, e)) {
		eg_maps_close(&m);
		return -1;
	}
	for (s = 1; s < EG_MAX_IFACES; s++) {
		if (all[s].ifindex == (uint32_t)ifindex)
			goto out; /* keeps its counters */
		if (!all[s].ifindex && !free_slot)
			free_slot = s;
		if (all[s].ifindex && !same_name && !strncmp(all[s].name, ifname, sizeof(all[s].name)))
			same_name = s;
	}
	if (same_name && !slot_live(&all[same_name], config_id))
		s = same_name;
	else if (free_slot)
		s = free_slot;
	else
		for (s = 1; s < EG_MAX_IFACES && slot_live(&all[s], config_id); s++)
			;
	if (s == EG_MAX_IFACES)
		rc = eg_fail(e, "too many interfaces: edgeguard runs on at most %d; detach one first",
			     EG_MAX_IFACES - 1);
	else
		rc = eg_reset_iface_counters(&m, s, e);
out:
	eg_maps_close(&m);
	*slot = s;
	return rc;
}

/* After a successful attach: config defaults, list marks, and the slot's name. */
static int finish_attach(const char *ifname, int ifindex, uint32_t slot, struct eg_err *e)
{
	struct eg_iface_slot is = { .ifindex = (uint32_t)ifindex };
	struct eg_maps m;
	int rc;

	if (eg_maps_open_pinned(&m, e))
		return -1;
	/* libxdp loaded it: what eg_datapath_load does after a load is ours to do. */
	rc = eg_datapath_ready(&m, e);
	snprintf(is.name, sizeof(is.name), "%s", ifname);
	if (!rc && bpf_map_update_elem(m.ifaces, &slot, &is, BPF_ANY))
		rc = eg_fail_errno(e, errno, "cannot record interface slot %u of %s", slot, ifname);
	eg_maps_close(&m);
	return rc;
}

/* Frees the interface's slot, zeroed so whoever gets it next starts from zero. */
static int release_slot(int ifindex, struct eg_err *e)
{
	struct eg_iface_slot all[EG_MAX_IFACES], none = { 0 };
	struct eg_maps m;
	int rc;

	if (eg_maps_open_pinned(&m, e))
		return -1;
	rc = eg_read_ifaces(&m, all, e);
	for (uint32_t s = 1; !rc && s < EG_MAX_IFACES; s++) {
		if (all[s].ifindex != (uint32_t)ifindex)
			continue;
		rc = eg_reset_iface_counters(&m, s, e);
		if (!rc && bpf_map_update_elem(m.ifaces, &s, &none, BPF_ANY))
			rc = eg_fail_errno(e, errno, "cannot free interface slot %u", s);
	}
	eg_maps_close(&m);
	return rc;
}

/* A libxdp error (negative): its text, and its errno kept in e->code. */
static int xdp_fail(struct eg_err *e, int err, const char *what)
{
	char msg[128];

	libxdp_strerror(err, msg, sizeof(msg));
	return eg_fail_code(e, err < 0 ? -err : err, "%s%s", what, msg);
}

/* Attaches XDP through libxdp (which loads the object), then TC from the same object. */
static int try_attach(struct edgeguard_bpf *skel, int ifindex, enum xdp_attach_mode mode,
		      struct eg_err *e)
{
	struct xdp_program *prog = xdp_program__from_bpf_obj(skel->obj, "xdp");
	int err;

	if (libxdp_get_error(prog))
		return xdp_fail(e, (int)libxdp_get_error(prog), "cannot prepare the XDP program: ");
	err = xdp_program__attach(prog, ifindex, mode, 0);
	if (err) {
		xdp_program__close(prog);
		return xdp_fail(e, err, "");
	}
	if (eg_tc_attach(ifindex, bpf_program__fd(skel->progs.edgeguard_tc_egress), e)) {
		/* All or nothing: no XDP half without its TC half. */
		xdp_program__detach(prog, ifindex, mode, 0);
		xdp_program__close(prog);
		return -1;
	}
	xdp_program__close(prog);
	return 0;
}

int eg_attach(const char *ifname, enum eg_xdp_mode mode, const struct eg_sizes *sizes,
	      struct eg_err *e)
{
	struct xdp_multiprog *mp;
	struct xdp_program *ours;
	struct eg_err why = { 0 };
	int ifindex = ifindex_of(ifname, e);
	bool attached = false;
	uint32_t config_id, slot;

	if (ifindex < 0 || eg_kernel_check_running(e))
		return -1;
	config_id = pinned_config_id();
	ours = find_ours(ifindex, config_id, &mp);
	xdp_multiprog__close(mp);
	if (ours)
		return 1;
	if (eg_bpffs_ensure(e) || pick_slot(ifname, ifindex, config_id, &slot, e))
		return -1;

	/* Native first under auto; each try needs a fresh object for libxdp to load. */
	for (int attempt = 0; attempt < 2 && !attached; attempt++) {
		enum xdp_attach_mode m = mode == EG_XDP_SKB ? XDP_MODE_SKB : XDP_MODE_NATIVE;
		struct edgeguard_bpf *skel;

		if (attempt == 1) {
			if (mode != EG_XDP_AUTO)
				break;
			m = XDP_MODE_SKB;
		}
		skel = eg_datapath_open(&(struct eg_open_opts){ .sizes = sizes, .iface_slot = slot,
								 .pinned = true }, e);
		if (!skel)
			return -1;
		attached = try_attach(skel, ifindex, m, &why) == 0;
		edgeguard_bpf__destroy(skel);
	}
	if (!attached) {
		return eg_fail_code(e, why.code, "cannot attach to %s: %s%s", ifname, why.msg,
				    why.code == EPERM || why.code == EACCES ? " (run as root)" : "");
	}
	return finish_attach(ifname, ifindex, slot, e);
}

/* Whether the interface a slot recorded is still there under its name. */
static bool slot_exists(const struct eg_iface_slot *s)
{
	char name[IF_NAMESIZE];

	return if_indextoname(s->ifindex, name) && !strncmp(name, s->name, sizeof(s->name));
}

/* The pinned interface slots: 1 read, 0 nothing pinned, -1 error. */
static int read_pinned_slots(struct eg_iface_slot all[EG_MAX_IFACES], struct eg_err *e)
{
	struct eg_maps m;
	int rc;

	if (!eg_pins_exist())
		return 0;
	if (eg_maps_open_pinned(&m, e))
		return -1;
	rc = eg_read_ifaces(&m, all, e);
	eg_maps_close(&m);
	return rc ? -1 : 1;
}

/*
 * The slot recorded for ifname: by ifindex when the interface exists (>0),
 * else by name among the slots whose interface is gone. 1 found, 0 none.
 */
static int find_slot(const char *ifname, int ifindex, struct eg_iface_slot *out,
		     struct eg_err *e)
{
	struct eg_iface_slot all[EG_MAX_IFACES];
	int found = 0, rc = read_pinned_slots(all, e);

	if (rc <= 0)
		return rc;
	for (uint32_t s = 1; s < EG_MAX_IFACES && !found; s++) {
		if (!all[s].ifindex)
			continue;
		if (ifindex > 0 ? all[s].ifindex == (uint32_t)ifindex :
				  !strncmp(all[s].name, ifname, sizeof(all[s].name)) &&
					  !slot_exists(&all[s])) {
			*out = all[s];
			found = 1;
		}
	}
	return found;
}

/*
 * After the last interface: the markers of interfaces that went away
 * without a detach go too, or nothing would ever remove them.
 */
static void forget_vanished(void)
{
	struct eg_missing_iface gone[EG_MAX_IFACES];
	int n = eg_list_missing(gone, EG_MAX_IFACES, NULL);

	for (int i = 0; i < n && i < EG_MAX_IFACES; i++)
		if (!gone[i].exists)
			eg_tc_forget(gone[i].ifindex);
}

/* The interface is gone or no longer runs our program: clean up what it left. */
static int detach_missing(const struct eg_iface_slot *slot, bool exists, struct eg_err *e)
{
	if (exists) {
		if (eg_tc_detach((int)slot->ifindex, e))
			return -1;
	} else {
		eg_tc_forget((int)slot->ifindex);
	}
	return release_slot((int)slot->ifindex, e);
}

int eg_detach(const char *ifname, bool *was_last, bool *was_gone, struct eg_err *e)
{
	struct xdp_multiprog *mp;
	struct xdp_program *prog;
	struct eg_iface_slot slot;
	char msg[128];
	int ifindex = (int)if_nametoindex(ifname);
	int err, found;

	if (was_gone)
		*was_gone = false;
	prog = ifindex ? find_ours(ifindex, pinned_config_id(), &mp) : (mp = NULL, NULL);
	if (!prog) {
		xdp_multiprog__close(mp);
		found = find_slot(ifname, ifindex, &slot, e);
		if (found < 0)
			return -1;
		if (!found && !ifindex)
			return eg_fail(e, "unknown interface '%s'", ifname);
		if (!found)
			return eg_fail(e, "edgeguard is not attached to %s", ifname);
		if (detach_missing(&slot, ifindex > 0, e))
			return -1;
		if (was_gone)
			*was_gone = true;
		goto out;
	}
	if (xdp_multiprog__is_legacy(mp))
		err = xdp_multiprog__detach(mp);
	else
		err = xdp_program__detach(prog, ifindex, xdp_multiprog__attach_mode(mp), 0);
	xdp_multiprog__close(mp);
	if (err) {
		snprintf(msg, sizeof(msg), "cannot detach from %s: ", ifname);
		return xdp_fail(e, err, msg);
	}
	if (eg_tc_detach(ifindex, e) || release_slot(ifindex, e))
		return -1;
out:
	*was_last = eg_list_attached(NULL, 0, NULL) == 0;
	if (*was_last)
		forget_vanished();
	return 0;
}

int eg_list_attached(struct eg_iface *out, int max, struct eg_err *e)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	uint32_t config_id = pinned_config_id();
	int n = 0;

	if (!ifs)
		return eg_fail_errno(e, errno, "cannot list interfaces");
	for (i = ifs; i->if_index; i++) {
		struct xdp_multiprog *mp;
		struct xdp_program *p = find_ours((int)i->if_index, config_id, &mp);

		if (p && n < max && out) {
			snprintf(out[n].name, sizeof(out[n].name), "%s", i->if_name);
			out[n].ifindex = (int)i->if_index;
			out[n].mode = mode_name(xdp_multiprog__attach_mode(mp));
			out[n].tc_egress = eg_tc_attached((int)i->if_index);
		}
		if (p)
			n++;
		xdp_multiprog__close(mp);
	}
	if_freenameindex(ifs);
	return n;
}

int eg_list_missing(struct eg_missing_iface *out, int max, struct eg_err *e)
{
	struct eg_iface_slot all[EG_MAX_IFACES];
	struct eg_iface live[EG_MAX_IFACES];
	int nlive, n = 0, rc;
	bool running;

	if (!eg_pins_exist())
		return 0;
	nlive = eg_list_attached(live, EG_MAX_IFACES, e);
	if (nlive < 0)
		return -1;
	rc = read_pinned_slots(all, e);
	if (rc <= 0)
		return rc;
	for (uint32_t s = 1; s < EG_MAX_IFACES; s++) {
		if (!all[s].ifindex)
			continue;
		running = false;
		for (int i = 0; i < nlive && i < EG_MAX_IFACES; i++)
			running = running || live[i].ifindex == (int)all[s].ifindex;
		if (running)
			continue;
		if (out && n < max) {
			memcpy(out[n].name, all[s].name, sizeof(out[n].name) - 1);
			out[n].name[sizeof(out[n].name) - 1] = '\0';
			out[n].ifindex = (int)all[s].ifindex;
			out[n].exists = slot_exists(&all[s]);
		}
		n++;
	}
	return n;
}
