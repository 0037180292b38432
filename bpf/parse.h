/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Packet parser of the datapath: Ethernet, up to EG_MAX_VLAN_TAGS VLAN tags
 * (802.1Q, 802.1ad, in any order), IPv4 with options, IPv6 with a bounded
 * extension-header chain, TCP and UDP. It only reads; every read is checked
 * against data_end. A frame the stack could still deliver as IP is never
 * reported as non-IP: what cannot be parsed safely is malformed.
 * Shared by the real program and the parse-only benchmark baseline.
 */
#ifndef EG_PARSE_H
#define EG_PARSE_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "edgeguard.h"
#include "consts.bpf.h"

enum eg_parse_status {
	EG_PARSE_OK = 0,
	EG_PARSE_NON_IP,       /* not IP, or cut before we could tell: pass it untouched */
	EG_PARSE_BAD_L3,       /* IP (or maybe IP), but no trustworthy source address */
	EG_PARSE_BAD_L4,       /* source known; the rest cannot be parsed */
};

enum eg_frag {
	EG_FRAG_NONE = 0,
	EG_FRAG_FIRST,
	EG_FRAG_LATER, /* carries no L4 header */
};

struct eg_pkt {
	struct eg_addr src;
	struct eg_addr dst;
	__u16 sport;
	__u16 dport;
	__u32 seq; /* TCP, host order */
	__u32 ack;
	__u8 l4proto;
	__u8 tcp_flags;
	__u8 frag;   /* enum eg_frag */
	__u8 is_v6;
	__u8 has_port; /* TCP or UDP header was read */
	__u8 _pad;
};

static __always_inline int eg_parse_l4(void *l4, void *end, struct eg_pkt *p)
{
	if (p->frag == EG_FRAG_LATER)
		return EG_PARSE_OK;
	if (p->l4proto == EG_IPPROTO_TCP) {
		struct tcphdr *th = l4;

		/* A first fragment too short for the TCP header is the RFC 1858
		 * tiny-fragment trick: treat it as malformed. */
		if ((void *)(th + 1) > end)
			return EG_PARSE_BAD_L4;
		p->sport = bpf_ntohs(th->source);
		p->dport = bpf_ntohs(th->dest);
		p->tcp_flags = ((__u8 *)th)[13];
		p->seq = bpf_ntohl(th->seq);
		p->ack = bpf_ntohl(th->ack_seq);
		p->has_port = 1;
	} else if (p->l4proto == EG_IPPROTO_UDP) {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > end)
			return EG_PARSE_BAD_L4;
		p->sport = bpf_ntohs(uh->source);
		p->dport = bpf_ntohs(uh->dest);
		p->has_port = 1;
	}
	return EG_PARSE_OK;
}

static __always_inline int eg_parse_ipv4(void *l3, void *end, struct eg_pkt *p)
{
	struct iphdr *iph = l3;
	__u32 hlen;
	__u16 frag;

	if ((void *)(iph + 1) > end)
		return EG_PARSE_BAD_L3;
	if (iph->version != 4 || iph->ihl < 5)
		return EG_PARSE_BAD_L3;
	/* The caller zeroed p: the rest of each address stays zero. */
	p->src.family = EG_AF_INET;
	__builtin_memcpy(p->src.a, &iph->saddr, 4);
	p->dst.family = EG_AF_INET;
	__builtin_memcpy(p->dst.a, &iph->daddr, 4);
	p->l4proto = iph->protocol;

	frag = bpf_ntohs(iph->frag_off);
	if (frag & 0x1fff)
		p->frag = EG_FRAG_LATER;
	else if (frag & 0x2000)
		p->frag = EG_FRAG_FIRST;

	hlen = iph->ihl * 4;
	if (l3 + hlen > end)
		return EG_PARSE_BAD_L4; /* options cut short: source is known */
	return eg_parse_l4(l3 + hlen, end, p);
}

static __always_inline int eg_parse_ipv6(void *l3, void *end, struct eg_pkt *p)
{
	struct ipv6hdr *ip6h = l3;
	void *cur = ip6h + 1;
	__u8 next;
	int i;

	if (cur > end)
		return EG_PARSE_BAD_L3;
	if (ip6h->version != 6)
		return EG_PARSE_BAD_L3;
	p->src.family = EG_AF_INET6;
	__builtin_memcpy(p->src.a, &ip6h->saddr, EG_ADDR_LEN);
	p->dst.family = EG_AF_INET6;
	__builtin_memcpy(p->dst.a, &ip6h->daddr, EG_ADDR_LEN);
	p->is_v6 = 1;
	/*
	 * ::ffff:a.b.c.d is never valid on the wire (the kernel drops such a
	 * source too). It is an IPv6 source like any other for the lists, and
	 * never mistaken for IPv4; past them it is malformed.
	 */
	if (ip6h->saddr.in6_u.u6_addr32[0] == 0 && ip6h->saddr.in6_u.u6_addr32[1] == 0 &&
	    ip6h->saddr.in6_u.u6_addr32[2] == bpf_htonl(0xffff))
		return EG_PARSE_BAD_L4;
	next = ip6h->nexthdr;

	/* One pass per allowed extension header plus one for the header after the last. */
#pragma unroll
	for (i = 0; i <= EG_MAX_IPV6_EXT_HDRS; i++) {
		__u8 *h = cur;

		switch (next) {
		case EG_IPPROTO_HOPOPTS:
		case EG_IPPROTO_ROUTING:
		case EG_IPPROTO_DSTOPTS:
			if (i == EG_MAX_IPV6_EXT_HDRS || (void *)(h + 2) > end)
				return EG_PARSE_BAD_L4;
			next = h[0];
			cur += (h[1] + 1) * 8;
			break;
		case EG_IPPROTO_AH:
			if (i == EG_MAX_IPV6_EXT_HDRS || (void *)(h + 2) > end)
				return EG_PARSE_BAD_L4;
			next = h[0];
			cur += (h[1] + 2) * 4;
			break;
		case EG_IPPROTO_FRAGMENT: {
			__u16 off;

			if (i == EG_MAX_IPV6_EXT_HDRS || (void *)(h + 8) > end)
				return EG_PARSE_BAD_L4;
			next = h[0];
			off = bpf_ntohs(*(__u16 *)(h + 2));
			if (off & 0xfff8)
				p->frag = EG_FRAG_LATER;
			else if (off & 1)
				p->frag = EG_FRAG_FIRST;
			cur += 8;
			break;
		}
		default:
			/* The last extension header ran past the frame: truncated. */
			if (cur > end)
				return EG_PARSE_BAD_L4;
			p->l4proto = next;
			return eg_parse_l4(cur, end, p);
		}
		if (p->frag == EG_FRAG_LATER) {
			/* The rest is payload of a later fragment, not headers. */
			p->l4proto = next;
			return EG_PARSE_OK;
		}
	}
	/* A longer chain than any real stack sends: refuse to guess what follows. */
	return EG_PARSE_BAD_L4;
}

/* Parses an Ethernet frame in [data, end): XDP's buffer or a TC skb's linear part. */
static __always_inline int eg_parse_frame(void *data, void *end, struct eg_pkt *p)
{
	struct ethhdr *eth = data;
	void *cur = eth + 1;
	__u16 proto;
	int i;

	if (cur > end)
		return EG_PARSE_NON_IP;
	proto = eth->h_proto;

#pragma unroll
	for (i = 0; i < EG_MAX_VLAN_TAGS; i++) {
		if (proto != bpf_htons(EG_ETH_P_8021Q) && proto != bpf_htons(EG_ETH_P_8021AD))
			break;
		if (cur + 4 > end)
			return EG_PARSE_NON_IP; /* cut inside the tags: no IP header follows */
		proto = *(__u16 *)(cur + 2);
		cur += 4;
	}
	/* Deeper than we look, yet the stack may strip its way to an IP packet. */
	if (proto == bpf_htons(EG_ETH_P_8021Q) || proto == bpf_htons(EG_ETH_P_8021AD))
		return EG_PARSE_BAD_L3;

	if (proto == bpf_htons(EG_ETH_P_IP))
		return eg_parse_ipv4(cur, end, p);
	if (proto == bpf_htons(EG_ETH_P_IPV6))
		return eg_parse_ipv6(cur, end, p);
	return EG_PARSE_NON_IP;
}

/*
 * The parsers as global functions: the verifier checks each once, on its
 * own, instead of once per path of the program that calls it (every VLAN
 * depth and extension-header chain would multiply the rest of the program).
 * p is the caller's zeroed struct.
 */
__noinline int eg_parse(struct xdp_md *ctx, struct eg_pkt *p)
{
	if (!p)
		return EG_PARSE_NON_IP;
	return eg_parse_frame((void *)(long)ctx->data, (void *)(long)ctx->data_end, p);
}

/* The same for an skb whose headers are in its linear part (see EG_TC_PULL_BYTES). */
__noinline int eg_parse_skb(struct __sk_buff *skb, struct eg_pkt *p)
{
	if (!p)
		return EG_PARSE_NON_IP;
	return eg_parse_frame((void *)(long)skb->data, (void *)(long)skb->data_end, p);
}

#endif /* EG_PARSE_H */
