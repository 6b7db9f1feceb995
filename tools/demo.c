/*
 * demo.c - `smpnet demo [--seconds S] [--cpus N]`: giant vs MP mode across CPU counts,
 * with real traffic.
 *
 * Each row runs two fresh stacks on one kern of N CPU threads, joined by an in-memory
 * Ethernet wire with N queues (RSS with a symmetric key, so a flow and its replies stay
 * on one CPU), IPv4 with ARP, and UDP: stack A runs an echo service on port 7 (one
 * SO_REUSEPORT socket per CPU), stack B runs 8 client flows per CPU, each keeping 8
 * datagrams in flight.  Every receive is completion-based: the callbacks run on the CPU
 * threads, so UDP echo runs from every CPU with no application thread.  The table shows
 * the median datagrams per second of DEMO_REPEAT runs, the speed-up over 1 CPU in that
 * mode, the spread ((max - min) / median), how often the giant lock had to be waited
 * for (contended / acquisitions), and the datagrams per CPU-second the process used
 * (on a shared machine the CPU threads may get less than their cores: a flat
 * per-CPU-second rate means the work parallelises at no extra cost).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_udp.h"
#include "kern/kern.h"
#include "smpnet.h"

#define DEMO_REPEAT		3	/* measurements per row (median shown) */

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
demo_row(int ncpu, bool giant, double seconds, double *wait, double *spread,
    double *per_cpu)
{
	double r[DEMO_REPEAT], w[DEMO_REPEAT], c[DEMO_REPEAT];
	struct udp_echo_result res;
	int i, err;

	for (i = 0; i < DEMO_REPEAT; i++) {
		if ((err = udp_echo_measure(ncpu, giant, seconds, 0.05, &res)) != 0) {
			errno = -err;
			return -1;
		}
		r[i] = res.rate;
		w[i] = res.giant_wait;
		c[i] = res.per_cpu_s;
	}
	qsort(r, DEMO_REPEAT, sizeof(r[0]), demo_cmp);
	qsort(w, DEMO_REPEAT, sizeof(w[0]), demo_cmp);
	qsort(c, DEMO_REPEAT, sizeof(c[0]), demo_cmp);
	*wait = w[DEMO_REPEAT / 2];
	*per_cpu = c[DEMO_REPEAT / 2];
	*spread = (r[DEMO_REPEAT - 1] - r[0]) / r[DEMO_REPEAT / 2];
	return r[DEMO_REPEAT / 2];
}

int
cmd_demo(int argc, char **argv)
{
	double seconds = 0.3, base, rate, wait, spread, per_cpu;
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	int maxcpu = online < 1 ? 1 : online > KERN_MAXCPU ? KERN_MAXCPU : (int)online;
	int mode, n;

	if (demo_args(argc, argv, &seconds, &maxcpu) != 0) {
		fprintf(stderr, "usage: smpnet demo [--seconds S] [--cpus N]\n");
		return 2;
	}
	printf("smpnet demo: UDP echo between two stacks over an in-memory wire, 8 flows "
	    "per CPU, median of %d x %.2f s per row\n\n", DEMO_REPEAT, seconds);
	printf("%-7s %5s %14s %9s %8s %12s %16s\n", "mode", "cpus", "datagrams/s",
	    "speed-up", "spread", "giant waits", "datagrams/cpu-s");
	for (mode = 0; mode < 2; mode++) {
		base = 0;
		for (n = 1; n <= maxcpu; n++) {
			rate = demo_row(n, mode == 1, seconds, &wait, &spread, &per_cpu);
			if (rate < 0) {
				fprintf(stderr, "smpnet demo: %s\n", strerror(errno));
				return 1;
			}
			if (n == 1)
				base = rate;
			printf("%-7s %5d %14.0f %8.2fx %7.0f%% %11.1f%% %16.0f\n", mode ?
			    "giant" : "normal", n, rate, base > 0 ? rate / base : 0, spread * 100,
			    wait * 100, per_cpu);
			fflush(stdout);
		}
	}
	printf("\nnormal: every CPU runs its flows in parallel; giant: one lock around all "
	    "network processing (the A/B baseline).\n");
	return 0;
}
