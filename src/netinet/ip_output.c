/*
 * ip_output.c - IPv4 output, forwarding and fragmentation.
 *
 * Output path: route lookup (rt_lookup4 on the vnet's DIR-24-8 FIB) -> nexthop
 * (interface, gateway or on-link destination, MTU) -> header built (ip4_emit, ID from
 * the calling CPU's sequence) -> fragmentation to the MTU when needed -> the link:
 * broadcast and multicast destinations get their link address directly, unicast goes
 * through the interface's neighbour cache (arp_output), whose hit prepends the ready
 * Ethernet header.  Destinations that are our own addresses are delivered locally and
 * synchronously (ip_deliver), without a loopback interface.
 *
 * Forwarding (net.inet.ip.forwarding): not for link broadcasts/multicasts nor to
 * martian destinations; TTL <= 1 gives ICMP time exceeded; no route gives ICMP net
 * unreachable (reject route: host unreachable); larger than the MTU with DF gives ICMP
 * frag needed carrying the next-hop MTU; otherwise the TTL is decremented and the header
 * checksum updated incrementally (RFC 1624), and the datagram is sent (fragmented if
 * needed).  Errors quote the datagram as it arrived.
 *
 * Fragmentation (RFC 791): every fragment's data is a multiple of 8 bytes except the
 * last; the first fragment keeps all options, the others only those with the "copied"
 * bit; data is shared with the original through cluster references (m_copym), and each
 * fragment gets a fresh header mbuf.  Fragmenting a fragment keeps its offset and MF.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "kern/kassert.h"
#include "lib/cksum.h"
#include "mbuf/mbuf.h"
#include "net/ether.h"
#include "net/route.h"
#include "netinet/arp.h"
#include "netinet/icmp.h"
#include "netinet/in_var.h"
#include "netinet/ip_wire.h"

#define IP_LINKROOM	32	/* leading space left in header mbufs for the link header */

/* Store the header checksum (in_cksum gives memory order: stored with memcpy). */
static void
ip_hdr_cksum(uint8_t *hdr, int hlen)
{
	uint16_t c;

	hdr[10] = hdr[11] = 0;
	c = in_cksum(hdr, (size_t)hlen);
	memcpy(hdr + 10, &c, 2);
}

/* ------------------------------------------------------------------ link */

static int
ip_link_output(struct inet *in, struct ifnet *ifp, uint32_t gw, struct mbuf *m)
{
	struct in_ifinfo *ii;
	uint8_t mac[ETHER_ADDR_LEN];

	if (ifp->if_type == IFT_LOOP)
		return ether_output(ifp, m, ifp->if_lladdr, ETHERTYPE_IP);
	if (in_is_multicast(gw)) {
		ether_multicast_ip4(gw, mac);
		return ether_output(ifp, m, mac, ETHERTYPE_IP);
	}
	if (in_is_bcast(ifp, gw))
		return ether_output(ifp, m, ether_broadcast_addr, ETHERTYPE_IP);
	ii = in_ifinfo(in, ifp);
	if (ii == NULL || ii->ii_arp == NULL) {
		inet_count(in, INS_IP_ODROPPED, 1);
		m_freem(m);
		return -ENETDOWN;
	}
	return arp_output(ii->ii_arp, gw, m);
}

/* ------------------------------------------------------------------ fragments */

/* The options of hdr that are copied into every fragment, padded; returns the length. */
static size_t
ip_frag_opts(const uint8_t *hdr, int hlen, uint8_t out[IP4_MAX_OPT_LEN])
{
	struct ip4_view iv = { .iv_buf = hdr, .iv_hlen = (uint16_t)hlen,
	    .iv_totlen = (uint16_t)hlen };
	struct ip4_opt_iter it;
	struct ip4_opt o;
	size_t n = 0;

	ip4_opt_begin(&it, &iv);
	while (ip4_opt_next(&it, &o))
		if ((o.io_type & 0x80) && n + o.io_len <= IP4_MAX_OPT_LEN) {
			memcpy(out + n, o.io_data - 2, o.io_len);
			n += o.io_len;
		}
	while (n % 4 != 0)
		out[n++] = IP4_OPT_EOL;
	return n;
}

struct ip_frag_ctx {
	const uint8_t	*fc_hdr;	/* the original header */
	int		 fc_hlen;	/* its length */
	uint8_t		 fc_opts[IP4_MAX_OPT_LEN];	/* options of later fragments */
	size_t		 fc_optlen;
	uint16_t	 fc_off0;	/* original offset field (offset + MF) */
};

/* One fragment: header + len data bytes from off (datagram offset doff). */
static struct mbuf *
ip_frag_one(const struct ip_frag_ctx *fc, struct mbuf *m, int off, int len, int doff,
    bool last)
{
	int hlen = doff == 0 ? fc->fc_hlen : IP4_HDR_LEN + (int)fc->fc_optlen;
	struct mbuf *n = m_gethdr(m->m_pools, MT_DATA);
	uint16_t fld;
	uint8_t *h;

	if (n == NULL)
		return NULL;
	n->m_data += IP_LINKROOM;
	h = mtod(n, uint8_t *);
	memcpy(h, fc->fc_hdr, doff == 0 ? (size_t)fc->fc_hlen : IP4_HDR_LEN);
	if (doff != 0) {
		memcpy(h + IP4_HDR_LEN, fc->fc_opts, fc->fc_optlen);
		h[0] = (uint8_t)(0x40 | hlen / 4);
	}
	wire_put16(h + 2, (uint16_t)(hlen + len));
	fld = (uint16_t)((fc->fc_off0 & IP4_OFFMASK) + doff / 8);
	fld |= (uint16_t)(fc->fc_off0 & IP4_FLAG_DF);
	if (!last || (fc->fc_off0 & IP4_FLAG_MF))
		fld |= IP4_FLAG_MF;
	wire_put16(h + 6, fld);
	ip_hdr_cksum(h, hlen);
	n->m_len = hlen;
	if ((n->m_next = m_copym(m, off, len)) == NULL) {
		m_freem(n);
		return NULL;
	}
	n->m_pkthdr.len = hlen + len;
	n->m_pkthdr.flowid = m->m_pkthdr.flowid;
	n->m_pkthdr.hashtype = m->m_pkthdr.hashtype;
	return n;
}

static int
ip_fragment_send(struct inet *in, struct ifnet *ifp, uint32_t gw, uint32_t mtu,
    struct mbuf *m)
{
	struct ip_frag_ctx fc = { .fc_hdr = mtod(m, uint8_t *) };
	int total = m->m_pkthdr.len, off, chunk, err = 0;
	struct mbuf *n;

	fc.fc_hlen = (fc.fc_hdr[0] & 0x0f) * 4;
	fc.fc_off0 = wire_get16(fc.fc_hdr + 6);
	fc.fc_optlen = ip_frag_opts(fc.fc_hdr, fc.fc_hlen, fc.fc_opts);
	if ((int)mtu - fc.fc_hlen < 8) {
		m_freem(m);
		return -EMSGSIZE;
	}
	inet_count(in, INS_IP_FRAGMENTED, 1);
	for (off = fc.fc_hlen; off < total && err == 0; off += chunk) {
		int hl = off == fc.fc_hlen ? fc.fc_hlen : IP4_HDR_LEN + (int)fc.fc_optlen;

		chunk = ((int)mtu - hl) & ~7;
		if (chunk > total - off)
			chunk = total - off;
		n = ip_frag_one(&fc, m, off, chunk, off - fc.fc_hlen, off + chunk == total);
		if (n == NULL) {
			inet_count(in, INS_IP_ODROPPED, 1);
			err = -ENOBUFS;
			break;
		}
		inet_count(in, INS_IP_OFRAGMENTS, 1);
		err = ip_link_output(in, ifp, gw, n);
	}
	m_freem(m);
	return err;
}

int
ip_send(struct inet *in, struct ifnet *ifp, uint32_t gw, uint32_t mtu, struct mbuf *m)
{
	KASSERT(psz_read_held());
	if (__predict_true((uint32_t)m->m_pkthdr.len <= mtu))
		return ip_link_output(in, ifp, gw, m);
	if (mtod(m, uint8_t *)[6] & (IP4_FLAG_DF >> 8)) {
		inet_count(in, INS_IP_CANTFRAG, 1);
		m_freem(m);
		return -EMSGSIZE;
	}
	return ip_fragment_send(in, ifp, gw, mtu, m);
}

/* ------------------------------------------------------------------ routes */

struct ip_route {
	struct ifnet	*ro_ifp;
	uint32_t	 ro_gw;		/* link-level next hop (host order) */
	uint32_t	 ro_mtu;
	bool		 ro_local;	/* dst is one of our addresses */
	bool		 ro_blackhole;
};

/* Look the route up: 0, -ENETUNREACH, -EHOSTUNREACH.  Read section. */
static int
ip_route_nh(struct inet *in, uint32_t dst, struct ip_route *ro)
{
	struct nhop *nh = rt_lookup4(in->in_rt, htonl(dst));
	uint32_t gw;

	if (nh == NULL)
		return -ENETUNREACH;
	if (nh->nh_spec.ns_flags & NHF_REJECT)
		return -EHOSTUNREACH;
	ro->ro_blackhole = (nh->nh_spec.ns_flags & NHF_BLACKHOLE) != 0;
	ro->ro_ifp = nh->nh_spec.ns_ifp;
	if (ro->ro_ifp == NULL)
		return ro->ro_blackhole ? 0 : -EHOSTUNREACH;
	memcpy(&gw, nh->nh_spec.ns_gw, 4);
	ro->ro_gw = (nh->nh_spec.ns_flags & NHF_GATEWAY) ? ntohl(gw) : dst;
	ro->ro_mtu = nh->nh_spec.ns_mtu != 0 ? nh->nh_spec.ns_mtu : if_mtu(ro->ro_ifp);
	return 0;
}

static int
ip_route_out(struct inet *in, const struct ip_oargs *a, struct ip_route *ro)
{
	uint32_t dst = a->ipo_dst;
	struct in_ifaddr *ia;

	memset(ro, 0, sizeof(*ro));
	if ((in_is_multicast(dst) || dst == INADDR_BROADCAST_H) && a->ipo_ifp != NULL) {
		ro->ro_ifp = a->ipo_ifp;
		ro->ro_gw = dst;
		ro->ro_mtu = if_mtu(a->ipo_ifp);
		return 0;
	}
	if ((ia = in_addr_lookup(in, dst)) != NULL) {
		ro->ro_local = true;
		ro->ro_ifp = ia->ia_ifa.ifa_ifp;
		return 0;
	}
	return ip_route_nh(in, dst, ro);
}

static uint32_t
ip_source(const struct ip_oargs *a, const struct ip_route *ro)
{
	struct in_ifaddr *ia;

	if (a->ipo_src != 0)
		return a->ipo_src;
	if (ro->ro_local)
		return a->ipo_dst;
	ia = in_ifaddr_for(ro->ro_ifp, a->ipo_dst);
	return ia != NULL ? ia->ia_addr : 0;
}

/* Prepend and fill the header.  Returns m or NULL (freed). */
static struct mbuf *
ip_header_prepend(struct inet *in, struct mbuf *m, const struct ip_oargs *a, uint32_t src)
{
	struct ip4_fields f = {
		.if_tos = a->ipo_tos, .if_id = inet_ip_id(in), .if_df = a->ipo_df,
		.if_ttl = a->ipo_ttl != 0 ? a->ipo_ttl : (uint8_t)in_setting(in->in_s_ttl),
		.if_proto = a->ipo_proto, .if_src = src, .if_dst = a->ipo_dst,
		.if_opts = a->ipo_opts, .if_optlen = a->ipo_optlen,
		.if_payload_len = (size_t)m->m_pkthdr.len,
	};
	int hlen = IP4_HDR_LEN + a->ipo_optlen;

	M_PREPEND(m, hlen);
	if (m == NULL || (m = m_pullup(m, hlen)) == NULL)
		return NULL;
	if (ip4_emit(mtod(m, uint8_t *), (size_t)hlen, &f) != hlen) {
		m_freem(m);
		return NULL;
	}
	ip_hdr_cksum(mtod(m, uint8_t *), hlen);
	return m;
}

static int
ip_output_routed(struct inet *in, struct mbuf *m, const struct ip_oargs *a)
{
	struct ip_route ro;
	uint32_t src;
	int err;

	if ((err = ip_route_out(in, a, &ro)) != 0 || ro.ro_blackhole) {
		inet_count(in, INS_IP_NOROUTE, 1);
		m_freem(m);
		return err;
	}
	if ((src = ip_source(a, &ro)) == 0) {
		m_freem(m);
		return -EADDRNOTAVAIL;
	}
	if ((m = ip_header_prepend(in, m, a, src)) == NULL) {
		inet_count(in, INS_IP_ODROPPED, 1);
		return -ENOBUFS;
	}
	inet_count(in, INS_IP_LOCALOUT, 1);
	if (ro.ro_local) {
		inet_count(in, INS_IP_LOOPBACK, 1);
		m->m_pkthdr.rcvif = (uint32_t)if_index(ro.ro_ifp);
		ip_deliver(in, ro.ro_ifp, m, IP4_HDR_LEN + a->ipo_optlen);
		return 0;
	}
	return ip_send(in, ro.ro_ifp, ro.ro_gw, ro.ro_mtu, m);
}

int
ip_output(struct vnet *v, struct mbuf *m, const struct ip_oargs *a)
{
	struct inet *in = inet_get(v);
	int err;

	if (in == NULL) {
		m_freem(m);
		return -EAFNOSUPPORT;
	}
	if (m->m_pkthdr.len + IP4_HDR_LEN + a->ipo_optlen > IP4_MAXPACKET ||
	    a->ipo_optlen % 4 != 0 || a->ipo_optlen > IP4_MAX_OPT_LEN) {
		m_freem(m);
		return a->ipo_optlen % 4 != 0 || a->ipo_optlen > IP4_MAX_OPT_LEN ?
		    -EINVAL : -EMSGSIZE;
	}
	psz_read_enter();
	err = ip_output_routed(in, m, a);
	psz_read_exit();
	return err;
}

/* ------------------------------------------------------------------ forwarding */

static bool
ip_forwardable(struct inet *in, struct mbuf *m)
{
	const uint8_t *h = mtod(m, const uint8_t *);
	uint32_t src = wire_get32(h + 12), dst = wire_get32(h + 16);

	return in_setting(in->in_s_forwarding) != 0 &&
	    !(m->m_flags & (M_BCAST | M_MCAST)) && dst != 0 && !in_is_loopback(dst) &&
	    src != 0 && !in_is_loopback(src);
}

/* Decrement the TTL and update the checksum (RFC 1624).  Header writable. */
static void
ip_ttl_decrement(uint8_t *h)
{
	uint16_t old, new_, hc;

	memcpy(&old, h + 8, 2);
	h[8]--;
	memcpy(&new_, h + 8, 2);
	memcpy(&hc, h + 10, 2);
	hc = cksum_update16(hc, old, new_);
	memcpy(h + 10, &hc, 2);
}

static void
ip_forward_error(struct inet *in, struct ifnet *ifp, struct mbuf *m, int counter,
    int type, int code, uint32_t rest)
{
	inet_count(in, counter, 1);
	(void)icmp_error(in->in_vnet, m, type, code, rest, ifp);
	m_freem(m);
}

void
ip_forward(struct inet *in, struct ifnet *ifp, struct mbuf *m, int hlen)
{
	const uint8_t *h = mtod(m, const uint8_t *);
	struct ip_route ro = { 0 };
	int err;

	KASSERT(psz_read_held());
	if (!ip_forwardable(in, m)) {
		inet_count(in, INS_IP_CANTFORWARD, 1);
		m_freem(m);
		return;
	}
	if (h[8] <= 1) {
		ip_forward_error(in, ifp, m, INS_IP_TTLEXCEED, ICMP_TIMXCEED,
		    ICMP_TIMXCEED_INTRANS, 0);
		return;
	}
	if ((err = ip_route_nh(in, wire_get32(h + 16), &ro)) != 0 || ro.ro_blackhole) {
		ip_forward_error(in, ifp, m, INS_IP_NOROUTE, ICMP_UNREACH,
		    err == -EHOSTUNREACH ? ICMP_UNREACH_HOST : ICMP_UNREACH_NET, 0);
		return;
	}
	if ((uint32_t)m->m_pkthdr.len > ro.ro_mtu && (h[6] & (IP4_FLAG_DF >> 8))) {
		ip_forward_error(in, ifp, m, INS_IP_CANTFRAG, ICMP_UNREACH,
		    ICMP_UNREACH_NEEDFRAG, icmp_rest_mtu((uint16_t)ro.ro_mtu));
		return;
	}
	if ((m = in_m_writable(m, hlen)) == NULL) {
		inet_count(in, INS_IP_NOMEM, 1);
		return;
	}
	ip_ttl_decrement(mtod(m, uint8_t *));
	inet_count(in, INS_IP_FORWARD, 1);
	(void)ip_send(in, ro.ro_ifp, ro.ro_gw, ro.ro_mtu, m);
}
