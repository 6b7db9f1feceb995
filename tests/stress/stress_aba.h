/*
 * stress_aba.h - the ABA torture shared by the lfq and lfs stress tests: ABA_THREADS
 * threads (more than the CPUs, so that some are preempted inside their CAS window) pop
 * one to ABA_HOLD of ABA_ITEMS shared items, claim them (an owner word taken by CAS must
 * be free), stamp and check a payload and push them back; now and then one takes every
 * item at once.  The same addresses come back to the head at a high rate.
 *
 * The including file defines, before including this: struct sitem (with si_seq,
 * si_owner, si_payload), struct aba_q (the queue under test), ABA_ITEMS, ABA_HOLD,
 * ABA_ROUNDS, ABA_TAKE_ALL_ONE_IN, and after it the three operations declared below.
 */
#ifndef SMPNET_TESTS_STRESS_ABA_H
#define SMPNET_TESTS_STRESS_ABA_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "stress_common.h"

#define ABA_THREADS	8

struct aba_ctx {
	struct aba_q	 q;
	struct sitem	 items[ABA_ITEMS];
	_Atomic long	 errors;
	uint64_t	 deadline;
};

struct aba_arg {
	struct aba_ctx	*ctx;
	int		 id;
	int		 mode;		/* the includer's variant (e.g. push at the head only) */
	uint32_t	 rng;
	long		 pops, empties;
};

/* Supplied by the including file. */
static struct sitem *aba_pop(struct aba_arg *a);
static void aba_push(struct aba_arg *a, struct sitem *it);
static void aba_take_all(struct aba_arg *a);

static void
aba_error(struct aba_ctx *c)
{
	atomic_fetch_add_explicit(&c->errors, 1, memory_order_relaxed);
}

/* Claim a popped item: it must be free, then it is ours until aba_unclaim. */
static void
aba_claim(struct aba_arg *a, struct sitem *it)
{
	if (!stress_claim(&it->si_owner, &it->si_payload, a->id, a->rng))
		aba_error(a->ctx);
}

static void
aba_unclaim(struct aba_arg *a, struct sitem *it)
{
	if (!stress_unclaim(&it->si_owner, &it->si_payload, a->id))
		aba_error(a->ctx);
}

static void
aba_round(struct aba_arg *a)
{
	struct sitem *held[ABA_HOLD];
	int n = 0, want = (int)(stress_rand(&a->rng) % ABA_HOLD) + 1;

	if (stress_rand(&a->rng) % ABA_TAKE_ALL_ONE_IN == 0) {
		aba_take_all(a);
		return;
	}
	while (n < want) {
		struct sitem *it = aba_pop(a);

		if (it == NULL) {
			a->empties++;
			break;
		}
		aba_claim(a, it);
		held[n++] = it;
		a->pops++;
	}
	while (n > 0) {
		aba_unclaim(a, held[--n]);
		aba_push(a, held[n]);
	}
}

static void *
aba_thread(void *arg)
{
	struct aba_arg *a = arg;

	for (long r = 0; r < ABA_ROUNDS && stress_now_ns() < a->ctx->deadline; r++)
		aba_round(a);
	return NULL;
}

/*
 * Run the threads on c (initialised, holding every item), then drain it: returns 0 if
 * no error was seen and every item came back exactly once, else -1.
 */
static int
aba_run(struct aba_ctx *c, int mode, const char *name)
{
	struct aba_arg a[ABA_THREADS];
	unsigned seed = stress_seed();
	int count[ABA_ITEMS] = { 0 }, bad = 0;
	long pops = 0, empties = 0;
	struct aba_arg drain = { .ctx = c, .mode = mode };
	struct sitem *it;

	for (int i = 0; i < ABA_THREADS; i++)
		a[i] = (struct aba_arg){ .ctx = c, .id = i, .mode = mode,
		    .rng = seed * 2654435761u + (unsigned)i + 1 };
	stress_run(ABA_THREADS, aba_thread, a, sizeof(a[0]));
	for (int i = 0; i < ABA_THREADS; i++) {
		pops += a[i].pops;
		empties += a[i].empties;
	}
	for (int n = 0; (it = aba_pop(&drain)) != NULL && n <= ABA_ITEMS; n++)
		count[it->si_seq]++;
	printf("# %s: %ld pops, %ld empty pops, %ld errors\n", name, pops, empties,
	    (long)c->errors);
	for (int i = 0; i < ABA_ITEMS; i++)
		bad += count[i] != 1;
	return c->errors == 0 && bad == 0 ? 0 : -1;
}

#endif
