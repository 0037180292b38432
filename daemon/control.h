/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The daemon's side of the control socket, $EDGEGUARD_RUN_DIR/control.sock:
 * a Unix stream socket only root (or members of the daemon's --group) may
 * use. The protocol, its limits and deadlines: user/control/control_proto.h.
 *
 * The daemon's loop never waits on a client: every socket is non-blocking,
 * a reply that cannot be sent at once waits in the client's own buffer, and
 * a client that does not send its request or take its reply in time is
 * dropped.
 */
#ifndef EGD_CONTROL_H
#define EGD_CONTROL_H

#include <stdbool.h>
#include <sys/types.h>
#include "control_proto.h"

struct eg_maps;
struct control;
struct ucred;

/*
 * What the socket hands to the rest of the daemon. policy_load gets a
 * parsed policy_load request, the policy file's descriptor (its own to
 * close) and who asked; it answers with the reply (eg_ctl_reply_new and
 * more) and says in *changed whether the lists changed.
 */
struct control_hooks {
	cJSON *(*policy_load)(void *ctx, const struct eg_ctl_request *r, int fd,
			      const struct ucred *peer, bool *changed);
	void *ctx;
};

/*
 * Creates the socket (replacing a stale one left by a crash; the caller
 * holds the run directory's lock, so no live daemon owns it). group is a
 * group name or number whose members may use it too (socket mode 0660, run
 * directory 0711), or NULL (mode 0600, root only). Returns NULL with a
 * message on stderr on failure.
 */
struct control *control_open(const struct eg_maps *maps, const char *group,
			     const struct control_hooks *hooks);

/* The --group's id into *gid: true when the daemon has one. */
bool control_group(const struct control *c, gid_t *gid);

/* One descriptor to poll for input: the listener and every client behind it. */
int control_fd(const struct control *c);

/* Milliseconds until the next client deadline (-1: none), for the poll timeout. */
int control_timeout_ms(const struct control *c);

/*
 * Serves whatever is ready and drops clients past their deadlines, without
 * blocking. Returns true when a request changed the bans or allows (time to
 * save). A descriptor a client passes (SCM_RIGHTS) waits for its request;
 * only policy_load takes one, and one at a time: others are closed.
 */
bool control_service(struct control *c);

/* Closes every connection and removes the socket file. NULL is fine. */
void control_close(struct control *c);

#endif
