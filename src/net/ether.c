/*
 * ether.c - Ethernet input (length check, destination filter, dispatch by ethertype)
 * and output of ready headers.  See ether.h.
 *
 * Input does one check that makes every later header access safe: after it the first
 * ETHER_HDR_LEN bytes are contiguous in the first mbuf.  The destination filter accepts,
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

void
ether_input(struct ifnet *ifp, struct mbuf *m)
{
	const uint8_t *eh;
	uint16_t type;

	if (__predict_false(m->m_pkthdr.len < ETHER_HDR_LEN)) {
		if_counter_add(ifp, IFC_RUNTS, 1);
		m_freem(m);
		return;
	}
	if (__predict_false(m->m_len < ETHER_HDR_LEN) &&
	    (m = m_pullup(m, ETHER_HDR_LEN)) == NULL) {
		if_counter_add(ifp, IFC_IERRORS, 1);	/* no mbuf: m freed */
		return;
	}
	eh = mtod(m, const uint8_t *);
	psz_read_enter();
	if (__predict_false(!ether_dst_accept(ifp, m, eh, if_flags(ifp)))) {
		psz_read_exit();
		if_counter_add(ifp, IFC_FILTERED, 1);
		m_freem(m);
		return;
	}
	type = (uint16_t)(eh[12] << 8 | eh[13]);
	m_adj(m, ETHER_HDR_LEN);
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
