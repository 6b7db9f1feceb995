/*
 * bench.h - the benchmark harness behind `smpnet bench NAME [--json]`.
 *
 * A benchmark runs its cases and, for each, its peers in the same run (giant mode, other
 * libraries, Linux), and reports every figure through bench_report(): one JSON object per
 * line with --json ({"bench","case","impl","metric","value","unit"}), an aligned table
 * otherwise.  Conventions: impl "smpnet" is normal mode, "smpnet-giant" giant mode, peers
 * use their own names; a case that depends on the CPU count carries "-Ncpu" in its name.
 * A benchmark repeats each measurement opts->repeat times and reports the median, with
 * the spread as a separate metric ("<metric>_spread", (max-min)/median), so that ratios
 * on a noisy machine can be judged.
 */
#ifndef SMPNET_BENCH_H
#define SMPNET_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bench_opts {
	bool	json;		/* one JSON object per line */
	int	repeat;		/* measurements per figure (median reported), >= 1 */
	double	seconds;	/* target duration of one measurement */
	bool	quick;		/* smaller tables and shorter runs (used by tests) */
	const char *filter;	/* only cases whose name contains this, or NULL */
};

struct bench {
	const char *name;
	const char *help;
	int (*run)(const struct bench_opts *opts);	/* 0 or negative errno */
};

/* Report one figure.  Thread-safe. */
void bench_report(const struct bench_opts *opts, const char *bench, const char *bcase,
    const char *impl, const char *metric, double value, const char *unit);

/* Report the median of n samples as metric, and (max-min)/median as metric_spread. */
void bench_report_samples(const struct bench_opts *opts, const char *bench,
    const char *bcase, const char *impl, const char *metric, double *samples, int n,
    const char *unit);

/* True if the case should run under opts->filter. */
bool bench_want(const struct bench_opts *opts, const char *bcase);

/* Monotonic wall-clock time in nanoseconds and seconds. */
uint64_t bench_now_ns(void);
double bench_now(void);

/* The benchmark table (bench/benches.c). */
extern const struct bench *const bench_table[];

/* Benchmarks' entry points. */
int bench_kern_mbuf(const struct bench_opts *opts);	/* bench_mbuf.c: part of "kern" */

#endif
