/*
 * stress_giant.c - giant mode really serialises.
 *
 * A giant-mode kern with more CPU threads than cores; NTOKENS continuations hop from CPU
 * to CPU, and each run increments an "inside" counter, does a little work, and
 * decrements it; application threads do the same between kern_giant_enter/exit (twice
 * nested).  The highest value "inside" ever reaches must be exactly 1, and every hop
 * must have run.  The same workload in normal mode is run too and must complete (its
 * maximum is only printed: it shows the check can see concurrency).
 */
#include <pthread.h>
#include <stdlib.h>

#include "kern/kcont.h"
#include "kern/kern.h"
#include "stress_util.h"

#define NCPU		3
#define NTOKENS		24
#define HOPS		400
#define NAPP		2
#define APP_ITERS	3000

struct world {
	struct kern	*k;
	_Atomic int	 inside, max;
	_Atomic long	 hops;
	_Atomic unsigned sink;		/* keeps the work loop from being optimised away */
};

struct token {
	struct kcont	 kc;
	struct world	*w;
	int		 cpu, left;
};

static void
enter_check(struct world *w)
{
	int v = atomic_fetch_add(&w->inside, 1) + 1, m = atomic_load(&w->max);
	unsigned x = 0;

	while (v > m && !atomic_compare_exchange_weak(&w->max, &m, v))
		;
	for (int i = 0; i < 200; i++)
		x = x * 31u + (unsigned)i;
	atomic_store_explicit(&w->sink, x, memory_order_relaxed);
	atomic_fetch_sub(&w->inside, 1);
}

static void
token_fn(void *arg)
{
	struct token *t = arg;

	enter_check(t->w);
	atomic_fetch_add(&t->w->hops, 1);
	if (--t->left > 0) {
		t->cpu = (t->cpu + 1) % NCPU;
		kcont_schedule(&t->kc, t->cpu, 0);
	}
}

static void *
app_thread(void *arg)
{
	struct world *w = arg;

	for (int i = 0; i < APP_ITERS; i++) {
		kern_giant_enter(w->k);
		kern_giant_enter(w->k);
		enter_check(w);
		kern_giant_exit(w->k);
		kern_giant_exit(w->k);
	}
	return NULL;
}

static int
run(bool giant)
{
	struct kern_config cfg = { .ncpu = NCPU, .giant = giant, .nopin = true };
	static struct token tok[NTOKENS];
	struct world w = { 0 };
	pthread_t app[NAPP];
	int i;

	w.k = kern_create(&cfg);
	CHECK(w.k != NULL);
	if (w.k == NULL)
		return -1;
	for (i = 0; i < NTOKENS; i++) {
		tok[i].w = &w;
		tok[i].cpu = i % NCPU;
		tok[i].left = HOPS;
		kcont_init(&tok[i].kc, w.k, token_fn, &tok[i], NULL, 0);
	}
	for (i = 0; i < NAPP; i++)
		pthread_create(&app[i], NULL, app_thread, &w);
	for (i = 0; i < NTOKENS; i++)
		kcont_schedule(&tok[i].kc, tok[i].cpu, 0);
	CHECK(stress_wait_ge(&w.hops, (long)NTOKENS * HOPS));
	for (i = 0; i < NAPP; i++)
		pthread_join(app[i], NULL);
	for (i = 0; i < NTOKENS; i++)
		kcont_halt(&tok[i].kc);
	CHECK(atomic_load(&w.hops) == (long)NTOKENS * HOPS);
	printf("# %s mode: max inside %d, hops %ld\n", giant ? "giant" : "normal",
	    atomic_load(&w.max), atomic_load(&w.hops));
	kern_destroy(w.k);
	return atomic_load(&w.max);
}

int
main(void)
{
	CHECK(run(true) == 1);
	CHECK(run(false) >= 1);
	return stress_result("stress_giant");
}
