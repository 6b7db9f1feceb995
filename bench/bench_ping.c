/*
 * bench_ping.c - `smpnet bench ping`: ICMP echo round-trip latency over a wire.
 *
 * Two vnets A and B on one in-memory wire (2 queues per port).  The benchmark thread
 * sends an echo request from A to B with icmp_echo_request (B's ICMP answers in place),
 * then spins (yielding the core) until A's echo-reply handler, registered with
 * icmp_type_register, publishes that sequence number; one echo is in flight at a time.
 * A request without a reply within BP_TIMEOUT_NS is counted as lost and the next one is
 * sent.  Each run collects BP_SAMPLES round trips (--quick: BP_QUICK_SAMPLES), bounded
 * by BP_RUN_NS of wall time; its median and 99th percentile are one sample each of
 * rtt_median_ns and rtt_p99_ns (median over opts->repeat runs, with spread).
 *
 * Cases ping-1cpu and ping-2cpu (kern ncpu), impls smpnet and smpnet-giant, measured
 * alternately in the same run.
 */
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_topo.h"
#include "dev/wire.h"
#include "kern/kern.h"
#include "mbuf/mbuf.h"
#include "net/vnet.h"
#include "netinet/icmp.h"
#include "netinet/inet.h"

#define BP_ECHOREPLY	0		/* ICMP type: echo reply */
#define BP_ID		0x5a5a
#define BP_SAMPLES	20000
#define BP_QUICK_SAMPLES 1000
#define BP_TIMEOUT_NS	100000000ull	/* 100 ms */
#define BP_RUN_NS	8000000000ull	/* one run's wall-time bound */
#define BP_MAXREP	16

struct bp_net {
	struct kern	*k;		/* [I] */
	struct vnet	*a, *b;		/* [I] */
	struct wire	*w;		/* [I] */
	_Atomic uint32_t got;		/* [a] last echo sequence received + 1 */
	uint64_t	 lost;		/* benchmark thread only */
};

/* A's echo-reply handler: publish the sequence number (ICMP bytes 6-7). */
static void
bp_reply(struct ifnet *ifp, const struct mbuf *m, int hlen, void *arg)
{
	struct bp_net *n = arg;
	uint8_t h[8];

	(void)ifp;
	if (m_copydata(m, hlen, sizeof(h), h) != 0 || (h[4] << 8 | h[5]) != BP_ID)
		return;
	/* release: pairs with bp_wait's acquire load (nothing else is published) */
	atomic_store_explicit(&n->got, (uint32_t)(h[6] << 8 | h[7]) + 1, memory_order_release);
}

static void
bp_fini(struct bp_net *n)
{
	if (n->w != NULL)
		wire_destroy(n->w);
	vnet_destroy(n->a);
	vnet_destroy(n->b);
	if (n->k != NULL)
		kern_destroy(n->k);
}

static int
bp_setup(struct bp_net *n)
{
	struct wire_config wc = { .nports = 2, .nqueues = 2, .ring_size = 1024 };
	struct ifnet *a0, *b0;

	if ((n->w = wire_create(n->k, &wc)) == NULL)
		return -ENOMEM;
	a0 = wire_port_attach(n->w, 0, n->a, "a0", NULL);
	b0 = wire_port_attach(n->w, 1, n->b, "b0", NULL);
	if (!a0 || !b0 || in_addr_add(a0, IP4(192, 0, 2, 1), 24) ||
	    in_addr_add(b0, IP4(192, 0, 2, 2), 24))
		return -EINVAL;
	return icmp_type_register(n->a, BP_ECHOREPLY, bp_reply, n);
}

static int
bp_init(struct bp_net *n, int ncpu, bool giant)
{
	struct kern_config kc = { .ncpu = ncpu, .giant = giant };

	memset(n, 0, sizeof(*n));
	if ((n->k = kern_create(&kc)) == NULL)
		return -errno;
	n->a = bench_inet_vnet(n->k);
	n->b = bench_inet_vnet(n->k);
	if (!n->a || !n->b || bp_setup(n) != 0) {
		bp_fini(n);
		return -ENOMEM;
	}
	return 0;
}

/* Send echo seq and wait for its reply: the RTT in ns, or 0 if lost. */
static uint64_t
bp_echo(struct bp_net *n, uint16_t seq)
{
	uint64_t t0 = bench_now_ns(), t;

	if (icmp_echo_request(n->a, IP4(192, 0, 2, 2), BP_ID, seq, 56, NULL) != 0) {
		n->lost++;
		return 0;
	}
	for (;;) {
		/* acquire: pairs with bp_reply's release store */
		if (atomic_load_explicit(&n->got, memory_order_acquire) == (uint32_t)seq + 1)
			return bench_now_ns() - t0;
		t = bench_now_ns();
		if (t - t0 > BP_TIMEOUT_NS) {
			n->lost++;
			return 0;
		}
		sched_yield();
	}
}

static int
bp_cmp(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return (a > b) - (a < b);
}

/* One run: up to nsamp round trips; the median and p99 in ns (0, 0 if none). */
static void
bp_run(struct bp_net *n, uint64_t *rtt, int nsamp, double *med, double *p99)
{
	uint64_t start = bench_now_ns();
	int k = 0;

	for (int i = 0; i < nsamp && bench_now_ns() - start < BP_RUN_NS; i++) {
		uint64_t r = bp_echo(n, (uint16_t)i);

		if (r != 0)
			rtt[k++] = r;
	}
	*med = *p99 = 0;
	if (k == 0)
		return;
	qsort(rtt, (size_t)k, sizeof(*rtt), bp_cmp);
	*med = (double)rtt[k / 2];
	*p99 = (double)rtt[(size_t)k * 99 / 100];
}

static void
bp_report(const struct bench_opts *opts, const char *bcase, const char *impl,
    double *med, double *p99, int rep, uint64_t lost)
{
	bench_report_samples(opts, "ping", bcase, impl, "rtt_median_ns", med, rep, "ns");
	bench_report_samples(opts, "ping", bcase, impl, "rtt_p99_ns", p99, rep, "ns");
	bench_report(opts, "ping", bcase, impl, "lost", (double)lost, "echoes");
}

static int
bp_case(const struct bench_opts *opts, int ncpu, uint64_t *rtt)
{
	static const char *const impls[2] = { "smpnet", "smpnet-giant" };
	double med[2][BP_MAXREP], p99[2][BP_MAXREP];
	struct bp_net n[2];
	int rep = opts->repeat > BP_MAXREP ? BP_MAXREP : opts->repeat, r, g;
	int nsamp = opts->quick ? BP_QUICK_SAMPLES : BP_SAMPLES;
	char bcase[32];

	snprintf(bcase, sizeof(bcase), "ping-%dcpu", ncpu);
	if (!bench_want(opts, bcase))
		return 0;
	for (g = 0; g < 2; g++)
		if (bp_init(&n[g], ncpu, g == 1) != 0) {
			if (g == 1)
				bp_fini(&n[0]);
			return -ENOMEM;
		}
	for (g = 0; g < 2; g++) {			/* ARP resolved, caches warm */
		bp_run(&n[g], rtt, nsamp / 10 + 1, &med[g][0], &p99[g][0]);
		n[g].lost = 0;
	}
	for (r = 0; r < rep; r++)			/* alternate the impls */
		for (g = 0; g < 2; g++)
			bp_run(&n[g], rtt, nsamp, &med[g][r], &p99[g][r]);
	for (g = 0; g < 2; g++) {
		bp_report(opts, bcase, impls[g], med[g], p99[g], rep, n[g].lost);
		bp_fini(&n[g]);
	}
	return 0;
}

static int
bench_ping_run(const struct bench_opts *opts)
{
	uint64_t *rtt = malloc(BP_SAMPLES * sizeof(*rtt));
	int err;

	if (rtt == NULL)
		return -ENOMEM;
	err = bp_case(opts, 1, rtt);
	if (err == 0)
		err = bp_case(opts, 2, rtt);
	free(rtt);
	return err;
}

const struct bench bench_ping = { "ping",
	"ICMP echo round-trip latency A <-> B over a wire: 1/2 CPUs, normal vs giant",
	bench_ping_run };
