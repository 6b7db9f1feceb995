/*
 * ip_input.c - IPv4 input: one sanity check, then local delivery or forwarding.
 *
 * ip_input (the ETHERTYPE_IP handler) runs in the receive continuation of the RX
 * queue, inside its read section, and never takes a lock on the way to a transport
 * handler:
 *  1. one check (ip_check): at least 20 bytes, the header pulled up contiguous, then
 *     ip4_parse (version 4, IHL >= 5, header within the packet, header <= total length
 *     <= the frame), the header checksum, and the source address (never multicast or
 *     limited broadcast, loopback only on a loopback interface).  Each refusal has its
 *     own per-CPU counter.  Link padding past the total length is trimmed.  Options are
 *     not processed: they stay in the header and are skipped by hlen.
 *  2. the decision (ip_classify): multicast groups joined on the interface (and
 *     224.0.0.1) and broadcast addresses (limited, or directed for one of the
 *     interface's prefixes) are delivered locally; a unicast destination found in the
 *     vnet's address hash is local (weak host model); anything else is forwarded
 *     (ip_forward decides whether forwarding is on).
 *  3. local: fragments go through reassembly; then the vnet's IP-protocol table picks
 *     the handler (dispatch_ipproto_input); a protocol nobody registered is answered
 *     with ICMP protocol unreachable.
 *
 * Lazy receive processing (net.lrp.lazy): the early demultiplexer (udp_inet.c) queues
 * some datagrams raw on their socket from the RX poll, having read their header in
 * place: untagged, to our MAC, no options, not a fragment, UDP, to a local unicast
 * address.  Steps 2 and 3 are decided by those same bytes; ip_input_lazy() runs step 1
 * for them later, at the reader, with the same counters (ip.total, each refusal,
 * ip.delivered), so a datagram counts the same whichever path it took.
 */
#include <errno.h>

#include "kern/kassert.h"
#include "lib/cksum.h"
#include "mbuf/mbuf.h"
#include "net/if_dispatch.h"
#include "netinet/icmp.h"
#include "netinet/in_var.h"
#include "netinet/ip_reass.h"
#include "netinet/ip_wire.h"

static void
ip_drop(struct inet *in, struct mbuf *m, int counter)
{
	inet_count(in, counter, 1);
	m_freem(m);
}

static int
ip_reason_counter(enum wire_reason r)
{
	switch (r) {
	case WIRE_BAD_VERSION:
		return INS_IP_BADVERS;
	case WIRE_BAD_HLEN:
		return INS_IP_BADHLEN;
	case WIRE_TRUNCATED:
		return INS_IP_TOOSHORT;
	default:
		return INS_IP_BADLEN;
	}
}

static bool
ip_src_ok(struct ifnet *ifp, uint32_t src)
{
	if (in_is_multicast(src) || src == INADDR_BROADCAST_H)
		return false;
	return !in_is_loopback(src) || (ifp != NULL && (if_flags(ifp) & IFF_LOOPBACK) != 0);
}

/* The checks of step 1.  Returns hlen, or -1 with m freed and counted (*mp cleared). */
static int
ip_check(struct inet *in, struct ifnet *ifp, struct mbuf **mp)
{
	struct mbuf *m = *mp;
	struct ip4_view iv;
	enum wire_reason r;
	int hlen;

	*mp = NULL;
	if (m->m_pkthdr.len < IP4_HDR_LEN) {
		ip_drop(in, m, INS_IP_TOOSHORT);
		return -1;
	}
	if ((m = m_pullup(m, IP4_HDR_LEN)) == NULL) {
		inet_count(in, INS_IP_NOMEM, 1);
		return -1;
	}
	hlen = (mtod(m, uint8_t *)[0] & 0x0f) * 4;
	if (hlen > IP4_HDR_LEN && hlen <= m->m_pkthdr.len && (m = m_pullup(m, hlen)) == NULL) {
		inet_count(in, INS_IP_NOMEM, 1);
		return -1;
	}
	/* The view reads the header only (pulled up above); the length bounds totlen. */
	r = ip4_parse(&iv, mtod(m, const uint8_t *), (size_t)m->m_pkthdr.len);
	if (r != WIRE_OK) {
		ip_drop(in, m, ip_reason_counter(r));
		return -1;
	}
	if (!(m->m_pkthdr.csum_flags & CSUM_IP_CHECKED) &&
	    in_cksum(mtod(m, const uint8_t *), (size_t)hlen) != 0) {
		ip_drop(in, m, INS_IP_BADSUM);
		return -1;
	}
	if ((m->m_pkthdr.csum_flags & (CSUM_IP_CHECKED | CSUM_IP_VALID)) == CSUM_IP_CHECKED) {
		ip_drop(in, m, INS_IP_BADSUM);
		return -1;
	}
	if (!ip_src_ok(ifp, ip4_src(&iv))) {
		ip_drop(in, m, INS_IP_BADADDR);
		return -1;
	}
	if (m->m_pkthdr.len > ip4_totlen(&iv))
		m_adj(m, (int)ip4_totlen(&iv) - m->m_pkthdr.len);	/* link padding */
	*mp = m;
	return hlen;
}

enum ip_verdict { IPV_LOCAL, IPV_FORWARD, IPV_DROP };

static enum ip_verdict
ip_classify(struct inet *in, struct ifnet *ifp, struct mbuf *m, uint32_t dst)
{
	if (in_is_multicast(dst)) {
		if (dst == INADDR_ALLHOSTS_H || in_multi_member(ifp, dst))
			return IPV_LOCAL;
		inet_count(in, INS_IP_NOTMEMBER, 1);
		return IPV_DROP;
	}
	if (in_is_bcast(ifp, dst)) {
		m->m_flags |= M_BCAST;
		return IPV_LOCAL;
	}
	if (in_addr_lookup(in, dst) != NULL)
		return IPV_LOCAL;
	return IPV_FORWARD;
}

void
ip_deliver(struct inet *in, struct ifnet *ifp, struct mbuf *m, int hlen)
{
	uint8_t proto = mtod(m, uint8_t *)[9];
	struct vnet *v = in->in_vnet;

	KASSERT(psz_read_held());
	if (!dispatch_ipproto_registered(v, DISPATCH_INET, proto)) {
		inet_count(in, INS_IP_NOPROTO, 1);
		(void)icmp_error(v, m, ICMP_UNREACH, ICMP_UNREACH_PROTOCOL, 0, ifp);
		m_freem(m);
		return;
	}
	inet_count(in, INS_IP_DELIVERED, 1);
	(void)dispatch_ipproto_input(v, DISPATCH_INET, proto, ifp, m, hlen);
}

static void
ip_local(struct inet *in, struct ifnet *ifp, struct mbuf *m, int hlen)
{
	uint16_t off = (uint16_t)(mtod(m, uint8_t *)[6] << 8 | mtod(m, uint8_t *)[7]);

	if (off & (IP4_FLAG_MF | IP4_OFFMASK)) {
		if ((m = ip_reass_input(in->in_reass, m, hlen)) == NULL)
			return;
		hlen = (mtod(m, uint8_t *)[0] & 0x0f) * 4;
	}
	ip_deliver(in, ifp, m, hlen);
}

void
ip_input(struct ifnet *ifp, struct mbuf *m, void *arg)
{
	struct inet *in = arg;
	int hlen;

	psz_read_enter();
	inet_count(in, INS_IP_TOTAL, 1);
	if ((hlen = ip_check(in, ifp, &m)) >= 0) {
		uint32_t dst = wire_get32(mtod(m, uint8_t *) + 16);

		switch (ip_classify(in, ifp, m, dst)) {
		case IPV_LOCAL:
			ip_local(in, ifp, m, hlen);
			break;
		case IPV_FORWARD:
			ip_forward(in, ifp, m, hlen);
			break;
		default:
			m_freem(m);
			break;
		}
	}
	psz_read_exit();
}

int
ip_input_lazy(struct inet *in, struct ifnet *ifp, struct mbuf **mp)
{
	int hlen;

	KASSERT(psz_read_held());
	inet_count(in, INS_IP_TOTAL, 1);
	if ((hlen = ip_check(in, ifp, mp)) >= 0)
		inet_count(in, INS_IP_DELIVERED, 1);
	return hlen;
}
