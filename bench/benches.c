/*
 * benches.c - the table of benchmarks `smpnet bench` knows.  One line per benchmark.
 */
#include "bench.h"

extern const struct bench bench_route;


const struct bench *const bench_table[] = {
	&bench_route,

	NULL
};
