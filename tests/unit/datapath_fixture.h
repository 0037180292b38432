/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Shared fixture of the datapath unit tests: a freshly loaded edgeguard
 * program with small maps per case, crafted frames run through
 * bpf_prog_test_run_opts, and a clock moved through eg_clock_offset_ns
 * instead of sleeping.
 *
 * Every frame is sent through expect_frame(), which checks the verdict and
 * that exactly one verdict counter moved, by exactly one: the one expected.
 */
#ifndef EG_DATAPATH_FIXTURE_H
#define EG_DATAPATH_FIXTURE_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "testlib.h"
#include "frames.h"
#include "datapath.h"
#include "maps.h"
#include "addr.h"
#include "lists.h"
#include "policy.h"
#include "edgeguard.skel.h"

#ifndef XDP_DROP
#define XDP_DROP 1
#define XDP_PASS 2
#endif

#define NS_PER_SEC 1000000000ULL
#define NS_PER_MS 1000000ULL

/* Small maps: loading stays fast and nothing here needs more. */
#define FX_MAX_SOURCES 4096
#define FX_MAX_BANS 1024
#define FX_MAX_ALLOWS 1024

#define SPEC(...) (&(struct frame_spec){ __VA_ARGS__ })

struct fx {
	struct edgeguard_bpf *skel;
	struct eg_maps m;
	int prog_fd; /* edgeguard_xdp */
	int tc_fd;   /* edgeguard_tc_egress */
	struct eg_err err;
	/* Called around every test run (test_flows holds the clock still with them). */
	void (*before_run)(struct fx *f);
	void (*after_run)(struct fx *f);
};

/* The fixture's small map sizes; a case may change some and fx_reopen(). */
static inline struct eg_sizes fx_sizes(void)
{
	return (struct eg_sizes){
		.max_sources = FX_MAX_SOURCES,
		.max_bans = FX_MAX_BANS,
		.max_allows = FX_MAX_ALLOWS,
	};
}

/* A freshly loaded datapath the way production loads one (eg_datapath_open_load). */
static inline int fx_open_with(struct fx *f, const struct eg_open_opts *o)
{
	memset(f, 0, sizeof(*f));
	f->skel = eg_datapath_open_load(o, &f->err);
	CHECK(f->skel != NULL, "eg_datapath_open_load: %s", f->err.msg);
	if (!f->skel)
		return -1;
	eg_maps_from_skel(f->skel, &f->m);
	f->prog_fd = bpf_program__fd(f->skel->progs.edgeguard_xdp);
	f->tc_fd = bpf_program__fd(f->skel->progs.edgeguard_tc_egress);
	return 0;
}

static inline int fx_open_sized(struct fx *f, const struct eg_sizes *sz)
{
	return fx_open_with(f, &(struct eg_open_opts){ .sizes = sz });
}

static inline int fx_open(struct fx *f)
{
	struct eg_sizes sz = fx_sizes();

	return fx_open_sized(f, &sz);
}

static inline void fx_close(struct fx *f)
{
	if (f->skel)
		edgeguard_bpf__destroy(f->skel);
	f->skel = NULL;
}

/* A fresh datapath with other map sizes, in place of the case's own. */
static inline int fx_reopen(struct fx *f, const struct eg_sizes *sz)
{
	fx_close(f);
	return fx_open_sized(f, sz);
}

/* Moves the datapath's clock forward; bans written with eg_now_ns() age with it. */
static inline void fx_advance(struct fx *f, uint64_t ns)
{
	f->skel->bss->eg_clock_offset_ns += ns;
}

/* The datapath's idea of now (boot time plus the test's offset). */
static inline uint64_t fx_now(struct fx *f)
{
	return eg_now_ns() + f->skel->bss->eg_clock_offset_ns;
}

/* Runs raw bytes through prog_fd; returns the kernel's error (0 or -errno), verdict in *ret. */
static inline int fx_run_prog(struct fx *f, int prog_fd, const uint8_t *buf, size_t len, int *ret)
{
	uint8_t copy[FRAME_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = copy, .data_size_in = (uint32_t)len,
		    .repeat = 1);
	int err;

	memcpy(copy, buf, len);
	if (f->before_run)
		f->before_run(f);
	err = bpf_prog_test_run_opts(prog_fd, &opts);
	err = err ? -errno : 0;
	if (f->after_run)
		f->after_run(f);
	*ret = (int)opts.retval;
	return err;
}

static inline int fx_run_raw(struct fx *f, const uint8_t *buf, size_t len, int *ret)
{
	return fx_run_prog(f, f->prog_fd, buf, len, ret);
}

static inline void fx_counters(struct fx *f, uint64_t c[EG_R_MAX])
{
	int rc = eg_read_counters(&f->m, c, &f->err);

	CHECK(rc == 0, "eg_read_counters: %s", f->err.msg);
	if (rc)
		memset(c, 0, sizeof(uint64_t) * EG_R_MAX);
}

static inline const char *verdict_name(int v)
{
	return v == XDP_PASS ? "PASS" : v == XDP_DROP ? "DROP" : "other";
}

/*
 * Runs buf[0..len) through prog_fd and checks the return code and that the
 * verdict counter `reason` moved by one while every other verdict counter
 * stayed put (reason EG_R_VERDICTS: none may move, as for TC egress).
 * Returns true when all of that held.
 */
static inline bool expect_prog_raw(struct fx *f, int prog_fd, const uint8_t *buf, size_t len,
				   int want, unsigned int reason, int line)
{
	uint64_t before[EG_R_MAX], after[EG_R_MAX];
	bool good = true;
	int ret = -1, err;

	fx_counters(f, before);
	err = fx_run_prog(f, prog_fd, buf, len, &ret);
	CHECK(err == 0, "line %d: test_run of %zu bytes failed: %s", line, len, strerror(-err));
	if (err)
		return false;
	fx_counters(f, after);
	if (ret != want) {
		CHECK(ret == want, "line %d (len %zu): verdict %s, want %s", line, len,
		      verdict_name(ret), verdict_name(want));
		good = false;
	}
	for (unsigned int r = 0; r < EG_R_VERDICTS; r++) {
		uint64_t d = after[r] - before[r];
		uint64_t wd = r == reason ? 1 : 0;

		if (d != wd) {
			CHECK(d == wd, "line %d (len %zu): counter %s moved by %llu, want %llu (expected reason %s)",
			      line, len, eg_reason_name(r), (unsigned long long)d,
			      (unsigned long long)wd,
			      reason < EG_R_VERDICTS ? eg_reason_name(reason) : "none");
			good = false;
		}
	}
	return good;
}

static inline bool expect_raw(struct fx *f, const uint8_t *buf, size_t len, int want,
			      unsigned int reason, int line)
{
	return expect_prog_raw(f, f->prog_fd, buf, len, want, reason, line);
}

static inline size_t fx_build(const struct frame_spec *s, uint8_t *buf)
{
	size_t len = build_frame(s, buf, FRAME_MAX);

	CHECK(len > 0, "frame does not fit");
	return len;
}

static inline bool expect_prog_frame(struct fx *f, int prog_fd, const struct frame_spec *s,
				     int want, unsigned int reason, int line)
{
	uint8_t buf[FRAME_MAX];
	size_t len = fx_build(s, buf);

	if (!len)
		return false;
	return expect_prog_raw(f, prog_fd, buf, len, want, reason, line);
}

static inline bool expect_frame_at(struct fx *f, const struct frame_spec *s, int want,
				   unsigned int reason, int line)
{
	return expect_prog_frame(f, f->prog_fd, s, want, reason, line);
}

#define expect_frame(f, s, want, reason) expect_frame_at(f, s, want, reason, __LINE__)

/* Sends the same frame n times, each with the same expected outcome; stops at the first miss. */
static inline int expect_n_at(struct fx *f, const struct frame_spec *s, int n, int want,
			      unsigned int reason, int line)
{
	int i;

	for (i = 0; i < n; i++)
		if (!expect_frame_at(f, s, want, reason, line))
			break;
	return i;
}

#define expect_n(f, s, n, want, reason) expect_n_at(f, s, n, want, reason, __LINE__)

static inline struct eg_lpm_key fx_key(const char *cidr)
{
	struct eg_lpm_key k;
	struct eg_err e;

	memset(&k, 0, sizeof(k));
	CHECK(eg_parse_cidr(cidr, &k, &e) == 0, "eg_parse_cidr(%s): %s", cidr, e.msg);
	return k;
}

static inline void fx_ban(struct fx *f, const char *cidr, uint32_t ttl_s)
{
	struct eg_lpm_key k = fx_key(cidr);

	CHECK(eg_ban_add(&f->m, &k, ttl_s, EG_ORIGIN_MANUAL, NULL, &f->err) == 0, "ban %s: %s", cidr,
	      f->err.msg);
}

static inline void fx_allow(struct fx *f, const char *cidr)
{
	struct eg_lpm_key k = fx_key(cidr);

	CHECK(eg_allow_add(&f->m, &k, &f->err) == 0, "allow %s: %s", cidr, f->err.msg);
}

static inline struct eg_rate_spec fx_rate(uint32_t rate, uint32_t burst)
{
	return (struct eg_rate_spec){ .set = true, .rate = rate, .burst = burst };
}

static inline void fx_install(struct fx *f, const struct eg_policy_table *t)
{
	CHECK(eg_policy_install(&f->m, t, &f->err) == 0, "eg_policy_install: %s", f->err.msg);
}

/* Appends a port rule to t and returns its policy slot (rules start at slot 1). */
static inline unsigned int fx_rule(struct eg_policy_table *t, unsigned int l4, uint16_t lo,
				   uint16_t hi, const struct eg_policy_spec *tmpl)
{
	struct eg_policy_spec *r = &t->rules[t->nrules];

	*r = *tmpl;
	snprintf(r->name, sizeof(r->name), "rule%u", t->nrules + 1);
	r->l4 = l4;
	r->port_lo = lo;
	r->port_hi = hi;
	return ++t->nrules;
}

static inline uint64_t fx_counter(struct fx *f, unsigned int reason)
{
	uint64_t c[EG_R_MAX];

	fx_counters(f, c);
	return c[reason];
}

static inline struct eg_policy_counters fx_pc(struct fx *f, uint32_t slot)
{
	struct eg_policy_counters pc;

	CHECK(eg_read_policy_counters(&f->m, slot, &pc, &f->err) == 0,
	      "eg_read_policy_counters: %s", f->err.msg);
	return pc;
}

static inline struct eg_config fx_config(struct fx *f)
{
	struct eg_config cfg = { 0 };
	uint32_t zero = 0;

	CHECK(bpf_map_lookup_elem(f->m.config, &zero, &cfg) == 0, "read eg_config: %s",
	      strerror(errno));
	return cfg;
}

/* Number of entries in a map, by walking its keys. */
static inline int fx_map_count(int fd, size_t key_size)
{
	uint8_t prev[64], next[64];
	int n = 0;

	if (key_size > sizeof(prev))
		return -1;
	if (bpf_map_get_next_key(fd, NULL, next))
		return 0;
	do {
		n++;
		memcpy(prev, next, key_size);
	} while (n < 100000 && bpf_map_get_next_key(fd, prev, next) == 0);
	return n;
}

/* Events drained from eg_events. */
#define FX_MAX_EVENTS 16

struct fx_events {
	struct eg_event ev[FX_MAX_EVENTS];
	int n;
	int oversize;
};

static inline int fx_event_cb(void *ctx, void *data, size_t size)
{
	struct fx_events *out = ctx;

	if (size != sizeof(struct eg_event) || out->n >= FX_MAX_EVENTS) {
		out->oversize++;
		return 0;
	}
	memcpy(&out->ev[out->n++], data, sizeof(struct eg_event));
	return 0;
}

static inline void fx_drain_events(struct fx *f, struct fx_events *out)
{
	struct ring_buffer *rb;
	int rc;

	memset(out, 0, sizeof(*out));
	rb = ring_buffer__new(f->m.events, fx_event_cb, out, NULL);
	CHECK(rb != NULL, "ring_buffer__new: %s", strerror(errno));
	if (!rb)
		return;
	rc = ring_buffer__consume(rb);
	CHECK(rc >= 0, "ring_buffer__consume: %d", rc);
	CHECK(out->oversize == 0, "%d events of the wrong size or too many", out->oversize);
	ring_buffer__free(rb);
}

/* The 16-byte datapath form of a host address. */
static inline struct eg_addr fx_addr(const char *host)
{
	struct eg_addr a;
	struct eg_err e;

	memset(&a, 0, sizeof(a));
	CHECK(eg_parse_addr(host, &a, &e) == 0, "eg_parse_addr(%s): %s", host, e.msg);
	return a;
}

/* Declares a case body run against a fresh fixture `f`. */
#define FX_CASE(name)                                \
	static void name##_body(struct fx *f);       \
	static void name(void)                       \
	{                                            \
		struct fx fxs;                       \
		if (fx_open(&fxs) == 0)              \
			name##_body(&fxs);           \
		fx_close(&fxs);                      \
	}                                            \
	static void name##_body(struct fx *f)

#endif
