/*
 * stress_kern_lifecycle.c - kern create/destroy loops with work in flight.
 *
 * Each round creates a kern (1..3 CPUs, normal or giant, 1..2 workers), runs immediate
 * continuations on every CPU and on the worker pool (all must run exactly once),
 * arms far timers, and destroys the kern while the timers are pending: they must never
 * run and must be left idle (not pending).  Under ASan this also checks that nothing
 * leaks across rounds.
 */
#include <stdlib.h>

#include "kern/kcont.h"
#include "kern/kern.h"
#include "stress_util.h"

#define ROUNDS	40
#define NIMM	64
#define NTIMER	16

struct litem {
	struct kcont	 kc;
	_Atomic long	*count;
};

static void
litem_fn(void *arg)
{
	atomic_fetch_add(((struct litem *)arg)->count, 1);
}

static void
round_run(int r)
{
	struct kern_config cfg = { .ncpu = 1 + r % 3, .giant = r % 2, .nworkers = 1 + r % 2,
	    .nopin = r % 4 != 0 };
	static struct litem imm[NIMM], tmr[NTIMER];
	_Atomic long ran = 0, fired = 0;
	struct kern *k = kern_create(&cfg);
	int i;

	CHECK(k != NULL);
	if (k == NULL)
		return;
	for (i = 0; i < NIMM; i++) {
		imm[i].count = &ran;
		kcont_init(&imm[i].kc, k, litem_fn, &imm[i], NULL, i % 8 == 0 ? KC_WORKQ : 0);
		CHECK(kcont_schedule(&imm[i].kc, i % cfg.ncpu, 0) == 0);
	}
	for (i = 0; i < NTIMER; i++) {
		tmr[i].count = &fired;
		kcont_init(&tmr[i].kc, k, litem_fn, &tmr[i], NULL, 0);
		CHECK(kcont_schedule(&tmr[i].kc, i % cfg.ncpu, 60ull * 1000000000ull) == 0);
	}
	CHECK(stress_wait_ge(&ran, NIMM));
	for (i = 0; i < NIMM; i++)
		CHECK(kcont_halt(&imm[i].kc) == 0);
	kern_destroy(k);
	CHECK(atomic_load(&ran) == NIMM);
	CHECK(atomic_load(&fired) == 0);
	for (i = 0; i < NTIMER; i++)
		CHECK(!kcont_pending(&tmr[i].kc));
}

int
main(void)
{
	for (int r = 0; r < ROUNDS; r++)
		round_run(r);
	return stress_result("stress_kern_lifecycle");
}
