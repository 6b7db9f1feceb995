/*
 * bench_net.c - `smpnet bench net`: frames through the interface layer.
 *
 * Two vnets on a wire pair.  Sender threads (application threads, as a socket layer's
 * callers would be) build 64-byte IPv4/UDP-shaped frames (m_devget), transmit them on
 * port A (if_transmit -> RSS hash -> MPSC ring of B's RX queue -> interrupt); B's poll
 * continuations run ether_input and dispatch to a handler that counts and frees.
 * Senders keep at most 512 frames in flight each (flow control against the receive
 * count, so ring overflow does not dominate).  Metric: frames delivered to the handler
 * per second, end to end (allocation, hash, hand-off, poll, filter, dispatch, free).
 *
 * Cases (impl "smpnet" = normal mode, "smpnet-giant" = the same in giant mode, both in
 * the same run, alternating which goes first, opts->repeat times, median + spread):
 *	wire-1cpu	one CPU, one queue, one sender
 *	wire-2cpu	two CPUs, two queues, two senders (flows spread by RSS)
 *	loop-2cpu	a loop interface, two queues on two CPUs, two senders
 * On this 2-vCPU machine the senders share the cores with the CPU threads.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "dev/loop.h"
#include "dev/wire.h"
#include "kern/kern.h"
#include "kern/psz.h"
#include "mbuf/mbuf.h"
#include "net/ether.h"
#include "net/if_dispatch.h"
#include "net/if_var.h"
#include "net/vnet.h"

#define BN_INFLIGHT	512
#define BN_FRAME	64

struct bn_run {
	struct kern		*k;
	struct vnet		*va, *vb;
	struct wire		*w;
	struct ifnet		*tx, *rx;
	_Atomic uint64_t	 delivered;
	_Atomic uint64_t	 sent;		/* added in batches of 32 by the senders */
	int			 nsend;
	_Atomic bool		 stop;
	double			 seconds;
};

struct bn_sender {
	struct bn_run	*r;
	int		 id;
	uint64_t	 sent;
	pthread_t	 th;
};

static void
bn_handler(struct ifnet *ifp, struct mbuf *m, void *arg)
{
	struct bn_run *r = arg;

	(void)ifp;
	m_freem(m);
	atomic_fetch_add_explicit(&r->delivered, 1, memory_order_relaxed);
}

static void
bn_frame_init(uint8_t *buf, const struct ifnet *from, const struct ifnet *to, int id)
{
	uint32_t s = htonl(0xc0000201u + (uint32_t)id), d = htonl(0xc6336401u);

	memset(buf, 0, BN_FRAME);
	ether_header_build(buf, if_lladdr(to), if_lladdr(from), ETHERTYPE_IP);
	buf[14] = 0x45;
	buf[23] = 17;
	memcpy(buf + 26, &s, 4);
	memcpy(buf + 30, &d, 4);
}

static void *
bn_sender_main(void *arg)
{
	struct bn_sender *s = arg;
	struct bn_run *r = s->r;
	uint8_t buf[BN_FRAME];
	struct mbuf *m;
	uint16_t port;

	bn_frame_init(buf, r->tx, r->rx, s->id);
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		port = htons((uint16_t)(1024 + (s->sent & 255) * 2 + (uint64_t)s->id));
		memcpy(buf + 34, &port, 2);
		if ((s->sent & 31) == 0 && atomic_load_explicit(&r->sent,
		    memory_order_relaxed) > atomic_load_explicit(&r->delivered,
		    memory_order_relaxed) + (uint64_t)(BN_INFLIGHT * r->nsend)) {
			sched_yield();	/* flow control: the receiver is behind */
			continue;
		}
		if ((m = m_devget(r->va->v_pools, buf, BN_FRAME, 0, 0)) == NULL) {
			sched_yield();
			continue;
		}
		psz_read_enter();
		(void)if_transmit(r->tx, m);
		psz_read_exit();
		if ((++s->sent & 31) == 0)	/* relaxed: a flow-control estimate */
			atomic_fetch_add_explicit(&r->sent, 32, memory_order_relaxed);
	}
	return NULL;
}

static int
bn_setup(struct bn_run *r, int ncpu, bool giant, bool loop)
{
	struct kern_config kc = { .ncpu = ncpu, .giant = giant };
	struct wire_config wc = { .nports = 2, .nqueues = ncpu };

	if ((r->k = kern_create(&kc)) == NULL)
		return -1;
	r->va = vnet_create(r->k, NULL);
	if (r->va == NULL)
		return -1;
	if (loop) {
		r->tx = r->rx = loop_create(r->va, "lo0", ncpu);
		r->vb = NULL;
		return r->tx != NULL ? dispatch_ether_register(r->va, ETHERTYPE_IP,
		    bn_handler, r) : -1;
	}
	r->vb = vnet_create(r->k, NULL);
	if (r->vb == NULL || (r->w = wire_create(r->k, &wc)) == NULL)
		return -1;
	r->tx = wire_port_attach(r->w, 0, r->va, "wa0", NULL);
	r->rx = wire_port_attach(r->w, 1, r->vb, "wb0", NULL);
	if (r->tx == NULL || r->rx == NULL)
		return -1;
	return dispatch_ether_register(r->vb, ETHERTYPE_IP, bn_handler, r);
}

static void
bn_teardown(struct bn_run *r)
{
	wire_destroy(r->w);
	(void)vnet_destroy(r->vb);
	(void)vnet_destroy(r->va);
	if (r->k != NULL)
		kern_destroy(r->k);
}

/* One measurement: frames delivered per second, or a negative value on failure. */
static double
bn_measure(int ncpu, int nsend, bool giant, bool loop, double seconds)
{
	struct bn_run r = { .seconds = seconds, .nsend = nsend };
	struct bn_sender s[4];
	uint64_t d0, d1;
	double t0, t1, rate = -1;
	int i;

	if (bn_setup(&r, ncpu, giant, loop) != 0) {
		bn_teardown(&r);
		return -1;
	}
	for (i = 0; i < nsend; i++) {
		s[i] = (struct bn_sender){ .r = &r, .id = i };
		pthread_create(&s[i].th, NULL, bn_sender_main, &s[i]);
	}
	t0 = bench_now();
	while (atomic_load(&r.delivered) < 1000 && bench_now() - t0 < 5)	/* warm up */
		sched_yield();
	d0 = atomic_load(&r.delivered);
	t0 = bench_now();
	do {
		struct timespec ts = { 0, 10000000 };

		nanosleep(&ts, NULL);
		t1 = bench_now();
	} while (t1 - t0 < seconds);
	d1 = atomic_load(&r.delivered);
	rate = (double)(d1 - d0) / (t1 - t0);
	atomic_store(&r.stop, true);
	for (i = 0; i < nsend; i++)
		pthread_join(s[i].th, NULL);
	bn_teardown(&r);
	return rate;
}

struct bn_case {
	const char	*name;
	int		 ncpu, nsend;
	bool		 loop;
};

static const struct bn_case bn_cases[] = {
	{ "wire-1cpu", 1, 1, false },
	{ "wire-2cpu", 2, 2, false },
	{ "loop-2cpu", 2, 2, true },
};

static int
bench_net_run(const struct bench_opts *opts)
{
	double sec = opts->quick ? 0.2 : opts->seconds > 0 ? opts->seconds : 1.0;
	double samples[2][64];
	size_t c;
	int i, rep = opts->repeat < 64 ? opts->repeat : 64;

	for (c = 0; c < sizeof(bn_cases) / sizeof(bn_cases[0]); c++) {
		const struct bn_case *bc = &bn_cases[c];

		if (!bench_want(opts, bc->name))
			continue;
		for (i = 0; i < rep; i++) {
			int first = i & 1;	/* alternate which mode goes first */

			samples[first][i] = bn_measure(bc->ncpu, bc->nsend, first, bc->loop, sec);
			samples[!first][i] = bn_measure(bc->ncpu, bc->nsend, !first, bc->loop,
			    sec);
		}
		bench_report_samples(opts, "net", bc->name, "smpnet", "frames_per_s",
		    samples[0], rep, "1/s");
		bench_report_samples(opts, "net", bc->name, "smpnet-giant", "frames_per_s",
		    samples[1], rep, "1/s");
	}
	return 0;
}

const struct bench bench_net = {
	"net",
	"frames through ifnet/ether/dispatch over a wire pair and loopback, normal vs giant",
	bench_net_run,
};
