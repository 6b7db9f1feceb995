/*
 * demo.c - `smpnet demo [--seconds S] [--cpus N]`: giant vs MP mode across CPU counts.
 *
 * For now the workload exercises the platform layer: work items (continuations) pass
 * from CPU to CPU; each hop does a fixed amount of work (a hash over a small buffer,
 * standing in for protocol processing of one packet) and schedules the next hop on the
 * next CPU.  Each (mode, CPU count) runs DEMO_REPEAT times for a fixed time on a fresh
 * kern with 8 items per CPU, and the table shows the median hops per second, the
 * speed-up over 1 CPU in that mode, the spread ((max - min) / median) and how often
 * the giant lock had to be waited for (contended / acquisitions).  Later the workload becomes UDP
 * traffic between two stacks over in-memory links; the table keeps its shape.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kern/kcont.h"
#include "kern/kern.h"
#include "kern/klock.h"
#include "kern/ktime.h"
#include "smpnet.h"

#define DEMO_ITEMS_PER_CPU	8
#define DEMO_WORK		1000	/* hash rounds per hop (a few us) */
#define DEMO_REPEAT		3	/* measurements per row (median shown) */

struct demo_run {
	struct kern	*k;
	int		 ncpu;
	_Atomic bool	 stop;
};

struct demo_item {
	struct kcont	 kc;
	struct demo_run	*run;
	int		 cpu;
	uint64_t	 hops;		/* [kc] only the item's own runs touch it */
	uint64_t	 hash;		/* [kc] */
};

/* The fixed work of one hop: FNV-1a-style mixing over a 64-byte buffer. */
static uint64_t
demo_work(uint64_t h)
{
	unsigned char buf[64];
	int i, j;

	memset(buf, (int)(h & 0xff), sizeof(buf));
	for (i = 0; i < DEMO_WORK / 64 + 1; i++)
		for (j = 0; j < 64; j++)
			h = (h ^ buf[j]) * 1099511628211ull;
	return h;
}

static void
demo_hop(void *arg)
{
	struct demo_item *it = arg;
	struct demo_run *r = it->run;

	it->hash = demo_work(it->hash);
	it->hops++;
	/* Relaxed: a stale false only costs one more hop. */
	if (atomic_load_explicit(&r->stop, memory_order_relaxed))
		return;
	it->cpu = (it->cpu + 1) % r->ncpu;
	kcont_schedule(&it->kc, it->cpu, 0);
}

static void
demo_sleep(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	nanosleep(&ts, NULL);
}

/* One measurement: hops per second; *giant_wait gets the giant contention ratio. */
static double
demo_measure(int ncpu, bool giant, double seconds, double *giant_wait)
{
	struct kern_config cfg = { .ncpu = ncpu, .giant = giant,
	    .nopin = getenv("SMPNET_NOPIN") != NULL };
	struct demo_run r = { .ncpu = ncpu };
	int i, n = ncpu * DEMO_ITEMS_PER_CPU;
	struct demo_item *items = calloc((size_t)n, sizeof(*items));
	struct klock_stat st;
	uint64_t t0, t1, hops = 0;

	r.k = kern_create(&cfg);
	if (r.k == NULL || items == NULL) {
		free(items);
		kern_destroy(r.k);
		return -1;
	}
	for (i = 0; i < n; i++) {
		items[i].run = &r;
		items[i].cpu = i % ncpu;
		items[i].hash = (uint64_t)i;
		kcont_init(&items[i].kc, r.k, demo_hop, &items[i], NULL, 0);
	}
	t0 = ktime_mono();
	for (i = 0; i < n; i++)
		kcont_schedule(&items[i].kc, items[i].cpu, 0);
	demo_sleep(seconds);
	atomic_store_explicit(&r.stop, true, memory_order_relaxed);
	for (i = 0; i < n; i++)
		kcont_halt(&items[i].kc);
	t1 = ktime_mono();
	for (i = 0; i < n; i++)
		hops += items[i].hops;
	*giant_wait = 0;
	if (klock_stats_get(r.k, "giant", &st) == 0 && st.acquisitions != 0)
		*giant_wait = (double)st.contended / (double)st.acquisitions;
	kern_destroy(r.k);
	free(items);
	return (double)hops / ((double)(t1 - t0) / 1e9);
}

/* The cost of one hop's work on this thread, in ns (for the table's caption). */
static double
demo_work_ns(void)
{
	uint64_t t0 = ktime_mono(), h = 1;
	int i;

	for (i = 0; i < 2000; i++)
		h = demo_work(h);
	return (double)(ktime_mono() - t0) / 2000 + (double)(h & 1) * 1e-9;
}

static int
demo_args(int argc, char **argv, double *seconds, int *maxcpu)
{
	char *end;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			*seconds = strtod(argv[++i], &end);
			if (*end != '\0' || !(*seconds > 0 && *seconds <= 60))
				return -EINVAL;
		} else if (strcmp(argv[i], "--cpus") == 0 && i + 1 < argc) {
			*maxcpu = (int)strtol(argv[++i], &end, 10);
			if (*end != '\0' || *maxcpu < 1 || *maxcpu > KERN_MAXCPU)
				return -EINVAL;
		} else
			return -EINVAL;
	}
	return 0;
}

static int
demo_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of DEMO_REPEAT measurements; *spread = (max - min) / median. */
static double
demo_row(int ncpu, bool giant, double seconds, double *wait, double *spread)
{
	double r[DEMO_REPEAT], w[DEMO_REPEAT];
	int i;

	for (i = 0; i < DEMO_REPEAT; i++) {
		r[i] = demo_measure(ncpu, giant, seconds, &w[i]);
		if (r[i] < 0)
			return -1;
	}
	qsort(r, DEMO_REPEAT, sizeof(r[0]), demo_cmp);
	qsort(w, DEMO_REPEAT, sizeof(w[0]), demo_cmp);
	*wait = w[DEMO_REPEAT / 2];
	*spread = (r[DEMO_REPEAT - 1] - r[0]) / r[DEMO_REPEAT / 2];
	return r[DEMO_REPEAT / 2];
}

int
cmd_demo(int argc, char **argv)
{
	double seconds = 0.3, base, rate, wait, spread;
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	int maxcpu = online < 1 ? 1 : online > KERN_MAXCPU ? KERN_MAXCPU : (int)online;
	int mode, n;

	if (demo_args(argc, argv, &seconds, &maxcpu) != 0) {
		fprintf(stderr, "usage: smpnet demo [--seconds S] [--cpus N]\n");
		return 2;
	}
	printf("smpnet demo: work items hopping across CPUs (continuations, %.0f ns of "
	    "work per hop), median of %d x %.2f s per row\n\n", demo_work_ns(), DEMO_REPEAT,
	    seconds);
	printf("%-7s %5s %14s %9s %8s %12s\n", "mode", "cpus", "hops/s", "speed-up",
	    "spread", "giant waits");
	for (mode = 0; mode < 2; mode++) {
		base = 0;
		for (n = 1; n <= maxcpu; n++) {
			rate = demo_row(n, mode == 1, seconds, &wait, &spread);
			if (rate < 0) {
				fprintf(stderr, "smpnet demo: %s\n", strerror(errno));
				return 1;
			}
			if (n == 1)
				base = rate;
			printf("%-7s %5d %14.0f %8.2fx %7.0f%% %11.1f%%\n", mode ? "giant" :
			    "normal", n, rate, base > 0 ? rate / base : 0, spread * 100,
			    wait * 100);
			fflush(stdout);
		}
	}
	printf("\nnormal: every CPU runs its items in parallel; giant: one lock around all "
	    "work (the A/B baseline).\n");
	return 0;
}
