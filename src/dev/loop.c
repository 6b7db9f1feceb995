/*
 * loop.c - the loopback interface (see loop.h).
 *
 * Transmit computes the frame's Toeplitz hash (rss.c), stores it in the mbuf, puts the
 * mbuf on RX ring hash % Q (a bounded MPSC ring: any thread may transmit, the queue's
 * poll continuation consumes) and raises that queue's interrupt; the poll continuation,
 * on the queue's CPU, hands the frames to if_input -> ether_input.  A full ring drops
 * the frame (counted as an input drop of that queue).  The driver state is freed by the
 * stop op, after which no op runs.
 */
#include "dev/loop.h"

#include <errno.h>
#include <stdlib.h>

#include "dev/rss.h"
#include "lib/ring.h"
#include "lib/toeplitz.h"
#include "mbuf/mbuf.h"
#include "net/ether.h"
#include "net/if_var.h"
#include "net/vnet.h"

#define LOOP_RING_SIZE	1024
#define LOOP_BURST	32
#define LOOP_MTU	(65535 - ETHER_HDR_LEN)

struct loop_softc {
	int		 ls_nq;			/* [I] */
	struct toeplitz	 ls_tz;			/* [I] */
	struct ring	*ls_rx[IF_MAXQUEUES];	/* [I] MPSC rings */
};

static int
loop_transmit(struct ifnet *ifp, struct if_txq *txq, struct mbuf *m)
{
	struct loop_softc *sc = ifp->if_softc;
	uint32_t q;

	(void)txq;
	m->m_pkthdr.flowid = rss_frame_hash(&sc->ls_tz, m, &m->m_pkthdr.hashtype);
	q = m->m_pkthdr.flowid % (uint32_t)sc->ls_nq;
	if (__predict_false(ring_enqueue_mp(sc->ls_rx[q], m) != 0)) {
		if_rxq_counter_add(&ifp->if_rxq[q], IFC_IDROPS, 1);
		m_freem(m);
		return 0;	/* sent; lost on the way in, like a full NIC queue */
	}
	if_rxq_intr(ifp, (int)q);
	return 0;
}

static int
loop_poll(struct ifnet *ifp, struct if_rxq *rxq, int budget)
{
	void *ms[LOOP_BURST];
	int n = 0, i, got;

	while (n < budget) {
		got = (int)ring_dequeue_burst_sc(rxq->rxq_drv, ms,
		    (uint32_t)(budget - n < LOOP_BURST ? budget - n : LOOP_BURST));
		if (got == 0)
			break;
		for (i = 0; i < got; i++)
			if_input(ifp, rxq, ms[i]);
		n += got;
	}
	return n;
}

static void
loop_softc_free(struct loop_softc *sc)
{
	void *m;
	int q;

	for (q = 0; q < sc->ls_nq; q++) {
		if (sc->ls_rx[q] == NULL)
			continue;
		while (ring_dequeue_sc(sc->ls_rx[q], &m) == 0)
			m_freem(m);
		ring_destroy(sc->ls_rx[q]);
	}
	free(sc);
}

static void
loop_stop(struct ifnet *ifp)
{
	loop_softc_free(ifp->if_softc);
}

static const struct if_ops loop_ops = {
	.ifo_transmit = loop_transmit,
	.ifo_poll = loop_poll,
	.ifo_stop = loop_stop,
};

static struct loop_softc *
loop_softc_alloc(int nq)
{
	struct loop_softc *sc = calloc(1, sizeof(*sc));
	int q;

	if (sc == NULL)
		return NULL;
	sc->ls_nq = nq;
	toeplitz_init(&sc->ls_tz, toeplitz_default_key);
	for (q = 0; q < nq; q++)
		if ((sc->ls_rx[q] = ring_create(LOOP_RING_SIZE, RING_SC_DEQ)) == NULL) {
			loop_softc_free(sc);
			errno = ENOMEM;
			return NULL;
		}
	return sc;
}

struct ifnet *
loop_create(struct vnet *v, const char *name, int nqueues)
{
	int nq = nqueues > 0 ? nqueues : kern_ncpu(v->v_kern), q, err;
	struct loop_softc *sc;
	struct ifnet *ifp;

	if (nq > IF_MAXQUEUES)
		nq = nqueues > 0 ? -1 : IF_MAXQUEUES;
	if (nq < 1) {
		errno = EINVAL;
		return NULL;
	}
	if ((sc = loop_softc_alloc(nq)) == NULL)
		return NULL;
	struct if_config cfg = {
		.name = name != NULL ? name : "lo0", .type = IFT_LOOP, .nrxq = nq,
		.ntxq = nq, .mtu = LOOP_MTU, .flags = IFF_LOOPBACK | IFF_MULTICAST,
		.ops = &loop_ops, .softc = sc,
	};
	if ((ifp = if_alloc(v, &cfg)) == NULL) {
		err = errno;
		loop_softc_free(sc);
		errno = err;
		return NULL;
	}
	for (q = 0; q < nq; q++)
		ifp->if_rxq[q].rxq_drv = sc->ls_rx[q];
	if ((err = if_attach(ifp)) != 0 || (err = if_up(ifp)) != 0) {
		if (ifp->if_attached) {
			if_detach(ifp);		/* stop frees sc */
		} else {
			if_free(ifp);
			loop_softc_free(sc);
		}
		errno = -err;
		return NULL;
	}
	if_link_state_change(ifp, LINK_STATE_UP);
	return ifp;
}
