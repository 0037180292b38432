/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Talking to edgeguardd over its control socket, so a change made while the
 * daemon runs is logged and saved by it at once.
 */
#ifndef EG_CONTROL_CLIENT_H
#define EG_CONTROL_CLIENT_H

#include <cjson/cJSON.h>
#include "error.h"

enum ctl_result {
	CTL_DONE,      /* the daemon answered: the response is in *resp */
	CTL_NO_DAEMON, /* nobody answers (no socket, stale socket, timeout): use the maps */
	CTL_FAILED,    /* we may not use the daemon, or it refused us: e says why */
};

/*
 * Sends req (freed here) and waits for its one-line response. Connecting and
 * answering are bounded by a short timeout each. With CTL_DONE the caller
 * frees *resp.
 */
enum ctl_result ctl_request(cJSON *req, cJSON **resp, struct eg_err *e);

/*
 * The usual way in: CTL_DONE when the daemon did it (an "ok": false answer
 * becomes CTL_FAILED with its error), CTL_NO_DAEMON when the caller should
 * do it on the maps itself.
 */
enum ctl_result ctl_do(cJSON *req, struct eg_err *e);

#endif
