/*
 * test_pool.c - object pools: distinct aligned objects, exhaustion (NULL, counted),
 * -EBUSY teardown with objects out, teardown after every object came back (per-CPU
 * slots, the shared slot, depot exchanges and POOL_NOCACHE), large magazines keeping a
 * CPU's swing out of the depot, per-CPU chunks (and maxitems across them), bad arguments.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kern/pool.h"
#include "kshim.h"

#define N	1000

static int
ptr_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;

	return (x > y) - (x < y);
}

/* Get n objects, check they are distinct, aligned and writable. */
static void
get_distinct(struct pool *p, void **objs, int n, size_t size, size_t align)
{
	void **sorted = malloc(sizeof(void *) * (size_t)n);

	for (int i = 0; i < n; i++) {
		objs[i] = pool_get(p);
		assert_non_null(objs[i]);
		assert_int_equal((uintptr_t)objs[i] % align, 0);
		memset(objs[i], i & 0xff, size);
		sorted[i] = objs[i];
	}
	qsort(sorted, (size_t)n, sizeof(void *), ptr_cmp);
	for (int i = 1; i < n; i++)
		assert_true((char *)sorted[i] >= (char *)sorted[i - 1] + size);
	free(sorted);
}

/* 3 rounds of N gets then N puts; slack: objects other slots may keep cached. */
static void
run_cycle(struct pool *p, size_t size, size_t align, unsigned slack)
{
	static void *objs[N];
	struct pool_stats st, st0;

	pool_stats(p, &st0);

	for (int round = 0; round < 3; round++) {
		get_distinct(p, objs, N, size, align);
		pool_stats(p, &st);
		assert_int_equal(st.inuse, N);
		assert_int_equal(st.fails, 0);
		assert_int_equal(pool_destroy(p), -EBUSY);
		for (int i = 0; i < N; i++)
			pool_put(p, objs[i]);
	}
	pool_stats(p, &st);
	assert_int_equal(st.gets - st0.gets, 3 * N);
	assert_int_equal(st.puts - st0.puts, 3 * N);
	assert_int_equal(st.inuse, 0);
	/* objects are reused, not re-carved */
	assert_true(st.nalloc >= N && st.nalloc <= N + slack);
}

static void
test_shared_slot(void **state)
{
	struct pool *p = pool_create("t", 40, 8, 0, 0, NULL);

	(void)state;
	assert_non_null(p);
	run_cycle(p, 40, 8, 0);
	assert_int_equal(pool_destroy(p), 0);
}

static void
test_percpu_slots(void **state)
{
	struct kshim ks = { 0 };
	struct pool *p = pool_create("t", 100, 64, 0, 2, kshim_kern(&ks));
	struct pool_stats st;

	(void)state;
	assert_non_null(p);
	for (int cpu = -1; cpu < 2; cpu++) {
		kshim_become_cpu(&ks, cpu);
		run_cycle(p, 100, 64, 3 * 60);
	}
	kshim_become_cpu(&ks, -1);
	pool_stats(p, &st);
	assert_true(st.depot_gets > 0 && st.depot_puts > 0);
	assert_int_equal(pool_destroy(p), 0);
}

static void
test_nocache(void **state)
{
	struct pool *p = pool_create_flags("t", 24, 0, 0, 0, NULL, POOL_NOCACHE);
	struct pool_stats st;

	(void)state;
	assert_non_null(p);
	run_cycle(p, 24, 16, 0);
	pool_stats(p, &st);
	assert_int_equal(st.depot_gets, 0);
	assert_int_equal(pool_destroy(p), 0);
}

/*
 * Depot magazine traffic of a pool whose CPU 0 swings 200 times between 200 objects out
 * and none (after one warm-up swing).
 */
static uint64_t
swing_depot_traffic(unsigned flags)
{
	struct kshim ks = { 0 };
	struct pool *p = pool_create_flags("t", 64, 64, 0, 2, kshim_kern(&ks), flags);
	struct pool_stats st0, st;
	static void *objs[200];

	assert_non_null(p);
	kshim_become_cpu(&ks, 0);
	for (int round = 0; round < 201; round++) {
		if (round == 1)
			pool_stats(p, &st0);
		for (int i = 0; i < 200; i++)
			assert_non_null(objs[i] = pool_get(p));
		for (int i = 0; i < 200; i++)
			pool_put(p, objs[i]);
	}
	pool_stats(p, &st);
	kshim_become_cpu(&ks, -1);
	assert_int_equal(pool_destroy(p), 0);
	return (st.depot_gets - st0.depot_gets) + (st.depot_puts - st0.depot_puts);
}

/* Large magazines absorb a swing of 200 on one CPU; 29-object ones exchange with the depot. */
static void
test_large_magazines(void **state)
{
	(void)state;
	assert_int_equal(swing_depot_traffic(POOL_LARGEMAG), 0);
	assert_true(swing_depot_traffic(0) >= 200 * 2);
}

/* Objects first carved for different CPUs come from different chunks (pages). */
static void
test_slot_chunks(void **state)
{
	struct kshim ks = { 0 };
	struct pool *p = pool_create("t", 256, 64, 0, 2, kshim_kern(&ks));
	static void *objs[2][64];
	uintptr_t lo[2] = { UINTPTR_MAX, UINTPTR_MAX }, hi[2] = { 0, 0 };

	(void)state;
	assert_non_null(p);
	for (int i = 0; i < 64; i++)		/* the two CPUs take turns */
		for (int cpu = 0; cpu < 2; cpu++) {
			kshim_become_cpu(&ks, cpu);
			assert_non_null(objs[cpu][i] = pool_get(p));
			if ((uintptr_t)objs[cpu][i] < lo[cpu])
				lo[cpu] = (uintptr_t)objs[cpu][i];
			if ((uintptr_t)objs[cpu][i] > hi[cpu])
				hi[cpu] = (uintptr_t)objs[cpu][i];
		}
	/* each CPU's objects lie in one 64-object run of its own chunk: no overlap */
	assert_true(hi[0] - lo[0] == 63 * 256 && hi[1] - lo[1] == 63 * 256);
	assert_true(hi[0] < lo[1] || hi[1] < lo[0]);
	for (int cpu = 0; cpu < 2; cpu++) {
		kshim_become_cpu(&ks, cpu);
		for (int i = 0; i < 64; i++)
			pool_put(p, objs[cpu][i]);
	}
	kshim_become_cpu(&ks, -1);
	assert_int_equal(pool_destroy(p), 0);
}

/* maxitems counts every slot's chunk: once one CPU's chunk holds them all, the other
 * CPU carves from it rather than failing or going over the limit. */
static void
test_slot_chunks_limit(void **state)
{
	struct kshim ks = { 0 };
	struct pool *p = pool_create_flags("t", 64, 64, 300, 2, kshim_kern(&ks), POOL_NOCACHE);
	static void *objs[301];
	struct pool_stats st;
	int n = 0;

	(void)state;
	assert_non_null(p);
	kshim_become_cpu(&ks, 0);
	assert_non_null(objs[n++] = pool_get(p));	/* CPU 0 reserves all 300 */
	kshim_become_cpu(&ks, 1);
	while (n < 301 && (objs[n] = pool_get(p)) != NULL)
		n++;
	assert_int_equal(n, 300);
	pool_stats(p, &st);
	assert_int_equal(st.nalloc, 300);
	assert_int_equal(st.fails, 1);
	for (int i = 0; i < n; i++)
		pool_put(p, objs[i]);
	kshim_become_cpu(&ks, -1);
	assert_int_equal(pool_destroy(p), 0);
}

static void
test_exhaustion(void **state)
{
	struct kshim ks = { 0 };
	struct pool *p = pool_create("t", 64, 0, 100, 1, kshim_kern(&ks));
	void *objs[100];
	struct pool_stats st;

	(void)state;
	kshim_become_cpu(&ks, 0);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 100; i++)
			assert_non_null(objs[i] = pool_get(p));
		for (int i = 0; i < 5; i++)
			assert_null(pool_get(p));
		pool_stats(p, &st);
		assert_int_equal(st.fails, 5 * (round + 1));
		assert_int_equal(st.nalloc, 100);
		assert_int_equal(pool_destroy(p), -EBUSY);
		for (int i = 0; i < 100; i++)
			pool_put(p, objs[i]);
	}
	/* one object out still blocks teardown, wherever it went */
	objs[0] = pool_get(p);
	kshim_become_cpu(&ks, -1);
	assert_int_equal(pool_destroy(p), -EBUSY);
	pool_put(p, objs[0]);
	assert_int_equal(pool_destroy(p), 0);
}

static void
test_large_objects(void **state)
{
	struct pool *p = pool_create("big", 70000, 64, 3, 0, NULL);
	void *a, *b, *c;

	(void)state;
	assert_non_null(a = pool_get(p));
	assert_non_null(b = pool_get(p));
	assert_non_null(c = pool_get(p));
	assert_null(pool_get(p));
	memset(a, 1, 70000);
	memset(c, 3, 70000);
	pool_put(p, a);
	pool_put(p, b);
	assert_int_equal(pool_destroy(p), -EBUSY);
	pool_put(p, c);
	assert_int_equal(pool_destroy(p), 0);
}

static void
test_bad_args(void **state)
{
	struct kshim ks = { 0 };

	(void)state;
	errno = 0;
	assert_null(pool_create("t", 0, 0, 0, 0, NULL));
	assert_int_equal(errno, EINVAL);
	assert_null(pool_create("t", 8, 3, 0, 0, NULL));
	assert_null(pool_create("t", 8, 0, 0, 0, kshim_kern(&ks)));
	assert_null(pool_create("t", 8, 0, 0, KERN_MAXCPU + 1, kshim_kern(&ks)));
	assert_null(pool_create_flags("t", 8, 0, 0, 0, NULL, 0x80));
	assert_int_equal(pool_destroy(NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shared_slot),
		cmocka_unit_test(test_percpu_slots),
		cmocka_unit_test(test_nocache),
		cmocka_unit_test(test_large_magazines),
		cmocka_unit_test(test_slot_chunks),
		cmocka_unit_test(test_slot_chunks_limit),
		cmocka_unit_test(test_exhaustion),
		cmocka_unit_test(test_large_objects),
		cmocka_unit_test(test_bad_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
