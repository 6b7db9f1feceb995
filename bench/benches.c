/*
 * benches.c - the table of benchmarks `smpnet bench` knows.  One line per benchmark.
 */
#include "bench.h"

extern const struct bench bench_kern;
extern const struct bench bench_queue;
extern const struct bench bench_net;
extern const struct bench bench_wire;
extern const struct bench bench_inet;
extern const struct bench bench_route;

/* Temporary: the mbuf part of "kern" on its own, until the lead folds it into "kern". */
static const struct bench bench_mbuf = { "mbuf",
	"mbuf and cluster get+free: per-CPU caches vs shared layer vs giant mutex",
	bench_kern_mbuf };

const struct bench *const bench_table[] = {
	&bench_kern,
	&bench_mbuf,
	&bench_queue,
	&bench_net,
	&bench_wire,
	&bench_inet,
	&bench_route,
	NULL
};
