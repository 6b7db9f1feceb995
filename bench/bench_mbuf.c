/*
 * bench_mbuf.c - packet buffer allocation: mbuf get+free and cluster get+free, in bursts
 * of BURST (allocate a burst, free it, as a driver's RX refill and a TX completion do),
 * on 1 and 2 threads, each thread playing one CPU of the pools' kern.
 *
 * Implementations, measured alternately in the same run:
 *   smpnet          per-CPU magazine caches (the normal path)
 *   smpnet-nocache  the same pools with POOL_NOCACHE: every get/free goes straight to
 *                   the shared layer (the depot mutex)
 *   smpnet-giant    per-CPU caches, but every get and free between kern_giant_enter()
 *                   and kern_giant_exit() of a kern running in giant mode (the giant
 *                   lock the whole stack takes in that mode)
 * Cases *-getfree-Ncpu: each thread gets a burst of BURST and frees it (the magazines
 * absorb it: the depot is not touched).  Cases mbuf-getfree-b320-Ncpu: bursts of 320,
 * more than a slot's two 125-object magazines (mbuf pools use POOL_LARGEMAG), so every
 * burst takes full magazines from the depot and gives them back (the depot's lists at a high rate; shared by both
 * threads in the 2cpu case).  Case mbuf-xcpu-2cpu: CPU 0
 * gets mbufs and passes them through a single-producer ring to CPU 1, which frees them
 * (a packet received on one CPU and consumed on another): the frees fill magazines on
 * CPU 1 that must travel back to CPU 0 through the depot.
 * Metric: ops_per_s, one op = one get plus one free, summed over the threads; median of
 * opts->repeat runs with the spread.  Part of `smpnet bench kern`.
 *
 * The "CPUs" are plain threads that set kcpu_self_tls to a fake kern identity (only its
 * address is compared), as the unit tests do, so that each owns one per-CPU cache.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "kern/kern.h"
#include "kern/pool.h"
#include "mbuf/mbuf.h"

#define BURST		16
#define BURST_MAX	320
#define MAXTHR		2
#define MAXREPEAT	1000

enum { IMPL_CACHE, IMPL_NOCACHE, IMPL_GIANT, NIMPL };
static const char *const impl_names[NIMPL] = { "smpnet", "smpnet-nocache", "smpnet-giant" };

#define RING	1024

/* Single-producer single-consumer ring for the cross-CPU case. */
struct bm_ring {
	_Atomic uint64_t tail __attribute__((aligned(64)));	/* producer's */
	_Atomic uint64_t head __attribute__((aligned(64)));	/* consumer's */
	_Atomic bool	 stop;		/* producer finished (release after last tail) */
	struct mbuf	*slot[RING];
};

struct bm_run {
	struct mbuf_pools *mp;
	struct bm_ring	*ring;		/* cross-CPU case only */
	struct kern	*giant;		/* a giant-mode kern, NULL unless smpnet-giant */
	const struct kern *k;		/* fake kern identity */
	bool		 cluster;
	int		 burst;		/* objects per burst in the local cases */
	double		 seconds;
	pthread_barrier_t bar;
	_Atomic uint64_t ops;		/* [a] relaxed: summed after join */
	_Atomic uint64_t fails;		/* [a] relaxed */
};

struct bm_thread {
	struct bm_run	*run;
	int		 cpu;
};

static inline void
bm_lock(struct kern *g)
{
	if (g != NULL)
		kern_giant_enter(g);
}

static inline void
bm_unlock(struct kern *g)
{
	if (g != NULL)
		kern_giant_exit(g);
}

static inline struct mbuf *
bm_get(const struct bm_run *r)
{
	struct mbuf *m;

	bm_lock(r->giant);
	m = r->cluster ? m_getcl(r->mp, MT_DATA, M_PKTHDR, 0) : m_gethdr(r->mp, MT_DATA);
	bm_unlock(r->giant);
	return m;
}

static inline void
bm_free(const struct bm_run *r, struct mbuf *m)
{
	bm_lock(r->giant);
	m_free(m);
	bm_unlock(r->giant);
}

/* One burst: r->burst gets, then as many frees.  Returns the gets that failed. */
static unsigned
bm_burst(const struct bm_run *r)
{
	struct mbuf *ms[BURST_MAX];
	unsigned fails = 0;

	for (int i = 0; i < r->burst; i++)
		if ((ms[i] = bm_get(r)) == NULL)
			fails++;
	for (int i = 0; i < r->burst; i++)
		if (ms[i] != NULL)
			bm_free(r, ms[i]);
	return fails;
}

/* Producer: get mbufs and push them until the deadline.  Returns failed gets. */
static uint64_t
bm_produce(const struct bm_run *r, uint64_t end)
{
	struct bm_ring *q = r->ring;
	uint64_t t = 0, fails = 0;
	struct mbuf *m;

	while (bench_now_ns() < end) {
		for (int i = 0; i < 256; i++) {
			/* acquire: pairs with the consumer's release of head (slot is free) */
			while (t - atomic_load_explicit(&q->head, memory_order_acquire) == RING)
				sched_yield();
			if ((m = bm_get(r)) == NULL) {
				fails++;
				continue;
			}
			q->slot[t % RING] = m;
			/* release: the slot's contents before the consumer's acquire of tail */
			atomic_store_explicit(&q->tail, ++t, memory_order_release);
		}
	}
	/* release: every push happens before the consumer sees stop */
	atomic_store_explicit(&q->stop, true, memory_order_release);
	return fails;
}

/* Consumer: pop and free until the producer stops and the ring is empty. */
static uint64_t
bm_consume(const struct bm_run *r)
{
	struct bm_ring *q = r->ring;
	uint64_t h = 0, n = 0;

	for (;;) {
		/* acquire: pairs with the producer's release of stop, then of tail */
		bool stop = atomic_load_explicit(&q->stop, memory_order_acquire);

		if (h == atomic_load_explicit(&q->tail, memory_order_acquire)) {
			if (stop)
				return n;
			sched_yield();
			continue;
		}
		bm_free(r, q->slot[h % RING]);
		/* release: our read of the slot before the producer reuses it */
		atomic_store_explicit(&q->head, ++h, memory_order_release);
		n++;
	}
}

static void
bm_local(const struct bm_run *r, uint64_t end, uint64_t *ops, uint64_t *fails)
{
	do {
		for (int i = 0; i < 64; i++)
			*fails += bm_burst(r);
		*ops += 64 * (uint64_t)r->burst;
	} while (bench_now_ns() < end);
}

static void *
bm_thread_main(void *arg)
{
	struct bm_thread *t = arg;
	struct bm_run *r = t->run;
	uint64_t ops = 0, fails = 0, end;

	kcpu_self_tls.ks_kern = (struct kern *)(uintptr_t)r->k;
	kcpu_self_tls.ks_idx = t->cpu;
	pthread_barrier_wait(&r->bar);
	end = bench_now_ns() + (uint64_t)(r->seconds * 1e9);
	if (r->ring == NULL) {
		bm_local(r, end, &ops, &fails);
		ops -= fails;
	} else if (t->cpu == 0)
		fails = bm_produce(r, end);
	else
		ops = bm_consume(r);
	atomic_fetch_add_explicit(&r->ops, ops, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->fails, fails, memory_order_relaxed);
	kcpu_self_tls.ks_kern = NULL;
	kcpu_self_tls.ks_idx = -1;
	return NULL;
}

/* One measurement: ops/s over nthr threads, or a negative errno. */
static double
bm_measure(struct bm_run *r, int nthr)
{
	pthread_t tid[MAXTHR];
	struct bm_thread th[MAXTHR];
	uint64_t t0, t1;

	atomic_store(&r->ops, 0);
	pthread_barrier_init(&r->bar, NULL, (unsigned)nthr + 1);
	for (int i = 0; i < nthr; i++) {
		th[i] = (struct bm_thread){ r, i };
		if (pthread_create(&tid[i], NULL, bm_thread_main, &th[i]) != 0)
			abort();
	}
	pthread_barrier_wait(&r->bar);
	t0 = bench_now_ns();
	for (int i = 0; i < nthr; i++)
		pthread_join(tid[i], NULL);
	t1 = bench_now_ns();
	pthread_barrier_destroy(&r->bar);
	return (double)atomic_load(&r->ops) / ((double)(t1 - t0) / 1e9);
}

static int
bm_case(const struct bench_opts *opts, const char *name, bool cluster, int nthr,
    bool xcpu, int burst)
{
	static struct bm_ring ring;
	static char fake_kern;	/* identity only */
	static double samples[NIMPL][MAXREPEAT];
	struct kern_config gcfg = { .ncpu = 1, .giant = true, .nopin = true };
	struct kern *giant;
	struct mbuf_pools_config cfg = { .ncpu = MAXTHR,
	    .owner = (const struct kern *)(const void *)&fake_kern };
	struct mbuf_pools *cached, *nocache;
	struct bm_run r;
	int n = opts->repeat < MAXREPEAT ? opts->repeat : MAXREPEAT;

	if (!bench_want(opts, name))
		return 0;
	if ((giant = kern_create(&gcfg)) == NULL)
		return -errno;
	cached = mbuf_pools_create(&cfg);
	cfg.pool_flags = POOL_NOCACHE;
	nocache = mbuf_pools_create(&cfg);
	if (cached == NULL || nocache == NULL)
		return -ENOMEM;
	for (int rep = 0; rep < n; rep++)
		for (int impl = 0; impl < NIMPL; impl++) {
			memset(&ring, 0, sizeof(ring));
			r = (struct bm_run){ .mp = impl == IMPL_NOCACHE ? nocache : cached,
			    .ring = xcpu ? &ring : NULL,
			    .giant = impl == IMPL_GIANT ? giant : NULL, .k = cfg.owner,
			    .cluster = cluster, .burst = burst, .seconds = opts->seconds };
			samples[impl][rep] = bm_measure(&r, nthr);
			if (atomic_load(&r.fails) != 0)
				return -ENOBUFS;
		}
	for (int impl = 0; impl < NIMPL; impl++)
		bench_report_samples(opts, "kern", name, impl_names[impl], "ops_per_s",
		    samples[impl], n, "ops/s");
	kern_destroy(giant);
	if (mbuf_pools_destroy(cached) != 0 || mbuf_pools_destroy(nocache) != 0)
		return -EBUSY;
	return 0;
}

int
bench_kern_mbuf(const struct bench_opts *opts)
{
	static const struct {
		const char *name;
		bool cluster;
		int nthr;
		bool xcpu;
		int burst;
	} cases[] = {
		{ "mbuf-getfree-1cpu", false, 1, false, BURST },
		{ "mbuf-getfree-2cpu", false, 2, false, BURST },
		{ "cluster-getfree-1cpu", true, 1, false, BURST },
		{ "cluster-getfree-2cpu", true, 2, false, BURST },
		{ "mbuf-getfree-b320-1cpu", false, 1, false, BURST_MAX },
		{ "mbuf-getfree-b320-2cpu", false, 2, false, BURST_MAX },
		{ "mbuf-xcpu-2cpu", false, 2, true, BURST },
	};
	int error;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if ((error = bm_case(opts, cases[i].name, cases[i].cluster, cases[i].nthr,
		    cases[i].xcpu, cases[i].burst)))
			return error;
	return 0;
}
