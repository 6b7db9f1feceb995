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
 *  - Addresses below 2^47, link 8-byte aligned (checked by assertion): the anchor packs
 *    each pointer into 44 bits.  True for user space on x86-64 and AArch64 Linux.
 *  - An item is on at most one queue at a time.
 *
 * Calling context: any thread, any lock or read section held or not; nothing blocks
 * except as said for pop above (it spins, then yields).  Not async-signal-safe.
 * Ordering: everything written to an item before it is pushed is visible to the thread
 * that pops it (release CAS / acquire CAS).
 *
 * Cost: one cmpxchg16b per operation (~20 ns uncontended on Zen 1) plus, for push_tail,
 * one store into the old tail; the anchor is one cache line shared by all users.
 */
#ifndef SMPNET_LIB_LFQ_H
#define SMPNET_LIB_LFQ_H

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

/* Push item at the head (LIFO order).  Lock-free. */
void lfq_push_head(struct lfq *q, void *item);

/* Push item at the tail (FIFO order).  Lock-free. */
void lfq_push_tail(struct lfq *q, void *item);

/* Pop the head item, or NULL if the queue was empty.  See the pending window above. */
void *lfq_pop(struct lfq *q);

/*
 * The head item at some instant during the call, or NULL.  Another thread may pop it
 * at once: dereference it only if the caller knows nobody else pops from q.
 */
void *lfq_peek(struct lfq *q);

/* True if the queue was empty at some instant during the call. */
bool lfq_empty(struct lfq *q);

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

#endif /* SMPNET_LIB_LFQ_H */
