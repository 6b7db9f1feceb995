/*
 * bench_forward.c - `smpnet bench forward`: IPv4 forwarding between two wire ports of a
 * router vnet holding the BGP table.
 *
 * Three vnets A - R - B on two in-memory wires (2 RX/TX queues per port).  R has
 * net.inet.ip.forwarding=1 and every prefix of the BGP table (bench_bgp.h; --quick: a
 * generated table of BF_QUICK_TABLE prefixes) routed via B's address, so each forwarded
 * datagram walks the FIB for a real prefix.  Sender threads in A push 64-byte UDP
 * datagrams through ip_output (A's default route is R) to destinations drawn from the
 * table's prefixes (random host bits; the test subnets, 0/8, 127/8 and class D/E are
 * skipped), with varying source ports: thousands of flows, so RSS spreads them over R's
 * RX queues and CPUs.  B takes every IPv4 frame at the ethertype dispatch (B is not a
 * router: its handler counts and frees), so the figure is datagrams delivered at B per
 * second.
 *
 * Pacing: the senders keep at most BF_WINDOW datagrams in flight (sent - delivered -
 * written off); if deliveries stall for BF_STALL_NS (a datagram lost to a full ring or
 * to neighbour resolution) the in-flight ones are written off, so a loss never stalls a
 * measurement.
 *
 * Cases forward-1cpu and forward-2cpu (kern ncpu), impls smpnet and smpnet-giant: both
 * routers are built (table loaded once per kern config), then measured alternately
 * opts->repeat times; metric pps (median, spread), plus speedup_2cpu (the ratio of the
 * medians) per impl.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_topo.h"
#include "bench_bgp.h"
#include "dev/wire.h"
#include "kern/kern.h"
#include "mbuf/mbuf.h"
#include "net/if_dispatch.h"
#include "net/vnet.h"
#include "netinet/inet.h"

#define BF_WINDOW	512		/* datagrams in flight A -> B */
#define BF_STALL_NS	2000000		/* no delivery for 2 ms: write the in-flight off */
#define BF_NSEND	2		/* sender threads */
#define BF_NDST		(1u << 16)	/* destination addresses (a power of 2) */
#define BF_QUICK_TABLE	20000
#define BF_MAXREP	16

struct bf_net {
	struct kern	*k;		/* [I] */
	struct vnet	*a, *r, *b;	/* [I] */
	struct wire	*w1, *w2;	/* [I] */
	const uint32_t	*dst;		/* [I] BF_NDST destinations, host order */
	_Atomic uint64_t delivered;	/* [a] datagrams taken at B */
	_Atomic uint64_t sent;		/* [a] datagrams A's ip_output accepted */
	_Atomic uint64_t lost;		/* [a] written off by the stall rule */
	_Atomic bool	 stop;		/* [a] senders: stop */
	size_t		 routes;	/* [I] routes R accepted */
};

/* B's IPv4 ethertype handler: count and free. */
static void
bf_sink(struct ifnet *ifp, struct mbuf *m, void *arg)
{
	struct bf_net *n = arg;

	(void)ifp;
	/* relaxed: pacing and a count read after the senders joined */
	atomic_fetch_add_explicit(&n->delivered, 1, memory_order_relaxed);
	m_freem(m);
}

static int
bf_wires(struct bf_net *n)
{
	int err = bench_inet_chain(n->k, n->a, n->r, n->b, &n->w1, &n->w2);

	if (err != 0)
		return err;
	if (in_route_add(n->a, 0, 0, IP4(192, 0, 2, 2), NULL))
		return -EINVAL;
	return dispatch_ether_register(n->b, 0x0800, bf_sink, n);
}

/* R routes every prefix via B (duplicates and the test subnets are refused: skipped). */
static void
bf_routes(struct bf_net *n, const struct bgp_pfx4 *p, size_t np)
{
	for (size_t i = 0; i < np; i++)
		if (p[i].len > 0 &&
		    in_route_add(n->r, p[i].addr, p[i].len, IP4(198, 51, 100, 2), NULL) == 0)
			n->routes++;
}

static void
bf_fini(struct bf_net *n)
{
	if (n->w1 != NULL)
		wire_destroy(n->w1);
	if (n->w2 != NULL)
		wire_destroy(n->w2);
	vnet_destroy(n->a);
	vnet_destroy(n->r);
	vnet_destroy(n->b);
	if (n->k != NULL)
		kern_destroy(n->k);
}

static int
bf_init(struct bf_net *n, int ncpu, bool giant, const struct bgp_pfx4 *p, size_t np,
    const uint32_t *dst)
{
	struct kern_config kc = { .ncpu = ncpu, .giant = giant };

	memset(n, 0, sizeof(*n));
	n->dst = dst;
	if ((n->k = kern_create(&kc)) == NULL)
		return -errno;
	n->a = bench_inet_vnet(n->k);
	n->r = bench_inet_vnet(n->k);
	n->b = bench_inet_vnet(n->k);
	if (!n->a || !n->r || !n->b || bf_wires(n) != 0) {
		bf_fini(n);
		return -ENOMEM;
	}
	bf_routes(n, p, np);
	return 0;
}

/* True for addresses the benchmark must not send to. */
static bool
bf_dst_bad(uint32_t d)
{
	uint32_t top = d >> 24;

	return top == 0 || top == 127 || top >= 224 || (d >> 8) == (IP4(192, 0, 2, 0) >> 8) ||
	    (d >> 8) == (IP4(198, 51, 100, 0) >> 8);
}

/* BF_NDST destinations: a random prefix of the table, random host bits. */
static int
bf_dsts(uint32_t *dst, const struct bgp_pfx4 *p, size_t np, uint64_t seed)
{
	uint64_t s = seed;
	size_t i = 0, tries = 0;

	while (i < BF_NDST && tries++ < 100 * (size_t)BF_NDST) {
		const struct bgp_pfx4 *x = &p[bench_bgp_rng(&s) % np];
		uint32_t host = x->len >= 32 ? 0 : (uint32_t)bench_bgp_rng(&s) & ~(~0u << (32 - x->len));
		uint32_t d = x->len == 0 ? 0 : x->addr | host;

		if (x->len >= 8 && !bf_dst_bad(d))
			dst[i++] = d;
	}
	return i == BF_NDST ? 0 : -EINVAL;
}

struct bf_sender {
	struct bf_net	*n;
	pthread_t	 t;
	uint32_t	 i;		/* next destination index */
};

static int
bf_send_one(struct bf_sender *s)
{
	uint8_t udp[8 + 56] = { 0 };
	uint32_t d = s->n->dst[s->i++ & (BF_NDST - 1)];
	struct ip_oargs a = { .ipo_dst = d, .ipo_proto = 17 };
	struct mbuf *m = m_gethdr(s->n->a->v_pools, MT_DATA);

	if (m == NULL)
		return -ENOBUFS;
	udp[0] = (uint8_t)(0x80 | (s->i >> 8 & 0x3f)), udp[1] = (uint8_t)s->i;
	udp[2] = 0x00, udp[3] = 9;
	udp[5] = sizeof(udp);
	m_align(m, sizeof(udp));
	memcpy(mtod(m, void *), udp, sizeof(udp));
	m->m_len = m->m_pkthdr.len = sizeof(udp);
	return ip_output(s->n->a, m, &a);
}

/* Write the in-flight datagrams off when nothing was delivered for BF_STALL_NS. */
static void
bf_stall_check(struct bf_net *n, uint64_t *last_d, uint64_t *last_t)
{
	/* relaxed: pacing heuristics; exact counts are read after the join */
	uint64_t d = atomic_load_explicit(&n->delivered, memory_order_relaxed);
	uint64_t now = bench_now_ns();

	if (d != *last_d) {
		*last_d = d, *last_t = now;
		return;
	}
	if (now - *last_t > BF_STALL_NS) {
		uint64_t sent = atomic_load_explicit(&n->sent, memory_order_relaxed);

		atomic_store_explicit(&n->lost, sent - d, memory_order_relaxed);
		*last_t = now;
	}
}

static bool
bf_may_send(struct bf_net *n)
{
	/* relaxed: pacing only (pairs with bf_sink's and the senders' increments) */
	uint64_t sent = atomic_load_explicit(&n->sent, memory_order_relaxed);
	uint64_t d = atomic_load_explicit(&n->delivered, memory_order_relaxed);
	uint64_t lost = atomic_load_explicit(&n->lost, memory_order_relaxed);

	return sent < d + lost + BF_WINDOW;
}

static void *
bf_sender_run(void *arg)
{
	struct bf_sender *s = arg;
	uint64_t last_d = 0, last_t = bench_now_ns();

	while (!atomic_load_explicit(&s->n->stop, memory_order_relaxed)) {
		if (!bf_may_send(s->n)) {
			bf_stall_check(s->n, &last_d, &last_t);
			sched_yield();
			continue;
		}
		if (bf_send_one(s) == 0)
			atomic_fetch_add_explicit(&s->n->sent, 1, memory_order_relaxed);
	}
	return NULL;
}

/* One measurement: datagrams delivered at B per second. */
static double
bf_measure(struct bf_net *n, double seconds)
{
	struct bf_sender s[BF_NSEND];
	uint64_t d0, d1;
	double t0, t1;
	int i;

	atomic_store(&n->stop, false);
	atomic_store(&n->sent, atomic_load(&n->delivered));
	atomic_store(&n->lost, 0);
	for (i = 0; i < BF_NSEND; i++) {
		s[i] = (struct bf_sender){ .n = n, .i = (uint32_t)i * (BF_NDST / BF_NSEND) };
		pthread_create(&s[i].t, NULL, bf_sender_run, &s[i]);
	}
	d0 = atomic_load(&n->delivered);
	t0 = bench_now();
	while (bench_now() - t0 < seconds)
		sched_yield();
	d1 = atomic_load(&n->delivered);
	t1 = bench_now();
	atomic_store(&n->stop, true);
	for (i = 0; i < BF_NSEND; i++)
		pthread_join(s[i].t, NULL);
	return (double)(d1 - d0) / (t1 - t0);
}

struct bf_table {
	struct bgp_pfx4	*p;
	size_t		 np;
	uint32_t	*dst;
	bool		 real;		/* the RouteViews file, not generated */
};

static int
bf_table_get(const struct bench_opts *opts, struct bf_table *t)
{
	t->real = false;
	t->np = opts->quick ? 0 : bench_bgp_load4(&t->p);
	if (t->np > 0)
		t->real = true;
	else
		t->np = bench_bgp_gen4(&t->p, opts->quick ? BF_QUICK_TABLE : 694682, 0x5eed);
	if (t->np == 0 || (t->dst = malloc(BF_NDST * sizeof(*t->dst))) == NULL)
		return -ENOMEM;
	return bf_dsts(t->dst, t->p, t->np, 0xf0f0);
}

/* One case: both impls at ncpu; returns the medians in med[2] (0 if filtered out). */
static int
bf_case(const struct bench_opts *opts, const struct bf_table *t, int ncpu, double med[2])
{
	static const char *const impls[2] = { "smpnet", "smpnet-giant" };
	double samples[2][BF_MAXREP];
	struct bf_net n[2];
	int rep = opts->repeat > BF_MAXREP ? BF_MAXREP : opts->repeat, r, g;
	double secs = opts->quick ? 0.1 : opts->seconds;
	char bcase[32];

	snprintf(bcase, sizeof(bcase), "forward-%dcpu", ncpu);
	med[0] = med[1] = 0;
	if (!bench_want(opts, bcase))
		return 0;
	for (g = 0; g < 2; g++)
		if (bf_init(&n[g], ncpu, g == 1, t->p, t->np, t->dst) != 0) {
			if (g == 1)
				bf_fini(&n[0]);
			return -ENOMEM;
		}
	for (g = 0; g < 2; g++)
		(void)bf_measure(&n[g], secs / 4);	/* ARP resolved, caches warm */
	for (r = 0; r < rep; r++)			/* alternate the impls */
		for (g = 0; g < 2; g++)
			samples[g][r] = bf_measure(&n[g], secs);
	for (g = 0; g < 2; g++) {
		bench_report(opts, "forward", bcase, impls[g], "routes", (double)n[g].routes, "");
		bench_report_samples(opts, "forward", bcase, impls[g], "pps", samples[g], rep,
		    "packets/s");
		/* bench_report_samples sorted the samples: the same median as reported */
		med[g] = rep % 2 ? samples[g][rep / 2] :
		    (samples[g][rep / 2 - 1] + samples[g][rep / 2]) / 2;
		bf_fini(&n[g]);
	}
	return 0;
}

static int
bench_forward_run(const struct bench_opts *opts)
{
	static const char *const impls[2] = { "smpnet", "smpnet-giant" };
	struct bf_table t = { 0 };
	double m1[2], m2[2];
	int err;

	if ((err = bf_table_get(opts, &t)) == 0)
		err = bf_case(opts, &t, 1, m1);
	if (err == 0)
		err = bf_case(opts, &t, 2, m2);
	for (int g = 0; err == 0 && g < 2; g++)
		if (m1[g] > 0 && m2[g] > 0)
			bench_report(opts, "forward", "forward-2cpu", impls[g], "speedup_2cpu",
			    m2[g] / m1[g], "x");
	if (err == 0)
		bench_report(opts, "forward", "table", "smpnet", "prefixes", (double)t.np,
		    t.real ? "routeviews" : "generated");
	free(t.p);
	free(t.dst);
	return err;
}

const struct bench bench_forward = { "forward",
	"IPv4 forwarding A -> R -> B over wires, R holding the BGP table: 1/2 CPUs, normal vs giant",
	bench_forward_run };
