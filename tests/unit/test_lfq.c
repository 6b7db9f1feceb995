/*
 * test_lfq.c - unit tests of the intrusive queue: LIFO and FIFO order, mixed pushes,
 * empty edges, peek, take-all, a link at a non-zero offset, and chain pushes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/lfq.h"

struct item {
	int		 it_val;
	char		 it_pad[20];
	struct lfq_link	 it_link;
};

#define NITEMS 16

static void
items_init(struct item *it, int n)
{
	for (int i = 0; i < n; i++)
		it[i].it_val = i;
}

static void
test_empty(void **state)
{
	struct lfq q;
	struct lfq_batch b;

	lfq_init(&q, offsetof(struct item, it_link));
	assert_true(lfq_empty(&q));
	assert_null(lfq_pop(&q));
	assert_null(lfq_peek(&q));
	assert_false(lfq_pop_all(&q, &b));
}

static void
test_lifo(void **state)
{
	struct item it[NITEMS];
	struct lfq q;

	items_init(it, NITEMS);
	lfq_init(&q, offsetof(struct item, it_link));
	for (int i = 0; i < NITEMS; i++)
		lfq_push_head(&q, &it[i]);
	assert_ptr_equal(lfq_peek(&q), &it[NITEMS - 1]);
	for (int i = NITEMS - 1; i >= 0; i--) {
		struct item *p = lfq_pop(&q);

		assert_non_null(p);
		assert_int_equal(p->it_val, i);
	}
	assert_null(lfq_pop(&q));
	assert_true(lfq_empty(&q));
}

static void
test_fifo(void **state)
{
	struct item it[NITEMS];
	struct lfq q;

	items_init(it, NITEMS);
	lfq_init(&q, offsetof(struct item, it_link));
	for (int i = 0; i < NITEMS; i++)
		lfq_push_tail(&q, &it[i]);
	for (int i = 0; i < NITEMS; i++) {
		struct item *p = lfq_pop(&q);

		assert_non_null(p);
		assert_int_equal(p->it_val, i);
	}
	assert_null(lfq_pop(&q));
}

/* head pushes go in front, tail pushes behind, whatever the order of the calls. */
static void
test_mixed(void **state)
{
	static const int want[] = { 5, 3, 1, 0, 2, 4, 6 };
	struct item it[7];
	struct lfq q;

	items_init(it, 7);
	lfq_init(&q, offsetof(struct item, it_link));
	lfq_push_tail(&q, &it[0]);
	for (int i = 1; i < 7; i++) {
		if (i % 2)
			lfq_push_head(&q, &it[i]);
		else
			lfq_push_tail(&q, &it[i]);
	}
	for (int i = 0; i < 7; i++) {
		struct item *p = lfq_pop(&q);

		assert_non_null(p);
		assert_int_equal(p->it_val, want[i]);
	}
	assert_null(lfq_pop(&q));
}

/* Popping the last item empties the queue; pushing again works from both ends. */
static void
test_refill(void **state)
{
	struct item it[2];
	struct lfq q;

	items_init(it, 2);
	lfq_init(&q, offsetof(struct item, it_link));
	for (int round = 0; round < 3; round++) {
		lfq_push_tail(&q, &it[0]);
		assert_ptr_equal(lfq_pop(&q), &it[0]);
		assert_true(lfq_empty(&q));
		lfq_push_head(&q, &it[1]);
		lfq_push_tail(&q, &it[0]);
		assert_ptr_equal(lfq_pop(&q), &it[1]);
		assert_ptr_equal(lfq_pop(&q), &it[0]);
		assert_null(lfq_pop(&q));
	}
}

static void
test_pop_all(void **state)
{
	struct item it[NITEMS];
	struct lfq_batch b;
	struct lfq q;
	struct item *p;
	int n = 0;

	items_init(it, NITEMS);
	lfq_init(&q, offsetof(struct item, it_link));
	for (int i = 0; i < NITEMS; i++)
		lfq_push_tail(&q, &it[i]);
	assert_true(lfq_pop_all(&q, &b));
	assert_true(lfq_empty(&q));
	/* Items handed out may be pushed again at once. */
	while ((p = lfq_batch_next(&b)) != NULL) {
		assert_int_equal(p->it_val, n++);
		lfq_push_head(&q, p);
	}
	assert_int_equal(n, NITEMS);
	for (int i = NITEMS - 1; i >= 0; i--)
		assert_ptr_equal(lfq_pop(&q), &it[i]);
}

/* Chains pushed at the tail keep chain order, behind and before single pushes. */
static void
test_push_tail_chain(void **state)
{
	struct item it[NITEMS];
	struct lfq_batch b;
	struct lfq q;
	void *first = NULL, *last = NULL;
	struct item *p;
	int n = 0;

	items_init(it, NITEMS);
	lfq_init(&q, offsetof(struct item, it_link));
	lfq_push_tail_chain(&q, &it[0], &it[0]);	/* a chain of one, empty queue */
	for (int i = 1; i < 6; i++)
		lfq_chain_append(&q, &first, &last, &it[i]);
	assert_ptr_equal(first, &it[1]);
	assert_ptr_equal(last, &it[5]);
	lfq_push_tail_chain(&q, first, last);		/* behind a queued item */
	lfq_push_tail(&q, &it[6]);
	first = last = NULL;
	for (int i = 7; i < NITEMS; i++)
		lfq_chain_append(&q, &first, &last, &it[i]);
	lfq_push_tail_chain(&q, first, last);
	assert_ptr_equal(lfq_pop(&q), &it[0]);
	assert_ptr_equal(lfq_pop(&q), &it[1]);
	assert_true(lfq_pop_all(&q, &b));
	while ((p = lfq_batch_next(&b)) != NULL)
		assert_int_equal(p->it_val, 2 + n++);
	assert_int_equal(n, NITEMS - 2);
	assert_true(lfq_empty(&q));
	assert_true(lfq_empty_sc(&q));
	/* A whole chain into an empty queue, then popped one by one. */
	first = last = NULL;
	for (int i = 0; i < NITEMS; i++)
		lfq_chain_append(&q, &first, &last, &it[i]);
	lfq_push_tail_chain(&q, first, last);
	assert_false(lfq_empty_sc(&q));
	for (int i = 0; i < NITEMS; i++)
		assert_ptr_equal(lfq_pop(&q), &it[i]);
	assert_null(lfq_pop(&q));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_lifo),
		cmocka_unit_test(test_fifo),
		cmocka_unit_test(test_mixed),
		cmocka_unit_test(test_refill),
		cmocka_unit_test(test_pop_all),
		cmocka_unit_test(test_push_tail_chain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
