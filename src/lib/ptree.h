/*
 * ptree.h - generic lockless Patricia (path-compressed binary radix) tree of prefixes.
 *
 * A key is a bit string (bit 0 is the most significant bit of byte 0) described by an
 * ops table: its maximum length, how to test one bit, and how to find the first bit in
 * which two keys differ.  One implementation serves IPv4, IPv6, MAC addresses or any
 * bit string.  An entry is a prefix: a key and a length 0..maxbits.
 *
 * The entry embeds its tree linkage (struct ptree_entry), which holds two nodes: a
 * "leaf" identity (the prefix itself) and a "glue" identity that the tree may use as a
 * pure branching node somewhere else.  Insert and remove never allocate.  Readers are
 * lockless (inside a psz read section); writers serialise per tree (the caller's lock).
 * See ptree.c for the algorithm and invariants.
 */
#ifndef SMPNET_LIB_PTREE_H
#define SMPNET_LIB_PTREE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Key description.  Bits are numbered from 0 (most significant bit of byte 0). */
struct ptree_ops {
	unsigned	po_maxbits;	/* key length in bits, 1..PTREE_MAXBITS */
	/* Value (0 or 1) of bit `bit` of key; bit < po_maxbits. */
	unsigned	(*po_testbit)(const void *key, unsigned bit);
	/* First bit < limit in which a and b differ, or limit if none; limit <= maxbits. */
	unsigned	(*po_diffbit)(const void *a, const void *b, unsigned limit);
};

#define PTREE_MAXBITS	4096

/* Ready-made key types: IPv4 (4 bytes), IPv6 (16 bytes), MAC (6 bytes) in network order. */
extern const struct ptree_ops ptree_ops_ipv4;
extern const struct ptree_ops ptree_ops_ipv6;
extern const struct ptree_ops ptree_ops_mac;

/* Helpers for byte-string keys of any length (used by the ops above). */
unsigned ptree_bytes_testbit(const void *key, unsigned bit);
unsigned ptree_bytes_diffbit(const void *a, const void *b, unsigned limit);

enum { PTREE_LEAF = 0, PTREE_GLUE = 1 };

/*
 * One node.  A leaf node is an entry's prefix (pn_bit = prefix length); a glue node
 * branches at bit pn_bit.  Both may have children, each of a longer bit index.
 */
struct ptree_node {
	_Atomic(struct ptree_node *) pn_child[2];	/* [R] published by the writer */
	const void		*pn_key;	/* [R] leaf: the entry's key; [W] glue: the
						   key of some leaf below (writers only) */
	_Atomic uint16_t	 pn_bit;	/* [R] prefix length / branching bit */
	uint8_t			 pn_kind;	/* [I] PTREE_LEAF or PTREE_GLUE */
	uint8_t			 pn_inuse;	/* [W] glue: linked into the tree */
};

_Static_assert(sizeof(struct ptree_node) == 32, "ptree_node: half a cache line");

/* Embedded in the user's entry. */
struct ptree_entry {
	struct ptree_node	 pe_leaf;	/* the prefix */
	struct ptree_node	 pe_glue;	/* spare branching node owned by this entry */
	struct ptree_entry	*pe_free_next;	/* [W] free-glue list */
	struct ptree_entry	*pe_free_prev;	/* [W] */
};

struct ptree {
	_Atomic(struct ptree_node *) pt_root;	/* [R] */
	_Atomic unsigned	 pt_seq;	/* [a] odd while a visible glue is reused */
	const struct ptree_ops	*pt_ops;	/* [I] */
	struct ptree_entry	*pt_free;	/* [W] entries whose glue is unlinked */
	_Atomic size_t		 pt_count;	/* [a] number of entries (writer updates) */
	struct ptree_node	**pt_path;	/* [W] scratch path, po_maxbits + 2 slots */
};

/*
 * Initialise an empty tree.  Returns 0 or -ENOMEM (the writer's scratch path) or
 * -EINVAL (bad ops).  May block (allocates).
 */
int ptree_init(struct ptree *t, const struct ptree_ops *ops);

/* Release the tree's own memory; the tree must be empty or its entries abandoned. */
void ptree_fini(struct ptree *t);

/*
 * Insert entry e with prefix (key, len).  key must stay valid and unchanged while e is
 * in the tree; bits of key beyond len are ignored.  e must be new, or removed at least
 * one grace period ago.  Writer context: the caller holds the tree's writer lock.
 * Never blocks, never allocates.  Returns 0, -EEXIST (an entry with that prefix exists;
 * *dup is set to it if dup != NULL) or -EINVAL (len > maxbits).
 */
int ptree_insert(struct ptree *t, struct ptree_entry *e, const void *key, unsigned len,
    struct ptree_entry **dup);

/*
 * Remove entry e (which must be in t).  Writer context.  Never blocks.  Readers may
 * still see e until a grace period has passed: free it with psz_defer().
 */
void ptree_remove(struct ptree *t, struct ptree_entry *e);

/* Filter for lookups: true to accept the entry. */
typedef bool (*ptree_filter_t)(const struct ptree_entry *e, void *arg);

/*
 * Longest-prefix match of a full-length key: the entry with the longest prefix of key
 * that filter accepts (filter NULL: any), or NULL.  Reader context (inside a psz read
 * section) or writer context.  Lockless, never blocks.
 */
struct ptree_entry *ptree_lookup_lpm(const struct ptree *t, const void *key,
    ptree_filter_t filter, void *arg);

/* Exact match of prefix (key, len), or NULL.  Reader or writer context. */
struct ptree_entry *ptree_lookup_exact(const struct ptree *t, const void *key,
    unsigned len);

/*
 * Longest entry strictly shorter than len that covers prefix (key, len) (the prefix's
 * parent), or NULL.  Reader or writer context.
 */
struct ptree_entry *ptree_lookup_parent(const struct ptree *t, const void *key,
    unsigned len);

/*
 * Visit every entry in prefix order (key bits, shorter prefix first) until fn returns
 * non-zero, which is returned.  In writer context the walk is exact.  In reader context
 * entries present and not moved during the whole walk are visited once; concurrent
 * updates may hide or repeat others.
 */
int ptree_walk(const struct ptree *t, int (*fn)(struct ptree_entry *e, void *arg),
    void *arg);

/* Prefix length and key of an entry in the tree. */
static inline unsigned
ptree_entry_len(const struct ptree_entry *e)
{
	return atomic_load_explicit(&e->pe_leaf.pn_bit, memory_order_relaxed);
}

static inline const void *
ptree_entry_key(const struct ptree_entry *e)
{
	return e->pe_leaf.pn_key;
}

/* Number of entries.  Any context (a snapshot). */
static inline size_t
ptree_count(const struct ptree *t)
{
	/* Relaxed: a statistic, ordered with nothing. */
	return atomic_load_explicit(&((struct ptree *)t)->pt_count, memory_order_relaxed);
}

#endif /* SMPNET_LIB_PTREE_H */
