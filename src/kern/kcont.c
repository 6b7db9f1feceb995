/*
 * kcont.c - continuations: state machine, placement, hand-off, timer wheel, running.
 *
 * Words.  A continuation is *pending* (P) between a successful schedule and the start
 * of its run (or a cancel), *running* (R) while its fn executes, and *held* by at most
 * one place at a time, its *location*:
 *	NONE	in no list
 *	INBOUND	in transit to CPU kc_holder: in some CPU's outbox, in kc_holder's
 *		inbound MPSC list, or in the list kc_holder took from it (link kc_next)
 *	RUNQ	in kc_holder's run queue (links kc_lnext/kc_lprev)
 *	WHEEL	in kc_holder's timer wheel (same links)
 *	WORKQ	in the kern's worker list (same links, under k_wq_mtx)
 * A *notice* (N) is a second, independent presence of a WHEEL item in its holder's
 * inbound (through kc_next), sent by a thread that is not the holder when the item must
 * leave the wheel early (re-armed, or halted): only the holder may touch its wheel.
 *
 * The state word kc_state holds P, R, N, the location and a LOCK bit.  LOCK is a tiny
 * bit lock taken by CAS (acquire) and released by a store (release); it guards the
 * state word and the request fields kc_cpu, kc_deadline, kc_holder, and is held for a
 * few instructions only (never across fn, never while sleeping).  Physical lists are
 * owned by their holder: only CPU kc_holder's thread links or unlinks the item in its
 * run queue or wheel ([H]); MPSC pushes are the only operation other threads do.
 *
 * Transitions (all under LOCK):
 *	schedule: !P -> P, records (cpu, deadline); if location is NONE and !R, *places*
 *		  the item now; otherwise whoever holds it (or the runner, when R) places
 *		  it when it next handles it.
 *	place:	  (P, !R, NONE) -> wheel of this CPU (deadline ahead, cpu == self), run
 *		  queue of this CPU (due, cpu == self), worker list (due, KC_WORKQ), or
 *		  INBOUND of the target CPU (otherwise; batched in the outbox on a CPU
 *		  thread, pushed at once from other threads).
 *	arrive:	  the holder takes an item from its inbound: clears N / leaves the wheel,
 *		  sets NONE, places it if P.
 *	expire:	  the holder takes a due item out of its wheel: NONE (or INBOUND if a
 *		  notice is in flight, which will place it), places it if P.
 *	run:	  the holder pops it from the run queue: NONE; if !P drop (cancelled); if
 *		  the request changed meanwhile (other CPU, a deadline) place again; else
 *		  P -> R, unlock, fn, lock, !R, place again if scheduled during fn.
 *	cancel:	  P -> !P; a run or wheel item held by the caller's own CPU is unlinked
 *		  at once, anything else is dropped by its holder when met (logical cancel).
 *	halt:	  cancel, then repeat until !P, !R, NONE: send a notice for a WHEEL item
 *		  of another CPU, drain the caller's own inbound/outbox if it is a CPU.
 * Invariants: R implies NONE; N implies WHEEL or INBOUND; kc_next is used by at most
 * one list (an item is INBOUND or has a notice in flight, never both: a notice is sent
 * only for WHEEL, and leaving the wheel with N set goes to INBOUND without a new push);
 * every P is consumed by exactly one run or one successful cancel.
 *
 * Hand-off: a Treiber-style push of a chain onto the target's inbound head (release
 * CAS), consumed by one exchange-all (acquire) and a reversal, so the order from one
 * producer is kept.  kc_push_chain() is the only place that knows the list's shape.
 *
 * Timer wheel: KWHEEL_SLOTS buckets hashed by deadline tick (2^KWHEEL_SHIFT ns); each
 * scan visits the buckets of the ticks elapsed since the last scan (all of them after a
 * long gap) and removes items whose deadline has passed; the removed items are sorted
 * by deadline before they are run, so timers that expire together run in deadline
 * order and never before their deadline.
 */
#include "kern/kcont.h"

#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <time.h>

#include "kern/kassert.h"
#include "kern/kern_var.h"
#include "kern/klock.h"
#include "kern/ktime.h"

#define KCS_LOCK	0x01u
#define KCS_PENDING	0x02u
#define KCS_RUNNING	0x04u
#define KCS_NOTICE	0x08u
#define KCS_LOCSHIFT	4
#define KCS_LOCMASK	(0x7u << KCS_LOCSHIFT)

#ifndef KCPU_FLUSH_EVERY
#define KCPU_FLUSH_EVERY 1	/* runs between two pushes of the outboxes */
#endif

enum { LOC_NONE, LOC_INBOUND, LOC_RUNQ, LOC_WHEEL, LOC_WORKQ };

_Static_assert(sizeof(struct kcont) <= 96, "kcont stays small: it is embedded everywhere");

static inline unsigned
kcs_loc(uint32_t s)
{
	return (s & KCS_LOCMASK) >> KCS_LOCSHIFT;
}

static inline uint32_t
kcs_setloc(uint32_t s, unsigned loc)
{
	return (s & ~KCS_LOCMASK) | (loc << KCS_LOCSHIFT);
}

static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Back off while waiting for another thread: spin, then yield, then sleep briefly. */
static void
kc_backoff(unsigned *n)
{
	struct timespec ts = { 0, 20000 };

	if (*n < 64)
		cpu_relax();
	else if (*n < 128)
		sched_yield();
	else
		nanosleep(&ts, NULL);
	(*n)++;
}

/* Take kc's bit lock; returns the state without LOCK. */
static uint32_t
kc_lock(struct kcont *kc)
{
	unsigned n = 0;
	uint32_t s;

	for (;;) {
		s = atomic_load_explicit(&kc->kc_state, memory_order_relaxed);
		/* Acquire pairs with the release store in kc_unlock(). */
		if (!(s & KCS_LOCK) && atomic_compare_exchange_weak_explicit(&kc->kc_state,
		    &s, s | KCS_LOCK, memory_order_acquire, memory_order_relaxed))
			return s;
		kc_backoff(&n);
	}
}

static inline void
kc_unlock(struct kcont *kc, uint32_t s)
{
	KASSERT(!(s & KCS_LOCK));
	/* Release pairs with the acquire CAS in kc_lock() and loads in kcont_pending(). */
	atomic_store_explicit(&kc->kc_state, s, memory_order_release);
}

/* --- doubly-linked lists (run queues, wheel buckets, worker list) --- */

static void
klist_append(struct klist *l, struct kcont *kc)
{
	kc->kc_lnext = NULL;
	kc->kc_lprev = l->kl_tail;
	if (l->kl_tail != NULL)
		l->kl_tail->kc_lnext = kc;
	else
		l->kl_head = kc;
	l->kl_tail = kc;
}

static void
klist_remove(struct klist *l, struct kcont *kc)
{
	if (kc->kc_lprev != NULL)
		kc->kc_lprev->kc_lnext = kc->kc_lnext;
	else
		l->kl_head = kc->kc_lnext;
	if (kc->kc_lnext != NULL)
		kc->kc_lnext->kc_lprev = kc->kc_lprev;
	else
		l->kl_tail = kc->kc_lprev;
	kc->kc_lnext = kc->kc_lprev = NULL;
}

static struct kcont *
klist_pop(struct klist *l)
{
	struct kcont *kc = l->kl_head;

	if (kc != NULL)
		klist_remove(l, kc);
	return kc;
}

/* Whether kc (in l or in no list, links cleared on removal) is in l. */
static bool
klist_has(const struct klist *l, const struct kcont *kc)
{
	return kc->kc_lprev != NULL || l->kl_head == kc;
}

/* --- hand-off --- */

/* Push the chain first..last (linked by kc_next, newest first) onto c's inbound. */
static void
kc_push_chain(struct kcpu *c, struct kcont *first, struct kcont *last)
{
	struct kcont *old = atomic_load_explicit(&c->c_inbound, memory_order_relaxed);

	/* Release: the links and the items' fields written before are visible to the
	 * consumer; pairs with the acquire exchange in kcpu_drain().  seq_cst (not just
	 * release) for the idle protocol: pairs with the xchg of c_sleeping in
	 * kcpu_sleep() (kern.c), read after this by kcpu_kick(). */
	do
		last->kc_next = old;
	while (!atomic_compare_exchange_weak_explicit(&c->c_inbound, &old, first,
	    memory_order_seq_cst, memory_order_relaxed));
}

/* Hand kc to CPU target: batched in self's outbox on a CPU thread, else pushed now.
 * Returns the CPU to kick after unlocking, or -1. */
static int
kc_send(struct kcont *kc, int self, int target)
{
	struct kern *k = kc->kc_kern;
	struct koutbox *ob;

	if (self < 0) {
		kc_push_chain(&k->k_cpus[target], kc, kc);
		return target;
	}
	ob = &k->k_cpus[self].c_out[target];
	kc->kc_next = ob->ko_head;
	if (ob->ko_head == NULL)
		ob->ko_tail = kc;
	ob->ko_head = kc;
	k->k_cpus[self].c_outmask |= (uint64_t)1 << target;
	return -1;
}

void
kcpu_flush(struct kcpu *c)
{
	struct kern *k = c->c_kern;
	uint64_t m = c->c_outmask;
	int t;

	c->c_outmask = 0;
	while (m != 0) {
		t = __builtin_ctzll(m);
		m &= m - 1;
		kc_push_chain(&k->k_cpus[t], c->c_out[t].ko_head, c->c_out[t].ko_tail);
		c->c_out[t].ko_head = c->c_out[t].ko_tail = NULL;
		kcpu_kick(&k->k_cpus[t]);
	}
}

/* --- placement --- */

static void
kc_wheel_insert(struct kcpu *c, struct kcont *kc)
{
	uint64_t d = kc->kc_deadline;

	kc->kc_wdeadline = d;
	klist_append(&c->c_wheel[(d >> KWHEEL_SHIFT) & (KWHEEL_SLOTS - 1)], kc);
	c->c_wcount++;
	if (d < c->c_wmin)
		c->c_wmin = d;
}

static void
kc_wheel_remove(struct kcpu *c, struct kcont *kc)
{
	klist_remove(&c->c_wheel[(kc->kc_wdeadline >> KWHEEL_SHIFT) & (KWHEEL_SLOTS - 1)],
	    kc);
	c->c_wcount--;
}

static uint32_t
kc_wq_put(struct kcont *kc, uint32_t s)
{
	struct kern *k = kc->kc_kern;

	pthread_mutex_lock(&k->k_wq_mtx);
	klist_append(&k->k_wq, kc);
	pthread_cond_signal(&k->k_wq_cv);
	pthread_mutex_unlock(&k->k_wq_mtx);
	return kcs_setloc(s, LOC_WORKQ);
}

/*
 * Place a pending, not running, unheld item (see the file comment).  Called with kc
 * locked by a thread whose CPU index is self (-1: not a CPU).  *kick gets a CPU to
 * kick after unlocking, or stays -1.
 */
static uint32_t
kc_place_at(struct kcont *kc, uint32_t s, int self, int *kick, uint64_t now)
{
	struct kern *k = kc->kc_kern;
	int target = kc->kc_cpu;

	KASSERT((s & KCS_PENDING) && !(s & KCS_RUNNING) && kcs_loc(s) == LOC_NONE);
	if (kc->kc_deadline != 0 && kc->kc_deadline > (now != 0 ? now : ktime_now(k))) {
		if (target != self)
			goto send;
		kc_wheel_insert(&k->k_cpus[self], kc);
		kc->kc_holder = (int16_t)self;
		return kcs_setloc(s, LOC_WHEEL);
	}
	kc->kc_deadline = 0;
	if (kc->kc_flags & KC_WORKQ)
		return kc_wq_put(kc, s);
	if (target != self)
		goto send;
	klist_append(&k->k_cpus[self].c_runq[(kc->kc_flags & KC_PRIO_HIGH) ? 0 : 1], kc);
	kc->kc_holder = (int16_t)self;
	return kcs_setloc(s, LOC_RUNQ);
send:
	kc->kc_holder = (int16_t)target;
	*kick = kc_send(kc, self, target);
	return kcs_setloc(s, LOC_INBOUND);
}

/* kc_place_at() reading the clock itself (only if kc has a deadline). */
static uint32_t
kc_place(struct kcont *kc, uint32_t s, int self, int *kick)
{
	return kc_place_at(kc, s, self, kick, 0);
}

/* Leave the wheel of the caller's own CPU: INBOUND if a notice is in flight. */
static uint32_t
kc_unwheel(struct kcpu *c, struct kcont *kc, uint32_t s)
{
	kc_wheel_remove(c, kc);
	return kcs_setloc(s, (s & KCS_NOTICE) ? LOC_INBOUND : LOC_NONE);
}

/*
 * Take kc out of the lists the caller may touch (its own CPU's run queue and wheel,
 * the worker list) so that it can be placed afresh or dropped.  With notify, a WHEEL
 * item of another CPU gets a notice (its holder will unlink it); *kick is set.
 */
static uint32_t
kc_reclaim(struct kcont *kc, uint32_t s, int self, bool notify, int *kick)
{
	struct kern *k = kc->kc_kern;
	unsigned loc = kcs_loc(s);

	if (loc == LOC_WORKQ) {
		pthread_mutex_lock(&k->k_wq_mtx);
		if (klist_has(&k->k_wq, kc)) {
			klist_remove(&k->k_wq, kc);
			s = kcs_setloc(s, LOC_NONE);
		}
		pthread_mutex_unlock(&k->k_wq_mtx);
	} else if (loc == LOC_RUNQ && kc->kc_holder == self) {
		klist_remove(&k->k_cpus[self].c_runq[(kc->kc_flags & KC_PRIO_HIGH) ? 0 : 1],
		    kc);
		s = kcs_setloc(s, LOC_NONE);
	} else if (loc == LOC_WHEEL && kc->kc_holder == self) {
		s = kc_unwheel(&k->k_cpus[self], kc, s);
	} else if (loc == LOC_WHEEL && notify && !(s & KCS_NOTICE)) {
		s |= KCS_NOTICE;
		kc_push_chain(&k->k_cpus[kc->kc_holder], kc, kc);
		*kick = kc->kc_holder;
	}
	return s;
}

static void
kc_kick(struct kern *k, int cpu)
{
	if (cpu >= 0)
		kcpu_kick(&k->k_cpus[cpu]);
}

/* --- API --- */

void
kcont_init(struct kcont *kc, struct kern *k, void (*fn)(void *), void *arg,
    struct kmutex *lock, unsigned flags)
{
	kc->kc_next = kc->kc_lnext = kc->kc_lprev = NULL;
	atomic_init(&kc->kc_state, 0);
	kc->kc_holder = -1;
	kc->kc_cpu = 0;
	kc->kc_deadline = kc->kc_wdeadline = 0;
	kc->kc_fn = fn;
	kc->kc_arg = arg;
	kc->kc_lock = lock;
	kc->kc_kern = k;
	kc->kc_flags = flags;
}

int
kcont_schedule(struct kcont *kc, int cpu, uint64_t delay_ns)
{
	struct kern *k = kc->kc_kern;
	int self = kcpu_index(k), kick = -1, kick2 = -1;
	uint64_t now = 0, deadline = 0;
	uint32_t s;

	if (cpu == KCPU_CURRENT)
		cpu = self >= 0 ? self : 0;
	if (cpu < 0 || cpu >= k->k_ncpu)
		return -EINVAL;
	if (delay_ns != 0) {
		now = ktime_now(k);
		deadline = now + delay_ns;
	}
	s = kc_lock(kc);
	if (s & KCS_PENDING) {
		kc_unlock(kc, s);
		return -EALREADY;
	}
	kc->kc_cpu = (int16_t)cpu;
	kc->kc_deadline = deadline;
	s |= KCS_PENDING;
	if (kcs_loc(s) != LOC_NONE)
		s = kc_reclaim(kc, s, self, true, &kick);
	if (kcs_loc(s) == LOC_NONE && !(s & KCS_RUNNING))
		s = kc_place_at(kc, s, self, &kick2, now);
	kc_unlock(kc, s);
	kc_kick(k, kick);
	kc_kick(k, kick2);
	return 0;
}

bool
kcont_cancel(struct kcont *kc)
{
	int self = kcpu_index(kc->kc_kern), kick = -1;
	uint32_t s = kc_lock(kc);
	bool was = (s & KCS_PENDING) != 0;

	s &= ~KCS_PENDING;
	if (was)
		s = kc_reclaim(kc, s, self, false, &kick);
	kc_unlock(kc, s);
	return was;
}

/*
 * Back off while halt waits.  A caller inside the giant lock (giant mode: every
 * continuation) lets it go meanwhile, as the run being waited for may need it.
 */
static void
kc_halt_wait(struct kern *k, unsigned *n)
{
	int depth;

	if (!k->k_giant || !kmutex_owned(&k->k_giant_mtx)) {
		kc_backoff(n);
		return;
	}
	depth = k->k_giant_depth;
	k->k_giant_depth = 0;
	kmutex_exit(&k->k_giant_mtx);
	kc_backoff(n);
	kmutex_enter(&k->k_giant_mtx);
	k->k_giant_depth = depth;
}

unsigned
kcont_halt(struct kcont *kc)
{
	struct kern *k = kc->kc_kern;
	int self = kcpu_index(k), kick;
	unsigned n = 0, removed = 0;
	bool done;
	uint32_t s;

	for (;;) {
		if (self >= 0) {
			kcpu_flush(&k->k_cpus[self]);
			kcpu_drain(&k->k_cpus[self]);
		}
		kick = -1;
		s = kc_lock(kc);
		if (s & KCS_PENDING)
			removed++;
		s &= ~KCS_PENDING;
		s = kc_reclaim(kc, s, self, true, &kick);
		done = !(s & KCS_RUNNING) && kcs_loc(s) == LOC_NONE;
		kc_unlock(kc, s);
		kc_kick(k, kick);
		if (done)
			return removed;
		kc_halt_wait(k, &n);
	}
}

bool
kcont_pending(const struct kcont *kc)
{
	/* Acquire pairs with the release store in kc_unlock(). */
	return (atomic_load_explicit(&kc->kc_state, memory_order_acquire) &
	    KCS_PENDING) != 0;
}

/* --- the CPU thread's side --- */

/* An item arrived from the inbound list (a hand-off or a notice). */
static void
kc_arrive(struct kcpu *c, struct kcont *kc)
{
	uint32_t s = kc_lock(kc);
	int kick = -1;

	KASSERT(kc->kc_holder == c->c_idx);
	if ((s & KCS_NOTICE) && kcs_loc(s) == LOC_WHEEL)
		kc_wheel_remove(c, kc);
	else
		KASSERT(kcs_loc(s) == LOC_INBOUND);
	s = kcs_setloc(s & ~KCS_NOTICE, LOC_NONE);
	if ((s & KCS_PENDING) && !(s & KCS_RUNNING))
		s = kc_place(kc, s, c->c_idx, &kick);
	kc_unlock(kc, s);
	kc_kick(c->c_kern, kick);
}

unsigned
kcpu_drain(struct kcpu *c)
{
	struct kcont *list, *rev = NULL, *next;
	unsigned n = 0;

	if (atomic_load_explicit(&c->c_inbound, memory_order_relaxed) == NULL)
		return 0;
	/* Acquire pairs with the release CAS in kc_push_chain(). */
	list = atomic_exchange_explicit(&c->c_inbound, NULL, memory_order_acquire);
	for (; list != NULL; list = next) {
		next = list->kc_next;
		list->kc_next = rev;
		rev = list;
	}
	for (; rev != NULL; rev = next, n++) {
		next = rev->kc_next;
		kc_arrive(c, rev);
	}
	return n;
}

/* Sort a kc_lnext-linked list by kc_wdeadline (stable merge sort). */
static struct kcont *
kc_sort(struct kcont *l)
{
	struct kcont *a = NULL, *b = NULL, *next, head, *t = &head;
	bool flip = false;

	if (l == NULL || l->kc_lnext == NULL)
		return l;
	for (; l != NULL; l = next, flip = !flip) {	/* split alternately */
		next = l->kc_lnext;
		if (flip) {
			l->kc_lnext = b;
			b = l;
		} else {
			l->kc_lnext = a;
			a = l;
		}
	}
	a = kc_sort(a);
	b = kc_sort(b);
	while (a != NULL && b != NULL) {
		struct kcont **p = a->kc_wdeadline <= b->kc_wdeadline ? &a : &b;

		t->kc_lnext = *p;
		t = *p;
		*p = (*p)->kc_lnext;
	}
	t->kc_lnext = a != NULL ? a : b;
	return head.kc_lnext;
}

/* Move the due items of one bucket to *out (kc_lnext-linked). */
static uint64_t
kc_wheel_scan(struct kcpu *c, struct klist *b, uint64_t now, struct kcont **out)
{
	struct kcont *kc, *next;
	uint64_t min = UINT64_MAX;

	for (kc = b->kl_head; kc != NULL; kc = next) {
		next = kc->kc_lnext;
		if (kc->kc_wdeadline > now) {
			if (kc->kc_wdeadline < min)
				min = kc->kc_wdeadline;
			continue;
		}
		klist_remove(b, kc);
		c->c_wcount--;
		kc->kc_lnext = *out;
		*out = kc;
	}
	return min;
}

/* A due item left the wheel: place it (to the run queue) unless a notice will. */
static void
kc_expired(struct kcpu *c, struct kcont *kc)
{
	uint32_t s = kc_lock(kc);
	int kick = -1;

	KASSERT(kcs_loc(s) == LOC_WHEEL && kc->kc_holder == c->c_idx);
	s = kcs_setloc(s, (s & KCS_NOTICE) ? LOC_INBOUND : LOC_NONE);
	if (kcs_loc(s) == LOC_NONE && (s & KCS_PENDING))
		s = kc_place(kc, s, c->c_idx, &kick);
	kc_unlock(kc, s);
	kc_kick(c->c_kern, kick);
}

unsigned
kcpu_expire(struct kcpu *c)
{
	struct kcont *due = NULL, *next;
	uint64_t now, tick, t, min = 0;
	unsigned n = 0;

	if (c->c_wcount == 0)
		return 0;
	now = ktime_now(c->c_kern);
	if (now < c->c_wmin)
		return 0;
	tick = now >> KWHEEL_SHIFT;
	if (tick - c->c_wtick >= KWHEEL_SLOTS)
		c->c_wtick = tick - (KWHEEL_SLOTS - 1);
	for (t = c->c_wtick; t <= tick; t++)
		min = kc_wheel_scan(c, &c->c_wheel[t & (KWHEEL_SLOTS - 1)], now, &due);
	/*
	 * The current tick's bucket is scanned again next time.  Items left in other
	 * buckets belong to later ticks, so nothing is due before the earlier of the next
	 * tick and the earliest item left in the current bucket.
	 */
	c->c_wtick = tick;
	c->c_wmin = (tick + 1) << KWHEEL_SHIFT;
	if (min < c->c_wmin)
		c->c_wmin = min;
	for (due = kc_sort(due); due != NULL; due = next, n++) {
		next = due->kc_lnext;
		due->kc_lnext = due->kc_lprev = NULL;
		kc_expired(c, due);
	}
	return n;
}

uint64_t
kcpu_next_timeout(const struct kcpu *c)
{
	uint64_t now, tick = (uint64_t)1 << KWHEEL_SHIFT;

	if (c->c_wcount == 0)
		return UINT64_MAX;
	now = ktime_now(c->c_kern);
	if (c->c_wmin <= now)
		return 0;
	return c->c_wmin - now < tick ? c->c_wmin - now : tick;
}

static void
kc_call(struct kcont *kc)
{
	struct kern *k = kc->kc_kern;

	if (k->k_giant)
		kern_giant_enter(k);
	if (kc->kc_lock != NULL)
		kmutex_enter(kc->kc_lock);
	kc->kc_fn(kc->kc_arg);
	if (kc->kc_lock != NULL)
		kmutex_exit(kc->kc_lock);
	if (k->k_giant)
		kern_giant_exit(k);
}

/* Whether the request recorded in kc no longer matches where it is about to run. */
static bool
kc_misplaced(const struct kcont *kc, int self)
{
	if (kc->kc_deadline != 0)
		return true;
	return !(kc->kc_flags & KC_WORKQ) && kc->kc_cpu != self;
}

/* Run kc, just taken out of its list (run queue or worker list) by its holder. */
static void
kc_run(struct kcont *kc, int self)
{
	/*
	 * Read the [I] kern before any unlock: once "not running" is published, a
	 * kcont_halt() may return and the owner may free kc.
	 */
	struct kern *k = kc->kc_kern;
	uint32_t s = kc_lock(kc);
	int kick = -1;

	s = kcs_setloc(s, LOC_NONE);
	if ((s & KCS_PENDING) && kc_misplaced(kc, self))
		s = kc_place(kc, s, self, &kick);
	if (!(s & KCS_PENDING) || kcs_loc(s) != LOC_NONE) {
		kc_unlock(kc, s);
		kc_kick(k, kick);
		return;
	}
	kc_unlock(kc, (s & ~KCS_PENDING) | KCS_RUNNING);
	kc_call(kc);
	s = kc_lock(kc) & ~KCS_RUNNING;
	if (s & KCS_PENDING)
		s = kc_place(kc, s, self, &kick);
	kc_unlock(kc, s);
	kc_kick(k, kick);
}

unsigned
kcpu_run(struct kcpu *c, unsigned budget)
{
	struct kcont *kc;
	unsigned n;

	for (n = 0; n < budget; n++) {
		kc = klist_pop(&c->c_runq[0]);
		if (kc == NULL)
			kc = klist_pop(&c->c_runq[1]);
		if (kc == NULL)
			break;
		kc_run(kc, c->c_idx);
		if ((n + 1) % KCPU_FLUSH_EVERY == 0)
			kcpu_flush(c);
	}
	c->c_runs += n;
	return n;
}

bool
kcpu_busy(const struct kcpu *c)
{
	return c->c_runq[0].kl_head != NULL || c->c_runq[1].kl_head != NULL;
}

/* A worker-pool thread: runs KC_WORKQ items in FIFO order until kern_destroy. */
void *
kwq_main(void *arg)
{
	struct kern *k = arg;
	struct kcont *kc;

	pthread_mutex_lock(&k->k_wq_mtx);
	for (;;) {
		while (k->k_wq.kl_head == NULL && !k->k_wq_stop)
			pthread_cond_wait(&k->k_wq_cv, &k->k_wq_mtx);
		if (k->k_wq_stop)
			break;
		kc = klist_pop(&k->k_wq);
		pthread_mutex_unlock(&k->k_wq_mtx);
		kc_run(kc, -1);
		pthread_mutex_lock(&k->k_wq_mtx);
	}
	pthread_mutex_unlock(&k->k_wq_mtx);
	return NULL;
}

/* --- teardown --- */

static void
kc_discard(struct kcont *kc)
{
	uint32_t s = kc_lock(kc);

	kc_unlock(kc, kcs_setloc(s & ~(KCS_PENDING | KCS_NOTICE), LOC_NONE));
}

static void
kc_discard_list(struct klist *l)
{
	struct kcont *kc;

	while ((kc = klist_pop(l)) != NULL)
		kc_discard(kc);
}

static void
kc_discard_chain(struct kcont *kc)
{
	struct kcont *next;

	for (; kc != NULL; kc = next) {
		next = kc->kc_next;
		kc->kc_next = NULL;
		kc_discard(kc);
	}
}

/* Drop everything c holds.  Its thread has exited and no thread schedules any more. */
void
kcpu_discard(struct kcpu *c)
{
	int i;

	for (i = 0; i < KERN_MAXCPU; i++) {
		kc_discard_chain(c->c_out[i].ko_head);
		c->c_out[i].ko_head = c->c_out[i].ko_tail = NULL;
	}
	c->c_outmask = 0;
	kc_discard_chain(atomic_exchange_explicit(&c->c_inbound, NULL,
	    memory_order_acquire));
	kc_discard_list(&c->c_runq[0]);
	kc_discard_list(&c->c_runq[1]);
	for (i = 0; i < KWHEEL_SLOTS; i++)
		kc_discard_list(&c->c_wheel[i]);
	c->c_wcount = 0;
}

void
kwq_discard(struct kern *k)
{
	pthread_mutex_lock(&k->k_wq_mtx);
	kc_discard_list(&k->k_wq);
	pthread_mutex_unlock(&k->k_wq_mtx);
}
