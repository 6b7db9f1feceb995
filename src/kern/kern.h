/*
 * kern.h - the platform instance ("kern"): the CPUs a stack runs on.
 *
 * A kern owns N CPU threads (default: the online cores), each pinned, each with its own
 * continuation queues, timer wheel, object-pool caches and counters; a worker pool for
 * continuations that may sleep; the giant lock; the clock; and the lock-class registry.
 * Several stacks (vnets) may share one kern, and a process may hold several kerns (a
 * 1-CPU and a 2-CPU one side by side, a normal and a giant one).  Everything protocol code
 * needs from its host comes through this layer, so the protocol code could move into a
 * kernel where kern is the kernel itself.
 *
 * src/kern/ is the only place allowed mutable process-wide state (the thread-local
 * "current CPU" below, the RCU registration).
 */
#ifndef SMPNET_KERN_H
#define SMPNET_KERN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CACHE_LINE	64
#define __cacheline_aligned	__attribute__((aligned(CACHE_LINE)))
/*
 * What different CPUs write must also keep CACHE_PAIR apart: the adjacent-line (spatial)
 * prefetchers of current x86 cores move 64-byte lines in aligned 128-byte pairs.
 */
#define CACHE_PAIR	128
#define __cachepair_aligned	__attribute__((aligned(CACHE_PAIR)))
#define __predict_true(x)	__builtin_expect(!!(x), 1)
#define __predict_false(x)	__builtin_expect(!!(x), 0)
#ifndef container_of
#define container_of(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))
#endif

#define KERN_MAXCPU	64

#if defined(__SANITIZE_THREAD__)
#define KERN_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KERN_TSAN 1
#endif
#endif

/*
 * membar_sync(): a full (store-load) barrier, for Dekker-style pairings ("publish, then
 * check whether the other side sleeps" against "announce sleeping, then re-check").
 * ThreadSanitizer does not model fences (gcc refuses them under -fsanitize=thread), so
 * there it is a seq_cst read-modify-write of one shared word: TSan orders every pair of
 * such barriers, and on the hardware it is a full barrier too.
 */
#if defined(KERN_TSAN) && !defined(SMPNET_LINETRACE)	/* linetrace: see tools/linetrace */
extern _Atomic unsigned long kern_tsan_membar;
#define membar_sync() \
	((void)atomic_fetch_add_explicit(&kern_tsan_membar, 0, memory_order_seq_cst))
#else
#define membar_sync()	atomic_thread_fence(memory_order_seq_cst)
#endif

struct kern;
struct ktime_ops;

struct kern_config {
	int	ncpu;		/* CPU threads; 0 = online cores; at most KERN_MAXCPU */
	int	nworkers;	/* worker-pool threads for sleeping continuations; 0 = ncpu */
	bool	giant;		/* one global mutex around all work; SMPNET_GIANT=1 forces it */
	bool	nopin;		/* do not pin CPU threads to cores; SMPNET_NOPIN=1 forces it */
	const struct ktime_ops *time;	/* NULL: the monotonic clock (ktime.h) */
	bool	lockstat_hold;	/* measure lock hold times (klock.h); SMPNET_LOCKSTAT=1 forces it */
};

/*
 * Create a kern and start its CPU threads.  Returns NULL with errno set (EINVAL for a
 * bad config, ENOMEM, or the error of thread creation).  May block.
 */
struct kern *kern_create(const struct kern_config *cfg);

/*
 * Stop the CPU threads (pending continuations are run or discarded, as documented in
 * kcont.h), wait for RCU callbacks, free everything.  Must not be called from a thread of
 * this kern.  Every object allocated from its pools must have been returned.
 */
void kern_destroy(struct kern *k);

int kern_ncpu(const struct kern *k);
bool kern_giant(const struct kern *k);

/*
 * The giant lock.  In giant mode every continuation, timer and socket call runs between
 * kern_giant_enter() and kern_giant_exit(); in normal mode both are a predicted-false
 * branch.  Recursive on the owning thread (a socket call made from a continuation).
 */
void kern_giant_enter(struct kern *k);
void kern_giant_exit(struct kern *k);

/*
 * The calling thread's CPU.  Each CPU thread of a kern sets this once; any other thread
 * (an application thread calling into a stack) has k == NULL and idx == -1.
 */
struct kcpu_self {
	struct kern	*ks_kern;
	int		 ks_idx;
};
extern _Thread_local struct kcpu_self kcpu_self_tls;

/* Index of the calling thread's CPU in k, or -1 if it is not one of k's CPU threads. */
static inline int
kcpu_index(const struct kern *k)
{
	return kcpu_self_tls.ks_kern == k ? kcpu_self_tls.ks_idx : -1;
}

/* The calling CPU thread's kern, or NULL. */
static inline struct kern *
kcpu_kern(void)
{
	return kcpu_self_tls.ks_kern;
}

/*
 * Per-CPU slot for k: the CPU index on a CPU thread of k, kern_ncpu(k) on any other
 * thread (the one shared "foreign" slot, which must be updated atomically).  Per-CPU
 * arrays therefore have kern_ncpu(k) + 1 entries.
 */
static inline int
kcpu_slot(const struct kern *k, int ncpu)
{
	int idx = kcpu_index(k);

	return idx >= 0 ? idx : ncpu;
}

#endif /* SMPNET_KERN_H */
