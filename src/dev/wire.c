/*
 * wire.c - in-memory Ethernet links with RSS and fault injection (see wire.h).
 *
 * Data path.  A port's transmit op runs in the sender's thread (inside its read
 * section): it forwards the frame to the receiving port(s) (the other end of a pair; for
 * a switch, the learned port or a flood), and for each receiver computes the Toeplitz
 * hash (rss.c), stores it in the mbuf, and enqueues the mbuf on the receiver's RX ring
 * number hash % Q: a bounded MPSC ring (src/lib/ring.h: many senders, one consumer, the
 * queue's poll continuation).  A full ring drops the frame (counted on the sender's port
 * as ring_full and on the receiving queue as an input drop).  Then if_rxq_intr() raises
 * the queue's "interrupt".  The poll op dequeues bursts of up to 32 and hands each frame
 * to if_input().  No lock, no allocation on this path (floods copy with m_copym).
 *
 * Rings belong to the port, not to its ifnet: they survive detach/attach, frames left
 * in them by a sender racing with a detach are dropped (counted as flushed) when the port
 * is attached again or the wire destroyed; only one consumer ever drains a ring at a time
 * (the poll continuation while attached; stop/attach/destroy otherwise).
 *
 * Switch learning table: 256 64-bit words {valid:1, port:15, mac:48}, open addressing
 * with 8 probes; written with CAS, read with relaxed loads (a word carries no other
 * data; a stale answer only floods or misdirects one frame, as a real switch would).
 *
 * Fault injection (wire.h) runs under the port's fault mutex: each frame draws five
 * numbers from a splitmix64 stream in a fixed order, so the decisions depend only on the
 * seed and the frame sequence.  Held (reordered) and delayed frames are delivered by
 * timer continuations on CPU port % ncpu, which take the same mutex.
 */
#include "dev/wire.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dev/rss.h"
#include "kern/kcont.h"
#include "kern/ktime.h"
#include "kern/psz.h"
#include "lib/ring.h"
#include "lib/toeplitz.h"
#include "mbuf/mbuf.h"
#include "net/ether.h"
#include "net/if_pcpu.h"
#include "net/if_var.h"

#define WIRE_BURST		32
#define WIRE_RING_DEFAULT	1024
#define WIRE_LEARN_SIZE		256
#define WIRE_LEARN_PROBES	8
#define WIRE_HOLD_DEFAULT_NS	1000000ull
#define WIRE_PPM		1000000u

/* Port counters (indices into wp_cnt). */
enum {
	WS_TX, WS_DELIVERED, WS_RING_FULL, WS_NO_PEER, WS_LOST, WS_RATE_DROP, WS_DUP,
	WS_REORDERED, WS_CORRUPTED, WS_DELAYED, WS_NOMEM, WS_FLUSHED,
};

struct wire_delayed {
	struct wire_delayed	*wd_next;
	struct mbuf		*wd_m;
	uint64_t		 wd_deadline;
};

/* Fault state of a port.  [L wp_flock] */
struct wire_fault {
	struct wire_faults	 wf_cfg;
	uint64_t		 wf_rng;
	double			 wf_tokens;	/* bytes */
	uint64_t		 wf_last_ns;
	struct mbuf		*wf_held;	/* reordered frame waiting for the next */
	struct wire_delayed	*wf_dhead, *wf_dtail;	/* FIFO (constant delay) */
};

struct wire_port {
	struct wire		*wp_wire;	/* [I] */
	int			 wp_idx;	/* [I] */
	int			 wp_cpu;	/* [I] CPU of the fault timers */
	_Atomic(struct ifnet *)	 wp_ifp;	/* [R, W w_lock or the stop op] */
	struct ring		**wp_rx;	/* [I] w_nq MPSC rings */
	struct if_pcpu		*wp_cnt;	/* [c] WS_* */
	_Atomic bool		 wp_faulty;	/* [a] fault injection on */
	struct kmutex		 wp_flock;	/* class "wire_port" */
	struct wire_fault	 wp_f;		/* [L wp_flock] */
	struct kcont		 wp_delay_kc;	/* delivers due delayed frames */
	struct kcont		 wp_hold_kc;	/* flushes a held frame */
};

struct wire {
	struct kern		*w_kern;	/* [I] */
	int			 w_ncpu;	/* [I] */
	int			 w_nports;	/* [I] */
	int			 w_nq;		/* [I] */
	int			 w_ringsize;	/* [I] */
	uint32_t		 w_mtu;		/* [I] */
	struct kmutex		 w_lock;	/* class "wire": port attach/detach */
	struct toeplitz		 w_tz;		/* [I] */
	_Atomic uint64_t	 w_learn[WIRE_LEARN_SIZE];	/* [a] switch table */
	struct wire_port	*w_port;	/* [I] w_nports */
};

static void
wire_count(struct wire_port *wp, int c, uint64_t n)
{
	struct wire *w = wp->wp_wire;

	if_pcpu_add(wp->wp_cnt, w->w_kern, w->w_ncpu, c, n);
}

/* ------------------------------------------------------------------ delivery */

/* Put m on port dst's RX ring chosen by its flow hash.  Consumes m.  Read section. */
static void
wire_deliver(struct wire_port *src, struct wire_port *dst, struct mbuf *m)
{
	struct wire *w = src->wp_wire;
	struct ifnet *ifp = psz_deref(&dst->wp_ifp);
	uint32_t q;

	if (__predict_false(ifp == NULL || !(if_flags(ifp) & IFF_RUNNING))) {
		wire_count(src, WS_NO_PEER, 1);	/* no carrier on the other side */
		m_freem(m);
		return;
	}
	m->m_pkthdr.flowid = rss_frame_hash(&w->w_tz, m, &m->m_pkthdr.hashtype);
	q = m->m_pkthdr.flowid % (uint32_t)w->w_nq;
	if (__predict_false(ring_enqueue_mp(dst->wp_rx[q], m) != 0)) {
		wire_count(src, WS_RING_FULL, 1);
		if_rxq_counter_add(&ifp->if_rxq[q], IFC_IDROPS, 1);
		m_freem(m);
		return;
	}
	wire_count(src, WS_DELIVERED, 1);
	if_rxq_intr(ifp, (int)q);
}

int
wire_inject(struct wire *w, int port, struct mbuf *m)
{
	if (port < 0 || port >= w->w_nports) {
		m_freem(m);
		return -EINVAL;
	}
	psz_read_enter();	/* wire_deliver's contract: the port's ifnet stays */
	wire_deliver(&w->w_port[port], &w->w_port[port], m);
	psz_read_exit();
	return 0;
}

static uint64_t
wire_mac_key(const uint8_t mac[6])
{
	uint64_t k = 0;
	int i;

	for (i = 0; i < 6; i++)
		k = k << 8 | mac[i];
	return k;
}

static unsigned
wire_learn_slot(uint64_t key, int probe)
{
	return (unsigned)((key * 0x9e3779b97f4a7c15ull) >> 56) + (unsigned)probe;
}

static void
wire_learn(struct wire *w, const uint8_t mac[6], int port)
{
	uint64_t key = wire_mac_key(mac);
	uint64_t want = 1ull << 63 | (uint64_t)port << 48 | key;
	int p;

	for (p = 0; p < WIRE_LEARN_PROBES; p++) {
		_Atomic uint64_t *slot = &w->w_learn[wire_learn_slot(key, p) % WIRE_LEARN_SIZE];
		/* relaxed: a word is self-contained (see the file comment) */
		uint64_t cur = atomic_load_explicit(slot, memory_order_relaxed);

		if (cur == want)
			return;
		if (cur == 0 || (cur & 0xffffffffffffull) == key) {
			(void)atomic_compare_exchange_strong_explicit(slot, &cur, want,
			    memory_order_relaxed, memory_order_relaxed);
			return;
		}
	}
}

/* The learned port of mac, or -1. */
static int
wire_lookup(struct wire *w, const uint8_t mac[6])
{
	uint64_t key = wire_mac_key(mac), cur;
	int p;

	for (p = 0; p < WIRE_LEARN_PROBES; p++) {
		cur = atomic_load_explicit(&w->w_learn[wire_learn_slot(key, p) %
		    WIRE_LEARN_SIZE], memory_order_relaxed);	/* see wire_learn */
		if (cur == 0)
			return -1;
		if ((cur & 0xffffffffffffull) == key)
			return (int)((cur >> 48) & 0x7fff);
	}
	return -1;
}

/* Flood m to every attached port but src.  Consumes m. */
static void
wire_flood(struct wire_port *src, struct mbuf *m)
{
	struct wire *w = src->wp_wire;
	struct mbuf *c;
	int i;

	for (i = 0; i < w->w_nports; i++) {
		struct wire_port *dst = &w->w_port[i];

		if (dst == src || psz_deref(&dst->wp_ifp) == NULL)
			continue;
		if ((c = m_copym(m, 0, M_COPYALL)) == NULL) {
			wire_count(src, WS_NOMEM, 1);
			continue;
		}
		wire_deliver(src, dst, c);
	}
	m_freem(m);
}

/* Switch m from port src: learn its source, forward or flood.  Consumes m. */
static void
wire_forward(struct wire_port *src, struct mbuf *m)
{
	struct wire *w = src->wp_wire;
	uint8_t eh[12];
	int to;

	if (w->w_nports == 2) {
		wire_deliver(src, &w->w_port[1 - src->wp_idx], m);
		return;
	}
	if (m_copydata(m, 0, 12, eh) != 0) {
		wire_count(src, WS_NO_PEER, 1);
		m_freem(m);
		return;
	}
	if (!ether_is_multicast(eh + 6))
		wire_learn(w, eh + 6, src->wp_idx);
	to = ether_is_multicast(eh) ? -1 : wire_lookup(w, eh);
	if (to >= 0 && to != src->wp_idx)
		wire_deliver(src, &w->w_port[to], m);
	else
		wire_flood(src, m);
}

/* ------------------------------------------------------------------ fault injection */

static uint64_t
wire_rng(struct wire_fault *f)
{
	uint64_t z = (f->wf_rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static bool
wire_chance(uint64_t r, uint32_t ppm)
{
	return ppm != 0 && r % WIRE_PPM < ppm;
}

/* Token bucket: true if len bytes may pass now.  [L wp_flock] */
static bool
wire_bucket_take(struct wire_port *wp, uint64_t now, int len)
{
	struct wire_fault *f = &wp->wp_f;
	double burst = f->wf_cfg.burst_bytes != 0 ? f->wf_cfg.burst_bytes :
	    16.0 * (wp->wp_wire->w_mtu + ETHER_HDR_LEN);

	if (f->wf_cfg.rate_bps == 0)
		return true;
	f->wf_tokens += (double)(now - f->wf_last_ns) * (double)f->wf_cfg.rate_bps / 8e9;
	f->wf_last_ns = now;
	if (f->wf_tokens > burst)
		f->wf_tokens = burst;
	if (f->wf_tokens < len)
		return false;
	f->wf_tokens -= len;
	return true;
}

/* Flip one byte of m at a random offset; m is made writable first.  [L wp_flock] */
static struct mbuf *
wire_corrupt(struct wire_port *wp, struct mbuf *m, uint64_t r)
{
	struct mbuf *c = m;
	uint8_t b;
	int off;

	if (m->m_pkthdr.len == 0)
		return m;
	off = (int)(r % (uint64_t)m->m_pkthdr.len);
	(void)m_copydata(m, off, 1, &b);
	b ^= 0xff;
	if (m_copyback(m, off, 1, &b) == -EROFS) {	/* shared data: corrupt a copy */
		if ((c = m_dup(m)) == NULL)
			return m;	/* left intact: not counted as corrupted */
		m_freem(m);
		if (m_copyback(c, off, 1, &b) != 0)
			return c;
	}
	wire_count(wp, WS_CORRUPTED, 1);
	return c;
}

static void
wire_delay_enqueue(struct wire_port *wp, struct mbuf *m, uint64_t now)
{
	struct wire_fault *f = &wp->wp_f;
	struct wire_delayed *d = malloc(sizeof(*d));

	if (d == NULL) {
		wire_count(wp, WS_NOMEM, 1);
		m_freem(m);
		return;
	}
	d->wd_next = NULL;
	d->wd_m = m;
	d->wd_deadline = now + f->wf_cfg.delay_ns;
	if (f->wf_dtail != NULL)
		f->wf_dtail->wd_next = d;
	else
		f->wf_dhead = d;
	f->wf_dtail = d;
	wire_count(wp, WS_DELAYED, 1);
	(void)kcont_schedule(&wp->wp_delay_kc, wp->wp_cpu, f->wf_cfg.delay_ns);
}

/* Deliver m now, honouring reordering: a held frame goes out after it.  [L wp_flock] */
static void
wire_send_ordered(struct wire_port *wp, struct mbuf *m, bool reorder)
{
	struct wire_fault *f = &wp->wp_f;
	struct mbuf *held = f->wf_held;
	uint64_t hold = f->wf_cfg.reorder_hold_ns != 0 ? f->wf_cfg.reorder_hold_ns :
	    WIRE_HOLD_DEFAULT_NS;

	if (reorder && held == NULL) {
		f->wf_held = m;
		wire_count(wp, WS_REORDERED, 1);
		(void)kcont_schedule(&wp->wp_hold_kc, wp->wp_cpu, hold);
		return;
	}
	f->wf_held = NULL;
	wire_forward(wp, m);
	if (held != NULL)
		wire_forward(wp, held);
}

/* The fault path of transmit.  Consumes m. */
static void
wire_fault_tx(struct wire_port *wp, struct mbuf *m)
{
	struct wire_fault *f = &wp->wp_f;
	struct wire_faults *c = &f->wf_cfg;
	uint64_t r[5], now = ktime_now(wp->wp_wire->w_kern);
	struct mbuf *dup = NULL;
	int i;

	kmutex_enter(&wp->wp_flock);
	for (i = 0; i < 5; i++)
		r[i] = wire_rng(f);
	if (!wire_bucket_take(wp, now, m->m_pkthdr.len)) {
		wire_count(wp, WS_RATE_DROP, 1);
		goto drop;
	}
	if (wire_chance(r[0], c->loss_ppm)) {
		wire_count(wp, WS_LOST, 1);
		goto drop;
	}
	if (wire_chance(r[1], c->corrupt_ppm))
		m = wire_corrupt(wp, m, r[1] / WIRE_PPM);
	if (wire_chance(r[2], c->dup_ppm)) {
		if ((dup = m_dup(m)) == NULL)
			wire_count(wp, WS_NOMEM, 1);
		else
			wire_count(wp, WS_DUP, 1);
	}
	if (c->delay_ns != 0 && (c->delay_ppm == 0 || wire_chance(r[4], c->delay_ppm))) {
		wire_delay_enqueue(wp, m, now);
		if (dup != NULL)
			wire_delay_enqueue(wp, dup, now);
	} else {
		wire_send_ordered(wp, m, wire_chance(r[3], c->reorder_ppm));
		if (dup != NULL)
			wire_send_ordered(wp, dup, false);
	}
	kmutex_exit(&wp->wp_flock);
	return;
drop:
	kmutex_exit(&wp->wp_flock);
	m_freem(m);
}

/* Timer: deliver the delayed frames that are due; rearm for the next. */
static void
wire_delay_run(void *arg)
{
	struct wire_port *wp = arg;
	struct wire_fault *f = &wp->wp_f;
	uint64_t now = ktime_now(wp->wp_wire->w_kern);
	struct wire_delayed *d;

	psz_read_enter();
	kmutex_enter(&wp->wp_flock);
	while ((d = f->wf_dhead) != NULL && d->wd_deadline <= now) {
		if ((f->wf_dhead = d->wd_next) == NULL)
			f->wf_dtail = NULL;
		wire_forward(wp, d->wd_m);
		free(d);
	}
	if (d != NULL)
		(void)kcont_schedule(&wp->wp_delay_kc, wp->wp_cpu, d->wd_deadline - now);
	kmutex_exit(&wp->wp_flock);
	psz_read_exit();
}

/* Timer: a held frame waited long enough; send it. */
static void
wire_hold_run(void *arg)
{
	struct wire_port *wp = arg;
	struct mbuf *held;

	psz_read_enter();
	kmutex_enter(&wp->wp_flock);
	held = wp->wp_f.wf_held;
	wp->wp_f.wf_held = NULL;
	if (held != NULL)
		wire_forward(wp, held);
	kmutex_exit(&wp->wp_flock);
	psz_read_exit();
}

/* Send (or drop, counted as flushed) every held and delayed frame.  [L wp_flock] */
static void
wire_fault_flush_locked(struct wire_port *wp, bool drop)
{
	struct wire_fault *f = &wp->wp_f;
	struct wire_delayed *d;
	struct mbuf *m;

	KMUTEX_ASSERT_HELD(&wp->wp_flock);
	while ((d = f->wf_dhead) != NULL) {
		f->wf_dhead = d->wd_next;
		m = d->wd_m;
		free(d);
		if (drop) {
			wire_count(wp, WS_FLUSHED, 1);
			m_freem(m);
		} else {
			wire_forward(wp, m);
		}
	}
	f->wf_dtail = NULL;
	if ((m = f->wf_held) != NULL) {
		f->wf_held = NULL;
		if (drop) {
			wire_count(wp, WS_FLUSHED, 1);
			m_freem(m);
		} else {
			wire_forward(wp, m);
		}
	}
}

void
wire_flush(struct wire *w, int port)
{
	struct wire_port *wp;

	if (port < 0 || port >= w->w_nports)
		return;
	wp = &w->w_port[port];
	psz_read_enter();
	kmutex_enter(&wp->wp_flock);
	wire_fault_flush_locked(wp, false);
	kmutex_exit(&wp->wp_flock);
	psz_read_exit();
}

int
wire_set_faults(struct wire *w, int port, const struct wire_faults *fc)
{
	struct wire_port *wp;

	if (port < 0 || port >= w->w_nports)
		return -EINVAL;
	if (fc != NULL && (fc->loss_ppm > WIRE_PPM || fc->dup_ppm > WIRE_PPM ||
	    fc->reorder_ppm > WIRE_PPM || fc->corrupt_ppm > WIRE_PPM ||
	    fc->delay_ppm > WIRE_PPM))
		return -EINVAL;
	wp = &w->w_port[port];
	kmutex_enter(&wp->wp_flock);
	memset(&wp->wp_f.wf_cfg, 0, sizeof(wp->wp_f.wf_cfg));
	if (fc != NULL)
		wp->wp_f.wf_cfg = *fc;
	wp->wp_f.wf_rng = fc != NULL ? fc->seed : 0;
	wp->wp_f.wf_tokens = fc != NULL && fc->burst_bytes != 0 ? fc->burst_bytes :
	    16.0 * (w->w_mtu + ETHER_HDR_LEN);
	wp->wp_f.wf_last_ns = ktime_now(w->w_kern);
	/* relaxed: the mutex orders the configuration; the flag only selects the path */
	atomic_store_explicit(&wp->wp_faulty, fc != NULL, memory_order_relaxed);
	kmutex_exit(&wp->wp_flock);
	return 0;
}

/* ------------------------------------------------------------------ driver ops */

static int
wire_transmit(struct ifnet *ifp, struct if_txq *txq, struct mbuf *m)
{
	struct wire_port *wp = ifp->if_softc;

	(void)txq;
	wire_count(wp, WS_TX, 1);
	/* relaxed: see wire_set_faults */
	if (__predict_false(atomic_load_explicit(&wp->wp_faulty, memory_order_relaxed)))
		wire_fault_tx(wp, m);
	else
		wire_forward(wp, m);
	return 0;
}

static int
wire_poll(struct ifnet *ifp, struct if_rxq *rxq, int budget)
{
	struct ring *r = rxq->rxq_drv;
	void *ms[WIRE_BURST];
	int n = 0, i, got;

	while (n < budget) {
		got = (int)ring_dequeue_burst_sc(r, ms,
		    (uint32_t)(budget - n < WIRE_BURST ? budget - n : WIRE_BURST));
		if (got == 0)
			break;
		for (i = 0; i < got; i++)
			if_input(ifp, rxq, ms[i]);
		n += got;
	}
	return n;
}

static int
wire_set_flags(struct ifnet *ifp, uint32_t flags)
{
	if_set_running(ifp, (flags & IFF_UP) != 0);
	if_link_state_change(ifp, (flags & IFF_UP) ? LINK_STATE_UP : LINK_STATE_DOWN);
	return 0;
}

static int
wire_set_mtu(struct ifnet *ifp, uint32_t mtu)
{
	struct wire_port *wp = ifp->if_softc;

	return mtu <= wp->wp_wire->w_mtu ? 0 : -EINVAL;
}

/* Drop every frame on ring r of port wp (counted as flushed).  Single consumer. */
static void
wire_ring_drain(struct wire_port *wp, struct ring *r)
{
	void *m;

	while (ring_dequeue_sc(r, &m) == 0) {
		wire_count(wp, WS_FLUSHED, 1);
		m_freem(m);
	}
}

static void
wire_rings_drain(struct wire_port *wp)
{
	int q;

	for (q = 0; q < wp->wp_wire->w_nq; q++)
		wire_ring_drain(wp, wp->wp_rx[q]);
}

static void
wire_stop(struct ifnet *ifp)
{
	struct wire_port *wp = ifp->if_softc;
	struct ifnet *expect = ifp;

	wire_rings_drain(wp);
	/* The port is free again (attach may reuse it); a no-op after wire_port_detach. */
	(void)atomic_compare_exchange_strong_explicit(&wp->wp_ifp, &expect, NULL,
	    memory_order_release, memory_order_relaxed);
}

static const struct if_ops wire_ops = {
	.ifo_transmit = wire_transmit,
	.ifo_poll = wire_poll,
	.ifo_set_flags = wire_set_flags,
	.ifo_set_mtu = wire_set_mtu,
	.ifo_stop = wire_stop,
};

/* ------------------------------------------------------------------ create / destroy */

/* Port attach/detach (outermost), and each port's fault-injection state (a leaf). */
static const struct klock_class wire_class = { "wire" };
static const struct klock_class wire_port_class = { "wire_port" };

static int
wire_port_init(struct wire *w, int i)
{
	struct wire_port *wp = &w->w_port[i];
	int q, err;

	/* wp_wire stays NULL until the lock exists: wire_port_fini skips such a port */
	if ((err = kmutex_init(&wp->wp_flock, w->w_kern, &wire_port_class)) != 0)
		return -err;
	wp->wp_wire = w;
	wp->wp_idx = i;
	wp->wp_cpu = i % w->w_ncpu;
	kcont_init(&wp->wp_delay_kc, w->w_kern, wire_delay_run, wp, NULL, 0);
	kcont_init(&wp->wp_hold_kc, w->w_kern, wire_hold_run, wp, NULL, 0);
	if ((wp->wp_cnt = if_pcpu_alloc(w->w_kern)) == NULL)
		return ENOMEM;
	if ((wp->wp_rx = calloc((size_t)w->w_nq, sizeof(*wp->wp_rx))) == NULL)
		return ENOMEM;
	for (q = 0; q < w->w_nq; q++)
		if ((wp->wp_rx[q] = ring_create((uint32_t)w->w_ringsize, RING_SC_DEQ)) == NULL)
			return ENOMEM;
	return 0;
}

static void
wire_port_fini(struct wire_port *wp)
{
	struct wire *w = wp->wp_wire;
	int q;

	if (w == NULL)
		return;		/* never initialised */
	(void)kcont_halt(&wp->wp_delay_kc);
	(void)kcont_halt(&wp->wp_hold_kc);
	kmutex_enter(&wp->wp_flock);
	wire_fault_flush_locked(wp, true);
	kmutex_exit(&wp->wp_flock);
	for (q = 0; wp->wp_rx != NULL && q < w->w_nq; q++) {
		if (wp->wp_rx[q] == NULL)
			continue;
		wire_ring_drain(wp, wp->wp_rx[q]);
		ring_destroy(wp->wp_rx[q]);
	}
	free(wp->wp_rx);
	if_pcpu_free(wp->wp_cnt);
	kmutex_fini(&wp->wp_flock);
}

static int
wire_config_check(const struct kern *k, const struct wire_config *cfg)
{
	if (k == NULL || cfg == NULL || cfg->nports < 2 || cfg->nports > WIRE_MAXPORTS ||
	    cfg->nqueues < 1 || cfg->nqueues > IF_MAXQUEUES || cfg->ring_size < 0)
		return EINVAL;
	if (cfg->ring_size != 0 && (cfg->ring_size & (cfg->ring_size - 1)) != 0)
		return EINVAL;
	if (cfg->mtu != 0 && (cfg->mtu < 68 || cfg->mtu > 65535))
		return EINVAL;
	return 0;
}

struct wire *
wire_create(struct kern *k, const struct wire_config *cfg)
{
	struct wire *w;
	int i, err;

	if ((err = wire_config_check(k, cfg)) != 0) {
		errno = err;
		return NULL;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->w_kern = k;
	w->w_ncpu = kern_ncpu(k);
	w->w_nports = cfg->nports;
	w->w_nq = cfg->nqueues;
	w->w_ringsize = cfg->ring_size != 0 ? cfg->ring_size : WIRE_RING_DEFAULT;
	w->w_mtu = cfg->mtu != 0 ? cfg->mtu : 1500;
	if ((err = kmutex_init(&w->w_lock, k, &wire_class)) != 0) {
		free(w);
		errno = -err;
		return NULL;
	}
	toeplitz_init(&w->w_tz, cfg->rss_key != NULL ? cfg->rss_key : toeplitz_default_key);
	if ((w->w_port = calloc((size_t)w->w_nports, sizeof(*w->w_port))) == NULL)
		goto fail;
	for (i = 0; i < w->w_nports; i++)
		if ((err = wire_port_init(w, i)) != 0) {
			errno = err;
			goto fail;
		}
	return w;
fail:
	err = errno;
	wire_destroy(w);
	errno = err;
	return NULL;
}

void
wire_destroy(struct wire *w)
{
	int i;

	if (w == NULL)
		return;
	for (i = 0; w->w_port != NULL && i < w->w_nports; i++)
		(void)wire_port_detach(w, i);
	for (i = 0; w->w_port != NULL && i < w->w_nports; i++)
		wire_port_fini(&w->w_port[i]);
	free(w->w_port);
	kmutex_fini(&w->w_lock);
	free(w);
}

/* ------------------------------------------------------------------ ports */

static struct ifnet *
wire_ifnet_make(struct wire *w, int port, struct vnet *v, const char *name,
    const uint8_t *mac)
{
	struct wire_port *wp = &w->w_port[port];
	uint8_t addr[6] = { 0x02, 0x00, 0x00, 0x00, (uint8_t)port,
	    (uint8_t)((uintptr_t)w >> 6) };
	struct if_config cfg = {
		.name = name, .type = IFT_ETHER, .nrxq = w->w_nq, .ntxq = w->w_nq,
		.mtu = w->w_mtu, .flags = IFF_BROADCAST | IFF_MULTICAST,
		.lladdr = mac != NULL ? mac : addr, .ops = &wire_ops, .softc = wp,
	};
	struct ifnet *ifp = if_alloc(v, &cfg);
	int q;

	if (ifp == NULL)
		return NULL;
	for (q = 0; q < w->w_nq; q++)
		ifp->if_rxq[q].rxq_drv = wp->wp_rx[q];
	return ifp;
}

struct ifnet *
wire_port_attach(struct wire *w, int port, struct vnet *v, const char *name,
    const uint8_t *mac)
{
	struct ifnet *ifp = NULL;
	int err = 0;

	if (w == NULL || v == NULL || port < 0 || port >= w->w_nports) {
		errno = EINVAL;
		return NULL;
	}
	kmutex_enter(&w->w_lock);
	if (atomic_load_explicit(&w->w_port[port].wp_ifp, memory_order_relaxed) != NULL)
		err = EBUSY;
	else if ((ifp = wire_ifnet_make(w, port, v, name, mac)) == NULL)
		err = errno;
	else if ((err = -if_attach(ifp)) != 0)
		if_free(ifp);
	if (err == 0) {
		wire_rings_drain(&w->w_port[port]);	/* leftovers of an earlier life */
		psz_publish(&w->w_port[port].wp_ifp, ifp);	/* pairs with wire_deliver */
		err = -if_up(ifp);
	}
	kmutex_exit(&w->w_lock);
	if (err != 0) {
		errno = err;
		return NULL;
	}
	return ifp;
}

int
wire_port_detach(struct wire *w, int port)
{
	struct wire_port *wp;
	struct ifnet *ifp;

	if (port < 0 || port >= w->w_nports)
		return -EINVAL;
	wp = &w->w_port[port];
	kmutex_enter(&w->w_lock);
	ifp = atomic_load_explicit(&wp->wp_ifp, memory_order_relaxed);	/* [W w_lock] */
	if (ifp == NULL) {
		kmutex_exit(&w->w_lock);
		return -ENOENT;
	}
	psz_publish(&wp->wp_ifp, NULL);	/* senders now drop (no_peer) */
	if_detach(ifp);			/* waits for senders; halts polls; wire_stop drains */
	kmutex_exit(&w->w_lock);
	return 0;
}

struct ifnet *
wire_port_ifnet(struct wire *w, int port)
{
	if (port < 0 || port >= w->w_nports)
		return NULL;
	return psz_deref(&w->w_port[port].wp_ifp);
}

int
wire_port_stats(struct wire *w, int port, struct wire_stats *st)
{
	struct wire_port *wp;
	uint64_t *out = (uint64_t *)st;
	int c;

	if (port < 0 || port >= w->w_nports)
		return -EINVAL;
	wp = &w->w_port[port];
	_Static_assert(sizeof(*st) == (WS_FLUSHED + 1) * sizeof(uint64_t),
	    "wire_stats mirrors WS_*");
	for (c = 0; c <= WS_FLUSHED; c++)
		out[c] = if_pcpu_sum(wp->wp_cnt, w->w_ncpu, c);
	return 0;
}
