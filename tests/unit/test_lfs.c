/*
 * test_lfs.c - unit tests of the intrusive LIFO stack: empty edges, LIFO order, a link
 * at a non-zero offset, take-all and pushing a chain back in its order, reuse of an item
 * at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/lfs.h"

struct item {
	int		 it_val;
	char		 it_pad[20];
	struct lfs_link	 it_link;
};

#define NITEMS 16

static void
stack_init(struct lfs *s, struct item *it, int n)
{
	lfs_init(s, offsetof(struct item, it_link));
	for (int i = 0; i < n; i++) {
		it[i].it_val = i;
		lfs_push(s, &it[i]);
	}
}

static void
test_empty(void **state)
{
	struct lfs s;

	lfs_init(&s, offsetof(struct item, it_link));
	assert_true(lfs_empty(&s));
	assert_null(lfs_pop(&s));
	assert_null(lfs_pop_all(&s));
	assert_true(lfs_empty(&s));
}

static void
test_lifo(void **state)
{
	struct item it[NITEMS];
	struct lfs s;

	stack_init(&s, it, NITEMS);
	assert_false(lfs_empty(&s));
	for (int i = NITEMS - 1; i >= 0; i--) {
		struct item *p = lfs_pop(&s);

		assert_non_null(p);
		assert_int_equal(p->it_val, i);
	}
	assert_null(lfs_pop(&s));
	assert_true(lfs_empty(&s));
}

static void
test_pop_all_chain(void **state)
{
	struct item it[NITEMS], *first, *last = NULL, *p;
	struct lfs s;
	int n = 0;

	stack_init(&s, it, NITEMS);
	first = lfs_pop_all(&s);
	assert_true(lfs_empty(&s));
	for (p = first; p != NULL; p = lfs_chain_next(&s, p)) {
		assert_int_equal(p->it_val, NITEMS - 1 - n);
		last = p;
		n++;
	}
	assert_int_equal(n, NITEMS);
	assert_ptr_equal(last, &it[0]);
	lfs_push_chain(&s, first, last);	/* back whole: the same order */
	for (int i = NITEMS - 1; i >= 0; i--)
		assert_ptr_equal(lfs_pop(&s), &it[i]);
	assert_null(lfs_pop(&s));
}

static void
test_chain_on_nonempty(void **state)
{
	struct item it[4];
	struct lfs s;

	stack_init(&s, it, 2);			/* 1 on top of 0 */
	it[2].it_val = 2;
	it[3].it_val = 3;
	/* A private chain 3 -> 2, built by popping nothing: link it through a stack. */
	{
		struct lfs tmp;

		lfs_init(&tmp, offsetof(struct item, it_link));
		lfs_push(&tmp, &it[2]);
		lfs_push(&tmp, &it[3]);
		assert_ptr_equal(lfs_pop_all(&tmp), &it[3]);
	}
	lfs_push_chain(&s, &it[3], &it[2]);
	for (int i = 3; i >= 0; i--)
		assert_int_equal(((struct item *)lfs_pop(&s))->it_val, i);
	assert_true(lfs_empty(&s));
}

static void
test_reuse_at_once(void **state)
{
	struct item it[2];
	struct lfs s;

	stack_init(&s, it, 2);
	for (int r = 0; r < 100; r++) {
		struct item *p = lfs_pop(&s);

		assert_ptr_equal(p, &it[1]);
		lfs_push(&s, p);
	}
	assert_ptr_equal(lfs_pop(&s), &it[1]);
	assert_ptr_equal(lfs_pop(&s), &it[0]);
	assert_null(lfs_pop(&s));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_lifo),
		cmocka_unit_test(test_pop_all_chain),
		cmocka_unit_test(test_chain_on_nonempty),
		cmocka_unit_test(test_reuse_at_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
