/*
 * ether.c - Ethernet input (length check, destination filter, dispatch by ethertype)
 * and output of ready headers.  See ether.h.
 *
 * Input does one check that makes every later header access safe: the first 14 (or 18,
 * tagged) bytes are made contiguous in the first mbuf and parsed by ether_parse (the
 * packet formats of ether_wire.h); a truncated frame is a runt, an 802.3 length frame
 * has no handler (noproto).  The destination filter accepts,
 * in order of cost: everything under IFF_PROMISC, our own address, broadcast (with
 * IFF_BROADCAST), any multicast under IFF_ALLMULTI, then a scan of the interface's
 * RCU-published multicast snapshot.  Link-level broadcast/multicast frames are marked
 * M_BCAST/M_MCAST for the protocols (which must not, e.g., answer them with errors).
 * The ethertype is looked up in the vnet's dispatch table: no switch on types here.
 */
#include "net/ether.h"

#include <errno.h>

#include "kern/psz.h"
#include "mbuf/mbuf.h"
#include "net/ether_wire.h"
#include "net/if_dispatch.h"
#include "net/if_var.h"

const uint8_t ether_broadcast_addr[ETHER_ADDR_LEN] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff
};

/* Classify the destination; sets M_BCAST/M_MCAST.  False: not for us. */
static bool
ether_dst_accept(struct ifnet *ifp, struct mbuf *m, const uint8_t *dst, uint32_t flags)
{
	if (__predict_true(memcmp(dst, ifp->if_lladdr, ETHER_ADDR_LEN) == 0))
		return true;
	if (ether_is_multicast(dst)) {
		bool bcast = ether_is_broadcast(dst);

		m->m_flags |= bcast ? M_BCAST : M_MCAST;
		if_counter_add(ifp, IFC_IMCASTS, 1);
		if (bcast)
			return (flags & (IFF_BROADCAST | IFF_PROMISC)) != 0;
		return (flags & (IFF_ALLMULTI | IFF_PROMISC)) != 0 ||
		    if_multi_match(ifp, dst);
	}
	return (flags & IFF_PROMISC) != 0;
}

/*
 * Parse the header in the first mbuf (pulled up to 18 bytes when the frame has them).
 * Returns the header length to strip and sets *type, or 0 if the frame is refused
 * (counted; m freed or handed back through *mp == NULL).
 */
static int
ether_header_parse(struct ifnet *ifp, struct mbuf **mp, struct ether_view *ev,
    uint16_t *type)
{
	struct mbuf *m = *mp;
	int want = m->m_pkthdr.len < ETHER_HDR_LEN + ETHER_VLAN_ENCAP_LEN ?
	    m->m_pkthdr.len : ETHER_HDR_LEN + ETHER_VLAN_ENCAP_LEN;
	enum wire_reason r;

	if (__predict_false(m->m_len < want) && (*mp = m = m_pullup(m, want)) == NULL) {
		if_counter_add(ifp, IFC_IERRORS, 1);	/* no mbuf: m freed */
		return 0;
	}
	if (__predict_false((r = ether_parse(ev, mtod(m, const uint8_t *),
	    (size_t)m->m_len)) != WIRE_OK)) {
		if_counter_add(ifp, r == WIRE_TRUNCATED ? IFC_RUNTS : IFC_NOPROTO, 1);
		return 0;
	}
	*type = ether_type(ev);
	if (!ether_tagged(ev))
		return ETHER_HDR_LEN;
	if (ether_vlan_id(ev) != 0) {	/* for a VLAN domain, tag left in place */
		*type = ETHERTYPE_VLAN;
		return ETHER_HDR_LEN;
	}
	m->m_pkthdr.ether_vtag = ev->ev_tci;	/* priority tag: untag */
	m->m_flags |= M_VLANTAG;
	return ev->ev_hlen;
}

void
ether_input(struct ifnet *ifp, struct mbuf *m)
{
	struct ether_view ev;
	uint16_t type = 0;
	int hlen;

	if (__predict_false((hlen = ether_header_parse(ifp, &m, &ev, &type)) == 0)) {
		m_freem(m);	/* NULL-safe */
		return;
	}
	psz_read_enter();
	if (__predict_false(!ether_dst_accept(ifp, m, ether_dst(&ev), if_flags(ifp)))) {
		psz_read_exit();
		if_counter_add(ifp, IFC_FILTERED, 1);
		m_freem(m);
		return;
	}
	m_adj(m, hlen);
	if (dispatch_ether_input(ifp->if_vnet, ifp, type, m) != 0)
		if_counter_add(ifp, IFC_NOPROTO, 1);
	psz_read_exit();
}

int
ether_output_frame(struct ifnet *ifp, struct mbuf *m, const uint8_t hdr[ETHER_HDR_LEN])
{
	M_PREPEND(m, ETHER_HDR_LEN);
	if (__predict_false(m == NULL)) {
		if_counter_add(ifp, IFC_OERRORS, 1);
		return -ENOBUFS;
	}
	memcpy(mtod(m, uint8_t *), hdr, ETHER_HDR_LEN);
	return if_transmit(ifp, m);
}

int
ether_output(struct ifnet *ifp, struct mbuf *m, const uint8_t dst[ETHER_ADDR_LEN],
    uint16_t type)
{
	uint8_t hdr[ETHER_HDR_LEN];

	ether_header_build(hdr, dst, ifp->if_lladdr, type);
	return ether_output_frame(ifp, m, hdr);
}
