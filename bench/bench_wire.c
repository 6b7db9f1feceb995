/*
 * bench_wire.c - `smpnet bench wire`: frames per second through the packet formats.
 *
 * One case, "dispatch-mix": a fixed mix of 64 frames (UDP, 802.1Q-tagged UDP, ICMP echo,
 * ICMP needfrag with its quote, ARP, IGMPv2, and malformed IPv4 of each refusal kind) is
 * classified again and again the way an input path would: Ethernet, then ARP or IPv4,
 * then ICMP / IGMP / UDP, reading the fields a stack needs (ports, ids, addresses).
 * impl "smpnet" uses the *_wire parse functions and accessors (byte-wise big-endian
 * loads); the peer "hdr-cast" does the same checks by casting the buffer to the C
 * library's struct ether_header / iphdr / udphdr / icmphdr / arphdr and using ntohs(), the
 * traditional BSD/Linux way (safe here only because the benchmark's frames are aligned).
 * Both compute the same checksum of what they read, compared at the end so that neither
 * can skip work.  Reported: the median of opts->repeat measurements of Mframes/s and the
 * spread; peers alternate within each repetition.
 */
#include <arpa/inet.h>
#include <net/ethernet.h>
#include <net/if_arp.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/udp.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "net/ether_wire.h"
#include "netinet/arp_wire.h"
#include "netinet/icmp_wire.h"
#include "netinet/igmp_wire.h"
#include "netinet/ip_wire.h"
#include "netinet/udp_wire.h"

#define NFRAMES		64
#define FRAME_CAP	128
#define MAXREP		32

struct frame {
	alignas(8) uint8_t	b[FRAME_CAP];
	size_t			len;
};

/* ---- the frame mix ------------------------------------------------------------- */

static size_t
mk_ip(uint8_t *p, uint8_t proto, size_t plen, bool tagged)
{
	struct ether_fields ef = { .ef_dst = { 2, 0, 0, 0, 0, 2 }, .ef_src = { 2, 0, 0, 0, 0, 1 },
	    .ef_type = ETHERTYPE_IP, .ef_tagged = tagged, .ef_tci = 10 };
	struct ip4_fields f = { .if_ttl = 64, .if_proto = proto, .if_src = 0xc0000201u,
	    .if_dst = 0xc0000202u, .if_payload_len = plen };
	int h = ether_emit(p, FRAME_CAP, &ef);

	return (size_t)h + (size_t)ip4_emit(p + h, FRAME_CAP - (size_t)h, &f);
}

static size_t
mk_frame(uint8_t *p, int kind, int i)
{
	struct icmp_fields echo = { ICMP_ECHO, 0, icmp_rest_echo(7, (uint16_t)i) };
	struct icmp_fields nf = { ICMP_UNREACH, ICMP_UNREACH_NEEDFRAG, icmp_rest_mtu(1400) };
	struct arp_fields af = { .af_op = ARP_OP_REQUEST, .af_spa = 0xc0000201u,
	    .af_tpa = 0xc0000202u };
	size_t h;

	switch (kind) {
	case 0:
	case 1:
		h = mk_ip(p, IPPROTO4_UDP, 8 + 18, kind == 1);
		udp_emit(p + h, 64, (uint16_t)(1024 + i), 53, 18);
		return h + 26;
	case 2:
		h = mk_ip(p, IPPROTO4_ICMP, 8 + 16, false);
		icmp_emit(p + h, 64, &echo);
		return h + 24;
	case 3: {
		uint8_t orig[64];
		size_t o = mk_ip(orig, IPPROTO4_UDP, 8, false) - ETHER_HDR_LEN;

		memmove(orig, orig + ETHER_HDR_LEN, o);
		udp_emit(orig + o, 8, 4000, (uint16_t)i, 0);
		h = mk_ip(p, IPPROTO4_ICMP, 8 + 28, false);
		return h + (size_t)icmp_emit_error(p + h, 64, &nf, orig, o + 8, 28);
	}
	case 4:
		h = mk_ip(p, IPPROTO4_UDP, 0, false);
		memcpy(p + 12, "\x08\x06", 2);
		return ETHER_HDR_LEN + (size_t)arp_emit(p + ETHER_HDR_LEN, 64, &af);
	case 5:
		h = mk_ip(p, IPPROTO4_IGMP, 8, false);
		return h + (size_t)igmp_emit_v2(p + h, 8, IGMP_V2_REPORT, 0, 0xe0000116u);
	default:	/* malformed IPv4: truncated, bad IHL, total length too long */
		h = mk_ip(p, IPPROTO4_UDP, 8, false);
		if (i % 3 == 0)
			return ETHER_HDR_LEN + 12;
		if (i % 3 == 1)
			p[ETHER_HDR_LEN] = 0x43;
		else
			wire_put16(p + ETHER_HDR_LEN + 2, 1000);
		return h + 8;
	}
}

/* ---- smpnet: the packet formats --------------------------------------------------- */

static uint64_t
wire_l4(const struct ip4_view *iv)
{
	struct icmp_view icv;
	struct icmp_quote q;
	struct igmp_view gv;
	struct udp_view uv;

	switch (ip4_proto(iv)) {
	case IPPROTO4_UDP:
		if (udp_parse(&uv, ip4_payload(iv), ip4_payload_len(iv)) != WIRE_OK)
			return 1;
		return (uint64_t)udp_sport(&uv) + udp_dport(&uv) + udp_payload_len(&uv);
	case IPPROTO4_ICMP:
		if (icmp_parse(&icv, ip4_payload(iv), ip4_payload_len(iv)) != WIRE_OK)
			return 1;
		if (icmp_quote_parse(&icv, &q) != WIRE_OK)
			return (uint64_t)icmp_type(&icv) + icmp_echo_id(&icv) + icmp_echo_seq(&icv);
		return (uint64_t)icmp_nexthop_mtu(&icv) + ip4_dst(&q.iq_ip) + icmp_quote_dport(&q);
	case IPPROTO4_IGMP:
		if (igmp_parse(&gv, ip4_payload(iv), ip4_payload_len(iv)) != WIRE_OK)
			return 1;
		return (uint64_t)igmp_type(&gv) + igmp_group(&gv);
	default:
		return 2;
	}
}

static uint64_t
wire_one(const uint8_t *b, size_t len)
{
	struct ether_view ev;
	struct ip4_view iv;
	struct arp_view av;

	if (ether_parse(&ev, b, len) != WIRE_OK)
		return 3;
	if (ether_type(&ev) == ETHERTYPE_ARP) {
		if (arp_parse(&av, ether_payload(&ev), ether_payload_len(&ev)) != WIRE_OK)
			return 4;
		return (uint64_t)arp_op(&av) + arp_spa(&av) + arp_tpa(&av);
	}
	if (ether_type(&ev) != ETHERTYPE_IP)
		return 5;
	if (ip4_parse(&iv, ether_payload(&ev), ether_payload_len(&ev)) != WIRE_OK)
		return 6;
	return ip4_src(&iv) + wire_l4(&iv);
}

/* ---- peer: casts to the C library's header structs ------------------------------- */

static uint64_t
cast_icmp(const uint8_t *p, size_t len)
{
	const struct icmphdr *ic = (const struct icmphdr *)p;
	const struct iphdr *q = (const struct iphdr *)(p + 8);
	const struct udphdr *qu;
	size_t qh;

	if (len < 8)
		return 1;
	if (ic->type != ICMP_DEST_UNREACH && ic->type != ICMP_SOURCE_QUENCH &&
	    ic->type != ICMP_REDIRECT && ic->type != ICMP_TIME_EXCEEDED &&
	    ic->type != ICMP_PARAMETERPROB)
		return (uint64_t)ic->type + ntohs(ic->un.echo.id) + ntohs(ic->un.echo.sequence);
	if (len - 8 < 20 || q->version != 4 || q->ihl < 5 || (qh = q->ihl * 4u) + 8 > len - 8)
		return (uint64_t)ic->type + ntohs(ic->un.echo.id) + ntohs(ic->un.echo.sequence);
	qu = (const struct udphdr *)(p + 8 + qh);
	return (uint64_t)ntohs(ic->un.frag.mtu) + ntohl(q->daddr) + ntohs(qu->dest);
}

static uint64_t
cast_l4(const struct iphdr *ip, const uint8_t *p, size_t len)
{
	const struct udphdr *uh = (const struct udphdr *)p;
	uint16_t ulen;

	switch (ip->protocol) {
	case IPPROTO_UDP:
		if (len < 8 || (ulen = ntohs(uh->len)) < 8 || ulen > len)
			return 1;
		return (uint64_t)ntohs(uh->source) + ntohs(uh->dest) + (ulen - 8u);
	case IPPROTO_ICMP:
		return cast_icmp(p, len);
	case IPPROTO_IGMP:
		if (len < 8 || (p[0] != 0x11 && p[0] != 0x12 && p[0] != 0x16 && p[0] != 0x17 &&
		    p[0] != 0x22))
			return 1;
		if (p[0] == 0x11 && len > 8 && len < 12)
			return 1;
		if (p[0] == 0x22)	/* records not walked by this peer: not in the mix */
			return 1;
		return (uint64_t)p[0] + ntohl(*(const uint32_t *)(p + 4));
	default:
		return 2;
	}
}

static uint64_t
cast_arp(const uint8_t *p, size_t len)
{
	const struct arphdr *ah = (const struct arphdr *)p;
	uint16_t op;

	if (len < 28 || ntohs(ah->ar_hrd) != ARPHRD_ETHER || ntohs(ah->ar_pro) != ETH_P_IP ||
	    ah->ar_hln != 6 || ah->ar_pln != 4 ||
	    ((op = ntohs(ah->ar_op)) != ARPOP_REQUEST && op != ARPOP_REPLY))
		return 4;
	return (uint64_t)op + ntohl(*(const uint32_t *)(p + 14)) + ntohl(*(const uint32_t *)(p + 24));
}

static uint64_t
cast_one(const uint8_t *b, size_t len)
{
	const struct ether_header *eh = (const struct ether_header *)b;
	const struct iphdr *ip;
	size_t hl = ETHER_HDR_LEN, iph;
	uint16_t type, tot;

	if (len < ETHER_HDR_LEN)
		return 3;
	type = ntohs(eh->ether_type);
	if (type == ETHERTYPE_VLAN) {
		if (len < 18)
			return 3;
		type = ntohs(*(const uint16_t *)(b + 16));
		hl = 18;
	}
	if (type < 0x600)
		return 3;
	if (type == ETHERTYPE_ARP)
		return cast_arp(b + hl, len - hl);
	if (type != ETHERTYPE_IP)
		return 5;
	ip = (const struct iphdr *)(b + hl);
	len -= hl;
	if (len < 20 || ip->version != 4 || ip->ihl < 5 || (iph = ip->ihl * 4u) > len ||
	    (tot = ntohs(ip->tot_len)) < iph || tot > len)
		return 6;
	return ntohl(ip->saddr) + cast_l4(ip, (const uint8_t *)ip + iph, tot - iph);
}

/* ---- measurement --------------------------------------------------------------- */

typedef uint64_t (*classify_fn)(const uint8_t *, size_t);

/* Run fn over the mix for about `seconds`; return Mframes/s, add the checksum to *sum. */
static double
measure(classify_fn fn, const struct frame *fr, double seconds, uint64_t *sum)
{
	uint64_t n = 0, s = 0, t0 = bench_now_ns(), t;
	int i, k;

	do {
		for (k = 0; k < 1024; k++)
			for (i = 0; i < NFRAMES; i++)
				s += fn(fr[i].b, fr[i].len);
		n += 1024 * NFRAMES;
		t = bench_now_ns();
	} while ((double)(t - t0) < seconds * 1e9);
	*sum = s / (n / NFRAMES);	/* per pass over the mix */
	__asm__ volatile("" : : "r"(s));
	return (double)n / ((double)(t - t0) / 1e3);
}

static int
bench_wire_run(const struct bench_opts *opts)
{
	struct frame fr[NFRAMES];
	double a[MAXREP], b[MAXREP], secs = opts->quick ? 0.02 : opts->seconds;
	uint64_t sa, sb;
	int i, rep = opts->repeat < MAXREP ? opts->repeat : MAXREP;

	if (!bench_want(opts, "dispatch-mix"))
		return 0;
	for (i = 0; i < NFRAMES; i++) {
		memset(fr[i].b, 0, FRAME_CAP);
		fr[i].len = mk_frame(fr[i].b, i % 8 < 6 ? i % 8 : 6, i);
	}
	for (i = 0; i < rep; i++) {
		a[i] = measure(wire_one, fr, secs, &sa);
		b[i] = measure(cast_one, fr, secs, &sb);
		if (sa != sb) {
			fprintf(stderr, "bench wire: the two classifiers disagree (%llu != %llu)\n",
			    (unsigned long long)sa, (unsigned long long)sb);
			return -1;
		}
	}
	bench_report_samples(opts, "wire", "dispatch-mix", "smpnet", "mframes_per_s", a, rep,
	    "Mframes/s");
	bench_report_samples(opts, "wire", "dispatch-mix", "hdr-cast", "mframes_per_s", b, rep,
	    "Mframes/s");
	return 0;
}

const struct bench bench_wire = {
	.name = "wire",
	.help = "frames/s classified through the packet formats vs header-struct casts",
	.run = bench_wire_run,
};
