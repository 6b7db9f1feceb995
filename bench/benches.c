/*
 * benches.c - the table of benchmarks `smpnet bench` knows, built from benches.def (one
 * BENCH(name) line per benchmark; each file defines `const struct bench bench_<name>`).
 */
#include "bench.h"

#define BENCH(name) extern const struct bench bench_##name;
#include "benches.def"
#undef BENCH

/* Temporary: the mbuf part of "kern" on its own, until "kern" reports it. */
const struct bench bench_mbuf = { "mbuf",
	"mbuf and cluster get+free: per-CPU caches vs shared layer vs giant mutex",
	bench_kern_mbuf };

const struct bench *const bench_table[] = {
#define BENCH(name) &bench_##name,
#include "benches.def"
#undef BENCH
	NULL
};
