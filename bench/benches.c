/*
 * benches.c - the table of benchmarks `smpnet bench` knows.  One line per benchmark.
 */
#include "bench.h"
#include "bench_socket.h"

static const struct bench bench_udp = { "udp",
	"UDP datagrams/s between two stacks over a wire, 1 and 2 CPUs, normal vs giant",
	bench_udp_run };
static const struct bench bench_demux = { "demux",
	"PCB lookups/s with 1M bound and connected PCBs during inserts and removes",
	bench_demux_run };
static const struct bench bench_lrp = { "lrp",
	"delivered vs offered UDP rate under overload, eager vs lazy receive processing",
	bench_lrp_run };

extern const struct bench bench_kern;
extern const struct bench bench_queue;
extern const struct bench bench_net;
extern const struct bench bench_wire;

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
	&bench_udp,
	&bench_demux,
	&bench_lrp,
	NULL
};
