// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer target: the policy-file parser, eg_policy_file_parse.
 *
 * Beyond "no crash, no leak, no undefined behaviour", each input must keep the
 * parser's contract (user/policy/policy_file.h), because the CLI and the daemon act
 * on a successful parse without checking again:
 *  - success: the table passes eg_policy_validate and every policy compiles;
 *    the lists fit their maps, hold no duplicates and only canonical CIDRs;
 *    names and reasons are one printable line (they go to status and logs);
 *  - failure: -1, nothing left to free, and one error line naming the file.
 */
#include "addr.h"
#include "fuzz_common.h"
#include "policy_file.h"

#define NAME "fuzz.json"

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct eg_lpm_key));
}

/* Each key is what eg_parse_cidr makes of its own text, and none repeats. */
static void check_keys(const char *list, struct eg_lpm_key *keys, size_t n)
{
	char text[EG_CIDR_STRLEN];
	struct eg_lpm_key again;
	struct eg_err e;

	for (size_t i = 0; i < n; i++) {
		eg_format_cidr(&keys[i], text, sizeof(text));
		FZ_ASSERT(!eg_parse_cidr(text, &again, &e), "%s[%zu] %s does not parse: %s", list,
			  i, text, e.msg);
		FZ_ASSERT(!memcmp(&again, &keys[i], sizeof(again)), "%s[%zu] %s is not canonical",
			  list, i, text);
	}
	if (n < 2)
		return;
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (size_t i = 1; i < n; i++) {
		eg_format_cidr(&keys[i], text, sizeof(text));
		FZ_ASSERT(memcmp(&keys[i - 1], &keys[i], sizeof(*keys)), "%s lists %s twice", list,
			  text);
	}
}

static void check_text(const char *what, const char *s)
{
	const char *why = fz_text_problem(s);

	FZ_ASSERT(*s, "%s is empty", what);
	FZ_ASSERT(!why, "%s has %s: '%s'", what, why, s);
}

static void check_success(struct eg_policy_file *f)
{
	struct eg_lpm_key *keys;
	struct eg_policy pol;
	struct eg_err e;

	FZ_ASSERT(!eg_policy_validate(&f->table, &e), "accepted table fails validation: %s",
		  e.msg);
	FZ_ASSERT(!eg_policy_compile(&f->table.def, &pol, &e), "default does not compile: %s",
		  e.msg);
	for (unsigned int i = 0; i < f->table.nrules; i++) {
		FZ_ASSERT(!eg_policy_compile(&f->table.rules[i], &pol, &e),
			  "policies[%u] does not compile: %s", i, e.msg);
		check_text("a policy label", f->table.rules[i].label);
		for (unsigned int j = 0; j < i; j++)
			FZ_ASSERT(strcmp(f->table.rules[i].label, f->table.rules[j].label),
				  "policies[%u] and [%u] are both '%s'", j, i,
				  f->table.rules[i].label);
	}
	FZ_ASSERT(f->nallow <= f->sizes.max_allows, "%zu allows over max_allows %u", f->nallow,
		  f->sizes.max_allows);
	FZ_ASSERT(f->nbans <= f->sizes.max_bans, "%zu bans over max_bans %u", f->nbans,
		  f->sizes.max_bans);
	FZ_ASSERT(strlen(f->hash) == 16 && strspn(f->hash, "0123456789abcdef") == 16,
		  "hash '%s' is not 16 hex digits", f->hash);
	FZ_ASSERT(!strcmp(f->path, NAME), "path '%s'", f->path);

	check_keys("allow", f->allow, f->nallow);
	keys = calloc(f->nbans + 1, sizeof(*keys));
	FZ_ASSERT(keys, "out of memory");
	for (size_t i = 0; i < f->nbans; i++) {
		keys[i] = f->bans[i].key;
		if (f->bans[i].reason[0])
			check_text("a ban reason", f->bans[i].reason);
	}
	check_keys("bans", keys, f->nbans);
	free(keys);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eg_policy_file f;
	struct eg_err e = { 0 };
	int rc;

	rc = eg_policy_file_parse((const char *)data, size, NAME, &f, &e);
	if (rc) {
		FZ_ASSERT(rc == -1, "returned %d", rc);
		FZ_ASSERT(!f.allow && !f.bans && !f.nallow && !f.nbans,
			  "a failed parse left lists behind");
		fz_check_error(&e, NAME ": ");
		return 0;
	}
	check_success(&f);
	eg_policy_file_free(&f);
	eg_policy_file_free(&f); /* the header promises a second free is harmless */
	return 0;
}
