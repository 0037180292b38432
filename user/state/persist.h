/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Bans and allows saved to a JSON state file, so they survive a reboot or a
 * detach. The datapath counts expiry in CLOCK_BOOTTIME, which restarts at
 * every boot, so the file holds absolute wall-clock expiries (unix seconds)
 * and a restore turns them back into the TTL that is left.
 */
#ifndef EG_PERSIST_H
#define EG_PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "maps.h"
#include "policy_file.h" /* EG_BAN_REASON_LEN */

#define EG_STATE_FILE "state.json"
#define EG_STATE_VERSION 1
/* Refuse absurd files before handing them to the JSON parser. */
#define EG_STATE_MAX_BYTES (256U << 20)

struct eg_saved_ban {
	struct eg_lpm_key key;
	int64_t expires_at; /* unix seconds; 0 = permanent */
	int64_t created_at; /* unix seconds */
	uint16_t origin;    /* enum eg_ban_origin */
	uint16_t policy;    /* policy slot of an auto-ban */
	uint32_t trigger;   /* enum eg_reason of an auto-ban */
	char reason[EG_BAN_REASON_LEN]; /* free text, may be empty */
	/* The map value it was read from (zero when read from a file), for change detection. */
	struct eg_ban raw;
};

/*
 * Which set of maps a state was read from: the boot it was made in and the
 * id of the pinned eg_config map (map ids alone start over at every boot).
 * While those maps live they are the truth about the lists, and the file is
 * only their copy; a state saved from other maps (an earlier boot, a detach
 * and attach) is the truth for new maps.
 */
struct eg_maps_origin {
	char boot_id[40]; /* /proc/sys/kernel/random/boot_id; "" = not known */
	uint32_t config_id;
};

/*
 * A saved allow: its CIDR, and for the fleet (daemon/fleet.h) its origin
 * (EG_ORIGIN_MANUAL, or EG_ORIGIN_FLEET: another host's) and whether this
 * host shares it (fleet-wide). In the file a plain allow is its CIDR, any
 * other {"cidr": ..., "origin": "fleet"} or {"cidr": ..., "fleet": true}.
 */
struct eg_saved_allow {
	struct eg_lpm_key key;
	uint16_t origin;
	uint16_t fleet;
};

struct eg_state {
	struct eg_saved_ban *bans;
	size_t nbans, cap_bans;
	struct eg_saved_allow *allows;
	size_t nallows, cap_allows;
	struct eg_maps_origin from; /* unknown in a file written before it was recorded */
	/*
	 * Entries a restore could not put back (a full list): kept in the file
	 * under "pending", so that no save loses them, and tried again by every
	 * restore until they fit or expire.
	 */
	struct eg_saved_ban *pending_bans;
	size_t npending_bans, cap_pending_bans;
	struct eg_saved_allow *pending_allows;
	size_t npending_allows, cap_pending_allows;
};

void eg_state_init(struct eg_state *s);
void eg_state_free(struct eg_state *s);
int eg_state_add_ban(struct eg_state *s, const struct eg_saved_ban *b, struct eg_err *e);
/* A plain allow of k (origin manual, not fleet-wide). */
int eg_state_add_allow(struct eg_state *s, const struct eg_lpm_key *k, struct eg_err *e);
int eg_state_add_saved_allow(struct eg_state *s, const struct eg_saved_allow *a, struct eg_err *e);
int eg_state_add_pending_ban(struct eg_state *s, const struct eg_saved_ban *b, struct eg_err *e);
int eg_state_add_pending_allow(struct eg_state *s, const struct eg_saved_allow *a,
			       struct eg_err *e);
/* Replaces dst's pending lists by copies of src's (the same state may be both). */
int eg_state_copy_pending(struct eg_state *dst, const struct eg_state *src, struct eg_err *e);
/* Drops pending bans that have expired at wall-clock time now; true when any was. */
bool eg_state_expire_pending(struct eg_state *s, int64_t now);

/* The origin of maps m in this boot. */
int eg_maps_origin_read(const struct eg_maps *m, struct eg_maps_origin *out, struct eg_err *e);
/* Both known and the same: the very same maps. */
bool eg_maps_origin_same(const struct eg_maps_origin *a, const struct eg_maps_origin *b);

/* Orders both lists by key, which eg_state_find_ban and eg_state_same need. */
void eg_state_sort(struct eg_state *s);
/*
 * The ban with exactly this key in a sorted state, or NULL: the datapath's
 * own for origin auto, else the operator's (a key may hold one of each).
 */
const struct eg_saved_ban *eg_state_find_ban(const struct eg_state *s, const struct eg_lpm_key *k,
					     unsigned int origin);
/* Same keys, same map values (raw), same allows: nothing worth saving again. Both sorted. */
bool eg_state_same(const struct eg_state *a, const struct eg_state *b);

/*
 * Reads path into out (sorted). A missing file is an empty state, not an
 * error. A corrupt or truncated file fails with "PATH: JSON.PATH: reason" or
 * "PATH: reason" and leaves out empty.
 */
int eg_state_load(const char *path, struct eg_state *out, struct eg_err *e);

/*
 * The same from memory: text (len bytes, need not be NUL-terminated) is the
 * file's content and name prefixes every message. Fails on an empty text.
 */
int eg_state_parse(const char *text, size_t len, const char *name, struct eg_state *out,
		   struct eg_err *e);

/*
 * The file's text for s, as eg_state_save writes it (without the final
 * newline); NULL when out of memory. The caller frees it.
 */
char *eg_state_format(const struct eg_state *s);

/*
 * Writes s to path atomically: a temporary file in the same directory,
 * fsync, rename over path, fsync of the directory. A crash at any point
 * leaves either the old file or the new one, and no temporary file on error.
 */
int eg_state_save(const char *path, const struct eg_state *s, struct eg_err *e);

/*
 * The TTL left of a saved ban at wall-clock time now (unix seconds): false
 * when it has expired; otherwise *ttl_s is the seconds left (0 = permanent).
 */
bool eg_saved_ban_remaining(const struct eg_saved_ban *b, int64_t now, uint32_t *ttl_s);

/*
 * Reads the pinned maps into out (sorted): bans that have not expired, with
 * wall-clock expiries and the reasons of their notes, every allow, and the
 * maps' origin (left unknown if it cannot be read). No pending entries.
 */
int eg_state_snapshot(const struct eg_maps *m, struct eg_state *out, struct eg_err *e);

enum eg_restore_result {
	EG_RESTORE_ADDED,   /* put back into the maps */
	EG_RESTORE_EXPIRED, /* expired while nothing was running: skipped */
	EG_RESTORE_PRESENT, /* a live ban (or the allow) is already in the maps: kept as it is */
	EG_RESTORE_FAILED,  /* could not be stored (a full list): see error */
};

/* What a restore did with one entry: a ban (ban set) or an allow (allow set). */
struct eg_restore_report {
	const struct eg_saved_ban *ban;
	const struct eg_lpm_key *allow;
	enum eg_restore_result result;
	uint32_t ttl_s;    /* a ban's seconds left (0 = permanent); 0 when expired */
	const char *error; /* EG_RESTORE_FAILED: why */
};

typedef void (*eg_restore_cb)(const struct eg_restore_report *r, void *ctx);

enum eg_restore_what {
	EG_RESTORE_ALL,     /* into new maps: the lists and the pending entries */
	EG_RESTORE_PENDING, /* into the maps the state was saved from: only what is pending */
};

/*
 * Puts the saved allows, then the saved bans (with their remaining TTL,
 * origin, policy, trigger and, but for auto-bans, reason) back into the maps
 * at wall-clock time now: allows first, so a full ban list never costs one.
 * Never replaces a live ban or an existing allow. Keeps going past entries
 * that cannot be stored: each is reported as EG_RESTORE_FAILED and, when
 * failed is not NULL, added to failed's pending lists. cb (may be NULL)
 * hears about every ban and every allow. Returns how many failed.
 */
size_t eg_state_restore(const struct eg_maps *m, const struct eg_state *s, int64_t now,
			enum eg_restore_what what, eg_restore_cb cb, void *ctx,
			struct eg_state *failed);

/*
 * Keeps the file at path under a name of its own that nothing overwrites:
 * "PATH.TAG", else "PATH.TAG.1", "PATH.TAG.2", ... (never replacing one
 * that exists). keep_original: a hard link, path stays; otherwise path is
 * renamed. The name chosen goes to out.
 */
int eg_file_set_aside(const char *path, const char *tag, bool keep_original, char *out,
		      size_t out_len, struct eg_err *e);

/*
 * A state directory (and the state file in it, if any) is trusted only when
 * owned by the daemon's effective user and not writable by group or others:
 * whoever can write it decides what is banned and allowed at the next start.
 * The file must be a regular file (not a link).
 */
int eg_state_dir_check(const char *dir, const char *file, struct eg_err *e);

#endif
