/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Talking to edgeguardd over its control socket (user/control/control_proto.h), so
 * a change made while the daemon runs is logged and saved by it at once.
 */
#ifndef EG_CONTROL_CLIENT_H
#define EG_CONTROL_CLIENT_H

#include <cjson/cJSON.h>
#include "control_proto.h"
#include "error.h"

enum ctl_result {
	CTL_DONE,      /* the daemon did it */
	CTL_NO_DAEMON, /* no daemon at all (no socket, nobody listening): nothing was sent */
	CTL_FAILED,    /* e says why; never to be done on the maps instead */
};

/*
 * Sends r to the daemon and reads its answer, within EG_CTL_CLIENT_MS in
 * all. A change without an id gets a fresh one. A busy daemon is tried again
 * shortly; a request whose answer could not be read (the connection broke)
 * is sent again with the same id, which the daemon answers without applying
 * it twice.
 *
 * Only CTL_NO_DAEMON lets the caller change the maps itself. CTL_FAILED
 * covers a daemon that said no, one we may not use, one that stayed busy,
 * and one that did not answer after the request went out: the change may
 * then have been made, and making it on the maps too would apply it twice.
 */
enum ctl_result ctl_do(struct eg_ctl_request *r, struct eg_err *e);

/*
 * The same, passing the descriptor pass_fd (>= 0) with the request, and on
 * CTL_DONE the daemon's whole reply in *reply (when not NULL; free it).
 */
enum ctl_result ctl_do_fd(struct eg_ctl_request *r, int pass_fd, cJSON **reply, struct eg_err *e);

#endif
