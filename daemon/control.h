/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The daemon's control socket: $EDGEGUARD_RUN_DIR/control.sock, a Unix
 * stream socket only root (or members of the daemon's --group) may use.
 *
 * Protocol: one JSON object per line each way, one response per request.
 *   {"cmd":"ban","cidr":"192.0.2.7","ttl":600,"reason":"scraper"}  ttl 0 = permanent
 *   {"cmd":"unban","cidr":"192.0.2.7"}
 *   {"cmd":"bans"}            -> "bans": [{address, expires_in, permanent, origin, reason, ...}]
 *   {"cmd":"allow_add","cidr":"10.0.0.0/8"}   {"cmd":"allow_del","cidr":...}
 *   {"cmd":"allows"}          -> "allows": ["10.0.0.0/8", ...]
 *   {"cmd":"status"} or {"cmd":"ping"} -> "pid", "maps", "state"
 * Every response has "ok": true, or "ok": false with "error". A peer that
 * may not use the socket gets one line {"ok":false,"refused":true,"error":...}
 * and is disconnected.
 *
 * The CLI includes this header for the socket's name and the limits only.
 */
#ifndef EGD_CONTROL_H
#define EGD_CONTROL_H

#include <stdbool.h>
#include <sys/types.h>

#define EG_CONTROL_SOCK_NAME "control.sock"
/* Longest request or response line either side accepts. */
#define EG_CONTROL_MAX_REQUEST 4096
/* Longest ban TTL in seconds (ten years), the same for the CLI and the socket. */
#define EG_CONTROL_MAX_TTL (10ULL * 365 * 24 * 3600)

struct eg_maps;
struct control;

/*
 * Creates the socket (replacing a stale one left by a crash; refusing when
 * another daemon answers on it). group is a group name or number whose
 * members may use it too (socket mode 0660, run directory 0711), or NULL
 * (mode 0600, root only). Returns NULL with a message on stderr on failure.
 */
struct control *control_open(const struct eg_maps *maps, const char *group);

/* One descriptor to poll for input: the listener and every client behind it. */
int control_fd(const struct control *c);

/*
 * Serves whatever is ready without blocking on any one client for long.
 * Returns true when a request changed the bans or allows (time to save).
 */
bool control_service(struct control *c);

/* Closes every connection and removes the socket file. */
void control_close(struct control *c);

#endif
