/*
 * psz.h - passive serialization (RCU) for the stack, over liburcu's membarrier flavor.
 *
 * Readers bracket lockless lookups with psz_read_enter()/psz_read_exit(); sections nest
 * and never block.  Writers publish with psz_publish() (a release store) after
 * initialising an object, unlink it, then either psz_synchronize() (blocks for a grace
 * period; never call it inside a read section, nor while holding a lock that a
 * continuation takes) or psz_defer() (runs a callback after a grace period, on liburcu's
 * call_rcu thread).  Readers load published pointers with psz_deref() (acquire/consume).
 *
 * Threads register with liburcu lazily on their first read section and unregister when
 * they exit, so any application thread may enter the stack.
 *
 * Under ThreadSanitizer, which cannot see liburcu's grace periods, each read-section exit
 * releases and each grace period end acquires one annotation object, so that a
 * reader's last access is ordered before the deferred free.
 */
#ifndef SMPNET_KERN_PSZ_H
#define SMPNET_KERN_PSZ_H

#include <stdatomic.h>
#include <stdbool.h>

#if defined(__SANITIZE_THREAD__)
#define PSZ_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PSZ_TSAN 1
#endif
#endif

/*
 * Read sections are inline: with _LGPL_SOURCE liburcu's read lock and unlock become a few
 * instructions on the thread's reader record (initial-exec TLS) instead of two calls
 * into the shared library, each with a __tls_get_addr lookup.  Not under
 * ThreadSanitizer, which would see liburcu's reader counter in our frames and report
 * the grace-period thread's accesses to it: there the calls stay (tests/tsan.supp
 * covers liburcu's own frames).  This header must be included before any other liburcu
 * header of a file for the choice to hold.
 */
#if !defined(PSZ_TSAN) && !defined(_LGPL_SOURCE)
#define _LGPL_SOURCE 1
#endif
#include <urcu/urcu-memb.h>

#ifdef PSZ_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
extern char psz_tsan_sync;
#endif

extern _Thread_local bool psz_registered;
void psz_register_slow(void);

/* Embedded in an object freed after a grace period. */
struct psz_head {
	struct rcu_head	  ph_rcu;
	void		(*ph_fn)(struct psz_head *);
};

static inline void
psz_read_enter(void)
{
	if (__builtin_expect(!psz_registered, 0))
		psz_register_slow();
	urcu_memb_read_lock();
}

static inline void
psz_read_exit(void)
{
#ifdef PSZ_TSAN
	__tsan_release(&psz_tsan_sync);
#endif
	urcu_memb_read_unlock();
}

/* True inside a read section (for assertions). */
static inline bool
psz_read_held(void)
{
	return psz_registered && urcu_memb_read_ongoing();
}

/* Wait for every read section that began before the call to end.  May block. */
void psz_synchronize(void);

/* Run fn(head) after a grace period, on the call_rcu thread.  Never blocks. */
void psz_defer(struct psz_head *head, void (*fn)(struct psz_head *));

/* Wait until every callback deferred before the call has run.  May block. */
void psz_barrier(void);

/* Publish p into *slot (release; pairs with psz_deref's acquire). */
#define psz_publish(slot, p) \
	atomic_store_explicit((slot), (p), memory_order_release)

/* Load a published pointer (acquire; pairs with psz_publish). */
#define psz_deref(slot) \
	atomic_load_explicit((slot), memory_order_acquire)

#endif /* SMPNET_KERN_PSZ_H */
