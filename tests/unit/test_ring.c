/*
 * test_ring.c - unit tests of the bounded rings: init errors, full and empty edges in
 * every mode, bulk (all or nothing) versus burst (partial), index wrap-around (including
 * the 32-bit index wrap), and order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "lib/ring.h"

#define N	8
static const int modes[] = { 0, RING_SP_ENQ, RING_SC_DEQ, RING_SP_ENQ | RING_SC_DEQ };

static void *
tok(uintptr_t v)
{
	return (void *)(v + 1);
}

static void
test_init_errors(void **state)
{
	struct ring *r;

	assert_int_equal(ring_memsize(0), 0);
	assert_int_equal(ring_memsize(3), 0);
	assert_int_equal(ring_memsize(1), 0);
	errno = 0;
	assert_null(ring_create(6, 0));
	assert_int_equal(errno, EINVAL);
	assert_null(ring_create(8, 0x10));
	assert_int_equal(errno, EINVAL);
	r = ring_create(2, 0);
	assert_non_null(r);
	assert_int_equal(ring_capacity(r), 2);
	ring_destroy(r);
}

/* Fill to exactly the capacity, fail one more, drain, fail one more; in every mode. */
static void
test_full_empty(void **state)
{
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		struct ring *r = ring_create(N, modes[m]);
		void *p;

		assert_non_null(r);
		assert_int_equal(ring_dequeue(r, &p), -ENOENT);
		for (uintptr_t i = 0; i < N; i++)
			assert_int_equal(ring_enqueue(r, tok(i)), 0);
		assert_int_equal(ring_count(r), N);
		assert_int_equal(ring_enqueue(r, tok(99)), -ENOBUFS);
		for (uintptr_t i = 0; i < N; i++) {
			assert_int_equal(ring_dequeue(r, &p), 0);
			assert_ptr_equal(p, tok(i));
		}
		assert_int_equal(ring_dequeue(r, &p), -ENOENT);
		assert_true(ring_empty(r));
		ring_destroy(r);
	}
}

static void
test_bulk_burst(void **state)
{
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		struct ring *r = ring_create(N, modes[m]);
		void *in[N + 4], *out[N + 4];

		for (uintptr_t i = 0; i < N + 4; i++)
			in[i] = tok(i);
		assert_int_equal(ring_enqueue_bulk(r, in, 5), 5);
		assert_int_equal(ring_enqueue_bulk(r, in + 5, 4), 0);	/* 3 free */
		assert_int_equal(ring_count(r), 5);
		assert_int_equal(ring_enqueue_burst(r, in + 5, 4), 3);
		assert_int_equal(ring_enqueue_burst(r, in, 1), 0);
		assert_int_equal(ring_dequeue_bulk(r, out, 9), 0);
		assert_int_equal(ring_dequeue_bulk(r, out, 6), 6);
		assert_int_equal(ring_dequeue_burst(r, out + 6, 9), 2);
		assert_int_equal(ring_dequeue_burst(r, out, 9), 0);
		for (int i = 0; i < N; i++)
			assert_ptr_equal(out[i], in[i]);
		ring_destroy(r);
	}
}

/* Many rounds of uneven bursts wrap the slot index many times; order is kept. */
static void
test_wrap(void **state)
{
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		struct ring *r = ring_create(N, modes[m]);
		uintptr_t next_in = 0, next_out = 0;
		void *buf[N];

		for (int round = 0; round < 1000; round++) {
			uint32_t k = (uint32_t)(round % 7) + 1, got;

			for (uint32_t i = 0; i < k; i++)
				buf[i] = tok(next_in + i);
			next_in += ring_enqueue_burst(r, buf, k);
			got = ring_dequeue_burst(r, buf, (uint32_t)(round % 5) + 1);
			for (uint32_t i = 0; i < got; i++)
				assert_ptr_equal(buf[i], tok(next_out++));
		}
		assert_int_equal(next_in - next_out, ring_count(r));
		ring_destroy(r);
	}
}

/* Start the indices just below 2^32 so that they wrap during the test. */
static void
test_index_wrap(void **state)
{
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		struct ring *r = ring_create(N, modes[m]);
		const uint32_t start = UINT32_MAX - 3;
		void *p;

		atomic_store(&r->r_ph.rh_word, ring_word(start, start));
		atomic_store(&r->r_pt.rt_tail, start);
		atomic_store(&r->r_ch.rh_word, ring_word(start, start));
		atomic_store(&r->r_ct.rt_tail, start);
		for (uintptr_t i = 0; i < N; i++)
			assert_int_equal(ring_enqueue(r, tok(i)), 0);
		assert_int_equal(ring_enqueue(r, tok(0)), -ENOBUFS);
		assert_int_equal(ring_count(r), N);
		for (uintptr_t i = 0; i < N; i++) {
			assert_int_equal(ring_dequeue(r, &p), 0);
			assert_ptr_equal(p, tok(i));
		}
		assert_int_equal(ring_dequeue(r, &p), -ENOENT);
		ring_destroy(r);
	}
}

static void
test_init_in_place(void **state)
{
	size_t sz = ring_memsize(16);
	struct ring *r = aligned_alloc(RING_ALIGN, (sz + RING_ALIGN - 1) & ~(size_t)(RING_ALIGN - 1));
	void *p;

	assert_non_null(r);
	assert_int_equal(ring_init(r, 16, RING_SC_DEQ), 0);
	assert_int_equal(ring_init(r, 12, 0), -EINVAL);
	assert_int_equal(ring_init(r, 16, RING_SC_DEQ), 0);
	assert_int_equal(ring_enqueue_mp(r, tok(7)), 0);
	assert_int_equal(ring_dequeue_sc(r, &p), 0);
	assert_ptr_equal(p, tok(7));
	free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_errors),
		cmocka_unit_test(test_full_empty),
		cmocka_unit_test(test_bulk_burst),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_index_wrap),
		cmocka_unit_test(test_init_in_place),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
