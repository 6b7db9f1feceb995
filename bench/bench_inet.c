/*
 * bench_inet.c - `smpnet bench inet`: IPv4 forwarding through a middle vnet.
 *
 * Three vnets A - B - C on two in-memory wires with 2 queues each; B forwards.  Sender
 * threads (one per flow, application threads) push 64-byte UDP datagrams from A to C
 * through ip_output for the measurement time, pacing themselves so that they never get
 * more than a window ahead of what C has delivered (otherwise the benchmark would
 * measure ring overflow).  The figure is datagrams delivered at C per second, taken from
 * C's per-CPU "ip.delivered" counter; every datagram crossed A's output, B's input,
 * forwarding (route lookup, TTL + checksum update, neighbour cache) and C's input.
 *
 * Cases: forward-1flow and forward-4flow (the UDP ports spread the flows over the RX
 * queues, hence over the CPUs).  Impls: "smpnet" (normal mode) and "smpnet-giant" (the
 * same stack in giant mode) in the same run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "bench_topo.h"
#include "dev/wire.h"
#include "kern/kern.h"
#include "mbuf/mbuf.h"
#include "net/if_dispatch.h"
#include "net/vnet.h"
#include "netinet/inet.h"

#define BI_WINDOW	256	/* datagrams a sender may be ahead of C's deliveries */

struct bi_net {
	struct kern	*k;
	struct vnet	*a, *b, *c;
	struct wire	*w1, *w2;
	_Atomic uint64_t delivered;
	_Atomic bool	 stop;
};

static void
bi_count(struct ifnet *ifp, struct mbuf *m, int off, void *arg)
{
	struct bi_net *n = arg;

	/* relaxed: a statistic read after the senders stopped */
	atomic_fetch_add_explicit(&n->delivered, 1, memory_order_relaxed);
	m_freem(m);
}

static int
bi_addrs(struct bi_net *n)
{
	int err = bench_inet_chain(n->k, n->a, n->b, n->c, &n->w1, &n->w2);

	if (err != 0)
		return err;
	if (in_route_add(n->a, IP4(198, 51, 100, 0), 24, IP4(192, 0, 2, 2), NULL) ||
	    in_route_add(n->c, IP4(192, 0, 2, 0), 24, IP4(198, 51, 100, 1), NULL))
		return -EINVAL;
	return dispatch_ipproto_register(n->c, DISPATCH_INET, 17, bi_count, n);
}

static void
bi_fini(struct bi_net *n)
{
	if (n->w1 != NULL)
		wire_destroy(n->w1);
	if (n->w2 != NULL)
		wire_destroy(n->w2);
	vnet_destroy(n->a);
	vnet_destroy(n->b);
	vnet_destroy(n->c);
	if (n->k != NULL)
		kern_destroy(n->k);
}

static int
bi_init(struct bi_net *n, bool giant)
{
	struct kern_config kc = { .giant = giant };

	memset(n, 0, sizeof(*n));
	if ((n->k = kern_create(&kc)) == NULL)
		return -errno;
	n->a = bench_inet_vnet(n->k);
	n->b = bench_inet_vnet(n->k);
	n->c = bench_inet_vnet(n->k);
	if (!n->a || !n->b || !n->c || bi_addrs(n) != 0) {
		bi_fini(n);
		return -ENOMEM;
	}
	return 0;
}

struct bi_sender {
	struct bi_net	*n;
	pthread_t	 t;
	int		 flow, nflows;
	uint64_t	 sent;
};

static int
bi_send_one(struct bi_sender *s)
{
	uint8_t udp[8 + 56] = { 0 };
	struct ip_oargs a = { .ipo_dst = IP4(198, 51, 100, 2), .ipo_proto = 17 };
	struct mbuf *m = m_gethdr(s->n->a->v_pools, MT_DATA);

	if (m == NULL)
		return -ENOBUFS;
	udp[0] = 0x9c, udp[1] = (uint8_t)s->flow;	/* source port: the flow */
	udp[2] = 0x00, udp[3] = 7;
	udp[5] = sizeof(udp);
	m_align(m, sizeof(udp));
	memcpy(mtod(m, void *), udp, sizeof(udp));
	m->m_len = m->m_pkthdr.len = sizeof(udp);
	return ip_output(s->n->a, m, &a);
}

static void *
bi_sender_run(void *arg)
{
	struct bi_sender *s = arg;

	while (!atomic_load_explicit(&s->n->stop, memory_order_relaxed)) {
		/* relaxed: pacing only */
		uint64_t done = atomic_load_explicit(&s->n->delivered, memory_order_relaxed);

		if (s->sent * (uint64_t)s->nflows > done + BI_WINDOW * (uint64_t)s->nflows) {
			sched_yield();
			continue;
		}
		if (bi_send_one(s) == 0)
			s->sent++;
	}
	return NULL;
}

/* One measurement: delivered datagrams per second with nflows senders. */
static double
bi_measure(struct bi_net *n, int nflows, double seconds)
{
	struct bi_sender s[4];
	uint64_t d0;
	double t0, t1;
	int i;

	atomic_store(&n->stop, false);
	atomic_store(&n->delivered, 0);
	for (i = 0; i < nflows; i++) {
		s[i] = (struct bi_sender){ .n = n, .flow = i, .nflows = nflows };
		pthread_create(&s[i].t, NULL, bi_sender_run, &s[i]);
	}
	bench_now();
	d0 = atomic_load(&n->delivered);
	t0 = bench_now();
	while (bench_now() - t0 < seconds)
		sched_yield();
	t1 = bench_now();
	atomic_store(&n->stop, true);
	for (i = 0; i < nflows; i++)
		pthread_join(s[i].t, NULL);
	return (double)(atomic_load(&n->delivered) - d0) / (t1 - t0);
}

static int
bi_case(const struct bench_opts *opts, const char *bcase, int nflows)
{
	static const char *const impls[2] = { "smpnet", "smpnet-giant" };
	double samples[2][16];
	struct bi_net n[2];
	int rep = opts->repeat > 16 ? 16 : opts->repeat, r, g;
	double secs = opts->quick ? 0.1 : opts->seconds;

	if (!bench_want(opts, bcase))
		return 0;
	for (g = 0; g < 2; g++)
		if (bi_init(&n[g], g == 1) != 0) {
			if (g == 1)
				bi_fini(&n[0]);
			return -ENOMEM;
		}
	(void)bi_measure(&n[0], nflows, secs / 4);	/* ARP resolved, caches warm */
	(void)bi_measure(&n[1], nflows, secs / 4);
	for (r = 0; r < rep; r++)			/* alternate the impls */
		for (g = 0; g < 2; g++)
			samples[g][r] = bi_measure(&n[g], nflows, secs) / 1e6;
	for (g = 0; g < 2; g++) {
		bench_report_samples(opts, "inet", bcase, impls[g], "mpps", samples[g], rep,
		    "Mdatagrams/s");
		bi_fini(&n[g]);
	}
	return 0;
}

static int
bench_inet_run(const struct bench_opts *opts)
{
	int err;

	if ((err = bi_case(opts, "forward-1flow", 1)) != 0)
		return err;
	return bi_case(opts, "forward-4flow", 4);
}

const struct bench bench_inet = { "inet",
	"IPv4 forwarding A -> B -> C over wires: normal vs giant mode", bench_inet_run };
