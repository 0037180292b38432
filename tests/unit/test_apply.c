// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Policy loads as transactions (user/policy/apply.c, policy.c): slots kept
 * by name, the lists reconciled by origin, and a load that fails after it
 * wrote the table and the lists undone exactly.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "datapath_fixture.h"
#include "apply.h"

static char run_dir[] = "/tmp/eg-test-apply.XXXXXX";

static struct eg_policy_table rules(const char *const *names, unsigned int n)
{
	struct eg_policy_table t;

	eg_policy_table_init(&t);
	for (unsigned int i = 0; i < n; i++) {
		struct eg_policy_spec *s = &t.rules[t.nrules++];

		memset(s, 0, sizeof(*s));
		snprintf(s->label, sizeof(s->label), "%s", names[i]);
		s->port_lo = s->port_hi = (uint16_t)(8000 + i);
	}
	return t;
}

static void plan_keeps_slots_by_name(void)
{
	struct eg_policy_name live[EG_MAX_POLICIES] = { { "default" }, { "web" }, { "api" } };
	const char *const order[] = { "new", "api", "web" };
	struct eg_policy_table t = rules(order, 3);
	struct eg_slot_plan p;

	CHECK(eg_policy_plan_slots(live, &t, &p) == 0, "plan failed");
	CHECK_EQ(p.slot_of_rule[2], 1, "web's slot");
	CHECK_EQ(p.slot_of_rule[1], 2, "api's slot");
	CHECK_EQ(p.slot_of_rule[0], 3, "new's slot (the lowest unused)");
	CHECK(p.fresh[3] && !p.fresh[1] && !p.fresh[2], "only the new slot is cleared");
	CHECK(!strcmp(p.names[3].name, "new") && !strcmp(p.names[1].name, "web"),
	      "names after the switch: %s, %s", p.names[1].name, p.names[3].name);
}

/* Dropping a policy frees its slot only when no unused slot is left. */
static void plan_retakes_a_dropped_slot_last(void)
{
	struct eg_policy_name live[EG_MAX_POLICIES];
	const char *one[] = { "late" };
	struct eg_policy_table t = rules(one, 1);
	struct eg_slot_plan p;

	memset(live, 0, sizeof(live));
	for (uint32_t s = 0; s < EG_MAX_POLICIES; s++)
		snprintf(live[s].name, sizeof(live[s].name), "p%u", s);
	CHECK(eg_policy_plan_slots(live, &t, &p) == 0, "plan failed");
	CHECK_EQ(p.slot_of_rule[0], 1, "the lowest slot given up");
	CHECK(p.retaken[1] && !p.fresh[1], "a retaken slot is cleared after the switch, not before");
	live[5].name[0] = '\0';
	CHECK(eg_policy_plan_slots(live, &t, &p) == 0, "plan failed");
	CHECK_EQ(p.slot_of_rule[0], 5, "an unused slot before one given up");
}

static int parse(const char *text, struct eg_policy_file *f)
{
	struct eg_err e = { 0 };
	int rc = eg_policy_file_parse(text, strlen(text), "test.json", f, &e);

	CHECK(rc == 0, "parse: %s", e.msg);
	return rc;
}

static int load(struct fx *fx, const char *text, struct eg_apply_report *rep, struct eg_err *e)
{
	struct eg_apply_opts o = { .origin = EG_POLICY_BY_LOAD };
	struct eg_policy_file f;
	int rc;

	if (parse(text, &f))
		return -2;
	rc = eg_apply_policy_file(&fx->m, &f, &o, rep, e);
	eg_policy_file_free(&f);
	return rc;
}

static int has_ban(struct fx *fx, const char *cidr, struct eg_ban *out)
{
	struct eg_lpm_key k;
	struct eg_err e = { 0 };

	if (eg_parse_cidr(cidr, &k, &e))
		return -1;
	return eg_ban_get(&fx->m, &k, EG_ORIGIN_MANUAL, out) == 1;
}

static bool has_allow(struct fx *fx, const char *cidr)
{
	struct eg_lpm_key k;
	struct eg_allow a;
	struct eg_err e = { 0 };

	return !eg_parse_cidr(cidr, &k, &e) && !bpf_map_lookup_elem(fx->m.allow, &k, &a);
}

#define V1                                                                             \
	"{ \"policies\": [ { \"name\": \"web\", \"port\": 8080 } ],"                     \
	"  \"allow\": [ \"10.9.0.0/16\" ],"                                              \
	"  \"bans\": [ { \"cidr\": \"198.51.100.7\", \"ttl\": 600, \"reason\": \"v1\" }," \
	"            { \"cidr\": \"198.51.100.0/24\" } ] }"

static void reload_reconciles_by_origin(void)
{
	struct eg_apply_report rep;
	struct eg_err e = { 0 };
	struct eg_ban b1, b2, manual;
	struct eg_lpm_key k;
	struct fx fx;

	if (fx_open(&fx))
		return;
	CHECK(load(&fx, V1, &rep, &e) == 0, "v1: %s", e.msg);
	CHECK(has_ban(&fx, "198.51.100.7", &b1) == 1 && b1.origin == EG_ORIGIN_POLICY, "v1 ban");
	eg_parse_cidr("203.0.113.9", &k, &e);
	CHECK(eg_ban_add(&fx.m, &k, 300, EG_ORIGIN_MANUAL, "by hand", &e) == 0, "manual ban: %s", e.msg);
	CHECK(has_ban(&fx, "203.0.113.9", &manual) == 1, "manual ban set");
	CHECK(load(&fx,
		   "{ \"policies\": [ { \"name\": \"web\", \"port\": 8080 } ],"
		   "  \"bans\": [ { \"cidr\": \"198.51.100.7\", \"ttl\": 600, \"reason\": \"v1\" },"
		   "            { \"cidr\": \"203.0.113.9\" } ] }",
		   &rep, &e) == 0,
	      "v2: %s", e.msg);
	CHECK_EQ(rep.bans_removed, 1, "static bans removed");
	CHECK_EQ(rep.allows_removed, 1, "allows removed");
	CHECK_EQ(rep.bans_left, 1, "static bans left to a manual ban");
	CHECK(has_ban(&fx, "198.51.100.0/24", &b2) == 0, "the ban the file dropped is still there");
	CHECK(!has_allow(&fx, "10.9.0.0/16"), "the allow the file dropped is still there");
	CHECK(has_ban(&fx, "198.51.100.7", &b2) == 1 && b2.expires_ns == b1.expires_ns,
	      "the static ban's expiry moved: %llu -> %llu", (unsigned long long)b1.expires_ns,
	      (unsigned long long)b2.expires_ns);
	CHECK(has_ban(&fx, "203.0.113.9", &b2) == 1 && !memcmp(&b2, &manual, sizeof(b2)),
	      "the manual ban was touched (origin %u)", b2.origin);
	fx_close(&fx);
}

static uint32_t active_gen(struct fx *fx)
{
	struct eg_config c = { 0 };
	uint32_t zero = 0;

	bpf_map_lookup_elem(fx->m.config, &zero, &c);
	return c.active_gen;
}

/*
 * The last step, putting the record in place, fails (a directory where the
 * record goes): the table, names and lists written before are all undone.
 */
static void failure_after_writing_undoes_everything(void)
{
	struct eg_policy_name names_before[EG_MAX_POLICIES], names_after[EG_MAX_POLICIES];
	struct eg_apply_report rep;
	struct eg_err e = { 0 };
	char path[256];
	struct eg_ban b;
	uint32_t gen;
	struct fx fx;

	if (fx_open(&fx))
		return;
	CHECK(load(&fx, V1, &rep, &e) == 0, "v1: %s", e.msg);
	gen = active_gen(&fx);
	for (uint32_t s = 0; s < EG_MAX_POLICIES; s++)
		bpf_map_lookup_elem(fx.m.policy_names, &s, &names_before[s]);
	snprintf(path, sizeof(path), "%s/%s", run_dir, EG_POLICY_RECORD_NAME);
	unlink(path);
	CHECK(mkdir(path, 0700) == 0, "mkdir %s", path);
	snprintf(path, sizeof(path), "%s/%s/x", run_dir, EG_POLICY_RECORD_NAME);
	fclose(fopen(path, "w"));
	memset(&e, 0, sizeof(e));
	CHECK(load(&fx,
		   "{ \"policies\": [ { \"name\": \"api\", \"port\": 9090 } ],"
		   "  \"allow\": [ \"10.10.0.0/16\" ],"
		   "  \"bans\": [ { \"cidr\": \"192.0.2.99\" } ] }",
		   &rep, &e) == -1,
	      "the load went through");
	CHECK(strstr(e.msg, EG_POLICY_RECORD_NAME) != NULL, "not the record that failed: %s", e.msg);
	CHECK_EQ(active_gen(&fx), gen, "active generation");
	for (uint32_t s = 0; s < EG_MAX_POLICIES; s++)
		bpf_map_lookup_elem(fx.m.policy_names, &s, &names_after[s]);
	CHECK(!memcmp(names_before, names_after, sizeof(names_before)), "policy names changed");
	CHECK(has_ban(&fx, "192.0.2.99", &b) == 0, "the new ban stayed");
	CHECK(!has_allow(&fx, "10.10.0.0/16"), "the new allow stayed");
	CHECK(has_ban(&fx, "198.51.100.0/24", &b) == 1, "the old static ban is gone");
	CHECK(has_allow(&fx, "10.9.0.0/16"), "the old allow is gone");
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", run_dir, EG_POLICY_RECORD_NAME);
	rmdir(path);
	fx_close(&fx);
}

/* The lists must fit the maps as attached, whatever the file's "limits" say. */
static void too_many_bans_change_nothing(void)
{
	struct eg_sizes sz = fx_sizes();
	struct eg_apply_report rep;
	struct eg_err e = { 0 };
	char text[4096];
	size_t n = 0;
	uint32_t gen;
	struct fx fx;

	sz.max_bans = 4;
	if (fx_open_sized(&fx, &sz))
		return;
	CHECK(load(&fx, V1, &rep, &e) == 0, "v1: %s", e.msg);
	gen = active_gen(&fx);
	n += (size_t)snprintf(text + n, sizeof(text) - n,
			      "{ \"limits\": { \"max_bans\": 64 }, \"policies\": [ { \"name\": \"x\", \"port\": 1 } ], \"bans\": [");
	for (int i = 1; i <= 8; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s{ \"cidr\": \"192.0.2.%d\" }",
				      i > 1 ? "," : "", i);
	snprintf(text + n, sizeof(text) - n, "] }");
	memset(&e, 0, sizeof(e));
	CHECK(load(&fx, text, &rep, &e) == -1, "8 bans loaded into a map of 4");
	CHECK(e.code == ENOSPC && strstr(e.msg, "attached maps hold 4"), "error: %s", e.msg);
	CHECK_EQ(active_gen(&fx), gen, "active generation");
	CHECK_EQ(eg_map_count(fx.m.ban_exact), 1, "exact bans");
	fx_close(&fx);
}

int main(void)
{
	CHECK(mkdtemp(run_dir) != NULL, "mkdtemp");
	setenv("EDGEGUARD_RUN_DIR", run_dir, 1);
	setenv("EDGEGUARD_BPF_DIR", "/sys/fs/bpf/eg-test-apply-none", 1); /* no pins: no lock */
	RUN(plan_keeps_slots_by_name);
	RUN(plan_retakes_a_dropped_slot_last);
	RUN(reload_reconciles_by_origin);
	RUN(failure_after_writing_undoes_everything);
	RUN(too_many_bans_change_nothing);
	{
		char p[300];

		snprintf(p, sizeof(p), "%s/%s", run_dir, EG_POLICY_RECORD_NAME);
		unlink(p);
		rmdir(run_dir);
	}
	return tl_exit_code();
}
