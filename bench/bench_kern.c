/*
 * bench_kern.c - `smpnet bench kern`: the platform layer's costs.
 *
 * Cases (each run on a fresh kern in normal mode, impl "smpnet", and in giant mode,
 * impl "smpnet-giant", alternating which goes first, opts->repeat times; median and
 * spread reported):
 *	sched-local	one CPU: a driver continuation schedules 32 items on its own CPU
 *			and reschedules itself; ops = continuations scheduled and run
 *	sched-remote-2cpu  two CPUs: 32 items each hop to the other CPU on every run;
 *			ops = cross-CPU schedule + hand-off + run
 *	timer-arm-cancel  one CPU, inside a continuation: arm a 10 ms timer and cancel it
 *	timer-fire	one CPU: 1024 timers, each re-arming itself 50 us ahead on every
 *			fire; ops = timer fires (wheel insert, scan, sort, run)
 * Timing is taken on the CPU threads themselves (first and last run), so the waiting
 * main thread adds nothing.  Every measurement lasts about opts->seconds.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"
#include "kern/kcont.h"
#include "kern/kern.h"

#define BK_ITEMS	32
#define BK_TIMERS	1024

struct bk_run;

struct bk_item {
	struct kcont	 kc;
	struct bk_run	*r;
	int		 cpu;
};

struct bk_run {
	struct kern	*k;
	uint64_t	 t_end;		/* [I] stop scheduling after this time */
	_Atomic uint64_t ops;
	_Atomic uint64_t t1;		/* time the last item stopped */
	_Atomic int	 live;		/* items still running */
	_Atomic int	 done;		/* the last item stopped; t1 is set */
	uint64_t	 t0;		/* [I after start] */
	struct kcont	 drv;
	struct bk_item	*items;
	int		 nitems;
};

static void
bk_nap(void)
{
	struct timespec ts = { 0, 1000000 };

	nanosleep(&ts, NULL);
}

/* An item stops: the last one to stop records the end time. */
static void
bk_stop(struct bk_run *r)
{
	/* acq_rel: the last stopper comes after every other stopper's ops. */
	if (atomic_fetch_sub_explicit(&r->live, 1, memory_order_acq_rel) != 1)
		return;
	atomic_store_explicit(&r->t1, bench_now_ns(), memory_order_relaxed);
	/* Release: publishes t1, ops and t0; pairs with the acquire load in bk_wait(). */
	atomic_store_explicit(&r->done, 1, memory_order_release);
}

/* --- sched-local --- */

static void
bk_local_item(void *arg)
{
	struct bk_item *it = arg;

	atomic_fetch_add_explicit(&it->r->ops, 1, memory_order_relaxed);
}

static void
bk_local_drv(void *arg)
{
	struct bk_run *r = arg;
	int i;

	if (bench_now_ns() >= r->t_end) {
		bk_stop(r);
		return;
	}
	for (i = 0; i < r->nitems; i++)
		kcont_schedule(&r->items[i].kc, KCPU_CURRENT, 0);
	kcont_schedule(&r->drv, KCPU_CURRENT, 0);	/* runs after the items */
}

/* --- sched-remote --- */

static void
bk_remote_item(void *arg)
{
	struct bk_item *it = arg;
	struct bk_run *r = it->r;
	uint64_t n = atomic_fetch_add_explicit(&r->ops, 1, memory_order_relaxed);

	if (n % 64 == 0 && bench_now_ns() >= r->t_end) {
		bk_stop(r);
		return;
	}
	it->cpu ^= 1;
	kcont_schedule(&it->kc, it->cpu, 0);
}

/* --- timer-arm-cancel --- */

static void
bk_arm_drv(void *arg)
{
	struct bk_run *r = arg;
	struct kcont *t = &r->items[0].kc;
	uint64_t n = 0;

	r->t0 = bench_now_ns();
	do {
		for (int i = 0; i < 256; i++, n++) {
			kcont_schedule(t, KCPU_CURRENT, 10000000);
			kcont_cancel(t);
		}
	} while (bench_now_ns() < r->t_end);
	atomic_store_explicit(&r->ops, n, memory_order_relaxed);	/* published by bk_stop */
	bk_stop(r);
}

/* --- timer-fire --- */

static void
bk_timer_item(void *arg)
{
	struct bk_item *it = arg;
	struct bk_run *r = it->r;
	uint64_t n = atomic_fetch_add_explicit(&r->ops, 1, memory_order_relaxed);

	if (n % 64 == 0 && bench_now_ns() >= r->t_end) {
		bk_stop(r);
		return;
	}
	kcont_schedule(&it->kc, KCPU_CURRENT, 50000);
}

static void
bk_timer_drv(void *arg)
{
	struct bk_run *r = arg;
	int i;

	r->t0 = bench_now_ns();
	for (i = 0; i < r->nitems; i++)
		kcont_schedule(&r->items[i].kc, KCPU_CURRENT, 50000 + (uint64_t)i * 40);
}

enum bk_case { BK_LOCAL, BK_REMOTE, BK_ARM, BK_FIRE };

struct bk_desc {
	const char	*name;
	int		 ncpu, nitems;
	int		 stoppers;	/* bk_stop() calls that end a run */
	void		(*item)(void *);
	void		(*drv)(void *);
	const char	*metric;
};

static const struct bk_desc bk_cases[] = {
	[BK_LOCAL] = { "sched-local", 1, BK_ITEMS, 1, bk_local_item, bk_local_drv,
	    "ops_per_s" },
	[BK_REMOTE] = { "sched-remote-2cpu", 2, BK_ITEMS, BK_ITEMS, bk_remote_item, NULL,
	    "ops_per_s" },
	[BK_ARM] = { "timer-arm-cancel", 1, 1, 1, bk_local_item, bk_arm_drv, "ops_per_s" },
	[BK_FIRE] = { "timer-fire", 1, BK_TIMERS, BK_TIMERS, bk_timer_item, bk_timer_drv,
	    "fires_per_s" },
};

/* Start: the driver, or every item (alternating CPUs). */
static void
bk_start(struct bk_run *r, const struct bk_desc *d)
{
	int i;

	r->t0 = bench_now_ns();
	/* Relaxed: published to the CPU threads by kcont_schedule's hand-off. */
	atomic_store_explicit(&r->live, d->stoppers, memory_order_relaxed);
	if (d->drv != NULL) {
		kcont_schedule(&r->drv, 0, 0);
		return;
	}
	for (i = 0; i < r->nitems; i++)
		kcont_schedule(&r->items[i].kc, r->items[i].cpu, 0);
}

/* Wait (bounded) for the run to stop; 0 or -ETIMEDOUT. */
static int
bk_wait(struct bk_run *r, double seconds)
{
	uint64_t limit = bench_now_ns() + (uint64_t)(seconds * 1e9) + 30000000000ull;

	/* Acquire pairs with the release store of done in bk_stop(). */
	while (!atomic_load_explicit(&r->done, memory_order_acquire))
		if (bench_now_ns() > limit)
			return -ETIMEDOUT;
		else
			bk_nap();
	return 0;
}

static void
bk_halt_all(struct bk_run *r)
{
	int i;

	kcont_halt(&r->drv);
	for (i = 0; i < r->nitems; i++)
		kcont_halt(&r->items[i].kc);
}

/* One measurement of case d; ops per second, or a negative errno. */
static double
bk_measure(const struct bk_desc *d, bool giant, double seconds)
{
	struct kern_config cfg = { .ncpu = d->ncpu, .giant = giant };
	struct bk_run r = { .nitems = d->nitems };
	double rate;
	int i, error;

	r.k = kern_create(&cfg);
	r.items = calloc((size_t)d->nitems, sizeof(*r.items));
	if (r.k == NULL || r.items == NULL) {
		kern_destroy(r.k);
		free(r.items);
		return -ENOMEM;
	}
	kcont_init(&r.drv, r.k, d->drv != NULL ? d->drv : bk_local_item, &r, NULL, 0);
	for (i = 0; i < d->nitems; i++) {
		r.items[i].r = &r;
		r.items[i].cpu = i % d->ncpu;
		kcont_init(&r.items[i].kc, r.k, d->item, &r.items[i], NULL, 0);
	}
	r.t_end = bench_now_ns() + (uint64_t)(seconds * 1e9);
	bk_start(&r, d);
	error = bk_wait(&r, seconds);
	bk_halt_all(&r);
	rate = error != 0 ? error :
	    (double)atomic_load_explicit(&r.ops, memory_order_relaxed) /
	    ((double)(atomic_load_explicit(&r.t1, memory_order_relaxed) - r.t0) / 1e9);
	kern_destroy(r.k);
	free(r.items);
	return rate;
}

/* Run case d in both modes, alternating, and report both. */
static int
bk_case(const struct bench_opts *opts, const struct bk_desc *d)
{
	double s[2][1000];
	int i, m, mode;

	if (!bench_want(opts, d->name))
		return 0;
	for (i = 0; i < opts->repeat; i++)
		for (m = 0; m < 2; m++) {
			mode = (i + m) % 2;
			s[mode][i] = bk_measure(d, mode == 1, opts->seconds);
			if (s[mode][i] < 0)
				return (int)s[mode][i];
		}
	bench_report_samples(opts, "kern", d->name, "smpnet", d->metric, s[0], opts->repeat,
	    "1/s");
	bench_report_samples(opts, "kern", d->name, "smpnet-giant", d->metric, s[1],
	    opts->repeat, "1/s");
	return 0;
}

static int
bench_kern_run(const struct bench_opts *opts)
{
	size_t i;
	int error;

	for (i = 0; i < sizeof(bk_cases) / sizeof(bk_cases[0]); i++) {
		error = bk_case(opts, &bk_cases[i]);
		if (error != 0)
			return error;
	}
	return bench_kern_mbuf(opts);
}

const struct bench bench_kern = {
	.name = "kern",
	.help = "continuations (local, remote), timers (arm+cancel, fire), mbuf/cluster get+free",
	.run = bench_kern_run,
};
