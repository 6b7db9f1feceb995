/*
 * bench_bsdtrie.c - benchmark peer: a plain path-compressed binary trie for IPv4 in the
 * style of the BSD radix tree (Sklower 1991): one separately allocated node per branch
 * point and per route, pointer chasing one bit at a time, readers and writers excluded
 * by the table's reader-writer lock (RADIX_NODE_HEAD_RLOCK/WLOCK).  It differs from
 * BSD's rn_match in checking each route on the way down instead of descending to a leaf
 * and backtracking through the mask lists; the cost profile (a dependent cache miss per
 * level, a shared lock word per lookup) is the same.  Not part of the stack.
 */
#include "bench_bsdtrie.h"

#include <errno.h>
#include <stdlib.h>

struct bt_node {
	struct bt_node	*bn_child[2];
	uint32_t	 bn_key;	/* prefix (host order), valid when bn_route */
	uint8_t		 bn_bit;	/* prefix length, or branching bit */
	uint8_t		 bn_route;	/* 1: a route (with bn_nh), 0: branch only */
	uint32_t	 bn_nh;
};

static inline uint32_t
bt_mask(unsigned len)
{
	return len == 0 ? 0 : ~0u << (32 - len);
}

static inline unsigned
bt_testbit(uint32_t k, unsigned bit)
{
	return (k >> (31 - bit)) & 1;
}

int
bt_init(struct bt_table *t)
{
	t->bt_root = NULL;
	t->bt_count = 0;
	t->bt_bytes = 0;
	return pthread_rwlock_init(&t->bt_lock, NULL) == 0 ? 0 : -ENOMEM;
}

static void
bt_free_node(struct bt_node *n)
{
	if (n == NULL)
		return;
	bt_free_node(n->bn_child[0]);
	bt_free_node(n->bn_child[1]);
	free(n);
}

void
bt_fini(struct bt_table *t)
{
	bt_free_node(t->bt_root);
	pthread_rwlock_destroy(&t->bt_lock);
}

static struct bt_node *
bt_new(struct bt_table *t, uint32_t key, unsigned bit, int route, uint32_t nh)
{
	struct bt_node *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	n->bn_key = key & bt_mask(bit);
	n->bn_bit = (uint8_t)bit;
	n->bn_route = (uint8_t)route;
	n->bn_nh = nh;
	t->bt_bytes += sizeof(*n);
	return n;
}

/* Any route key below n (to learn the bits a branch node skipped). */
static uint32_t
bt_rep(const struct bt_node *n)
{
	while (!n->bn_route)
		n = n->bn_child[0];
	return n->bn_key;
}

static int
bt_add_locked(struct bt_table *t, uint32_t key, unsigned len, uint32_t nh)
{
	struct bt_node **slot = &t->bt_root, *m, *n;
	unsigned d;

	key &= bt_mask(len);
	while ((m = *slot) != NULL && m->bn_bit < len &&
	    ((key ^ bt_rep(m)) & bt_mask(m->bn_bit)) == 0)
		slot = &m->bn_child[bt_testbit(key, m->bn_bit)];
	if (m == NULL)
		return (*slot = bt_new(t, key, len, 1, nh)) != NULL ? 0 : -ENOMEM;
	d = (key ^ bt_rep(m)) != 0 ? (unsigned)__builtin_clz(key ^ bt_rep(m)) : 32;
	d = d < len ? d : len;
	d = d < m->bn_bit ? d : m->bn_bit;
	if (d == m->bn_bit && d == len) {	/* same prefix, or a branch node at len */
		if (m->bn_route && m->bn_nh != BT_NONE)
			return -EEXIST;
		m->bn_route = 1, m->bn_key = key, m->bn_nh = nh;
		return 0;
	}
	if ((n = bt_new(t, key, len, 1, nh)) == NULL)
		return -ENOMEM;
	if (d == len) {				/* new route above m */
		n->bn_child[bt_testbit(bt_rep(m), len)] = m;
		*slot = n;
		return 0;
	}
	struct bt_node *b = bt_new(t, key, d, 0, 0);	/* branch where they differ */

	if (b == NULL)
		return free(n), -ENOMEM;
	b->bn_child[bt_testbit(key, d)] = n;
	b->bn_child[!bt_testbit(key, d)] = m;
	*slot = b;
	return 0;
}

int
bt_add(struct bt_table *t, uint32_t key, unsigned len, uint32_t nh)
{
	int rc;

	pthread_rwlock_wrlock(&t->bt_lock);
	rc = bt_add_locked(t, key, len, nh);
	t->bt_count += rc == 0;
	pthread_rwlock_unlock(&t->bt_lock);
	return rc;
}

/*
 * Deleting leaves a tombstone (the node stays, its nexthop becomes BT_NONE): enough for
 * the benchmark's writer, which re-adds what it deletes.
 */
int
bt_delete(struct bt_table *t, uint32_t key, unsigned len)
{
	struct bt_node *n;
	int rc = -ESRCH;

	key &= bt_mask(len);
	pthread_rwlock_wrlock(&t->bt_lock);
	for (n = t->bt_root; n != NULL && n->bn_bit < len;
	    n = n->bn_child[bt_testbit(key, n->bn_bit)])
		;
	if (n != NULL && n->bn_route && n->bn_bit == len && n->bn_key == key &&
	    n->bn_nh != BT_NONE) {
		n->bn_nh = BT_NONE;
		t->bt_count--;
		rc = 0;
	}
	pthread_rwlock_unlock(&t->bt_lock);
	return rc;
}

uint32_t
bt_lookup(struct bt_table *t, uint32_t addr)
{
	const struct bt_node *n;
	uint32_t best = BT_NONE;

	pthread_rwlock_rdlock(&t->bt_lock);
	for (n = t->bt_root; n != NULL; n = n->bn_child[bt_testbit(addr, n->bn_bit)]) {
		if (n->bn_route) {
			if ((addr ^ n->bn_key) & bt_mask(n->bn_bit))
				break;
			if (n->bn_nh != BT_NONE)
				best = n->bn_nh;
		}
		if (n->bn_bit == 32)
			break;
	}
	pthread_rwlock_unlock(&t->bt_lock);
	return best;
}
