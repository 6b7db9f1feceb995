/*
 * kern.c - the kern: CPU threads, their idle protocol, the giant lock, the clock.
 *
 * A CPU thread loops: drain its inbound hand-offs, expire due timers, run up to
 * KCPU_BATCH continuations (high priority first), push the batch's remote hand-offs
 * (one CAS and at most one wake-up per target CPU), and when it finds nothing to do it
 * polls for KCPU_SPIN_NS before it sleeps on a futex (bounded by the next timer).
 * Waking a sleeping thread on this machine class costs far more than a cache miss, so
 * producers wake a target only when it announced that it may sleep.
 *
 * Idle protocol (Dekker-style; each side writes, then reads the other's word, all four
 * accesses seq_cst, so they fall in one total order):
 *	CPU thread:  xchg(c_sleeping, 1); if (lfq_empty_sc(inbound)) futex_wait(c_sleeping, 1)
 *	producer:    push to the inbound lfq (its anchor CAS in kc_push_chain);
 *		     if (c_sleeping && xchg(c_sleeping, 0)) futex_wake
 * The push is lfq's 16-byte anchor CAS, a `lock cmpxchg16b` issued through GCC's
 * __sync builtin: a full barrier in hardware, and a seq_cst 128-bit atomic CAS in
 * ThreadSanitizer's model, so it counts as the producer's seq_cst write; the CPU
 * thread's read is lfq_empty_sc(), a seq_cst load of the anchor's head word.  (The
 * anchor is written 16 bytes at a time and read 8: C11 does not speak of such mixed
 * sizes, x86 and TSan order them as said.)
 * Either the CPU thread's read of inbound comes after the push in that order (it sees
 * the work and does not sleep) or the producer's read of c_sleeping comes after the
 * xchg (it sees 1 and wakes it).  The futex compares c_sleeping with 1 atomically with
 * going to sleep, so a wake between the check and the wait is not lost.  Stopping uses
 * the same path (seq_cst store of k_stop, then a kick).  (Read-modify-writes rather than
 * fences: ThreadSanitizer does not model fences; on x86 the cost is the same.)
 */
#include "kern/kern.h"

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kern/kassert.h"
#include "kern/kern_var.h"
#include "kern/klock.h"
#include "kern/ktime.h"
#include "kern/psz.h"

#ifdef KERN_TSAN
_Atomic unsigned long kern_tsan_membar;
#endif

#define KCPU_BATCH	64	/* continuations run between two hand-off checks */
#ifndef KCPU_SPIN_NS
#define KCPU_SPIN_NS	50000	/* idle polling before sleeping, ns */
#endif

_Thread_local struct kcpu_self kcpu_self_tls = { NULL, -1 };

static const struct klock_class giant_class = { "giant" };

void
kern_panic(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "smpnet panic at %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

uint64_t
ktime_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
ktime_now(const struct kern *k)
{
	if (__predict_false(k->k_time != NULL))
		return k->k_time->kt_now(k->k_time->kt_arg);
	return ktime_mono();
}

int
kern_ncpu(const struct kern *k)
{
	return k->k_ncpu;
}

bool
kern_giant(const struct kern *k)
{
	return k->k_giant;
}

/* --- giant lock --- */

void
kern_giant_enter(struct kern *k)
{
	if (__predict_true(!k->k_giant))
		return;
	if (kmutex_owned(&k->k_giant_mtx)) {
		k->k_giant_depth++;
		return;
	}
	kmutex_enter(&k->k_giant_mtx);
	k->k_giant_depth = 1;
}

void
kern_giant_exit(struct kern *k)
{
	if (__predict_true(!k->k_giant))
		return;
	KMUTEX_ASSERT_HELD(&k->k_giant_mtx);
	if (--k->k_giant_depth == 0)
		kmutex_exit(&k->k_giant_mtx);
}

/* --- idle protocol --- */

static void
futex_wait(_Atomic uint32_t *addr, uint32_t val, uint64_t timeout_ns)
{
	struct timespec ts = { (time_t)(timeout_ns / 1000000000u),
	    (long)(timeout_ns % 1000000000u) };

	(void)syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val,
	    timeout_ns == UINT64_MAX ? NULL : &ts, NULL, 0);
}

static void
futex_wake(_Atomic uint32_t *addr)
{
	(void)syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void
kcpu_kick(struct kcpu *c)
{
	/* Dekker: seq_cst after the caller's push (the lfq anchor CAS, a full barrier) or
	 * k_stop store; pairs with the xchg in kcpu_sleep(). */
	if (atomic_load_explicit(&c->c_sleeping, memory_order_seq_cst) != 0 &&
	    atomic_exchange_explicit(&c->c_sleeping, 0, memory_order_relaxed) != 0)
		futex_wake(&c->c_sleeping);
}

static void
kcpu_sleep(struct kcpu *c)
{
	struct kern *k = c->c_kern;
	uint64_t timeout = kcpu_next_timeout(c);

	if (timeout == 0)
		return;
	/* Dekker: seq_cst write, then seq_cst reads; pairs with the lfq anchor CAS of
	 * kc_push_chain() and kcpu_kick()'s load (and the k_stop store in
	 * kern_stop_threads()). */
	(void)atomic_exchange_explicit(&c->c_sleeping, 1, memory_order_seq_cst);
	if (lfq_empty_sc(&c->c_inq) &&
	    !atomic_load_explicit(&k->k_stop, memory_order_seq_cst)) {
		futex_wait(&c->c_sleeping, 1, timeout);
		c->c_sleeps++;
	}
	atomic_store_explicit(&c->c_sleeping, 0, memory_order_relaxed);
}

static inline void
kcpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static void *
kcpu_main(void *arg)
{
	struct kcpu *c = arg;
	struct kern *k = c->c_kern;
	uint64_t idle_since = 0;
	unsigned n, idle = 0;
	char name[16];	/* shown by ps, top and perf */

	snprintf(name, sizeof(name), "smpnet/cpu%d", c->c_idx);
	(void)pthread_setname_np(pthread_self(), name);
	kcpu_self_tls.ks_kern = k;
	kcpu_self_tls.ks_idx = c->c_idx;
	/* Acquire pairs with the release store in kern_stop_threads(). */
	while (!atomic_load_explicit(&k->k_stop, memory_order_acquire)) {
		n = kcpu_drain(c);
		n += kcpu_expire(c);
		n += kcpu_run(c, KCPU_BATCH);
		kcpu_flush(c);
		if (n != 0 || kcpu_busy(c)) {
			idle = 0;
			continue;
		}
		if (idle++ == 0)
			idle_since = ktime_mono();
		if (idle % 64 != 0 || ktime_mono() - idle_since < KCPU_SPIN_NS) {
			kcpu_relax();
			continue;
		}
		kcpu_sleep(c);
		idle = 0;
	}
	return NULL;
}

/* --- create / destroy --- */

static int
kern_online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > KERN_MAXCPU ? KERN_MAXCPU : (int)n;
}

static bool
env_true(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && strcmp(v, "1") == 0;
}

static void
kcpu_init(struct kern *k, int i)
{
	struct kcpu *c = &k->k_cpus[i];

	memset(c, 0, sizeof(*c));
	lfq_init(&c->c_inq, offsetof(struct kcont, kc_link));
	atomic_init(&c->c_sleeping, 0);
	c->c_kern = k;
	c->c_idx = i;
	c->c_wtick = ktime_now(k) >> KWHEEL_SHIFT;
	c->c_wmin = UINT64_MAX;
}

static void
kcpu_pin(struct kcpu *c)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(c->c_idx % kern_online_cpus(), &set);
	(void)pthread_setaffinity_np(c->c_thread, sizeof(set), &set);
}

/* Stop and join the first ncpu CPU threads and nw workers. */
static void
kern_stop_threads(struct kern *k, int ncpu, int nw)
{
	int i;

	/* seq_cst: release for kcpu_main()'s acquire load, and the Dekker pairing with
	 * kcpu_sleep() before the kicks below. */
	atomic_store_explicit(&k->k_stop, true, memory_order_seq_cst);
	for (i = 0; i < ncpu; i++)
		kcpu_kick(&k->k_cpus[i]);
	for (i = 0; i < ncpu; i++)
		pthread_join(k->k_cpus[i].c_thread, NULL);
	pthread_mutex_lock(&k->k_wq_mtx);
	k->k_wq_stop = true;
	pthread_cond_broadcast(&k->k_wq_cv);
	pthread_mutex_unlock(&k->k_wq_mtx);
	for (i = 0; i < nw; i++)
		pthread_join(k->k_workers[i], NULL);
}

static void
kern_free(struct kern *k)
{
	pthread_mutex_destroy(&k->k_wq_mtx);
	pthread_cond_destroy(&k->k_wq_cv);
	kmutex_fini(&k->k_giant_mtx);
	klock_registry_fini(k);
	free(k->k_workers);
	free(k->k_cpus);
	free(k);
}

/* Start the threads; 0 or a positive errno (everything started is stopped). */
static int
kern_start_threads(struct kern *k)
{
	int i, w, error = 0;

	for (i = 0; i < k->k_ncpu && error == 0; i++) {
		error = pthread_create(&k->k_cpus[i].c_thread, NULL, kcpu_main, &k->k_cpus[i]);
		if (error == 0 && !k->k_nopin)
			kcpu_pin(&k->k_cpus[i]);
	}
	if (error != 0)
		i--;
	for (w = 0; w < k->k_nworkers && error == 0; w++)
		error = pthread_create(&k->k_workers[w], NULL, kwq_main, k);
	if (error != 0) {
		if (w > 0)
			w--;
		kern_stop_threads(k, i, w);
	}
	return error;
}

static int
kern_config_check(const struct kern_config *cfg, int *ncpu, int *nw)
{
	*ncpu = cfg->ncpu != 0 ? cfg->ncpu : kern_online_cpus();
	*nw = cfg->nworkers != 0 ? cfg->nworkers : *ncpu;
	if (*ncpu < 1 || *ncpu > KERN_MAXCPU || *nw < 1 || *nw > 1024)
		return EINVAL;
	return 0;
}

static int
kern_init(struct kern *k, const struct kern_config *cfg, int ncpu, int nw)
{
	int error, i;

	k->k_ncpu = ncpu;
	k->k_nworkers = nw;
	k->k_giant = cfg->giant || env_true("SMPNET_GIANT");
	k->k_nopin = cfg->nopin || env_true("SMPNET_NOPIN");
	k->k_lockstat_hold = cfg->lockstat_hold || env_true("SMPNET_LOCKSTAT");
	k->k_time = cfg->time;
	atomic_init(&k->k_stop, false);
	pthread_mutex_init(&k->k_wq_mtx, NULL);
	pthread_cond_init(&k->k_wq_cv, NULL);
	error = klock_registry_init(k);
	if (error == 0)
		error = -kmutex_init(&k->k_giant_mtx, k, &giant_class);
	if (error != 0)
		return error;
	k->k_cpus = aligned_alloc(CACHE_LINE, sizeof(struct kcpu) * (size_t)ncpu);
	k->k_workers = calloc((size_t)nw, sizeof(pthread_t));
	if (k->k_cpus == NULL || k->k_workers == NULL)
		return ENOMEM;
	for (i = 0; i < ncpu; i++)
		kcpu_init(k, i);
	return 0;
}

struct kern *
kern_create(const struct kern_config *cfg)
{
	static const struct kern_config defaults;
	struct kern *k;
	int ncpu, nw, error;

	if (cfg == NULL)
		cfg = &defaults;
	error = kern_config_check(cfg, &ncpu, &nw);
	if (error != 0) {
		errno = error;
		return NULL;
	}
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return NULL;
	error = kern_init(k, cfg, ncpu, nw);
	if (error == 0)
		error = kern_start_threads(k);
	if (error != 0) {
		kern_free(k);
		errno = error;
		return NULL;
	}
	return k;
}

void
kern_destroy(struct kern *k)
{
	int i;

	if (k == NULL)
		return;
	KASSERT(kcpu_kern() != k);
	kern_stop_threads(k, k->k_ncpu, k->k_nworkers);
	for (i = 0; i < k->k_ncpu; i++)
		kcpu_discard(&k->k_cpus[i]);
	kwq_discard(k);
	psz_barrier();
	kern_free(k);
}
