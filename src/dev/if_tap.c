/*
 * if_tap.c - the TAP ifnet driver (design in if_tap.h).
 *
 * Receive: an "interrupt" thread per device sleeps in epoll_wait on its own epoll set,
 * where each queue fd is registered edge-triggered (EPOLLIN | EPOLLET, data = queue) next
 * to an eventfd that asks it to stop.  Each readiness edge of queue q becomes one
 * if_rxq_intr(ifp, q) inside a read section (a no-op while the poll is pending).  The
 * poll continuation of RX queue q reads frames until the queue is empty (EAGAIN) or the
 * budget is spent.  Invariant that makes the edge trigger safe: a poll that returns less
 * than its budget has seen the queue empty, so any frame queued after that read raises a
 * new edge, whose interrupt schedules the poll again (a running poll is not pending, so
 * the schedule is not lost).  A poll that spends its budget is rescheduled by if_poll.
 * A poll that cannot refill its cache returns the whole budget so it runs again (the
 * frames left on the queue would raise no new edge).
 *
 * Buffers: each RX queue keeps a cache of up to TAP_BATCH_MAX cluster mbufs, sized for
 * the current MTU + 18, touched only by the queue's poll (on its CPU); a batch read
 * (tap_recv_batch) fills them, the filled ones leave the cache, the rest stay.  A frame
 * that fills its buffer completely may have been cut: it is counted and dropped.
 *
 * Transmit: any thread, on the TX queue chosen by if_transmit.  The chain is written
 * with one writev on the queue's non-blocking fd; the kernel keeps each write one frame,
 * so concurrent writers on one queue need no lock.  EAGAIN: the frame is dropped and
 * counted (tx_full); the caller counts the error as an output drop.
 *
 * Words: "device" is the Linux TAP device (tap_dev), "interface" the smpnet ifnet.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dev/if_tap.h"
#include "dev/rss.h"
#include "dev/tap.h"
#include "kern/kassert.h"
#include "kern/psz.h"
#include "lib/toeplitz.h"
#include "mbuf/mbuf.h"
#include "net/if_var.h"

#define TAP_IF_IOVMAX	64	/* mbufs per transmitted frame */
#define TAP_IF_HDRMAX	18	/* Ethernet header + one VLAN tag */

/* Per-queue driver state: RX fields belong to the queue's poll, TX counters are shared. */
struct tap_ifq {
	struct tap_if_softc	*q_sc;		/* [I] */
	int			 q_idx;		/* [I] */
	int			 q_ncache;	/* [rxq poll] mbufs in q_cache */
	struct mbuf		*q_cache[TAP_BATCH_MAX];	/* [rxq poll] empty clusters */
	/* Counters: RX ones written by the poll only, TX ones by any transmitter; all
	 * relaxed (statistics, read by tap_if_stats with relaxed loads). */
	_Atomic uint64_t	 q_rx, q_rx_toolong, q_rx_nomem, q_intr;	/* [a] */
	_Atomic uint64_t	 q_tx, q_tx_full, q_tx_err;		/* [a] */
} __cacheline_aligned;
_Static_assert(sizeof(struct tap_ifq) % CACHE_LINE == 0, "tap_ifq: whole cache lines");

struct tap_if_softc {
	struct ifnet		*sc_ifp;	/* [I] */
	struct tap_dev		*sc_dev;	/* [I] */
	struct mbuf_pools	*sc_pools;	/* [I] the vnet's */
	int			 sc_nq;		/* [I] */
	int			 sc_epfd;	/* [I] edge-triggered set: queues + sc_stopfd */
	int			 sc_stopfd;	/* [I] eventfd: the interrupt thread exits */
	pthread_t		 sc_thread;	/* [I] the interrupt thread */
	bool			 sc_running;	/* [W control] thread started, not joined */
	struct tap_ifq		*sc_q;		/* [I] sc_nq entries */
	struct toeplitz		 sc_tz;		/* [I] RSS hash tables */
};

static const struct if_ops tap_if_ops;

/* ------------------------------------------------------------------ interrupt thread */

/* One epoll round: interrupt every queue that became readable.  0, or 1 to stop. */
static int
tap_if_intr_round(struct tap_if_softc *sc)
{
	struct epoll_event ev[TAP_MAXQ + 1];
	int n, i, q;

	n = epoll_wait(sc->sc_epfd, ev, TAP_MAXQ + 1, -1);
	if (n < 0)
		return errno == EINTR ? 0 : 1;
	psz_read_enter();
	for (i = 0; i < n; i++) {
		if (ev[i].data.u32 == UINT32_MAX)
			break;
		q = (int)ev[i].data.u32;
		if_rxq_intr(sc->sc_ifp, q);
		atomic_fetch_add_explicit(&sc->sc_q[q].q_intr, 1, memory_order_relaxed);
	}
	psz_read_exit();
	return i < n;
}

static void *
tap_if_intr_thread(void *arg)
{
	struct tap_if_softc *sc = arg;

	while (tap_if_intr_round(sc) == 0)
		continue;
	return NULL;
}

/* Ask the interrupt thread to exit and wait for it.  Control thread; blocks. */
static void
tap_if_intr_stop(struct tap_if_softc *sc)
{
	uint64_t one = 1;

	if (!sc->sc_running)
		return;
	if (write(sc->sc_stopfd, &one, sizeof(one)) != sizeof(one))
		abort();	/* an eventfd write only fails on overflow */
	pthread_join(sc->sc_thread, NULL);
	sc->sc_running = false;
}

static int
tap_if_epoll_add(int epfd, int fd, uint32_t data)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u32 = data };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* Build the epoll set and start the thread.  0 or negative errno. */
static int
tap_if_intr_start(struct tap_if_softc *sc)
{
	int q, err;

	sc->sc_epfd = epoll_create1(EPOLL_CLOEXEC);
	sc->sc_stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sc->sc_epfd < 0 || sc->sc_stopfd < 0)
		return -errno;
	err = tap_if_epoll_add(sc->sc_epfd, sc->sc_stopfd, UINT32_MAX);
	for (q = 0; q < sc->sc_nq && err == 0; q++)
		err = tap_if_epoll_add(sc->sc_epfd, tap_fd(sc->sc_dev, q), (uint32_t)q);
	if (err == 0)
		err = -pthread_create(&sc->sc_thread, NULL, tap_if_intr_thread, sc);
	sc->sc_running = err == 0;
	return err;
}

/* ------------------------------------------------------------------ receive */

/* Receive buffer size for the current MTU. */
static int
tap_if_bufsize(struct tap_if_softc *sc)
{
	return (int)if_mtu(sc->sc_ifp) + TAP_IF_HDRMAX;
}

/* Top the cache up to want buffers of at least size bytes.  Returns the cache count. */
static int
tap_if_refill(struct tap_if_softc *sc, struct tap_ifq *q, int want, int size)
{
	struct mbuf *m;
	int i;

	for (i = 0; i < q->q_ncache; i++)	/* an MTU change: drop small buffers */
		if (M_TRAILINGSPACE(q->q_cache[i]) < size) {
			m_freem(q->q_cache[i]);
			q->q_cache[i--] = q->q_cache[--q->q_ncache];
		}
	while (q->q_ncache < want) {
		m = m_getcl(sc->sc_pools, MT_DATA, M_PKTHDR, size);
		if (m == NULL)
			break;
		q->q_cache[q->q_ncache++] = m;
	}
	return q->q_ncache;
}

/* Hand frame i of a batch (its mbuf already out of the cache) to the stack. */
static void
tap_if_rx_one(struct tap_if_softc *sc, struct if_rxq *rxq, struct mbuf *m, size_t len)
{
	m->m_len = (int32_t)len;
	m->m_pkthdr.len = (int32_t)len;
	m->m_pkthdr.flowid = rss_frame_hash(&sc->sc_tz, m, &m->m_pkthdr.hashtype);
	if_input(sc->sc_ifp, rxq, m);
}

/* Remove entry i of the cache, keeping the order of the rest irrelevant. */
static struct mbuf *
tap_if_cache_take(struct tap_ifq *q, int i)
{
	struct mbuf *m = q->q_cache[i];

	q->q_cache[i] = q->q_cache[--q->q_ncache];
	q->q_cache[q->q_ncache] = NULL;
	return m;
}

/* One batch read of up to n frames.  Returns frames read, or negative if none. */
static int
tap_if_rx_batch(struct tap_if_softc *sc, struct if_rxq *rxq, struct tap_ifq *q, int n)
{
	struct tap_frame f[TAP_BATCH_MAX];
	struct mbuf *m;
	int i, got, kept = 0;

	for (i = 0; i < n; i++) {
		f[i].tf_buf = mtod(q->q_cache[i], void *);
		f[i].tf_cap = (size_t)M_TRAILINGSPACE(q->q_cache[i]);
	}
	got = tap_recv_batch(sc->sc_dev, q->q_idx, f, n);
	if (got <= 0)
		return -1;
	/* Frames 0..got-1 used cache slots 0..got-1; take them from the top down so the
	 * swap-with-last removal never moves a slot still to be handed up. */
	for (i = got - 1; i >= 0; i--) {
		if (f[i].tf_len >= f[i].tf_cap || f[i].tf_len == 0) {
			kept++;
			atomic_fetch_add_explicit(&q->q_rx_toolong, 1, memory_order_relaxed);
			continue;	/* possibly cut: drop it, keep the buffer */
		}
		m = tap_if_cache_take(q, i);
		tap_if_rx_one(sc, rxq, m, f[i].tf_len);
	}
	atomic_fetch_add_explicit(&q->q_rx, (uint64_t)(got - kept), memory_order_relaxed);
	return got;
}

static int
tap_if_poll(struct ifnet *ifp, struct if_rxq *rxq, int budget)
{
	struct tap_if_softc *sc = ifp->if_softc;
	struct tap_ifq *q = rxq->rxq_drv;
	int n = 0, want, got, size = tap_if_bufsize(sc);

	while (n < budget) {
		want = budget - n < TAP_BATCH_MAX ? budget - n : TAP_BATCH_MAX;
		if (tap_if_refill(sc, q, want, size) < want) {
			atomic_fetch_add_explicit(&q->q_rx_nomem, 1, memory_order_relaxed);
			return budget;	/* run again: frames may stay queued without an edge */
		}
		got = tap_if_rx_batch(sc, rxq, q, want);
		if (got <= 0)
			break;
		n += got;
		if (got < want)
			break;
	}
	return n;
}

/* ------------------------------------------------------------------ transmit */

static int
tap_if_transmit(struct ifnet *ifp, struct if_txq *txq, struct mbuf *m)
{
	struct tap_if_softc *sc = ifp->if_softc;
	struct tap_ifq *q = txq->txq_drv;
	struct iovec iov[TAP_IF_IOVMAX];
	struct mbuf *n;
	ssize_t r;
	int cnt = 0, err = EMSGSIZE;	/* a chain longer than the iovec */

	for (n = m; n != NULL && cnt < TAP_IF_IOVMAX; n = n->m_next)
		if (n->m_len > 0)
			iov[cnt++] = (struct iovec){ mtod(n, void *), (size_t)n->m_len };
	r = n == NULL ? writev(tap_fd(sc->sc_dev, q->q_idx), iov, cnt) : -1;
	if (r < 0 && n == NULL)
		err = errno;	/* before m_freem, which may change errno */
	m_freem(m);
	if (r >= 0) {
		atomic_fetch_add_explicit(&q->q_tx, 1, memory_order_relaxed);
		return 0;
	}
	if (err == EAGAIN) {
		atomic_fetch_add_explicit(&q->q_tx_full, 1, memory_order_relaxed);
		return -EAGAIN;
	}
	atomic_fetch_add_explicit(&q->q_tx_err, 1, memory_order_relaxed);
	return -err;
}

/* ------------------------------------------------------------------ control ops */

static int
tap_if_set_flags(struct ifnet *ifp, uint32_t flags)
{
	if_set_running(ifp, (flags & IFF_UP) != 0);
	if_link_state_change(ifp, (flags & IFF_UP) ? LINK_STATE_UP : LINK_STATE_DOWN);
	return 0;
}

static int
tap_if_set_mtu(struct ifnet *ifp, uint32_t mtu)
{
	struct tap_if_softc *sc = ifp->if_softc;

	return mtu + TAP_IF_HDRMAX <= mbuf_pools_jumbo_size(sc->sc_pools) ? 0 : -EINVAL;
}

static void
tap_if_cache_drain(struct tap_ifq *q)
{
	while (q->q_ncache > 0)
		m_freem(tap_if_cache_take(q, q->q_ncache - 1));
}

/* Free everything but the ifnet (the interrupt thread is stopped first). */
static void
tap_if_softc_free(struct tap_if_softc *sc)
{
	int q;

	tap_if_intr_stop(sc);
	if (sc->sc_q != NULL)
		for (q = 0; q < sc->sc_nq; q++)
			tap_if_cache_drain(&sc->sc_q[q]);
	if (sc->sc_epfd >= 0)
		close(sc->sc_epfd);
	if (sc->sc_stopfd >= 0)
		close(sc->sc_stopfd);
	tap_close(sc->sc_dev);
	free(sc->sc_q);
	free(sc);
}

/* Detach's last op: the poll continuations are halted, no transmit runs any more. */
static void
tap_if_stop(struct ifnet *ifp)
{
	tap_if_softc_free(ifp->if_softc);
}

static const struct if_ops tap_if_ops = {
	.ifo_transmit = tap_if_transmit,
	.ifo_poll = tap_if_poll,
	.ifo_set_flags = tap_if_set_flags,
	.ifo_set_mtu = tap_if_set_mtu,
	.ifo_stop = tap_if_stop,
};

/* ------------------------------------------------------------------ attach / detach */

/* smpnet's MAC: the device's, made locally administered, last bit flipped. */
static int
tap_if_lladdr(struct tap_dev *dev, const uint8_t *cfg, uint8_t mac[6])
{
	int err;

	if (cfg != NULL) {
		memcpy(mac, cfg, 6);
		return 0;
	}
	err = tap_mac(dev, mac);
	mac[0] = (uint8_t)((mac[0] | 0x02) & ~0x01);
	mac[5] ^= 0x01;
	return err;
}

static struct tap_if_softc *
tap_if_softc_new(const struct tap_if_config *cfg, int nq)
{
	struct tap_if_softc *sc = calloc(1, sizeof(*sc));
	int q;

	if (sc == NULL)
		return NULL;
	sc->sc_epfd = sc->sc_stopfd = -1;
	sc->sc_nq = nq;
	sc->sc_q = aligned_alloc(CACHE_LINE, (size_t)nq * sizeof(*sc->sc_q));
	sc->sc_dev = tap_open(cfg->name, nq, cfg->flags);
	if (sc->sc_q == NULL || sc->sc_dev == NULL) {
		q = errno;
		tap_if_softc_free(sc);
		errno = q;
		return NULL;
	}
	memset(sc->sc_q, 0, (size_t)nq * sizeof(*sc->sc_q));
	for (q = 0; q < nq; q++) {
		sc->sc_q[q].q_sc = sc;
		sc->sc_q[q].q_idx = q;
	}
	toeplitz_init(&sc->sc_tz, toeplitz_default_key);
	return sc;
}

/* Allocate the ifnet for sc (not attached).  NULL + errno. */
static struct ifnet *
tap_if_ifnet(struct vnet *v, const struct tap_if_config *cfg, struct tap_if_softc *sc)
{
	struct if_config ic = { .name = cfg->name, .type = IFT_ETHER, .nrxq = sc->sc_nq,
	    .ntxq = sc->sc_nq, .rxq_cpu = cfg->rxq_cpu, .budget = cfg->budget,
	    .flags = IFF_BROADCAST | IFF_MULTICAST, .ops = &tap_if_ops, .softc = sc };
	uint8_t mac[6];
	int mtu = tap_mtu(sc->sc_dev), err;

	err = tap_if_lladdr(sc->sc_dev, cfg->lladdr, mac);
	if (err < 0 || mtu < 0) {
		errno = err < 0 ? -err : -mtu;
		return NULL;
	}
	ic.lladdr = mac;
	ic.mtu = cfg->mtu != 0 ? cfg->mtu : (uint32_t)mtu;
	if (ic.mtu + TAP_IF_HDRMAX > mbuf_pools_jumbo_size(v->v_pools)) {
		errno = EINVAL;
		return NULL;
	}
	return if_alloc(v, &ic);
}

static void
tap_if_bind_queues(struct ifnet *ifp, struct tap_if_softc *sc)
{
	int q;

	for (q = 0; q < sc->sc_nq; q++) {
		ifp->if_rxq[q].rxq_drv = &sc->sc_q[q];
		ifp->if_txq[q].txq_drv = &sc->sc_q[q];
	}
}

struct ifnet *
tap_if_attach(struct vnet *v, const struct tap_if_config *cfg)
{
	struct tap_if_softc *sc;
	struct ifnet *ifp;
	int nq, err;

	nq = cfg != NULL && cfg->nqueues != 0 ? cfg->nqueues : 1;
	if (v == NULL || cfg == NULL || cfg->name == NULL || cfg->name[0] == '\0' ||
	    nq < 1 || nq > TAP_MAXQ || nq > IF_MAXQUEUES) {
		errno = EINVAL;
		return NULL;
	}
	if ((sc = tap_if_softc_new(cfg, nq)) == NULL)
		return NULL;
	sc->sc_pools = v->v_pools;
	if ((ifp = tap_if_ifnet(v, cfg, sc)) == NULL) {
		err = errno;
		tap_if_softc_free(sc);
		errno = err;
		return NULL;
	}
	sc->sc_ifp = ifp;
	tap_if_bind_queues(ifp, sc);
	if ((err = if_attach(ifp)) < 0) {
		if_free(ifp);
		tap_if_softc_free(sc);
		errno = -err;
		return NULL;
	}
	/* From here detach owns sc (its stop op frees it). */
	if ((err = tap_if_intr_start(sc)) < 0 || (err = if_up(ifp)) < 0) {
		if_detach(ifp);
		errno = -err;
		return NULL;
	}
	return ifp;
}

void
tap_if_detach(struct ifnet *ifp)
{
	if (ifp != NULL)
		if_detach(ifp);
}

int
tap_if_stats(struct ifnet *ifp, struct tap_if_stats *st)
{
	struct tap_if_softc *sc;
	struct tap_ifq *q;
	int i;

	if (ifp == NULL || ifp->if_ops != &tap_if_ops)
		return -EINVAL;
	sc = ifp->if_softc;
	memset(st, 0, sizeof(*st));
	for (i = 0; i < sc->sc_nq; i++) {
		q = &sc->sc_q[i];
		/* relaxed: statistics, paired with the relaxed increments above */
		st->tis_rx_frames += atomic_load_explicit(&q->q_rx, memory_order_relaxed);
		st->tis_rx_toolong += atomic_load_explicit(&q->q_rx_toolong, memory_order_relaxed);
		st->tis_rx_nomem += atomic_load_explicit(&q->q_rx_nomem, memory_order_relaxed);
		st->tis_intr += atomic_load_explicit(&q->q_intr, memory_order_relaxed);
		st->tis_tx_frames += atomic_load_explicit(&q->q_tx, memory_order_relaxed);
		st->tis_tx_full += atomic_load_explicit(&q->q_tx_full, memory_order_relaxed);
		st->tis_tx_errors += atomic_load_explicit(&q->q_tx_err, memory_order_relaxed);
	}
	return 0;
}
