/*
 * kcont.h - continuations: one framework for softints, callouts and workqueue items.
 *
 * A continuation is a (function, argument) pair embedded in its owner (a socket, an
 * interface queue, a timer of a connection); the framework never allocates.  It is
 * scheduled on a CPU of its kern, optionally after a delay (then it is a callout), at a
 * priority (KC_PRIO_HIGH runs before normal items, like softint levels), optionally
 * under a kmutex taken around the function, or on the kern's worker pool (KC_WORKQ:
 * the function may sleep; it runs on whichever worker is free).
 *
 * Guarantees:
 *  - each successful kcont_schedule() (returned 0) is followed by exactly one run,
 *    unless a kcont_cancel()/kcont_halt() that returned true removed it;
 *  - the run happens on the requested CPU thread (KC_WORKQ: on a worker thread), not
 *    before the deadline as measured by ktime_now(), and timers of one CPU that expire
 *    together run in deadline order;
 *  - a continuation never runs concurrently with itself: scheduled while it runs, it is
 *    placed again only after the running call returns;
 *  - in giant mode every run holds the giant lock.
 * Hand-offs between threads are lockless (a per-CPU MPSC list); CPU threads batch them.
 *
 * At kern_destroy(), continuations still pending are discarded (they never run).
 */
#ifndef SMPNET_KERN_KCONT_H
#define SMPNET_KERN_KCONT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "kern/kern.h"

struct kmutex;

#define KCPU_CURRENT	(-1)	/* the calling CPU; CPU 0 from a non-CPU thread */

#define KC_PRIO_HIGH	0x1u	/* run before normal-priority items */
#define KC_WORKQ	0x2u	/* run on the worker pool; fn may sleep */

/*
 * Field annotations beyond docs/locking.md's: [K] under the state word's bit lock
 * (kcont.c), [H] touched only by the thread of the CPU that holds the item (kc_holder),
 * or under k_wq_mtx while it is in the worker list.
 */
struct kcont {
	struct kcont		*kc_next;	/* [H] MPSC inbound link (or notice link) */
	struct kcont		*kc_lnext;	/* [H] run-queue, wheel or worker-list link */
	struct kcont		*kc_lprev;	/* [H] */
	_Atomic uint32_t	 kc_state;	/* [a] KCS_* bits + location; see kcont.c */
	int16_t			 kc_holder;	/* [K] CPU whose lists hold it */
	int16_t			 kc_cpu;	/* [K] requested CPU */
	uint64_t		 kc_deadline;	/* [K] requested run time (ktime), 0 = now */
	uint64_t		 kc_wdeadline;	/* [H] deadline it sits in the wheel with */
	void			(*kc_fn)(void *);	/* [I] */
	void			*kc_arg;	/* [I] */
	struct kmutex		*kc_lock;	/* [I] taken around fn, or NULL */
	struct kern		*kc_kern;	/* [I] */
	unsigned		 kc_flags;	/* [I] KC_* */
};

/*
 * Initialise kc (idle).  lock, if not NULL, is entered around every call of fn.  Never
 * blocks; kc must not be pending or running (a fresh or halted continuation).
 */
void kcont_init(struct kcont *kc, struct kern *k, void (*fn)(void *), void *arg,
    struct kmutex *lock, unsigned flags);

/*
 * Schedule kc to run on CPU cpu (an index < kern_ncpu, or KCPU_CURRENT) after delay_ns
 * (0: as soon as possible).  Returns 0 if newly scheduled, -EALREADY if already pending
 * (nothing changes: the earlier request stands), -EINVAL for a bad cpu.  Never blocks
 * (it may spin for a few instructions on kc's state); callable from any thread,
 * including kc's own fn (it then runs again after the current call returns).
 */
int kcont_schedule(struct kcont *kc, int cpu, uint64_t delay_ns);

/*
 * Remove a pending run.  True if one was removed (the matching schedule will not run);
 * false if kc was not pending.  A run already in progress continues.  Never blocks.
 */
bool kcont_cancel(struct kcont *kc);

/*
 * Cancel, then wait until kc is neither pending, running, nor referenced by any list of
 * the kern, so that its owner may free it.  Returns the number of pending runs it
 * removed: 0 or 1, more only if other threads kept scheduling kc meanwhile (each such
 * schedule is cancelled; halt returns once none is pending).  May block.  Never call it
 * from kc's own fn, nor holding kc's lock (the running call may need it).  A caller
 * holding the giant lock releases it while it waits (so state guarded by giant may
 * change across the call).  From a CPU thread it keeps handling that CPU's hand-offs
 * while it waits.
 */
unsigned kcont_halt(struct kcont *kc);

/* True if a run is pending (a snapshot).  Never blocks. */
bool kcont_pending(const struct kcont *kc);

#endif /* SMPNET_KERN_KCONT_H */
