/*
 * ring.h - bounded lockless rings of pointers for packet hand-off: SPSC, MPSC (NetBSD's
 * pcq), MPMC; single, bulk (all or nothing) and burst (as many as fit) operations.
 *
 * Design.  A power-of-two array of slots and, per side (producer, consumer), two free-
 * running 32-bit indices: head (next index to reserve) and tail (every index below it is
 * committed).  Indices wrap modulo 2^32; slot = index & mask; the ring holds
 * prod.tail - cons.tail items and at most size of them (all slots usable).
 *  - Multi-producer enqueue (DPDK rte_ring's two-phase scheme): reserve [h, h+n) by a CAS
 *    on prod.head, after checking n <= size - (h - cons.tail); write the slots; wait until
 *    prod.tail == h (the producers before us have committed), then store prod.tail = h+n.
 *  - Multi-consumer dequeue needs no second phase, because consumers only read slots
 *    (as ck_ring does): read cons.tail = h and prod.tail, copy the slots [h, h+n) out,
 *    then CAS cons.tail from h to h+n.  If the CAS succeeds, cons.tail stayed h all along,
 *    so no producer could reuse those slots while we read them (a producer writes index
 *    i + size only once cons.tail > i); if it fails, the copies are dropped and we retry.
 *    A slot may thus be read while a producer overwrites it (by a consumer that loses its
 *    CAS), so slots are atomics accessed relaxed (plain moves on x86).  The consumer side
 *    has a single index, cons.tail; cons.head is unused.
 *  - Single-producer enqueue (Lamport, with a cached opposite index): the producer keeps
 *    its head and the last consumer tail it saw on its own cache line and reads the
 *    shared cons.tail only when the cached value says the ring may be full; it commits
 *    with one release store of prod.tail.  Single consumer: the mirror image.
 * The mode of each side is fixed at init (RING_SP_ENQ, RING_SC_DEQ): an MPSC ring is
 * RING_SC_DEQ.  Each side's shared indices, and each single side's private copies, sit
 * on their own 128-byte block (a pair of cache lines, as DPDK pads its ring).
 *
 * Ordering: the release store of prod.tail pairs with the consumers' acquire load of
 * prod.tail (slot writes happen before the reads); the release store of cons.tail pairs
 * with the producers' acquire load of cons.tail (slot reads happen before reuse).  A
 * multi-producer's wait for prod.tail == h is an acquire load, so the commit chain
 * carries every earlier producer's slot writes to the consumer.
 *
 * Progress: no locks; the single sides are wait-free; multi-consumer dequeue is lock-free;
 * multi-producer enqueue is lock-free in its reserve step and blocking in its commit
 * step (a producer preempted between reserve and commit holds up the commits behind it,
 * as in rte_ring).  The wait spins, then yields.
 *
 * Calling context: any thread, never blocks except that commit wait; the _sp/_sc calls
 * must be made by one thread at a time per side (the caller serialises), the _mp/_mc
 * calls by any number.  Order: items leave in the order their reservations were made, so
 * one producer's items stay in order, and each consumer sees them in that order.
 */
#ifndef SMPNET_LIB_RING_H
#define SMPNET_LIB_RING_H

#include <assert.h>
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kern/kern.h"

#define RING_SP_ENQ	0x1	/* one producer at a time: use ring_enqueue*_sp */
#define RING_SC_DEQ	0x2	/* one consumer at a time: use ring_dequeue*_sc */
#define RING_SIZE_MAX	(UINT32_C(1) << 31)
#define RING_SPINS	1024	/* pauses between yields in the commit wait */
/*
 * Shared indices and private copies each get 128 bytes: the CPU's adjacent-line
 * prefetcher works on 128-byte pairs, and two sides sharing a pair ping-pong it.
 */
#define RING_ALIGN	(2 * CACHE_LINE)

/* One side's shared indices. */
struct ring_side {
	_Atomic uint32_t	rs_head;	/* [a] next index to reserve (multi-producer only) */
	_Atomic uint32_t	rs_tail;	/* [a] indices below are committed */
} __attribute__((aligned(RING_ALIGN)));

/* A single side's private copies (only that side's thread touches them). */
struct ring_priv {
	uint32_t		rp_head;	/* [c] own next index */
	uint32_t		rp_other;	/* [c] opposite tail last seen */
} __attribute__((aligned(RING_ALIGN)));

struct ring {
	uint32_t		r_size;		/* [I] slots, a power of two */
	uint32_t		r_mask;		/* [I] r_size - 1 */
	int			r_flags;	/* [I] RING_SP_ENQ | RING_SC_DEQ */
	struct ring_side	r_prod;		/* producers' indices */
	struct ring_side	r_cons;		/* consumers' indices */
	struct ring_priv	r_pp;		/* single producer's copies */
	struct ring_priv	r_cp;		/* single consumer's copies */
	_Atomic(void *)		 r_slots[] __attribute__((aligned(RING_ALIGN)));	/* [a] via indices */
};

_Static_assert(offsetof(struct ring, r_prod) == 1 * RING_ALIGN, "ring layout");
_Static_assert(offsetof(struct ring, r_cons) == 2 * RING_ALIGN, "ring layout");
_Static_assert(offsetof(struct ring, r_slots) == 5 * RING_ALIGN, "ring layout");

/* Bytes needed for a ring of count slots, or 0 if count is not a power of two >= 2. */
size_t ring_memsize(uint32_t count);

/*
 * Initialise a ring of count slots in memory of ring_memsize(count) bytes, aligned to
 * RING_ALIGN (128) bytes.  Returns 0, or -EINVAL if count is not a power of two in [2, 2^31] or
 * flags has unknown bits.
 */
int ring_init(struct ring *r, uint32_t count, int flags);

/* Allocate and initialise a ring; NULL with errno EINVAL (as ring_init) or ENOMEM. */
struct ring *ring_create(uint32_t count, int flags);

/* Free a ring from ring_create().  No thread may be using it. */
void ring_destroy(struct ring *r);

static inline uint32_t
ring_capacity(const struct ring *r)
{
	return r->r_size;
}

/* Items in the ring at some instant (exact when no one else is using it). */
static inline uint32_t
ring_count(struct ring *r)
{
	/* cons.tail first: then prod.tail >= cons.tail and the difference is <= size. */
	uint32_t ct = atomic_load_explicit(&r->r_cons.rs_tail, memory_order_acquire);
	uint32_t pt = atomic_load_explicit(&r->r_prod.rs_tail, memory_order_acquire);

	return pt - ct;
}

static inline bool
ring_empty(struct ring *r)
{
	return ring_count(r) == 0;
}

static inline void
ring_cpu_relax(unsigned *spins)
{
	if (++*spins % RING_SPINS == 0)
		sched_yield();
	else {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#else
		atomic_signal_fence(memory_order_seq_cst);
#endif
	}
}

/* How many of n to take when avail are available: all or nothing if fixed. */
static inline uint32_t
ring_fit(uint32_t n, uint32_t avail, bool fixed)
{
	if (n <= avail)
		return n;
	return fixed ? 0 : avail;
}

/* Relaxed: the slots are ordered by the index release/acquire pairs. */
static inline void
ring_slots_put(struct ring *r, uint32_t head, void *const *objs, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		atomic_store_explicit(&r->r_slots[(head + i) & r->r_mask], objs[i],
		    memory_order_relaxed);
}

static inline void
ring_slots_get(struct ring *r, uint32_t head, void **objs, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		objs[i] = atomic_load_explicit(&r->r_slots[(head + i) & r->r_mask],
		    memory_order_relaxed);
}

/*
 * Single side: reserve up to n against the opposite tail (cap slots beyond it), using
 * the cached copy first.  Acquire pairs with the opposite side's release tail store.
 */
static inline uint32_t
ring_reserve_single(struct ring_priv *p, _Atomic uint32_t *other_tail, uint32_t cap,
    uint32_t n, bool fixed)
{
	uint32_t avail = cap + p->rp_other - p->rp_head;

	if (avail < n) {
		p->rp_other = atomic_load_explicit(other_tail, memory_order_acquire);
		avail = cap + p->rp_other - p->rp_head;
	}
	return ring_fit(n, avail, fixed);
}

/* Single side: publish [head, head+n).  Release pairs with the opposite acquire. */
static inline void
ring_commit_single(struct ring_priv *p, struct ring_side *s, uint32_t n)
{
	p->rp_head += n;
	atomic_store_explicit(&s->rs_tail, p->rp_head, memory_order_release);
}

/*
 * Multi-producer: reserve up to n by CAS on s->rs_head; *headp gets the first index.
 * The head load (and the CAS's reload on failure) is acquire so the opposite tail is
 * read after it (a stale head only makes the CAS fail); the opposite tail's acquire
 * pairs with that side's release tail store.
 */
static inline uint32_t
ring_reserve_multi(struct ring_side *s, _Atomic uint32_t *other_tail, uint32_t cap,
    uint32_t n, bool fixed, uint32_t *headp)
{
	uint32_t head = atomic_load_explicit(&s->rs_head, memory_order_acquire), m;

	do {
		uint32_t ot = atomic_load_explicit(other_tail, memory_order_acquire);

		m = ring_fit(n, cap + ot - head, fixed);
		if (m == 0)
			return 0;
	} while (!atomic_compare_exchange_weak_explicit(&s->rs_head, &head, head + m,
	    memory_order_acquire, memory_order_acquire));
	*headp = head;
	return m;
}

/*
 * Multi-producer: wait for the reservations before ours to commit, then commit ours.  The
 * acquire load pairs with the previous committer's release store, so our release store
 * carries its slot accesses too.
 */
static inline void
ring_commit_multi(struct ring_side *s, uint32_t head, uint32_t n)
{
	unsigned spins = 0;

	while (atomic_load_explicit(&s->rs_tail, memory_order_acquire) != head)
		ring_cpu_relax(&spins);
	atomic_store_explicit(&s->rs_tail, head + n, memory_order_release);
}

static inline uint32_t
ring_do_enqueue_sp(struct ring *r, void *const *objs, uint32_t n, bool fixed)
{
	assert(r->r_flags & RING_SP_ENQ);
	n = ring_reserve_single(&r->r_pp, &r->r_cons.rs_tail, r->r_size, n, fixed);
	if (n == 0)
		return 0;
	ring_slots_put(r, r->r_pp.rp_head, objs, n);
	ring_commit_single(&r->r_pp, &r->r_prod, n);
	return n;
}

static inline uint32_t
ring_do_enqueue_mp(struct ring *r, void *const *objs, uint32_t n, bool fixed)
{
	uint32_t head;

	assert(!(r->r_flags & RING_SP_ENQ));
	n = ring_reserve_multi(&r->r_prod, &r->r_cons.rs_tail, r->r_size, n, fixed, &head);
	if (n == 0)
		return 0;
	ring_slots_put(r, head, objs, n);
	ring_commit_multi(&r->r_prod, head, n);
	return n;
}

static inline uint32_t
ring_do_dequeue_sc(struct ring *r, void **objs, uint32_t n, bool fixed)
{
	assert(r->r_flags & RING_SC_DEQ);
	n = ring_reserve_single(&r->r_cp, &r->r_prod.rs_tail, 0, n, fixed);
	if (n == 0)
		return 0;
	ring_slots_get(r, r->r_cp.rp_head, objs, n);
	ring_commit_single(&r->r_cp, &r->r_cons, n);
	return n;
}

/*
 * Multi-consumer: copy out, then claim by CAS on cons.tail (see the top of the file).
 * The head load is acquire so prod.tail is read after it; prod.tail's acquire pairs
 * with the producers' release commit; the CAS's release orders our slot reads before a
 * producer reuses the slots (its acquire load of cons.tail).
 */
static inline uint32_t
ring_do_dequeue_mc(struct ring *r, void **objs, uint32_t n, bool fixed)
{
	uint32_t head = atomic_load_explicit(&r->r_cons.rs_tail, memory_order_acquire), m;

	assert(!(r->r_flags & RING_SC_DEQ));
	do {
		uint32_t pt = atomic_load_explicit(&r->r_prod.rs_tail, memory_order_acquire);

		m = ring_fit(n, pt - head, fixed);
		if (m == 0)
			return 0;
		ring_slots_get(r, head, objs, m);
	} while (!atomic_compare_exchange_weak_explicit(&r->r_cons.rs_tail, &head, head + m,
	    memory_order_release, memory_order_acquire));
	return m;
}

/*
 * The API.  bulk: all n or none, returns n or 0.  burst: as many as possible, returns
 * the count (0..n).  single: returns 0, or -ENOBUFS (full) / -ENOENT (empty).
 * _sp/_sc need the ring's RING_SP_ENQ/RING_SC_DEQ flag, _mp/_mc need it clear; the
 * unsuffixed calls pick by the flag.
 */
static inline uint32_t
ring_enqueue_bulk_sp(struct ring *r, void *const *objs, uint32_t n)
{
	return ring_do_enqueue_sp(r, objs, n, true);
}

static inline uint32_t
ring_enqueue_bulk_mp(struct ring *r, void *const *objs, uint32_t n)
{
	return ring_do_enqueue_mp(r, objs, n, true);
}

static inline uint32_t
ring_enqueue_burst_sp(struct ring *r, void *const *objs, uint32_t n)
{
	return ring_do_enqueue_sp(r, objs, n, false);
}

static inline uint32_t
ring_enqueue_burst_mp(struct ring *r, void *const *objs, uint32_t n)
{
	return ring_do_enqueue_mp(r, objs, n, false);
}

static inline int
ring_enqueue_sp(struct ring *r, void *obj)
{
	return ring_do_enqueue_sp(r, &obj, 1, true) ? 0 : -ENOBUFS;
}

static inline int
ring_enqueue_mp(struct ring *r, void *obj)
{
	return ring_do_enqueue_mp(r, &obj, 1, true) ? 0 : -ENOBUFS;
}

static inline uint32_t
ring_dequeue_bulk_sc(struct ring *r, void **objs, uint32_t n)
{
	return ring_do_dequeue_sc(r, objs, n, true);
}

static inline uint32_t
ring_dequeue_bulk_mc(struct ring *r, void **objs, uint32_t n)
{
	return ring_do_dequeue_mc(r, objs, n, true);
}

static inline uint32_t
ring_dequeue_burst_sc(struct ring *r, void **objs, uint32_t n)
{
	return ring_do_dequeue_sc(r, objs, n, false);
}

static inline uint32_t
ring_dequeue_burst_mc(struct ring *r, void **objs, uint32_t n)
{
	return ring_do_dequeue_mc(r, objs, n, false);
}

static inline int
ring_dequeue_sc(struct ring *r, void **obj)
{
	return ring_do_dequeue_sc(r, obj, 1, true) ? 0 : -ENOENT;
}

static inline int
ring_dequeue_mc(struct ring *r, void **obj)
{
	return ring_do_dequeue_mc(r, obj, 1, true) ? 0 : -ENOENT;
}

static inline uint32_t
ring_enqueue_burst(struct ring *r, void *const *objs, uint32_t n)
{
	return r->r_flags & RING_SP_ENQ ? ring_enqueue_burst_sp(r, objs, n) :
	    ring_enqueue_burst_mp(r, objs, n);
}

static inline uint32_t
ring_enqueue_bulk(struct ring *r, void *const *objs, uint32_t n)
{
	return r->r_flags & RING_SP_ENQ ? ring_enqueue_bulk_sp(r, objs, n) :
	    ring_enqueue_bulk_mp(r, objs, n);
}

static inline int
ring_enqueue(struct ring *r, void *obj)
{
	return r->r_flags & RING_SP_ENQ ? ring_enqueue_sp(r, obj) : ring_enqueue_mp(r, obj);
}

static inline uint32_t
ring_dequeue_burst(struct ring *r, void **objs, uint32_t n)
{
	return r->r_flags & RING_SC_DEQ ? ring_dequeue_burst_sc(r, objs, n) :
	    ring_dequeue_burst_mc(r, objs, n);
}

static inline uint32_t
ring_dequeue_bulk(struct ring *r, void **objs, uint32_t n)
{
	return r->r_flags & RING_SC_DEQ ? ring_dequeue_bulk_sc(r, objs, n) :
	    ring_dequeue_bulk_mc(r, objs, n);
}

static inline int
ring_dequeue(struct ring *r, void **obj)
{
	return r->r_flags & RING_SC_DEQ ? ring_dequeue_sc(r, obj) : ring_dequeue_mc(r, obj);
}

#endif /* SMPNET_LIB_RING_H */
