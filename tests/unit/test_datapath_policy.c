// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Datapath policy tests: GCRA token buckets to the packet, per-port policy
 * selection, IPv6 source aggregation, auto-ban with its event, dry-run,
 * policy hot swap and per-policy counters. Time moves only through the
 * clock offset, so the bucket arithmetic is exact.
 */
#include "datapath_fixture.h"

#define SRC4 "192.0.2.10"

static struct eg_policy_table table(void)
{
	struct eg_policy_table t;

	eg_policy_table_init(&t);
	return t;
}

#define SYN_TO(src_, port_) SPEC(.src = src_, .dport = port_, .tcp_flags = TH_SYN)
#define UDP_TO(src_, port_) SPEC(.src = src_, .dport = port_, .l4 = IPPROTO_UDP)

/* Burst, then refill by 200 ms (one token at 5/s) and by 1 s (five tokens). */
static void check_bucket_exact(struct fx *f, const struct frame_spec *s, unsigned int reason)
{
	CHECK_EQ(expect_n(f, s, 20, XDP_PASS, EG_R_PASSED), 20, "burst passed");
	expect_frame(f, s, XDP_DROP, reason);
	expect_frame(f, s, XDP_DROP, reason);
	fx_advance(f, 200 * NS_PER_MS);
	expect_frame(f, s, XDP_PASS, EG_R_PASSED);
	expect_frame(f, s, XDP_DROP, reason);
	fx_advance(f, NS_PER_SEC);
	CHECK_EQ(expect_n(f, s, 5, XDP_PASS, EG_R_PASSED), 5, "refill after 1 s passed");
	expect_frame(f, s, XDP_DROP, reason);
}

FX_CASE(syn_bucket_exact)
{
	struct eg_policy_table t = table();

	t.def.syn = fx_rate(5, 20);
	fx_install(f, &t);
	check_bucket_exact(f, SYN_TO(SRC4, 80), EG_R_SYN_RATE);
	CHECK_EQ(fx_counter(f, EG_R_SYN_SEEN), 30, "syn_seen");
}

FX_CASE(pkt_bucket_exact)
{
	struct eg_policy_table t = table();

	t.def.pkt = fx_rate(5, 20);
	fx_install(f, &t);
	check_bucket_exact(f, UDP_TO(SRC4, 53), EG_R_PKT_RATE);
}

FX_CASE(pkt_bucket_exact_ipv6)
{
	struct eg_policy_table t = table();

	t.def.pkt = fx_rate(5, 20);
	fx_install(f, &t);
	check_bucket_exact(f, SPEC(.src = "2001:db8::1", .dport = 443, .tcp_flags = TH_ACK),
			   EG_R_PKT_RATE);
}

FX_CASE(syn_bucket_ignores_synack_and_ack)
{
	struct eg_policy_table t = table();

	t.def.syn = fx_rate(1, 1);
	fx_install(f, &t);
	expect_frame(f, SYN_TO(SRC4, 80), XDP_PASS, EG_R_PASSED);
	expect_frame(f, SYN_TO(SRC4, 80), XDP_DROP, EG_R_SYN_RATE);
	expect_n(f, SPEC(.src = SRC4, .dport = 80, .tcp_flags = TH_SYN | TH_ACK), 10, XDP_PASS,
		 EG_R_PASSED);
	expect_n(f, SPEC(.src = SRC4, .dport = 80, .tcp_flags = TH_ACK), 10, XDP_PASS,
		 EG_R_PASSED);
	expect_n(f, UDP_TO(SRC4, 80), 3, XDP_PASS, EG_R_PASSED);
	expect_frame(f, SYN_TO(SRC4, 80), XDP_DROP, EG_R_SYN_RATE);
	CHECK_EQ(fx_counter(f, EG_R_SYN_SEEN), 3, "syn_seen");
}

FX_CASE(dropped_packets_consume_no_tokens)
{
	struct eg_policy_table t = table();

	/* One token per 200 ms, no burst: drops in between must not push it back. */
	t.def.syn = fx_rate(5, 1);
	fx_install(f, &t);
	expect_frame(f, SYN_TO(SRC4, 80), XDP_PASS, EG_R_PASSED);
	expect_n(f, SYN_TO(SRC4, 80), 10, XDP_DROP, EG_R_SYN_RATE);
	fx_advance(f, 200 * NS_PER_MS);
	expect_frame(f, SYN_TO(SRC4, 80), XDP_PASS, EG_R_PASSED);
}

FX_CASE(syn_drop_charges_no_packet_token)
{
	struct eg_policy_table t = table();

	t.def.syn = fx_rate(1, 1);
	t.def.pkt = fx_rate(1, 3);
	fx_install(f, &t);
	expect_frame(f, SYN_TO(SRC4, 80), XDP_PASS, EG_R_PASSED);
	expect_n(f, SYN_TO(SRC4, 80), 5, XDP_DROP, EG_R_SYN_RATE);
	/* Two packet tokens are left, whatever the SYN drops did. */
	expect_n(f, SPEC(.src = SRC4, .dport = 80, .tcp_flags = TH_ACK), 2, XDP_PASS,
		 EG_R_PASSED);
	expect_frame(f, SPEC(.src = SRC4, .dport = 80, .tcp_flags = TH_ACK), XDP_DROP,
		     EG_R_PKT_RATE);
}

FX_CASE(pkt_drop_charges_no_syn_token)
{
	struct eg_policy_table t = table();

	t.def.syn = fx_rate(1, 1);
	t.def.pkt = fx_rate(1, 1);
	fx_install(f, &t);
	expect_frame(f, SPEC(.src = SRC4, .dport = 80, .tcp_flags = TH_ACK), XDP_PASS,
		     EG_R_PASSED);
	/* The SYN token is there, the packet token is not: a charged SYN token would
	 * make the second SYN a syn_rate drop. */
	expect_n(f, SYN_TO(SRC4, 80), 3, XDP_DROP, EG_R_PKT_RATE);
	fx_advance(f, NS_PER_SEC);
	expect_frame(f, SYN_TO(SRC4, 80), XDP_PASS, EG_R_PASSED);
}

FX_CASE(port_policy_selection)
{
	struct eg_policy_table t = table();
	struct eg_policy_spec limited = { .syn = fx_rate(1, 1), .pkt = fx_rate(1, 1) };

	fx_rule(&t, EG_L4_TCP, 4001, 4001, &limited);
	fx_rule(&t, EG_L4_UDP, 5353, 5353, &limited);
	fx_install(f, &t);
	expect_frame(f, SYN_TO(SRC4, 4001), XDP_PASS, EG_R_PASSED);
	expect_frame(f, SYN_TO(SRC4, 4001), XDP_DROP, EG_R_SYN_RATE);
	/* Default policy (unlimited) on every other port and on UDP 4001. */
	expect_n(f, SYN_TO(SRC4, 4000), 5, XDP_PASS, EG_R_PASSED);
	expect_n(f, SYN_TO(SRC4, 4002), 5, XDP_PASS, EG_R_PASSED);
	expect_n(f, UDP_TO(SRC4, 4001), 5, XDP_PASS, EG_R_PASSED);
	/* The UDP rule leaves TCP on the same port alone. */
	expect_frame(f, UDP_TO(SRC4, 5353), XDP_PASS, EG_R_PASSED);
	expect_frame(f, UDP_TO(SRC4, 5353), XDP_DROP, EG_R_PKT_RATE);
	expect_n(f, SYN_TO(SRC4, 5353), 5, XDP_PASS, EG_R_PASSED);
}

FX_CASE(port_ranges)
{
	struct eg_policy_table t = table();
	struct eg_policy_spec limited = { .pkt = fx_rate(1, 1) };

	fx_rule(&t, EG_L4_TCP, 5000, 5010, &limited);
	fx_install(f, &t);
	/* One policy, one bucket per source across the whole range. */
	expect_frame(f, SYN_TO(SRC4, 5000), XDP_PASS, EG_R_PASSED);
	expect_frame(f, SYN_TO(SRC4, 5005), XDP_DROP, EG_R_PKT_RATE);
	expect_frame(f, SYN_TO(SRC4, 5010), XDP_DROP, EG_R_PKT_RATE);
	expect_frame(f, SYN_TO("192.0.2.11", 5010), XDP_PASS, EG_R_PASSED);
	expect_frame(f, SYN_TO("192.0.2.11", 5010), XDP_DROP, EG_R_PKT_RATE);
	expect_n(f, SYN_TO(SRC4, 4999), 3, XDP_PASS, EG_R_PASSED);
	expect_n(f, SYN_TO(SRC4, 5011), 3, XDP_PASS, EG_R_PASSED);
	expect_n(f, UDP_TO(SRC4, 5005), 3, XDP_PASS, EG_R_PASSED);
}

FX_CASE(ipv6_slash64_shares_bucket)
{
	struct eg_policy_table t = table();

	t.def.syn = fx_rate(1, 3);
	fx_install(f, &t);
	CHECK_EQ(fx_config(f).v6_prefix, 64, "v6_prefix");
	expect_n(f, SYN_TO("2001:db8:1:2::a", 80), 2, XDP_PASS, EG_R_PASSED);
	expect_frame(f, SYN_TO("2001:db8:1:2:ffff::b", 80), XDP_PASS, EG_R_PASSED);
	expect_frame(f, SYN_TO("2001:db8:1:2:ffff::b", 80), XDP_DROP, EG_R_SYN_RATE);
	expect_frame(f, SYN_TO("2001:db8:1:2::a", 80), XDP_DROP, EG_R_SYN_RATE);
	/* The next /64 has its own bucket. */
	expect_n(f, SYN_TO("2001:db8:1:3::a", 80), 3, XDP_PASS, EG_R_PASSED);
	expect_frame(f, SYN_TO("2001:db8:1:3::a", 80), XDP_DROP, EG_R_SYN_RATE);
}

FX_CASE(ipv6_prefix_128_separates)
{
	struct eg_policy_table t = table();

	t.def.syn = fx_rate(1, 3);
	t.v6_prefix = 128;
	fx_install(f, &t);
	CHECK_EQ(fx_config(f).v6_prefix, 128, "v6_prefix");
	expect_n(f, SYN_TO("2001:db8:1:2::a", 80), 3, XDP_PASS, EG_R_PASSED);
	expect_frame(f, SYN_TO("2001:db8:1:2::a", 80), XDP_DROP, EG_R_SYN_RATE);
	expect_n(f, SYN_TO("2001:db8:1:2::b", 80), 3, XDP_PASS, EG_R_PASSED);
	expect_frame(f, SYN_TO("2001:db8:1:2::b", 80), XDP_DROP, EG_R_SYN_RATE);
}

/* ---- auto-ban ---- */

struct ban_list {
	struct eg_ban_entry b[8];
	int n;
};

static int collect_ban(const struct eg_ban_entry *b, void *ctx)
{
	struct ban_list *l = ctx;

	if (l->n < 8)
		l->b[l->n] = *b;
	l->n++;
	return 0;
}

static struct ban_list all_bans(struct fx *f)
{
	struct ban_list l = { .n = 0 };

	CHECK(eg_ban_foreach(&f->m, collect_ban, &l, &f->err) == 0, "eg_ban_foreach: %s",
	      f->err.msg);
	return l;
}

static void check_expiry_near(const struct eg_ban *b, uint64_t lo, uint64_t hi, uint32_t ttl_s)
{
	uint64_t ttl = (uint64_t)ttl_s * NS_PER_SEC;

	CHECK(b->expires_ns >= lo + ttl && b->expires_ns <= hi + ttl,
	      "expires_ns %llu not within [%llu, %llu]", (unsigned long long)b->expires_ns,
	      (unsigned long long)(lo + ttl), (unsigned long long)(hi + ttl));
	CHECK(b->created_ns >= lo && b->created_ns <= hi, "created_ns %llu not within [%llu, %llu]",
	      (unsigned long long)b->created_ns, (unsigned long long)lo, (unsigned long long)hi);
}

FX_CASE(autoban_ipv4)
{
	struct eg_policy_table t = table();
	struct eg_policy_spec ssh = { .syn = fx_rate(1, 1), .ban_after = 3, .ban_window_s = 10,
				      .ban_ttl_s = 30 };
	struct eg_addr want = fx_addr(SRC4);
	struct fx_events ev;
	struct ban_list bans;
	uint64_t lo, hi;

	fx_rule(&t, EG_L4_TCP, 22, 22, &ssh);
	fx_install(f, &t);
	expect_frame(f, SYN_TO(SRC4, 22), XDP_PASS, EG_R_PASSED);
	expect_n(f, SYN_TO(SRC4, 22), 2, XDP_DROP, EG_R_SYN_RATE);
	CHECK_EQ(fx_counter(f, EG_R_AUTOBAN), 0, "autoban before the threshold");
	CHECK_EQ(all_bans(f).n, 0, "bans before the threshold");
	lo = fx_now(f);
	expect_frame(f, SYN_TO(SRC4, 22), XDP_DROP, EG_R_SYN_RATE);
	hi = fx_now(f);
	CHECK_EQ(fx_counter(f, EG_R_AUTOBAN), 1, "autoban counter");

	bans = all_bans(f);
	CHECK_EQ(bans.n, 1, "bans");
	if (bans.n == 1) {
		const struct eg_ban_entry *b = &bans.b[0];

		CHECK_EQ(b->key.prefixlen, EG_FAMILY_BITS + 32, "ban prefixlen");
		CHECK(!memcmp(&b->key.addr, &want, sizeof(want)), "ban is not on the source");
		CHECK_EQ(b->list, EG_LIST_AUTOBAN, "ban map");
		CHECK_EQ(b->ban.origin, EG_ORIGIN_AUTO, "ban origin");
		CHECK_EQ(b->ban.policy, 1, "ban policy");
		CHECK_EQ(b->ban.trigger, EG_R_SYN_RATE, "ban trigger");
		check_expiry_near(&b->ban, lo, hi, 30);
	}
	{
		struct eg_ban exact;

		/* The operator's maps stay the operator's. */
		CHECK(bpf_map_lookup_elem(f->m.ban_exact, &want, &exact) != 0,
		      "an auto-ban went to eg_ban_exact");
	}

	fx_drain_events(f, &ev);
	CHECK_EQ(ev.n, 1, "events");
	if (ev.n == 1) {
		CHECK_EQ(ev.ev[0].type, EG_EV_AUTOBAN, "event type");
		CHECK(!memcmp(&ev.ev[0].addr, &want, sizeof(want)), "event addr");
		CHECK_EQ(ev.ev[0].prefixlen, EG_FAMILY_BITS + 32, "event prefixlen");
		CHECK_EQ(ev.ev[0].policy, 1, "event policy");
		CHECK_EQ(ev.ev[0].trigger, EG_R_SYN_RATE, "event trigger");
		CHECK_EQ(ev.ev[0].ttl_s, 30, "event ttl");
		CHECK_EQ(ev.ev[0].window_drops, 3, "event window_drops");
		CHECK(ev.ev[0].ts_ns >= lo && ev.ev[0].ts_ns <= hi, "event ts_ns out of range");
	}

	/* Banned now, on every port and without the policy involved. */
	expect_frame(f, SYN_TO(SRC4, 22), XDP_DROP, EG_R_AUTOBANNED);
	expect_frame(f, UDP_TO(SRC4, 53), XDP_DROP, EG_R_AUTOBANNED);
	expect_frame(f, SYN_TO("192.0.2.11", 22), XDP_PASS, EG_R_PASSED);
	fx_advance(f, 29 * NS_PER_SEC);
	expect_frame(f, UDP_TO(SRC4, 53), XDP_DROP, EG_R_AUTOBANNED);
	fx_advance(f, 2 * NS_PER_SEC);
	expect_frame(f, SYN_TO(SRC4, 22), XDP_PASS, EG_R_PASSED);
	CHECK_EQ(fx_pc(f, 1).c[EG_PC_AUTOBAN], 1, "policy autoban counter");
}

FX_CASE(autoban_ipv6_bans_slash64)
{
	struct eg_policy_table t = table();
	struct eg_lpm_key want = fx_key("2001:db8:1:2::/64");
	struct fx_events ev;
	struct ban_list bans;
	uint64_t lo, hi;

	t.def.pkt = fx_rate(1, 1);
	t.def.ban_after = 2;
	t.def.ban_window_s = 10;
	t.def.ban_ttl_s = 60;
	fx_install(f, &t);
	expect_frame(f, UDP_TO("2001:db8:1:2::a", 53), XDP_PASS, EG_R_PASSED);
	expect_frame(f, UDP_TO("2001:db8:1:2::a", 53), XDP_DROP, EG_R_PKT_RATE);
	lo = fx_now(f);
	/* Another address of the same /64 completes the count: one source. */
	expect_frame(f, UDP_TO("2001:db8:1:2::b", 53), XDP_DROP, EG_R_PKT_RATE);
	hi = fx_now(f);
	CHECK_EQ(fx_counter(f, EG_R_AUTOBAN), 1, "autoban counter");

	bans = all_bans(f);
	CHECK_EQ(bans.n, 1, "bans");
	if (bans.n == 1) {
		const struct eg_ban_entry *b = &bans.b[0];

		CHECK_EQ(b->key.prefixlen, EG_FAMILY_BITS + 64, "ban prefixlen");
		CHECK(!memcmp(&b->key.addr, &want.addr, sizeof(want.addr)), "ban is not on the /64");
		CHECK_EQ(b->ban.prefixlen, EG_FAMILY_BITS + 64, "ban value prefixlen");
		CHECK_EQ(b->ban.origin, EG_ORIGIN_AUTO, "ban origin");
		CHECK_EQ(b->ban.policy, 0, "ban policy");
		CHECK_EQ(b->ban.trigger, EG_R_PKT_RATE, "ban trigger");
		check_expiry_near(&b->ban, lo, hi, 60);
	}
	CHECK_EQ(fx_map_count(f->m.ban_exact, sizeof(struct eg_addr)), 0, "exact bans");
	fx_drain_events(f, &ev);
	CHECK_EQ(ev.n, 1, "events");
	if (ev.n == 1) {
		CHECK_EQ(ev.ev[0].type, EG_EV_AUTOBAN, "event type");
		CHECK_EQ(ev.ev[0].prefixlen, EG_FAMILY_BITS + 64, "event prefixlen");
		CHECK(!memcmp(&ev.ev[0].addr, &want.addr, sizeof(want.addr)), "event addr");
	}

	expect_frame(f, UDP_TO("2001:db8:1:2:abcd::99", 53), XDP_DROP, EG_R_AUTOBANNED);
	expect_frame(f, UDP_TO("2001:db8:1:3::a", 53), XDP_PASS, EG_R_PASSED);
	fx_advance(f, 61 * NS_PER_SEC);
	expect_frame(f, UDP_TO("2001:db8:1:2::a", 53), XDP_PASS, EG_R_PASSED);
}

/* One packet through, one over the bucket: with ban_after 1, an auto-ban of src. */
static void provoke_autoban(struct fx *f, const char *src, int line)
{
	expect_frame_at(f, UDP_TO(src, 53), XDP_PASS, EG_R_PASSED, line);
	expect_frame_at(f, UDP_TO(src, 53), XDP_DROP, EG_R_PKT_RATE, line);
}

static struct eg_policy_table ban_at_once(void)
{
	struct eg_policy_table t = table();

	t.def.pkt = fx_rate(1, 1);
	t.def.ban_after = 1;
	t.def.ban_window_s = 10;
	t.def.ban_ttl_s = 60;
	return t;
}

/*
 * The datapath's own bans have a map and a capacity of their own: an attack
 * that fills it costs auto-bans (counted), never the operator's bans.
 */
FX_CASE(autobans_never_crowd_out_operator_bans)
{
	struct eg_sizes sz = fx_sizes();
	struct eg_policy_table t = ban_at_once();
	char src[32];

	sz.max_bans = 2;
	sz.max_autobans = 4;
	if (fx_reopen(f, &sz))
		return;
	fx_install(f, &t);
	for (int i = 1; i <= 6; i++) {
		snprintf(src, sizeof(src), "198.18.0.%d", i);
		provoke_autoban(f, src, __LINE__);
	}
	CHECK_EQ(fx_counter(f, EG_R_AUTOBAN), 4, "auto-bans stored");
	CHECK_EQ(fx_counter(f, EG_R_BAN_FAILED), 2, "auto-bans that did not fit");
	CHECK_EQ(fx_map_count(f->m.ban_exact, sizeof(struct eg_addr)), 0, "operator exact bans");
	/* The operator's lists are all theirs. */
	fx_ban(f, "203.0.113.7", 0);
	fx_ban(f, "203.0.113.0/24", 0);
	expect_frame(f, UDP_TO("203.0.113.7", 53), XDP_DROP, EG_R_BANNED);
	expect_frame(f, UDP_TO("203.0.113.8", 53), XDP_DROP, EG_R_BANNED_CIDR);
	expect_frame(f, UDP_TO("198.18.0.1", 53), XDP_DROP, EG_R_AUTOBANNED);
}

/*
 * IPv6 /64s auto-banned inside one /56 escalate to the /56, and /56s inside
 * one /48 to the /48, never shorter than the floor: an attacker with a /48
 * costs a handful of entries, and the next /64 of theirs is dropped on its
 * first packet.
 */
FX_CASE(autoban_ipv6_escalates_to_the_floor)
{
	struct eg_policy_table t = ban_at_once();
	struct fx_events ev;
	struct eg_ban b;
	struct eg_lpm_key k56 = fx_key("2001:db8:1::/56"), k48 = fx_key("2001:db8:1::/48");
	char src[64];
	int esc = 0;

	t.escalate_after = 3;
	fx_install(f, &t);
	CHECK_EQ(fx_config(f).v6_autoban_floor, 48, "floor");
	for (int n = 0; n < 3; n++) {
		snprintf(src, sizeof(src), "2001:db8:1:%x::1", n);
		provoke_autoban(f, src, __LINE__);
	}
	CHECK_EQ(fx_counter(f, EG_R_ESCALATED), 1, "escalations after three /64s");
	CHECK(eg_ban_get(&f->m, &k56, EG_ORIGIN_AUTO, &b) == 1, "no auto-ban on the /56");
	CHECK_EQ(b.prefixlen, EG_FAMILY_BITS + 56, "escalated prefix");
	/* Another /64 of that /56: dropped on its first packet. */
	expect_frame(f, UDP_TO("2001:db8:1:ff::9", 53), XDP_DROP, EG_R_AUTOBANNED);
	/* Two more /56s of the /48, three /64s each: the /48 goes. */
	for (int m = 1; m <= 2; m++)
		for (int n = 0; n < 3; n++) {
			snprintf(src, sizeof(src), "2001:db8:1:%x%02x::1", m, n);
			provoke_autoban(f, src, __LINE__);
		}
	CHECK_EQ(fx_counter(f, EG_R_ESCALATED), 4, "escalations: three /56s and the /48");
	CHECK(eg_ban_get(&f->m, &k48, EG_ORIGIN_AUTO, &b) == 1, "no auto-ban on the /48");
	expect_frame(f, UDP_TO("2001:db8:1:ab00::1", 53), XDP_DROP, EG_R_AUTOBANNED);
	fx_drain_events(f, &ev);
	for (int i = 0; i < ev.n; i++)
		if (ev.ev[i].type == EG_EV_ESCALATE) {
			esc++;
			CHECK(ev.ev[i].prefixlen == EG_FAMILY_BITS + 56 ||
			      ev.ev[i].prefixlen == EG_FAMILY_BITS + 48,
			      "escalation event to /%u", ev.ev[i].prefixlen - EG_FAMILY_BITS);
		}
	CHECK_EQ(esc, 4, "escalation events");

	/* Never shorter than the floor: three /48s of one /40 stay three /48s. */
	for (int m = 2; m <= 3; m++)
		for (int q = 0; q < 3; q++)
			for (int n = 0; n < 3; n++) {
				snprintf(src, sizeof(src), "2001:db8:%x:%x%02x::1", m, q, n);
				provoke_autoban(f, src, __LINE__);
			}
	CHECK_EQ(fx_counter(f, EG_R_ESCALATED), 12, "escalations");
	expect_frame(f, UDP_TO("2001:db8:4::1", 53), XDP_PASS, EG_R_PASSED);
	/* IPv4 never escalates: three /32s of a /24 are three bans. */
	for (int n = 1; n <= 3; n++) {
		snprintf(src, sizeof(src), "198.18.7.%d", n);
		provoke_autoban(f, src, __LINE__);
	}
	CHECK_EQ(fx_counter(f, EG_R_ESCALATED), 12, "IPv4 escalated");
	expect_frame(f, UDP_TO("198.18.7.9", 53), XDP_PASS, EG_R_PASSED);
}

/* The IPv6 ::/64 auto-banned (from ::2, say) is IPv6's: IPv4 keeps flowing. */
FX_CASE(autoban_of_ipv6_zero_prefix_spares_ipv4)
{
	struct eg_policy_table t = ban_at_once();

	fx_install(f, &t);
	/* An IPv4-mapped source is malformed: it never reaches a limit, so never bans. */
	for (int i = 0; i < 3; i++)
		expect_frame(f, UDP_TO("::ffff:198.19.0.98", 53), XDP_DROP, EG_R_MALFORMED);
	CHECK_EQ(fx_counter(f, EG_R_AUTOBAN), 0, "auto-bans of a mapped source");
	provoke_autoban(f, "::2", __LINE__);
	CHECK_EQ(fx_counter(f, EG_R_AUTOBAN), 1, "auto-ban of ::/64");
	expect_frame(f, UDP_TO("::3", 53), XDP_DROP, EG_R_AUTOBANNED);
	expect_frame(f, UDP_TO("0.0.0.2", 53), XDP_PASS, EG_R_PASSED);
	expect_frame(f, UDP_TO("198.19.0.99", 53), XDP_PASS, EG_R_PASSED);
	expect_frame(f, UDP_TO("198.19.0.98", 53), XDP_PASS, EG_R_PASSED);
	/* ::ffff:0:0/96 lies inside ::/64, IPv6's: banned there, not as 198.19.0.98. */
	expect_frame(f, UDP_TO("::ffff:198.19.0.98", 53), XDP_DROP, EG_R_AUTOBANNED);
}

/* One passed and one dropped packet, then the bucket refills over `gap`. */
static void drop_once(struct fx *f, const struct frame_spec *s, uint64_t gap)
{
	expect_frame(f, s, XDP_PASS, EG_R_PASSED);
	expect_frame(f, s, XDP_DROP, EG_R_PKT_RATE);
	fx_advance(f, gap);
}

FX_CASE(autoban_needs_drops_within_window)
{
	struct eg_policy_table t = table();
	const struct frame_spec *s = UDP_TO(SRC4, 53);

	t.def.pkt = fx_rate(1, 1);
	t.def.ban_after = 3;
	t.def.ban_window_s = 5;
	t.def.ban_ttl_s = 60;
	fx_install(f, &t);
	/* Six drops, each 6 s after the last: never three in one 5 s window. */
	for (int i = 0; i < 6; i++)
		drop_once(f, s, 6 * NS_PER_SEC);
	CHECK_EQ(fx_counter(f, EG_R_AUTOBAN), 0, "autoban counter");
	CHECK_EQ(all_bans(f).n, 0, "bans");
	/* Three drops 2 s apart fit in the window and ban. */
	for (int i = 0; i < 3; i++)
		drop_once(f, s, 2 * NS_PER_SEC);
	CHECK_EQ(fx_counter(f, EG_R_AUTOBAN), 1, "autoban counter");
	expect_frame(f, s, XDP_DROP, EG_R_AUTOBANNED);
}

FX_CASE(autoban_permanent_when_ttl_zero)
{
	struct eg_policy_table t = table();

	t.def.syn = fx_rate(1, 1);
	t.def.ban_after = 1;
	t.def.ban_window_s = 1;
	fx_install(f, &t);
	expect_frame(f, SYN_TO(SRC4, 80), XDP_PASS, EG_R_PASSED);
	expect_frame(f, SYN_TO(SRC4, 80), XDP_DROP, EG_R_SYN_RATE);
	CHECK_EQ(all_bans(f).n, 1, "bans");
	CHECK_EQ(all_bans(f).b[0].ban.expires_ns, 0, "expires_ns");
	fx_advance(f, 1000000ULL * NS_PER_SEC);
	expect_frame(f, SYN_TO(SRC4, 80), XDP_DROP, EG_R_AUTOBANNED);
}

FX_CASE(dry_run_never_drops)
{
	struct eg_policy_table t = table();
	struct eg_policy_counters pc;
	struct fx_events ev;

	t.def.syn = fx_rate(1, 1);
	t.def.ban_after = 3;
	t.def.ban_window_s = 10;
	t.def.ban_ttl_s = 60;
	t.def.mode = EG_MODE_DRY_RUN;
	fx_install(f, &t);
	expect_frame(f, SYN_TO(SRC4, 80), XDP_PASS, EG_R_PASSED);
	CHECK_EQ(expect_n(f, SYN_TO(SRC4, 80), 9, XDP_PASS, EG_R_DRY_RUN_WOULD_DROP), 9,
		 "would-drop packets");
	/* The threshold is reached at drops 3, 6 and 9: the count restarts after each. */
	CHECK_EQ(fx_counter(f, EG_R_DRY_RUN_WOULD_BAN), 3, "dry_run_would_ban");
	CHECK_EQ(fx_counter(f, EG_R_AUTOBAN), 0, "autoban");
	CHECK_EQ(all_bans(f).n, 0, "bans");
	fx_drain_events(f, &ev);
	CHECK_EQ(ev.n, 3, "events");
	for (int i = 0; i < ev.n && i < 3; i++) {
		struct eg_addr want = fx_addr(SRC4);

		CHECK_EQ(ev.ev[i].type, EG_EV_WOULD_BAN, "event type");
		CHECK(!memcmp(&ev.ev[i].addr, &want, sizeof(want)), "event addr");
		CHECK_EQ(ev.ev[i].prefixlen, EG_FAMILY_BITS + 32, "event prefixlen");
		CHECK_EQ(ev.ev[i].trigger, EG_R_SYN_RATE, "event trigger");
		CHECK_EQ(ev.ev[i].ttl_s, 60, "event ttl");
		CHECK_EQ(ev.ev[i].window_drops, 3, "event window_drops");
	}
	pc = fx_pc(f, 0);
	CHECK_EQ(pc.c[EG_PC_PACKETS], 10, "policy packets");
	CHECK_EQ(pc.c[EG_PC_PASSED], 1, "policy passed");
	CHECK_EQ(pc.c[EG_PC_WOULD_DROP], 9, "policy would_drop");
	CHECK_EQ(pc.c[EG_PC_WOULD_BAN], 3, "policy would_ban");
	CHECK_EQ(pc.c[EG_PC_SYN_DROP], 0, "policy syn drops");
	CHECK_EQ(pc.c[EG_PC_AUTOBAN], 0, "policy autoban");
}

FX_CASE(dry_run_rule_beside_enforced_default)
{
	struct eg_policy_table t = table();
	struct eg_policy_spec dry = { .pkt = fx_rate(1, 1), .ban_after = 2, .ban_window_s = 10,
				      .mode = EG_MODE_DRY_RUN };
	struct fx_events ev;

	t.def.pkt = fx_rate(1, 1);
	fx_rule(&t, EG_L4_UDP, 53, 53, &dry);
	fx_install(f, &t);
	expect_frame(f, UDP_TO("2001:db8::5", 53), XDP_PASS, EG_R_PASSED);
	expect_n(f, UDP_TO("2001:db8::5", 53), 4, XDP_PASS, EG_R_DRY_RUN_WOULD_DROP);
	CHECK_EQ(fx_counter(f, EG_R_DRY_RUN_WOULD_BAN), 2, "dry_run_would_ban");
	CHECK_EQ(all_bans(f).n, 0, "bans");
	fx_drain_events(f, &ev);
	CHECK_EQ(ev.n, 2, "events");
	if (ev.n >= 1) {
		CHECK_EQ(ev.ev[0].type, EG_EV_WOULD_BAN, "event type");
		CHECK_EQ(ev.ev[0].prefixlen, EG_FAMILY_BITS + 64, "event prefixlen");
		CHECK_EQ(ev.ev[0].policy, 1, "event policy");
		CHECK_EQ(ev.ev[0].trigger, EG_R_PKT_RATE, "event trigger");
	}
	/* The enforced default still drops on other ports. */
	expect_frame(f, UDP_TO("2001:db8::5", 54), XDP_PASS, EG_R_PASSED);
	expect_frame(f, UDP_TO("2001:db8::5", 54), XDP_DROP, EG_R_PKT_RATE);
}

/* ---- hot swap ---- */

static int source_entry(struct fx *f, const char *src, uint32_t slot, struct eg_source *out)
{
	struct eg_source_key k;

	memset(&k, 0, sizeof(k));
	k.addr = fx_addr(src);
	k.policy = slot;
	return bpf_map_lookup_elem(f->m.sources, &k, out);
}

FX_CASE(policy_hot_swap_keeps_state_and_bans)
{
	struct eg_policy_table a = table(), b = table();
	struct eg_policy_spec web = { .syn = fx_rate(1, 2) };
	struct eg_source before, after;
	uint32_t gen0;
	int nsrc;

	fx_rule(&a, EG_L4_TCP, 80, 80, &web);
	fx_install(f, &a);
	gen0 = fx_config(f).active_gen;
	expect_n(f, SYN_TO(SRC4, 80), 2, XDP_PASS, EG_R_PASSED);
	expect_frame(f, SYN_TO(SRC4, 80), XDP_DROP, EG_R_SYN_RATE);
	/* A source's first packet is only remembered; its second makes its state. */
	expect_n(f, UDP_TO("192.0.2.20", 53), 2, XDP_PASS, EG_R_PASSED);
	fx_ban(f, "203.0.113.99", 0);
	fx_ban(f, "198.51.100.0/24", 120);
	nsrc = fx_map_count(f->m.sources, sizeof(struct eg_source_key));
	CHECK_EQ(nsrc, 2, "sources before the swap");
	CHECK(source_entry(f, SRC4, 1, &before) == 0, "no state for the source");

	/* Table B: same web rule, a stricter default and one more rule. */
	fx_rule(&b, EG_L4_TCP, 80, 80, &web);
	fx_rule(&b, EG_L4_UDP, 53, 53, &(struct eg_policy_spec){ .pkt = fx_rate(1, 1) });
	b.def.pkt = fx_rate(1, 1);
	fx_install(f, &b);
	CHECK_EQ(fx_config(f).active_gen, !gen0, "active generation");
	CHECK_EQ(fx_map_count(f->m.sources, sizeof(struct eg_source_key)), nsrc,
		 "sources after the swap");
	CHECK(source_entry(f, SRC4, 1, &after) == 0, "state lost in the swap");
	CHECK(!memcmp(&before, &after, sizeof(before)), "source state changed in the swap");

	/* The bucket is still empty, the bans still hold, table B is live. */
	expect_frame(f, SYN_TO(SRC4, 80), XDP_DROP, EG_R_SYN_RATE);
	expect_frame(f, SYN_TO("203.0.113.99", 80), XDP_DROP, EG_R_BANNED);
	expect_frame(f, SYN_TO("198.51.100.1", 80), XDP_DROP, EG_R_BANNED_CIDR);
	expect_frame(f, UDP_TO("192.0.2.30", 53), XDP_PASS, EG_R_PASSED);
	expect_frame(f, UDP_TO("192.0.2.30", 53), XDP_DROP, EG_R_PKT_RATE);
	expect_frame(f, UDP_TO("192.0.2.30", 9), XDP_PASS, EG_R_PASSED);
	expect_frame(f, UDP_TO("192.0.2.30", 9), XDP_DROP, EG_R_PKT_RATE);

	/* And back to A: the other generation again, B's limits gone. */
	fx_install(f, &a);
	CHECK_EQ(fx_config(f).active_gen, gen0, "active generation after swapping back");
	expect_n(f, UDP_TO("192.0.2.30", 53), 3, XDP_PASS, EG_R_PASSED);
	expect_frame(f, SYN_TO(SRC4, 80), XDP_DROP, EG_R_SYN_RATE);
}

FX_CASE(policy_install_rejects_invalid_and_keeps_live)
{
	struct eg_policy_table a = table(), bad = table();
	struct eg_err e;
	uint32_t gen0;

	a.def.pkt = fx_rate(1, 1);
	fx_install(f, &a);
	gen0 = fx_config(f).active_gen;
	bad.def.pkt = fx_rate(0, 5);
	CHECK(eg_policy_install(&f->m, &bad, &e) != 0, "invalid table installed");
	CHECK_EQ(fx_config(f).active_gen, gen0, "active generation");
	expect_frame(f, UDP_TO(SRC4, 53), XDP_PASS, EG_R_PASSED);
	expect_frame(f, UDP_TO(SRC4, 53), XDP_DROP, EG_R_PKT_RATE);
}

FX_CASE(per_policy_counters_match_traffic)
{
	struct eg_policy_table t = table();
	struct eg_policy_spec web = { .syn = fx_rate(1, 2), .ban_after = 3, .ban_window_s = 10 };
	struct eg_policy_spec dns = { .pkt = fx_rate(1, 1), .mode = EG_MODE_DRY_RUN };
	struct eg_policy_counters pc;

	t.def.pkt = fx_rate(1, 3);
	fx_rule(&t, EG_L4_TCP, 80, 80, &web);
	fx_rule(&t, EG_L4_UDP, 53, 53, &dns);
	fx_install(f, &t);
	/* web: 2 pass, 3 syn drops (the third auto-bans), then 1 banned. */
	expect_n(f, SYN_TO(SRC4, 80), 2, XDP_PASS, EG_R_PASSED);
	expect_n(f, SYN_TO(SRC4, 80), 3, XDP_DROP, EG_R_SYN_RATE);
	expect_frame(f, SYN_TO(SRC4, 80), XDP_DROP, EG_R_AUTOBANNED);
	/* dns: 1 pass, 2 would-drop. */
	expect_frame(f, UDP_TO("192.0.2.20", 53), XDP_PASS, EG_R_PASSED);
	expect_n(f, UDP_TO("192.0.2.20", 53), 2, XDP_PASS, EG_R_DRY_RUN_WOULD_DROP);
	/* default: ICMP and other ports, 3 pass then 1 packet drop. */
	expect_n(f, SPEC(.src = "192.0.2.30", .l4 = IPPROTO_ICMP), 2, XDP_PASS, EG_R_PASSED);
	expect_frame(f, UDP_TO("192.0.2.30", 123), XDP_PASS, EG_R_PASSED);
	expect_frame(f, SYN_TO("192.0.2.30", 443), XDP_DROP, EG_R_PKT_RATE);

	pc = fx_pc(f, 1);
	CHECK_EQ(pc.c[EG_PC_PACKETS], 5, "web packets");
	CHECK_EQ(pc.c[EG_PC_PASSED], 2, "web passed");
	CHECK_EQ(pc.c[EG_PC_SYN_DROP], 3, "web syn drops");
	CHECK_EQ(pc.c[EG_PC_PKT_DROP], 0, "web pkt drops");
	CHECK_EQ(pc.c[EG_PC_AUTOBAN], 1, "web autobans");
	CHECK_EQ(pc.c[EG_PC_WOULD_DROP], 0, "web would drop");
	pc = fx_pc(f, 2);
	CHECK_EQ(pc.c[EG_PC_PACKETS], 3, "dns packets");
	CHECK_EQ(pc.c[EG_PC_PASSED], 1, "dns passed");
	CHECK_EQ(pc.c[EG_PC_WOULD_DROP], 2, "dns would drop");
	CHECK_EQ(pc.c[EG_PC_PKT_DROP], 0, "dns pkt drops");
	CHECK_EQ(pc.c[EG_PC_WOULD_BAN], 0, "dns would ban");
	pc = fx_pc(f, 0);
	CHECK_EQ(pc.c[EG_PC_PACKETS], 4, "default packets");
	CHECK_EQ(pc.c[EG_PC_PASSED], 3, "default passed");
	CHECK_EQ(pc.c[EG_PC_PKT_DROP], 1, "default pkt drops");
	CHECK_EQ(pc.c[EG_PC_SYN_DROP], 0, "default syn drops");
	pc = fx_pc(f, 3);
	for (int i = 0; i < EG_PC_MAX; i++)
		CHECK_EQ(pc.c[i], 0, "unused slot counter");
}

int main(void)
{
	RUN(syn_bucket_exact);
	RUN(pkt_bucket_exact);
	RUN(pkt_bucket_exact_ipv6);
	RUN(syn_bucket_ignores_synack_and_ack);
	RUN(dropped_packets_consume_no_tokens);
	RUN(syn_drop_charges_no_packet_token);
	RUN(pkt_drop_charges_no_syn_token);
	RUN(port_policy_selection);
	RUN(port_ranges);
	RUN(ipv6_slash64_shares_bucket);
	RUN(ipv6_prefix_128_separates);
	RUN(autoban_ipv4);
	RUN(autoban_ipv6_bans_slash64);
	RUN(autoban_needs_drops_within_window);
	RUN(autoban_permanent_when_ttl_zero);
	RUN(autobans_never_crowd_out_operator_bans);
	RUN(autoban_ipv6_escalates_to_the_floor);
	RUN(autoban_of_ipv6_zero_prefix_spares_ipv4);
	RUN(dry_run_never_drops);
	RUN(dry_run_rule_beside_enforced_default);
	RUN(policy_hot_swap_keeps_state_and_bans);
	RUN(policy_install_rejects_invalid_and_keeps_live);
	RUN(per_policy_counters_match_traffic);
	return tl_exit_code();
}
