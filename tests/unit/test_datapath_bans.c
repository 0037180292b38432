// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Datapath ban and allow tests: exact and CIDR bans for both families, no
 * way around them through VLAN tags, extension headers or fragments, the
 * allowlist above everything, nested CIDRs and expiry on the kernel's clock.
 */
#include "datapath_fixture.h"

#define V4_EXACT "203.0.113.7"
#define V4_NET "198.51.100.0/24"
#define V4_IN_NET "198.51.100.9"
#define V4_CLEAN "192.0.2.55"
#define V6_EXACT "2001:db8:1::7"
#define V6_NET "2001:db8:2::/48"
#define V6_IN_NET "2001:db8:2:5::9"
#define V6_CLEAN "2001:db8:9::1"

static void del_ban_at(struct fx *f, const char *cidr)
{
	struct eg_lpm_key k = fx_key(cidr);

	CHECK(eg_ban_del(&f->m, &k, &f->err) == 0, "unban %s: %s", cidr, f->err.msg);
}

static void ban_the_usual(struct fx *f)
{
	fx_ban(f, V4_EXACT, 0);
	fx_ban(f, V4_NET, 0);
	fx_ban(f, V6_EXACT, 0);
	fx_ban(f, V6_NET, 0);
}

/* Sends shape s from an exact-banned, a CIDR-banned and a clean source of its family. */
static void check_shape_at(struct fx *f, const struct frame_spec *shape, bool v6, int line)
{
	struct frame_spec s = *shape;

	s.src = v6 ? V6_EXACT : V4_EXACT;
	expect_frame_at(f, &s, XDP_DROP, EG_R_BANNED, line);
	s.src = v6 ? V6_IN_NET : V4_IN_NET;
	expect_frame_at(f, &s, XDP_DROP, EG_R_BANNED_CIDR, line);
	s.src = v6 ? V6_CLEAN : V4_CLEAN;
	expect_frame_at(f, &s, XDP_PASS, EG_R_PASSED, line);
}

#define check_shape(f, s, v6) check_shape_at(f, s, v6, __LINE__)

FX_CASE(bypass_vlan_and_qinq)
{
	ban_the_usual(f);
	for (int v = 0; v <= 2; v++) {
		check_shape(f, SPEC(.vlans = v, .dport = 443, .tcp_flags = TH_SYN), false);
		check_shape(f, SPEC(.vlans = v, .dport = 53, .l4 = IPPROTO_UDP), false);
		check_shape(f, SPEC(.vlans = v, .dport = 443, .tcp_flags = TH_SYN), true);
		check_shape(f, SPEC(.vlans = v, .dport = 53, .l4 = IPPROTO_UDP), true);
	}
}

FX_CASE(bypass_ipv6_extension_chains)
{
	static const uint8_t each[] = { 0, 43, 60, 44, 51 };

	ban_the_usual(f);
	for (size_t i = 0; i < sizeof(each); i++)
		check_shape(f, SPEC(.v6_ext = { each[i] }, .n_v6_ext = 1, .dport = 80), true);
	check_shape(f, SPEC(.v6_ext = { 0, 43, 60, 51, 60 }, .n_v6_ext = 5, .dport = 80), true);
	check_shape(f, SPEC(.vlans = 2, .v6_ext = { 0, 60, 51 }, .n_v6_ext = 3,
			    .l4 = IPPROTO_UDP), true);
}

FX_CASE(bypass_ipv4_fragments)
{
	ban_the_usual(f);
	for (int v = 0; v <= 2; v++) {
		check_shape(f, SPEC(.vlans = v, .frag = FRAG_FIRST, .dport = 80, .payload = 100),
			    false);
		check_shape(f, SPEC(.vlans = v, .frag = FRAG_LATER, .payload = 100), false);
		check_shape(f, SPEC(.vlans = v, .frag = FRAG_LATER, .ip_opt_words = 2,
				    .payload = 100), false);
	}
}

FX_CASE(bypass_ipv6_fragments)
{
	ban_the_usual(f);
	for (int v = 0; v <= 2; v++) {
		check_shape(f, SPEC(.vlans = v, .v6_ext = { 44 }, .n_v6_ext = 1,
				    .frag = FRAG_FIRST, .dport = 80, .payload = 100), true);
		check_shape(f, SPEC(.vlans = v, .v6_ext = { 44 }, .n_v6_ext = 1,
				    .frag = FRAG_LATER, .payload = 100), true);
		check_shape(f, SPEC(.vlans = v, .v6_ext = { 0, 60, 44 }, .n_v6_ext = 3,
				    .frag = FRAG_LATER, .payload = 100), true);
	}
}

/* A clean later fragment passes and is counted as a fragment. */
static void check_clean_later_fragment(struct fx *f, const struct frame_spec *s, int line)
{
	uint64_t before = fx_counter(f, EG_R_FRAGMENT);

	expect_frame_at(f, s, XDP_PASS, EG_R_PASSED, line);
	CHECK_EQ(fx_counter(f, EG_R_FRAGMENT) - before, 1, "fragment counter");
}

FX_CASE(fragment_later_clean_passes)
{
	uint64_t first_before;

	ban_the_usual(f);
	check_clean_later_fragment(f, SPEC(.src = V4_CLEAN, .frag = FRAG_LATER, .payload = 40),
				   __LINE__);
	check_clean_later_fragment(f, SPEC(.src = V6_CLEAN, .v6_ext = { 44 }, .n_v6_ext = 1,
					   .frag = FRAG_LATER, .payload = 40), __LINE__);
	check_clean_later_fragment(f, SPEC(.src = V4_CLEAN, .vlans = 2, .frag = FRAG_LATER),
				   __LINE__);
	/* A first fragment carries the L4 header: not counted as a fragment. */
	first_before = fx_counter(f, EG_R_FRAGMENT);
	expect_frame(f, SPEC(.src = V4_CLEAN, .frag = FRAG_FIRST, .dport = 80), XDP_PASS,
		     EG_R_PASSED);
	CHECK_EQ(fx_counter(f, EG_R_FRAGMENT) - first_before, 0, "fragment counter");
}

FX_CASE(fragment_later_charged_to_default_policy)
{
	/* The port rule would let everything through; later fragments meet the default. */
	struct eg_policy_table t;
	struct eg_policy_spec open = { 0 };
	struct eg_policy_counters pc;

	eg_policy_table_init(&t);
	t.def.pkt = fx_rate(1, 2);
	fx_rule(&t, EG_L4_UDP, 1, 65535, &open);
	fx_install(f, &t);
	expect_n(f, SPEC(.src = V4_CLEAN, .l4 = IPPROTO_UDP, .frag = FRAG_LATER), 2, XDP_PASS,
		 EG_R_PASSED);
	expect_frame(f, SPEC(.src = V4_CLEAN, .l4 = IPPROTO_UDP, .frag = FRAG_LATER), XDP_DROP,
		     EG_R_PKT_RATE);
	CHECK_EQ(fx_counter(f, EG_R_FRAGMENT), 3, "fragment counter");
	pc = fx_pc(f, 0);
	CHECK_EQ(pc.c[EG_PC_PACKETS], 3, "default policy packets");
	CHECK_EQ(pc.c[EG_PC_PKT_DROP], 1, "default policy pkt drops");
	pc = fx_pc(f, 1);
	CHECK_EQ(pc.c[EG_PC_PACKETS], 0, "udp rule packets");
}

static void check_allow_beats_bans(struct fx *f, const char *host, const char *net,
				   const char *neighbour)
{
	fx_ban(f, host, 0);
	fx_ban(f, net, 0);
	expect_frame(f, SPEC(.src = host, .dport = 22), XDP_DROP, EG_R_BANNED);
	expect_frame(f, SPEC(.src = neighbour, .dport = 22), XDP_DROP, EG_R_BANNED_CIDR);
	fx_allow(f, host);
	fx_allow(f, neighbour);
	expect_frame(f, SPEC(.src = host, .dport = 22), XDP_PASS, EG_R_ALLOWLISTED);
	expect_frame(f, SPEC(.src = neighbour, .dport = 22, .vlans = 2), XDP_PASS,
		     EG_R_ALLOWLISTED);
	expect_frame(f, SPEC(.src = host, .frag = FRAG_LATER, .v6_ext = { 44 },
			     .n_v6_ext = strchr(host, ':') ? 1 : 0), XDP_PASS, EG_R_ALLOWLISTED);
}

FX_CASE(allow_beats_bans_ipv4)
{
	check_allow_beats_bans(f, "198.51.100.7", "198.51.100.0/24", "198.51.100.8");
	/* Other banned addresses of the network stay banned. */
	expect_frame(f, SPEC(.src = "198.51.100.9"), XDP_DROP, EG_R_BANNED_CIDR);
}

FX_CASE(allow_beats_bans_ipv6)
{
	check_allow_beats_bans(f, "2001:db8:5::7", "2001:db8:5::/64", "2001:db8:5::8");
	expect_frame(f, SPEC(.src = "2001:db8:5::9"), XDP_DROP, EG_R_BANNED_CIDR);
}

FX_CASE(allow_cidr_beats_exact_ban)
{
	fx_ban(f, "203.0.113.7", 0);
	fx_ban(f, "2001:db8:7::1", 0);
	fx_allow(f, "203.0.113.0/28");
	fx_allow(f, "2001:db8:7::/64");
	expect_frame(f, SPEC(.src = "203.0.113.7"), XDP_PASS, EG_R_ALLOWLISTED);
	expect_frame(f, SPEC(.src = "2001:db8:7::1"), XDP_PASS, EG_R_ALLOWLISTED);
}

static void check_allow_beats_rates(struct fx *f, const char *allowed, const char *other)
{
	struct eg_policy_table t;
	int bans;

	eg_policy_table_init(&t);
	t.def.syn = fx_rate(1, 2);
	t.def.pkt = fx_rate(1, 5);
	t.def.ban_after = 2;
	t.def.ban_window_s = 60;
	fx_install(f, &t);
	fx_allow(f, allowed);
	expect_n(f, SPEC(.src = allowed, .dport = 80, .tcp_flags = TH_SYN), 50, XDP_PASS,
		 EG_R_ALLOWLISTED);
	CHECK_EQ(fx_counter(f, EG_R_AUTOBAN), 0, "autoban counter");
	bans = fx_map_count(f->m.ban_exact, sizeof(struct eg_addr)) +
	       fx_map_count(f->m.ban_cidr, sizeof(struct eg_lpm_key));
	CHECK_EQ(bans, 0, "bans");
	/* The same traffic from anyone else is limited. */
	expect_n(f, SPEC(.src = other, .dport = 80, .tcp_flags = TH_SYN), 2, XDP_PASS,
		 EG_R_PASSED);
	expect_frame(f, SPEC(.src = other, .dport = 80, .tcp_flags = TH_SYN), XDP_DROP,
		     EG_R_SYN_RATE);
}

FX_CASE(allow_beats_rate_limits_ipv4) { check_allow_beats_rates(f, "192.0.2.10", "192.0.2.11"); }
FX_CASE(allow_beats_rate_limits_ipv6)
{
	check_allow_beats_rates(f, "2001:db8:a::10", "2001:db8:b::11");
}

FX_CASE(exact_ban_only_that_host)
{
	fx_ban(f, "203.0.113.7", 0);
	fx_ban(f, "2001:db8:1::7", 0);
	expect_frame(f, SPEC(.src = "203.0.113.7"), XDP_DROP, EG_R_BANNED);
	expect_frame(f, SPEC(.src = "203.0.113.6"), XDP_PASS, EG_R_PASSED);
	expect_frame(f, SPEC(.src = "203.0.113.8"), XDP_PASS, EG_R_PASSED);
	expect_frame(f, SPEC(.src = "2001:db8:1::7"), XDP_DROP, EG_R_BANNED);
	expect_frame(f, SPEC(.src = "2001:db8:1::6"), XDP_PASS, EG_R_PASSED);
	/* The same low 32 bits in IPv6 are another address. */
	expect_frame(f, SPEC(.src = "2001:db8::cb00:7107"), XDP_PASS, EG_R_PASSED);
}

FX_CASE(cidr_ban_inside_and_outside_ipv4)
{
	static const char *const in[] = { "198.51.100.0", "198.51.100.255", "198.51.101.0",
					  "198.51.101.255" };
	static const char *const out[] = { "198.51.99.255", "198.51.102.0", "198.50.100.1",
					   "199.51.100.1" };

	fx_ban(f, "198.51.100.0/23", 0);
	for (size_t i = 0; i < 4; i++) {
		expect_frame(f, SPEC(.src = in[i]), XDP_DROP, EG_R_BANNED_CIDR);
		expect_frame(f, SPEC(.src = out[i]), XDP_PASS, EG_R_PASSED);
	}
}

FX_CASE(cidr_ban_inside_and_outside_ipv6)
{
	static const char *const in[] = { "2001:db8:aa::", "2001:db8:aa:ffff:ffff:ffff:ffff:ffff",
					  "2001:db8:aa:1::1" };
	static const char *const out[] = { "2001:db8:ab::", "2001:db8:a9:ffff::1",
					   "2001:db9:aa::1" };

	fx_ban(f, "2001:db8:aa::/48", 0);
	fx_ban(f, "2001:db8:ff::/127", 0);
	for (size_t i = 0; i < 3; i++) {
		expect_frame(f, SPEC(.src = in[i]), XDP_DROP, EG_R_BANNED_CIDR);
		expect_frame(f, SPEC(.src = out[i]), XDP_PASS, EG_R_PASSED);
	}
	expect_frame(f, SPEC(.src = "2001:db8:ff::"), XDP_DROP, EG_R_BANNED_CIDR);
	expect_frame(f, SPEC(.src = "2001:db8:ff::1"), XDP_DROP, EG_R_BANNED_CIDR);
	expect_frame(f, SPEC(.src = "2001:db8:ff::2"), XDP_PASS, EG_R_PASSED);
	/* An IPv4 ban never covers IPv6 and the other way round. */
	fx_ban(f, "0.0.0.0/0", 0);
	expect_frame(f, SPEC(.src = "2001:db8:1::1"), XDP_PASS, EG_R_PASSED);
	expect_frame(f, SPEC(.src = "192.0.2.1"), XDP_DROP, EG_R_BANNED_CIDR);
}

FX_CASE(nested_expired_inside_active_drops)
{
	fx_ban(f, "10.0.0.0/8", 0);
	fx_ban(f, "10.1.0.0/16", 5);
	fx_ban(f, "2001:db8::/32", 0);
	fx_ban(f, "2001:db8:1::/48", 5);
	expect_frame(f, SPEC(.src = "10.1.2.3"), XDP_DROP, EG_R_BANNED_CIDR);
	fx_advance(f, 6 * NS_PER_SEC);
	/* The /16 has expired; the lookup must look past it to the /8. */
	expect_frame(f, SPEC(.src = "10.1.2.3"), XDP_DROP, EG_R_BANNED_CIDR);
	expect_frame(f, SPEC(.src = "2001:db8:1::3"), XDP_DROP, EG_R_BANNED_CIDR);
	expect_frame(f, SPEC(.src = "11.1.2.3"), XDP_PASS, EG_R_PASSED);
}

FX_CASE(nested_several_expired_levels)
{
	fx_ban(f, "10.0.0.0/8", 0);
	fx_ban(f, "10.0.0.0/12", 5);
	fx_ban(f, "10.1.0.0/16", 5);
	fx_ban(f, "10.1.2.0/24", 5);
	fx_ban(f, "10.1.2.0/28", 5);
	fx_advance(f, 6 * NS_PER_SEC);
	expect_frame(f, SPEC(.src = "10.1.2.3"), XDP_DROP, EG_R_BANNED_CIDR);
}

/*
 * However deep the expired bans nest over a live one, the live one holds:
 * /17 to /31 expired over a permanent /16, and for IPv6 every length from
 * /17 to /127 expired over a permanent /16 (111 levels).
 */
FX_CASE(nested_expired_any_depth)
{
	char cidr[64];

	fx_ban(f, "10.20.0.0/16", 0);
	for (int p = 17; p <= 31; p++) {
		snprintf(cidr, sizeof(cidr), "10.20.0.0/%d", p);
		fx_ban(f, cidr, 5);
	}
	fx_ban(f, "2001::/16", 0);
	for (int p = 17; p <= 127; p++) {
		struct eg_lpm_key k = fx_key("2001:db8::");

		eg_mask_addr(&k.addr, (unsigned int)p);
		k.prefixlen = EG_FAMILY_BITS + (unsigned int)p;
		CHECK(eg_ban_add(&f->m, &k, 5, EG_ORIGIN_MANUAL, NULL, &f->err) == 0,
		      "ban /%d: %s", p, f->err.msg);
	}
	expect_frame(f, SPEC(.src = "10.20.0.1"), XDP_DROP, EG_R_BANNED_CIDR);
	expect_frame(f, SPEC(.src = "2001:db8::1"), XDP_DROP, EG_R_BANNED_CIDR);
	fx_advance(f, 6 * NS_PER_SEC);
	expect_frame(f, SPEC(.src = "10.20.0.1"), XDP_DROP, EG_R_BANNED_CIDR);
	expect_frame(f, SPEC(.src = "10.20.0.0"), XDP_DROP, EG_R_BANNED_CIDR);
	expect_frame(f, SPEC(.src = "2001:db8::1"), XDP_DROP, EG_R_BANNED_CIDR);
	expect_frame(f, SPEC(.src = "2001:db8::"), XDP_DROP, EG_R_BANNED_CIDR);
	expect_frame(f, SPEC(.src = "10.21.0.1"), XDP_PASS, EG_R_PASSED);
	expect_frame(f, SPEC(.src = "2002:db8::1"), XDP_PASS, EG_R_PASSED);
}

/*
 * IPv4 and IPv6 never share a key: no IPv6 ban, ::/0 included, drops IPv4
 * and no IPv4 one drops IPv6; an IPv4-mapped IPv6 source is IPv6 to the
 * lists (never allowlisted or banned as its IPv4 address) and malformed past
 * them, as the kernel has it.
 */
FX_CASE(families_never_cover_each_other)
{
	fx_ban(f, "::/0", 0);
	expect_frame(f, SPEC(.src = "198.19.0.99", .dport = 80), XDP_PASS, EG_R_PASSED);
	expect_frame(f, SPEC(.src = "0.0.0.2", .dport = 80), XDP_PASS, EG_R_PASSED);
	expect_frame(f, SPEC(.src = "::2", .dport = 80), XDP_DROP, EG_R_BANNED_CIDR);
	expect_frame(f, SPEC(.src = "2001:db8::5", .dport = 80), XDP_DROP, EG_R_BANNED_CIDR);
	expect_frame(f, SPEC(.src = "::ffff:198.19.0.99", .dport = 80), XDP_DROP,
		     EG_R_BANNED_CIDR);
	del_ban_at(f, "::/0");
	fx_ban(f, "0.0.0.0/0", 0);
	expect_frame(f, SPEC(.src = "::2", .dport = 80), XDP_PASS, EG_R_PASSED);
	expect_frame(f, SPEC(.src = "198.19.0.99", .dport = 80), XDP_DROP, EG_R_BANNED_CIDR);
	del_ban_at(f, "0.0.0.0/0");

	/* Banned or allowed as IPv4, an IPv4-mapped IPv6 source is neither. */
	fx_ban(f, "198.19.0.99", 0);
	expect_frame(f, SPEC(.src = "::ffff:198.19.0.99", .dport = 80), XDP_DROP,
		     EG_R_MALFORMED);
	del_ban_at(f, "198.19.0.99");
	fx_allow(f, "198.19.0.0/16");
	expect_frame(f, SPEC(.src = "::ffff:198.19.0.99", .dport = 80), XDP_DROP,
		     EG_R_MALFORMED);
	expect_frame(f, SPEC(.src = "198.19.0.99", .dport = 80), XDP_PASS, EG_R_ALLOWLISTED);
	/* ::2 and 0.0.0.2 are two sources. */
	fx_ban(f, "0.0.0.2", 0);
	expect_frame(f, SPEC(.src = "::2", .dport = 80), XDP_PASS, EG_R_PASSED);
	expect_frame(f, SPEC(.src = "0.0.0.2", .dport = 80), XDP_DROP, EG_R_BANNED);
}

FX_CASE(nested_expired_without_cover_passes)
{
	fx_ban(f, "10.1.0.0/16", 5);
	fx_ban(f, "10.1.2.0/24", 5);
	fx_ban(f, "2001:db8:1::/48", 5);
	expect_frame(f, SPEC(.src = "10.1.2.3"), XDP_DROP, EG_R_BANNED_CIDR);
	fx_advance(f, 6 * NS_PER_SEC);
	expect_frame(f, SPEC(.src = "10.1.2.3"), XDP_PASS, EG_R_PASSED);
	expect_frame(f, SPEC(.src = "2001:db8:1::3"), XDP_PASS, EG_R_PASSED);
}

FX_CASE(expired_exact_ban_still_meets_cidr)
{
	fx_ban(f, "10.1.2.3", 5);
	fx_ban(f, "10.1.0.0/16", 0);
	expect_frame(f, SPEC(.src = "10.1.2.3"), XDP_DROP, EG_R_BANNED);
	fx_advance(f, 6 * NS_PER_SEC);
	expect_frame(f, SPEC(.src = "10.1.2.3"), XDP_DROP, EG_R_BANNED_CIDR);
}

static void check_expiry(struct fx *f, const char *ban, const char *src, unsigned int reason)
{
	fx_ban(f, ban, 5);
	expect_frame(f, SPEC(.src = src), XDP_DROP, reason);
	fx_advance(f, 4 * NS_PER_SEC);
	expect_frame(f, SPEC(.src = src), XDP_DROP, reason);
	fx_advance(f, 2 * NS_PER_SEC);
	expect_frame(f, SPEC(.src = src), XDP_PASS, EG_R_PASSED);
}

FX_CASE(expiry_exact_ipv4) { check_expiry(f, "203.0.113.7", "203.0.113.7", EG_R_BANNED); }
FX_CASE(expiry_exact_ipv6) { check_expiry(f, "2001:db8::7", "2001:db8::7", EG_R_BANNED); }
FX_CASE(expiry_cidr_ipv4) { check_expiry(f, "203.0.113.0/24", "203.0.113.7", EG_R_BANNED_CIDR); }
FX_CASE(expiry_cidr_ipv6) { check_expiry(f, "2001:db8::/64", "2001:db8::7", EG_R_BANNED_CIDR); }

FX_CASE(permanent_bans_never_expire)
{
	fx_ban(f, "203.0.113.7", 0);
	fx_ban(f, "198.51.100.0/24", 0);
	fx_ban(f, "2001:db8::7", 0);
	fx_ban(f, "2001:db8:1::/64", 0);
	fx_advance(f, 1000000ULL * NS_PER_SEC);
	expect_frame(f, SPEC(.src = "203.0.113.7"), XDP_DROP, EG_R_BANNED);
	expect_frame(f, SPEC(.src = "198.51.100.1"), XDP_DROP, EG_R_BANNED_CIDR);
	expect_frame(f, SPEC(.src = "2001:db8::7"), XDP_DROP, EG_R_BANNED);
	expect_frame(f, SPEC(.src = "2001:db8:1::1"), XDP_DROP, EG_R_BANNED_CIDR);
}

static uint32_t list_mark(struct fx *f, uint32_t list)
{
	uint32_t v = 7;

	CHECK(bpf_map_lookup_elem(f->m.list_empty, &list, &v) == 0, "read eg_list_empty[%u]", list);
	return v;
}

static void del_ban(struct fx *f, const char *cidr)
{
	struct eg_lpm_key k = fx_key(cidr);

	CHECK(eg_ban_del(&f->m, &k, &f->err) == 0, "unban %s: %s", cidr, f->err.msg);
}

/* Empty lists are skipped (eg_list_empty); an insert or a delete must keep that honest. */
FX_CASE(empty_list_marks_follow_the_lists)
{
	struct eg_lpm_key allowed = fx_key(V4_CLEAN), autobanned = fx_key("198.18.0.1");

	for (uint32_t l = 0; l < EG_LIST_MAX; l++)
		CHECK_EQ(list_mark(f, l), 1, "a fresh datapath: list empty");
	fx_ban(f, V4_EXACT, 0);
	fx_ban(f, "203.0.113.8", 0);
	fx_ban(f, V4_NET, 0);
	fx_allow(f, V4_CLEAN);
	CHECK(eg_ban_add(&f->m, &autobanned, 0, EG_ORIGIN_AUTO, NULL, &f->err) == 0,
	      "auto-ban: %s", f->err.msg);
	for (uint32_t l = 0; l < EG_LIST_MAX; l++)
		CHECK_EQ(list_mark(f, l), 0, "after an insert: list in use");
	expect_frame(f, SPEC(.src = V4_EXACT), XDP_DROP, EG_R_BANNED);
	expect_frame(f, SPEC(.src = V4_IN_NET), XDP_DROP, EG_R_BANNED_CIDR);
	expect_frame(f, SPEC(.src = V4_CLEAN), XDP_PASS, EG_R_ALLOWLISTED);
	expect_frame(f, SPEC(.src = "198.18.0.1"), XDP_DROP, EG_R_AUTOBANNED);

	/* One of two exact bans gone: the other still counts. */
	del_ban(f, V4_EXACT);
	CHECK_EQ(list_mark(f, EG_LIST_BAN_EXACT), 0, "one exact ban left");
	expect_frame(f, SPEC(.src = V4_EXACT), XDP_PASS, EG_R_PASSED);
	expect_frame(f, SPEC(.src = "203.0.113.8"), XDP_DROP, EG_R_BANNED);

	del_ban(f, "203.0.113.8");
	del_ban(f, V4_NET);
	del_ban(f, "198.18.0.1");
	CHECK(eg_allow_del(&f->m, &allowed, &f->err) == 0, "unallow: %s", f->err.msg);
	for (uint32_t l = 0; l < EG_LIST_MAX; l++)
		CHECK_EQ(list_mark(f, l), 1, "all deleted: list empty");
	expect_frame(f, SPEC(.src = "203.0.113.8"), XDP_PASS, EG_R_PASSED);
	expect_frame(f, SPEC(.src = V4_IN_NET), XDP_PASS, EG_R_PASSED);
	expect_frame(f, SPEC(.src = V4_CLEAN), XDP_PASS, EG_R_PASSED);

	/* Banned again after the list was marked empty. */
	fx_ban(f, V4_EXACT, 0);
	fx_ban(f, V6_NET, 0);
	expect_frame(f, SPEC(.src = V4_EXACT), XDP_DROP, EG_R_BANNED);
	expect_frame(f, SPEC(.src = V6_IN_NET), XDP_DROP, EG_R_BANNED_CIDR);
}

int main(void)
{
	RUN(bypass_vlan_and_qinq);
	RUN(bypass_ipv6_extension_chains);
	RUN(bypass_ipv4_fragments);
	RUN(bypass_ipv6_fragments);
	RUN(fragment_later_clean_passes);
	RUN(fragment_later_charged_to_default_policy);
	RUN(allow_beats_bans_ipv4);
	RUN(allow_beats_bans_ipv6);
	RUN(allow_cidr_beats_exact_ban);
	RUN(allow_beats_rate_limits_ipv4);
	RUN(allow_beats_rate_limits_ipv6);
	RUN(exact_ban_only_that_host);
	RUN(cidr_ban_inside_and_outside_ipv4);
	RUN(cidr_ban_inside_and_outside_ipv6);
	RUN(nested_expired_inside_active_drops);
	RUN(nested_several_expired_levels);
	RUN(nested_expired_without_cover_passes);
	RUN(nested_expired_any_depth);
	RUN(families_never_cover_each_other);
	RUN(expired_exact_ban_still_meets_cidr);
	RUN(expiry_exact_ipv4);
	RUN(expiry_exact_ipv6);
	RUN(expiry_cidr_ipv4);
	RUN(expiry_cidr_ipv6);
	RUN(permanent_bans_never_expire);
	RUN(empty_list_marks_follow_the_lists);
	return tl_exit_code();
}
