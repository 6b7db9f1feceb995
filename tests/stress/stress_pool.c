/*
 * stress_pool.c - four threads hammer one pool's depot: three play CPUs of a fake kern
 * (their own per-CPU slots) and one is a foreign thread (the locked shared slot).
 *
 * Each round a thread gets a burst of 1..BURST_MAX objects (a NULL is counted), stamps
 * each with a cookie x as {x, ~x, fill byte}, and then either puts it back itself or
 * trades it through a shared exchange table: it swaps the object into a random cell
 * and takes the object that was there (stamped by whichever thread left it), so
 * objects and the magazines they fill cross CPUs and travel through the depot.  Every
 * object is checked before each put: a stamp that is not intact means two threads held
 * the same object at once.  Built twice: with the library's pool (30-object magazines)
 * and, as pool_tinymag, with src/kern/pool.c compiled in with POOL_MAGSIZE=2, so that
 * nearly every other get or put exchanges a magazine with the depot's lockless lists.
 * maxitems bounds the objects (a get may fail when the rest sit in other slots; every
 * NULL must be counted).
 * At the end: no bad stamp, the NULLs seen equal stats.fails, gets == puts, and
 * pool_destroy() finds every object (it asserts no object was put twice).  The rounds
 * per thread are bounded, and so is the wall time.  Seed printed (STRESS_SEED replays).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "kern/pool.h"
#include "kshim.h"
#include "stress_common.h"

#define NTHR		4
#define NCPU		3		/* threads 0..2 are CPUs, thread 3 is foreign */
#define BURST_MAX	8
#define NCELLS		64
#define MAXITEMS	400
#define ROUNDS		(1000000 / STRESS_DIV)
#define DEADLINE_NS	(20ull * 1000000000u)

struct pobj {
	uint64_t	po_x;
	uint64_t	po_notx;
	unsigned char	po_fill[48];
};

struct pstate {
	struct kshim		 ks;
	struct pool		*pool;
	_Atomic(struct pobj *)	 cells[NCELLS];
	_Atomic long		 nulls;
	_Atomic long		 bad;
	_Atomic long		 traded;
	unsigned		 seed;
	uint64_t		 deadline;
};

struct pworker {
	struct pstate	*st;
	int		 idx;
};

static void
pobj_stamp(struct pobj *o, uint64_t x)
{
	o->po_x = x;
	o->po_notx = ~x;
	memset(o->po_fill, (int)(x & 0xff), sizeof(o->po_fill));
}

static bool
pobj_intact(const struct pobj *o)
{
	if (o->po_notx != ~o->po_x)
		return false;
	for (size_t i = 0; i < sizeof(o->po_fill); i++)
		if (o->po_fill[i] != (unsigned char)(o->po_x & 0xff))
			return false;
	return true;
}

/* Check o and give it back to the pool. */
static void
pobj_put(struct pstate *st, struct pobj *o)
{
	if (!pobj_intact(o))
		atomic_fetch_add_explicit(&st->bad, 1, memory_order_relaxed);
	pool_put(st->pool, o);
}

/* Swap o into a random cell; the acq_rel exchange hands the stamped object over. */
static void
pobj_trade(struct pstate *st, struct pobj *o, uint32_t *rng)
{
	_Atomic(struct pobj *) *cell = &st->cells[stress_rand(rng) % NCELLS];
	/* Release publishes o's stamp; acquire pairs with the exchange that left old. */
	struct pobj *old = atomic_exchange_explicit(cell, o, memory_order_acq_rel);

	if (old != NULL) {
		atomic_fetch_add_explicit(&st->traded, 1, memory_order_relaxed);
		pobj_put(st, old);
	}
}

static void
pworker_round(struct pstate *st, int idx, uint32_t *rng, uint64_t round)
{
	struct pobj *burst[BURST_MAX];
	int n = 1 + (int)(stress_rand(rng) % BURST_MAX), got = 0;

	for (int i = 0; i < n; i++) {
		struct pobj *o = pool_get(st->pool);

		if (o == NULL) {
			atomic_fetch_add_explicit(&st->nulls, 1, memory_order_relaxed);
			continue;
		}
		pobj_stamp(o, round << 8 | (uint64_t)idx << 4 | (uint64_t)i);
		burst[got++] = o;
	}
	for (int i = 0; i < got; i++) {
		if (stress_rand(rng) % 4 == 0)
			pobj_trade(st, burst[i], rng);
		else
			pobj_put(st, burst[i]);
	}
}

static void *
pworker_main(void *arg)
{
	struct pworker *w = arg;
	struct pstate *st = w->st;
	uint32_t rng = st->seed * 2654435761u + (uint32_t)w->idx + 1;

	kshim_become_cpu(&st->ks, w->idx < NCPU ? w->idx : -1);
	for (uint64_t r = 0; r < ROUNDS; r++) {
		if (r % 1024 == 0 && stress_now_ns() > st->deadline)
			break;
		pworker_round(st, w->idx, &rng, r);
	}
	return NULL;
}

static void
test_depot_hammer(void **state)
{
	static struct pstate st;
	struct pworker w[NTHR];
	struct pool_stats ps;

	(void)state;
	memset(&st, 0, sizeof(st));
	st.seed = stress_seed();
	st.deadline = stress_now_ns() + DEADLINE_NS;
	st.pool = pool_create("stress", sizeof(struct pobj), 0, MAXITEMS, NCPU,
	    kshim_kern(&st.ks));
	assert_non_null(st.pool);
	for (int i = 0; i < NTHR; i++)
		w[i] = (struct pworker){ .st = &st, .idx = i };
	stress_run(NTHR, pworker_main, w, sizeof(w[0]));
	kshim_become_cpu(&st.ks, -1);
	for (int i = 0; i < NCELLS; i++) {
		struct pobj *o = atomic_exchange_explicit(&st.cells[i], NULL,
		    memory_order_acquire);

		if (o != NULL)
			pobj_put(&st, o);
	}
	pool_stats(st.pool, &ps);
	printf("# gets %llu puts %llu fails %llu depot gets %llu puts %llu traded %ld "
	    "carved %llu\n", (unsigned long long)ps.gets, (unsigned long long)ps.puts,
	    (unsigned long long)ps.fails, (unsigned long long)ps.depot_gets,
	    (unsigned long long)ps.depot_puts, (long)st.traded,
	    (unsigned long long)ps.nalloc);
	assert_int_equal(st.bad, 0);
	assert_int_equal(ps.fails, (uint64_t)st.nulls);
	assert_int_equal(ps.gets, ps.puts);
	assert_true(ps.gets > 0);
#ifdef POOL_MAGSIZE
	assert_true(ps.depot_gets > 100000 / STRESS_DIV);	/* the depot was hammered */
#endif
	assert_true(ps.nalloc <= MAXITEMS);
	assert_int_equal(pool_destroy(st.pool), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_depot_hammer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
