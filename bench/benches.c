/*
 * benches.c - the table of benchmarks `smpnet bench` knows.  One line per benchmark.
 */
#include "bench.h"



const struct bench *const bench_table[] = {

	NULL
};
