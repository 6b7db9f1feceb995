/*
 * stress_util.h - small helpers shared by the kern stress tests: CHECK (report and
 * count a failed invariant), bounded waits, a monotonic clock.
 */
#ifndef SMPNET_TESTS_STRESS_UTIL_H
#define SMPNET_TESTS_STRESS_UTIL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static int stress_failures;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,	\
		    __LINE__, #cond);					\
		stress_failures++;					\
	}								\
} while (0)

static inline uint64_t
stress_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void
stress_nap(long ns)
{
	struct timespec ts = { 0, ns };

	nanosleep(&ts, NULL);
}

/* Wait (at most 20 s) until *v >= want. */
static inline bool
stress_wait_ge(_Atomic long *v, long want)
{
	uint64_t end = stress_now() + 20000000000ull;

	while (atomic_load(v) < want) {
		if (stress_now() > end)
			return false;
		stress_nap(200000);
	}
	return true;
}

static inline int
stress_result(const char *name)
{
	printf("[==========] %s: %s\n", name, stress_failures ? "FAILED" : "PASSED");
	return stress_failures ? 1 : 0;
}

#endif
