/*
 * stress_ring.c - producers and consumers on one small ring (16 slots, so full and empty
 * are hit all the time), in each mode: SPSC (1+1 threads), MPSC (3+1), MPMC (3+3).
 * Each call is, at random, a single, a bulk or a burst operation of 1..8 items.
 * Checked: every item dequeued exactly once; each consumer sees each producer's items in
 * increasing order (and, with one consumer, in exact order); bulk calls move all or
 * nothing; the ring is empty at the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/ring.h"
#include "stress_common.h"

#define RING_SLOTS	16
#define PER_PROD	(30000 / STRESS_DIV)
#define MAXP		3
#define MAXB		8
#define DEADLINE_NS	(20ull * 1000000000u)

struct rctx {
	struct ring	*r;
	int		 np, nc;
	_Atomic uint8_t	*seen;		/* np * PER_PROD counters */
	_Atomic long	 got;
	_Atomic long	 errors;
	uint64_t	 deadline;
	unsigned	 seed;
};

struct rarg {
	struct rctx	*c;
	int		 id;
	uint32_t	 rng;
};

static void *
tok_make(int prod, uint32_t seq)
{
	return (void *)(uintptr_t)(((uint64_t)(prod + 1) << 32) | seq);
}

static void
rerror(struct rctx *c, const char *what)
{
	if (atomic_fetch_add_explicit(&c->errors, 1, memory_order_relaxed) < 5)
		printf("# error: %s\n", what);
}

/* One enqueue call of k items (single, bulk or burst); returns how many went in. */
static uint32_t
renq(struct rarg *a, void **objs, uint32_t k)
{
	struct ring *r = a->c->r;
	uint32_t n;

	switch (stress_rand(&a->rng) % 3) {
	case 0:
		return ring_enqueue(r, objs[0]) == 0;
	case 1:
		n = ring_enqueue_bulk(r, objs, k);
		if (n != 0 && n != k)
			rerror(a->c, "partial bulk enqueue");
		return n;
	default:
		return ring_enqueue_burst(r, objs, k);
	}
}

static uint32_t
rdeq(struct rarg *a, void **objs, uint32_t k)
{
	struct ring *r = a->c->r;
	uint32_t n;

	switch (stress_rand(&a->rng) % 3) {
	case 0:
		return ring_dequeue(r, &objs[0]) == 0;
	case 1:
		n = ring_dequeue_bulk(r, objs, k);
		if (n != 0 && n != k)
			rerror(a->c, "partial bulk dequeue");
		return n;
	default:
		return ring_dequeue_burst(r, objs, k);
	}
}

static void *
rproducer(struct rarg *a)
{
	struct rctx *c = a->c;
	void *objs[MAXB];
	uint32_t seq = 0;

	while (seq < PER_PROD && stress_now_ns() < c->deadline) {
		uint32_t k = stress_rand(&a->rng) % MAXB + 1;

		if (k > PER_PROD - seq)
			k = PER_PROD - seq;
		for (uint32_t i = 0; i < k; i++)
			objs[i] = tok_make(a->id, seq + i);
		seq += renq(a, objs, k);
	}
	return NULL;
}

static void
rcheck(struct rarg *a, void *obj, int64_t *last)
{
	struct rctx *c = a->c;
	uint64_t v = (uint64_t)(uintptr_t)obj;
	int prod = (int)(v >> 32) - 1;
	uint32_t seq = (uint32_t)v;

	if (prod < 0 || prod >= c->np || seq >= PER_PROD) {
		rerror(c, "garbage token");
		return;
	}
	if (atomic_fetch_add_explicit(&c->seen[(size_t)prod * PER_PROD + seq], 1,
	    memory_order_relaxed) != 0)
		rerror(c, "duplicate");
	if ((int64_t)seq <= last[prod] || (c->nc == 1 && (int64_t)seq != last[prod] + 1))
		rerror(c, "out of order");
	last[prod] = seq;
}

static void *
rconsumer(struct rarg *a)
{
	struct rctx *c = a->c;
	int64_t last[MAXP] = { -1, -1, -1 };
	void *objs[MAXB];
	long total = (long)c->np * PER_PROD;

	while (atomic_load_explicit(&c->got, memory_order_relaxed) < total &&
	    stress_now_ns() < c->deadline) {
		uint32_t n = rdeq(a, objs, stress_rand(&a->rng) % MAXB + 1);

		for (uint32_t i = 0; i < n; i++)
			rcheck(a, objs[i], last);
		atomic_fetch_add_explicit(&c->got, n, memory_order_relaxed);
	}
	return NULL;
}

static void *
rthread(void *p)
{
	struct rarg *a = p;

	return a->id < a->c->np ? rproducer(a) : rconsumer(a);
}

static void
run_mode(int np, int nc, int flags)
{
	struct rctx c = { .np = np, .nc = nc, .seed = stress_seed() };
	struct rarg a[2 * MAXP];
	long total = (long)np * PER_PROD;

	c.r = ring_create(RING_SLOTS, flags);
	assert_non_null(c.r);
	c.seen = calloc((size_t)total, 1);
	assert_non_null(c.seen);
	c.deadline = stress_now_ns() + DEADLINE_NS;
	for (int i = 0; i < np + nc; i++) {
		a[i] = (struct rarg){ .c = &c, .id = i < np ? i : i - np,
		    .rng = c.seed * 2654435761u + (unsigned)i + 1 };
		if (i >= np)
			a[i].id = np + (i - np);
	}
	stress_run(np + nc, rthread, a, sizeof(a[0]));
	printf("# %dp%dc flags %d: %ld of %ld items, %ld errors\n", np, nc, flags,
	    (long)c.got, total, (long)c.errors);
	assert_int_equal(c.errors, 0);
	assert_int_equal(c.got, total);
	for (long i = 0; i < total; i++)
		assert_int_equal(c.seen[i], 1);
	assert_true(ring_empty(c.r));
	free(c.seen);
	ring_destroy(c.r);
}

static void
test_spsc(void **state)
{
	run_mode(1, 1, RING_SP_ENQ | RING_SC_DEQ);
}

static void
test_mpsc(void **state)
{
	run_mode(3, 1, RING_SC_DEQ);
}

static void
test_spmc(void **state)
{
	run_mode(1, 3, RING_SP_ENQ);
}

static void
test_mpmc(void **state)
{
	run_mode(3, 3, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spsc),
		cmocka_unit_test(test_mpsc),
		cmocka_unit_test(test_spmc),
		cmocka_unit_test(test_mpmc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
