/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Crafted Ethernet frames for bpf_prog_test_run_opts: VLAN and QinQ tags,
 * IPv4 with options, IPv6 with extension headers, fragments, TCP and UDP.
 * Checksums are left at zero: XDP sees frames before anything verifies them.
 */
#ifndef EG_FRAMES_H
#define EG_FRAMES_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define FRAME_MAX 512

enum frame_frag { FRAG_NONE = 0, FRAG_FIRST, FRAG_LATER };

struct frame_spec {
	int vlans;              /* tags: 1 is 802.1Q; from 2 the outer one is 802.1ad, then they alternate */
	int vlan_vid;           /* VID of every tag; 0: 100 for 802.1ad, 200 for 802.1Q */
	bool priority_tags;     /* every tag VID 0 (what the kernel strips by itself) */
	uint16_t ethertype;     /* 0: IPv4 or IPv6 as the address says; else raw (e.g. ARP) */
	const char *src;        /* "203.0.113.7" or "2001:db8::1" */
	const char *dst;        /* defaults to the same family's documentation address */
	uint8_t l4;             /* IPPROTO_TCP (default when 0), IPPROTO_UDP, IPPROTO_ICMP... */
	uint16_t sport, dport;
	uint8_t tcp_flags;      /* e.g. 0x02 for SYN */
	uint32_t seq, ack;      /* TCP sequence and acknowledgment numbers */
	int ip_opt_words;       /* IPv4: 32-bit words of options (IHL - 5) */
	uint8_t v6_ext[8];      /* IPv6: extension header types, in order */
	int n_v6_ext;
	int frag;               /* enum frame_frag */
	int payload;            /* bytes after the L4 header */
};

#define TH_SYN 0x02
#define TH_ACK 0x10

static inline size_t frame_put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
	return 2;
}

/* Builds the frame into buf and returns its length (0 if it does not fit). */
static inline size_t build_frame(const struct frame_spec *s, uint8_t *buf, size_t cap)
{
	uint8_t tmp[FRAME_MAX];
	size_t off = 0, l4len, l3start;
	int v6 = s->src && strchr(s->src, ':');
	uint8_t l4 = s->l4 ? s->l4 : IPPROTO_TCP;
	uint16_t etype = s->ethertype ? s->ethertype : (v6 ? 0x86dd : 0x0800);

	memset(tmp, 0, sizeof(tmp));
	/* Ethernet: dst 02:00:00:00:00:01, src 02:00:00:00:00:02 */
	tmp[0] = 0x02; tmp[5] = 0x01;
	tmp[6] = 0x02; tmp[11] = 0x02;
	off = 12;
	for (int i = 0; i < s->vlans; i++) {
		/* The innermost tag is 802.1Q; outward they alternate with 802.1ad. */
		int ad = (s->vlans - 1 - i) % 2 == 1;
		uint16_t vid = s->priority_tags ? 0 : s->vlan_vid ? s->vlan_vid : ad ? 100 : 200;

		if (off + 4 + 2 > sizeof(tmp))
			return 0;
		off += frame_put16(tmp + off, ad ? 0x88a8 : 0x8100);
		off += frame_put16(tmp + off, vid);
	}
	off += frame_put16(tmp + off, etype);
	if (s->ethertype && s->ethertype != 0x0800 && s->ethertype != 0x86dd) {
		off += 28; /* an ARP-sized body of zeroes */
		goto done;
	}

	l4len = (l4 == IPPROTO_TCP) ? 20 : (l4 == IPPROTO_UDP ? 8 : 8);
	l3start = off;
	if (!v6) {
		int ihl = 5 + s->ip_opt_words;
		uint16_t fo = 0;

		tmp[off] = 0x40 | (ihl & 0xf);
		frame_put16(tmp + off + 2, (uint16_t)(ihl * 4 + l4len + s->payload));
		if (s->frag == FRAG_FIRST)
			fo = 0x2000;
		else if (s->frag == FRAG_LATER)
			fo = 185; /* offset 1480 bytes, last fragment */
		frame_put16(tmp + off + 6, fo);
		tmp[off + 8] = 64;
		tmp[off + 9] = l4;
		inet_pton(AF_INET, s->src, tmp + off + 12);
		inet_pton(AF_INET, s->dst ? s->dst : "192.0.2.1", tmp + off + 16);
		for (int i = 0; i < s->ip_opt_words * 4; i++)
			tmp[off + 20 + i] = 1; /* NOP options */
		off += ihl * 4;
	} else {
		uint8_t *nh;
		int i;

		tmp[off] = 0x60;
		tmp[off + 7] = 64;
		inet_pton(AF_INET6, s->src, tmp + off + 8);
		inet_pton(AF_INET6, s->dst ? s->dst : "2001:db8:ffff::1", tmp + off + 24);
		nh = tmp + off + 6;
		off += 40;
		for (i = 0; i < s->n_v6_ext; i++) {
			uint8_t t = s->v6_ext[i];

			*nh = t;
			nh = tmp + off;
			if (t == 44) { /* fragment header: 8 bytes */
				uint16_t fo = 0;

				if (s->frag == FRAG_FIRST)
					fo = 1; /* M flag, offset 0 */
				else if (s->frag == FRAG_LATER)
					fo = 1480;
				frame_put16(tmp + off + 2, fo);
				off += 8;
			} else if (t == 51) { /* AH: (len + 2) * 4 bytes */
				tmp[off + 1] = 4;
				off += 24;
			} else { /* hop-by-hop, routing, destination options: 8 bytes */
				tmp[off + 1] = 0;
				off += 8;
			}
		}
		*nh = l4;
		frame_put16(tmp + l3start + 4, (uint16_t)(off - l3start - 40 + l4len + s->payload));
	}
	if (s->frag != FRAG_LATER) {
		frame_put16(tmp + off, s->sport ? s->sport : 40000);
		frame_put16(tmp + off + 2, s->dport);
		if (l4 == IPPROTO_TCP) {
			frame_put16(tmp + off + 4, (uint16_t)(s->seq >> 16));
			frame_put16(tmp + off + 6, (uint16_t)s->seq);
			frame_put16(tmp + off + 8, (uint16_t)(s->ack >> 16));
			frame_put16(tmp + off + 10, (uint16_t)s->ack);
			tmp[off + 12] = 5 << 4;
			tmp[off + 13] = s->tcp_flags;
		} else if (l4 == IPPROTO_UDP) {
			frame_put16(tmp + off + 4, (uint16_t)(8 + s->payload));
		}
		off += l4len;
	}
	off += s->payload;
done:
	if (off > cap || off > FRAME_MAX)
		return 0;
	memcpy(buf, tmp, off);
	return off;
}

#endif
