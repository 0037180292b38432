// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer target: the state file parser, eg_state_parse (user/state/persist.h).
 *
 * The state file carries bans and allows across restarts; what it loses is a
 * ban an operator set. Beyond "no crash, no leak, no undefined behaviour":
 *  - success: the whole text is one JSON value (nothing ignored after it,
 *    per the file's "strict when reading"); the lists are sorted (eg_state_find_ban relies on it), every
 *    field is in range, and what is read can be written and read back the same
 *    (eg_state_format, then eg_state_parse): a save never loses a ban;
 *  - failure: -1, an empty state, and one error line naming the file.
 */
#include <cjson/cJSON.h>
#include "addr.h"
#include "fuzz_common.h"
#include "persist.h"

#define NAME "state.json"

static void check_key(const char *what, size_t i, const struct eg_lpm_key *k)
{
	char text[EG_CIDR_STRLEN];
	struct eg_lpm_key again;
	struct eg_err e;

	eg_format_cidr(k, text, sizeof(text));
	FZ_ASSERT(!eg_parse_cidr(text, &again, &e) && !memcmp(&again, k, sizeof(again)),
		  "%s[%zu] %s is not canonical", what, i, text);
}

static void check_ban(size_t i, const struct eg_saved_ban *b)
{
	check_key("bans", i, &b->key);
	FZ_ASSERT(b->expires_at >= 0 && b->created_at >= 0, "bans[%zu]: negative time", i);
	FZ_ASSERT(b->origin < EG_ORIGIN_MAX, "bans[%zu]: origin %u", i, b->origin);
	FZ_ASSERT(b->policy < EG_MAX_POLICIES, "bans[%zu]: policy %u", i, b->policy);
	FZ_ASSERT(b->trigger < EG_R_MAX, "bans[%zu]: trigger %u", i, b->trigger);
	FZ_ASSERT(memchr(b->reason, '\0', sizeof(b->reason)), "bans[%zu]: reason not terminated",
		  i);
}

/* What the file keeps of a ban: policy and trigger are written for auto-bans only. */
static bool same_ban(const struct eg_saved_ban *a, const struct eg_saved_ban *b)
{
	return !memcmp(&a->key, &b->key, sizeof(a->key)) && a->expires_at == b->expires_at &&
	       a->created_at == b->created_at && a->origin == b->origin &&
	       !strcmp(a->reason, b->reason) &&
	       (a->origin != EG_ORIGIN_AUTO || (a->policy == b->policy && a->trigger == b->trigger));
}

/* eg_state_find_ban finds each ban by its key and whether the datapath set it. */
static void check_found(const struct eg_state *s, size_t i)
{
	const struct eg_saved_ban *b = &s->bans[i];
	const struct eg_saved_ban *f = eg_state_find_ban(s, &b->key, b->origin);

	FZ_ASSERT(f && !memcmp(&f->key, &b->key, sizeof(f->key)) &&
			  (f->origin == EG_ORIGIN_AUTO) == (b->origin == EG_ORIGIN_AUTO),
		  "bans[%zu] cannot be found", i);
}

/* Sorting again changes no key's place: the lists came sorted. */
static void check_sorted(const struct eg_state *s)
{
	struct eg_state c;
	struct eg_err e;

	eg_state_init(&c);
	for (size_t i = 0; i < s->nbans; i++)
		FZ_ASSERT(!eg_state_add_ban(&c, &s->bans[i], &e), "%s", e.msg);
	for (size_t i = 0; i < s->nallows; i++)
		FZ_ASSERT(!eg_state_add_saved_allow(&c, &s->allows[i], &e), "%s", e.msg);
	eg_state_sort(&c);
	for (size_t i = 0; i < s->nbans; i++)
		FZ_ASSERT(!memcmp(&c.bans[i].key, &s->bans[i].key, sizeof(c.bans[i].key)),
			  "bans not sorted at %zu", i);
	for (size_t i = 0; i < s->nallows; i++)
		FZ_ASSERT(!memcmp(&c.allows[i].key, &s->allows[i].key, sizeof(c.allows[i].key)),
			  "allows not sorted at %zu", i);
	eg_state_free(&c);
}

/* cJSON, told to refuse anything after the value, still accepts the text. */
static void check_whole_text_used(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1);
	cJSON *root;

	FZ_ASSERT(copy, "out of memory");
	memcpy(copy, data, size);
	copy[size] = '\0';
	root = cJSON_ParseWithLengthOpts(copy, size + 1, NULL, 1);
	FZ_ASSERT(root, "accepted a text with something after its JSON value");
	cJSON_Delete(root);
	free(copy);
}

static void check_round_trip(const struct eg_state *s)
{
	struct eg_state r;
	struct eg_err e = { 0 };
	char *text = eg_state_format(s), *used;

	FZ_ASSERT(text, "eg_state_format failed");
	FZ_ASSERT(!eg_state_parse(text, strlen(text), NAME, &r, &e),
		  "a saved state does not load: %s", e.msg);
	FZ_ASSERT(r.nbans == s->nbans && r.nallows == s->nallows,
		  "saved %zu bans, %zu allows; read back %zu, %zu", s->nbans, s->nallows, r.nbans,
		  r.nallows);
	/* Matched as a multiset: bans with one key and class may come back in either order. */
	used = calloc(r.nbans + 1, 1);
	FZ_ASSERT(used, "out of memory");
	for (size_t i = 0; i < s->nbans; i++) {
		size_t j = 0;

		while (j < r.nbans && (used[j] || !same_ban(&s->bans[i], &r.bans[j])))
			j++;
		FZ_ASSERT(j < r.nbans, "bans[%zu] changed in a save", i);
		used[j] = 1;
	}
	free(used);
	for (size_t i = 0; i < s->nallows; i++)
		FZ_ASSERT(!memcmp(&s->allows[i], &r.allows[i], sizeof(r.allows[i])),
			  "allows[%zu] changed in a save", i);
	eg_state_free(&r);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eg_state s;
	struct eg_err e = { 0 };
	int rc;

	rc = eg_state_parse((const char *)data, size, NAME, &s, &e);
	if (rc) {
		FZ_ASSERT(rc == -1, "returned %d", rc);
		FZ_ASSERT(!s.bans && !s.allows && !s.nbans && !s.nallows,
			  "a failed parse left entries behind");
		fz_check_error(&e, NAME ": ");
		return 0;
	}
	check_whole_text_used(data, size);
	for (size_t i = 0; i < s.nbans; i++) {
		check_ban(i, &s.bans[i]);
		check_found(&s, i);
	}
	for (size_t i = 0; i < s.nallows; i++)
		check_key("allows", i, &s.allows[i].key);
	check_sorted(&s);
	check_round_trip(&s);
	eg_state_free(&s);
	return 0;
}
