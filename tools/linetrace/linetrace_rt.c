/*
 * linetrace_rt.c - a software model of cache-line hand-offs between threads, for
 * machines without the hardware counters `perf c2c` needs (virtual machines).
 *
 * scripts/linetrace.sh compiles smpnet with clang's ThreadSanitizer instrumentation
 * (-fsanitize=thread) but links this file instead of the TSan runtime: every load,
 * store, atomic operation and memcpy/memmove/memset call of the instrumented code
 * calls one of the __tsan_* hooks below, which
 *  - keeps, per 64-byte line (a direct-mapped table tagged by line number), the thread
 *    that wrote it last and the threads that read it since;
 *  - counts a write by a thread other than the last writer (or after another thread
 *    read the line) and a thread's first read of a line another thread wrote, each
 *    under the code address of the access.
 * Each count is one line moving between two caches, as a coherence protocol would move
 * it, ignoring evictions and prefetching.  Code not compiled by the build (libc,
 * liburcu) is not seen.  Counting runs from LINETRACE_START seconds (default 1) for
 * LINETRACE_SECONDS (default 1) after the program starts; the sites with more than
 * 100 hand-offs are written to LINETRACE_OUT (default linetrace.txt) at exit as
 * "offset-in-object writes reads object-path" lines for addr2line.
 *
 * Memory orders: the table and the counters are statistics of a racy model; relaxed
 * everywhere (a lost update only blurs a count).  The program's own atomics are
 * performed here with seq_cst, stronger than whatever order it asked for.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define LT_LINES	(1u << 22)
#define LT_SITES	(1u << 16)
#define RLX		memory_order_relaxed

static _Atomic uint64_t lt_tag[LT_LINES];	/* line number held by the entry */
static _Atomic uint32_t lt_writer[LT_LINES];	/* thread id of the last writer */
static _Atomic uint32_t lt_readers[LT_LINES];	/* thread bits read since that write */
static _Atomic uintptr_t lt_site[LT_SITES];	/* code address, open addressing */
static _Atomic uint64_t lt_nw[LT_SITES], lt_nr[LT_SITES];
static _Atomic uint32_t lt_nextid = 1;
static _Atomic int lt_on;
static _Thread_local uint32_t lt_me;

static void
lt_count(uintptr_t pc, int write)
{
	uint32_t h = (uint32_t)((pc * 0x9e3779b97f4a7c15ull) >> 48) & (LT_SITES - 1);

	for (int probe = 0; probe < 64; probe++, h = (h + 1) & (LT_SITES - 1)) {
		uintptr_t cur = atomic_load_explicit(&lt_site[h], RLX);

		if (cur == 0 && atomic_compare_exchange_strong_explicit(&lt_site[h], &cur, pc,
		    RLX, RLX))
			cur = pc;
		if (cur == pc) {
			atomic_fetch_add_explicit(write ? &lt_nw[h] : &lt_nr[h], 1, RLX);
			return;
		}
	}
}

static inline void
lt_access(const volatile void *addr, int write, uintptr_t pc)
{
	uint64_t line = (uintptr_t)addr >> 6;
	uint32_t h, prev, bit, readers;

	if (!atomic_load_explicit(&lt_on, RLX))
		return;
	if (lt_me == 0)
		lt_me = atomic_fetch_add_explicit(&lt_nextid, 1, RLX);
	h = (uint32_t)((line * 0x9e3779b97f4a7c15ull) >> 40) & (LT_LINES - 1);
	if (atomic_load_explicit(&lt_tag[h], RLX) != line) {	/* first sight: no hand-off */
		atomic_store_explicit(&lt_tag[h], line, RLX);
		atomic_store_explicit(&lt_writer[h], lt_me, RLX);
		atomic_store_explicit(&lt_readers[h], 0, RLX);
		return;
	}
	prev = atomic_load_explicit(&lt_writer[h], RLX);
	bit = 1u << (lt_me & 31);
	readers = atomic_load_explicit(&lt_readers[h], RLX);
	if (write) {
		if (prev != lt_me || (readers & ~bit) != 0) {
			lt_count(pc, 1);
			atomic_store_explicit(&lt_writer[h], lt_me, RLX);
		}
		if (readers != 0)
			atomic_store_explicit(&lt_readers[h], 0, RLX);
	} else if (prev != lt_me && !(readers & bit)) {
		lt_count(pc, 0);
		atomic_fetch_or_explicit(&lt_readers[h], bit, RLX);
	}
}

static double
lt_env(const char *name, double def)
{
	const char *v = getenv(name);

	return v != NULL ? atof(v) : def;
}

static void *
lt_timer(void *arg)
{
	(void)arg;
	usleep((useconds_t)(lt_env("LINETRACE_START", 1) * 1e6));
	atomic_store_explicit(&lt_on, 1, RLX);
	usleep((useconds_t)(lt_env("LINETRACE_SECONDS", 1) * 1e6));
	atomic_store_explicit(&lt_on, 0, RLX);
	return NULL;
}

__attribute__((constructor)) static void
lt_start(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, lt_timer, NULL) == 0)
		pthread_detach(t);
}

__attribute__((destructor)) static void
lt_report(void)
{
	const char *path = getenv("LINETRACE_OUT");
	FILE *f = fopen(path != NULL ? path : "linetrace.txt", "w");

	if (f == NULL)
		return;
	for (uint32_t i = 0; i < LT_SITES; i++) {
		uintptr_t pc = atomic_load_explicit(&lt_site[i], RLX);
		uint64_t w = atomic_load_explicit(&lt_nw[i], RLX);
		uint64_t r = atomic_load_explicit(&lt_nr[i], RLX);
		Dl_info di;

		if (pc == 0 || w + r <= 100 || dladdr((void *)pc, &di) == 0)
			continue;
		/* pc is a return address: the access is the call just before it */
		fprintf(f, "%#lx %lu %lu %s\n", (unsigned long)(pc - 1 - (uintptr_t)di.dli_fbase),
		    (unsigned long)w, (unsigned long)r, di.dli_fname);
	}
	fclose(f);
}

/* ---- the hooks clang's -fsanitize=thread calls ---- */

#define LT_PC	((uintptr_t)__builtin_return_address(0))
#define LT_PLAIN(n) \
	void __tsan_read##n(void *a) { lt_access(a, 0, LT_PC); } \
	void __tsan_write##n(void *a) { lt_access(a, 1, LT_PC); } \
	void __tsan_unaligned_read##n(void *a) { lt_access(a, 0, LT_PC); } \
	void __tsan_unaligned_write##n(void *a) { lt_access(a, 1, LT_PC); }
LT_PLAIN(1) LT_PLAIN(2) LT_PLAIN(4) LT_PLAIN(8) LT_PLAIN(16)

#define SC	__ATOMIC_SEQ_CST
#define LT_RMW(n, T, op) \
	T __tsan_atomic##n##_##op(volatile T *a, T v, int mo) \
	{ (void)mo; lt_access(a, 1, LT_PC); return __atomic_##op(a, v, SC); }
#define LT_ATOMIC(n, T) \
	T __tsan_atomic##n##_load(const volatile T *a, int mo) \
	{ (void)mo; lt_access(a, 0, LT_PC); return __atomic_load_n(a, SC); } \
	void __tsan_atomic##n##_store(volatile T *a, T v, int mo) \
	{ (void)mo; lt_access(a, 1, LT_PC); __atomic_store_n(a, v, SC); } \
	T __tsan_atomic##n##_exchange(volatile T *a, T v, int mo) \
	{ (void)mo; lt_access(a, 1, LT_PC); return __atomic_exchange_n(a, v, SC); } \
	LT_RMW(n, T, fetch_add) LT_RMW(n, T, fetch_sub) LT_RMW(n, T, fetch_and) \
	LT_RMW(n, T, fetch_or) LT_RMW(n, T, fetch_xor) LT_RMW(n, T, fetch_nand) \
	int __tsan_atomic##n##_compare_exchange_strong(volatile T *a, T *c, T v, int mo, \
	    int fmo) \
	{ (void)mo; (void)fmo; lt_access(a, 1, LT_PC); \
	  return __atomic_compare_exchange_n(a, c, v, 0, SC, SC); } \
	int __tsan_atomic##n##_compare_exchange_weak(volatile T *a, T *c, T v, int mo, \
	    int fmo) \
	{ (void)mo; (void)fmo; lt_access(a, 1, LT_PC); \
	  return __atomic_compare_exchange_n(a, c, v, 1, SC, SC); } \
	T __tsan_atomic##n##_compare_exchange_val(volatile T *a, T c, T v, int mo, int fmo) \
	{ (void)mo; (void)fmo; lt_access(a, 1, LT_PC); \
	  __atomic_compare_exchange_n(a, &c, v, 0, SC, SC); return c; }
LT_ATOMIC(8, uint8_t) LT_ATOMIC(16, uint16_t) LT_ATOMIC(32, uint32_t)
LT_ATOMIC(64, uint64_t) LT_ATOMIC(128, unsigned __int128)

/* memcpy, memmove and memset: one access per line they touch */
static void
lt_range(const void *addr, unsigned long n, int write, uintptr_t pc)
{
	uintptr_t a = (uintptr_t)addr & ~(uintptr_t)63, end = (uintptr_t)addr + n;

	for (; n != 0 && a < end; a += 64)
		lt_access((const void *)a, write, pc);
}

void *
__tsan_memcpy(void *dst, const void *src, unsigned long n)
{
	lt_range(src, n, 0, LT_PC);
	lt_range(dst, n, 1, LT_PC);
	return __builtin_memcpy(dst, src, n);
}

void *
__tsan_memmove(void *dst, const void *src, unsigned long n)
{
	lt_range(src, n, 0, LT_PC);
	lt_range(dst, n, 1, LT_PC);
	return __builtin_memmove(dst, src, n);
}

void *
__tsan_memset(void *dst, int c, unsigned long n)
{
	lt_range(dst, n, 1, LT_PC);
	return __builtin_memset(dst, c, n);
}

void __tsan_atomic_thread_fence(int mo) { (void)mo; __atomic_thread_fence(SC); }
void __tsan_atomic_signal_fence(int mo) { (void)mo; __atomic_signal_fence(SC); }
void __tsan_init(void) {}
void __tsan_func_entry(void *pc) { (void)pc; }
void __tsan_func_exit(void) {}
void __tsan_acquire(void *a) { (void)a; }
void __tsan_release(void *a) { (void)a; }
void __tsan_read_range(void *a, unsigned long n) { (void)a; (void)n; }
void __tsan_write_range(void *a, unsigned long n) { (void)a; (void)n; }
void __tsan_vptr_update(void **a, void *b) { (void)a; (void)b; }
