/*
 * bench_socket.h - entry points of the socket-layer benchmarks (bench_udp.c,
 * bench_demux.c, bench_lrp.c), for the table in benches.c.
 */
#ifndef SMPNET_BENCH_SOCKET_H
#define SMPNET_BENCH_SOCKET_H

#include "bench.h"

int bench_udp_run(const struct bench_opts *opts);
int bench_demux_run(const struct bench_opts *opts);
int bench_lrp_run(const struct bench_opts *opts);

#endif
