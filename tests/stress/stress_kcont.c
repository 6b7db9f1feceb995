/*
 * stress_kcont.c - schedule / cancel / halt racing from many threads and CPUs.
 *
 * NITEMS continuations, each counting its runs.  Application threads pick random items
 * and schedule them (random CPU, no delay or a short delay), cancel them, or halt them;
 * the items' own functions sometimes reschedule themselves or another item from the
 * CPU threads.  Every successful schedule, cancel and halt is counted per item.  At the
 * end every item is halted, and for each item
 *	runs == successful schedules - removed by cancel - removed by halt
 * must hold exactly; an item must never run concurrently with itself, and must run on
 * the CPU it was scheduled on.  Seeded: the seed is printed (argv[1] replays one).
 */
#include <pthread.h>
#include <stdlib.h>

#include "kern/kcont.h"
#include "kern/kern.h"
#include "stress_util.h"

#define NITEMS		48
#define NTHREADS	4
#define NCPU		3

struct sitem {
	struct kcont	kc;
	struct kern	*k;
	_Atomic long	scheds, cancels, runs;
	_Atomic int	inside, overlap;
	_Atomic int	wrong_cpu;
	_Atomic unsigned seed;
};

static struct sitem items[NITEMS];
static _Atomic bool stop_chaos;

static void
sitem_sched(struct sitem *it, int cpu, uint64_t delay)
{
	if (kcont_schedule(&it->kc, cpu, delay) == 0)
		atomic_fetch_add(&it->scheds, 1);
}

static void
sitem_fn(void *arg)
{
	struct sitem *it = arg;
	unsigned seed = atomic_fetch_add(&it->seed, 7919);
	int me = kcpu_index(it->k);

	if (atomic_fetch_add(&it->inside, 1) != 0)
		atomic_fetch_add(&it->overlap, 1);
	atomic_fetch_add(&it->runs, 1);
	if (me < 0 && !(it->kc.kc_flags & KC_WORKQ))
		atomic_fetch_add(&it->wrong_cpu, 1);
	if (!atomic_load(&stop_chaos) && rand_r(&seed) % 3 == 0)
		sitem_sched(&items[rand_r(&seed) % NITEMS], rand_r(&seed) % NCPU,
		    rand_r(&seed) % 4 == 0 ? 20000 : 0);
	atomic_fetch_sub(&it->inside, 1);
}

static void *
chaos_thread(void *arg)
{
	unsigned seed = *(unsigned *)arg;
	uint64_t end = stress_now() + 3000000000ull;
	int i;

	for (i = 0; i < 60000 && stress_now() < end; i++) {
		struct sitem *it = &items[rand_r(&seed) % NITEMS];
		int op = rand_r(&seed) % 16;

		if (op < 9)	/* a third of the schedules are timers (up to 2 ms) */
			sitem_sched(it, rand_r(&seed) % NCPU,
			    op < 3 ? (uint64_t)(rand_r(&seed) % 2000000) : 0);
		else if (op < 15) {
			if (kcont_cancel(&it->kc))
				atomic_fetch_add(&it->cancels, 1);
		} else
			atomic_fetch_add(&it->cancels, kcont_halt(&it->kc));
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	struct kern_config cfg = { .ncpu = NCPU, .nworkers = 2, .nopin = true };
	unsigned seed = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : 20261128u;
	unsigned seeds[NTHREADS];
	pthread_t t[NTHREADS];
	struct kern *k;
	long total_runs = 0;
	int i;

	printf("# stress_kcont seed %u\n", seed);
	k = kern_create(&cfg);
	CHECK(k != NULL);
	if (k == NULL)
		return 1;
	for (i = 0; i < NITEMS; i++) {
		items[i].k = k;
		atomic_init(&items[i].seed, seed + (unsigned)i);
		kcont_init(&items[i].kc, k, sitem_fn, &items[i], NULL,
		    (i % 7 == 0) ? KC_WORKQ : (i % 3 == 0) ? KC_PRIO_HIGH : 0);
	}
	for (i = 0; i < NTHREADS; i++) {
		seeds[i] = seed * 31u + (unsigned)i;
		pthread_create(&t[i], NULL, chaos_thread, &seeds[i]);
	}
	for (i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	atomic_store(&stop_chaos, true);
	/* Items may still reschedule each other until stop_chaos is seen: halt twice. */
	for (int pass = 0; pass < 2; pass++)
		for (i = 0; i < NITEMS; i++)
			atomic_fetch_add(&items[i].cancels, kcont_halt(&items[i].kc));
	for (i = 0; i < NITEMS; i++) {
		struct sitem *it = &items[i];
		long runs = atomic_load(&it->runs);

		CHECK(!kcont_pending(&it->kc));
		CHECK(runs == atomic_load(&it->scheds) - atomic_load(&it->cancels));
		if (runs != atomic_load(&it->scheds) - atomic_load(&it->cancels))
			fprintf(stderr, "item %d: runs %ld scheds %ld cancels %ld\n", i, runs,
			    atomic_load(&it->scheds), atomic_load(&it->cancels));
		CHECK(atomic_load(&it->overlap) == 0);
		CHECK(atomic_load(&it->wrong_cpu) == 0);
		total_runs += runs;
	}
	printf("# runs %ld\n", total_runs);
	CHECK(total_runs > 0);
	kern_destroy(k);
	return stress_result("stress_kcont");
}
