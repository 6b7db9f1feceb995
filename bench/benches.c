/*
 * benches.c - the table of benchmarks `smpnet bench` knows, built from benches.def (one
 * BENCH(name) line per benchmark; each file defines `const struct bench bench_<name>`).
 */
#include "bench.h"

#define BENCH(name) extern const struct bench bench_##name;
#include "benches.def"
#undef BENCH

const struct bench *const bench_table[] = {
#define BENCH(name) &bench_##name,
#include "benches.def"
#undef BENCH
	NULL
};
