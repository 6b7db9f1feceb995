/*
 * ring.h - bounded lockless rings of pointers for packet hand-off: SPSC, MPSC (NetBSD's
 * pcq), MPMC; single, bulk (all or nothing) and burst (as many as fit) operations.
 *
 * Design.  A power-of-two array of slots and, per side (producer, consumer), a head word
 * and a tail.  Indices are free-running 32-bit counters (slot = index & mask); the ring
 * holds prod.tail - cons.tail items and at most size of them (all slots usable).
 *  - tail: every index below it is committed (written, for the producers; read and free
 *    again, for the consumers).  The opposite side reads it; it sits alone on its block.
 *  - head word, 64 bits: {head, other}.  head is the next index to reserve; other is a
 *    copy of the opposite tail seen by some earlier reservation of this side (a lower
 *    bound of the real one, since tails only grow).  Only this side's threads touch the
 *    word, and it sits on its own block, so in the common case a reservation never
 *    reads the opposite side's lines: it re-reads the opposite tail only when the copy
 *    says there is not enough room (producer) or not enough items (consumer).
 *    Invariant of a word: head - other <= size (producer), other - head <= size
 *    (consumer) -- the room or item count computed from it is never negative.
 *  - Reserve (both sides, rte_ring's first phase): from the word {h, o}, room =
 *    size + o - h (producer) or items = o - h (consumer); if short, o = fresh opposite
 *    tail; take m = min(n, room) (or 0 for bulk); publish {h + m, o} -- by a plain store
 *    on a single side, by a CAS of the whole word on a multi side (a failed CAS returns
 *    the word to retry from).  The CAS also checks that o is still consistent with h.
 *  - Copy the slots [h, h + m) in or out (plain memory, split at the end of the array).
 *  - Commit (second phase): a multi side waits until its tail == h (the reservations
 *    before ours have committed), then stores tail = h + m; a single side just stores.
 * Both multi sides thus follow DPDK rte_ring's two-phase scheme; the single sides are
 * Lamport's ring with a cached opposite index.  The mode of each side is fixed at init
 * (RING_SP_ENQ, RING_SC_DEQ): an MPSC ring is RING_SC_DEQ.
 *
 * Why the slots need no atomics: a consumer reads [h, h + m) only after seeing
 * prod.tail >= h + m (freshly, or through the copy in its word), and every producer
 * of those slots stored prod.tail after writing them; a producer writes index i only
 * after seeing cons.tail >= i - size + 1, and the consumer of index i - size stored
 * cons.tail after reading it.  So each slot access is ordered after the conflicting
 * previous one and the slots are plain memory (memcpy, vectorised copies).
 *
 * Ordering: the release store of a tail pairs with the opposite side's acquire load of
 * it.  A copy of the opposite tail in a head word carries that acquire along: the CAS
 * (acq_rel) that stored it releases it to the next reserver, whose acquire load (or
 * failed CAS) of the word pairs with it.  A multi side's wait for tail == h is an
 * acquire load, so its release store of the tail carries every earlier committer's slot
 * accesses to the opposite side.
 *
 * Progress: no locks; the single sides are wait-free; multi reserve steps are lock-free
 * and multi commits are blocking (a thread preempted between reserve and commit holds up
 * the commits behind it, as in rte_ring).  The wait spins, then yields.
 * The same 32-bit ABA limit as rte_ring: a multi reserver stalled for 2^32 reservations
 * between its word load and its CAS could succeed wrongly.
 *
 * Calling context: any thread, never blocks except that commit wait; the _sp/_sc calls
 * must be made by one thread at a time per side (the caller serialises), the _mp/_mc
 * calls by any number.  Order: items leave in the order their reservations were made, so
 * one producer's items stay in order, and each consumer sees them in that order.
 * The protocol is checked by tests/model/ring.pml (every interleaving of 2 producers and
 * 2 consumers on a 2-slot ring) and tests/stress/stress_ring.c.
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
#include <string.h>

#include "kern/kern.h"

#define RING_SP_ENQ	0x1	/* one producer at a time: use ring_enqueue*_sp */
#define RING_SC_DEQ	0x2	/* one consumer at a time: use ring_dequeue*_sc */
#define RING_SIZE_MAX	(UINT32_C(1) << 31)
#define RING_SPINS	1024	/* pauses between yields in the commit wait */
/*
 * Head words, tails and the slots each get 128 bytes: the CPU's adjacent-line
 * prefetcher works on 128-byte pairs, and two sides sharing a pair ping-pong it.
 */
#define RING_ALIGN	(2 * CACHE_LINE)

/* One side's head word: {head (bits 0-31), copy of the opposite tail (bits 32-63)}. */
struct ring_head {
	_Atomic uint64_t	rh_word;	/* [a] this side's threads only */
} __attribute__((aligned(RING_ALIGN)));

/* One side's tail, read by the opposite side. */
struct ring_tail {
	_Atomic uint32_t	rt_tail;	/* [a] indices below are committed */
} __attribute__((aligned(RING_ALIGN)));

struct ring {
	uint32_t		r_size;		/* [I] slots, a power of two */
	uint32_t		r_mask;		/* [I] r_size - 1 */
	int			r_flags;	/* [I] RING_SP_ENQ | RING_SC_DEQ */
	struct ring_head	r_ph;		/* producers' head word */
	struct ring_tail	r_pt;		/* producers' tail */
	struct ring_head	r_ch;		/* consumers' head word */
	struct ring_tail	r_ct;		/* consumers' tail */
	void			*r_slots[] __attribute__((aligned(RING_ALIGN)));
						/* by the indices (see the top) */
};

_Static_assert(offsetof(struct ring, r_ph) == 1 * RING_ALIGN, "ring layout");
_Static_assert(offsetof(struct ring, r_ct) == 4 * RING_ALIGN, "ring layout");
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
	uint32_t ct = atomic_load_explicit(&r->r_ct.rt_tail, memory_order_acquire);
	uint32_t pt = atomic_load_explicit(&r->r_pt.rt_tail, memory_order_acquire);

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

static inline uint64_t
ring_word(uint32_t head, uint32_t other)
{
	return (uint64_t)other << 32 | head;
}

/* Copy n slots from index head on into objs, or objs into them: split at the end. */
static inline void
ring_slots_put(struct ring *r, uint32_t head, void *const *objs, uint32_t n)
{
	uint32_t i = head & r->r_mask, n1 = r->r_size - i;

	if (n <= n1)
		memcpy(&r->r_slots[i], objs, n * sizeof(void *));
	else {
		memcpy(&r->r_slots[i], objs, n1 * sizeof(void *));
		memcpy(&r->r_slots[0], objs + n1, (n - n1) * sizeof(void *));
	}
}

static inline void
ring_slots_get(struct ring *r, uint32_t head, void **objs, uint32_t n)
{
	uint32_t i = head & r->r_mask, n1 = r->r_size - i;

	if (n <= n1)
		memcpy(objs, &r->r_slots[i], n * sizeof(void *));
	else {
		memcpy(objs, &r->r_slots[i], n1 * sizeof(void *));
		memcpy(objs + n1, &r->r_slots[0], (n - n1) * sizeof(void *));
	}
}

/*
 * Reserve up to n indices on one side (first phase); *headp gets the first.  cap is
 * size for the producers (room = size + other - head), 0 for the consumers (items =
 * other - head).  The opposite tail is read only when the word's copy is short.
 *  - single: the word is ours alone (relaxed load and store).
 *  - multi: the word's load and CAS are acquire/acq_rel: they pass the copy of the
 *    opposite tail, with what its reader acquired, from reserver to reserver.
 * The opposite tail's acquire pairs with that side's release tail store.
 */
static inline uint32_t
ring_reserve(struct ring_head *h, _Atomic uint32_t *other_tail, uint32_t cap,
    uint32_t n, bool fixed, bool multi, uint32_t *headp)
{
	uint64_t w = atomic_load_explicit(&h->rh_word,
	    multi ? memory_order_acquire : memory_order_relaxed);
	uint32_t head, other, m;

	do {
		head = (uint32_t)w;
		other = (uint32_t)(w >> 32);
		if (cap + other - head < n)
			other = atomic_load_explicit(other_tail, memory_order_acquire);
		m = ring_fit(n, cap + other - head, fixed);
		if (m == 0)
			return 0;
		if (!multi) {
			atomic_store_explicit(&h->rh_word, ring_word(head + m, other),
			    memory_order_relaxed);
			break;
		}
	} while (!atomic_compare_exchange_weak_explicit(&h->rh_word, &w,
	    ring_word(head + m, other), memory_order_acq_rel, memory_order_acquire));
	*headp = head;
	return m;
}

/*
 * Commit [head, head + n) (second phase).  A multi side first waits for the reservations
 * before ours to commit: that acquire load pairs with the previous committer's release
 * store, so our release store carries its slot accesses too.  The release store pairs
 * with the opposite side's acquire load of this tail.
 */
static inline void
ring_commit(struct ring_tail *t, uint32_t head, uint32_t n, bool multi)
{
	unsigned spins = 0;

	if (multi)
		while (atomic_load_explicit(&t->rt_tail, memory_order_acquire) != head)
			ring_cpu_relax(&spins);
	atomic_store_explicit(&t->rt_tail, head + n, memory_order_release);
}

static inline uint32_t
ring_do_enqueue(struct ring *r, void *const *objs, uint32_t n, bool fixed, bool multi)
{
	uint32_t head;

	assert(!(r->r_flags & RING_SP_ENQ) == multi);
	n = ring_reserve(&r->r_ph, &r->r_ct.rt_tail, r->r_size, n, fixed, multi, &head);
	if (n == 0)
		return 0;
	ring_slots_put(r, head, objs, n);
	ring_commit(&r->r_pt, head, n, multi);
	return n;
}

static inline uint32_t
ring_do_dequeue(struct ring *r, void **objs, uint32_t n, bool fixed, bool multi)
{
	uint32_t head;

	assert(!(r->r_flags & RING_SC_DEQ) == multi);
	n = ring_reserve(&r->r_ch, &r->r_pt.rt_tail, 0, n, fixed, multi, &head);
	if (n == 0)
		return 0;
	ring_slots_get(r, head, objs, n);
	ring_commit(&r->r_ct, head, n, multi);
	return n;
}

static inline uint32_t
ring_do_enqueue_sp(struct ring *r, void *const *objs, uint32_t n, bool fixed)
{
	return ring_do_enqueue(r, objs, n, fixed, false);
}

static inline uint32_t
ring_do_enqueue_mp(struct ring *r, void *const *objs, uint32_t n, bool fixed)
{
	return ring_do_enqueue(r, objs, n, fixed, true);
}

static inline uint32_t
ring_do_dequeue_sc(struct ring *r, void **objs, uint32_t n, bool fixed)
{
	return ring_do_dequeue(r, objs, n, fixed, false);
}

static inline uint32_t
ring_do_dequeue_mc(struct ring *r, void **objs, uint32_t n, bool fixed)
{
	return ring_do_dequeue(r, objs, n, fixed, true);
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
