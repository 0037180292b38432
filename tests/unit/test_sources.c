// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Sources without state and cached list verdicts (issue 12):
 *
 *  - the list generation: every list insert moves it (the library, policy
 *    files, restored state, the datapath's escalations); a source cached
 *    clean sees a new ban or allow at its next packet; an auto-ban clears the
 *    source's entries in every policy slot; IPv6 sources stop caching while a
 *    list entry is longer than ipv6_prefix;
 *  - the first-seen memory: a first packet makes no state, a repeat within
 *    the window makes it (charged with the remembered packet, if that was for
 *    the same policy), records age
 *    out, a source that fell out of the tracked filter finds its state again,
 *    a spoofed flood 16 times the table's size leaves every tracked source's
 *    state alone, and never-seen sources are not taken for seen ones;
 *  - SYN flood mode: first SYNs dropped and remembered, retransmissions
 *    admitted, verified sources untouched, the mode ends after its hold.
 */
#include <unistd.h>
#include "datapath_fixture.h"
#include "apply.h"
#include "bulk.h"
#include "persist.h"
#include "sources.h"
#include "baselines.skel.h"

#ifndef TC_ACT_OK
#define TC_ACT_OK 0
#endif
#define TH_PSH 0x08

#define SRC "198.51.100.7"
#define SRC2 "198.51.100.8"
#define SYN_TO(a_, p_) SPEC(.src = (a_), .dport = (p_), .sport = 40000, .tcp_flags = TH_SYN)
#define ACK_TO(a_, p_) SPEC(.src = (a_), .dport = (p_), .sport = 40000, .tcp_flags = TH_ACK)

static struct eg_policy_table table(void)
{
	struct eg_policy_table t;

	eg_policy_table_init(&t);
	return t;
}

static struct eg_source_key skey(const char *addr, uint32_t slot)
{
	struct eg_source_key k;

	memset(&k, 0, sizeof(k));
	k.addr = fx_addr(addr);
	k.policy = slot;
	return k;
}

static bool state_of(struct fx *f, const char *addr, uint32_t slot, struct eg_source *out)
{
	struct eg_source_key k = skey(addr, slot);
	struct eg_source tmp;

	return bpf_map_lookup_elem(f->m.sources, &k, out ? out : &tmp) == 0;
}

static int nsources(struct fx *f)
{
	return fx_map_count(f->m.sources, sizeof(struct eg_source_key));
}

/* A tcp/80 rule (slot 1) from spec, installed. */
static unsigned int rule80(struct fx *f, const struct eg_policy_spec *spec)
{
	struct eg_policy_table t = table();
	unsigned int slot = fx_rule(&t, EG_L4_TCP, 80, 80, spec);

	fx_install(f, &t);
	return slot;
}

/* ---------------------------------------------------------- list generation */

FX_CASE(gen_moves_on_every_list_insert)
{
	struct eg_lpm_key host = fx_key("203.0.113.1"), net = fx_key("203.0.113.0/24");
	struct eg_lpm_key allow = fx_key("192.0.2.0/24"), autob = fx_key("2001:db8:1::/64");
	uint32_t g = eg_lists_gen(&f->m);

	CHECK(g != 0, "a loaded datapath caches (generation %u)", g);
	CHECK(eg_allow_add(&f->m, &allow, &f->err) == 0, "allow: %s", f->err.msg);
	CHECK_EQ(eg_lists_gen(&f->m), g + 1, "after an allow");
	CHECK(eg_ban_add(&f->m, &host, 0, EG_ORIGIN_MANUAL, "x", &f->err) == 0, "ban: %s",
	      f->err.msg);
	CHECK_EQ(eg_lists_gen(&f->m), g + 2, "after an exact ban");
	CHECK(eg_ban_add(&f->m, &net, 60, EG_ORIGIN_MANUAL, NULL, &f->err) == 0, "ban: %s",
	      f->err.msg);
	CHECK_EQ(eg_lists_gen(&f->m), g + 3, "after a CIDR ban");
	CHECK(eg_ban_add(&f->m, &autob, 60, EG_ORIGIN_AUTO, NULL, &f->err) == 0, "ban: %s",
	      f->err.msg);
	CHECK_EQ(eg_lists_gen(&f->m), g + 4, "after an auto-ban from user space");
	/* Re-banning replaces the ban (it may have expired): that is an insert too. */
	CHECK(eg_ban_add(&f->m, &host, 5, EG_ORIGIN_MANUAL, NULL, &f->err) == 0, "ban: %s",
	      f->err.msg);
	CHECK_EQ(eg_lists_gen(&f->m), g + 5, "after a re-ban");
	/* A removal can only make a source cleaner: cached verdicts stay right. */
	CHECK(eg_ban_del(&f->m, &host, &f->err) == 0, "unban: %s", f->err.msg);
	CHECK_EQ(eg_lists_gen(&f->m), g + 5, "after an unban");
}

FX_CASE(gen_moves_on_policy_files_and_restore)
{
	const char *json = "{ \"allow\": [\"10.0.0.0/8\"],"
			   "  \"bans\": [ { \"cidr\": \"198.18.0.0/15\" }, { \"cidr\": \"192.0.2.9\" } ] }";
	char run_dir[] = "/tmp/eg-test-sources.XXXXXX", record[300];
	struct eg_apply_report rep;
	struct eg_policy_file pf;
	struct eg_state st;
	struct eg_lpm_key k = fx_key("203.0.113.50");
	uint32_t g;

	CHECK(eg_policy_file_parse(json, strlen(json), "t.json", &pf, &f->err) == 0, "parse: %s",
	      f->err.msg);
	g = eg_lists_gen(&f->m);
	CHECK(mkdtemp(run_dir) != NULL, "mkdtemp");
	setenv("EDGEGUARD_RUN_DIR", run_dir, 1); /* the record of the policy in force goes there */
	setenv("EDGEGUARD_BPF_DIR", "/sys/fs/bpf/eg-test-sources-none", 1); /* no pins: no lock */
	CHECK(eg_apply_policy_file(&f->m, &pf, &(struct eg_apply_opts){ .origin = EG_POLICY_BY_LOAD },
				   &rep, &f->err) == 0,
	      "apply: %s", f->err.msg);
	snprintf(record, sizeof(record), "%s/%s", run_dir, EG_POLICY_RECORD_NAME);
	unlink(record);
	rmdir(run_dir);
	CHECK(eg_lists_gen(&f->m) >= g + 3, "policy file: generation %u -> %u for 3 inserts", g,
	      eg_lists_gen(&f->m));
	eg_policy_file_free(&pf);

	memset(&st, 0, sizeof(st));
	CHECK(eg_state_add_allow(&st, &k, &f->err) == 0, "state: %s", f->err.msg);
	g = eg_lists_gen(&f->m);
	CHECK(eg_state_restore(&f->m, &st, 0, EG_RESTORE_ALL, NULL, NULL, NULL) == 0,
	      "restore: an entry failed");
	CHECK(eg_lists_gen(&f->m) > g, "restore: generation %u -> %u", g, eg_lists_gen(&f->m));
	eg_state_free(&st);
}

/* Two packets: the first is remembered, the second makes the state; a third uses the cache. */
static void make_known(struct fx *f, const char *src, uint16_t port)
{
	expect_n(f, SYN_TO(src, port), 3, XDP_PASS, EG_R_PASSED);
}

FX_CASE(cached_source_skips_lists_until_they_change)
{
	struct eg_policy_spec web = { .syn = fx_rate(100, 100) };
	struct eg_lpm_key k = fx_key(SRC);
	struct eg_ban ban = { .prefixlen = k.prefixlen, .origin = EG_ORIGIN_MANUAL };
	struct eg_source s;

	rule80(f, &web);
	make_known(f, SRC, 80);
	CHECK(state_of(f, SRC, 1, &s), "no state after three packets");
	CHECK_EQ(s.gen, eg_lists_gen(&f->m), "state cached in the current generation");
	/*
	 * A ban written past the library, its list marked in use but the
	 * generation not moved: the cached verdict still vouches for the source.
	 */
	CHECK(bpf_map_update_elem(f->m.ban_exact, &k.addr, &ban, BPF_ANY) == 0, "raw ban");
	{
		uint32_t list = EG_LIST_BAN_EXACT, in_use = 0;

		CHECK(bpf_map_update_elem(f->m.list_empty, &list, &in_use, BPF_ANY) == 0, "mark");
	}
	expect_frame(f, SYN_TO(SRC, 80), XDP_PASS, EG_R_PASSED);
	/* The move every insert makes: the very next packet sees the ban. */
	eg_lists_bump(&f->m);
	expect_frame(f, SYN_TO(SRC, 80), XDP_DROP, EG_R_BANNED);
	/* Removed: clean again, and cached again. */
	CHECK(eg_ban_del(&f->m, &k, &f->err) == 0, "unban: %s", f->err.msg);
	expect_n(f, SYN_TO(SRC, 80), 2, XDP_PASS, EG_R_PASSED);
	CHECK(state_of(f, SRC, 1, &s) && s.gen == eg_lists_gen(&f->m), "cached again");
}

FX_CASE(cached_source_sees_bans_and_allows_at_once)
{
	struct eg_policy_spec web = { .syn = fx_rate(100, 100) };

	rule80(f, &web);
	make_known(f, SRC, 80);
	fx_ban(f, "198.51.100.0/24", 0);
	expect_frame(f, SYN_TO(SRC, 80), XDP_DROP, EG_R_BANNED_CIDR);
	fx_allow(f, SRC);
	expect_frame(f, SYN_TO(SRC, 80), XDP_PASS, EG_R_ALLOWLISTED);
	/* An expiring ban needs no move: the lists are looked at while it is not cached clean. */
	make_known(f, "203.0.113.8", 80);
	fx_ban(f, "203.0.113.8", 10);
	expect_frame(f, SYN_TO("203.0.113.8", 80), XDP_DROP, EG_R_BANNED);
	fx_advance(f, 11 * NS_PER_SEC);
	expect_n(f, SYN_TO("203.0.113.8", 80), 2, XDP_PASS, EG_R_PASSED);
}

FX_CASE(autoban_clears_the_cache_in_every_policy)
{
	struct eg_policy_table t = table();
	struct eg_policy_spec strict = { .syn = fx_rate(1, 1), .ban_after = 2, .ban_window_s = 10,
					 .ban_ttl_s = 60 };
	struct eg_policy_spec loose = { .syn = fx_rate(100, 100) };

	fx_rule(&t, EG_L4_TCP, 80, 80, &strict);
	fx_rule(&t, EG_L4_TCP, 443, 443, &loose);
	fx_install(f, &t);
	make_known(f, SRC, 443); /* cached clean under slot 2 */
	expect_frame(f, SYN_TO(SRC, 80), XDP_PASS, EG_R_PASSED);
	expect_frame(f, SYN_TO(SRC, 80), XDP_DROP, EG_R_SYN_RATE);
	expect_frame(f, SYN_TO(SRC, 80), XDP_DROP, EG_R_SYN_RATE); /* second drop: banned */
	CHECK_EQ(fx_counter(f, EG_R_AUTOBAN), 1, "autoban");
	expect_frame(f, SYN_TO(SRC, 443), XDP_DROP, EG_R_AUTOBANNED);
	expect_frame(f, SYN_TO(SRC, 80), XDP_DROP, EG_R_AUTOBANNED);
	/* Another source's cache is untouched by that auto-ban. */
	make_known(f, SRC2, 443);
	expect_frame(f, SYN_TO(SRC2, 443), XDP_PASS, EG_R_PASSED);
}

FX_CASE(escalation_moves_the_generation)
{
	struct eg_policy_table t = table();
	struct eg_policy_spec strict = { .syn = fx_rate(1, 1), .ban_after = 1, .ban_window_s = 10,
					 .ban_ttl_s = 60 };
	char src[64];
	uint32_t g;

	t.v6_autoban_floor = 56;
	t.escalate_after = 2;
	fx_rule(&t, EG_L4_TCP, 80, 80, &strict);
	fx_install(f, &t);
	make_known(f, "2001:db8:0:ff::1", 443); /* default policy, inside the /56, cached */
	g = eg_lists_gen(&f->m);
	for (int i = 1; i <= 2; i++) {
		snprintf(src, sizeof(src), "2001:db8:0:%x::1", i);
		/* burst 1: the second SYN (charged with the first) drops, and bans. */
		expect_frame(f, SYN_TO(src, 80), XDP_PASS, EG_R_PASSED);
		expect_frame(f, SYN_TO(src, 80), XDP_DROP, EG_R_SYN_RATE);
	}
	CHECK_EQ(fx_counter(f, EG_R_ESCALATED), 1, "escalations");
	CHECK(eg_lists_gen(&f->m) != g, "escalation left the generation at %u", g);
	/* The cached neighbour inside the escalated /56 is dropped at once. */
	expect_frame(f, SYN_TO("2001:db8:0:ff::1", 443), XDP_DROP, EG_R_AUTOBANNED);
}

FX_CASE(ipv6_entries_longer_than_the_aggregate_stop_caching)
{
	struct eg_policy_table t = table();
	struct eg_list_gen lg;
	uint32_t zero = 0;

	t.def.syn = fx_rate(100, 100);
	fx_install(f, &t);
	/* ::2 has state for the whole /64; ::1 in it is banned by a /128. */
	make_known(f, "2001:db8:5::2", 80);
	fx_ban(f, "2001:db8:5::1", 0);
	CHECK(bpf_map_lookup_elem(f->m.list_gen, &zero, &lg) == 0 && lg.v6_deep == 1,
	      "a /128 ban under /64 aggregation is deep");
	expect_frame(f, SYN_TO("2001:db8:5::1", 80), XDP_DROP, EG_R_BANNED);
	expect_frame(f, SYN_TO("2001:db8:5::2", 80), XDP_PASS, EG_R_PASSED);
	expect_frame(f, SYN_TO("2001:db8:5::1", 80), XDP_DROP, EG_R_BANNED);
	/* Aggregating per address makes the same ban shallow again, at the policy load. */
	t.v6_prefix = 128;
	fx_install(f, &t);
	CHECK(bpf_map_lookup_elem(f->m.list_gen, &zero, &lg) == 0 && lg.v6_deep == 0,
	      "no entry is longer than /128");
	make_known(f, "2001:db8:5::2", 80);
	expect_frame(f, SYN_TO("2001:db8:5::1", 80), XDP_DROP, EG_R_BANNED);
	/* And back to /64: deep before the switch, and after it. */
	t.v6_prefix = 64;
	fx_install(f, &t);
	CHECK(bpf_map_lookup_elem(f->m.list_gen, &zero, &lg) == 0 && lg.v6_deep == 1, "deep again");
	expect_frame(f, SYN_TO("2001:db8:5::1", 80), XDP_DROP, EG_R_BANNED);
}

/* A bulk file goes in as one batch: cached sources of both families see it at once. */
FX_CASE(bulk_bans_reach_cached_sources)
{
	struct eg_policy_table t = table();
	struct eg_bulk_item it[3] = { { .reason = "v4" }, { .reason = "v6 /128" },
				      { .reason = "v4 net" } };
	struct eg_bulk_result r;
	struct eg_list_gen lg;
	uint32_t zero = 0;
	size_t n = 3;

	t.def.syn = fx_rate(100, 100);
	fx_install(f, &t);
	make_known(f, "203.0.113.50", 80);
	make_known(f, "2001:db8:6::2", 80);
	expect_frame(f, SYN_TO("2001:db8:6::1", 80), XDP_PASS, EG_R_PASSED);
	it[0].key = fx_key("203.0.113.50");
	it[1].key = fx_key("2001:db8:6::1");
	it[2].key = fx_key("198.51.100.0/24");
	CHECK(eg_bulk_apply(&f->m, EG_BULK_BAN, EG_ORIGIN_IMPORT, it, &n, &r, &f->err) == 0, "%s",
	      f->err.msg);
	CHECK(bpf_map_lookup_elem(f->m.list_gen, &zero, &lg) == 0 && lg.v6_deep == 1,
	      "a bulk /128 ban under /64 aggregation is deep");
	expect_frame(f, SYN_TO("203.0.113.50", 80), XDP_DROP, EG_R_BANNED);
	expect_frame(f, SYN_TO("2001:db8:6::1", 80), XDP_DROP, EG_R_BANNED);
	expect_frame(f, SYN_TO("2001:db8:6::2", 80), XDP_PASS, EG_R_PASSED);
	expect_frame(f, SYN_TO("198.51.100.9", 80), XDP_DROP, EG_R_BANNED_CIDR);
}

/* --------------------------------------------------------- first-seen memory */

FX_CASE(first_packet_makes_no_state)
{
	struct eg_policy_spec web = { .syn = fx_rate(10, 10), .pkt = fx_rate(100, 100) };
	struct eg_source s;

	rule80(f, &web);
	expect_frame(f, SYN_TO(SRC, 80), XDP_PASS, EG_R_PASSED);
	CHECK_EQ(fx_counter(f, EG_R_FIRST_SEEN), 1, "first_seen");
	CHECK_EQ(nsources(f), 0, "eg_sources entries after one packet");
	expect_frame(f, SYN_TO(SRC, 80), XDP_PASS, EG_R_PASSED);
	CHECK_EQ(fx_counter(f, EG_R_PROMOTED), 1, "promoted");
	CHECK(state_of(f, SRC, 1, &s), "no state after the second packet");
	CHECK_EQ(s.packets, 2, "both packets counted");
	CHECK_EQ(s.syns, 2, "both SYNs counted");
	expect_frame(f, ACK_TO(SRC, 80), XDP_PASS, EG_R_PASSED);
	CHECK(state_of(f, SRC, 1, &s) && s.packets == 3 && s.syns == 2, "packets 3, syns 2");
	CHECK_EQ(fx_counter(f, EG_R_FIRST_SEEN), 1, "first_seen once");
	CHECK_EQ(nsources(f), 1, "one entry");
}

FX_CASE(promotion_charges_the_remembered_packet)
{
	struct eg_policy_spec web = { .syn = fx_rate(1, 1) };

	rule80(f, &web);
	/* burst 1: the remembered SYN took the token, exactly as if it had made the state. */
	expect_frame(f, SYN_TO(SRC, 80), XDP_PASS, EG_R_PASSED);
	expect_frame(f, SYN_TO(SRC, 80), XDP_DROP, EG_R_SYN_RATE);
	/* Charged at the time it passed: a second later the bucket has a token again. */
	expect_frame(f, SYN_TO(SRC2, 80), XDP_PASS, EG_R_PASSED);
	fx_advance(f, NS_PER_SEC + 2 * NS_PER_MS);
	expect_frame(f, SYN_TO(SRC2, 80), XDP_PASS, EG_R_PASSED);
	expect_frame(f, SYN_TO(SRC2, 80), XDP_DROP, EG_R_SYN_RATE);
}

FX_CASE(remembered_packet_charged_only_to_its_policy)
{
	struct eg_policy_table t = table();
	struct eg_policy_spec one = { .syn = fx_rate(1, 1) };
	struct eg_source s;

	fx_rule(&t, EG_L4_TCP, 80, 80, &one);
	fx_rule(&t, EG_L4_TCP, 443, 443, &one);
	fx_install(f, &t);
	/* Remembered under port 80's policy; its next packet is for port 443's. */
	expect_frame(f, SYN_TO(SRC, 80), XDP_PASS, EG_R_PASSED);
	expect_frame(f, SYN_TO(SRC, 443), XDP_PASS, EG_R_PASSED);
	CHECK(state_of(f, SRC, 2, &s) && s.syns == 1, "port 443's state holds its own SYN only");
	expect_frame(f, SYN_TO(SRC, 443), XDP_DROP, EG_R_SYN_RATE);
	/* Port 80's remembered SYN waited for port 80's state: burst 1 is spent. */
	expect_frame(f, SYN_TO(SRC, 80), XDP_DROP, EG_R_SYN_RATE);
	CHECK(state_of(f, SRC, 1, &s) && s.syns == 2, "port 80's state holds both its SYNs");
	CHECK_EQ(nsources(f), 2, "one entry per policy");
}

FX_CASE(first_seen_records_age_out)
{
	struct eg_policy_spec web = { .syn = fx_rate(1, 1) };

	rule80(f, &web);
	expect_frame(f, SYN_TO(SRC, 80), XDP_PASS, EG_R_PASSED);
	fx_advance(f, EG_SEEN_WINDOW_NS + NS_PER_SEC);
	/* Older than the window: a first packet again, still no state. */
	expect_frame(f, SYN_TO(SRC, 80), XDP_PASS, EG_R_PASSED);
	CHECK_EQ(fx_counter(f, EG_R_FIRST_SEEN), 2, "first_seen");
	CHECK_EQ(nsources(f), 0, "eg_sources entries");
	/* Within the window: state, charged with the second first packet. */
	fx_advance(f, EG_SEEN_WINDOW_NS - NS_PER_SEC);
	expect_frame(f, SYN_TO(SRC, 80), XDP_PASS, EG_R_PASSED);
	CHECK_EQ(nsources(f), 1, "eg_sources entries");
	expect_frame(f, SYN_TO(SRC, 80), XDP_DROP, EG_R_SYN_RATE);
}

/*
 * What a silence of two tracked-filter epochs does in a busy filter: another
 * source's set recycles the half that held this one's bits. A test cannot aim
 * at a block (the hash has a secret seed), so it empties them all.
 */
static void forget_tracked(struct fx *f)
{
	struct eg_tracked_block zero;

	memset(&zero, 0, sizeof(zero));
	for (uint32_t i = 0; i < eg_map_capacity(f->m.tracked); i++)
		CHECK(bpf_map_update_elem(f->m.tracked, &i, &zero, BPF_ANY) == 0, "clear block %u", i);
}

FX_CASE(silent_source_finds_its_state_again)
{
	struct eg_policy_spec web = { .syn = fx_rate(1, 3) };
	struct eg_source s;

	rule80(f, &web);
	expect_n(f, SYN_TO(SRC, 80), 3, XDP_PASS, EG_R_PASSED);
	expect_frame(f, SYN_TO(SRC, 80), XDP_DROP, EG_R_SYN_RATE);
	/*
	 * Silent for longer than the first-seen window (so longer than two
	 * tracked-filter epochs): out of the filter, its record gone.
	 */
	fx_advance(f, EG_SEEN_WINDOW_NS + NS_PER_SEC);
	forget_tracked(f);
	expect_frame(f, SYN_TO(SRC, 80), XDP_PASS, EG_R_PASSED);
	CHECK_EQ(fx_counter(f, EG_R_FIRST_SEEN), 2, "passed as a first packet");
	CHECK(state_of(f, SRC, 1, &s) && s.packets == 4, "state kept, %u packets", s.packets);
	/* Its next packet finds the state, charged with the one that passed. */
	expect_frame(f, SYN_TO(SRC, 80), XDP_PASS, EG_R_PASSED);
	CHECK(state_of(f, SRC, 1, &s) && s.packets == 6, "both charged, %u packets", s.packets);
	CHECK_EQ(fx_counter(f, EG_R_PROMOTED), 1, "no second entry made");
	/* Exactly the bucket's burst after the silence: 3 SYNs, then a drop. */
	expect_frame(f, SYN_TO(SRC, 80), XDP_PASS, EG_R_PASSED);
	expect_frame(f, SYN_TO(SRC, 80), XDP_DROP, EG_R_SYN_RATE);
	/* Within the window the record is live: no uncharged packet, even out of the filter. */
	fx_advance(f, 3ULL << EG_TRACKED_EPOCH_SHIFT);
	forget_tracked(f);
	expect_n(f, SYN_TO(SRC, 80), 3, XDP_PASS, EG_R_PASSED);
	expect_frame(f, SYN_TO(SRC, 80), XDP_DROP, EG_R_SYN_RATE);
	CHECK_EQ(fx_counter(f, EG_R_FIRST_SEEN), 2, "no first packet this time");
}

/* A flood of n one-packet sources base + i, through the benchmark's source-rewriting wrapper. */
static void spoof(struct fx *f, struct baselines_bpf *b, uint32_t base, uint32_t n,
		  uint16_t port, uint32_t *retval)
{
	uint8_t buf[FRAME_MAX];
	size_t len = fx_build(SYN_TO("10.0.0.1", port), buf);
	int egfd = f->prog_fd;
	uint32_t zero = 0;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = buf, .data_size_in = (uint32_t)len,
		    .repeat = n);

	CHECK(bpf_map_update_elem(bpf_map__fd(b->maps.bench_next), &zero, &egfd, BPF_ANY) == 0,
	      "bench_next: %s", strerror(errno));
	b->bss->bench_seq = 0;
	b->bss->bench_src_base = base;
	b->bss->bench_src_mask = 0xffffffu;
	CHECK(bpf_prog_test_run_opts(bpf_program__fd(b->progs.rotate_src), &o) == 0,
	      "flood: %s", strerror(errno));
	*retval = o.retval;
	bpf_map_delete_elem(bpf_map__fd(b->maps.bench_next), &zero);
}

static void sstate(uint32_t i, struct eg_source *v)
{
	memset(v, 0, sizeof(*v));
	v->syn_tat = 7 + i;
	v->pkt_tat = 9 + i;
	v->packets = 100 + i;
}

FX_CASE(spoofed_flood_leaves_tracked_sources_alone)
{
	struct eg_sizes sz = fx_sizes();
	struct eg_policy_spec web = { .syn = fx_rate(1000000, 1000000) };
	struct baselines_bpf *b;
	struct eg_source_key keys[FX_MAX_SOURCES];
	struct eg_source vals[FX_MAX_SOURCES], got;
	const uint32_t flood = 16 * FX_MAX_SOURCES;
	uint32_t n = FX_MAX_SOURCES, ret = 0, intact = 0;

	sz.first_seen = 1024; /* a small memory, so the flood displaces records all along */
	if (fx_reopen(f, &sz))
		return;
	rule80(f, &web);
	for (uint32_t i = 0; i < n; i++) {
		char a[32];

		snprintf(a, sizeof(a), "10.%u.%u.%u", 200 + (i >> 16), (i >> 8) & 255, i & 255);
		keys[i] = skey(a, 1);
		sstate(i, &vals[i]);
	}
	CHECK(bpf_map_update_batch(f->m.sources, keys, vals, &n, NULL) == 0, "fill: %s",
	      strerror(errno));
	CHECK(eg_sources_track(&f->m, keys, n, fx_now(f), &f->err) == 0, "track: %s", f->err.msg);
	b = baselines_bpf__open_and_load();
	CHECK(b != NULL, "baselines: %s", strerror(errno));
	if (!b)
		return;
	spoof(f, b, 0x0c000000u, flood, 80, &ret);
	CHECK_EQ(ret, XDP_PASS, "verdict of the flood");
	CHECK_EQ(fx_counter(f, EG_R_FIRST_SEEN), flood, "first_seen");
	CHECK_EQ(fx_counter(f, EG_R_PROMOTED), 0, "spoofed sources given state");
	CHECK_EQ(nsources(f), (int)n, "eg_sources entries");
	for (uint32_t i = 0; i < n; i++)
		if (!bpf_map_lookup_elem(f->m.sources, &keys[i], &got) &&
		    !memcmp(&got, &vals[i], sizeof(got)))
			intact++;
	CHECK_EQ(intact, n, "tracked sources with their state unchanged");
	baselines_bpf__destroy(b);
}

FX_CASE(never_seen_sources_are_not_taken_for_seen_ones)
{
	struct eg_sizes sz = fx_sizes();
	struct eg_policy_spec web = { .syn = fx_rate(1000000, 1000000) };
	struct baselines_bpf *b;
	const uint32_t flood = 1U << 20;
	uint32_t ret = 0;
	uint64_t promoted;

	/*
	 * 64 records against a million distinct sources: every lookup scans
	 * full buckets. A never-seen source is taken for a seen one only if a
	 * 30-bit fingerprint in its bucket matches: expected 8 * 2^-30 per
	 * packet, 0.008 over the whole flood; allow 2.
	 */
	sz.first_seen = 64;
	if (fx_reopen(f, &sz))
		return;
	rule80(f, &web);
	b = baselines_bpf__open_and_load();
	CHECK(b != NULL, "baselines: %s", strerror(errno));
	if (!b)
		return;
	spoof(f, b, 0x0c000000u, flood, 80, &ret);
	promoted = fx_counter(f, EG_R_PROMOTED);
	CHECK(promoted <= 2, "%llu never-seen sources made state", (unsigned long long)promoted);
	CHECK_EQ(fx_counter(f, EG_R_FIRST_SEEN) + promoted, flood, "first_seen");
	/* Saturation shows as forgetting, never as false "seen": a real repeat is a first again. */
	expect_frame(f, SYN_TO(SRC, 80), XDP_PASS, EG_R_PASSED);
	spoof(f, b, 0x0d000000u, 4096, 80, &ret);
	expect_frame(f, SYN_TO(SRC, 80), XDP_PASS, EG_R_PASSED);
	CHECK(!state_of(f, SRC, 1, NULL), "a displaced record made state");
	baselines_bpf__destroy(b);
}

/* -------------------------------------------------------------- SYN flood mode */

static struct eg_policy_spec guarded(void)
{
	return (struct eg_policy_spec){ .syn = fx_rate(100, 100), .syn_retry_above = 3 };
}

/* Four new sources' SYNs exceed syn_retry_above 3: the fourth starts the mode (and is dropped). */
static void start_flood(struct fx *f)
{
	char a[32];

	for (int i = 1; i <= 3; i++) {
		snprintf(a, sizeof(a), "203.0.113.%d", i);
		expect_frame(f, SYN_TO(a, 80), XDP_PASS, EG_R_PASSED);
	}
	expect_frame(f, SYN_TO("203.0.113.4", 80), XDP_DROP, EG_R_SYN_RETRY);
	CHECK_EQ(fx_counter(f, EG_R_SYN_FLOOD), 1, "syn_flood");
}

FX_CASE(syn_flood_mode_admits_the_retransmission)
{
	struct eg_policy_spec g = guarded();
	unsigned int slot = rule80(f, &g);

	start_flood(f);
	expect_frame(f, SYN_TO(SRC, 80), XDP_DROP, EG_R_SYN_RETRY);
	/* A repeat right away is no retransmission: dropped, and the first time kept. */
	fx_advance(f, 100 * NS_PER_MS);
	expect_frame(f, SYN_TO(SRC, 80), XDP_DROP, EG_R_SYN_RETRY);
	/* The real stack's retransmission, a second after the first SYN. */
	fx_advance(f, 900 * NS_PER_MS);
	expect_frame(f, SYN_TO(SRC, 80), XDP_PASS, EG_R_PASSED);
	CHECK(state_of(f, SRC, slot, NULL), "the admitted source has state");
	/* From then on it is a source with state: its next SYNs pass at once. */
	expect_frame(f, ACK_TO(SRC, 80), XDP_PASS, EG_R_PASSED);
	expect_frame(f, SYN_TO(SRC, 80), XDP_PASS, EG_R_PASSED);
	CHECK_EQ(fx_pc(f, slot).c[EG_PC_RETRY_DROP], 3, "per-policy retry drops");
	/* Non-SYN packets of new sources are not held back. */
	expect_frame(f, ACK_TO(SRC2, 80), XDP_PASS, EG_R_PASSED);
}

FX_CASE(syn_flood_mode_ends_after_its_hold)
{
	struct eg_policy_spec g = guarded();

	rule80(f, &g);
	start_flood(f);
	fx_advance(f, EG_SYN_FLOOD_HOLD_NS + NS_PER_SEC);
	expect_frame(f, SYN_TO(SRC, 80), XDP_PASS, EG_R_PASSED);
}

FX_CASE(syn_flood_mode_dry_run_passes)
{
	struct eg_policy_spec dry = guarded();
	unsigned int slot;
	char a[32];

	dry.mode = EG_MODE_DRY_RUN;
	slot = rule80(f, &dry);
	for (int i = 1; i <= 3; i++) {
		snprintf(a, sizeof(a), "203.0.113.%d", i);
		expect_frame(f, SYN_TO(a, 80), XDP_PASS, EG_R_PASSED);
	}
	expect_frame(f, SYN_TO(SRC, 80), XDP_PASS, EG_R_DRY_RUN_WOULD_DROP);
	CHECK_EQ(fx_pc(f, slot).c[EG_PC_WOULD_DROP], 1, "would_drop");
}

/* The server's SYN-ACK and data on the client's flow: the client becomes verified. */
static void verify(struct fx *f, const char *client)
{
	int tc = bpf_program__fd(f->skel->progs.edgeguard_tc_egress);
	struct frame_spec sa = { .src = "192.0.2.1", .dst = client, .sport = 80, .dport = 40000,
				 .tcp_flags = TH_SYN | TH_ACK };
	struct frame_spec data = sa;
	uint8_t buf[FRAME_MAX];
	size_t len;

	data.tcp_flags = TH_ACK | TH_PSH;
	data.payload = 100;
	len = fx_build(&sa, buf);
	{
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = buf, .data_size_in = (uint32_t)len,
			    .repeat = 1);
		CHECK(bpf_prog_test_run_opts(tc, &o) == 0 && o.retval == TC_ACT_OK, "SYN-ACK");
	}
	len = fx_build(&data, buf);
	{
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = buf, .data_size_in = (uint32_t)len,
			    .repeat = 1);
		CHECK(bpf_prog_test_run_opts(tc, &o) == 0 && o.retval == TC_ACT_OK, "data");
	}
}

FX_CASE(syn_flood_mode_spares_verified_sources)
{
	struct eg_sizes sz = fx_sizes();
	struct eg_source_key k = skey(SRC, 1);
	struct eg_policy_spec g = guarded();
	struct eg_verified v;

	sz.max_flows = 64;
	sz.max_verified = 64;
	if (fx_reopen(f, &sz))
		return;
	rule80(f, &g);
	expect_frame(f, SYN_TO(SRC, 80), XDP_PASS, EG_R_PASSED);
	verify(f, SRC);
	CHECK(bpf_map_lookup_elem(f->m.verified, &k, &v) == 0, "not verified");
	/*
	 * Silent long enough to fall out of the tracked filter and the
	 * first-seen memory, then a flood starts: its SYNs still pass, on its
	 * verified state.
	 */
	fx_advance(f, EG_SEEN_WINDOW_NS + NS_PER_SEC);
	forget_tracked(f);
	start_flood(f);
	expect_frame(f, SYN_TO(SRC, 80), XDP_PASS, EG_R_PASSED);
	expect_frame(f, SYN_TO(SRC, 80), XDP_PASS, EG_R_PASSED);
	CHECK_EQ(fx_counter(f, EG_R_SYN_RETRY), 1, "syn_retry (the flood's only)");
	CHECK(bpf_map_lookup_elem(f->m.verified, &k, &v) == 0 && v.state.syns >= 2,
	      "SYNs charged to the verified state (%u)", v.state.syns);
}

int main(void)
{
	RUN(gen_moves_on_every_list_insert);
	RUN(gen_moves_on_policy_files_and_restore);
	RUN(cached_source_skips_lists_until_they_change);
	RUN(cached_source_sees_bans_and_allows_at_once);
	RUN(autoban_clears_the_cache_in_every_policy);
	RUN(escalation_moves_the_generation);
	RUN(ipv6_entries_longer_than_the_aggregate_stop_caching);
	RUN(bulk_bans_reach_cached_sources);
	RUN(first_packet_makes_no_state);
	RUN(promotion_charges_the_remembered_packet);
	RUN(remembered_packet_charged_only_to_its_policy);
	RUN(first_seen_records_age_out);
	RUN(silent_source_finds_its_state_again);
	RUN(spoofed_flood_leaves_tracked_sources_alone);
	RUN(never_seen_sources_are_not_taken_for_seen_ones);
	RUN(syn_flood_mode_admits_the_retransmission);
	RUN(syn_flood_mode_ends_after_its_hold);
	RUN(syn_flood_mode_dry_run_passes);
	RUN(syn_flood_mode_spares_verified_sources);
	return tl_exit_code();
}
