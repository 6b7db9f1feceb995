/*
 * klock.h - locks with statistics: kmutex (adaptive mutex: spins briefly while the
 * owner runs, then sleeps), krwlock (readers/writer), kspin (spin lock for a few
 * instructions).
 *
 * Every lock belongs to a class, a const descriptor with a name that protocol code
 * defines without a mutable global:
 *	static const struct klock_class tcp_pcb_class = { "tcp_pcb" };
 *	kmutex_init(&pcb->lock, k, &tcp_pcb_class);
 * The init call looks up (creating on first use) that class's statistics in the kern's
 * registry; classes with the same name share statistics.  Statistics are per-CPU cells
 * (pcpu.h) of: acquisitions, contended acquisitions (the first try failed), and total
 * hold time.  Acquisitions and contention are always counted (one uncontended owner
 * cache line per CPU: the cost is a load and a store).  Hold time is measured only when
 * the kern was created with lockstat_hold (or SMPNET_LOCKSTAT=1), in TSC cycles on x86
 * (ns elsewhere), because reading a clock twice per critical section would cost more
 * than the critical section itself on the data path.  Writer hold time only for krwlock.
 *
 * Ownership: kmutex, kspin and krwlock writers record their owner thread, so
 * KASSERT-style "I hold this" checks work (KMUTEX_ASSERT_HELD etc., active when
 * !NDEBUG).  Readers of a krwlock are not tracked.
 *
 * Lock order (debug builds, !NDEBUG): each thread keeps the classes it holds; taking a
 * lock of class B while holding class A records "A before B" in the kern; if "B before
 * A" was seen earlier, the reversal is reported on stderr (once per pair) and counted
 * (klock_order_violations()); with SMPNET_LOCKORDER_PANIC=1 it panics.  Classes nested
 * in themselves (two locks of one class) are not checked.
 *
 * Calling context: kmutex_enter and krwlock_*_enter may block (sleep); kspin_enter
 * spins (yielding the CPU after a while).  None may be entered recursively.  Never
 * hold any of them across psz_synchronize() if a continuation may take it.
 */
#ifndef SMPNET_KERN_KLOCK_H
#define SMPNET_KERN_KLOCK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "kern/kassert.h"
#include "kern/kern.h"

struct klock_class {
	const char	*lc_name;	/* [I] */
};

struct klock_pcpu;			/* per-CPU statistics cells (klock.c) */

struct klock_stats {
	struct klock_stats	*ls_next;	/* [W] registry lock */
	const char		*ls_name;	/* [I] */
	struct klock_pcpu	*ls_pcpu;	/* [I] per-CPU cells */
	const struct kern	*ls_kern;	/* [I] */
	int			 ls_index;	/* [I] registration order (lock-order checker) */
};

/* Thread identity for owner checks: never 0 for a live thread. */
extern _Thread_local char klock_self_token;
static inline uintptr_t
klock_self(void)
{
	return (uintptr_t)&klock_self_token;
}

struct kmutex {
	pthread_mutex_t		 km_mtx;
	_Atomic uintptr_t	 km_owner;	/* [a] klock_self() of the holder, or 0 */
	uint64_t		 km_since;	/* [L] hold-time start (lockstat_hold) */
	struct klock_stats	*km_stats;	/* [I] */
	bool			 km_hold;	/* [I] measure hold time */
};

struct krwlock {
	pthread_rwlock_t	 kr_rw;
	_Atomic uintptr_t	 kr_writer;	/* [a] writer's klock_self(), or 0 */
	uint64_t		 kr_since;	/* [L] writer hold-time start */
	struct klock_stats	*kr_stats;	/* [I] */
	bool			 kr_hold;	/* [I] */
};

struct kspin {
	_Atomic uintptr_t	 ks_owner;	/* [a] holder's klock_self(), 0 when free */
	uint64_t		 ks_since;	/* [L] */
	struct klock_stats	*ks_stats;	/* [I] */
	bool			 ks_hold;	/* [I] */
};

/* Constructors: 0, -ENOMEM (class statistics), or a pthread error negated.  May block. */
int kmutex_init(struct kmutex *m, struct kern *k, const struct klock_class *cls);
void kmutex_fini(struct kmutex *m);
void kmutex_enter(struct kmutex *m);		/* may block */
bool kmutex_tryenter(struct kmutex *m);	/* never blocks; counts a failure as contention */
void kmutex_exit(struct kmutex *m);
static inline bool
kmutex_owned(const struct kmutex *m)
{
	return atomic_load_explicit(&m->km_owner, memory_order_relaxed) == klock_self();
}

int krwlock_init(struct krwlock *rw, struct kern *k, const struct klock_class *cls);
void krwlock_fini(struct krwlock *rw);
void krwlock_read_enter(struct krwlock *rw);	/* may block */
void krwlock_write_enter(struct krwlock *rw);	/* may block */
void krwlock_exit(struct krwlock *rw);		/* releases a read or the write hold */
static inline bool
krwlock_write_owned(const struct krwlock *rw)
{
	return atomic_load_explicit(&rw->kr_writer, memory_order_relaxed) == klock_self();
}

int kspin_init(struct kspin *s, struct kern *k, const struct klock_class *cls);
void kspin_fini(struct kspin *s);
void kspin_enter(struct kspin *s);		/* spins; never sleeps */
bool kspin_tryenter(struct kspin *s);
void kspin_exit(struct kspin *s);
static inline bool
kspin_owned(const struct kspin *s)
{
	return atomic_load_explicit(&s->ks_owner, memory_order_relaxed) == klock_self();
}

#define KMUTEX_ASSERT_HELD(m)	KASSERT(kmutex_owned(m))
#define KMUTEX_ASSERT_NOTHELD(m) KASSERT(!kmutex_owned(m))
#define KRWLOCK_ASSERT_WRITE(rw) KASSERT(krwlock_write_owned(rw))
#define KSPIN_ASSERT_HELD(s)	KASSERT(kspin_owned(s))
#define KSPIN_ASSERT_NOTHELD_(s) KASSERT(!kspin_owned(s))

/* A snapshot of one class's statistics, summed over the CPUs. */
struct klock_stat {
	const char	*name;
	uint64_t	 acquisitions;
	uint64_t	 contended;
	uint64_t	 hold;		/* cycles (x86 TSC) or ns; 0 unless lockstat_hold */
};

/*
 * Call cb once per class registered in k, in registration order.  cb must not create
 * new classes.  May block (takes the registry lock).
 */
void klock_stats_foreach(struct kern *k, void (*cb)(const struct klock_stat *, void *),
    void *arg);

/* Lock-order reversals seen so far in k (debug builds; always 0 with NDEBUG). */
uint64_t klock_order_violations(const struct kern *k);

/* Statistics of the class named name; 0 or -ENOENT.  May block. */
int klock_stats_get(struct kern *k, const char *name, struct klock_stat *out);

#endif /* SMPNET_KERN_KLOCK_H */
