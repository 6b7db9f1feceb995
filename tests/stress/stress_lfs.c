/*
 * stress_lfs.c - many threads on one intrusive LIFO stack; invariants checked as items
 * move and at the end.
 *  - mpmc_once: 3 producers push numbered items (each once), 3 consumers pop them: every
 *    item is popped exactly once, none is lost, the stack ends empty.
 *  - aba_torture (tests/stress/stress_aba.h): 8 threads (more than the CPUs, so that some
 *    are preempted between their snapshot and their CAS2) pop one to three of 6 shared
 *    items, claim them (an owner word taken by CAS must be free), stamp and check a
 *    payload, and push them back, sometimes taking everything with pop_all and pushing
 *    the chain back whole; the same addresses come back to the top at a high rate.  At the end every
 *    item is on the stack exactly once.  With the generation left out of lfs_anchor_cas's
 *    comparison this test fails (checked by hand), helped by LFS_WINDOW_HOOK, which yields
 *    inside pop's window now and then; tests/model/lfs.pml shows the same exhaustively.
 * Seeded (printed; STRESS_SEED=N replays); bounded by a deadline.  Items live in arrays
 * that outlive the threads (the type-stable rule of lfs.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sched.h>
#include <cmocka.h>

#include "stress_common.h"

/* Yield inside pop's snapshot-to-CAS2 window once in 64 pops (per thread, no shared
 * state): the preempted popper then sees its top popped and pushed back (ABA). */
static _Thread_local uint32_t lfs_hook_rng = 1;
#define LFS_WINDOW_HOOK()	do {						\
	if ((stress_rand(&lfs_hook_rng) & 63) == 0)				\
		sched_yield();							\
} while (0)
#include "lib/lfs.h"

#define NPROD		3
#define NCONS		3
#define PER_PROD	(200000 / STRESS_DIV)
#define DEADLINE_NS	(20ull * 1000000000u)

struct sitem {
	uint32_t	 si_seq;
	_Atomic int	 si_seen;	/* pops of this item (mpmc_once) */
	_Atomic int	 si_owner;	/* aba_torture: 0 = stacked, else owning thread + 1 */
	uint64_t	 si_payload;
	struct lfs_link	 si_link;
};

/* ---- exactly once ---- */

struct once_ctx {
	struct lfs	 s;
	struct sitem	*items;		/* NPROD * PER_PROD */
	_Atomic long	 popped;
	_Atomic long	 dup;
	uint64_t	 deadline;
};

struct once_arg {
	struct once_ctx	*ctx;
	int		 id;
};

static void *
once_thread(void *p)
{
	struct once_arg *a = p;
	struct once_ctx *c = a->ctx;
	struct sitem *it;

	if (a->id < NPROD) {
		for (int i = 0; i < PER_PROD; i++)
			lfs_push(&c->s, &c->items[a->id * PER_PROD + i]);
		return NULL;
	}
	while (atomic_load_explicit(&c->popped, memory_order_relaxed) < NPROD * PER_PROD &&
	    stress_now_ns() < c->deadline) {
		if ((it = lfs_pop(&c->s)) == NULL)
			continue;
		if (atomic_fetch_add_explicit(&it->si_seen, 1, memory_order_relaxed) != 0)
			atomic_fetch_add_explicit(&c->dup, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&c->popped, 1, memory_order_relaxed);
	}
	return NULL;
}

static void
test_mpmc_once(void **state)
{
	struct once_ctx *c = aligned_alloc(CACHE_LINE, sizeof(*c));
	struct once_arg a[NPROD + NCONS];

	assert_non_null(c);
	memset(c, 0, sizeof(*c));
	lfs_init(&c->s, offsetof(struct sitem, si_link));
	c->items = calloc(NPROD * PER_PROD, sizeof(*c->items));
	assert_non_null(c->items);
	c->deadline = stress_now_ns() + DEADLINE_NS;
	for (int i = 0; i < NPROD + NCONS; i++)
		a[i] = (struct once_arg){ .ctx = c, .id = i };
	stress_run(NPROD + NCONS, once_thread, a, sizeof(a[0]));
	printf("# popped %ld of %d, %ld twice\n", (long)c->popped, NPROD * PER_PROD,
	    (long)c->dup);
	assert_int_equal(c->popped, NPROD * PER_PROD);
	assert_int_equal(c->dup, 0);
	for (int i = 0; i < NPROD * PER_PROD; i++)
		assert_int_equal(c->items[i].si_seen, 1);
	assert_true(lfs_empty(&c->s));
	free(c->items);
	free(c);
}

/* ---- ABA torture (stress_aba.h) ---- */

#define ABA_ITEMS		6
#define ABA_ROUNDS		(1000000 / STRESS_DIV)
#define ABA_HOLD		3
#define ABA_TAKE_ALL_ONE_IN	128

struct aba_q {
	struct lfs	 s;
};

#include "stress_aba.h"

static struct sitem *
aba_pop(struct aba_arg *a)
{
	return lfs_pop(&a->ctx->q.s);
}

static void
aba_push(struct aba_arg *a, struct sitem *it)
{
	lfs_push(&a->ctx->q.s, it);
}

/* Take everything, claim it, push the chain back whole. */
static void
aba_take_all(struct aba_arg *a)
{
	struct lfs *s = &a->ctx->q.s;
	struct sitem *first = lfs_pop_all(s), *last = NULL, *it;
	int n = 0;

	if (first == NULL)
		return;
	for (it = first; it != NULL && n <= ABA_ITEMS; it = lfs_chain_next(s, it), n++) {
		aba_claim(a, it);
		last = it;
	}
	if (it != NULL)		/* more items than exist: the chain is corrupt */
		aba_error(a->ctx);
	for (it = first; n-- > 0; it = lfs_chain_next(s, it))
		aba_unclaim(a, it);
	lfs_push_chain(s, first, last);
}

static void
test_aba_torture(void **state)
{
	struct aba_ctx *c = aligned_alloc(CACHE_LINE, sizeof(*c));

	assert_non_null(c);
	memset(c, 0, sizeof(*c));
	lfs_init(&c->q.s, offsetof(struct sitem, si_link));
	c->deadline = stress_now_ns() + DEADLINE_NS;
	for (int i = 0; i < ABA_ITEMS; i++) {
		c->items[i].si_seq = (uint32_t)i;
		lfs_push(&c->q.s, &c->items[i]);
	}
	assert_int_equal(aba_run(c, 0, "lfs"), 0);
	assert_true(lfs_empty(&c->q.s));
	free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mpmc_once),
		cmocka_unit_test(test_aba_torture),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
