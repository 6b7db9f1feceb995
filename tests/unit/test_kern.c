/*
 * test_kern.c - unit tests of the platform layer: continuations (exactly once, on the
 * requested CPU, pending is a no-op, timers in deadline order and never early on a
 * simulated clock, priorities, worker items that sleep, locks around fn, no
 * self-concurrency), lock statistics, per-CPU counters, the giant lock.
 *
 * Waits are bounded (WAIT_NS); a wait that times out fails the test.  No timing
 * assertions: the simulated clock makes timer checks exact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kern/kcont.h"
#include "kern/kern.h"
#include "kern/kern_var.h"
#include "kern/klock.h"
#include "kern/ktime.h"
#include "kern/pcpu.h"

#define WAIT_NS	(10ull * 1000000000ull)

static void
nap(void)
{
	struct timespec ts = { 0, 200000 };

	nanosleep(&ts, NULL);
}

/* Wait until *v >= want (bounded); true if reached. */
static bool
wait_ge(_Atomic int *v, int want)
{
	uint64_t end = ktime_mono() + WAIT_NS;

	while (atomic_load(v) < want) {
		if (ktime_mono() > end)
			return false;
		nap();
	}
	return true;
}

static struct kern *
mk(int ncpu, bool giant, const struct ktime_ops *t)
{
	struct kern_config cfg = { .ncpu = ncpu, .giant = giant, .nopin = true, .time = t };
	struct kern *k = kern_create(&cfg);

	assert_non_null(k);
	return k;
}

/* --- exactly once, on the requested CPU --- */

struct item {
	struct kcont	kc;
	struct kern	*k;
	int		want_cpu;
	_Atomic int	runs;
	_Atomic int	wrong;
	_Atomic int	*total;
};

static void
item_fn(void *arg)
{
	struct item *it = arg;

	if (kcpu_index(it->k) != it->want_cpu)
		atomic_fetch_add(&it->wrong, 1);
	atomic_fetch_add(&it->runs, 1);
	atomic_fetch_add(it->total, 1);
}

static void
test_exactly_once_on_cpu(void **state)
{
	enum { N = 300 };
	struct kern *k = mk(3, false, NULL);
	static struct item it[N];
	_Atomic int total = 0;
	int i, round;

	(void)state;
	for (i = 0; i < N; i++) {
		kcont_init(&it[i].kc, k, item_fn, &it[i], NULL, (i % 5 == 0) ? KC_PRIO_HIGH : 0);
		it[i].k = k;
		it[i].want_cpu = i % 3;
		atomic_init(&it[i].runs, 0);
		atomic_init(&it[i].wrong, 0);
		it[i].total = &total;
	}
	for (round = 1; round <= 3; round++) {
		for (i = 0; i < N; i++)
			assert_int_equal(kcont_schedule(&it[i].kc, it[i].want_cpu, 0), 0);
		assert_true(wait_ge(&total, N * round));
	}
	for (i = 0; i < N; i++) {
		assert_int_equal(kcont_halt(&it[i].kc), 0);
		assert_int_equal(atomic_load(&it[i].runs), 3);
		assert_int_equal(atomic_load(&it[i].wrong), 0);
	}
	kern_destroy(k);
}

/* --- pending is a no-op, cancel, bad arguments --- */

static void
test_pending_noop(void **state)
{
	struct kern *k = mk(2, false, NULL);
	_Atomic int total = 0;
	struct item it = { .k = k, .want_cpu = 1, .total = &total };

	(void)state;
	kcont_init(&it.kc, k, item_fn, &it, NULL, 0);
	assert_int_equal(kcont_schedule(&it.kc, 2, 0), -EINVAL);
	assert_false(kcont_pending(&it.kc));
	assert_int_equal(kcont_schedule(&it.kc, 1, 30ull * 1000000000ull), 0);
	assert_true(kcont_pending(&it.kc));
	assert_int_equal(kcont_schedule(&it.kc, 1, 0), -EALREADY);
	assert_int_equal(kcont_schedule(&it.kc, 0, 5), -EALREADY);
	assert_true(kcont_cancel(&it.kc));
	assert_false(kcont_cancel(&it.kc));
	assert_false(kcont_pending(&it.kc));
	/* Re-armed for now after the cancel: runs once, on CPU 1. */
	assert_int_equal(kcont_schedule(&it.kc, 1, 0), 0);
	assert_true(wait_ge(&total, 1));
	assert_int_equal(kcont_halt(&it.kc), 0);
	assert_int_equal(atomic_load(&it.runs), 1);
	assert_int_equal(atomic_load(&it.wrong), 0);
	/* Halt removes a far timer held by another CPU's wheel. */
	assert_int_equal(kcont_schedule(&it.kc, 1, 30ull * 1000000000ull), 0);
	assert_int_equal(kcont_halt(&it.kc), 1);
	assert_false(kcont_pending(&it.kc));
	assert_int_equal(atomic_load(&it.runs), 1);
	kern_destroy(k);
}

/* --- timers: deadline order, never early (simulated clock) --- */

struct simclock {
	struct ktime_ops ops;
	_Atomic uint64_t now;
};

static uint64_t
sim_now(void *arg)
{
	return atomic_load(&((struct simclock *)arg)->now);
}

#define NTIMERS 64

struct timer {
	struct kcont	kc;
	struct simclock	*clk;
	uint64_t	deadline;
	uint64_t	fired_at;
	int		seq;
	_Atomic int	*order, *fired;
};

static void
timer_fn(void *arg)
{
	struct timer *t = arg;

	t->fired_at = sim_now(t->clk);
	t->seq = atomic_fetch_add(t->order, 1);
	atomic_fetch_add(t->fired, 1);		/* after the stores the test reads */
}

struct arm_ctx {
	struct kcont	kc;
	struct timer	*t;
	_Atomic int	armed;
};

static void
arm_fn(void *arg)
{
	struct arm_ctx *a = arg;
	int i;

	for (i = 0; i < NTIMERS; i++)
		kcont_schedule(&a->t[i].kc, KCPU_CURRENT, a->t[i].deadline - sim_now(a->t[i].clk));
	atomic_store(&a->armed, 1);
}

static void
test_timer_order(void **state)
{
	static struct simclock clk;
	static struct timer t[NTIMERS];
	struct arm_ctx a;
	_Atomic int fired = 0, order = 0;
	unsigned seed = 12345;
	int i, by_seq[NTIMERS];
	struct kern *k;

	(void)state;
	printf("# seed %u\n", seed);
	clk.ops.kt_now = sim_now;
	clk.ops.kt_arg = &clk;
	atomic_init(&clk.now, 1000000000ull);
	k = mk(2, false, &clk.ops);
	for (i = 0; i < NTIMERS; i++) {
		kcont_init(&t[i].kc, k, timer_fn, &t[i], NULL, 0);
		t[i].clk = &clk;
		t[i].fired = &fired;
		t[i].order = &order;
		/* 1 ns .. 20 ms, some equal, many in the same wheel tick */
		t[i].deadline = atomic_load(&clk.now) + 1 + (uint64_t)(rand_r(&seed) % 20000) * 1000;
	}
	kcont_init(&a.kc, k, arm_fn, &a, NULL, 0);
	a.t = t;
	atomic_init(&a.armed, 0);
	assert_int_equal(kcont_schedule(&a.kc, 1, 0), 0);
	assert_true(wait_ge(&a.armed, 1));
	for (i = 0; i < 400 && atomic_load(&fired) < NTIMERS; i++) {
		atomic_fetch_add(&clk.now, 61111);	/* 61 us of simulated time */
		nap();
	}
	assert_true(wait_ge(&fired, NTIMERS));
	for (i = 0; i < NTIMERS; i++) {
		assert_true(t[i].fired_at >= t[i].deadline);	/* never early */
		by_seq[t[i].seq] = i;
	}
	for (i = 1; i < NTIMERS; i++)				/* deadline order */
		assert_true(t[by_seq[i - 1]].deadline <= t[by_seq[i]].deadline);
	kcont_halt(&a.kc);
	kern_destroy(k);
}

/* --- priorities --- */

struct prio_ctx {
	struct kcont	drv;
	struct kcont	hi[5], lo[5];
	_Atomic int	order, seq;
	int		hi_seq[5], lo_seq[5];
};

static struct prio_ctx *prio_cur;

static void
rec_fn(void *arg)
{
	*(int *)arg = atomic_fetch_add(&prio_cur->order, 1);
	atomic_fetch_add(&prio_cur->seq, 1);	/* after the store the test reads */
}

static void
prio_drv(void *arg)
{
	struct prio_ctx *p = arg;
	int i;

	for (i = 0; i < 5; i++)
		kcont_schedule(&p->lo[i], KCPU_CURRENT, 0);
	for (i = 0; i < 5; i++)
		kcont_schedule(&p->hi[i], KCPU_CURRENT, 0);
}

static void
test_priorities(void **state)
{
	static struct prio_ctx p;
	struct kern *k = mk(1, false, NULL);
	int i, j;

	(void)state;
	prio_cur = &p;
	atomic_init(&p.seq, 0);
	atomic_init(&p.order, 0);
	kcont_init(&p.drv, k, prio_drv, &p, NULL, 0);
	for (i = 0; i < 5; i++) {
		kcont_init(&p.lo[i], k, rec_fn, &p.lo_seq[i], NULL, 0);
		kcont_init(&p.hi[i], k, rec_fn, &p.hi_seq[i], NULL, KC_PRIO_HIGH);
	}
	assert_int_equal(kcont_schedule(&p.drv, 0, 0), 0);
	assert_true(wait_ge(&p.seq, 10));
	for (i = 0; i < 5; i++)
		for (j = 0; j < 5; j++)
			assert_true(p.hi_seq[i] < p.lo_seq[j]);
	for (i = 1; i < 5; i++)		/* FIFO within a level */
		assert_true(p.lo_seq[i - 1] < p.lo_seq[i] && p.hi_seq[i - 1] < p.hi_seq[i]);
	kern_destroy(k);
}

/* --- KC_WORKQ items may sleep without blocking CPU threads --- */

struct wq_ctx {
	struct kcont	wq, cpu;
	_Atomic int	started, flag, saw, done;
};

static void
wq_fn(void *arg)
{
	struct wq_ctx *w = arg;
	uint64_t end = ktime_mono() + WAIT_NS / 2;

	atomic_store(&w->started, 1);
	while (!atomic_load(&w->flag) && ktime_mono() < end)
		nap();				/* sleeps */
	atomic_store(&w->saw, atomic_load(&w->flag));
	atomic_store(&w->done, 1);
}

static void
wq_cpu_fn(void *arg)
{
	atomic_store(&((struct wq_ctx *)arg)->flag, 1);
}

static void
test_workq_sleeps(void **state)
{
	struct kern_config cfg = { .ncpu = 1, .nworkers = 1, .nopin = true };
	struct kern *k = kern_create(&cfg);
	struct wq_ctx w;

	(void)state;
	memset(&w, 0, sizeof(w));
	assert_non_null(k);
	kcont_init(&w.wq, k, wq_fn, &w, NULL, KC_WORKQ);
	kcont_init(&w.cpu, k, wq_cpu_fn, &w, NULL, 0);
	assert_int_equal(kcont_schedule(&w.wq, 0, 0), 0);
	assert_true(wait_ge(&w.started, 1));
	assert_int_equal(kcont_schedule(&w.cpu, 0, 0), 0);
	assert_true(wait_ge(&w.done, 1));
	assert_int_equal(atomic_load(&w.saw), 1);
	kcont_halt(&w.wq);
	kcont_halt(&w.cpu);
	kern_destroy(k);
}

/* --- lock around fn, self-reschedule without self-concurrency --- */

struct self_ctx {
	struct kcont	kc;
	struct kmutex	*m;
	_Atomic int	runs, inside, overlap, unlocked;
	int		limit;
};

static void
self_fn(void *arg)
{
	struct self_ctx *s = arg;

	if (atomic_fetch_add(&s->inside, 1) != 0)
		atomic_fetch_add(&s->overlap, 1);
	if (!kmutex_owned(s->m))
		atomic_fetch_add(&s->unlocked, 1);
	if (atomic_fetch_add(&s->runs, 1) + 1 < s->limit)
		kcont_schedule(&s->kc, (atomic_load(&s->runs) % 2), 0);
	atomic_fetch_sub(&s->inside, 1);
}

static void
test_self_resched_locked(void **state)
{
	static const struct klock_class cls = { "test_self" };
	struct kern *k = mk(2, false, NULL);
	struct kmutex m;
	struct self_ctx s = { .limit = 2000 };
	struct klock_stat st;

	(void)state;
	assert_int_equal(kmutex_init(&m, k, &cls), 0);
	s.m = &m;
	kcont_init(&s.kc, k, self_fn, &s, &m, 0);
	assert_int_equal(kcont_schedule(&s.kc, 0, 0), 0);
	assert_true(wait_ge(&s.runs, s.limit));
	kcont_halt(&s.kc);
	assert_int_equal(atomic_load(&s.runs), s.limit);
	assert_int_equal(atomic_load(&s.overlap), 0);
	assert_int_equal(atomic_load(&s.unlocked), 0);
	assert_int_equal(klock_stats_get(k, "test_self", &st), 0);
	assert_int_equal(st.acquisitions, (uint64_t)s.limit);
	kmutex_fini(&m);
	kern_destroy(k);
}

/* --- lock statistics --- */

struct contend_ctx {
	struct kmutex	*m;
	struct kern	*k;
};

static void *
contend_thread(void *arg)
{
	struct contend_ctx *c = arg;

	kmutex_enter(c->m);
	kmutex_exit(c->m);
	return NULL;
}

static void
test_lock_stats(void **state)
{
	static const struct klock_class cls = { "test_mtx" };
	static const struct klock_class cls2 = { "test_mtx" };	/* same name: shared */
	static const struct klock_class scls = { "test_spin" };
	struct kern *k = mk(1, false, NULL);
	struct kmutex m, m2;
	struct kspin sp;
	struct contend_ctx c = { &m, k };
	struct klock_stat st;
	pthread_t t;
	uint64_t end;
	int i;

	(void)state;
	assert_int_equal(kmutex_init(&m, k, &cls), 0);
	assert_int_equal(kmutex_init(&m2, k, &cls2), 0);
	assert_int_equal(kspin_init(&sp, k, &scls), 0);
	for (i = 0; i < 100; i++) {
		kmutex_enter(&m);
		assert_true(kmutex_owned(&m));
		kmutex_exit(&m);
		assert_false(kmutex_owned(&m));
		kmutex_enter(&m2);
		kmutex_exit(&m2);
		kspin_enter(&sp);
		assert_true(kspin_owned(&sp));
		kspin_exit(&sp);
	}
	assert_int_equal(klock_stats_get(k, "test_mtx", &st), 0);
	assert_int_equal(st.acquisitions, 200);
	assert_int_equal(st.contended, 0);
	/* One deterministic contended acquisition: we hold m while t tries it. */
	kmutex_enter(&m);
	assert_int_equal(pthread_create(&t, NULL, contend_thread, &c), 0);
	end = ktime_mono() + WAIT_NS;
	do {
		nap();
		assert_int_equal(klock_stats_get(k, "test_mtx", &st), 0);
	} while (st.contended == 0 && ktime_mono() < end);
	assert_int_equal(st.contended, 1);
	kmutex_exit(&m);
	pthread_join(t, NULL);
	assert_int_equal(klock_stats_get(k, "test_mtx", &st), 0);
	assert_int_equal(st.acquisitions, 202);
	assert_int_equal(st.contended, 1);
	assert_int_equal(klock_stats_get(k, "test_spin", &st), 0);
	assert_int_equal(st.acquisitions, 100);
	assert_int_equal(klock_stats_get(k, "no_such_class", &st), -ENOENT);
	kspin_fini(&sp);
	kmutex_fini(&m2);
	kmutex_fini(&m);
	kern_destroy(k);
}

/* --- per-CPU counters --- */

#define PC_ADDS 50000

struct pc_ctx {
	struct kcont	kc[4];
	struct pcounter	*pc;
	_Atomic int	done;
};

static void
pc_fn(void *arg)
{
	struct pc_ctx *p = arg;
	int i;

	for (i = 0; i < PC_ADDS; i++)
		pcounter_inc(p->pc);
	atomic_fetch_add(&p->done, 1);
}

static void *
pc_thread(void *arg)
{
	struct pc_ctx *p = arg;
	int i;

	for (i = 0; i < PC_ADDS; i++)
		pcounter_add(p->pc, 2);
	return NULL;
}

/* --- per-CPU storage: each CPU thread gets its own element, others the last --- */

struct pcpu_elem {
	int	owner;
	char	pad[8];
};

struct pcpu_ctx {
	struct kcont	 kc[3];
	struct kern	*k;
	void		*base;
	_Atomic int	 done;
};

static void
pcpu_fn(void *arg)
{
	struct pcpu_ctx *p = arg;
	struct pcpu_elem *e = pcpu_self(p->base, p->k, struct pcpu_elem);

	e->owner = kcpu_index(p->k) + 1;
	atomic_fetch_add(&p->done, 1);
}

static void
test_pcpu_storage(void **state)
{
	struct kern *k = mk(3, false, NULL);
	struct pcpu_ctx p = { .k = k };
	struct pcpu_elem *e;
	int i;

	(void)state;
	p.base = pcpu_alloc(k, sizeof(struct pcpu_elem));
	assert_non_null(p.base);
	for (i = 0; i < 3; i++) {
		kcont_init(&p.kc[i], k, pcpu_fn, &p, NULL, 0);
		assert_int_equal(kcont_schedule(&p.kc[i], i, 0), 0);
	}
	assert_true(wait_ge(&p.done, 3));
	for (i = 0; i < 3; i++) {
		e = pcpu_at(p.base, sizeof(struct pcpu_elem), i);
		assert_int_equal(e->owner, i + 1);
		assert_int_equal((uintptr_t)e % CACHE_LINE, 0);
		kcont_halt(&p.kc[i]);
	}
	e = pcpu_self(p.base, k, struct pcpu_elem);	/* this thread: the foreign slot */
	assert_ptr_equal(e, pcpu_at(p.base, sizeof(struct pcpu_elem), 3));
	assert_int_equal(e->owner, 0);
	pcpu_free(p.base);
	kern_destroy(k);
}

static void
test_pcounter(void **state)
{
	struct kern *k = mk(2, false, NULL);
	struct pcounter pc;
	struct pc_ctx p = { .pc = &pc };
	pthread_t t[2];
	int i;

	(void)state;
	assert_int_equal(pcounter_init(&pc, k), 0);
	for (i = 0; i < 4; i++) {
		kcont_init(&p.kc[i], k, pc_fn, &p, NULL, 0);
		assert_int_equal(kcont_schedule(&p.kc[i], i % 2, 0), 0);
	}
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, pc_thread, &p), 0);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	assert_true(wait_ge(&p.done, 4));
	assert_int_equal(pcounter_read(&pc), 4ull * PC_ADDS + 2ull * 2 * PC_ADDS);
	/* Per-CPU slots are on distinct cache lines. */
	assert_true((uintptr_t)&pc.pc_slots[1] - (uintptr_t)&pc.pc_slots[0] >= CACHE_LINE);
	for (i = 0; i < 4; i++)
		kcont_halt(&p.kc[i]);
	pcounter_fini(&pc);
	kern_destroy(k);
}

/* --- giant lock --- */

struct giant_ctx {
	struct kcont	kc;
	struct kern	*k;
	_Atomic int	held, ran;
};

static void
giant_fn(void *arg)
{
	struct giant_ctx *g = arg;

	atomic_store(&g->held, kmutex_owned(&g->k->k_giant_mtx));
	kern_giant_enter(g->k);		/* recursive */
	kern_giant_exit(g->k);
	atomic_store(&g->ran, 1);
}

static void
test_giant(void **state)
{
	struct kern *k = mk(2, true, NULL), *n = mk(1, false, NULL);
	struct giant_ctx g = { .k = k };
	struct klock_stat st;

	(void)state;
	assert_true(kern_giant(k));
	assert_false(kern_giant(n));
	kern_giant_enter(k);
	kern_giant_enter(k);
	assert_true(kmutex_owned(&k->k_giant_mtx));
	kern_giant_exit(k);
	assert_true(kmutex_owned(&k->k_giant_mtx));
	kern_giant_exit(k);
	assert_false(kmutex_owned(&k->k_giant_mtx));
	assert_int_equal(klock_stats_get(k, "giant", &st), 0);
	assert_int_equal(st.acquisitions, 1);
	kern_giant_enter(n);		/* no-op in normal mode */
	kern_giant_exit(n);
	assert_int_equal(klock_stats_get(n, "giant", &st), 0);
	assert_int_equal(st.acquisitions, 0);
	kcont_init(&g.kc, k, giant_fn, &g, NULL, 0);
	assert_int_equal(kcont_schedule(&g.kc, 1, 0), 0);
	assert_true(wait_ge(&g.ran, 1));
	assert_int_equal(atomic_load(&g.held), 1);
	kcont_halt(&g.kc);
	kern_destroy(n);
	kern_destroy(k);
}

/* --- halt from a CPU thread: own run queue, own outbox, another CPU's wheel --- */

struct halt_ctx {
	struct kcont	drv, x, y;
	_Atomic int	done, ran;
	unsigned	hy, hx, hx2;
	bool		px;
};

static void
halt_nop(void *arg)
{
	atomic_fetch_add(&((struct halt_ctx *)arg)->ran, 1);
}

static void
halt_drv(void *arg)
{
	struct halt_ctx *h = arg;

	kcont_schedule(&h->x, 1, 30ull * 1000000000ull);	/* via our outbox */
	kcont_schedule(&h->y, KCPU_CURRENT, 0);		/* our run queue */
	h->hy = kcont_halt(&h->y);
	h->px = kcont_pending(&h->x);
	h->hx = kcont_halt(&h->x);				/* notice to CPU 1 */
	h->hx2 = kcont_halt(&h->x);
	atomic_store(&h->done, 1);
}

static void
test_halt_from_cpu(void **state)
{
	struct kern *k = mk(2, false, NULL);
	struct halt_ctx h;

	(void)state;
	memset(&h, 0, sizeof(h));
	kcont_init(&h.drv, k, halt_drv, &h, NULL, 0);
	kcont_init(&h.x, k, halt_nop, &h, NULL, 0);
	kcont_init(&h.y, k, halt_nop, &h, NULL, KC_PRIO_HIGH);
	assert_int_equal(kcont_schedule(&h.drv, 0, 0), 0);
	assert_true(wait_ge(&h.done, 1));
	assert_int_equal(h.hy, 1);
	assert_true(h.px);
	assert_int_equal(h.hx, 1);
	assert_int_equal(h.hx2, 0);
	assert_int_equal(atomic_load(&h.ran), 0);
	kcont_halt(&h.drv);
	kern_destroy(k);
}

static void
test_rwlock(void **state)
{
	static const struct klock_class cls = { "test_rw" };
	struct kern *k = mk(1, false, NULL);
	struct krwlock rw;
	struct klock_stat st;

	(void)state;
	assert_int_equal(krwlock_init(&rw, k, &cls), 0);
	krwlock_write_enter(&rw);
	assert_true(krwlock_write_owned(&rw));
	krwlock_exit(&rw);
	assert_false(krwlock_write_owned(&rw));
	krwlock_read_enter(&rw);
	krwlock_read_enter(&rw);		/* readers share */
	assert_false(krwlock_write_owned(&rw));
	krwlock_exit(&rw);
	krwlock_exit(&rw);
	assert_int_equal(klock_stats_get(k, "test_rw", &st), 0);
	assert_int_equal(st.acquisitions, 3);
	assert_int_equal(st.contended, 0);
	krwlock_fini(&rw);
	kern_destroy(k);
}

static void
test_lock_order(void **state)
{
	static const struct klock_class ca = { "order_a" }, cb = { "order_b" };
	struct kern *k = mk(1, false, NULL);
	struct kmutex a, b;

	(void)state;
	assert_int_equal(kmutex_init(&a, k, &ca), 0);
	assert_int_equal(kmutex_init(&b, k, &cb), 0);
	kmutex_enter(&a);
	kmutex_enter(&b);
	kmutex_exit(&b);
	kmutex_exit(&a);
	kmutex_enter(&a);		/* same order again: fine */
	kmutex_enter(&b);
	kmutex_exit(&a);		/* released out of order: fine */
	kmutex_exit(&b);
	assert_int_equal(klock_order_violations(k), 0);
	kmutex_enter(&b);		/* b then a: reversal */
	kmutex_enter(&a);
	kmutex_exit(&a);
	kmutex_exit(&b);
#ifndef NDEBUG
	assert_int_equal(klock_order_violations(k), 1);
#endif
	kmutex_fini(&b);
	kmutex_fini(&a);
	kern_destroy(k);
}

static void
test_create_errors(void **state)
{
	struct kern_config cfg = { .ncpu = KERN_MAXCPU + 1 };

	(void)state;
	errno = 0;
	assert_null(kern_create(&cfg));
	assert_int_equal(errno, EINVAL);
	cfg.ncpu = -1;
	assert_null(kern_create(&cfg));
	assert_int_equal(errno, EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exactly_once_on_cpu),
		cmocka_unit_test(test_pending_noop),
		cmocka_unit_test(test_timer_order),
		cmocka_unit_test(test_priorities),
		cmocka_unit_test(test_workq_sleeps),
		cmocka_unit_test(test_self_resched_locked),
		cmocka_unit_test(test_lock_stats),
		cmocka_unit_test(test_pcounter),
		cmocka_unit_test(test_pcpu_storage),
		cmocka_unit_test(test_giant),
		cmocka_unit_test(test_halt_from_cpu),
		cmocka_unit_test(test_rwlock),
		cmocka_unit_test(test_lock_order),
		cmocka_unit_test(test_create_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
