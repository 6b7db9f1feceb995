/*
 * ptree.c - generic lockless Patricia tree of prefixes (see ptree.h).
 *
 * Design (after Matt Thomas' NetBSD ptree: the node is embedded in the item, and each
 * item carries both a leaf and a branch identity, so insertion never allocates).
 *
 * Words.  A *leaf* node is an entry's prefix; its pn_bit is the prefix length L and its
 * children (if any) hold longer prefixes, split on key bit L.  A *glue* node is a pure
 * branching point at bit b: every key below it shares its first b bits and its two
 * children differ at bit b.  Every entry owns one glue (pe_glue); a glue is *in use*
 * when linked into the tree, otherwise its owner sits on the tree's free-glue list.
 * A glue's pn_key is the key of some leaf below it (its representative), which the
 * writer uses to learn the glue's prefix bits; readers never read it.
 *
 * Invariants.  (1) Along any root-to-node path pn_bit strictly increases.  (2) A node
 * with bit b and all nodes below it share the first b key bits; a leaf's own prefix is
 * its first L bits.  (3) A glue has exactly two children.  Hence glues in use <= leaves
 * without children - 1 <= entries - 1, and on removal there is always a free glue of
 * another entry to take (the counting argument is in ptree_remove).
 *
 * Readers.  Longest-prefix match walks from the root, at each node following the key's
 * bit at pn_bit; at each leaf it compares the key with the leaf's prefix (first
 * differing bit, XOR + count-leading-zeros in the ops); on the first mismatch no deeper
 * leaf can match, so the walk stops.  Lookups are lockless: they load child pointers
 * with acquire, pairing with the writer's release publication (psz_publish).
 *
 * Writers.  Insert builds the new leaf (and, if needed, its own glue) completely, then
 * publishes it with one release store: readers see the tree before or after.  Removal
 * unlinks with one release store, except when it must reuse a glue that left the tree
 * recently (a reader may still stand on it): such a glue is rewritten inside a sequence
 * counter write section (pt_seq odd), and readers validate pt_seq around their walk and
 * retry if it moved.  Only these glue reuses bump pt_seq, so readers rarely retry.
 * Unlinked entries stay readable until a grace period passes (the caller frees them
 * with psz_defer).  Walks are bounded because pn_bit must increase at each step.
 */
#include "lib/ptree.h"
#include "kern/kern.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- key helpers ---------------------------------------------------------------- */

unsigned
ptree_bytes_testbit(const void *key, unsigned bit)
{
	const uint8_t *p = key;

	return (p[bit >> 3] >> (7 - (bit & 7))) & 1;
}

unsigned
ptree_bytes_diffbit(const void *a, const void *b, unsigned limit)
{
	const uint8_t *x = a, *y = b;
	unsigned i, r;

	for (i = 0; i * 8 < limit; i++) {
		if (x[i] == y[i])
			continue;
		r = i * 8 + (unsigned)__builtin_clz((unsigned)(x[i] ^ y[i])) - 24;
		return r < limit ? r : limit;
	}
	return limit;
}

static inline uint32_t
load_be32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return __builtin_bswap32(v);
}

static inline uint64_t
load_be64(const void *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return __builtin_bswap64(v);
}

static unsigned
ipv4_diffbit(const void *a, const void *b, unsigned limit)
{
	uint32_t x = load_be32(a) ^ load_be32(b);
	unsigned r;

	if (x == 0)
		return limit;
	r = (unsigned)__builtin_clz(x);
	return r < limit ? r : limit;
}

static unsigned
ipv6_diffbit(const void *a, const void *b, unsigned limit)
{
	const uint8_t *x = a, *y = b;
	uint64_t d = load_be64(x) ^ load_be64(y);
	unsigned r;

	if (d != 0)
		r = (unsigned)__builtin_clzll(d);
	else if ((d = load_be64(x + 8) ^ load_be64(y + 8)) != 0)
		r = 64 + (unsigned)__builtin_clzll(d);
	else
		return limit;
	return r < limit ? r : limit;
}

const struct ptree_ops ptree_ops_ipv4 = { 32, ptree_bytes_testbit, ipv4_diffbit };
const struct ptree_ops ptree_ops_ipv6 = { 128, ptree_bytes_testbit, ipv6_diffbit };
const struct ptree_ops ptree_ops_mac = { 48, ptree_bytes_testbit, ptree_bytes_diffbit };

/* ---- node accessors -------------------------------------------------------------- */

static inline unsigned
node_bit(const struct ptree_node *n)
{
	/* Acquire: pairs with the release in node_set(), so that a reader that sees a
	 * reused glue's new bit also sees the odd pt_seq (seq_read_retry). */
	return atomic_load_explicit(&n->pn_bit, memory_order_acquire);
}

static inline struct ptree_node *
node_child(const struct ptree_node *n, unsigned side)
{
	/* Acquire: pairs with the release in node_publish(). */
	return atomic_load_explicit(&((struct ptree_node *)n)->pn_child[side],
	    memory_order_acquire);
}

static inline void
node_publish(_Atomic(struct ptree_node *) *slot, struct ptree_node *n)
{
	/* Release: pairs with node_child()/root loads; n is fully built before. */
	atomic_store_explicit(slot, n, memory_order_release);
}

/*
 * Fill a node not yet visible, or a reused glue inside a pt_seq write section.
 * Release: each store is ordered after the odd pt_seq store (seq_write_begin), pairing
 * with the reader's acquire loads of the same fields (node_bit, node_child).
 */
static inline void
node_set(struct ptree_node *n, unsigned bit, struct ptree_node *c0, struct ptree_node *c1)
{
	atomic_store_explicit(&n->pn_bit, (uint16_t)bit, memory_order_release);
	atomic_store_explicit(&n->pn_child[0], c0, memory_order_release);
	atomic_store_explicit(&n->pn_child[1], c1, memory_order_release);
}

static inline struct ptree_node *
tree_root(const struct ptree *t)
{
	/* Acquire: pairs with node_publish() on pt_root. */
	return atomic_load_explicit(&((struct ptree *)t)->pt_root, memory_order_acquire);
}

static inline struct ptree_entry *
leaf_entry(struct ptree_node *n)
{
	return container_of(n, struct ptree_entry, pe_leaf);
}

static inline struct ptree_entry *
glue_entry(struct ptree_node *n)
{
	return container_of(n, struct ptree_entry, pe_glue);
}

/* ---- sequence counter for glue reuse --------------------------------------------- */

static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static unsigned
seq_read_begin(const struct ptree *t)
{
	unsigned s;

	/* Acquire: pairs with the release in seq_write_end(). */
	while ((s = atomic_load_explicit(&t->pt_seq, memory_order_acquire)) & 1)
		cpu_relax();
	return s;
}

static bool
seq_read_retry(const struct ptree *t, unsigned s)
{
	/* Relaxed: every node load of the walk was an acquire, so this load comes after
	 * them; a walk that read any field rewritten under pt_seq (a release store made
	 * after the odd counter, see node_set) therefore sees the counter moved.  (No
	 * fences: ThreadSanitizer does not model them.) */
	return atomic_load_explicit(&t->pt_seq, memory_order_relaxed) != s;
}

static void
seq_write_begin(struct ptree *t)
{
	unsigned s = atomic_load_explicit(&t->pt_seq, memory_order_relaxed);

	/* Relaxed: the release stores of node_set() that follow order it before them. */
	atomic_store_explicit(&t->pt_seq, s + 1, memory_order_relaxed);
}

static void
seq_write_end(struct ptree *t)
{
	unsigned s = atomic_load_explicit(&t->pt_seq, memory_order_relaxed);

	/* Release: pairs with seq_read_begin(). */
	atomic_store_explicit(&t->pt_seq, s + 1, memory_order_release);
}

/* ---- free-glue list (writer only) ----------------------------------------------- */

static void
free_push(struct ptree *t, struct ptree_entry *e)
{
	e->pe_free_prev = NULL;
	e->pe_free_next = t->pt_free;
	if (t->pt_free != NULL)
		t->pt_free->pe_free_prev = e;
	t->pt_free = e;
}

static void
free_unlink(struct ptree *t, struct ptree_entry *e)
{
	if (e->pe_free_prev != NULL)
		e->pe_free_prev->pe_free_next = e->pe_free_next;
	else
		t->pt_free = e->pe_free_next;
	if (e->pe_free_next != NULL)
		e->pe_free_next->pe_free_prev = e->pe_free_prev;
	e->pe_free_next = e->pe_free_prev = NULL;
}

/* Take a free glue; it may still be seen by readers, so fill it under pt_seq. */
static struct ptree_node *
glue_take(struct ptree *t)
{
	struct ptree_entry *e = t->pt_free;

	assert(e != NULL);
	free_unlink(t, e);
	e->pe_glue.pn_inuse = 1;
	return &e->pe_glue;
}

/* A glue left the tree: return it to its owner (unless the owner is leaving). */
static void
glue_release(struct ptree *t, struct ptree_node *g, struct ptree_entry *leaving)
{
	struct ptree_entry *owner = glue_entry(g);

	g->pn_inuse = 0;
	if (owner != leaving)
		free_push(t, owner);
}

/* Fill a reused glue and publish it in slot, inside a pt_seq write section. */
static void
glue_reuse(struct ptree *t, struct ptree_node *g, _Atomic(struct ptree_node *) *slot,
    unsigned bit, struct ptree_node *c0, struct ptree_node *c1, const void *rep)
{
	seq_write_begin(t);
	node_set(g, bit, c0, c1);
	g->pn_key = rep;
	node_publish(slot, g);
	seq_write_end(t);
}

/* ---- init ---------------------------------------------------------------------- */

int
ptree_init(struct ptree *t, const struct ptree_ops *ops)
{
	if (ops == NULL || ops->po_maxbits == 0 || ops->po_maxbits > PTREE_MAXBITS)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	t->pt_ops = ops;
	t->pt_path = calloc(ops->po_maxbits + 2, sizeof(*t->pt_path));
	if (t->pt_path == NULL)
		return -ENOMEM;
	atomic_init(&t->pt_root, NULL);
	atomic_init(&t->pt_seq, 0);
	atomic_init(&t->pt_count, 0);
	return 0;
}

void
ptree_fini(struct ptree *t)
{
	free(t->pt_path);
	t->pt_path = NULL;
}

/* ---- readers ------------------------------------------------------------------- */

/*
 * Deepest leaf with length < limit that prefixes key and passes filter.  May return
 * garbage if a glue is reused meanwhile (the caller validates pt_seq).
 */
static struct ptree_entry *
lpm_walk(const struct ptree *t, const void *key, unsigned limit, ptree_filter_t filter,
    void *arg)
{
	const struct ptree_ops *ops = t->pt_ops;
	struct ptree_node *n = tree_root(t);
	struct ptree_entry *best = NULL;
	int last = -1;
	unsigned b;

	while (n != NULL && (b = node_bit(n)) < limit && (int)b > last) {
		last = (int)b;
		if (n->pn_kind == PTREE_LEAF) {
			if (ops->po_diffbit(key, n->pn_key, b) < b)
				break;
			if (filter == NULL || filter(leaf_entry(n), arg))
				best = leaf_entry(n);
		}
		if (b >= ops->po_maxbits)
			break;
		n = node_child(n, ops->po_testbit(key, b));
	}
	return best;
}

struct ptree_entry *
ptree_lookup_lpm(const struct ptree *t, const void *key, ptree_filter_t filter, void *arg)
{
	struct ptree_entry *e;
	unsigned s;

	do {
		s = seq_read_begin(t);
		e = lpm_walk(t, key, t->pt_ops->po_maxbits + 1, filter, arg);
	} while (seq_read_retry(t, s));
	return e;
}

struct ptree_entry *
ptree_lookup_parent(const struct ptree *t, const void *key, unsigned len)
{
	struct ptree_entry *e;
	unsigned s;

	do {
		s = seq_read_begin(t);
		e = lpm_walk(t, key, len, NULL, NULL);
	} while (seq_read_retry(t, s));
	return e;
}

static struct ptree_entry *
exact_walk(const struct ptree *t, const void *key, unsigned len)
{
	const struct ptree_ops *ops = t->pt_ops;
	struct ptree_node *n = tree_root(t);
	int last = -1;
	unsigned b;

	while (n != NULL && (b = node_bit(n)) < len && (int)b > last) {
		last = (int)b;
		n = node_child(n, ops->po_testbit(key, b));
	}
	if (n == NULL || node_bit(n) != len || n->pn_kind != PTREE_LEAF)
		return NULL;
	if (ops->po_diffbit(key, n->pn_key, len) < len)
		return NULL;
	return leaf_entry(n);
}

struct ptree_entry *
ptree_lookup_exact(const struct ptree *t, const void *key, unsigned len)
{
	struct ptree_entry *e;
	unsigned s;

	if (len > t->pt_ops->po_maxbits)
		return NULL;
	do {
		s = seq_read_begin(t);
		e = exact_walk(t, key, len);
	} while (seq_read_retry(t, s));
	return e;
}

static int
walk_node(struct ptree_node *n, int (*fn)(struct ptree_entry *, void *), void *arg,
    int last)
{
	int b, rc;

	if (n == NULL || (b = (int)node_bit(n)) <= last)
		return 0;
	if (n->pn_kind == PTREE_LEAF && (rc = fn(leaf_entry(n), arg)) != 0)
		return rc;
	if ((rc = walk_node(node_child(n, 0), fn, arg, b)) != 0)
		return rc;
	return walk_node(node_child(n, 1), fn, arg, b);
}

int
ptree_walk(const struct ptree *t, int (*fn)(struct ptree_entry *e, void *arg), void *arg)
{
	return walk_node(tree_root(t), fn, arg, -1);
}

/* ---- insert -------------------------------------------------------------------- */

static void
entry_prepare(struct ptree_entry *e, const void *key, unsigned len)
{
	node_set(&e->pe_leaf, len, NULL, NULL);
	e->pe_leaf.pn_key = key;
	e->pe_leaf.pn_kind = PTREE_LEAF;
	e->pe_leaf.pn_inuse = 1;
	node_set(&e->pe_glue, 0, NULL, NULL);
	e->pe_glue.pn_key = NULL;
	e->pe_glue.pn_kind = PTREE_GLUE;
	e->pe_glue.pn_inuse = 0;
	e->pe_free_next = e->pe_free_prev = NULL;
}

/*
 * First bit in which key differs from the tree along its path, capped at len: walk the
 * key's path down to the last node whose bit is < len and compare with that node's
 * representative, whose first node_bit() bits are those of the whole subtree.
 */
static unsigned
insert_critbit(const struct ptree *t, const void *key, unsigned len)
{
	const struct ptree_ops *ops = t->pt_ops;
	struct ptree_node *n = tree_root(t), *c;
	unsigned b;

	for (;;) {
		b = node_bit(n);
		if (b >= len)
			break;
		c = node_child(n, ops->po_testbit(key, b));
		if (c == NULL)
			break;
		n = c;
	}
	return ops->po_diffbit(key, n->pn_key, b < len ? b : len);
}

/* Link leaf (bit len) at slot, where m (bit > d or == d) stood; d is the critical bit. */
static int
insert_at(struct ptree *t, struct ptree_entry *e, _Atomic(struct ptree_node *) *slot,
    unsigned d, struct ptree_entry **dup)
{
	const struct ptree_ops *ops = t->pt_ops;
	struct ptree_node *m = atomic_load_explicit(slot, memory_order_relaxed);
	struct ptree_node *leaf = &e->pe_leaf, *g = &e->pe_glue;
	unsigned len = node_bit(leaf), mb = node_bit(m), side;

	if (mb == d && d == len) {
		if (m->pn_kind == PTREE_LEAF) {
			if (dup != NULL)
				*dup = leaf_entry(m);
			return -EEXIST;
		}
		node_set(leaf, len, node_child(m, 0), node_child(m, 1));
		node_publish(slot, leaf);
		glue_release(t, m, NULL);
	} else if (mb == d) {
		slot = &m->pn_child[ops->po_testbit(leaf->pn_key, d)];
		assert(atomic_load_explicit(slot, memory_order_relaxed) == NULL);
		node_publish(slot, leaf);
	} else if (d == len) {
		side = ops->po_testbit(m->pn_key, len);
		node_set(leaf, len, side ? NULL : m, side ? m : NULL);
		node_publish(slot, leaf);
	} else {
		side = ops->po_testbit(leaf->pn_key, d);
		node_set(g, d, side ? m : leaf, side ? leaf : m);
		g->pn_key = leaf->pn_key;
		g->pn_inuse = 1;
		node_publish(slot, g);
	}
	return 0;
}

int
ptree_insert(struct ptree *t, struct ptree_entry *e, const void *key, unsigned len,
    struct ptree_entry **dup)
{
	const struct ptree_ops *ops = t->pt_ops;
	_Atomic(struct ptree_node *) *slot = &t->pt_root;
	struct ptree_node *m;
	unsigned d;
	int rc;

	if (len > ops->po_maxbits)
		return -EINVAL;
	entry_prepare(e, key, len);
	if (tree_root(t) == NULL) {
		node_publish(&t->pt_root, &e->pe_leaf);
	} else {
		d = insert_critbit(t, key, len);
		while ((m = atomic_load_explicit(slot, memory_order_relaxed)) != NULL &&
		    node_bit(m) < d)
			slot = &m->pn_child[ops->po_testbit(key, node_bit(m))];
		assert(m != NULL);
		if ((rc = insert_at(t, e, slot, d, dup)) != 0)
			return rc;
	}
	if (!e->pe_glue.pn_inuse)
		free_push(t, e);
	/* Relaxed: only this writer modifies it. */
	atomic_store_explicit(&t->pt_count, ptree_count(t) + 1, memory_order_relaxed);
	return 0;
}

/* ---- remove -------------------------------------------------------------------- */

/* Slot pointing to node n, found by following key (a key n's prefix is a prefix of). */
static _Atomic(struct ptree_node *) *
find_slot(struct ptree *t, const void *key, struct ptree_node *target,
    _Atomic(struct ptree_node *) **pslot)
{
	const struct ptree_ops *ops = t->pt_ops;
	_Atomic(struct ptree_node *) *slot = &t->pt_root, *parent = NULL;
	struct ptree_node *n;

	while ((n = atomic_load_explicit(slot, memory_order_relaxed)) != target) {
		assert(n != NULL);
		parent = slot;
		slot = &n->pn_child[ops->po_testbit(key, node_bit(n))];
	}
	if (pslot != NULL)
		*pslot = parent;
	return slot;
}

/* The node that owns slot (slot is one of its pn_child). */
static struct ptree_node *
slot_owner(_Atomic(struct ptree_node *) *slot, _Atomic(struct ptree_node *) *child)
{
	struct ptree_node *p = atomic_load_explicit(slot, memory_order_relaxed);

	return (child == &p->pn_child[0] || child == &p->pn_child[1]) ? p : NULL;
}

/* Unlink the leaf of e (found at slot, its parent's slot is pslot or NULL). */
static void
remove_leaf(struct ptree *t, struct ptree_entry *e, _Atomic(struct ptree_node *) *slot,
    _Atomic(struct ptree_node *) *pslot)
{
	struct ptree_node *leaf = &e->pe_leaf, *p, *g;
	struct ptree_node *c0 = node_child(leaf, 0), *c1 = node_child(leaf, 1);

	if (c0 != NULL && c1 != NULL) {
		g = glue_take(t);
		glue_reuse(t, g, slot, node_bit(leaf), c0, c1, c0->pn_key);
	} else if (c0 != NULL || c1 != NULL) {
		node_publish(slot, c0 != NULL ? c0 : c1);
	} else if (pslot != NULL && (p = slot_owner(pslot, slot)) != NULL &&
	    p->pn_kind == PTREE_GLUE) {
		/* p keeps its other child only: splice p out. */
		node_publish(pslot, node_child(p, &p->pn_child[0] == slot ? 1 : 0));
		glue_release(t, p, e);
	} else {
		node_publish(slot, NULL);
	}
}

/* e's glue is still linked somewhere: move its role to a free glue. */
static void
remove_relocate_glue(struct ptree *t, struct ptree_entry *e)
{
	struct ptree_node *g = &e->pe_glue, *h;
	_Atomic(struct ptree_node *) *slot = find_slot(t, g->pn_key, g, NULL);

	h = glue_take(t);
	glue_reuse(t, h, slot, node_bit(g), node_child(g, 0), node_child(g, 1), g->pn_key);
	g->pn_inuse = 0;
}

/* Glues whose representative was key get another one, bottom-up along key's path. */
static void
remove_fix_reps(struct ptree *t, const void *key, unsigned len)
{
	const struct ptree_ops *ops = t->pt_ops;
	struct ptree_node *n = tree_root(t), *g;
	unsigned depth = 0, b;

	while (n != NULL && (b = node_bit(n)) < len) {
		if (n->pn_kind == PTREE_GLUE)
			t->pt_path[depth++] = n;
		n = node_child(n, ops->po_testbit(key, b));
	}
	while (depth-- > 0) {
		g = t->pt_path[depth];
		if (g->pn_key == key)
			g->pn_key = node_child(g, 0)->pn_key;
	}
}

/*
 * Counting argument for glue_take(): a glue has two children, so glues in use are at
 * most (childless leaves - 1).  After removing e, all childless leaves belong to the
 * n - 1 other entries, so at most n - 2 glues are needed, all owned by other entries:
 * at least one of their glues is free at each take.
 */
void
ptree_remove(struct ptree *t, struct ptree_entry *e)
{
	_Atomic(struct ptree_node *) *slot, *pslot;
	const void *key = e->pe_leaf.pn_key;

	if (!e->pe_glue.pn_inuse)
		free_unlink(t, e);
	slot = find_slot(t, key, &e->pe_leaf, &pslot);
	remove_leaf(t, e, slot, pslot);
	if (e->pe_glue.pn_inuse)
		remove_relocate_glue(t, e);
	remove_fix_reps(t, key, node_bit(&e->pe_leaf));
	e->pe_leaf.pn_inuse = 0;
	atomic_store_explicit(&t->pt_count, ptree_count(t) - 1, memory_order_relaxed);
}
