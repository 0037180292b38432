/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The one header shared by the BPF datapath and user space: map keys and
 * values, counter reasons, event records and limits. Both sides must agree on
 * every byte here, so nothing in it may depend on which side includes it.
 *
 * Addresses: every address carries its family (struct eg_addr), so an IPv4
 * source and an IPv6 source never share a key, a trie prefix or a ban: no
 * IPv6 prefix, ::/0 included, covers an IPv4 address and no IPv4 prefix an
 * IPv6 one. In the LPM tries the family is the first 32 bits of the data, so
 * an IPv4 /p is stored as prefix length EG_FAMILY_BITS + p.
 */
#ifndef EDGEGUARD_H
#define EDGEGUARD_H

#if defined(__bpf__)
#include "vmlinux.h" /* the kernel's types, struct bpf_timer among them */
#else
#include <linux/types.h>
#include <linux/bpf.h> /* struct bpf_timer */
#endif

#define EG_NS_PER_S 1000000000ULL /* every time in a map is CLOCK_BOOTTIME nanoseconds */
#define EG_ADDR_LEN 16
#define EG_FAMILY_BITS 32 /* the family word in front of an address in an LPM key */
#define EG_AF_INET 4
#define EG_AF_INET6 6
/* Longest LPM prefix: an IPv6 host. Also bounds every walk down a trie. */
#define EG_LPM_MAX_PREFIX (EG_FAMILY_BITS + 128)

/* Defaults for map sizes; the loader may change them before load. */
#define EG_DEFAULT_MAX_SOURCES (1U << 20)
#define EG_DEFAULT_MAX_BANS (1U << 16)
#define EG_DEFAULT_MAX_ALLOWS (1U << 14)
#define EG_DEFAULT_MAX_FLOWS (1U << 18)
#define EG_DEFAULT_MAX_VERIFIED (1U << 16)
#define EG_DEFAULT_MAX_AUTOBANS (1U << 16)
#define EG_DEFAULT_MAX_ESCALATIONS (1U << 14)
/* Record slots of the first-seen memory (eg_seen), 8 bytes each; see struct eg_seen_bucket. */
#define EG_DEFAULT_FIRST_SEEN (1U << 19)
#define EG_DEFAULT_V6_PREFIX 64
#define EG_DEFAULT_FLOW_IDLE_S 300      /* a flow with no packet for this long is reaped */
#define EG_DEFAULT_VERIFIED_TTL_S 3600  /* how long a completed handshake vouches for a source */
#define EG_EVENTS_RINGBUF_BYTES (256 * 1024)

/*
 * Policies live in two generations so a new table can be written in full and
 * then switched in with one write of eg_config.active_gen.
 */
#define EG_GENERATIONS 2
#define EG_MAX_POLICIES 64 /* slot 0 of each generation is the default policy */
#define EG_PORT_PROTOS 2   /* TCP, UDP */
#define EG_PORT_SLOTS (EG_GENERATIONS * EG_PORT_PROTOS * 65536)

/* Bounds that keep the verifier happy and the parser honest. */
#define EG_MAX_IPV6_EXT_HDRS 6 /* more than this in one packet is malformed */
/*
 * VLAN tags the parser reads through. The kernel strips any number of
 * priority (VID 0) tags and delivers what is behind them, so a frame with
 * more tags than this is dropped as malformed, never passed as non-IP.
 */
#define EG_MAX_VLAN_TAGS 8

enum eg_l4_index {
	EG_L4_TCP = 0,
	EG_L4_UDP = 1,
};

static inline __u32 eg_port_slot(__u32 gen, __u32 l4, __u32 port)
{
	return (gen << 17) | (l4 << 16) | (port & 0xffff);
}

/* An address and its family. IPv4 sits in a[0..3]; the rest is zero. */
struct eg_addr {
	__u32 family; /* EG_AF_INET or EG_AF_INET6 */
	__u8 a[EG_ADDR_LEN];
};

/*
 * Key of the allow and ban LPM tries (and of ban notes). prefixlen counts the
 * family word too: EG_FAMILY_BITS + the CIDR's own prefix length.
 */
struct eg_lpm_key {
	__u32 prefixlen;
	struct eg_addr addr;
};

enum eg_ban_origin {
	EG_ORIGIN_MANUAL = 0,
	EG_ORIGIN_AUTO = 1,   /* set by the datapath itself */
	EG_ORIGIN_POLICY = 2, /* a static ban from the policy file */
	EG_ORIGIN_FLEET = 3,  /* learned from another host */
	EG_ORIGIN_IMPORT = 4, /* from another tool: edgeguard import --apply, ban files, fail2ban */
	EG_ORIGIN_CROWDSEC = 5, /* a CrowdSec Local API decision (edgeguardd --crowdsec-lapi) */
	EG_ORIGIN_MAX,
};

/*
 * Value of every ban map. Operator bans (every origin but auto) live in the
 * exact-address hash and the CIDR trie, which only user space writes, so
 * they always fit; the datapath's own bans go to eg_autoban, a trie with its
 * own capacity.
 */
struct eg_ban {
	__u64 expires_ns; /* CLOCK_BOOTTIME; 0 = permanent */
	__u64 created_ns; /* CLOCK_BOOTTIME */
	__u32 prefixlen;  /* of the key (LPM form), so the kernel can look past an expired CIDR */
	__u16 origin;     /* enum eg_ban_origin */
	__u16 policy;     /* policy slot that triggered an auto-ban */
	__u32 trigger;    /* enum eg_reason that triggered an auto-ban */
	__u32 _pad;
};

struct eg_allow {
	__u64 created_ns;
	__u32 prefixlen; /* of the key, so user space tells an exact entry from a covering one */
	__u16 origin;    /* EG_ORIGIN_MANUAL (this host's) or EG_ORIGIN_FLEET (another host's) */
	__u16 fleet;     /* 1: this host's allow, shared with the fleet */
};

/*
 * Elements of eg_list_empty: 1 means the list is known to be empty, so the
 * datapath skips its lookup (a helper call each, a third of a known source's
 * cost). 0, the state of a new map, means "look". Whoever inserts into a list
 * stores 0 after the insert; only user space stores 1, after seeing the list
 * empty, and then looks again (eg_list_settle() in user/policy/lists.c says why
 * that is race-free).
 */
enum eg_list {
	EG_LIST_ALLOW = 0,
	EG_LIST_BAN_EXACT,
	EG_LIST_BAN_CIDR,
	EG_LIST_AUTOBAN,
	EG_LIST_MAX,
};

/*
 * The list generation: the one element of eg_list_gen, an mmapable array.
 * A source's state remembers the generation it was found clean in (not
 * allowlisted, not banned), and the datapath skips the allow and ban lookups
 * while the two agree; so a known source costs the same with full lists as
 * with empty ones.
 *
 * gen moves after every insert into a list: user space inserts first, then
 * adds 1 (an atomic add on the mmapped page, user/lists.c); the datapath's
 * IPv6 escalations do the same. The datapath reads gen before its lookups,
 * so a change that races with a packet's lookups is seen by the next packet
 * at the latest. Removals need no move: a source clean before a ban or allow
 * is removed is clean after. An expiring ban needs none either (it can only
 * unban). The datapath's auto-ban of a source clears the generation of that
 * source's own entries instead (every policy slot), so other sources keep
 * theirs. 0 means "never cache" (a map nobody has set up yet).
 *
 * IPv6 state is per ipv6_prefix aggregate, so its cached verdict holds for
 * every address in it only while no IPv6 allow or ban is longer than the
 * prefix: v6_deep says one may be (set by whoever inserts one, recomputed by
 * user space when the lists are settled and at every policy load), and the
 * datapath then checks the lists on every IPv6 packet.
 */
struct eg_list_gen {
	__u32 gen;
	__u32 v6_deep;
};

/* Longest ban reason, NUL included: static bans in policy files and notes alike. */
#define EG_BAN_REASON_LEN 128

/*
 * Why a ban was set, in a hash beside the ban maps keyed like the CIDR trie
 * (a host is its /128). Only user space reads or writes it; it is pinned
 * with the other maps so a reason outlives the daemon. Auto-bans have none.
 * A fleet ban's note also names the host it came from.
 */
/* Longest name of a host in a fleet (edgeguardd --fleet-host), NUL included. */
#define EG_BAN_HOST_LEN 64

struct eg_ban_note {
	char reason[EG_BAN_REASON_LEN]; /* NUL-terminated */
	__u64 created_unix;             /* wall-clock seconds when the reason was set */
	char host[EG_BAN_HOST_LEN];     /* a fleet ban's originating host; "" for local bans */
};

/*
 * A token bucket as GCRA: interval_ns = 1e9 / rate, tolerance_ns =
 * (burst - 1) * interval_ns. rate == 0 disables the bucket. User space fills
 * the derived fields; the datapath never divides.
 */
struct eg_bucket_cfg {
	__u32 rate;  /* per second */
	__u32 burst; /* back-to-back allowance */
	__u64 interval_ns;
	__u64 tolerance_ns;
};

enum eg_mode {
	EG_MODE_ENFORCE = 0,
	EG_MODE_DRY_RUN = 1,
};

/*
 * The name of each policy slot of the live generation (eg_policy_names), for
 * user space only: status, top and metrics read the names from here, not
 * from a file that may have changed since it was loaded.
 */
#define EG_POLICY_NAME_LEN 64

struct eg_policy_name {
	char name[EG_POLICY_NAME_LEN]; /* NUL-terminated; empty: slot unused */
};

struct eg_policy {
	struct eg_bucket_cfg syn; /* new TCP connections: SYN without ACK */
	struct eg_bucket_cfg pkt; /* every packet */
	__u32 ban_after;          /* drops within ban_window_s that trigger an auto-ban; 0 = never */
	__u32 ban_window_s;
	__u32 ban_ttl_s;          /* 0 = permanent */
	__u32 mode;               /* enum eg_mode */
	__u32 max_conns;          /* established flows per source; 0 = no cap */
	__u32 _pad;
	/*
	 * New connections per second from all unverified sources together (a
	 * spoofed flood looks like millions of new sources); rate 0 = no budget.
	 * Verified sources are not charged to it.
	 */
	struct eg_bucket_cfg new_source_budget;
	/*
	 * SYN flood mode: a meter of SYNs from sources without state (rate =
	 * burst = syn_retry_above per second). Once they exceed it the policy is
	 * under a SYN flood for EG_SYN_FLOOD_HOLD_NS (renewed while it lasts):
	 * a new source's first SYN is dropped and remembered, and its
	 * retransmission, EG_RETRY_MIN_GAP_NS to EG_SEEN_WINDOW_NS later, is let
	 * through. rate 0 = never.
	 */
	struct eg_bucket_cfg syn_retry;
};

struct eg_config {
	__u32 active_gen;     /* which generation of eg_policies/eg_port_policy is live */
	__u32 v6_prefix;      /* IPv6 sources are aggregated to this prefix length */
	__u32 flow_idle_s;    /* established flows idle this long are reaped */
	__u32 verified_ttl_s; /* a verified source stays verified this long after its last flow */
	/*
	 * IPv6 auto-ban escalation: once escalate_after auto-bans sit inside one
	 * prefix EG_ESCALATE_STEP bits shorter, that prefix is banned instead,
	 * step by step, never shorter than v6_autoban_floor (v6_prefix or
	 * escalate_after 0: never). An attacker spreading over many /64s of one
	 * allocation costs one entry, not one per /64.
	 */
	__u32 v6_autoban_floor;
	__u32 escalate_after;
	__u32 policy_slots; /* slots in use, default included (an auto-ban clears them all); 0 = every slot */
	__u32 seen_mask;    /* buckets of eg_seen - 1 (a power of two) */
	__u32 tracked_mask; /* blocks of eg_tracked - 1 (a power of two) */
	__u32 _pad;
	__u64 hash_seed;    /* random, set once: keys the hash of eg_seen and eg_tracked */
};

#define EG_ESCALATE_STEP 8
#define EG_DEFAULT_V6_AUTOBAN_FLOOR 48
#define EG_DEFAULT_ESCALATE_AFTER 8

/* Auto-bans counted inside one shorter prefix (key: that prefix), for escalation. */
struct eg_escalation {
	__u64 window_start_ns; /* the count restarts once the ban TTL has passed */
	__u32 count;
	__u32 _pad;
};

/* Per-source, per-policy state in the LRU hash. */
struct eg_source_key {
	struct eg_addr addr; /* IPv6 already masked to eg_config.v6_prefix */
	__u32 policy;
};

/*
 * The time unit of the auto-ban window start and of first-seen records:
 * 2^20 ns (1.048576 ms). A u32 of them spans 52 days.
 */
#define EG_TIME_UNIT_SHIFT 20

/*
 * The state of a source that proved it is real (it sent again after its
 * first packet, or completed a handshake): 40 bytes, so with the 24-byte key
 * and the kernel's 64 bytes per LRU element (48-byte header, 16-byte bucket)
 * a tracked source costs 128 bytes of kernel memory.
 */
struct eg_source {
	__u64 syn_tat;      /* GCRA theoretical arrival time, CLOCK_BOOTTIME ns: exact */
	__u64 pkt_tat;
	__u32 gen;          /* eg_list_gen.gen it was found clean in; 0 = look at the lists */
	/*
	 * Auto-ban window: its start in EG_TIME_UNIT_SHIFT units (the low 32
	 * bits of the clock in those units; a window is measured to within one
	 * unit) and the drops in it.
	 */
	__u32 window_start;
	__u32 window_drops;
	/* Totals for `top`: they wrap at 2^32, and top only ever takes differences. */
	__u32 packets;
	__u32 syns;
	__u32 drops;
};

/*
 * First-seen memory: where a source without state is remembered, so that a
 * spoofed source (one packet, never again) costs no per-source state. A
 * global array of buckets, each one cache line of EG_SEEN_WAYS records,
 * keyed by the source's address (IPv6: its ipv6_prefix aggregate) like the
 * tracked filter below: one hash, eg_addr_hash() under eg_config.hash_seed,
 * gives the bucket and a 30-bit fingerprint. A record:
 *
 *   bits 63..34  fingerprint (never 0, so an empty slot is 0)
 *   bit  33      the recorded packet was a SYN
 *   bit  32      the recorded packet is not charged to any bucket yet
 *   bits 31..26  its policy slot
 *   bits 25..0   when, in EG_TIME_UNIT_SHIFT units (the clock's low 26 bits: 19.5 hours)
 *
 * A new record takes the bucket's empty or oldest slot. A source whose record
 * is younger than EG_SEEN_WINDOW_NS has been seen: its packet creates its
 * state, charged with the recorded packet too (at the recorded time) when that
 * one was for the same policy. Under a flood of new sources a record lives
 * while fewer than EG_SEEN_WAYS newer ones land in its bucket (docs/policy.md,
 * limits.first_seen, gives the sizing).
 */
#define EG_SEEN_WAYS 8
#define EG_SEEN_WINDOW_NS (8 * EG_NS_PER_S)
#define EG_SEEN_TIME_BITS 26
/* In SYN flood mode, a repeat sooner than this is not a retransmission. */
#define EG_RETRY_MIN_GAP_NS (EG_NS_PER_S / 2)
#define EG_SYN_FLOOD_HOLD_NS (10 * EG_NS_PER_S)

struct eg_seen_bucket {
	__u64 slot[EG_SEEN_WAYS];
};

/*
 * Which sources have state: a blocked Bloom filter (eg_tracked) of source
 * addresses (IPv6: aggregates) that the datapath consults first, so a source
 * it has never seen costs no hash-table lookup and meets the lists before
 * anything else. Each block is one cache line with two
 * halves of 192 bits, each stamped with the epoch (clock >>
 * EG_TRACKED_EPOCH_SHIFT, plus 1) it was filled in. A source with state sets
 * its two bits in the current half at most once per epoch; the first set in
 * a block two epochs later recycles the older half. Either half answers a
 * test (no clock needed): a half nobody has recycled yet only makes a
 * "maybe" that a lookup corrects. So a source stays in the filter while it
 * sends at least every ~2 s, and one that falls out was silent that long:
 * its next packet would conform to any bucket anyway (rates are at least
 * 1/s), so it passes as a first-seen packet and is charged when the source's
 * next packet finds the state again.
 */
#define EG_TRACKED_EPOCH_SHIFT 31 /* 2.1 s */
#define EG_TRACKED_WORDS 3

struct eg_tracked_block {
	__u32 epoch[2];
	__u64 bits[2][EG_TRACKED_WORDS];
	__u64 _pad;
};

/*
 * The keyed hash of a source address (family included; IPv6 already masked to
 * ipv6_prefix) behind eg_seen and eg_tracked, the same in the datapath and in
 * user space. Not cryptographic, but an attacker who does not know the seed
 * cannot aim at one bucket or fingerprint.
 */
static inline __u64 eg_addr_hash(const struct eg_addr *a, __u64 seed)
{
	const __u32 *w = (const __u32 *)a;
	__u64 h = seed ^ 0x9e3779b97f4a7c15ULL;
	int i;

	/* The family word, then the address as two 64-bit words read in 32-bit halves. */
	h ^= w[0];
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 31;
	for (i = 1; i < 5; i += 2) {
		h ^= (__u64)w[i] | (__u64)w[i + 1] << 32;
		h *= 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 31;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* First-seen bucket (low bits) and fingerprint (top 30 bits, never 0) of a hash. */
static inline __u32 eg_seen_bucket_of(__u64 h, __u32 mask)
{
	return (__u32)h & mask;
}

static inline __u32 eg_seen_fp(__u64 h)
{
	__u32 fp = (__u32)(h >> 34);

	return fp ? fp : 1;
}

/* Tracked-filter block (bits 20..43) and the positions of a source's two bits in a half. */
static inline __u32 eg_tracked_block_of(__u64 h, __u32 mask)
{
	return (__u32)(h >> 20) & mask;
}

static inline __u32 eg_tracked_pos(__u64 h, int i)
{
	__u64 x = i ? (h * 0x9e3779b97f4a7c15ULL) >> 40 : h >> 44;

	return (__u32)x % (64 * EG_TRACKED_WORDS);
}

/*
 * The half of b a source marked in epoch e goes into: the one already of e,
 * else the older one (the other may still be the previous epoch's), which
 * the writer clears and gives e first (b->epoch[half] != e tells it to).
 */
static inline int eg_tracked_half(const struct eg_tracked_block *b, __u32 e)
{
	if (b->epoch[0] == e)
		return 0;
	if (b->epoch[1] == e)
		return 1;
	return b->epoch[0] <= b->epoch[1] ? 0 : 1;
}

/*
 * An established TCP flow, keyed from the client's side. TC egress creates it
 * on the server's SYN-ACK; FIN or RST in either direction, or the idle timer,
 * deletes it. Whoever deletes it gives back the owner's connection slot, so
 * every flow is counted down exactly once.
 */
struct eg_flow_key {
	struct eg_addr client;
	struct eg_addr server;
	__u16 client_port;
	__u16 server_port;
	__u32 _pad; /* always zero */
};

struct eg_flow {
	struct bpf_timer idle;
	__u64 last_seen_ns;
	/*
	 * A client RST whose sequence number is exactly the server's last ACK
	 * (what the server's stack requires to accept one, RFC 5961) passed at
	 * this time: the flow ends unless the server still sends within
	 * EG_RST_CONFIRM_NS. 0: none pending. A client's FIN never ends a flow:
	 * only the server's own FIN or RST, seen at TC egress, does.
	 */
	__u64 rst_ns;
	struct eg_source_key owner; /* whose eg_conns count this flow holds */
	__u32 server_ack;           /* ACK number of the server's last segment (host order) */
	__u32 verified;             /* the server sent after the handshake */
	/*
	 * The idle timer is running. Arming can fail (the kernel allocates a
	 * timer without locks, which runs dry in a burst): the flow is kept,
	 * re-armed on its next server packet, and edgeguardd sweeps what is
	 * still unarmed and idle.
	 */
	__u32 armed;
};

/*
 * A source that completed a handshake recently. Only TC egress inserts
 * these, so a flood of spoofed sources cannot evict them; the entry carries
 * the source's buckets, used instead of its eg_sources entry.
 */
struct eg_verified {
	struct eg_source state;
	__u64 verified_ns;
};

/*
 * Per policy, shared by every CPU: the budget of new connections from
 * unverified sources (GCRA), and the SYN flood meter and mode (syn_retry).
 */
struct eg_budget {
	__u64 tat;
	__u64 flood_tat;   /* GCRA of SYNs from sources without state */
	__u64 flood_until; /* CLOCK_BOOTTIME: SYN flood mode until then */
};

/*
 * The datapath's own sweep of flows whose idle timer could not be armed: one
 * timer, armed with the first tracked flow, so unarmed flows give their slot
 * back even when no daemon runs.
 */
struct eg_sweep_timer {
	struct bpf_timer timer;
	__u32 armed;
	__u32 _pad;
};

#define EG_SWEEP_PERIOD_S 10
/* Longer than the kernel's longest delayed ACK (200 ms): a refused RST is answered by then. */
#define EG_RST_CONFIRM_NS EG_NS_PER_S

/*
 * Counter reasons. Every packet moves exactly one of the verdict reasons
 * (below EG_R_VERDICTS); the rest count events that ride on a verdict.
 */
enum eg_reason {
	EG_R_PASSED = 0,
	EG_R_ALLOWLISTED,
	EG_R_BANNED,      /* exact-address ban */
	EG_R_BANNED_CIDR, /* CIDR ban */
	EG_R_SYN_RATE,
	EG_R_PKT_RATE,
	EG_R_MALFORMED,   /* truncated or unparseable IP packet */
	EG_R_NON_IP,
	EG_R_DRY_RUN_WOULD_DROP, /* passed only because its policy is in dry-run */
	EG_R_CONN_LIMIT,  /* SYN from a source already at max_conns */
	EG_R_BUDGET,      /* SYN from an unverified source over the policy's budget */
	EG_R_AUTOBANNED,  /* the datapath's own ban (eg_autoban) */
	EG_R_SYN_RETRY,   /* a new source's first SYN in SYN flood mode: its retransmission gets in */
	EG_R_VERDICTS,
	EG_R_AUTOBAN = EG_R_VERDICTS,
	EG_R_DRY_RUN_WOULD_BAN,
	EG_R_FRAGMENT,    /* non-first fragment: source checked, L4 policy skipped */
	EG_R_SYN_SEEN,
	EG_R_EVENTS_LOST, /* ring buffer full */
	EG_R_BAN_FAILED,  /* an auto-ban could not be inserted (ban map full) */
	EG_R_FLOW_OPENED, /* TC egress: SYN-ACK started tracking a flow */
	EG_R_FLOW_CLOSED, /* FIN or RST ended a flow */
	EG_R_FLOW_REAPED, /* the idle timer ended a flow */
	EG_R_FLOW_FULL,   /* the flow table was full: flow not tracked */
	EG_R_VERIFIED,    /* a source became verified */
	EG_R_FLOW_UNTIMED, /* a flow's idle timer could not be armed (yet) */
	EG_R_FLOW_SWEPT,  /* an unarmed idle flow ended by a sweep (the datapath or edgeguardd) */
	EG_R_ESCALATED,   /* an IPv6 auto-ban widened to a shorter prefix */
	EG_R_FIRST_SEEN,  /* a packet from a source without state: remembered, no state made */
	EG_R_PROMOTED,    /* a source seen again: its state was made */
	EG_R_SYN_FLOOD,   /* a policy entered SYN flood mode */
	EG_R_MAX,
};

/*
 * Verdict counters per interface: each interface runs its own instance of
 * the XDP program, which counts into the slot attach gave it (rodata
 * eg_iface_slot). Slot 0 belongs to instances without an interface (the unit
 * tests); eg_ifaces names the slots 1..EG_MAX_IFACES-1 in use.
 */
#define EG_MAX_IFACES 64

struct eg_iface_slot {
	__u32 ifindex; /* 0: slot free */
	char name[16]; /* IF_NAMESIZE, NUL-terminated */
};

/* Per-policy counters: one per-CPU array slot per policy. */
enum eg_policy_counter {
	EG_PC_PACKETS = 0,
	EG_PC_PASSED,
	EG_PC_SYN_DROP,
	EG_PC_PKT_DROP,
	EG_PC_WOULD_DROP,
	EG_PC_AUTOBAN,
	EG_PC_WOULD_BAN,
	EG_PC_CONN_DROP,
	EG_PC_BUDGET_DROP,
	EG_PC_RETRY_DROP,
	EG_PC_MAX,
};

struct eg_policy_counters {
	__u64 c[EG_PC_MAX];
};

enum eg_event_type {
	EG_EV_AUTOBAN = 1,
	EG_EV_WOULD_BAN = 2, /* dry-run policy reached its ban threshold */
	EG_EV_ESCALATE = 3,  /* auto-bans inside a prefix reached escalate_after: it is banned */
};

struct eg_event {
	__u64 ts_ns; /* CLOCK_BOOTTIME */
	struct eg_addr addr;
	__u32 prefixlen; /* of addr, in LPM form (EG_FAMILY_BITS + prefix) */
	__u32 type;      /* enum eg_event_type */
	__u32 policy;
	__u32 trigger;   /* enum eg_reason */
	__u32 ttl_s;
	__u32 window_drops;
};

#endif /* EDGEGUARD_H */
