/*
 * test_datapath_locks.c - the data path takes no lock shared across CPUs.
 *
 * Setup (two vnets "a" and "b" joined by a 2-port wire with 2 RX queues per port, on a
 * 2-CPU kern; an IPv4 routing table; a handler per vnet) is done first.  Then the lock
 * statistics of every class (klock_stats_foreach) are snapshotted, traffic runs, and
 * they are snapshotted again:
 *   - the test thread sends n UDP-shaped frames a -> b with varied flows, so the RSS
 *     hash spreads them over both RX queues, hence both CPUs;
 *   - b's handler (on a CPU thread, inside the dispatch read section) looks the
 *     destination up in the routing table (rt_lookup4), checks the nexthop, and sends
 *     an echo b -> a with the addresses and ports swapped (if_transmit from a CPU);
 *   - a's handler checks the echo and counts it exactly once per sequence number.
 * Normal mode: the difference of the two snapshots must be zero for every class except
 * those listed in dp_allowed[] (each with the reason it is not shared across CPUs).  The
 * frames must really have been handled on both CPUs, in both directions.
 * Giant mode: the same traffic must take the "giant" class around every continuation
 * run, which the handlers check directly (each call asserts it runs with giant held)
 * and the statistics confirm (acquisitions >= 2: both CPUs ran continuations).
 *
 * To see the test fail, make if_transmit take the ifnet lock (kmutex_enter/exit of
 * ifp->if_lock): the "ifnet" class then shows n + n acquisitions on the data path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <sys/socket.h>

#include "dev/wire.h"
#include "kern/kern_var.h"
#include "kern/klock.h"
#include "net/if_dispatch.h"
#include "net/route.h"
#include "net/route_var.h"
#include "nettest.h"

#define DP_N		2000		/* frames each way */
#define DP_MAXCLS	64
#define DP_DST		0xc6336400u	/* 198.51.100.0/24: routed via b */
#define DP_SRC		0xc0000200u	/* 192.0.2.0/24 */

/*
 * Classes that may be taken on the data path because each instance is used by one CPU
 * only.  None today: every net and dev lock is a writer lock, and the giant lock is
 * checked separately.
 */
static const char *const dp_allowed[] = { NULL };

struct dp_snap {
	int		 n;
	const char	*name[DP_MAXCLS];
	uint64_t	 acq[DP_MAXCLS];
};

struct dp {
	struct kern		*k;
	struct vnet		*va, *vb;
	struct wire		*w;
	struct ifnet		*a, *b;
	struct rt_table		*rt;
	_Atomic uint32_t	 count[DP_N];
	_Atomic uint64_t	 echoed, received, bad, badroute, nogiant;
	_Atomic uint64_t	 cpu_b[2], cpu_a[2];	/* handler calls per CPU */
};

static void
dp_snap_cb(const struct klock_stat *st, void *arg)
{
	struct dp_snap *s = arg;

	if (s->n < DP_MAXCLS) {
		s->name[s->n] = st->name;
		s->acq[s->n++] = st->acquisitions;
	}
}

static void
dp_snapshot(struct kern *k, struct dp_snap *s)
{
	s->n = 0;
	klock_stats_foreach(k, dp_snap_cb, s);
	assert_true(s->n < DP_MAXCLS);
}

/* Acquisitions of name between two snapshots (classes only ever get added). */
static uint64_t
dp_delta(const struct dp_snap *before, const struct dp_snap *after, const char *name)
{
	uint64_t b = 0, a = 0;
	int i;

	for (i = 0; i < before->n; i++)
		if (strcmp(before->name[i], name) == 0)
			b = before->acq[i];
	for (i = 0; i < after->n; i++)
		if (strcmp(after->name[i], name) == 0)
			a = after->acq[i];
	return a - b;
}

static bool
dp_is_allowed(const char *name)
{
	for (int i = 0; dp_allowed[i] != NULL; i++)
		if (strcmp(dp_allowed[i], name) == 0)
			return true;
	return false;
}

/* Handler bookkeeping common to both sides: CPU, giant, payload. */
static bool
dp_rx_check(struct dp *d, struct mbuf *m, uint8_t *buf, uint32_t *seq,
    _Atomic uint64_t *percpu)
{
	int len = m->m_pkthdr.len, cpu = kcpu_index(d->k);
	uint32_t id;

	if (cpu < 0 || cpu > 1 || len > 2048 || m_copydata(m, 0, len, buf) != 0 ||
	    !nt_payload_check(buf + NT_IP_OFF, len - NT_IP_OFF, &id, seq) || *seq >= DP_N) {
		atomic_fetch_add(&d->bad, 1);
		return false;
	}
	if (kern_giant(d->k) && !kmutex_owned(&d->k->k_giant_mtx))
		atomic_fetch_add(&d->nogiant, 1);
	atomic_fetch_add_explicit(&percpu[cpu], 1, memory_order_relaxed);
	return true;
}

/* b: route lookup, then echo to a from this CPU. */
static void
dp_b_input(struct ifnet *ifp, struct mbuf *m, void *arg)
{
	struct dp *d = arg;
	uint8_t buf[2048];
	uint32_t s, dst, seq;
	uint16_t sp, dp;
	struct nhop *nh;
	struct mbuf *e;

	(void)ifp;
	if (!dp_rx_check(d, m, buf, &seq, d->cpu_b)) {
		m_freem(m);
		return;
	}
	m_freem(m);
	memcpy(&s, buf + 12, 4);
	memcpy(&dst, buf + 16, 4);
	memcpy(&sp, buf + 20, 2);
	memcpy(&dp, buf + 22, 2);
	nh = rt_lookup4(d->rt, dst);
	if (nh == NULL || nh->nh_spec.ns_ifp != d->b)
		atomic_fetch_add(&d->badroute, 1);
	e = nt_udp_frame(d->vb, if_lladdr(d->a), if_lladdr(d->b), dst, s, dp, sp,
	    64, 2, seq);
	if (e == NULL || if_transmit(d->b, e) != 0)
		atomic_fetch_add(&d->bad, 1);
	else
		atomic_fetch_add(&d->echoed, 1);
}

/* a: count each echo once. */
static void
dp_a_input(struct ifnet *ifp, struct mbuf *m, void *arg)
{
	struct dp *d = arg;
	uint8_t buf[2048];
	uint32_t seq;

	(void)ifp;
	if (dp_rx_check(d, m, buf, &seq, d->cpu_a))
		atomic_fetch_add(&d->count[seq], 1);
	m_freem(m);
	atomic_fetch_add(&d->received, 1);	/* last: the waiter sees the rest */
}

static void
dp_route_setup(struct dp *d)
{
	struct nh_spec spec = { .ns_ifp = d->b, .ns_ifindex = (uint32_t)if_index(d->b),
	    .ns_mtu = 1500 };
	uint32_t dst = htonl(DP_DST);

	d->rt = rt_table_create(d->k, AF_INET);
	assert_non_null(d->rt);
	assert_int_equal(rt_add(d->rt, &dst, 24, &spec, 0), 0);
}

static struct dp *
dp_setup(bool giant)
{
	struct dp *d = calloc(1, sizeof(*d));
	struct wire_config wc = { .nports = 2, .nqueues = 2, .ring_size = 1024 };

	assert_non_null(d);
	assert_non_null(d->k = nt_kern(2, giant));
	assert_non_null(d->va = vnet_create(d->k, &(struct vnet_config){ .name = "a" }));
	assert_non_null(d->vb = vnet_create(d->k, &(struct vnet_config){ .name = "b" }));
	assert_non_null(d->w = wire_create(d->k, &wc));
	assert_non_null(d->a = wire_port_attach(d->w, 0, d->va, "wa0", NULL));
	assert_non_null(d->b = wire_port_attach(d->w, 1, d->vb, "wb0", NULL));
	dp_route_setup(d);
	assert_int_equal(dispatch_ether_register(d->va, ETHERTYPE_IP, dp_a_input, d), 0);
	assert_int_equal(dispatch_ether_register(d->vb, ETHERTYPE_IP, dp_b_input, d), 0);
	return d;
}

static void
dp_teardown(struct dp *d)
{
	wire_destroy(d->w);
	assert_int_equal(vnet_destroy(d->va), 0);
	assert_int_equal(vnet_destroy(d->vb), 0);
	rt_table_destroy(d->rt);
	kern_destroy(d->k);
	free(d);
}

/* Send DP_N frames a -> b over varied flows, paced so no ring overflows. */
static void
dp_traffic(struct dp *d)
{
	for (int i = 0; i < DP_N; i++) {
		uint32_t s = htonl(DP_SRC + 1 + (uint32_t)(i % 13));
		uint32_t t = htonl(DP_DST + 1 + (uint32_t)(i % 11));
		struct mbuf *m = nt_udp_frame(d->va, if_lladdr(d->b), if_lladdr(d->a), s, t,
		    htons((uint16_t)(1024 + i)), htons(7), 64, 1, (uint32_t)i);

		assert_non_null(m);
		assert_int_equal(nt_send(d->a, m), 0);
		if (i % 256 == 255)
			assert_true(nt_wait(&d->received, (uint64_t)i + 1 - 200, 20));
	}
	assert_true(nt_wait(&d->received, DP_N, 20));
	nt_sleep_ms(5);		/* a duplicate would show up now */
}

static void
dp_check_traffic(struct dp *d)
{
	assert_int_equal(atomic_load(&d->received), DP_N);
	assert_int_equal(atomic_load(&d->echoed), DP_N);
	assert_int_equal(atomic_load(&d->bad), 0);
	assert_int_equal(atomic_load(&d->badroute), 0);
	for (int i = 0; i < DP_N; i++)
		assert_int_equal(atomic_load(&d->count[i]), 1);
	for (int c = 0; c < 2; c++) {	/* both directions ran on both CPUs */
		printf("# cpu%d: b handled %llu, a handled %llu\n", c,
		    (unsigned long long)atomic_load(&d->cpu_b[c]),
		    (unsigned long long)atomic_load(&d->cpu_a[c]));
		assert_true(atomic_load(&d->cpu_b[c]) > 0);
		assert_true(atomic_load(&d->cpu_a[c]) > 0);
	}
}

/*
 * Wait (at most 2 s) until setup-time continuations have settled: two snapshots 20 ms
 * apart with no lock acquired between them, however slowly the machine runs them.
 */
static void
dp_settle(struct kern *k, struct dp_snap *s)
{
	struct dp_snap prev;

	dp_snapshot(k, s);
	for (int i = 0; i < 100; i++) {
		bool same;

		prev = *s;
		nt_sleep_ms(20);
		dp_snapshot(k, s);
		same = s->n == prev.n;
		for (int j = 0; same && j < s->n; j++)
			same = dp_delta(&prev, s, s->name[j]) == 0;
		if (same)
			return;
	}
}

/* Run traffic between two snapshots; returns the after-snapshot via *after. */
static struct dp *
dp_run(bool giant, struct dp_snap *before, struct dp_snap *after)
{
	struct dp *d = dp_setup(giant);

	dp_settle(d->k, before);	/* setup-time continuations done */
	dp_traffic(d);
	dp_snapshot(d->k, after);
	dp_check_traffic(d);
	for (int i = 0; i < after->n; i++)
		printf("# %-12s +%llu\n", after->name[i],
		    (unsigned long long)dp_delta(before, after, after->name[i]));
	return d;
}

static void
test_datapath_no_shared_lock(void **state)
{
	struct dp_snap before, after;
	struct dp *d;
	int shared = 0;

	(void)state;
	d = dp_run(false, &before, &after);
	for (int i = 0; i < after.n; i++) {
		uint64_t n = dp_delta(&before, &after, after.name[i]);

		if (n != 0 && !dp_is_allowed(after.name[i])) {
			printf("# data path took shared lock class %s %llu times\n",
			    after.name[i], (unsigned long long)n);
			shared++;
		}
	}
	assert_int_equal(shared, 0);
	assert_int_equal(atomic_load(&d->nogiant), 0);
	/* the classes of the setup locks are really registered (the test sees them) */
	assert_int_not_equal(dp_delta(&(struct dp_snap){ 0 }, &after, "ifnet"), 0);
	assert_int_not_equal(dp_delta(&(struct dp_snap){ 0 }, &after, "rt_table"), 0);
	assert_int_equal(klock_order_violations(d->k), 0);
	dp_teardown(d);
}

static void
test_datapath_giant(void **state)
{
	struct dp_snap before, after;
	struct dp *d;

	(void)state;
	d = dp_run(true, &before, &after);
	/* every handler call ran under giant, and both CPUs took it */
	assert_int_equal(atomic_load(&d->nogiant), 0);
	assert_true(dp_delta(&before, &after, "giant") >= 2);
	assert_int_equal(klock_order_violations(d->k), 0);
	dp_teardown(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_datapath_no_shared_lock),
		cmocka_unit_test(test_datapath_giant),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
