/*
 * lfs.h - lockless intrusive LIFO stack: push, pop, take-all and push of a chain.  Items
 * carry a struct lfs_link at a fixed offset given to lfs_init().  No locks; ABA-safe.
 * A LIFO-only sibling of lfq (src/lib/lfq.h) for users that never push at the tail,
 * such as the pool depot: lfq keeps {head, tail, tag} and pays for the tail; lfs keeps
 * only {top, generation}.
 *
 * Design (Treiber's stack with a generation counter, the IBM System/370 "free-pool"
 * scheme; ck_stack_mpmc has the same shape):
 *  - The anchor is two adjacent 64-bit words, top (the first item, a full pointer) and
 *    gen (the number of pops and take-alls ever done, 64 bits, never wraps in practice).
 *    An item's link is the item below it.
 *  - push(n): read top; n.link = top; single-word CAS of top from that value to n.  No
 *    generation is needed (the Treiber argument): the CAS succeeds only if top is still
 *    the item we linked n to, and then n.link is right whatever happened in between.
 *  - pop: read gen, then top (two loads, in that order); if top is NULL the stack was
 *    empty; nx = top.link; 16-byte CAS of {top, gen} -> {nx, gen + 1}.  nx may come from
 *    an item that another thread popped and pushed back after our reads (ABA), but then
 *    gen moved and the CAS fails.  A failed CAS returns the anchor it found (read
 *    atomically), which is the next attempt's snapshot.
 *  - take-all: 16-byte CAS {top, gen} -> {NULL, gen + 1}; the chain from top belongs to
 *    the caller, whose links are stable (nobody else can reach them).
 *  - push_chain(f, l): the chain f..l is pre-linked by the caller; l.link = top; CAS of
 *    top to f (as push, with the chain in place of n).
 * The argument that the two-load snapshot is enough is at the top of lfs.c; the protocol
 * is checked by tests/model/lfs.pml (and a variant without the generation shows the ABA).
 *
 * What callers must guarantee (memory safety), as for lfq:
 *  - Type-stable memory: lfs_pop() reads the link of the top it saw, which another thread
 *    may have popped (and reused) meanwhile; the value read is discarded (the CAS fails)
 *    but the memory must still be mapped, and the link touched only by lfs calls.  So
 *    items come from storage that stays mapped while any lfs call on a stack that held
 *    them can run (pools, static arrays), or are freed after an RCU grace period.
 *    Reusing an item at once (push it again, here or elsewhere) is always safe.
 *  - An item is on at most one stack at a time.
 *
 * Calling context: any thread, any lock or read section held or not; nothing blocks or
 * spins except to retry a failed CAS (lock-free).  Not async-signal-safe.
 * Ordering: everything written to an item before it is pushed is visible to the thread
 * that pops it (release CAS of top / acquire load of top or the full-barrier CAS2).
 *
 * Cost: push is one 8-byte CAS, pop one 16-byte CAS (cmpxchg16b); the anchor is one
 * cache line shared by all users.  The hot calls are inline (below).
 */
#ifndef SMPNET_LIB_LFS_H
#define SMPNET_LIB_LFS_H

#include <assert.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kern/kern.h"

/* Embedded in each item, at the offset given to lfs_init(). */
struct lfs_link {
	_Atomic(struct lfs_link *) sl_next;	/* [a] the item below */
};

/* The anchor: s_top and s_gen are updated together by pop's 16-byte CAS. */
struct lfs {
	_Atomic(struct lfs_link *) s_top;	/* [a] top item, NULL if empty */
	_Atomic uint64_t	 s_gen;		/* [a] pops + take-alls so far */
	size_t			 s_off;		/* [I] offset of the link in an item */
} __cacheline_aligned;

_Static_assert(offsetof(struct lfs, s_top) == 0, "anchor must be 16-byte aligned");
_Static_assert(offsetof(struct lfs, s_gen) == 8, "anchor words must be adjacent");
_Static_assert(sizeof(struct lfs) == CACHE_LINE, "one stack, one cache line");

/* Initialise an empty stack whose items carry their link at byte offset off. */
void lfs_init(struct lfs *s, size_t off);

/* True if the stack was empty at some instant during the call. */
bool lfs_empty(struct lfs *s);

/*
 * Take every item at once (one CAS).  Returns the top item, or NULL if the stack was
 * empty; walk the chain with lfs_chain_next().  The items belong to the caller.
 */
void *lfs_pop_all(struct lfs *s);

/* The item below item in a chain the caller owns (from lfs_pop_all), or NULL. */
void *lfs_chain_next(const struct lfs *s, void *item);

/*
 * Push the chain first..last (linked by lfs_chain_next order: first ends on top) in one
 * CAS; last's link is set here.  A chain from lfs_pop_all pushed back whole keeps its
 * order.  Lock-free.  (Inline, below.)
 */
static inline void lfs_push_chain(struct lfs *s, void *first, void *last);

/* Push item on top.  Lock-free.  (Inline, below.) */
static inline void lfs_push(struct lfs *s, void *item);

/* Pop the top item, or NULL if the stack was empty.  Lock-free.  (Inline, below.) */
static inline void *lfs_pop(struct lfs *s);

/* ---- inline implementation; the argument is in lfs.c ---- */

/*
 * A test may define LFS_WINDOW_HOOK() before including this file to stretch pop's window
 * between reading the top's link and its CAS2 (tests/stress/stress_lfs.c yields there
 * now and then, so that the ABA interleaving happens often).  Empty otherwise.
 */
#ifndef LFS_WINDOW_HOOK
#define LFS_WINDOW_HOOK()	do { } while (0)
#endif

static inline struct lfs_link *
lfs_link_of(const struct lfs *s, void *item)
{
	struct lfs_link *l = (struct lfs_link *)(void *)((char *)item + s->s_off);

	assert(((uintptr_t)l & 7) == 0);
	return l;
}

static inline void *
lfs_item_of(const struct lfs *s, struct lfs_link *l)
{
	return l != NULL ? (void *)((char *)l - s->s_off) : NULL;
}

static inline void
lfs_push_chain(struct lfs *s, void *first, void *last)
{
	struct lfs_link *f = lfs_link_of(s, first), *l = lfs_link_of(s, last);
	/* Relaxed: the CAS below validates the value; nothing of top is dereferenced. */
	struct lfs_link *top = atomic_load_explicit(&s->s_top, memory_order_relaxed);

	do {
		/* l is private until the CAS publishes it. */
		atomic_store_explicit(&l->sl_next, top, memory_order_relaxed);
		/* Release pairs with the popper's acquire load of top (or its CAS2): it
		 * reads the chain's links and contents. */
	} while (!atomic_compare_exchange_weak_explicit(&s->s_top, &top, f,
	    memory_order_release, memory_order_relaxed));
}

static inline void
lfs_push(struct lfs *s, void *item)
{
	lfs_push_chain(s, item, item);
}

/*
 * 16-byte CAS of the anchor from {top, gen} to {nx, gen + 1}.  On failure *top and *gen
 * become the anchor the CAS found (read atomically).  A full barrier (lock cmpxchg16b,
 * inlined: see lfq.c for why not C11): acquires the pushes it follows (pairs with the
 * release CAS of lfs_push_chain), releases nothing it needs to.
 */
__attribute__((target("cx16")))
static inline bool
lfs_anchor_cas(struct lfs *s, struct lfs_link **top, uint64_t *gen, struct lfs_link *nx)
{
	unsigned __int128 expect = (unsigned __int128)*gen << 64 | (uintptr_t)*top;
	unsigned __int128 want = (unsigned __int128)(*gen + 1) << 64 | (uintptr_t)nx;
	unsigned __int128 old = __sync_val_compare_and_swap(
	    (unsigned __int128 *)(void *)&s->s_top, expect, want);

	if (old == expect)
		return true;
	*top = (struct lfs_link *)(uintptr_t)(uint64_t)old;
	*gen = (uint64_t)(old >> 64);
	return false;
}

/* The snapshot: gen first, then top (the order lfs.c's argument needs). */
static inline struct lfs_link *
lfs_snapshot(struct lfs *s, uint64_t *gen)
{
	/* Acquire: the top load stays after the gen load; the top load pairs with the
	 * release CAS of the push that stored it (we read its link). */
	*gen = atomic_load_explicit(&s->s_gen, memory_order_acquire);
	return atomic_load_explicit(&s->s_top, memory_order_acquire);
}

static inline void *
lfs_pop(struct lfs *s)
{
	uint64_t gen;
	struct lfs_link *top = lfs_snapshot(s, &gen), *nx;

	do {
		if (top == NULL)
			return NULL;
		/* May read a popped item (type-stable memory); the CAS then fails.
		 * Relaxed: ordered after the acquire of top (or the CAS2's barrier). */
		nx = atomic_load_explicit(&top->sl_next, memory_order_relaxed);
		LFS_WINDOW_HOOK();
	} while (!lfs_anchor_cas(s, &top, &gen, nx));
	return lfs_item_of(s, top);
}

#endif /* SMPNET_LIB_LFS_H */
