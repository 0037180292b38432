// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Per-interface verdict counters: an instance loaded for slot N moves row N
 * of eg_iface_counters exactly as it moves the global verdict counters, and
 * no other row; the default load counts into slot 0. The slot is rodata, so each
 * case loads its own instance.
 */
#include "datapath_fixture.h"

#define SRC4 "192.0.2.10"
#define BANNED4 "192.0.2.99"

static int open_slot(struct fx *f, uint32_t slot)
{
	struct eg_sizes sz = fx_sizes();

	return fx_open_with(f, &(struct eg_open_opts){ .sizes = &sz, .iface_slot = slot });
}

static void iface_counters(struct fx *f, uint32_t slot, uint64_t out[EG_R_VERDICTS])
{
	int rc = eg_read_iface_counters(&f->m, slot, out, &f->err);

	CHECK(rc == 0, "eg_read_iface_counters(%u): %s", slot, f->err.msg);
	if (rc)
		memset(out, 0xff, sizeof(uint64_t) * EG_R_VERDICTS);
}

/* One verdict of each kind a test frame can produce without a policy. */
static void mixed_traffic(struct fx *f)
{
	fx_ban(f, BANNED4, 0);
	expect_n(f, SPEC(.src = SRC4, .dport = 80, .tcp_flags = TH_SYN), 3, XDP_PASS, EG_R_PASSED);
	expect_n(f, SPEC(.src = BANNED4, .dport = 80, .tcp_flags = TH_SYN), 2, XDP_DROP,
		 EG_R_BANNED);
	expect_n(f, SPEC(.ethertype = 0x0806), 4, XDP_PASS, EG_R_NON_IP);
}

/* Row `slot` equals the global verdict counters; the rows in others[] stay zero. */
static void check_rows(struct fx *f, uint32_t slot, const uint32_t *others, int n)
{
	uint64_t global[EG_R_MAX], row[EG_R_VERDICTS];

	fx_counters(f, global);
	iface_counters(f, slot, row);
	for (unsigned int r = 0; r < EG_R_VERDICTS; r++)
		CHECK(row[r] == global[r], "slot %u %s: %llu, global %llu", slot,
		      eg_reason_name(r), (unsigned long long)row[r], (unsigned long long)global[r]);
	CHECK_EQ(row[EG_R_PASSED], 3, "passed in the slot");
	CHECK_EQ(row[EG_R_BANNED], 2, "banned in the slot");
	CHECK_EQ(row[EG_R_NON_IP], 4, "non_ip in the slot");
	for (int i = 0; i < n; i++) {
		iface_counters(f, others[i], row);
		for (unsigned int r = 0; r < EG_R_VERDICTS; r++)
			CHECK(row[r] == 0, "slot %u %s moved to %llu", others[i], eg_reason_name(r),
			      (unsigned long long)row[r]);
	}
}

FX_CASE(eg_load_counts_into_slot_zero)
{
	static const uint32_t others[] = { 1, 2, EG_MAX_IFACES - 1 };

	mixed_traffic(f);
	check_rows(f, 0, others, 3);
}

static void slot_counts_only_its_row(void)
{
	static const uint32_t others[] = { 0, 4, 6, EG_MAX_IFACES - 1 };
	struct fx f;

	if (open_slot(&f, 5) == 0) {
		mixed_traffic(&f);
		check_rows(&f, 5, others, 4);
	}
	fx_close(&f);
}

static void last_slot_counts(void)
{
	static const uint32_t others[] = { 0, EG_MAX_IFACES - 2 };
	struct fx f;

	if (open_slot(&f, EG_MAX_IFACES - 1) == 0) {
		mixed_traffic(&f);
		check_rows(&f, EG_MAX_IFACES - 1, others, 2);
	}
	fx_close(&f);
}

/* What detach does to a slot: its row goes to zero, the global counters stay. */
static void reset_zeroes_one_row(void)
{
	uint64_t before[EG_R_MAX], after[EG_R_MAX], row[EG_R_VERDICTS];
	struct fx f;

	if (open_slot(&f, 3) == 0) {
		mixed_traffic(&f);
		fx_counters(&f, before);
		CHECK(eg_reset_iface_counters(&f.m, 3, &f.err) == 0, "reset: %s", f.err.msg);
		iface_counters(&f, 3, row);
		for (unsigned int r = 0; r < EG_R_VERDICTS; r++)
			CHECK(row[r] == 0, "%s still %llu after the reset", eg_reason_name(r),
			      (unsigned long long)row[r]);
		fx_counters(&f, after);
		CHECK(!memcmp(before, after, sizeof(before)), "the global counters changed");
		/* Counting goes on from zero. */
		expect_frame(&f, SPEC(.src = SRC4, .dport = 80, .tcp_flags = TH_ACK), XDP_PASS,
			     EG_R_PASSED);
		iface_counters(&f, 3, row);
		CHECK_EQ(row[EG_R_PASSED], 1, "passed after the reset");
	}
	fx_close(&f);
}

FX_CASE(fresh_maps_name_no_interface)
{
	struct eg_iface_slot all[EG_MAX_IFACES];

	CHECK(eg_read_ifaces(&f->m, all, &f->err) == 0, "eg_read_ifaces: %s", f->err.msg);
	for (int s = 0; s < EG_MAX_IFACES; s++)
		CHECK(all[s].ifindex == 0 && all[s].name[0] == '\0', "slot %d holds ifindex %u", s,
		      all[s].ifindex);
}

FX_CASE(out_of_range_slots_refused)
{
	uint64_t row[EG_R_VERDICTS];
	struct eg_err e = { 0 };
	struct edgeguard_bpf *skel = eg_datapath_open_load(&(struct eg_open_opts){ .iface_slot = EG_MAX_IFACES }, &e);

	CHECK(skel == NULL, "slot %d loaded", EG_MAX_IFACES);
	if (skel)
		edgeguard_bpf__destroy(skel);
	CHECK(strstr(e.msg, "out of range") != NULL, "message: '%s'", e.msg);
	CHECK(eg_read_iface_counters(&f->m, EG_MAX_IFACES, row, &f->err) != 0,
	      "read of slot %d succeeded", EG_MAX_IFACES);
	CHECK(eg_reset_iface_counters(&f->m, EG_MAX_IFACES, &f->err) != 0,
	      "reset of slot %d succeeded", EG_MAX_IFACES);
}

int main(void)
{
	RUN(eg_load_counts_into_slot_zero);
	RUN(slot_counts_only_its_row);
	RUN(last_slot_counts);
	RUN(reset_zeroes_one_row);
	RUN(fresh_maps_name_no_interface);
	RUN(out_of_range_slots_refused);
	return tl_exit_code();
}
