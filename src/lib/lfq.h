/*
 * lfq.h - lockless intrusive queue: push at the head (LIFO), push at the tail (FIFO), pop
 * and peek at the head, and take-all.  Items of one type carry a struct lfq_link at a fixed
 * offset given to lfq_init() (the NetBSD atomic_queue shape).  No locks; ABA-safe.
 *
 * Design (the full argument is at the top of lfq.c):
 *  - The queue is a singly linked list from head to tail.  Its "anchor" is one 16-byte
 *    word {head, tail, 40-bit tag} changed only by a double-width CAS (cmpxchg16b); every
 *    successful operation bumps the tag, so a CAS built from a stale snapshot fails (ABA).
 *    Every operation linearizes at its anchor CAS.
 *  - push_head writes its item's link before the CAS.  push_tail links the old tail to
 *    its item just after the CAS; until then the old tail's link reads NULL ("pending")
 *    and a pop that reaches that one item waits for the pusher.  That window is a few
 *    instructions long, but a pusher preempted inside it delays the pop of the items
 *    behind it: push_head, push_tail, pop of every other item and take-all are lock-free,
 *    the pop of an item with a pending successor is blocking (the same property as
 *    Vyukov's intrusive MPSC queue and DPDK's rte_ring commit).
 *
 * What callers must guarantee (memory safety):
 *  - Type-stable memory.  lfq_pop() reads the link of the head it saw, and that item may
 *    have been popped (and reused) by another thread in the meantime: the value read is
 *    discarded because the CAS fails, but the memory must still be mapped and its link
 *    must be touched only through lfq calls.  So items must come from storage that stays
 *    mapped while any thread may be inside an lfq call on a queue that held them (object
 *    pools, a static array), or be freed only after an RCU grace period (pop inside a
 *    psz read section, free through psz_defer).  Reusing an item at once (push it again,
 *    here or on another lfq) is always safe: that is the ABA case the tag handles.
 *    With a single popper (one thread at a time calls lfq_pop/lfq_pop_all on q) no
 *    other thread can take the head it reads, so items may be freed once handed out;
 *    lfq_pop_all and lfq_batch_next never read an item the caller does not own.
 *  - Addresses below 2^47, link 8-byte aligned (checked by assertion): the anchor packs
 *    each pointer into 44 bits.  True for user space on x86-64 and AArch64 Linux.
 *  - An item is on at most one queue at a time.
 *
 * Calling context: any thread, any lock or read section held or not; nothing blocks
 * except as said for pop above (it spins, then yields).  Not async-signal-safe.
 * Ordering: everything written to an item before it is pushed is visible to the thread
 * that pops it (release CAS / acquire CAS).
 *
 * Cost: one 16-byte CAS (cmpxchg16b) per pop and push_tail, plus one store into the old
 * tail for push_tail; push_head on a non-empty queue is one 8-byte CAS.  The anchor is one
 * cache line shared by all users.  The hot calls are inline (below the API).
 */
#ifndef SMPNET_LIB_LFQ_H
#define SMPNET_LIB_LFQ_H

#include <assert.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kern/kern.h"

/* Embedded in each item, at the offset given to lfq_init(). */
struct lfq_link {
	_Atomic(struct lfq_link *) ql_next;	/* [a] successor toward the tail */
};

/*
 * The anchor: two 64-bit words updated together by one 16-byte CAS.  Each word holds a
 * pointer (bits 0..43, address >> 3) and 20 bits of the 40-bit tag (bits 44..63):
 * qa_w0 = head | tag[0..19], qa_w1 = tail | tag[20..39].
 */
struct lfq {
	_Atomic uint64_t	q_w0;		/* [a] head + low tag */
	_Atomic uint64_t	q_w1;		/* [a] tail + high tag */
	size_t			q_off;		/* [I] offset of the link in an item */
} __cacheline_aligned;

_Static_assert(offsetof(struct lfq, q_w0) == 0, "anchor must be 16-byte aligned");
_Static_assert(offsetof(struct lfq, q_w1) == 8, "anchor words must be adjacent");
_Static_assert(sizeof(struct lfq) == CACHE_LINE, "one queue, one cache line");

/* A chain taken by lfq_pop_all(), walked with lfq_batch_next(). */
struct lfq_batch {
	struct lfq_link	*qb_first;	/* next link to hand out, NULL when done */
	struct lfq_link	*qb_last;	/* the tail when the chain was taken */
	size_t		 qb_off;
};

/* Initialise an empty queue whose items carry their link at byte offset off. */
void lfq_init(struct lfq *q, size_t off);

/* Push item at the head (LIFO order).  Lock-free.  (Inline, below.) */
static inline void lfq_push_head(struct lfq *q, void *item);

/* Push item at the tail (FIFO order).  Lock-free.  (Inline, below.) */
static inline void lfq_push_tail(struct lfq *q, void *item);

/*
 * Push the chain first..last at the tail in one CAS, in chain order (first ends up
 * nearest the head).  The caller pre-links the chain through the items' links (each
 * link written with a relaxed store while the chain is private; last's link is set to
 * NULL here), e.g. with lfq_chain_append().  first == last pushes one item, as
 * lfq_push_tail().  Lock-free; the pending window is the same as for push_tail (only
 * the old tail's link).  (Inline, below.)
 */
static inline void lfq_push_tail_chain(struct lfq *q, void *first, void *last);

/*
 * Append item to a private chain *first..*last (both NULL for an empty chain) that is
 * not on any queue yet, for lfq_push_tail_chain().  Touches only the chain's items.
 */
static inline void lfq_chain_append(const struct lfq *q, void **first, void **last,
    void *item);

/*
 * Pop the head item, or NULL if the queue was empty.  See the pending window above.
 * (Inline, below.)
 */
static inline void *lfq_pop(struct lfq *q);

/*
 * The head item at some instant during the call, or NULL.  Another thread may pop it
 * at once: dereference it only if the caller knows nobody else pops from q.
 */
void *lfq_peek(struct lfq *q);

/* True if the queue was empty at some instant during the call. */
bool lfq_empty(struct lfq *q);

/*
 * lfq_empty() with a seq_cst load of the head word, for a Dekker-style pairing: a thread
 * that stores a flag (seq_cst) and then calls this, against a pusher that pushes (its
 * anchor CAS is a full barrier) and then loads the flag (seq_cst), cannot have both
 * miss the other's write.  See the idle protocol in kern.c.
 */
bool lfq_empty_sc(struct lfq *q);

/*
 * Take every item at once (one CAS); returns false if the queue was empty.  Walk the
 * items in queue order with lfq_batch_next(); they belong to the caller.
 */
bool lfq_pop_all(struct lfq *q, struct lfq_batch *b);

/*
 * The next item of a taken chain, or NULL at its end.  Waits (spins, then yields) for a
 * link a concurrent push_tail has not written yet.  The item is handed out after its
 * link was read, so the caller may push it anywhere at once.
 */
void *lfq_batch_next(struct lfq_batch *b);

/* ---- inline implementation; the protocol and its argument are in lfq.c ---- */

#define LFQ_PTR_BITS	44
#define LFQ_PTR_MASK	((UINT64_C(1) << LFQ_PTR_BITS) - 1)
#define LFQ_TAG_HALF	20
#define LFQ_TAG_MASK	((UINT64_C(1) << LFQ_TAG_HALF) - 1)
#define LFQ_SPINS	64

/* A decoded snapshot of the anchor. */
struct lfq_snap {
	uint64_t	 w0, w1;	/* the raw words, the CAS's expected value */
	struct lfq_link	*head, *tail;
	uint64_t	 tag;
};

static inline void
lfq_backoff(unsigned *spins)
{
	if (++*spins % LFQ_SPINS == 0)
		sched_yield();
	else {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#else
		atomic_signal_fence(memory_order_seq_cst);
#endif
	}
}

static inline struct lfq_link *
lfq_ptr_decode(uint64_t w)
{
	return (struct lfq_link *)(uintptr_t)((w & LFQ_PTR_MASK) << 3);
}

/* l must be NULL or a checked item link (lfq_link_of). */
static inline uint64_t
lfq_ptr_encode(const struct lfq_link *l)
{
	return (uint64_t)(uintptr_t)l >> 3;
}

static inline struct lfq_link *
lfq_link_of(const struct lfq *q, void *item)
{
	struct lfq_link *l = (struct lfq_link *)(void *)((char *)item + q->q_off);

	assert(((uintptr_t)l & 7) == 0 && ((uintptr_t)l >> (LFQ_PTR_BITS + 3)) == 0);
	return l;
}

static inline void *
lfq_item_of(size_t off, struct lfq_link *l)
{
	return l != NULL ? (void *)((char *)l - off) : NULL;
}

static inline void
lfq_snap_decode(struct lfq_snap *s)
{
	s->head = lfq_ptr_decode(s->w0);
	s->tail = lfq_ptr_decode(s->w1);
	s->tag = (s->w0 >> LFQ_PTR_BITS) | (s->w1 >> LFQ_PTR_BITS) << LFQ_TAG_HALF;
}

static inline void
lfq_snapshot(struct lfq *q, struct lfq_snap *s)
{
	/* w1 first, then w0: the order the argument in lfq.c needs.  Acquire pairs with
	 * the CAS that wrote each word. */
	s->w1 = atomic_load_explicit(&q->q_w1, memory_order_acquire);
	s->w0 = atomic_load_explicit(&q->q_w0, memory_order_acquire);
	lfq_snap_decode(s);
}

static inline uint64_t
lfq_word(const struct lfq_link *l, uint64_t tagpart)
{
	return lfq_ptr_encode(l) | (tagpart & LFQ_TAG_MASK) << LFQ_PTR_BITS;
}

/*
 * 16-byte CAS of the anchor from snapshot s to {head, tail, tag}.  On failure s becomes
 * the anchor the CAS found (read atomically, so a real state).  A full barrier (lock
 * cmpxchg16b, see lfq.c for why not C11): releases the pusher's item and link to the
 * popper, acquires what earlier CASes released; pairs with itself, with the 8-byte CAS
 * of push_head and with lfq_snapshot's acquire loads.
 */
__attribute__((target("cx16")))
static inline bool
lfq_anchor_cas(struct lfq *q, struct lfq_snap *s, struct lfq_link *head,
    struct lfq_link *tail, uint64_t tag)
{
	uint64_t n0 = lfq_word(head, tag), n1 = lfq_word(tail, tag >> LFQ_TAG_HALF);
	unsigned __int128 expect = (unsigned __int128)s->w1 << 64 | s->w0;
	unsigned __int128 want = (unsigned __int128)n1 << 64 | n0;
	unsigned __int128 old = __sync_val_compare_and_swap(
	    (unsigned __int128 *)(void *)&q->q_w0, expect, want);

	if (old == expect)
		return true;
	s->w0 = (uint64_t)old;
	s->w1 = (uint64_t)(old >> 64);
	lfq_snap_decode(s);
	return false;
}

/* Push onto an empty-looking queue: the 16-byte CAS; false if it was not empty. */
static inline bool
lfq_push_first(struct lfq *q, struct lfq_link *n)
{
	struct lfq_snap s;

	lfq_snapshot(q, &s);
	if (s.head != NULL)
		return false;
	atomic_store_explicit(&n->ql_next, NULL, memory_order_relaxed);
	return lfq_anchor_cas(q, &s, n, n, s.tag);
}

static inline void
lfq_push_head(struct lfq *q, void *item)
{
	struct lfq_link *n = lfq_link_of(q, item);
	/* The head word alone (see lfq.c); acquire pairs with the CAS that wrote it. */
	uint64_t w0 = atomic_load_explicit(&q->q_w0, memory_order_acquire);

	for (;;) {
		struct lfq_link *h = lfq_ptr_decode(w0);

		if (h == NULL) {
			if (lfq_push_first(q, n))
				return;
			w0 = atomic_load_explicit(&q->q_w0, memory_order_acquire);
			continue;
		}
		/* n is private until the CAS publishes it. */
		atomic_store_explicit(&n->ql_next, h, memory_order_relaxed);
		/* Release pairs with lfq_snapshot's acquire (the popper reads n's link and
		 * contents); on failure w0 is reloaded (acquire: the next snapshot). */
		if (atomic_compare_exchange_weak_explicit(&q->q_w0, &w0,
		    lfq_word(n, w0 >> LFQ_PTR_BITS), memory_order_release, memory_order_acquire))
			return;
	}
}

static inline void
lfq_push_tail_chain(struct lfq *q, void *first, void *last)
{
	struct lfq_link *f = lfq_link_of(q, first), *l = lfq_link_of(q, last);
	struct lfq_snap s;

	/* The chain is private until the CAS publishes it; the CAS (a full barrier)
	 * releases its inner links and contents to the popper (lfq_snapshot's acquire). */
	atomic_store_explicit(&l->ql_next, NULL, memory_order_relaxed);
	lfq_snapshot(q, &s);
	while (!lfq_anchor_cas(q, &s, s.head != NULL ? s.head : f, l, s.tag + 1))
		continue;	/* s was refreshed by the failed CAS */
	/* Close the pending link (I2 in lfq.c).  Release pairs with the acquire load of
	 * the link in lfq_pop / lfq_batch_next. */
	if (s.tail != NULL)
		atomic_store_explicit(&s.tail->ql_next, f, memory_order_release);
}

/* One item: a chain of one. */
static inline void
lfq_push_tail(struct lfq *q, void *item)
{
	lfq_push_tail_chain(q, item, item);
}

static inline void
lfq_chain_append(const struct lfq *q, void **first, void **last, void *item)
{
	struct lfq_link *n = lfq_link_of(q, item);

	/* Relaxed: the chain is private; lfq_push_tail_chain's CAS publishes it. */
	atomic_store_explicit(&n->ql_next, NULL, memory_order_relaxed);
	if (*last != NULL)
		atomic_store_explicit(&lfq_link_of(q, *last)->ql_next, n, memory_order_relaxed);
	else
		*first = item;
	*last = item;
}

static inline void *
lfq_pop(struct lfq *q)
{
	struct lfq_snap s;
	struct lfq_link *nx;
	unsigned spins = 0;

	lfq_snapshot(q, &s);
	for (;;) {
		if (s.head == NULL)
			return NULL;
		/* May read a popped item (type-stable memory); acquire pairs with the
		 * release store in lfq_push_tail. */
		nx = atomic_load_explicit(&s.head->ql_next, memory_order_acquire);
		if (s.head == s.tail) {
			if (lfq_anchor_cas(q, &s, NULL, NULL, s.tag + 1))
				break;
		} else if (nx == NULL) {
			lfq_backoff(&spins);	/* pending link */
			lfq_snapshot(q, &s);
		} else if (lfq_anchor_cas(q, &s, nx, s.tail, s.tag + 1))
			break;
	}
	return lfq_item_of(q->q_off, s.head);
}

#endif /* SMPNET_LIB_LFQ_H */
