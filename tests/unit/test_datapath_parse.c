// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Datapath parser tests: every parser branch is shown to find the right
 * source address (a ban on it drops) and the right L4 port (a port policy
 * applies), and every truncation of every frame shape gets a safe verdict.
 */
#include "datapath_fixture.h"

#define V4 "203.0.113.7"
#define V6 "2001:db8:1::7"
#define PROBE_PORT 4001

/*
 * Installs a one-packet allowance on TCP and UDP PROBE_PORT (default policy
 * unlimited), so a second packet to that port dropping as pkt_rate proves
 * the parser read the port where it really is.
 */
static void install_probe_policy(struct fx *f)
{
	struct eg_policy_table t;
	struct eg_policy_spec r = { .pkt = fx_rate(1, 1) };

	eg_policy_table_init(&t);
	fx_rule(&t, EG_L4_TCP, PROBE_PORT, PROBE_PORT, &r);
	fx_rule(&t, EG_L4_UDP, PROBE_PORT, PROBE_PORT, &r);
	fx_install(f, &t);
}

/* The frame's source and port both come out right: port policy bites, then a ban on the source. */
static void check_parsed_at(struct fx *f, const struct frame_spec *s, int line)
{
	struct frame_spec probe = *s;
	struct frame_spec other = *s;

	install_probe_policy(f);
	probe.dport = PROBE_PORT;
	other.dport = PROBE_PORT + 1;
	expect_frame_at(f, &probe, XDP_PASS, EG_R_PASSED, line);
	expect_frame_at(f, &probe, XDP_DROP, EG_R_PKT_RATE, line);
	/* Another port of the same source is under the unlimited default. */
	expect_n_at(f, &other, 3, XDP_PASS, EG_R_PASSED, line);
	fx_ban(f, s->src, 0);
	expect_frame_at(f, &other, XDP_DROP, EG_R_BANNED, line);
}

#define check_parsed(f, s) check_parsed_at(f, s, __LINE__)

FX_CASE(parse_ipv4_tcp) { check_parsed(f, SPEC(.src = V4, .tcp_flags = TH_ACK)); }
FX_CASE(parse_ipv4_udp) { check_parsed(f, SPEC(.src = V4, .l4 = IPPROTO_UDP, .payload = 12)); }
FX_CASE(parse_ipv4_options)
{
	check_parsed(f, SPEC(.src = V4, .ip_opt_words = 3, .tcp_flags = TH_ACK));
}
FX_CASE(parse_ipv4_max_options_udp)
{
	/* IHL 15: the longest IPv4 header there is. */
	check_parsed(f, SPEC(.src = V4, .ip_opt_words = 10, .l4 = IPPROTO_UDP));
}
FX_CASE(parse_ipv6_tcp) { check_parsed(f, SPEC(.src = V6, .tcp_flags = TH_ACK)); }
FX_CASE(parse_ipv6_udp) { check_parsed(f, SPEC(.src = V6, .l4 = IPPROTO_UDP, .payload = 9)); }

static void check_v6_ext(struct fx *f, const uint8_t *ext, int n, uint8_t l4, int line)
{
	struct frame_spec s = { .src = V6, .l4 = l4, .n_v6_ext = n };

	memcpy(s.v6_ext, ext, (size_t)n);
	check_parsed_at(f, &s, line);
}

FX_CASE(parse_ipv6_hop_by_hop) { check_v6_ext(f, (uint8_t[]){ 0 }, 1, IPPROTO_TCP, __LINE__); }
FX_CASE(parse_ipv6_routing) { check_v6_ext(f, (uint8_t[]){ 43 }, 1, IPPROTO_UDP, __LINE__); }
FX_CASE(parse_ipv6_dest_opts) { check_v6_ext(f, (uint8_t[]){ 60 }, 1, IPPROTO_TCP, __LINE__); }
FX_CASE(parse_ipv6_fragment_atomic)
{
	/* A fragment header with offset 0 and no M flag: a whole packet, ports read. */
	check_v6_ext(f, (uint8_t[]){ 44 }, 1, IPPROTO_TCP, __LINE__);
}
FX_CASE(parse_ipv6_ah) { check_v6_ext(f, (uint8_t[]){ 51 }, 1, IPPROTO_UDP, __LINE__); }
FX_CASE(parse_ipv6_ext_chain)
{
	check_v6_ext(f, (uint8_t[]){ 0, 60, 43, 44, 51 }, 5, IPPROTO_TCP, __LINE__);
}
FX_CASE(parse_ipv6_ext_chain_at_limit)
{
	/* EG_MAX_IPV6_EXT_HDRS headers are allowed; only more is malformed. */
	uint8_t ext[EG_MAX_IPV6_EXT_HDRS];

	for (int i = 0; i < EG_MAX_IPV6_EXT_HDRS; i++)
		ext[i] = i & 1 ? 60 : 43;
	ext[0] = 0;
	check_v6_ext(f, ext, EG_MAX_IPV6_EXT_HDRS, IPPROTO_TCP, __LINE__);
}
FX_CASE(parse_ipv6_ext_chain_too_long)
{
	struct frame_spec s = { .src = V6, .n_v6_ext = EG_MAX_IPV6_EXT_HDRS + 1, .dport = 80 };

	for (int i = 0; i < s.n_v6_ext; i++)
		s.v6_ext[i] = i & 1 ? 60 : 43;
	s.v6_ext[0] = 0;
	expect_frame(f, &s, XDP_DROP, EG_R_MALFORMED);
	/* Too long a chain hides no banned source either. */
	fx_ban(f, V6, 0);
	expect_frame(f, &s, XDP_DROP, EG_R_BANNED);
}
FX_CASE(parse_vlan_ipv4) { check_parsed(f, SPEC(.src = V4, .vlans = 1)); }
FX_CASE(parse_vlan_ipv6) { check_parsed(f, SPEC(.src = V6, .vlans = 1, .l4 = IPPROTO_UDP)); }
FX_CASE(parse_qinq_ipv4) { check_parsed(f, SPEC(.src = V4, .vlans = 2, .l4 = IPPROTO_UDP)); }
FX_CASE(parse_qinq_ipv6_ext)
{
	check_parsed(f, SPEC(.src = V6, .vlans = 2, .v6_ext = { 0, 44 }, .n_v6_ext = 2));
}

FX_CASE(parse_non_ip_passes)
{
	/* The default policy drops everything after one packet; ARP must not care. */
	struct eg_policy_table t;

	eg_policy_table_init(&t);
	t.def.pkt = fx_rate(1, 1);
	fx_install(f, &t);
	expect_n(f, SPEC(.ethertype = 0x0806), 5, XDP_PASS, EG_R_NON_IP);
	expect_n(f, SPEC(.ethertype = 0x0806, .vlans = 1), 3, XDP_PASS, EG_R_NON_IP);
	expect_n(f, SPEC(.ethertype = 0x0806, .vlans = 2), 3, XDP_PASS, EG_R_NON_IP);
	/* Behind as many tags as the parser reads, still not IP. */
	expect_n(f, SPEC(.ethertype = 0x0806, .vlans = EG_MAX_VLAN_TAGS), 2, XDP_PASS,
		 EG_R_NON_IP);
	/* Cut inside the tags: no IP header can follow. */
	{
		uint8_t buf[FRAME_MAX];
		size_t len = fx_build(SPEC(.src = V4, .vlans = 3), buf);

		(void)len;
		expect_raw(f, buf, 12 + 3 * 4 + 1, XDP_PASS, EG_R_NON_IP, __LINE__);
	}
}

/*
 * The kernel strips any number of priority (VID 0) tags, 802.1Q or 802.1ad,
 * and delivers what is behind: every depth up to EG_MAX_VLAN_TAGS is parsed
 * and meets the lists, and a deeper frame is malformed, never passed as
 * non-IP.
 */
FX_CASE(parse_deep_vlan_stacks)
{
	const char *srcs[] = { V4, V6 };

	fx_ban(f, V4, 0);
	fx_ban(f, V6, 0);
	for (int s = 0; s < 2; s++) {
		for (int n = 3; n <= EG_MAX_VLAN_TAGS; n++) {
			struct frame_spec spec = { .src = srcs[s], .vlans = n, .dport = 80,
						   .tcp_flags = TH_SYN, .priority_tags = true };

			CHECK(expect_frame(f, &spec, XDP_DROP, EG_R_BANNED),
			      "%s behind %d priority tags not banned", srcs[s], n);
			spec.priority_tags = false;
			spec.vlan_vid = 5;
			CHECK(expect_frame(f, &spec, XDP_DROP, EG_R_BANNED),
			      "%s behind %d tags not banned", srcs[s], n);
		}
		expect_frame(f, SPEC(.src = srcs[s], .vlans = EG_MAX_VLAN_TAGS + 1),
			     XDP_DROP, EG_R_MALFORMED);
		expect_frame(f, SPEC(.src = srcs[s], .vlans = 16), XDP_DROP, EG_R_MALFORMED);
	}
	/* A clean source behind deep tags is parsed, not malformed. */
	expect_frame(f, SPEC(.src = "192.0.2.77", .vlans = EG_MAX_VLAN_TAGS), XDP_PASS,
		     EG_R_PASSED);
	expect_frame(f, SPEC(.ethertype = 0x0806, .vlans = EG_MAX_VLAN_TAGS + 1), XDP_DROP,
		     EG_R_MALFORMED);
}

/* ICMP carries no port: always the default policy, whatever its header bytes say. */
static void check_no_port(struct fx *f, const char *src, uint8_t l4, int line)
{
	struct frame_spec s = { .src = src, .l4 = l4, .dport = PROBE_PORT, .sport = PROBE_PORT };
	struct eg_policy_counters pc0, pc1;

	install_probe_policy(f);
	expect_n_at(f, &s, 4, XDP_PASS, EG_R_PASSED, line);
	pc0 = fx_pc(f, 0);
	pc1 = fx_pc(f, 1);
	CHECK_EQ(pc0.c[EG_PC_PACKETS], 4, "default policy packets");
	CHECK_EQ(pc1.c[EG_PC_PACKETS], 0, "tcp/4001 policy packets");
	fx_ban(f, src, 0);
	expect_frame_at(f, &s, XDP_DROP, EG_R_BANNED, line);
}

FX_CASE(parse_icmp_default_policy) { check_no_port(f, V4, IPPROTO_ICMP, __LINE__); }
FX_CASE(parse_icmpv6_default_policy) { check_no_port(f, V6, 58, __LINE__); }

/* Rewrites one byte of a built frame and expects a malformed drop. */
static void check_bad_l3_byte(struct fx *f, const char *src, size_t off, uint8_t val, int line)
{
	uint8_t buf[FRAME_MAX];
	size_t len = fx_build(&(struct frame_spec){ .src = src, .dport = 80 }, buf);

	buf[off] = val;
	expect_raw(f, buf, len, XDP_DROP, EG_R_MALFORMED, line);
}

FX_CASE(parse_bad_ip_version_or_ihl)
{
	check_bad_l3_byte(f, V4, 14, 0x65, __LINE__); /* version 6 in an IPv4 frame */
	check_bad_l3_byte(f, V4, 14, 0x45 & 0x0f, __LINE__); /* version 0 */
	check_bad_l3_byte(f, V4, 14, 0x44, __LINE__); /* IHL 4 */
	check_bad_l3_byte(f, V4, 14, 0x40, __LINE__); /* IHL 0 */
	check_bad_l3_byte(f, V6, 14, 0x40, __LINE__); /* version 4 in an IPv6 frame */
	check_bad_l3_byte(f, V6, 14, 0x00, __LINE__);
}

FX_CASE(parse_frames_shorter_than_ethernet_rejected)
{
	/*
	 * bpf_prog_test_run refuses XDP input shorter than an Ethernet header
	 * (ETH_HLEN, 14 bytes) with EINVAL, so the program never sees such a
	 * frame from test_run; 14 is the shortest length tested below.
	 */
	uint8_t buf[FRAME_MAX];
	size_t len = fx_build(SPEC(.src = V4), buf);
	int ret;

	(void)len;
	for (size_t l = 1; l < 14; l++)
		CHECK_EQ(fx_run_raw(f, buf, l, &ret), -EINVAL, "test_run of a too-short frame");
	CHECK_EQ(fx_run_raw(f, buf, 14, &ret), 0, "test_run of 14 bytes");
}

/* ---- truncation ---- */

struct tmpl {
	const char *name;
	struct frame_spec s;
};

static const struct tmpl templates[] = {
	{ "v4 tcp", { .src = V4, .dport = 80, .tcp_flags = TH_SYN, .payload = 6 } },
	{ "v4 udp", { .src = V4, .l4 = IPPROTO_UDP, .dport = 53, .payload = 6 } },
	{ "v4 icmp", { .src = V4, .l4 = IPPROTO_ICMP, .payload = 6 } },
	{ "v4 options tcp", { .src = V4, .ip_opt_words = 4, .dport = 80, .payload = 3 } },
	{ "v4 first frag", { .src = V4, .frag = FRAG_FIRST, .dport = 80, .payload = 6 } },
	{ "v4 later frag", { .src = V4, .frag = FRAG_LATER, .payload = 6 } },
	{ "vlan v4 tcp", { .src = V4, .vlans = 1, .dport = 80, .payload = 2 } },
	{ "qinq v4 udp", { .src = V4, .vlans = 2, .l4 = IPPROTO_UDP, .dport = 53 } },
	{ "v6 tcp", { .src = V6, .dport = 80, .payload = 6 } },
	{ "v6 udp", { .src = V6, .l4 = IPPROTO_UDP, .dport = 53, .payload = 6 } },
	{ "v6 ext chain tcp",
	  { .src = V6, .v6_ext = { 0, 43, 60, 51 }, .n_v6_ext = 4, .dport = 80, .payload = 2 } },
	{ "v6 first frag",
	  { .src = V6, .v6_ext = { 44 }, .n_v6_ext = 1, .frag = FRAG_FIRST, .dport = 80 } },
	{ "v6 later frag",
	  { .src = V6, .v6_ext = { 0, 44 }, .n_v6_ext = 2, .frag = FRAG_LATER, .payload = 6 } },
	{ "v6 ext icmpv6", { .src = V6, .v6_ext = { 0, 60 }, .n_v6_ext = 2, .l4 = 58, .payload = 4 } },
	{ "qinq v6 ext udp",
	  { .src = V6, .vlans = 2, .v6_ext = { 60 }, .n_v6_ext = 1, .l4 = IPPROTO_UDP } },
	{ "arp", { .ethertype = 0x0806 } },
	{ "vlan arp", { .ethertype = 0x0806, .vlans = 1 } },
	{ "qinq arp", { .ethertype = 0x0806, .vlans = 2 } },
};

/* Where the parts of a template frame end, computed independently of the parser. */
struct layout {
	bool ip;
	size_t l3;       /* start of the IP header */
	size_t src_done; /* fixed IP header complete: source trustworthy from here */
	size_t hdrs;     /* every header the parser reads is complete from here */
};

static struct layout layout_of(const struct frame_spec *s)
{
	struct layout l = { 0 };
	bool v6 = s->src && strchr(s->src, ':');
	uint8_t l4 = s->l4 ? s->l4 : IPPROTO_TCP;

	l.l3 = 14 + 4 * (size_t)s->vlans;
	l.ip = !s->ethertype;
	if (!l.ip)
		return l;
	if (v6) {
		l.src_done = l.l3 + 40;
		l.hdrs = l.src_done;
		for (int i = 0; i < s->n_v6_ext; i++)
			l.hdrs += s->v6_ext[i] == 51 ? 24 : 8;
	} else {
		l.src_done = l.l3 + 20;
		l.hdrs = l.src_done + 4 * (size_t)s->ip_opt_words;
	}
	if (s->frag != FRAG_LATER)
		l.hdrs += l4 == IPPROTO_TCP ? 20 : l4 == IPPROTO_UDP ? 8 : 0;
	return l;
}

/* Runs every length from 14 to the full frame; banned says whether its source is banned. */
static void truncate_template(struct fx *f, const struct tmpl *t, bool banned)
{
	uint8_t buf[FRAME_MAX];
	size_t full = fx_build(&t->s, buf);
	struct layout l = layout_of(&t->s);

	for (size_t len = 14; len <= full; len++) {
		int want = XDP_PASS;
		unsigned int reason = EG_R_PASSED;
		bool good;

		if (!l.ip || len < l.l3) {
			reason = EG_R_NON_IP; /* ethertype not known yet, or not IP */
		} else if (len < l.src_done) {
			want = XDP_DROP;
			reason = EG_R_MALFORMED;
		} else if (banned) {
			want = XDP_DROP;
			reason = EG_R_BANNED;
		} else if (len < l.hdrs) {
			want = XDP_DROP;
			reason = EG_R_MALFORMED;
		}
		good = expect_raw(f, buf, len, want, reason, __LINE__);
		if (!good) {
			printf("    (template \"%s\", %s source, length %zu of %zu)\n", t->name,
			       banned ? "banned" : "clean", len, full);
			return;
		}
	}
}

static void truncate_all(struct fx *f, bool banned)
{
	if (banned) {
		fx_ban(f, V4, 0);
		fx_ban(f, V6, 0);
	}
	for (size_t i = 0; i < sizeof(templates) / sizeof(templates[0]); i++)
		truncate_template(f, &templates[i], banned);
}

FX_CASE(truncation_banned_source_never_passes) { truncate_all(f, true); }
FX_CASE(truncation_clean_source) { truncate_all(f, false); }

static void truncation_layouts_match_frames(void)
{
	/* Guards the layout arithmetic above: full frames end where it says. */
	for (size_t i = 0; i < sizeof(templates) / sizeof(templates[0]); i++) {
		const struct frame_spec *s = &templates[i].s;
		uint8_t buf[FRAME_MAX];
		size_t full = fx_build(s, buf);
		struct layout l = layout_of(s);

		if (l.ip)
			CHECK_EQ(full, l.hdrs + (size_t)s->payload +
				 ((s->l4 == IPPROTO_ICMP || s->l4 == 58) && s->frag != FRAG_LATER ? 8 : 0),
				 templates[i].name);
	}
}

int main(void)
{
	RUN(parse_ipv4_tcp);
	RUN(parse_ipv4_udp);
	RUN(parse_ipv4_options);
	RUN(parse_ipv4_max_options_udp);
	RUN(parse_ipv6_tcp);
	RUN(parse_ipv6_udp);
	RUN(parse_ipv6_hop_by_hop);
	RUN(parse_ipv6_routing);
	RUN(parse_ipv6_dest_opts);
	RUN(parse_ipv6_fragment_atomic);
	RUN(parse_ipv6_ah);
	RUN(parse_ipv6_ext_chain);
	RUN(parse_ipv6_ext_chain_at_limit);
	RUN(parse_ipv6_ext_chain_too_long);
	RUN(parse_vlan_ipv4);
	RUN(parse_vlan_ipv6);
	RUN(parse_qinq_ipv4);
	RUN(parse_qinq_ipv6_ext);
	RUN(parse_non_ip_passes);
	RUN(parse_deep_vlan_stacks);
	RUN(parse_icmp_default_policy);
	RUN(parse_icmpv6_default_policy);
	RUN(parse_bad_ip_version_or_ihl);
	RUN(parse_frames_shorter_than_ethernet_rejected);
	RUN(truncation_layouts_match_frames);
	RUN(truncation_banned_source_never_passes);
	RUN(truncation_clean_source);
	return tl_exit_code();
}
