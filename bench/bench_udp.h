/*
 * bench_udp.h - the UDP echo engine of `smpnet bench udp`, also used by `smpnet demo`.
 */
#ifndef SMPNET_BENCH_UDP_H
#define SMPNET_BENCH_UDP_H

#include <stdbool.h>

struct udp_echo_result {
	double	rate;		/* datagrams delivered to sockets per second */
	double	per_cpu_s;	/* the same per CPU-second the process used */
	double	giant_wait;	/* giant lock: contended / acquisitions (giant mode) */
};

/*
 * Two fresh stacks on one kern of ncpu CPUs (giant or not) joined by a wire; 8 echo
 * flows per CPU, completion-driven; measure for seconds after warmup seconds.  0 or a
 * negative errno.  Blocks for the duration.
 */
int udp_echo_measure(int ncpu, bool giant, double seconds, double warmup,
    struct udp_echo_result *res);

#endif
