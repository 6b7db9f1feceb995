/*
 * bench.c - reporting helpers shared by every benchmark.
 */
#include "bench.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;

uint64_t
bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double
bench_now(void)
{
	return (double)bench_now_ns() / 1e9;
}

bool
bench_want(const struct bench_opts *opts, const char *bcase)
{
	return opts->filter == NULL || strstr(bcase, opts->filter) != NULL;
}

void
bench_report(const struct bench_opts *opts, const char *bench, const char *bcase,
    const char *impl, const char *metric, double value, const char *unit)
{
	pthread_mutex_lock(&report_lock);
	if (opts->json)
		printf("{\"bench\":\"%s\",\"case\":\"%s\",\"impl\":\"%s\",\"metric\":\"%s\","
		    "\"value\":%.6g,\"unit\":\"%s\"}\n", bench, bcase, impl, metric, value,
		    unit != NULL ? unit : "");
	else
		printf("%-8s %-28s %-16s %-18s %14.6g %s\n", bench, bcase, impl, metric, value,
		    unit != NULL ? unit : "");
	fflush(stdout);
	pthread_mutex_unlock(&report_lock);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void
bench_report_samples(const struct bench_opts *opts, const char *bench, const char *bcase,
    const char *impl, const char *metric, double *samples, int n, const char *unit)
{
	char spread[64];
	double med;

	if (n <= 0)
		return;
	qsort(samples, (size_t)n, sizeof(*samples), cmp_double);
	med = n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
	bench_report(opts, bench, bcase, impl, metric, med, unit);
	if (n > 1) {
		snprintf(spread, sizeof(spread), "%s_spread", metric);
		bench_report(opts, bench, bcase, impl, spread,
		    med != 0 ? (samples[n - 1] - samples[0]) / med : 0, "ratio");
	}
}
