/*
 * ktime.h - the stack's clock.
 *
 * ktime_now(k) is monotonic time in nanoseconds from an arbitrary origin.  By default it
 * reads CLOCK_MONOTONIC; a simulator replaces it by passing a struct ktime_ops in
 * kern_config.time, whose now() must be monotonic and callable from any thread.  Timers
 * (kcont_schedule with a delay) measure their deadlines with this clock, so a simulated
 * clock drives them (the CPU threads still sleep at most one wheel tick of real time
 * while timers are armed, then re-read the clock).
 */
#ifndef SMPNET_KERN_KTIME_H
#define SMPNET_KERN_KTIME_H

#include <stdint.h>

struct kern;

struct ktime_ops {
	uint64_t (*kt_now)(void *arg);	/* [I] ns, monotonic, thread-safe */
	void	*kt_arg;		/* [I] */
};

/* Now, in ns.  Never blocks; any thread. */
uint64_t ktime_now(const struct kern *k);

/* CLOCK_MONOTONIC in ns (the default clock). */
uint64_t ktime_mono(void);

#endif /* SMPNET_KERN_KTIME_H */
