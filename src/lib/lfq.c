/*
 * lfq.c - lockless intrusive FIFO/LIFO queue (see lfq.h for the contract).
 *
 * Words.  The anchor is {head, tail, tag}: head is the first item, tail the last, tag a
 * 40-bit count of successful anchor CASes.  An item's link is its successor toward the
 * tail.  A link is "pending" when it reads NULL although the item is not the tail.
 *
 * State invariants, in terms of the anchor value A and the links:
 *  (I1) A.head == NULL iff A.tail == NULL (empty).
 *  (I2) Following links from A.head reaches A.tail, where every link on the way is either
 *       the successor or pending; a pending link belongs to the old tail of a push_tail
 *       that has done its CAS but not yet its link store, and only that pusher writes it.
 *  (I3) The tail's link is NULL (push_head sets it for the first item, push_tail for
 *       every item it appends).
 *  (I4) tag(A) grows by one per successful CAS, so (mod 2^40) no anchor value repeats.
 *
 * Operations (each linearizes at its successful CAS):
 *  push_head(n): snapshot A; n.link = A.head; CAS A -> {n, A.tail ?: n, tag+1}.
 *  push_tail(n): n.link = NULL; snapshot A; CAS A -> {A.head ?: n, n, tag+1}; then, if
 *       A.tail was an item t, store t.link = n.  t cannot leave the queue before that
 *       store: a pop of t needs t.link, which stays pending (I2) until then, so the store
 *       lands in an item that is still queued (never in a popped or freed one).
 *  pop: snapshot A; if empty return NULL; nx = A.head.link; if head == tail the new
 *       anchor is empty, else if nx == NULL the link is pending (wait and retry), else
 *       {nx, A.tail}; CAS with tag+1.  nx may come from an item that another thread
 *       popped and reused after our snapshot, but then the tag moved and the CAS fails
 *       (I4): that is the ABA case.  Reading that item is why lfq.h requires
 *       type-stable memory.
 *  pop_all: CAS A -> empty; the caller walks the chain head..tail, waiting on pending
 *       links, reading each link before handing its item out.
 *
 * Snapshot.  The anchor is read as two 8-byte loads (a 16-byte load would be a locked
 * cmpxchg16b in libatomic, a write on every read).  The tag is split, low 20 bits in w0
 * and high 20 bits in w1, and w1 is loaded before w0.  If a CAS built from such a
 * snapshot succeeds, the snapshot was the real anchor at the w0 load and nothing changed
 * between that load and the CAS: with j <= i <= k the versions seen by the w1 load, the
 * w0 load and the CAS, high(tag_k) == high(tag_j) and tags are monotonic, so
 * high(tag_i) == high(tag_k); low(tag_i) == low(tag_k); hence tag_i == tag_k and i == k.
 * So every decision taken on a snapshot whose CAS succeeds was taken on a real state,
 * and every link read after the w0 load belongs to that state.
 *
 * Why a tag and not hazard pointers or RCU.  The tag costs nothing beyond the 16-byte CAS
 * (which a {head, tail} anchor needs anyway to keep I1 atomic) and lets items be reused
 * at once, which the pool depot wants.  Its price is the type-stable memory rule; a user
 * who must free items can pop inside a psz read section and free with psz_defer.  The
 * protocol is checked exhaustively by tests/model/lfq.pml (and a variant without the tag
 * shows the ABA failure).
 *
 * The 16-byte CAS.  GCC (>= 7) never inlines a 16-byte C11 atomic: it calls libatomic.
 * So lfq_anchor_cas() uses __sync_bool_compare_and_swap on the anchor with the cx16
 * target enabled, which is one inlined `lock cmpxchg16b`: a full barrier, stronger than
 * the acq_rel the protocol needs.  ThreadSanitizer instruments it as a 128-bit atomic
 * CAS, so TSan sees the protocol's synchronisation without suppressions.
 */
#include "lib/lfq.h"

#include <assert.h>
#include <sched.h>

#define LFQ_PTR_BITS	44
#define LFQ_PTR_MASK	((UINT64_C(1) << LFQ_PTR_BITS) - 1)
#define LFQ_TAG_HALF	20
#define LFQ_TAG_MASK	((UINT64_C(1) << LFQ_TAG_HALF) - 1)
#define LFQ_SPINS	64

#if defined(__x86_64__) || defined(__i386__)
#define lfq_cpu_relax()	__builtin_ia32_pause()
#else
#define lfq_cpu_relax()	atomic_signal_fence(memory_order_seq_cst)
#endif

/* A decoded snapshot of the anchor. */
struct lfq_snap {
	uint64_t	 w0, w1;	/* the raw words, the CAS's expected value */
	struct lfq_link	*head, *tail;
	uint64_t	 tag;
};

static inline struct lfq_link *
lfq_ptr_decode(uint64_t w)
{
	return (struct lfq_link *)(uintptr_t)((w & LFQ_PTR_MASK) << 3);
}

static inline uint64_t
lfq_ptr_encode(const struct lfq_link *l)
{
	uintptr_t p = (uintptr_t)l;

	assert((p & 7) == 0 && (p >> (LFQ_PTR_BITS + 3)) == 0);
	return (uint64_t)p >> 3;
}

static inline struct lfq_link *
lfq_link_of(const struct lfq *q, void *item)
{
	return (struct lfq_link *)(void *)((char *)item + q->q_off);
}

static inline void *
lfq_item_of(size_t off, struct lfq_link *l)
{
	return l != NULL ? (void *)((char *)l - off) : NULL;
}

static inline void
lfq_snapshot(struct lfq *q, struct lfq_snap *s)
{
	/* w1 first, then w0: the order the tag argument above needs.  Acquire pairs with
	 * the release side of the CAS that wrote each word. */
	s->w1 = atomic_load_explicit(&q->q_w1, memory_order_acquire);
	s->w0 = atomic_load_explicit(&q->q_w0, memory_order_acquire);
	s->head = lfq_ptr_decode(s->w0);
	s->tail = lfq_ptr_decode(s->w1);
	s->tag = (s->w0 >> LFQ_PTR_BITS) | (s->w1 >> LFQ_PTR_BITS) << LFQ_TAG_HALF;
}

__attribute__((target("cx16")))
static inline bool
lfq_anchor_cas(struct lfq *q, const struct lfq_snap *s, struct lfq_link *head,
    struct lfq_link *tail)
{
	uint64_t tag = s->tag + 1;
	uint64_t n0 = lfq_ptr_encode(head) | (tag & LFQ_TAG_MASK) << LFQ_PTR_BITS;
	uint64_t n1 = lfq_ptr_encode(tail) |
	    ((tag >> LFQ_TAG_HALF) & LFQ_TAG_MASK) << LFQ_PTR_BITS;
	unsigned __int128 expect = (unsigned __int128)s->w1 << 64 | s->w0;
	unsigned __int128 want = (unsigned __int128)n1 << 64 | n0;

	/* Full barrier (seq_cst): releases the item's contents and link to the thread that
	 * pops it, acquires what the pusher released; pairs with itself in other threads
	 * and with lfq_snapshot's acquire loads. */
	return __sync_bool_compare_and_swap((unsigned __int128 *)(void *)&q->q_w0,
	    expect, want);
}

static inline void
lfq_backoff(unsigned *spins)
{
	if (++*spins % LFQ_SPINS == 0)
		sched_yield();
	else
		lfq_cpu_relax();
}

void
lfq_init(struct lfq *q, size_t off)
{
	assert(off % sizeof(void *) == 0);
	atomic_init(&q->q_w0, 0);
	atomic_init(&q->q_w1, 0);
	q->q_off = off;
}

void
lfq_push_head(struct lfq *q, void *item)
{
	struct lfq_link *n = lfq_link_of(q, item);
	struct lfq_snap s;

	do {
		lfq_snapshot(q, &s);
		/* Private until the CAS publishes it. */
		atomic_store_explicit(&n->ql_next, s.head, memory_order_relaxed);
	} while (!lfq_anchor_cas(q, &s, n, s.tail != NULL ? s.tail : n));
}

void
lfq_push_tail(struct lfq *q, void *item)
{
	struct lfq_link *n = lfq_link_of(q, item);
	struct lfq_snap s;

	atomic_store_explicit(&n->ql_next, NULL, memory_order_relaxed);
	do {
		lfq_snapshot(q, &s);
	} while (!lfq_anchor_cas(q, &s, s.head != NULL ? s.head : n, n));
	/* Close the pending link (I2).  Release pairs with the acquire load of the link in
	 * lfq_pop / lfq_batch_next. */
	if (s.tail != NULL)
		atomic_store_explicit(&s.tail->ql_next, n, memory_order_release);
}

void *
lfq_pop(struct lfq *q)
{
	struct lfq_snap s;
	struct lfq_link *nx;
	unsigned spins = 0;

	for (;;) {
		lfq_snapshot(q, &s);
		if (s.head == NULL)
			return NULL;
		/* May read a popped item (type-stable memory); acquire pairs with the
		 * release store in lfq_push_tail. */
		nx = atomic_load_explicit(&s.head->ql_next, memory_order_acquire);
		if (s.head == s.tail) {
			if (lfq_anchor_cas(q, &s, NULL, NULL))
				break;
		} else if (nx == NULL)
			lfq_backoff(&spins);	/* pending link */
		else if (lfq_anchor_cas(q, &s, nx, s.tail))
			break;
	}
	return lfq_item_of(q->q_off, s.head);
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

	do {
		lfq_snapshot(q, &s);
		if (s.head == NULL)
			return false;
	} while (!lfq_anchor_cas(q, &s, NULL, NULL));
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
