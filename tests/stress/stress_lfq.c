/*
 * stress_lfq.c - many threads on one intrusive queue; invariants checked as items move
 * and at the end.
 *  - fifo_mpmc: 3 producers push_tail numbered items, 3 consumers pop: every item is
 *    popped exactly once, and each consumer sees each producer's items in order.
 *  - mpsc_pop_all: 3 producers push_tail, one consumer takes batches with pop_all:
 *    exactly once and each producer's exact order.
 *  - chain_mpmc / chain_mpsc_pop_all: the same two tests with producers that push
 *    pre-linked chains of 1..CHAIN_MAX items (lengths from a seeded generator, seed
 *    printed) with lfq_push_tail_chain: exactly once, and each producer's order kept
 *    across and inside chains (exact order with the single pop_all consumer).
 *  - mpsc_free: the same with malloc'ed items that the consumer (lfq_pop and pop_all in
 *    turn) frees at once: under ASan, proof that a single popper reads no freed item.
 *  - aba_torture_mixed / _lifo (the harness is tests/stress/stress_aba.h): 8 threads
 *    (more than the CPUs, so that some are preempted inside their CAS window) pop one
 *    or two of 6 shared items, check they own
 *    them (an owner word claimed by CAS must be free), scribble and check a payload, and
 *    push them back at the head or the tail at random (mixed) or at the head only (lifo,
 *    the pool depot's pattern), sometimes all at once through pop_all, so the same
 *    addresses come back to the head at a high rate (the ABA pattern).  At the end every
 *    item is in the queue exactly once.  With the tag disabled everywhere in lfq.h the
 *    mixed test fails (5 runs of 5, checked by hand); a tag missing from pop alone needs
 *    a preemption at one exact instruction and is left to tests/model (NOPOPTAG).
 * Items live in arrays that outlive the threads (the type-stable rule of lfq.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/lfq.h"
#include "stress_common.h"

#define NPROD		3
#define NCONS		3
#define PER_PROD	100000
#define DEADLINE_NS	(20ull * 1000000000u)

struct sitem {
	uint32_t	 si_prod;
	uint32_t	 si_seq;
	_Atomic int	 si_seen;	/* pops of this item */
	_Atomic int	 si_owner;	/* aba_torture: 0 = queued, else owning thread + 1 */
	uint64_t	 si_payload;
	struct lfq_link	 si_link;
};

struct fifo_ctx {
	struct lfq	 q;
	struct sitem	*items;		/* NPROD * PER_PROD */
	_Atomic long	 popped;
	_Atomic long	 bad_order;
	_Atomic long	 dup;
	uint64_t	 deadline;
};

struct targ {
	struct fifo_ctx	*ctx;
	int		 id;
	uint32_t	 rng;
	long		 ops;
};

static void *
fifo_producer(void *a)
{
	struct targ *t = a;
	struct sitem *base = t->ctx->items + (size_t)t->id * PER_PROD;

	for (uint32_t i = 0; i < PER_PROD; i++)
		lfq_push_tail(&t->ctx->q, &base[i]);
	return NULL;
}

/* Check one popped item: exactly once, and after what this consumer saw before. */
static void
fifo_check(struct fifo_ctx *c, struct sitem *it, int64_t *last)
{
	if (atomic_fetch_add_explicit(&it->si_seen, 1, memory_order_relaxed) != 0)
		atomic_fetch_add_explicit(&c->dup, 1, memory_order_relaxed);
	if ((int64_t)it->si_seq <= last[it->si_prod])
		atomic_fetch_add_explicit(&c->bad_order, 1, memory_order_relaxed);
	last[it->si_prod] = it->si_seq;
	atomic_fetch_add_explicit(&c->popped, 1, memory_order_relaxed);
}

static void *
fifo_consumer(void *a)
{
	struct targ *t = a;
	struct fifo_ctx *c = t->ctx;
	int64_t last[NPROD] = { -1, -1, -1 };
	struct sitem *it;

	while (atomic_load_explicit(&c->popped, memory_order_relaxed) < NPROD * PER_PROD &&
	    stress_now_ns() < c->deadline) {
		if ((it = lfq_pop(&c->q)) != NULL)
			fifo_check(c, it, last);
	}
	return NULL;
}

static struct fifo_ctx *
fifo_ctx_new(void)
{
	struct fifo_ctx *c = aligned_alloc(CACHE_LINE, sizeof(*c));

	assert_non_null(c);
	c->items = calloc((size_t)NPROD * PER_PROD, sizeof(struct sitem));
	assert_non_null(c->items);
	for (size_t i = 0; i < (size_t)NPROD * PER_PROD; i++) {
		c->items[i].si_prod = (uint32_t)(i / PER_PROD);
		c->items[i].si_seq = (uint32_t)(i % PER_PROD);
	}
	lfq_init(&c->q, offsetof(struct sitem, si_link));
	atomic_init(&c->popped, 0);
	atomic_init(&c->bad_order, 0);
	atomic_init(&c->dup, 0);
	c->deadline = stress_now_ns() + DEADLINE_NS;
	return c;
}

static void
fifo_ctx_check_free(struct fifo_ctx *c)
{
	printf("# popped %ld of %d, duplicates %ld, out of order %ld\n",
	    (long)c->popped, NPROD * PER_PROD, (long)c->dup, (long)c->bad_order);
	assert_int_equal(c->popped, NPROD * PER_PROD);
	assert_int_equal(c->dup, 0);
	assert_int_equal(c->bad_order, 0);
	for (size_t i = 0; i < (size_t)NPROD * PER_PROD; i++)
		assert_int_equal(c->items[i].si_seen, 1);
	assert_true(lfq_empty(&c->q));
	free(c->items);
	free(c);
}

static void *
fifo_thread(void *a)
{
	struct targ *t = a;

	return t->id < NPROD ? fifo_producer(t) : fifo_consumer(t);
}

static void
test_fifo_mpmc(void **state)
{
	struct fifo_ctx *c = fifo_ctx_new();
	struct targ t[NPROD + NCONS];

	for (int i = 0; i < NPROD + NCONS; i++)
		t[i] = (struct targ){ .ctx = c, .id = i };
	stress_run(NPROD + NCONS, fifo_thread, t, sizeof(t[0]));
	fifo_ctx_check_free(c);
}

/* ---- chains: lfq_push_tail_chain (the continuation outboxes' pattern) ---- */
#define CHAIN_MAX	8
#define CHAIN_SEED	0x5eed1234u

static uint32_t
chain_rand(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static void *
chain_producer(void *a)
{
	struct targ *t = a;
	struct sitem *base = t->ctx->items + (size_t)t->id * PER_PROD;
	uint32_t i = 0, n, rng = CHAIN_SEED + (uint32_t)t->id;

	while (i < PER_PROD) {
		void *first = NULL, *last = NULL;

		n = 1 + chain_rand(&rng) % CHAIN_MAX;
		for (; n > 0 && i < PER_PROD; n--, i++)
			lfq_chain_append(&t->ctx->q, &first, &last, &base[i]);
		lfq_push_tail_chain(&t->ctx->q, first, last);
	}
	return NULL;
}

static void *
chain_thread(void *a)
{
	struct targ *t = a;

	return t->id < NPROD ? chain_producer(t) : fifo_consumer(t);
}

static void
test_chain_mpmc(void **state)
{
	struct fifo_ctx *c = fifo_ctx_new();
	struct targ t[NPROD + NCONS];

	printf("# chain seed %#x (+ producer id)\n", CHAIN_SEED);
	for (int i = 0; i < NPROD + NCONS; i++)
		t[i] = (struct targ){ .ctx = c, .id = i };
	stress_run(NPROD + NCONS, chain_thread, t, sizeof(t[0]));
	fifo_ctx_check_free(c);
}

static void *batch_consumer(void *a);

static void *
chain_batch_thread(void *a)
{
	struct targ *t = a;

	return t->id < NPROD ? chain_producer(t) : batch_consumer(t);
}

static void
test_chain_mpsc_pop_all(void **state)
{
	struct fifo_ctx *c = fifo_ctx_new();
	struct targ t[NPROD + 1];

	printf("# chain seed %#x (+ producer id)\n", CHAIN_SEED);
	for (int i = 0; i < NPROD + 1; i++)
		t[i] = (struct targ){ .ctx = c, .id = i };
	stress_run(NPROD + 1, chain_batch_thread, t, sizeof(t[0]));
	fifo_ctx_check_free(c);
}

static void *
batch_consumer(void *a)
{
	struct targ *t = a;
	struct fifo_ctx *c = t->ctx;
	int64_t last[NPROD] = { -1, -1, -1 };
	struct lfq_batch b;
	struct sitem *it;

	while (atomic_load_explicit(&c->popped, memory_order_relaxed) < NPROD * PER_PROD &&
	    stress_now_ns() < c->deadline) {
		if (!lfq_pop_all(&c->q, &b))
			continue;
		while ((it = lfq_batch_next(&b)) != NULL) {
			/* One consumer: each producer's items arrive exactly in order. */
			if ((int64_t)it->si_seq != last[it->si_prod] + 1)
				atomic_fetch_add_explicit(&c->bad_order, 1, memory_order_relaxed);
			fifo_check(c, it, last);
		}
	}
	return NULL;
}

static void *
batch_thread(void *a)
{
	struct targ *t = a;

	return t->id < NPROD ? fifo_producer(t) : batch_consumer(t);
}

static void
test_mpsc_pop_all(void **state)
{
	struct fifo_ctx *c = fifo_ctx_new();
	struct targ t[NPROD + 1];

	for (int i = 0; i < NPROD + 1; i++)
		t[i] = (struct targ){ .ctx = c, .id = i };
	stress_run(NPROD + 1, batch_thread, t, sizeof(t[0]));
	fifo_ctx_check_free(c);
}

/*
 * ---- MPSC with items freed by the consumer (the continuation hand-off) ----
 * Producers malloc each item and push_tail it; the one consumer alternates lfq_pop and
 * lfq_pop_all, checks order, and frees each item at once.  With one popper lfq reads
 * no item it does not own, so ASan must see no use after free.
 */
#define FREE_PER_PROD	(50000 / STRESS_DIV)

struct free_ctx {
	struct lfq	 q;
	_Atomic long	 got;
	_Atomic long	 errors;
	uint64_t	 deadline;
};

struct free_arg {
	struct free_ctx	*ctx;
	int		 id;
};

static void *
free_producer(struct free_arg *a)
{
	for (uint32_t i = 0; i < FREE_PER_PROD; i++) {
		struct sitem *it = calloc(1, sizeof(*it));

		if (it == NULL)
			abort();
		it->si_prod = (uint32_t)a->id;
		it->si_seq = i;
		lfq_push_tail(&a->ctx->q, it);
	}
	return NULL;
}

static void
free_take(struct free_ctx *c, struct sitem *it, int64_t *last)
{
	if ((int64_t)it->si_seq != last[it->si_prod] + 1)
		atomic_fetch_add_explicit(&c->errors, 1, memory_order_relaxed);
	last[it->si_prod] = it->si_seq;
	atomic_fetch_add_explicit(&c->got, 1, memory_order_relaxed);
	free(it);
}

static void *
free_consumer(struct free_arg *a)
{
	struct free_ctx *c = a->ctx;
	int64_t last[NPROD] = { -1, -1, -1 };
	struct lfq_batch b;
	struct sitem *it;

	for (unsigned round = 0; atomic_load_explicit(&c->got, memory_order_relaxed) <
	    NPROD * FREE_PER_PROD && stress_now_ns() < c->deadline; round++) {
		if (round % 2 == 0) {
			if ((it = lfq_pop(&c->q)) != NULL)
				free_take(c, it, last);
		} else if (lfq_pop_all(&c->q, &b)) {
			while ((it = lfq_batch_next(&b)) != NULL)
				free_take(c, it, last);
		}
	}
	return NULL;
}

static void *
free_thread(void *p)
{
	struct free_arg *a = p;

	return a->id < NPROD ? free_producer(a) : free_consumer(a);
}

static void
test_mpsc_free(void **state)
{
	struct free_ctx *c = aligned_alloc(CACHE_LINE, sizeof(*c));
	struct free_arg a[NPROD + 1];

	assert_non_null(c);
	lfq_init(&c->q, offsetof(struct sitem, si_link));
	atomic_init(&c->got, 0);
	atomic_init(&c->errors, 0);
	c->deadline = stress_now_ns() + DEADLINE_NS;
	for (int i = 0; i < NPROD + 1; i++)
		a[i] = (struct free_arg){ .ctx = c, .id = i };
	stress_run(NPROD + 1, free_thread, a, sizeof(a[0]));
	printf("# freed %ld of %d, %ld out of order\n", (long)c->got, NPROD * FREE_PER_PROD,
	    (long)c->errors);
	assert_int_equal(c->got, NPROD * FREE_PER_PROD);
	assert_int_equal(c->errors, 0);
	assert_true(lfq_empty(&c->q));
	free(c);
}

/* ---- ABA torture (stress_aba.h) ---- */

#define ABA_ITEMS		6
#define ABA_ROUNDS		1000000
#define ABA_HOLD		2
#define ABA_TAKE_ALL_ONE_IN	256

enum { ABA_MIXED, ABA_LIFO };	/* push at either end, or at the head only (the depot) */

struct aba_q {
	struct lfq	 q;
};

#include "stress_aba.h"

static struct sitem *
aba_pop(struct aba_arg *a)
{
	return lfq_pop(&a->ctx->q.q);
}

static void
aba_push(struct aba_arg *a, struct sitem *it)
{
	if (a->mode == ABA_LIFO || (stress_rand(&a->rng) & 1))
		lfq_push_head(&a->ctx->q.q, it);
	else
		lfq_push_tail(&a->ctx->q.q, it);
}

/* Take everything, claim it, give it back (exercises pop_all against the others). */
static void
aba_take_all(struct aba_arg *a)
{
	struct sitem *held[ABA_ITEMS];
	struct lfq_batch b;
	struct sitem *it;
	int n = 0;

	if (!lfq_pop_all(&a->ctx->q.q, &b))
		return;
	while ((it = lfq_batch_next(&b)) != NULL && n < ABA_ITEMS) {
		aba_claim(a, it);
		held[n++] = it;
	}
	if (it != NULL)		/* more items than exist: the chain is corrupt */
		aba_error(a->ctx);
	while (n > 0) {
		aba_unclaim(a, held[--n]);
		aba_push(a, held[n]);
	}
}

static void
run_aba_torture(int mode)
{
	struct aba_ctx *c = aligned_alloc(CACHE_LINE, sizeof(*c));

	assert_non_null(c);
	memset(c, 0, sizeof(*c));
	lfq_init(&c->q.q, offsetof(struct sitem, si_link));
	c->deadline = stress_now_ns() + DEADLINE_NS;
	for (int i = 0; i < ABA_ITEMS; i++) {
		c->items[i].si_seq = (uint32_t)i;
		(i % 2 ? lfq_push_head : lfq_push_tail)(&c->q.q, &c->items[i]);
	}
	assert_int_equal(aba_run(c, mode, mode == ABA_LIFO ? "lifo" : "mixed"), 0);
	assert_true(lfq_empty(&c->q.q));
	free(c);
}

static void
test_aba_torture_mixed(void **state)
{
	run_aba_torture(ABA_MIXED);
}

static void
test_aba_torture_lifo(void **state)
{
	run_aba_torture(ABA_LIFO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo_mpmc),
		cmocka_unit_test(test_mpsc_pop_all),
		cmocka_unit_test(test_chain_mpmc),
		cmocka_unit_test(test_chain_mpsc_pop_all),
		cmocka_unit_test(test_mpsc_free),
		cmocka_unit_test(test_aba_torture_mixed),
		cmocka_unit_test(test_aba_torture_lifo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
