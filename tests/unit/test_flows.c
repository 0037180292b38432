// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Established-flow tests: the TC egress program opens a flow on the server's
 * SYN-ACK; the server's FIN or RST, a client RST the server's stack accepts
 * (exact sequence number, server silent after it) or the idle timer end it
 * exactly once, and nothing else the client sends does;
 * XDP enforces max_conns per source and the new-source budget, and the
 * server's first packet after the handshake verifies the source.
 *
 * Client->server frames go through edgeguard_xdp, server->client frames
 * through edgeguard_tc_egress. The budget tests hold the datapath clock still
 * (see hold()) so their GCRA arithmetic is exact on a loaded machine; the idle
 * timer runs in real time, so those cases poll with generous bounds.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <time.h>
#include "datapath_fixture.h"

#ifndef TH_FIN
#define TH_FIN 0x01
#endif
#ifndef TH_RST
#define TH_RST 0x04
#endif
#define TH_PSH 0x08

#ifndef TC_ACT_OK
#define TC_ACT_OK 0
#endif

#define PORT 80
#define SRV4 "192.0.2.1"        /* frames.h's default IPv4 destination */
#define SRV6 "2001:db8:ffff::1" /* and IPv6 destination */
#define C1 "198.51.100.1"
#define C2 "198.51.100.2"
#define C3 "198.51.100.3"

#define FL_MAX_FLOWS 256
#define FL_MAX_VERIFIED 256

/* Real-time polls: 20 ms steps, at most this many (20 s) before giving up. */
#define POLL_STEPS 1000

static inline const char *srv_of(const char *client)
{
	return strchr(client, ':') ? SRV6 : SRV4;
}

/*
 * Client to server (XDP) and server to client (TC egress) on tcp/PORT. The
 * client's next sequence number is CSEQ throughout, and the server's
 * segments acknowledge it, so a client RST with seq CSEQ is the one the
 * server's stack would accept (C2S_SEQ sends another).
 */
#define CSEQ 1000u
#define C2S_SEQ(c, cp, fl, sq) SPEC(.src = (c), .dst = srv_of(c), .sport = (cp), .dport = PORT, \
				    .tcp_flags = (fl), .seq = (sq))
#define C2S(c, cp, fl) C2S_SEQ(c, cp, fl, CSEQ)
#define S2C(c, cp, fl) SPEC(.src = srv_of(c), .dst = (c), .sport = PORT, .dport = (cp), \
			    .tcp_flags = (fl), .ack = CSEQ)
#define S2C_DATA(c, cp) SPEC(.src = srv_of(c), .dst = (c), .sport = PORT, .dport = (cp), \
			     .tcp_flags = TH_ACK | TH_PSH, .payload = 100, .ack = CSEQ)

/*
 * A held clock: 0 = the datapath's clock runs with real time. Otherwise each
 * frame first sets the offset so the datapath reads held_ns plus the few
 * microseconds until the program runs, and held_ns then moves on by that
 * whole window. The program's clock is thus monotonic (a frame never reads
 * earlier than the one before) yet moves only while a frame is in flight,
 * so GCRA boundaries are exact however slowly the test itself runs.
 */
static uint64_t held_ns, pin_start_ns;

static void hold(struct fx *f, uint64_t at)
{
	held_ns = at;
	(void)f;
}

/* The fixture's before_run and after_run hooks. */
static void pin_clock(struct fx *f)
{
	if (!held_ns)
		return;
	pin_start_ns = eg_now_ns();
	f->skel->bss->eg_clock_offset_ns = held_ns - pin_start_ns;
}

static void unpin_clock(struct fx *f)
{
	(void)f;
	if (held_ns)
		held_ns += eg_now_ns() - pin_start_ns;
}

/* Holds the clock 1000 s ahead of boot time, so the offset stays positive. */
static void hold_now(struct fx *f)
{
	hold(f, eg_now_ns() + 1000 * NS_PER_SEC);
}

static void step(struct fx *f, uint64_t ns)
{
	hold(f, held_ns + ns);
}

/* Runs one frame through prog_fd under the held clock; 0 or -errno. */
static int run_prog(struct fx *f, int prog_fd, const struct frame_spec *s, int *ret)
{
	uint8_t buf[FRAME_MAX];
	size_t len = fx_build(s, buf);

	return len ? fx_run_prog(f, prog_fd, buf, len, ret) : -EINVAL;
}

static int fl_open(struct fx *f, uint32_t max_flows)
{
	struct eg_sizes sz = fx_sizes();

	sz.max_flows = max_flows;
	sz.max_verified = FL_MAX_VERIFIED;
	held_ns = 0;
	if (fx_open_sized(f, &sz))
		return -1;
	f->before_run = pin_clock;
	f->after_run = unpin_clock;
	return 0;
}

#define FL_CASE_SIZED(name, max_flows)               \
	static void name##_body(struct fx *f);       \
	static void name(void)                       \
	{                                            \
		struct fx fxs;                       \
		if (fl_open(&fxs, max_flows) == 0)   \
			name##_body(&fxs);           \
		fx_close(&fxs);                      \
	}                                            \
	static void name##_body(struct fx *f)

#define FL_CASE(name) FL_CASE_SIZED(name, FL_MAX_FLOWS)

/* Client to server: XDP's verdict and its one verdict counter. */
#define xdp(f, s, want, reason) expect_prog_frame(f, (f)->prog_fd, s, want, reason, __LINE__)
/* Server to client: egress always passes and never moves a verdict counter. */
#define tc(f, s) expect_prog_frame(f, (f)->tc_fd, s, TC_ACT_OK, EG_R_VERDICTS, __LINE__)

/* The client's SYN gets through, the server answers: one tracked flow. */
#define establish(f, c, cp)                                            \
	do {                                                           \
		xdp(f, C2S(c, cp, TH_SYN), XDP_PASS, EG_R_PASSED);     \
		tc(f, S2C(c, cp, TH_SYN | TH_ACK));                    \
	} while (0)

static struct eg_policy_table table(void)
{
	struct eg_policy_table t;

	eg_policy_table_init(&t);
	return t;
}

/* Installs one tcp/PORT rule (slot 1) built from spec. */
static unsigned int install_rule(struct fx *f, struct eg_policy_table *t,
				 const struct eg_policy_spec *spec)
{
	unsigned int slot = fx_rule(t, EG_L4_TCP, PORT, PORT, spec);

	fx_install(f, t);
	return slot;
}

static struct eg_source_key src_key(const char *addr, uint32_t slot)
{
	struct eg_source_key k;

	memset(&k, 0, sizeof(k));
	k.addr = fx_addr(addr);
	k.policy = slot;
	return k;
}

/* The owner's connection count; -1 when it has no eg_conns entry at all. */
static long long conns(struct fx *f, const char *addr, uint32_t slot)
{
	struct eg_source_key k = src_key(addr, slot);
	uint64_t n;

	if (bpf_map_lookup_elem(f->m.conns, &k, &n))
		return -1;
	return (long long)n;
}

static struct eg_flow_key flow_key(const char *client, uint16_t cport)
{
	struct eg_flow_key k;

	memset(&k, 0, sizeof(k));
	k.client = fx_addr(client);
	k.server = fx_addr(srv_of(client));
	k.client_port = cport;
	k.server_port = PORT;
	return k;
}

static bool flow_get(struct fx *f, const char *client, uint16_t cport, struct eg_flow *out)
{
	struct eg_flow_key k = flow_key(client, cport);
	struct eg_flow tmp;

	return bpf_map_lookup_elem(f->m.flows, &k, out ? out : &tmp) == 0;
}

static int nflows(struct fx *f)
{
	return fx_map_count(f->m.flows, sizeof(struct eg_flow_key));
}

static bool verified_get(struct fx *f, const char *addr, uint32_t slot, struct eg_verified *out)
{
	struct eg_source_key k = src_key(addr, slot);
	struct eg_verified tmp;

	return bpf_map_lookup_elem(f->m.verified, &k, out ? out : &tmp) == 0;
}

static bool source_get(struct fx *f, const char *addr, uint32_t slot, struct eg_source *out)
{
	struct eg_source_key k = src_key(addr, slot);
	struct eg_source tmp;

	return bpf_map_lookup_elem(f->m.sources, &k, out ? out : &tmp) == 0;
}

/* Flow counters in one snapshot. */
struct flowc {
	uint64_t opened, closed, reaped, full, verified;
};

static struct flowc flowc(struct fx *f)
{
	uint64_t c[EG_R_MAX];

	fx_counters(f, c);
	return (struct flowc){
		.opened = c[EG_R_FLOW_OPENED],
		.closed = c[EG_R_FLOW_CLOSED],
		.reaped = c[EG_R_FLOW_REAPED],
		.full = c[EG_R_FLOW_FULL],
		.verified = c[EG_R_VERIFIED],
	};
}

#define CHECK_FLOWC(f, o, c, r, fu, v)                                   \
	do {                                                             \
		struct flowc fc_ = flowc(f);                             \
		CHECK_EQ(fc_.opened, o, "flow_opened");                  \
		CHECK_EQ(fc_.closed, c, "flow_closed");                  \
		CHECK_EQ(fc_.reaped, r, "flow_reaped");                  \
		CHECK_EQ(fc_.full, fu, "flow_table_full");               \
		CHECK_EQ(fc_.verified, v, "verified");                   \
	} while (0)

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static const struct eg_policy_spec capped = { .max_conns = 10 };

/* ---- opening ---- */

FL_CASE(synack_opens_exactly_one_flow)
{
	struct eg_policy_table t = table();
	unsigned int slot = install_rule(f, &t, &capped);
	struct eg_source_key owner = src_key(C1, slot);
	struct eg_flow fl;

	xdp(f, C2S(C1, 40001, TH_SYN), XDP_PASS, EG_R_PASSED);
	CHECK_EQ(nflows(f), 0, "flows after the SYN alone");
	CHECK_EQ(conns(f, C1, slot), -1, "no count before the SYN-ACK");
	tc(f, S2C(C1, 40001, TH_SYN | TH_ACK));
	CHECK_EQ(nflows(f), 1, "flows");
	CHECK_EQ(conns(f, C1, slot), 1, "conns");
	CHECK(flow_get(f, C1, 40001, &fl), "flow %s:40001 not in eg_flows", C1);
	CHECK(memcmp(&fl.owner, &owner, sizeof(owner)) == 0, "flow owner is not (%s, slot %u)",
	      C1, slot);
	CHECK_EQ(fl.verified, 0, "flow verified");
	CHECK(fl.last_seen_ns != 0, "flow last_seen_ns is 0");
	CHECK_FLOWC(f, 1, 0, 0, 0, 0);

	/* Retransmitted SYN-ACKs: same flow, no second slot, not "table full". */
	tc(f, S2C(C1, 40001, TH_SYN | TH_ACK));
	tc(f, S2C(C1, 40001, TH_SYN | TH_ACK));
	CHECK_EQ(nflows(f), 1, "flows after retransmits");
	CHECK_EQ(conns(f, C1, slot), 1, "conns after retransmits");
	CHECK_FLOWC(f, 1, 0, 0, 0, 0);

	/* A second connection of the same client is a second flow. */
	establish(f, C1, 40002);
	CHECK_EQ(nflows(f), 2, "flows");
	CHECK_EQ(conns(f, C1, slot), 2, "conns");
	CHECK_FLOWC(f, 2, 0, 0, 0, 0);
}

FL_CASE(synack_untracked_without_cap_or_budget)
{
	struct eg_policy_table t = table();
	struct eg_policy_spec rated = { .syn = fx_rate(100, 100), .pkt = fx_rate(1000, 1000) };

	/* tcp/PORT has limits but neither max_conns nor a budget; the default has nothing. */
	install_rule(f, &t, &rated);
	establish(f, C1, 40001);
	tc(f, S2C_DATA(C1, 40001));
	xdp(f, SPEC(.src = C1, .dport = 9999, .sport = 40002, .tcp_flags = TH_SYN), XDP_PASS,
	    EG_R_PASSED);
	tc(f, SPEC(.src = SRV4, .dst = C1, .sport = 9999, .dport = 40002,
		   .tcp_flags = TH_SYN | TH_ACK));
	CHECK_EQ(nflows(f), 0, "flows");
	CHECK_EQ(fx_map_count(f->m.conns, sizeof(struct eg_source_key)), 0, "eg_conns entries");
	CHECK_EQ(fx_map_count(f->m.verified, sizeof(struct eg_source_key)), 0,
		 "eg_verified entries");
	CHECK_FLOWC(f, 0, 0, 0, 0, 0);
}

FL_CASE_SIZED(flow_table_full_leaves_count, 2)
{
	struct eg_policy_table t = table();
	unsigned int slot = install_rule(f, &t, &capped);

	establish(f, C1, 40001);
	establish(f, C1, 40002);
	CHECK_EQ(nflows(f), 2, "flows");
	establish(f, C1, 40003);
	establish(f, C2, 40001);
	CHECK_EQ(nflows(f), 2, "flows with the table full");
	CHECK_EQ(conns(f, C1, slot), 2, "conns of C1");
	CHECK(conns(f, C2, slot) <= 0, "conns of C2: %lld, want none", conns(f, C2, slot));
	CHECK(!flow_get(f, C1, 40003, NULL), "untracked flow is in eg_flows");
	CHECK_FLOWC(f, 2, 0, 0, 2, 0);

	/* A retransmitted SYN-ACK of a tracked flow is no "table full". */
	tc(f, S2C(C1, 40001, TH_SYN | TH_ACK));
	CHECK_FLOWC(f, 2, 0, 0, 2, 0);

	/* An untracked flow's FIN gives back nothing it never took. */
	tc(f, S2C(C1, 40003, TH_FIN | TH_ACK));
	CHECK_EQ(conns(f, C1, slot), 2, "conns of C1 after the untracked FIN");

	/* Room again after a close. */
	tc(f, S2C(C1, 40001, TH_FIN | TH_ACK));
	tc(f, S2C(C2, 40001, TH_SYN | TH_ACK));
	CHECK_EQ(conns(f, C1, slot), 1, "conns of C1");
	CHECK_EQ(conns(f, C2, slot), 1, "conns of C2");
	CHECK_EQ(nflows(f), 2, "flows");
	CHECK_FLOWC(f, 3, 1, 0, 2, 0);
}

/* ---- closing ---- */

/* Runs the flow sweep (edgeguardd's, and the datapath's own timer's) once. */
static bool sweep(struct fx *f);

/*
 * The kernel ignores a FIN or RST it does not accept, so a client can send
 * them at will: none of them may give a connection slot back while the
 * connection lives on (a max_conns bypass). Only the server's own FIN or
 * RST ends a flow at once.
 */
FL_CASE(client_fin_or_forged_rst_ends_nothing)
{
	struct eg_policy_table t = table();
	unsigned int slot = install_rule(f, &t, &capped);
	struct eg_flow fl;

	establish(f, C1, 40001);
	establish(f, C1, 40002);
	CHECK(flow_get(f, C1, 40001, &fl) && fl.server_ack == CSEQ, "server ACK not tracked: %u",
	      fl.server_ack);
	/* A FIN: the server's application may well keep its side open. */
	xdp(f, C2S(C1, 40001, TH_FIN | TH_ACK), XDP_PASS, EG_R_PASSED);
	/* RSTs the server's stack refuses: below, above, far off its next sequence number. */
	xdp(f, C2S_SEQ(C1, 40001, TH_RST, CSEQ - 1), XDP_PASS, EG_R_PASSED);
	xdp(f, C2S_SEQ(C1, 40001, TH_RST | TH_ACK, CSEQ + 1), XDP_PASS, EG_R_PASSED);
	xdp(f, C2S_SEQ(C1, 40001, TH_RST, CSEQ + 0x40000000u), XDP_PASS, EG_R_PASSED);
	CHECK(flow_get(f, C1, 40001, &fl), "flow ended by the client's word alone");
	CHECK_EQ(fl.rst_ns, 0, "a refused RST is pending");
	/* However long the server then keeps quiet. */
	f->skel->bss->eg_clock_offset_ns += 10 * NS_PER_SEC;
	sweep(f);
	CHECK(flow_get(f, C1, 40001, NULL), "flow swept after refused RSTs");
	CHECK_EQ(conns(f, C1, slot), 2, "conns");
	CHECK_FLOWC(f, 2, 0, 0, 0, 0);

	/* The server's own FIN ends it, once; repeats and the RST after it change nothing. */
	tc(f, S2C(C1, 40001, TH_FIN | TH_ACK));
	CHECK(!flow_get(f, C1, 40001, NULL), "flow still tracked after the server's FIN");
	CHECK(flow_get(f, C1, 40002, NULL), "the other flow went too");
	CHECK_EQ(conns(f, C1, slot), 1, "conns");
	tc(f, S2C(C1, 40001, TH_FIN | TH_ACK));
	tc(f, S2C(C1, 40001, TH_RST | TH_ACK));
	xdp(f, C2S(C1, 40001, TH_RST), XDP_PASS, EG_R_PASSED);
	CHECK_EQ(conns(f, C1, slot), 1, "conns after repeated ends");
	CHECK_EQ(nflows(f), 1, "flows");
	CHECK_FLOWC(f, 2, 1, 0, 0, 0);

	/* The last one by the server's RST: the count stops at zero. */
	tc(f, S2C(C1, 40002, TH_RST));
	tc(f, S2C(C1, 40002, TH_RST));
	CHECK_EQ(conns(f, C1, slot), 0, "conns");
	CHECK_EQ(nflows(f), 0, "flows");
	CHECK_FLOWC(f, 2, 2, 0, 0, 0);
}

/*
 * A client RST with exactly the server's next sequence number is what the
 * server's stack accepts: the flow ends once the server has stayed silent
 * for EG_RST_CONFIRM_NS. If the server still sends (the client had data in
 * flight, the stack answered with a challenge ACK), it was refused.
 */
FL_CASE(client_rst_ends_flow_once_the_server_is_silent)
{
	struct eg_policy_table t = table();
	unsigned int slot = install_rule(f, &t, &capped);
	struct eg_flow fl;

	establish(f, C1, 40001);
	establish(f, C1, 40002);
	xdp(f, C2S(C1, 40001, TH_RST), XDP_PASS, EG_R_PASSED);
	CHECK(flow_get(f, C1, 40001, &fl) && fl.rst_ns, "exact RST not pending");
	CHECK_EQ(conns(f, C1, slot), 2, "conns while the RST is pending");
	/* The server answers: a challenge ACK. The RST did not take. */
	tc(f, S2C(C1, 40001, TH_ACK));
	CHECK(flow_get(f, C1, 40001, &fl) && !fl.rst_ns, "RST still pending after the server spoke");
	f->skel->bss->eg_clock_offset_ns += 2 * EG_RST_CONFIRM_NS;
	sweep(f);
	CHECK(flow_get(f, C1, 40001, NULL), "flow ended by a refused RST");
	CHECK_EQ(conns(f, C1, slot), 2, "conns");

	/* Again, and this time the server stays silent. */
	xdp(f, C2S(C1, 40001, TH_RST | TH_ACK), XDP_PASS, EG_R_PASSED);
	sweep(f);
	CHECK(flow_get(f, C1, 40001, NULL), "flow ended before the server had time to answer");
	f->skel->bss->eg_clock_offset_ns += EG_RST_CONFIRM_NS;
	sweep(f);
	CHECK(!flow_get(f, C1, 40001, NULL), "accepted RST did not end the flow");
	CHECK(flow_get(f, C1, 40002, NULL), "the other flow went too");
	CHECK_EQ(conns(f, C1, slot), 1, "conns");
	/* (The challenge ACK was the server talking after the handshake: verified.) */
	CHECK_FLOWC(f, 2, 1, 0, 0, 1);
	CHECK_EQ(fx_counter(f, EG_R_FLOW_SWEPT), 0, "flow_swept");
	/* A late copy of the RST, and the server's RST, find nothing more. */
	xdp(f, C2S(C1, 40001, TH_RST), XDP_PASS, EG_R_PASSED);
	tc(f, S2C(C1, 40001, TH_RST));
	CHECK_EQ(conns(f, C1, slot), 1, "conns");
	CHECK_FLOWC(f, 2, 1, 0, 0, 1);
}

FL_CASE(simultaneous_close_either_order)
{
	struct eg_policy_table t = table();
	unsigned int slot = install_rule(f, &t, &capped);

	establish(f, C1, 40001);
	establish(f, C1, 40002);
	/* Client first, then server: the server's FIN ends it. */
	xdp(f, C2S(C1, 40001, TH_FIN | TH_ACK), XDP_PASS, EG_R_PASSED);
	CHECK_EQ(conns(f, C1, slot), 2, "conns after the client's FIN");
	tc(f, S2C(C1, 40001, TH_FIN | TH_ACK));
	CHECK_EQ(conns(f, C1, slot), 1, "conns");
	CHECK_FLOWC(f, 2, 1, 0, 0, 0);
	/* Server first, then client, then the last ACKs. */
	tc(f, S2C(C1, 40002, TH_FIN | TH_ACK));
	CHECK_EQ(conns(f, C1, slot), 0, "conns");
	xdp(f, C2S(C1, 40002, TH_FIN | TH_ACK), XDP_PASS, EG_R_PASSED);
	xdp(f, C2S(C1, 40002, TH_ACK), XDP_PASS, EG_R_PASSED);
	tc(f, S2C(C1, 40002, TH_ACK));
	CHECK_EQ(conns(f, C1, slot), 0, "conns");
	CHECK_EQ(nflows(f), 0, "flows");
	CHECK_EQ(fx_map_count(f->m.verified, sizeof(struct eg_source_key)), 0,
		 "a closed flow's last ACK verified the source");
	CHECK_FLOWC(f, 2, 2, 0, 0, 0);
}

FL_CASE(server_rst_ends_flow)
{
	struct eg_policy_table t = table();
	unsigned int slot = install_rule(f, &t, &capped);

	establish(f, C1, 40001);
	establish(f, C1, 40002);
	tc(f, S2C(C1, 40001, TH_RST));
	tc(f, S2C(C1, 40002, TH_RST | TH_ACK));
	CHECK_EQ(nflows(f), 0, "flows");
	CHECK_EQ(conns(f, C1, slot), 0, "conns");
	CHECK_FLOWC(f, 2, 2, 0, 0, 0);
	/* The client's RST answering it finds nothing left. */
	xdp(f, C2S(C1, 40001, TH_RST), XDP_PASS, EG_R_PASSED);
	CHECK_EQ(conns(f, C1, slot), 0, "conns");
	CHECK_FLOWC(f, 2, 2, 0, 0, 0);
}

FL_CASE(fin_rst_for_unknown_flow_change_nothing)
{
	struct eg_policy_table t = table();
	unsigned int slot = install_rule(f, &t, &capped);

	establish(f, C1, 40001);
	/* Another client port, another client, another server port, no flow at all. */
	xdp(f, C2S(C1, 40009, TH_FIN | TH_ACK), XDP_PASS, EG_R_PASSED);
	xdp(f, C2S(C1, 40009, TH_RST), XDP_PASS, EG_R_PASSED);
	tc(f, S2C(C1, 40009, TH_FIN | TH_ACK));
	tc(f, S2C(C1, 40009, TH_RST));
	xdp(f, C2S(C2, 40001, TH_FIN | TH_ACK), XDP_PASS, EG_R_PASSED);
	tc(f, S2C(C2, 40001, TH_RST));
	xdp(f, SPEC(.src = C1, .dst = SRV4, .sport = 40001, .dport = 81,
		    .tcp_flags = TH_FIN | TH_ACK), XDP_PASS, EG_R_PASSED);
	tc(f, SPEC(.src = SRV4, .dst = C1, .sport = 81, .dport = 40001, .tcp_flags = TH_RST));
	/* Same ports, another server address. */
	xdp(f, SPEC(.src = C1, .dst = "192.0.2.2", .sport = 40001, .dport = PORT,
		    .tcp_flags = TH_RST), XDP_PASS, EG_R_PASSED);
	CHECK(flow_get(f, C1, 40001, NULL), "the real flow is gone");
	CHECK_EQ(nflows(f), 1, "flows");
	CHECK_EQ(conns(f, C1, slot), 1, "conns of C1");
	CHECK_EQ(conns(f, C2, slot), -1, "conns of C2 (no entry)");
	CHECK_EQ(fx_map_count(f->m.conns, sizeof(struct eg_source_key)), 1, "eg_conns entries");
	CHECK_FLOWC(f, 1, 0, 0, 0, 0);
}

FL_CASE(allowlisted_client_rst_ends_flow)
{
	struct eg_policy_table t = table();
	unsigned int slot = install_rule(f, &t, &capped);

	establish(f, C1, 40001);
	fx_allow(f, C1 "/32");
	xdp(f, C2S(C1, 40001, TH_FIN | TH_ACK), XDP_PASS, EG_R_ALLOWLISTED);
	xdp(f, C2S_SEQ(C1, 40001, TH_RST, CSEQ + 7), XDP_PASS, EG_R_ALLOWLISTED);
	f->skel->bss->eg_clock_offset_ns += 2 * EG_RST_CONFIRM_NS;
	sweep(f);
	CHECK_EQ(nflows(f), 1, "flows after a FIN and a refused RST");
	xdp(f, C2S(C1, 40001, TH_RST), XDP_PASS, EG_R_ALLOWLISTED);
	f->skel->bss->eg_clock_offset_ns += 2 * EG_RST_CONFIRM_NS;
	sweep(f);
	CHECK_EQ(nflows(f), 0, "flows");
	CHECK_EQ(conns(f, C1, slot), 0, "conns");
	CHECK_FLOWC(f, 1, 1, 0, 0, 0);
}

/* ---- max_conns ---- */

FL_CASE(conn_limit_caps_syns_per_source)
{
	struct eg_policy_table t = table();
	struct eg_policy_spec spec = { .max_conns = 3 };
	unsigned int slot = install_rule(f, &t, &spec);
	struct eg_policy_counters pc;

	establish(f, C1, 40001);
	establish(f, C1, 40002);
	establish(f, C1, 40003);
	CHECK_EQ(conns(f, C1, slot), 3, "conns");
	xdp(f, C2S(C1, 40004, TH_SYN), XDP_DROP, EG_R_CONN_LIMIT);
	xdp(f, C2S(C1, 40005, TH_SYN), XDP_DROP, EG_R_CONN_LIMIT);
	pc = fx_pc(f, slot);
	CHECK_EQ(pc.c[EG_PC_CONN_DROP], 2, "per-policy conn drops");
	CHECK_EQ(pc.c[EG_PC_SYN_DROP] + pc.c[EG_PC_PKT_DROP] + pc.c[EG_PC_BUDGET_DROP], 0,
		 "per-policy other drops");
	/* Only SYNs are capped: the open connections keep working. */
	xdp(f, C2S(C1, 40001, TH_ACK), XDP_PASS, EG_R_PASSED);
	/* Another source has its own count; another policy is not capped. */
	establish(f, C2, 40001);
	xdp(f, SPEC(.src = C1, .dst = SRV4, .sport = 40006, .dport = 81, .tcp_flags = TH_SYN),
	    XDP_PASS, EG_R_PASSED);
	/* A client FIN frees nothing; the server's side closing frees exactly one slot. */
	xdp(f, C2S(C1, 40002, TH_FIN | TH_ACK), XDP_PASS, EG_R_PASSED);
	xdp(f, C2S(C1, 40009, TH_SYN), XDP_DROP, EG_R_CONN_LIMIT);
	tc(f, S2C(C1, 40002, TH_FIN | TH_ACK));
	CHECK_EQ(conns(f, C1, slot), 2, "conns after a close");
	establish(f, C1, 40007);
	xdp(f, C2S(C1, 40008, TH_SYN), XDP_DROP, EG_R_CONN_LIMIT);
	CHECK_EQ(conns(f, C1, slot), 3, "conns");
	CHECK_EQ(conns(f, C2, slot), 1, "conns of C2");
	CHECK_EQ(fx_counter(f, EG_R_CONN_LIMIT), 4, "conn_limit");
	CHECK_EQ(fx_pc(f, slot).c[EG_PC_CONN_DROP], 4, "per-policy conn drops");
}

FL_CASE(conn_limit_never_autobans)
{
	struct eg_policy_table t = table();
	struct eg_policy_spec spec = {
		.max_conns = 1, .pkt = fx_rate(1000, 1000),
		.ban_after = 1, .ban_window_s = 60, .ban_ttl_s = 60,
	};
	unsigned int slot = install_rule(f, &t, &spec);
	struct eg_source s;

	establish(f, C1, 40001);
	/* The handshake's ACK is the source's second packet: it makes its state. */
	xdp(f, C2S(C1, 40001, TH_ACK), XDP_PASS, EG_R_PASSED);
	for (int i = 0; i < 5; i++)
		xdp(f, C2S(C1, 40002 + i, TH_SYN), XDP_DROP, EG_R_CONN_LIMIT);
	CHECK_EQ(fx_counter(f, EG_R_AUTOBAN), 0, "autoban");
	CHECK_EQ(fx_pc(f, slot).c[EG_PC_AUTOBAN], 0, "per-policy autoban");
	CHECK_EQ(fx_map_count(f->m.ban_exact, sizeof(struct eg_addr)), 0, "exact bans");
	CHECK(source_get(f, C1, slot, &s), "no eg_sources entry for %s", C1);
	CHECK_EQ(s.drops, 0, "drops noted on the source");
	CHECK_EQ(s.window_drops, 0, "window drops noted on the source");
	xdp(f, C2S(C1, 40001, TH_ACK), XDP_PASS, EG_R_PASSED);
	/* Room again: the SYN passes, nothing was banned. */
	tc(f, S2C(C1, 40001, TH_RST));
	xdp(f, C2S(C1, 40010, TH_SYN), XDP_PASS, EG_R_PASSED);
}

FL_CASE(conn_limit_dry_run_passes)
{
	struct eg_policy_table t = table();
	struct eg_policy_spec spec = { .max_conns = 1, .mode = EG_MODE_DRY_RUN };
	unsigned int slot = install_rule(f, &t, &spec);
	struct eg_policy_counters pc;

	establish(f, C1, 40001);
	xdp(f, C2S(C1, 40002, TH_SYN), XDP_PASS, EG_R_DRY_RUN_WOULD_DROP);
	pc = fx_pc(f, slot);
	CHECK_EQ(pc.c[EG_PC_WOULD_DROP], 1, "per-policy would-drop");
	CHECK_EQ(pc.c[EG_PC_CONN_DROP], 0, "per-policy conn drops");
	CHECK_EQ(fx_counter(f, EG_R_CONN_LIMIT), 0, "conn_limit");
	/* The server accepts it, so it is counted like any other flow. */
	tc(f, S2C(C1, 40002, TH_SYN | TH_ACK));
	CHECK_EQ(conns(f, C1, slot), 2, "conns");
}

FL_CASE(ipv6_flows_share_slash64)
{
	struct eg_policy_table t = table();
	struct eg_policy_spec spec = { .max_conns = 2 };
	unsigned int slot = install_rule(f, &t, &spec);
	struct eg_source_key owner = src_key("2001:db8:1::", slot);
	struct eg_flow fl;

	CHECK_EQ(fx_config(f).v6_prefix, 64, "v6_prefix");
	establish(f, "2001:db8:1::1", 40001);
	establish(f, "2001:db8:1::2", 40001);
	CHECK_EQ(conns(f, "2001:db8:1::", slot), 2, "conns of the /64");
	CHECK_EQ(conns(f, "2001:db8:1::1", slot), -1, "conns of the unmasked address");
	CHECK_EQ(nflows(f), 2, "flows (full addresses)");
	CHECK(flow_get(f, "2001:db8:1::2", 40001, &fl), "flow of ::2 missing");
	CHECK(memcmp(&fl.owner, &owner, sizeof(owner)) == 0, "flow owner is not the /64");
	xdp(f, C2S("2001:db8:1::3", 40001, TH_SYN), XDP_DROP, EG_R_CONN_LIMIT);
	xdp(f, C2S("2001:db8:2::1", 40001, TH_SYN), XDP_PASS, EG_R_PASSED);
	tc(f, S2C("2001:db8:1::1", 40001, TH_FIN | TH_ACK));
	CHECK_EQ(conns(f, "2001:db8:1::", slot), 1, "conns of the /64 after a close");
	establish(f, "2001:db8:1::3", 40001);
	CHECK_EQ(conns(f, "2001:db8:1::", slot), 2, "conns of the /64");
	tc(f, S2C("2001:db8:1::2", 40001, TH_RST));
	tc(f, S2C("2001:db8:1::3", 40001, TH_FIN | TH_ACK));
	CHECK_EQ(conns(f, "2001:db8:1::", slot), 0, "conns of the /64 at the end");
	CHECK_EQ(nflows(f), 0, "flows");
	CHECK_FLOWC(f, 3, 3, 0, 0, 0);
}

FL_CASE(ipv6_prefix_128_counts_each_address)
{
	struct eg_policy_table t = table();
	struct eg_policy_spec spec = { .max_conns = 1 };
	unsigned int slot;

	t.v6_prefix = 128;
	slot = install_rule(f, &t, &spec);
	establish(f, "2001:db8:1::1", 40001);
	xdp(f, C2S("2001:db8:1::1", 40002, TH_SYN), XDP_DROP, EG_R_CONN_LIMIT);
	establish(f, "2001:db8:1::2", 40001);
	CHECK_EQ(conns(f, "2001:db8:1::1", slot), 1, "conns of ::1");
	CHECK_EQ(conns(f, "2001:db8:1::2", slot), 1, "conns of ::2");
}

/* ---- verified sources ---- */

static const struct eg_policy_spec budgeted = { .new_source_budget = { true, 10, 10 } };

FL_CASE(server_data_verifies_source)
{
	struct eg_policy_table t = table();
	unsigned int slot = install_rule(f, &t, &budgeted);
	struct eg_verified v;
	struct eg_flow fl;
	uint64_t at;

	establish(f, C1, 40001);
	CHECK(!verified_get(f, C1, slot, NULL), "verified after the SYN-ACK alone");
	/* The client's own ACK proves nothing about its address. */
	xdp(f, C2S(C1, 40001, TH_ACK), XDP_PASS, EG_R_PASSED);
	CHECK(!verified_get(f, C1, slot, NULL), "verified by the client's ACK");
	/* Server traffic on another flow proves nothing either. */
	tc(f, S2C(C1, 40099, TH_ACK));
	CHECK(!verified_get(f, C1, slot, NULL), "verified by server traffic on no flow");
	CHECK_FLOWC(f, 1, 0, 0, 0, 0);

	hold_now(f);
	at = held_ns;
	tc(f, S2C_DATA(C1, 40001));
	CHECK(verified_get(f, C1, slot, &v), "not verified after the server's data");
	CHECK(v.verified_ns >= at && v.verified_ns <= held_ns,
	      "verified_ns %llu is not the datapath's now (%llu..%llu)",
	      (unsigned long long)v.verified_ns, (unsigned long long)at,
	      (unsigned long long)held_ns);
	CHECK(flow_get(f, C1, 40001, &fl) && fl.verified == 1, "flow not marked verified");
	CHECK(fl.last_seen_ns == v.verified_ns, "last_seen_ns not refreshed by the data");
	CHECK_FLOWC(f, 1, 0, 0, 0, 1);
	/* More data and a second verified flow: still one verification. */
	tc(f, S2C(C1, 40001, TH_ACK));
	establish(f, C1, 40002);
	tc(f, S2C(C1, 40002, TH_ACK));
	CHECK_EQ(fx_map_count(f->m.verified, sizeof(struct eg_source_key)), 1,
		 "eg_verified entries");
	CHECK_FLOWC(f, 2, 0, 0, 0, 1);
}

FL_CASE(verification_keeps_bucket_state)
{
	struct eg_policy_table t = table();
	struct eg_policy_spec spec = {
		.syn = fx_rate(1, 3), .new_source_budget = { true, 1000, 1000 },
	};
	unsigned int slot = install_rule(f, &t, &spec);
	struct eg_source before, after;
	struct eg_verified v;

	hold_now(f);
	xdp(f, C2S(C1, 40001, TH_SYN), XDP_PASS, EG_R_PASSED);
	xdp(f, C2S(C1, 40002, TH_SYN), XDP_PASS, EG_R_PASSED);
	tc(f, S2C(C1, 40001, TH_SYN | TH_ACK));
	CHECK(source_get(f, C1, slot, &before), "no eg_sources entry");
	CHECK_EQ(before.syns, 2, "syns before verification");
	tc(f, S2C(C1, 40001, TH_ACK));
	CHECK(verified_get(f, C1, slot, &v), "not verified");
	CHECK(memcmp(&v.state, &before, sizeof(before)) == 0,
	      "verified state is not a copy of the eg_sources entry");
	/* One SYN token left of the burst of 3, now spent from the verified copy. */
	xdp(f, C2S(C1, 40003, TH_SYN), XDP_PASS, EG_R_PASSED);
	xdp(f, C2S(C1, 40004, TH_SYN), XDP_DROP, EG_R_SYN_RATE);
	CHECK(verified_get(f, C1, slot, &v), "verified entry gone");
	CHECK_EQ(v.state.syns, 4, "syns in the verified state");
	CHECK(source_get(f, C1, slot, &after), "eg_sources entry gone");
	CHECK(memcmp(&after, &before, sizeof(before)) == 0,
	      "eg_sources entry changed after verification");
	step(f, NS_PER_SEC);
	xdp(f, C2S(C1, 40005, TH_SYN), XDP_PASS, EG_R_PASSED);
}

FL_CASE(flow_with_only_max_conns_verifies_too)
{
	struct eg_policy_table t = table();
	unsigned int slot = install_rule(f, &t, &capped);

	establish(f, C1, 40001);
	tc(f, S2C_DATA(C1, 40001));
	CHECK(verified_get(f, C1, slot, NULL), "not verified");
	CHECK_FLOWC(f, 1, 0, 0, 0, 1);
}

/* ---- new-source budget ---- */

/* "203.0.113.i"; the strings stay valid for the whole run. */
static const char *nth_source(int i)
{
	static char names[255][20];

	if (i < 1 || i > 254)
		i = 254;
	if (!names[i][0])
		snprintf(names[i], sizeof(names[i]), "203.0.113.%d", i);
	return names[i];
}

/* Sends SYNs from new sources first..first+n-1, each expected to pass. */
static int new_sources_pass(struct fx *f, int first, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (!xdp(f, C2S(nth_source(first + i), 40001, TH_SYN), XDP_PASS, EG_R_PASSED))
			break;
	return i;
}

/* Spends whatever the budget holds; returns how many new sources got through. */
static int drain_budget(struct fx *f, int *next)
{
	int passed = 0, ret;

	for (int i = 0; i < 100; i++) {
		if (run_prog(f, f->prog_fd, C2S(nth_source((*next)++), 40001, TH_SYN), &ret) ||
		    ret == XDP_DROP)
			break;
		passed++;
	}
	return passed;
}

FL_CASE(budget_caps_new_sources_exactly)
{
	struct eg_policy_table t = table();
	unsigned int slot = install_rule(f, &t, &budgeted);
	const char *eleventh = nth_source(11);
	struct eg_policy_counters pc;

	hold_now(f);
	CHECK_EQ(new_sources_pass(f, 1, 10), 10, "new sources within the burst");
	xdp(f, C2S(eleventh, 40001, TH_SYN), XDP_DROP, EG_R_BUDGET);
	CHECK(!source_get(f, eleventh, slot, NULL), "over-budget SYN made an eg_sources entry");
	/* A first SYN is remembered (first-seen memory), not given state. */
	CHECK_EQ(fx_map_count(f->m.sources, sizeof(struct eg_source_key)), 0,
		 "eg_sources entries");
	CHECK_EQ(fx_counter(f, EG_R_FIRST_SEEN), 10, "first_seen");
	pc = fx_pc(f, slot);
	CHECK_EQ(pc.c[EG_PC_BUDGET_DROP], 1, "per-policy budget drops");
	/* A known source's second connection is charged too: it is not verified. */
	xdp(f, C2S(nth_source(1), 40002, TH_SYN), XDP_DROP, EG_R_BUDGET);
	/* Non-SYN packets are not charged. */
	xdp(f, C2S(nth_source(50), 40001, TH_ACK), XDP_PASS, EG_R_PASSED);
	/* 100 ms at 10/s: exactly one more. */
	step(f, 100 * NS_PER_MS);
	xdp(f, C2S(nth_source(11), 40001, TH_SYN), XDP_PASS, EG_R_PASSED);
	xdp(f, C2S(nth_source(12), 40001, TH_SYN), XDP_DROP, EG_R_BUDGET);
	step(f, 50 * NS_PER_MS);
	xdp(f, C2S(nth_source(12), 40001, TH_SYN), XDP_DROP, EG_R_BUDGET);
	step(f, 50 * NS_PER_MS);
	xdp(f, C2S(nth_source(12), 40001, TH_SYN), XDP_PASS, EG_R_PASSED);
	/* A long pause refills only up to the burst. */
	step(f, 60 * NS_PER_SEC);
	CHECK_EQ(new_sources_pass(f, 13, 10), 10, "new sources after a long pause");
	xdp(f, C2S(nth_source(23), 40001, TH_SYN), XDP_DROP, EG_R_BUDGET);
	CHECK_EQ(fx_counter(f, EG_R_BUDGET), 5, "new_source_budget");
	CHECK_EQ(fx_pc(f, slot).c[EG_PC_BUDGET_DROP], 5, "per-policy budget drops");
}

FL_CASE(budget_dry_run_passes)
{
	struct eg_policy_table t = table();
	struct eg_policy_spec spec = budgeted;
	unsigned int slot;

	spec.mode = EG_MODE_DRY_RUN;
	slot = install_rule(f, &t, &spec);
	hold_now(f);
	CHECK_EQ(new_sources_pass(f, 1, 10), 10, "new sources within the burst");
	xdp(f, C2S(nth_source(11), 40001, TH_SYN), XDP_PASS, EG_R_DRY_RUN_WOULD_DROP);
	CHECK_EQ(fx_pc(f, slot).c[EG_PC_WOULD_DROP], 1, "per-policy would-drop");
	CHECK_EQ(fx_pc(f, slot).c[EG_PC_BUDGET_DROP], 0, "per-policy budget drops");
}

/* C1 connects (spending one token) and the server verifies it. */
static void verify_c1(struct fx *f)
{
	establish(f, C1, 40001);
	tc(f, S2C_DATA(C1, 40001));
}

FL_CASE(verified_source_bypasses_budget)
{
	struct eg_policy_table t = table();
	unsigned int slot = install_rule(f, &t, &budgeted);
	int next = 100;

	hold_now(f);
	verify_c1(f);
	CHECK(verified_get(f, C1, slot, NULL), "C1 not verified");
	/* Many SYNs from the verified source, none charged: 9 tokens stay. */
	for (int i = 0; i < 20; i++)
		xdp(f, C2S(C1, 41000 + i, TH_SYN), XDP_PASS, EG_R_PASSED);
	CHECK_EQ(new_sources_pass(f, 1, 9), 9, "new sources after the verified SYNs");
	xdp(f, C2S(nth_source(10), 40001, TH_SYN), XDP_DROP, EG_R_BUDGET);
	CHECK_EQ(drain_budget(f, &next), 0, "budget left");
	/* Exhausted, and the verified source still gets in. */
	xdp(f, C2S(C1, 42000, TH_SYN), XDP_PASS, EG_R_PASSED);
	CHECK_EQ(fx_pc(f, slot).c[EG_PC_BUDGET_DROP], 2, "per-policy budget drops");
}

FL_CASE(verified_expires_after_ttl)
{
	struct eg_policy_table t = table();
	unsigned int slot;
	struct eg_verified v;
	int next = 100;

	t.verified_ttl_s = 5;
	slot = install_rule(f, &t, &budgeted);
	hold_now(f);
	verify_c1(f);
	CHECK(verified_get(f, C1, slot, &v), "C1 not verified");
	if (!verified_get(f, C1, slot, &v))
		return;
	/* The clock only moves forward from what the program read: 100 ms spare. */
	hold(f, v.verified_ns + 5 * NS_PER_SEC - 100 * NS_PER_MS);
	CHECK_EQ(drain_budget(f, &next), 10, "budget refilled to its burst");
	xdp(f, C2S(C1, 40002, TH_SYN), XDP_PASS, EG_R_PASSED);
	/*
	 * Past the TTL, and 150 ms after the drain: one token is back, spent
	 * here, and the next is 50 ms away, so C1's SYN meets no boundary.
	 */
	hold(f, v.verified_ns + 5 * NS_PER_SEC + 50 * NS_PER_MS);
	CHECK_EQ(drain_budget(f, &next), 1, "budget refilled in 150 ms");
	xdp(f, C2S(C1, 40003, TH_SYN), XDP_DROP, EG_R_BUDGET);
	/* Unverified again, its SYNs are charged like anyone's. */
	step(f, 100 * NS_PER_MS);
	xdp(f, C2S(C1, 40004, TH_SYN), XDP_PASS, EG_R_PASSED);
	xdp(f, C2S(C1, 40005, TH_SYN), XDP_DROP, EG_R_BUDGET);
}

/* ---- idle timer (real time) ---- */

/* Polls until flow (client, cport) is gone; false after POLL_STEPS. */
static bool wait_flow_gone(struct fx *f, const char *client, uint16_t cport)
{
	for (int i = 0; i < POLL_STEPS; i++) {
		if (!flow_get(f, client, cport, NULL))
			return true;
		sleep_ms(20);
	}
	return false;
}

FL_CASE(idle_timer_reaps_flow)
{
	struct eg_policy_table t = table();
	unsigned int slot;

	t.flow_idle_s = 1;
	slot = install_rule(f, &t, &capped);
	establish(f, C1, 40001);
	CHECK_EQ(conns(f, C1, slot), 1, "conns");
	CHECK(wait_flow_gone(f, C1, 40001), "flow not reaped within 20 s");
	CHECK_EQ(conns(f, C1, slot), 0, "conns after the reap");
	CHECK_EQ(nflows(f), 0, "flows");
	CHECK_FLOWC(f, 1, 0, 1, 0, 0);
	/* A late FIN finds nothing to give back. */
	xdp(f, C2S(C1, 40001, TH_FIN | TH_ACK), XDP_PASS, EG_R_PASSED);
	CHECK_EQ(conns(f, C1, slot), 0, "conns after a late FIN");
	CHECK_FLOWC(f, 1, 0, 1, 0, 0);
}

/*
 * Flow A sees server traffic stamped far in the future, so every time its
 * timer fires it looks busy and re-arms; flow B, opened after A on the same
 * CPU (one hrtimer base fires in expiry order), is reaped first. Then the
 * clock offset jumps past A's stamp and A is reaped too.
 */
FL_CASE(traffic_keeps_flow_until_clock_says_idle)
{
	struct eg_policy_table t = table();
	cpu_set_t old, one;
	unsigned int slot;
	int cpu = sched_getcpu();
	bool pinned;

	CPU_ZERO(&one);
	CPU_SET(cpu < 0 ? 0 : cpu, &one);
	pinned = sched_getaffinity(0, sizeof(old), &old) == 0 &&
		 sched_setaffinity(0, sizeof(one), &one) == 0;

	t.flow_idle_s = 1;
	slot = install_rule(f, &t, &capped);
	establish(f, C1, 40001);
	f->skel->bss->eg_clock_offset_ns = 1000 * NS_PER_SEC;
	tc(f, S2C_DATA(C1, 40001));
	f->skel->bss->eg_clock_offset_ns = 0;
	establish(f, C2, 40001);
	CHECK(wait_flow_gone(f, C2, 40001), "idle flow B not reaped within 20 s");
	CHECK(flow_get(f, C1, 40001, NULL), "busy flow A reaped early");
	CHECK_EQ(conns(f, C1, slot), 1, "conns of A while busy");
	CHECK_EQ(conns(f, C2, slot), 0, "conns of B");
	CHECK_FLOWC(f, 2, 0, 1, 0, 1);

	f->skel->bss->eg_clock_offset_ns = 1010 * NS_PER_SEC;
	CHECK(wait_flow_gone(f, C1, 40001), "flow A not reaped within 20 s of looking idle");
	CHECK_EQ(conns(f, C1, slot), 0, "conns of A");
	CHECK_EQ(nflows(f), 0, "flows");
	CHECK_FLOWC(f, 2, 0, 2, 0, 1);
	if (pinned)
		sched_setaffinity(0, sizeof(old), &old);
}

/* ---- flows whose idle timer could not be armed ---- */

/*
 * Stores a flow as flow_open leaves one whose timer could not be armed: in
 * the table, its owner counted, armed 0. A new element's bpf_timer is zero
 * (user space cannot write the timer field: the kernel skips it on update).
 */
static bool insert_unarmed(struct fx *f, const char *client, uint16_t cport, uint32_t slot,
			   uint64_t last_seen_ns)
{
	struct eg_flow_key k = flow_key(client, cport);
	struct eg_source_key owner = src_key(client, slot);
	struct eg_flow fl;
	uint64_t n = 0;

	memset(&fl, 0, sizeof(fl));
	fl.owner = owner;
	fl.last_seen_ns = last_seen_ns;
	if (bpf_map_update_elem(f->m.flows, &k, &fl, BPF_NOEXIST)) {
		CHECK(false, "inserting flow %s:%u: %s", client, cport, strerror(errno));
		return false;
	}
	bpf_map_lookup_elem(f->m.conns, &owner, &n); /* no entry yet: 0 */
	n++;
	CHECK(bpf_map_update_elem(f->m.conns, &owner, &n, BPF_ANY) == 0,
	      "counting flow %s:%u: %s", client, cport, strerror(errno));
	return true;
}

/*
 * Arming can keep failing for seconds after a burst (measured on 6.18: up to
 * a thousand packets 10 ms apart), and other tests on the machine may cause
 * one: retry for up to ARM_TRIES packets, 10 ms apart.
 */
#define ARM_TRIES 2000

/*
 * Sends server packets with tcp_flags on the flow until its timer is armed.
 * Every packet that fails to arm it must count flow_untimed once and keep
 * the flow. Returns how many packets it took (0: it was armed already), -1
 * on failure.
 */
static int arm_by_server(struct fx *f, const char *client, uint16_t cport, uint8_t tcp_flags)
{
	struct eg_flow fl;

	for (int i = 0; i <= ARM_TRIES; i++) {
		uint64_t untimed = fx_counter(f, EG_R_FLOW_UNTIMED);

		if (i > 0 && !tc(f, S2C(client, cport, tcp_flags)))
			return -1;
		if (!flow_get(f, client, cport, &fl)) {
			CHECK(false, "flow %s:%u gone after %d server packets", client, cport, i);
			return -1;
		}
		if (fl.armed) {
			CHECK_EQ(fx_counter(f, EG_R_FLOW_UNTIMED) - untimed, 0,
				 "flow_untimed moved on the packet that armed the flow");
			return i;
		}
		if (i > 0 && fx_counter(f, EG_R_FLOW_UNTIMED) - untimed != 1) {
			CHECK_EQ(fx_counter(f, EG_R_FLOW_UNTIMED) - untimed, 1,
				 "unarmed after a server packet, flow_untimed moved by");
			return -1;
		}
		if (i > 0)
			sleep_ms(10);
	}
	CHECK(false, "flow %s:%u not armed after %d server packets", client, cport, ARM_TRIES);
	return -1;
}

/* Runs edgeguardd's sweep once; true when it ran and returned 0. */
static bool sweep(struct fx *f)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	int err;

	err = bpf_prog_test_run_opts(bpf_program__fd(f->skel->progs.edgeguard_sweep_flows),
				     &opts);
	CHECK(err == 0, "test_run of the sweep: %s", strerror(errno));
	CHECK_EQ(opts.retval, 0, "sweep returned");
	return err == 0 && opts.retval == 0;
}

#define BURST_FLOWS 3000
#define BURST_CLIENTS 30

/* Flow i of the burst: BURST_CLIENTS clients, BURST_FLOWS / BURST_CLIENTS ports each. */
#define BURST_CLIENT(i) nth_source(1 + (i) % BURST_CLIENTS)
#define BURST_PORT(i) ((uint16_t)(20000 + (i) / BURST_CLIENTS))

/* Walks eg_flows: how many entries are armed and how many are not. */
static void count_armed(struct fx *f, int *armed, int *unarmed)
{
	struct eg_flow_key k, next;
	struct eg_flow fl;
	void *prev = NULL;

	*armed = *unarmed = 0;
	while (bpf_map_get_next_key(f->m.flows, prev, &next) == 0) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(f->m.flows, &k, &fl))
			continue;
		if (fl.armed)
			(*armed)++;
		else
			(*unarmed)++;
	}
}

/* Sum of all eg_conns counts; *entries gets how many owners there are. */
static uint64_t conns_total(struct fx *f, int *entries)
{
	struct eg_source_key k, next;
	void *prev = NULL;
	uint64_t sum = 0, n;

	*entries = 0;
	while (bpf_map_get_next_key(f->m.conns, prev, &next) == 0) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(f->m.conns, &k, &n))
			continue;
		sum += n;
		(*entries)++;
	}
	return sum;
}

/*
 * Thousands of flows opened back to back: on kernels where bpf_timer_init()
 * fails in such bursts, every flow must still be tracked and counted; the
 * ones left unarmed are exactly the flow_untimed ones.
 */
FL_CASE_SIZED(burst_of_synacks_all_tracked, 4096)
{
	struct eg_policy_table t = table();
	struct eg_policy_spec spec = { .max_conns = 1000 };
	int armed, unarmed, owners, bad = 0, ret;
	uint64_t untimed;

	install_rule(f, &t, &spec);
	for (int i = 0; i < BURST_FLOWS; i++)
		if (run_prog(f, f->tc_fd, S2C(BURST_CLIENT(i), BURST_PORT(i), TH_SYN | TH_ACK),
			     &ret) || ret != TC_ACT_OK)
			bad++;
	CHECK_EQ(bad, 0, "SYN-ACKs that failed or did not pass");
	CHECK_FLOWC(f, BURST_FLOWS, 0, 0, 0, 0);
	CHECK_EQ(nflows(f), BURST_FLOWS, "eg_flows entries");
	CHECK_EQ(conns_total(f, &owners), BURST_FLOWS, "sum of eg_conns counts");
	CHECK_EQ(owners, BURST_CLIENTS, "eg_conns entries");
	untimed = fx_counter(f, EG_R_FLOW_UNTIMED);
	count_armed(f, &armed, &unarmed);
	CHECK_EQ(unarmed, untimed, "unarmed flows vs flow_untimed (one try per flow)");
	CHECK_EQ(armed + unarmed, BURST_FLOWS, "flows walked");
	printf("# %d SYN-ACKs: flow_untimed %llu, armed %d, unarmed %d\n", BURST_FLOWS,
	       (unsigned long long)untimed, armed, unarmed);

	/* None is idle: the sweep takes nothing. */
	sweep(f);
	CHECK_EQ(nflows(f), BURST_FLOWS, "eg_flows entries after a sweep");
	CHECK_EQ(fx_counter(f, EG_R_FLOW_SWEPT), 0, "flow_swept");

	/*
	 * Once they are all idle, the sweep ends exactly the unarmed ones and
	 * gives back exactly their slots; the armed ones are left to their timers.
	 */
	f->skel->bss->eg_clock_offset_ns += (uint64_t)t.flow_idle_s * NS_PER_SEC + 10 * NS_PER_SEC;
	sweep(f);
	CHECK_EQ(fx_counter(f, EG_R_FLOW_SWEPT), unarmed, "flow_swept after the flows went idle");
	CHECK_EQ(nflows(f), armed, "eg_flows entries after the sweep");
	CHECK_EQ(conns_total(f, &owners), armed, "sum of eg_conns counts after the sweep");
	count_armed(f, &armed, &unarmed);
	CHECK_EQ(unarmed, 0, "unarmed flows left after the sweep");
	CHECK_FLOWC(f, BURST_FLOWS, 0, 0, 0, 0);
}

/*
 * Without any daemon: the first tracked flow arms the datapath's own sweep
 * timer, which ends the flows whose timers could not be armed once idle.
 */
FL_CASE_SIZED(datapath_sweeps_unarmed_flows_itself, 1 << 15)
{
	struct eg_policy_table t = table();
	struct eg_policy_spec spec = { .max_conns = 100000 };
	struct eg_sweep_timer sw;
	int fd = bpf_map__fd(f->skel->maps.eg_sweep_timer), armed, unarmed, owners, ret;
	uint32_t zero = 0;
	int sent = 0;

	memset(&sw, 0, sizeof(sw));
	install_rule(f, &t, &spec);
	/* Until some flow fails to arm its timer. */
	while (sent < 30000 && !fx_counter(f, EG_R_FLOW_UNTIMED)) {
		for (int i = 0; i < 1000; i++, sent++)
			run_prog(f, f->tc_fd, S2C(nth_source(1 + sent % 1000),
						  (uint16_t)(10000 + sent / 1000),
						  TH_SYN | TH_ACK), &ret);
		bpf_map_lookup_elem(fd, &zero, &sw);
	}
	printf("# %d SYN-ACKs: flow_untimed %llu, sweep timer armed %u\n", sent,
	       (unsigned long long)fx_counter(f, EG_R_FLOW_UNTIMED), sw.armed);
	if (!fx_counter(f, EG_R_FLOW_UNTIMED)) {
		printf("# every flow armed its timer on this kernel: nothing for the sweep to do\n");
		return;
	}
	CHECK(sw.armed, "the datapath's sweep timer never got armed");
	count_armed(f, &armed, &unarmed);
	/* Idle by the program's clock; the timer fires in real time, within its period. */
	f->skel->bss->eg_clock_offset_ns += (uint64_t)t.flow_idle_s * NS_PER_SEC + 10 * NS_PER_SEC;
	for (int i = 0; i < 400 && fx_counter(f, EG_R_FLOW_SWEPT) < (uint64_t)unarmed; i++)
		sleep_ms(100);
	CHECK_EQ(fx_counter(f, EG_R_FLOW_SWEPT), unarmed, "flows swept by the datapath");
	CHECK_EQ(nflows(f), armed, "eg_flows entries after the sweep");
	CHECK_EQ(conns_total(f, &owners), armed, "sum of eg_conns counts after the sweep");
}

FL_CASE(unarmed_flow_is_rearmed)
{
	struct eg_policy_table t = table();
	unsigned int slot = install_rule(f, &t, &capped);
	struct eg_source_key owner = src_key(C1, slot);
	uint64_t stamp = fx_now(f) - 5 * NS_PER_SEC, untimed;
	struct eg_flow fl;
	int n;

	insert_unarmed(f, C1, 40001, slot, stamp);
	insert_unarmed(f, C1, 40002, slot, stamp);
	CHECK_EQ(conns(f, C1, slot), 2, "conns");
	/* The client's packets never arm anything: only the server's do. */
	xdp(f, C2S(C1, 40001, TH_ACK), XDP_PASS, EG_R_PASSED);
	CHECK(flow_get(f, C1, 40001, &fl) && !fl.armed, "armed by a client packet");

	/* Any server packet of the flow. */
	n = arm_by_server(f, C1, 40001, TH_ACK);
	CHECK(n >= 1, "flow 40001 not armed by server ACKs (%d)", n);
	printf("# 40001 armed after %d server ACK(s)\n", n);
	CHECK(flow_get(f, C1, 40001, &fl), "flow 40001 gone");
	CHECK_EQ(fl.armed, 1, "armed");
	CHECK_EQ(fl.verified, 1, "verified");
	CHECK(fl.last_seen_ns > stamp, "last_seen_ns not refreshed");
	CHECK(memcmp(&fl.owner, &owner, sizeof(owner)) == 0, "owner changed");

	/* A retransmitted SYN-ACK: armed, but not opened a second time. */
	n = arm_by_server(f, C1, 40002, TH_SYN | TH_ACK);
	CHECK(n >= 1, "flow 40002 not armed by SYN-ACKs (%d)", n);
	CHECK(flow_get(f, C1, 40002, &fl) && fl.armed && !fl.verified,
	      "flow 40002 after its SYN-ACK: armed %u verified %u", fl.armed, fl.verified);
	CHECK_EQ(conns(f, C1, slot), 2, "conns after re-arming");
	CHECK_FLOWC(f, 0, 0, 0, 0, 1);

	/* Armed flows are not armed again. */
	untimed = fx_counter(f, EG_R_FLOW_UNTIMED);
	tc(f, S2C_DATA(C1, 40001));
	tc(f, S2C(C1, 40002, TH_SYN | TH_ACK));
	tc(f, S2C(C1, 40002, TH_ACK));
	CHECK_EQ(fx_counter(f, EG_R_FLOW_UNTIMED), untimed, "flow_untimed on armed flows");
	CHECK(flow_get(f, C1, 40001, &fl) && fl.armed, "40001 no longer armed");
	CHECK(flow_get(f, C1, 40002, &fl) && fl.armed, "40002 no longer armed");

	/* They end like any flow: one slot back each, never swept. */
	tc(f, S2C(C1, 40001, TH_FIN | TH_ACK));
	tc(f, S2C(C1, 40002, TH_RST));
	CHECK_EQ(conns(f, C1, slot), 0, "conns");
	CHECK_EQ(nflows(f), 0, "flows");
	CHECK_FLOWC(f, 0, 2, 0, 0, 1);
	CHECK_EQ(fx_counter(f, EG_R_FLOW_SWEPT), 0, "flow_swept");
}

/*
 * The timer armed late really runs: while the server's packet is stamped in
 * the future the timer finds the flow busy and re-arms, so the flow can be
 * read at leisure; once the clock passes the stamp the timer reaps it.
 */
FL_CASE(rearmed_timer_reaps_flow)
{
	struct eg_policy_table t = table();
	unsigned int slot;
	struct eg_flow fl;

	t.flow_idle_s = 1;
	slot = install_rule(f, &t, &capped);
	insert_unarmed(f, C1, 40001, slot, fx_now(f));
	f->skel->bss->eg_clock_offset_ns = 1000 * NS_PER_SEC;
	CHECK(arm_by_server(f, C1, 40001, TH_ACK) >= 1, "flow not armed by server ACKs");
	CHECK(flow_get(f, C1, 40001, &fl) && fl.armed, "flow not armed");
	CHECK_EQ(conns(f, C1, slot), 1, "conns while busy");

	f->skel->bss->eg_clock_offset_ns = 1010 * NS_PER_SEC;
	CHECK(wait_flow_gone(f, C1, 40001), "re-armed flow not reaped within 20 s");
	CHECK_EQ(conns(f, C1, slot), 0, "conns after the reap");
	CHECK_FLOWC(f, 0, 0, 1, 0, 1);
	CHECK_EQ(fx_counter(f, EG_R_FLOW_SWEPT), 0, "flow_swept");
}

FL_CASE(sweep_ends_only_unarmed_idle_flows)
{
	struct eg_policy_table t = table();
	unsigned int slot = install_rule(f, &t, &capped);
	uint64_t idle = (uint64_t)t.flow_idle_s * NS_PER_SEC, now;
	struct eg_flow fl;

	/* C1's armed flow, then the clock jumps so that it looks long idle. */
	establish(f, C1, 40001);
	CHECK(arm_by_server(f, C1, 40001, TH_SYN | TH_ACK) >= 0, "C1's flow never armed");
	f->skel->bss->eg_clock_offset_ns = 1000 * NS_PER_SEC;
	now = fx_now(f);
	insert_unarmed(f, C1, 40002, slot, now - idle - 10 * NS_PER_SEC);
	insert_unarmed(f, C2, 40001, slot, now);
	CHECK_EQ(conns(f, C1, slot), 2, "conns of C1");
	CHECK_EQ(conns(f, C2, slot), 1, "conns of C2");

	sweep(f);
	CHECK(!flow_get(f, C1, 40002, NULL), "unarmed idle flow not swept");
	CHECK(flow_get(f, C1, 40001, &fl) && fl.armed, "armed idle flow swept");
	CHECK(flow_get(f, C2, 40001, &fl) && !fl.armed, "unarmed fresh flow swept");
	CHECK_EQ(nflows(f), 2, "flows");
	CHECK_EQ(conns(f, C1, slot), 1, "conns of C1 after the sweep");
	CHECK_EQ(conns(f, C2, slot), 1, "conns of C2 after the sweep");
	CHECK_EQ(fx_counter(f, EG_R_FLOW_SWEPT), 1, "flow_swept");
	CHECK_FLOWC(f, 1, 0, 0, 0, 0);

	/* Again: nothing left to sweep. */
	sweep(f);
	CHECK_EQ(nflows(f), 2, "flows after a second sweep");
	CHECK_EQ(conns(f, C1, slot), 1, "conns of C1 after a second sweep");
	CHECK_EQ(conns(f, C2, slot), 1, "conns of C2 after a second sweep");
	CHECK_EQ(fx_counter(f, EG_R_FLOW_SWEPT), 1, "flow_swept after a second sweep");

	/* A late FIN of the swept flow gives back nothing more. */
	xdp(f, C2S(C1, 40002, TH_FIN | TH_ACK), XDP_PASS, EG_R_PASSED);
	CHECK_EQ(conns(f, C1, slot), 1, "conns of C1 after a late FIN");
	CHECK_FLOWC(f, 1, 0, 0, 0, 0);

	/* Once C2's flow is idle too it goes; the armed one is the timer's. */
	f->skel->bss->eg_clock_offset_ns += idle + NS_PER_SEC;
	sweep(f);
	CHECK(!flow_get(f, C2, 40001, NULL), "C2's flow not swept once idle");
	CHECK(flow_get(f, C1, 40001, NULL), "armed flow swept");
	CHECK_EQ(conns(f, C2, slot), 0, "conns of C2");
	CHECK_EQ(conns(f, C1, slot), 1, "conns of C1");
	CHECK_EQ(fx_counter(f, EG_R_FLOW_SWEPT), 2, "flow_swept");
	CHECK_FLOWC(f, 1, 0, 0, 0, 0);
}

int main(void)
{
	RUN(synack_opens_exactly_one_flow);
	RUN(synack_untracked_without_cap_or_budget);
	RUN(flow_table_full_leaves_count);
	RUN(client_fin_or_forged_rst_ends_nothing);
	RUN(client_rst_ends_flow_once_the_server_is_silent);
	RUN(simultaneous_close_either_order);
	RUN(server_rst_ends_flow);
	RUN(fin_rst_for_unknown_flow_change_nothing);
	RUN(allowlisted_client_rst_ends_flow);
	RUN(conn_limit_caps_syns_per_source);
	RUN(conn_limit_never_autobans);
	RUN(conn_limit_dry_run_passes);
	RUN(ipv6_flows_share_slash64);
	RUN(ipv6_prefix_128_counts_each_address);
	RUN(server_data_verifies_source);
	RUN(verification_keeps_bucket_state);
	RUN(flow_with_only_max_conns_verifies_too);
	RUN(budget_caps_new_sources_exactly);
	RUN(budget_dry_run_passes);
	RUN(verified_source_bypasses_budget);
	RUN(verified_expires_after_ttl);
	RUN(idle_timer_reaps_flow);
	RUN(traffic_keeps_flow_until_clock_says_idle);
	RUN(burst_of_synacks_all_tracked);
	RUN(unarmed_flow_is_rearmed);
	RUN(rearmed_timer_reaps_flow);
	RUN(sweep_ends_only_unarmed_idle_flows);
	RUN(datapath_sweeps_unarmed_flows_itself);
	return tl_exit_code();
}
