/*
 * lfs.c - lockless intrusive LIFO stack (see lfs.h for the contract and the protocol).
 *
 * The hot operations (push, push_chain, pop) are inline in lfs.h; this file argues the
 * protocol and holds the rest.
 *
 * Words.  The anchor is {top, gen}: top is the top item, gen the count of successful pops
 * and take-alls.  An item's link is the item below it.
 *
 * Invariants, in terms of the anchor A and the links:
 *  (S1) Following links from A.top visits every stacked item once and ends at NULL.
 *  (S2) gen changes exactly when an item leaves the stack (pop, take-all), by +1.
 *  (S3) An item's link is written only while the item is off the stack (by its pusher,
 *       before the CAS that publishes it), so a stacked item's link is stable.
 *
 * push(n) (and push_chain): the CAS of top from t to n succeeds only if top == t at the
 * CAS, and n.link == t was written before it: (S1) holds after it whatever happened
 * before the CAS.  Push leaves gen alone: it cannot break a pop's snapshot (below).
 *
 * pop.  Let i <= j <= k be the instants of the gen load, the top load and the CAS2.  If
 * the CAS2 succeeds, gen_k == gen_i, so no item left the stack during [i, k] (S2, gen
 * never repeats).  Only pushes can have happened then, and with no pop a push makes top
 * an item that was not stacked; so top_k == top_j means no push either during [j, k]:
 * the anchor was {top_j, gen_i} for the whole of [j, k].  The link of top_j read in that
 * interval was therefore the link of a stacked item, stable by (S3): the CAS2 installs
 * the right successor.  If instead an item was popped and pushed back (the ABA case),
 * gen moved and the CAS2 fails.  A failed CAS2 returns the anchor it saw in one atomic
 * read, so the retry's snapshot is exact (i = j).  Reading top_j's link is why lfs.h asks
 * for type-stable memory: top_j may have been popped and freed in between.
 *
 * take-all: CAS2 {top, gen} -> {NULL, gen + 1} from a snapshot taken as for pop; the same
 * argument shows the chain taken is the stack at the CAS2.
 *
 * Why single-word push is safe next to a double-word pop: the CAS2 compares both words,
 * so a push between a popper's snapshot and its CAS2 makes the CAS2 fail (top changed);
 * a pop between a pusher's read and its CAS makes the push fail unless top came back to
 * the same item, in which case linking to it is still right (Treiber).
 *
 * Progress: lock-free (a CAS fails only because another operation succeeded).
 *
 * The 16-byte CAS is an inlined `lock cmpxchg16b` through __sync_val_compare_and_swap on
 * a cx16 target (see lfq.c for why not C11); ThreadSanitizer sees it as a 128-bit atomic
 * and the 8-byte C11 CAS of push as a 64-bit one on the first word.
 */
#include "lib/lfs.h"

void
lfs_init(struct lfs *s, size_t off)
{
	assert(off % sizeof(void *) == 0);
	atomic_init(&s->s_top, NULL);
	atomic_init(&s->s_gen, 0);
	s->s_off = off;
}

bool
lfs_empty(struct lfs *s)
{
	/* Relaxed: a momentary answer, nothing is read through it. */
	return atomic_load_explicit(&s->s_top, memory_order_relaxed) == NULL;
}

void *
lfs_pop_all(struct lfs *s)
{
	uint64_t gen;
	struct lfs_link *top = lfs_snapshot(s, &gen);

	do {
		if (top == NULL)
			return NULL;
	} while (!lfs_anchor_cas(s, &top, &gen, NULL));
	return lfs_item_of(s, top);
}

void *
lfs_chain_next(const struct lfs *s, void *item)
{
	/* The caller owns the chain; relaxed: the take-all's CAS2 acquired the links. */
	struct lfs_link *l = lfs_link_of(s, item);

	return lfs_item_of(s, atomic_load_explicit(&l->sl_next, memory_order_relaxed));
}
