/*
 * stress_common.h - helpers shared by the queue stress tests: the seed (fixed, printed,
 * overridable with STRESS_SEED=N to replay a failure), a per-thread PRNG, a wall-clock
 * deadline so that no test runs away on a loaded machine, and thread start/join.
 */
#ifndef SMPNET_TESTS_STRESS_COMMON_H
#define SMPNET_TESTS_STRESS_COMMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define STRESS_DEFAULT_SEED	20261128u
#define STRESS_MAX_THREADS	8

/* ThreadSanitizer runs 5-20x slower (more with threads waiting on each other): divide the work so each test stays under ~30 s. */
#if defined(__SANITIZE_THREAD__)
#define STRESS_DIV	10
#else
#define STRESS_DIV	1
#endif

static inline uint64_t
stress_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline unsigned
stress_seed(void)
{
	const char *s = getenv("STRESS_SEED");
	unsigned seed = s != NULL ? (unsigned)strtoul(s, NULL, 0) : STRESS_DEFAULT_SEED;

	printf("# seed %u (replay with STRESS_SEED=%u)\n", seed, seed);
	return seed;
}

/* xorshift32: small, per thread, deterministic given its seed. */
static inline uint32_t
stress_rand(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

/* Run fn(arg + i * argsz) on n threads and wait for all of them. */
static inline void
stress_run(int n, void *(*fn)(void *), void *arg, size_t argsz)
{
	pthread_t t[STRESS_MAX_THREADS];

	if (n > STRESS_MAX_THREADS)
		abort();
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, fn, (char *)arg + (size_t)i * argsz) != 0)
			abort();
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
}

/*
 * ABA tortures: an item's owner word is 0 while queued, else its holder's id + 1, and the
 * holder stamps the item's payload.  Claim a just-popped item (false: it was not free,
 * i.e. handed out twice); unclaim it before pushing it back (false: not ours or the stamp
 * was overwritten).
 */
static inline bool
stress_claim(_Atomic int *owner, uint64_t *payload, int id, uint32_t stamp)
{
	int free_ = 0;
	/* Relaxed: the queue's own ordering hands the item over; this only counts. */
	bool ok = atomic_compare_exchange_strong_explicit(owner, &free_, id + 1,
	    memory_order_relaxed, memory_order_relaxed);

	*payload = (uint64_t)id << 32 | stamp;
	return ok;
}

static inline bool
stress_unclaim(_Atomic int *owner, const uint64_t *payload, int id)
{
	bool ok = *payload >> 32 == (uint64_t)id &&
	    atomic_load_explicit(owner, memory_order_relaxed) == id + 1;

	atomic_store_explicit(owner, 0, memory_order_relaxed);
	return ok;
}

#endif
