/*
 * bench_bsdtrie.h - benchmark peer: BSD-radix-style path-compressed binary trie (IPv4).
 */
#ifndef SMPNET_BENCH_BSDTRIE_H
#define SMPNET_BENCH_BSDTRIE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define BT_NONE	UINT32_MAX

struct bt_node;

struct bt_table {
	pthread_rwlock_t	 bt_lock;	/* readers shared, writers exclusive */
	struct bt_node		*bt_root;	/* [bt_lock] */
	size_t			 bt_count;	/* [bt_lock] routes */
	size_t			 bt_bytes;	/* [bt_lock] node memory */
};

int bt_init(struct bt_table *t);
void bt_fini(struct bt_table *t);
/* key in host order; 0, -EEXIST, -ENOMEM.  Takes the write lock. */
int bt_add(struct bt_table *t, uint32_t key, unsigned len, uint32_t nh);
/* 0 or -ESRCH.  Takes the write lock. */
int bt_delete(struct bt_table *t, uint32_t key, unsigned len);
/* Longest match of addr (host order): its nexthop or BT_NONE.  Takes the read lock. */
uint32_t bt_lookup(struct bt_table *t, uint32_t addr);

#endif
