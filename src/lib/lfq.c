/*
 * lfq.c - lockless intrusive FIFO/LIFO queue (see lfq.h for the contract).
 *
 * The hot operations (push_head, push_tail, pop) are inline in lfq.h so that callers
 * inline them as they would ck or DPDK; this file argues the protocol and holds the rest.
 *
 * Words.  The anchor is {head, tail, tag}: head is the first item, tail the last, tag a
 * 40-bit count of the anchor changes made by pop, pop_all and push_tail.  An item's
 * link is its successor toward the tail.  A link is "pending" when it reads NULL
 * although the item is not the tail.
 *
 * State invariants, in terms of the anchor value A and the links:
 *  (I1) A.head == NULL iff A.tail == NULL (empty).
 *  (I2) Following links from A.head reaches A.tail, where every link on the way is either
 *       the successor or pending; a pending link belongs to the old tail of a push_tail
 *       that has done its CAS but not yet its link store, and only that pusher writes it.
 *  (I3) The tail's link is NULL (push_head sets it for the first item, push_tail for
 *       every item it appends).
 *  (I4) Every pop, pop_all and push_tail adds one to tag(A); push_head leaves it.  An
 *       item's link changes only when the item is pushed (it was not queued, so it must
 *       have been popped: the tag moved) or, for the tail, when push_tail appends (the
 *       tag moved and the tail changed).
 *
 * Operations (each linearizes at its successful CAS):
 *  push_head(n): snapshot A; n.link = A.head; if A was empty, 16-byte CAS A -> {n, n,
 *       tag}; else 8-byte CAS of the head word alone, {A.head, tag low} -> {n, tag low}.
 *       A push needs no tag (the Treiber argument): its CAS succeeds only if the head is
 *       still A.head, and then n.link = A.head is right whatever happened in between;
 *       the queue is not empty then (head non-NULL) so the tail is left alone.
 *  push_tail(n): n.link = NULL; snapshot A; CAS A -> {A.head ?: n, n, tag+1}; then, if
 *       A.tail was an item t, store t.link = n.  t cannot leave the queue before that
 *       store: a pop of t needs t.link, which stays pending (I2) until then, so the store
 *       lands in an item that is still queued (never in a popped or freed one).
 *  pop: snapshot A; if empty return NULL; nx = A.head.link; if head == tail the new
 *       anchor is empty, else if nx == NULL the link is pending (wait and retry), else
 *       {nx, A.tail}; CAS with tag+1.  nx may come from an item that another thread
 *       popped and reused after our snapshot, but then the tag moved and the CAS fails
 *       (I4): that is the ABA case, and the reason pops must move the tag.  Reading that
 *       item is why lfq.h requires type-stable memory.
 *  pop_all: CAS A -> empty; the caller walks the chain head..tail, waiting on pending
 *       links, reading each link before handing its item out.
 *
 * Snapshot.  The anchor is read as two 8-byte loads (a 16-byte load would be a locked
 * cmpxchg16b in libatomic, a write on every read).  The tag is split, low 20 bits in w0
 * and high 20 bits in w1, and w1 is loaded before w0.  If a CAS built from such a
 * snapshot succeeds, the snapshot was the real anchor at the w0 load and nothing changed
 * between that load and the CAS except push_heads, which cannot matter.  Let j <= i <= k
 * be the versions seen by the w1 load, the w0 load and the CAS.  high(tag_k) ==
 * high(tag_j) and tags never decrease, so high(tag_i) == high(tag_k); low(tag_i) ==
 * low(tag_k); hence tag_i == tag_k: no pop, pop_all or push_tail happened between i and
 * k, only push_heads, and those would have changed w0 (an item queued cannot be pushed
 * again, so the head cannot come back).  And w1 at i was the w1 we loaded: w1 changes
 * without the tag only when a push fills an empty queue, and a queue empty at k would
 * have a NULL head in w0_i, which pop answers with NULL before any CAS.  So the CAS's
 * expected value was the real anchor from the w0 load to the CAS, and the link read in
 * between belongs to it.  The
 * 8-byte CAS of push_head reads only w0 and needs no such argument.  A failed 16-byte
 * CAS returns the anchor it found, read atomically: the retry uses it as its snapshot.
 *
 * Why a tag and not hazard pointers or RCU.  The tag costs nothing beyond the 16-byte CAS
 * (which a {head, tail} anchor needs anyway to keep I1 atomic) and lets items be reused
 * at once, which the pool depot wants.  Its price is the type-stable memory rule; a user
 * who must free items can pop inside a psz read section and free with psz_defer.  The
 * protocol is checked exhaustively by tests/model/lfq.pml (and a variant without the tag
 * shows the ABA failure).
 *
 * The 16-byte CAS.  GCC (>= 7) never inlines a 16-byte C11 atomic: it calls libatomic.
 * So lfq_anchor_cas() uses __sync_val_compare_and_swap on the anchor with the cx16
 * target enabled (and -mcx16 from src/lib/meson.build, which clang needs), which is one
 * inlined `lock cmpxchg16b`: a full barrier, stronger than the acq_rel the protocol
 * needs.  ThreadSanitizer instruments it as a 128-bit atomic
 * CAS (and the 8-byte C11 CAS of push_head as a 64-bit one), so TSan sees the
 * protocol's synchronisation without suppressions.
 */
#include "lib/lfq.h"

void
lfq_init(struct lfq *q, size_t off)
{
	assert(off % sizeof(void *) == 0);
	atomic_init(&q->q_w0, 0);
	atomic_init(&q->q_w1, 0);
	q->q_off = off;
}

void *
lfq_peek(struct lfq *q)
{
	/* Pairs with the CAS that published the head. */
	uint64_t w0 = atomic_load_explicit(&q->q_w0, memory_order_acquire);

	return lfq_item_of(q->q_off, lfq_ptr_decode(w0));
}

bool
lfq_empty(struct lfq *q)
{
	return lfq_peek(q) == NULL;
}

bool
lfq_pop_all(struct lfq *q, struct lfq_batch *b)
{
	struct lfq_snap s;

	lfq_snapshot(q, &s);
	do {
		if (s.head == NULL)
			return false;
	} while (!lfq_anchor_cas(q, &s, NULL, NULL, s.tag + 1));
	b->qb_first = s.head;
	b->qb_last = s.tail;
	b->qb_off = q->q_off;
	return true;
}

void *
lfq_batch_next(struct lfq_batch *b)
{
	struct lfq_link *l = b->qb_first, *nx;
	unsigned spins = 0;

	if (l == NULL)
		return NULL;
	if (l == b->qb_last)
		nx = NULL;
	else {
		/* Acquire pairs with the release store in lfq_push_tail. */
		while ((nx = atomic_load_explicit(&l->ql_next, memory_order_acquire)) == NULL)
			lfq_backoff(&spins);
	}
	b->qb_first = nx;
	return lfq_item_of(b->qb_off, l);
}
