/*
 * route.c - routing table per address family (see route.h).
 *
 * Design.  The source of truth is a Patricia tree (lib/ptree.c) of struct rt_entry, one
 * per prefix, each holding one reference to a shared nexthop (net/nhop.c).  Writers take
 * rt_lock, change the tree and then, for IPv4, apply the same change to the DIR-24-8
 * forwarding array (route_fib4.c; IPv6: the multibit route_fib6.c), which needs the covering ("parent") route of a
 * deleted prefix: the tree answers that in one walk.  Readers never lock: rt_lookup4(),
 * rt_lookup6() and rt_lookup() read the FIBs, rt_lookup_filter() walks the tree; all
 * inside a psz read section.  A deleted entry stays readable until a grace period has passed
 * (psz_defer), then drops its nexthop reference; a nexthop replaced by rt_change() is
 * released the same way, so a reader never sees freed memory.
 *
 * Consistency: each FIB entry and each tree slot changes with one atomic store, so a
 * lookup returns the nexthop of the longest route present at some moment of the lookup
 * (for addresses whose covering routes do not change, always the same one).
 */
#include "net/route.h"
#include "kern/kern.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* ---- writer lock --------------------------------------------------------------- */

/* The routing table writer lock; taken before nhop_table. */
static const struct klock_class rt_table_class = { "rt_table" };

static void
rt_lock_enter(struct rt_table *rt)
{
	kmutex_enter(&rt->rt_lock);
}

static void
rt_lock_exit(struct rt_table *rt)
{
	kmutex_exit(&rt->rt_lock);
}

static inline bool
rt_lock_held(const struct rt_table *rt)
{
	return kmutex_owned(&rt->rt_lock);
}

/* ---- helpers ------------------------------------------------------------------- */

static inline struct rt_entry *
entry_of(struct ptree_entry *pe)
{
	return pe == NULL ? NULL : container_of(pe, struct rt_entry, re_pt);
}

static inline struct nhop *
entry_nh(const struct rt_entry *re)
{
	/* Acquire: pairs with the release in rt_change(). */
	return atomic_load_explicit(&((struct rt_entry *)re)->re_nh, memory_order_acquire);
}

/* Copy dst masked to plen into out (alen bytes). */
static void
prefix_mask(uint8_t *out, const void *dst, unsigned alen, unsigned plen)
{
	memcpy(out, dst, alen);
	for (unsigned i = 0; i < alen; i++) {
		if (plen >= (i + 1) * 8)
			continue;
		out[i] &= plen > i * 8 ? (uint8_t)(0xff00 >> (plen - i * 8)) : 0;
	}
}

static uint32_t
prefix_host4(const uint8_t *dst)
{
	uint32_t v;

	memcpy(&v, dst, 4);
	return ntohl(v);
}

static void
entry_free_deferred(struct psz_head *ph)
{
	struct rt_entry *re = container_of(ph, struct rt_entry, re_psz);

	nh_unref(atomic_load_explicit(&re->re_nh, memory_order_relaxed));
	free(re);
}

/* ---- table --------------------------------------------------------------------- */

struct rt_table *
rt_table_create(struct kern *k, int af)
{
	struct rt_table *rt;
	int rc;

	if (af != AF_INET && af != AF_INET6) {
		errno = EINVAL;
		return NULL;
	}
	if ((rt = calloc(1, sizeof(*rt))) == NULL)
		return NULL;
	rt->rt_af = af;
	rt->rt_alen = af == AF_INET ? 4 : 16;
	rc = ptree_init(&rt->rt_tree, af == AF_INET ? &ptree_ops_ipv4 : &ptree_ops_ipv6);
	if (rc == 0)
		rc = af == AF_INET ? fib4_init(&rt->rt_fib4, 0) : fib6_init(&rt->rt_fib6, 0);
	if (rc == 0 && (rt->rt_nt = nh_table_create(k, af, 0)) == NULL)
		rc = -errno;
	if (rc == 0 && (rc = kmutex_init(&rt->rt_lock, k, &rt_table_class)) != 0)
		nh_table_destroy(rt->rt_nt);
	if (rc != 0) {
		fib4_fini(&rt->rt_fib4);
		fib6_fini(&rt->rt_fib6);
		ptree_fini(&rt->rt_tree);
		free(rt);
		errno = -rc;
		return NULL;
	}
	rt->rt_byidx1 = rt->rt_nt->nt_byidx0;
	return rt;
}

static int
first_entry_cb(struct ptree_entry *pe, void *arg)
{
	*(struct ptree_entry **)arg = pe;
	return 1;
}

void
rt_table_destroy(struct rt_table *rt)
{
	struct ptree_entry *pe;

	if (rt == NULL)
		return;
	rt_lock_enter(rt);
	for (;;) {
		pe = NULL;
		ptree_walk(&rt->rt_tree, first_entry_cb, &pe);
		if (pe == NULL)
			break;
		ptree_remove(&rt->rt_tree, pe);
		psz_defer(&entry_of(pe)->re_psz, entry_free_deferred);
	}
	rt_lock_exit(rt);
	psz_barrier();			/* entries freed, nexthop frees queued */
	nh_table_destroy(rt->rt_nt);	/* waits for those too */
	fib4_fini(&rt->rt_fib4);
	fib6_fini(&rt->rt_fib6);
	ptree_fini(&rt->rt_tree);
	kmutex_fini(&rt->rt_lock);
	free(rt);
}

/* ---- control API --------------------------------------------------------------- */

static int
rt_check(const struct rt_table *rt, const void *dst, unsigned plen)
{
	return dst == NULL || plen > rt->rt_alen * 8 ? -EINVAL : 0;
}

/* Apply the new nexthop of a route to the FIB (IPv4).  Writer context. */
static int
fib_set(struct rt_table *rt, const struct rt_entry *re, int isnew)
{
	assert(rt_lock_held(rt));
	if (rt->rt_af != AF_INET)
		return fib6_set(&rt->rt_fib6, re->re_dst, re->re_plen, entry_nh(re)->nh_idx,
		    isnew);
	return fib4_set(&rt->rt_fib4, prefix_host4(re->re_dst), re->re_plen,
	    entry_nh(re)->nh_idx, isnew);
}

/* The FIB forgets a removed route: its addresses fall back to the parent route. */
static void
fib_clear(struct rt_table *rt, const struct rt_entry *re)
{
	struct rt_entry *parent;

	assert(rt_lock_held(rt));
	parent = entry_of(ptree_lookup_parent(&rt->rt_tree, re->re_dst, re->re_plen));
	if (rt->rt_af != AF_INET) {
		fib6_clear(&rt->rt_fib6, re->re_dst, re->re_plen,
		    parent != NULL ? entry_nh(parent)->nh_idx : FIB6_NONE,
		    parent != NULL ? parent->re_plen : 0);
		return;
	}
	fib4_clear(&rt->rt_fib4, prefix_host4(re->re_dst), re->re_plen,
	    parent != NULL ? entry_nh(parent)->nh_idx : FIB4_NONE,
	    parent != NULL ? parent->re_plen : 0);
}

static struct rt_entry *
entry_new(struct rt_table *rt, const void *dst, unsigned plen, struct nhop *nh,
    uint32_t flags)
{
	struct rt_entry *re = calloc(1, sizeof(*re));

	if (re == NULL)
		return NULL;
	prefix_mask(re->re_dst, dst, rt->rt_alen, plen);
	re->re_plen = (uint8_t)plen;
	re->re_flags = flags;
	atomic_init(&re->re_nh, nh);
	return re;
}

/* Insert re into the tree and the FIB.  Writer context. */
static int
rt_insert_locked(struct rt_table *rt, struct rt_entry *re)
{
	int rc = ptree_insert(&rt->rt_tree, &re->re_pt, re->re_dst, re->re_plen, NULL);

	if (rc != 0)
		return rc;
	if ((rc = fib_set(rt, re, 1)) != 0) {
		/* Readers may have seen re in the tree: free it after a grace period. */
		ptree_remove(&rt->rt_tree, &re->re_pt);
		psz_defer(&re->re_psz, entry_free_deferred);
	}
	return rc;
}

int
rt_add(struct rt_table *rt, const void *dst, unsigned plen, const struct nh_spec *spec,
    uint32_t flags)
{
	struct rt_entry *re;
	struct nhop *nh;
	int rc;

	if ((rc = rt_check(rt, dst, plen)) != 0 || spec == NULL)
		return rc != 0 ? rc : -EINVAL;
	rt_lock_enter(rt);
	if ((nh = nh_get(rt->rt_nt, spec)) == NULL) {
		rc = -errno;
	} else if ((re = entry_new(rt, dst, plen, nh, flags)) == NULL) {
		nh_unref(nh);
		rc = -ENOMEM;
	} else if ((rc = rt_insert_locked(rt, re)) == -EEXIST) {
		nh_unref(nh);
		free(re);
	}
	rt_lock_exit(rt);
	return rc;
}

static struct rt_entry *
rt_find_locked(struct rt_table *rt, const void *dst, unsigned plen)
{
	uint8_t key[16];

	assert(rt_lock_held(rt));
	prefix_mask(key, dst, rt->rt_alen, plen);
	return entry_of(ptree_lookup_exact(&rt->rt_tree, key, plen));
}

int
rt_delete(struct rt_table *rt, const void *dst, unsigned plen)
{
	struct rt_entry *re;
	int rc;

	if ((rc = rt_check(rt, dst, plen)) != 0)
		return rc;
	rt_lock_enter(rt);
	if ((re = rt_find_locked(rt, dst, plen)) == NULL) {
		rt_lock_exit(rt);
		return -ESRCH;
	}
	ptree_remove(&rt->rt_tree, &re->re_pt);
	fib_clear(rt, re);
	rt_lock_exit(rt);
	psz_defer(&re->re_psz, entry_free_deferred);
	return 0;
}

int
rt_change(struct rt_table *rt, const void *dst, unsigned plen, const struct nh_spec *spec,
    uint32_t flags)
{
	struct rt_entry *re;
	struct nhop *nh, *old = NULL;
	int rc;

	if ((rc = rt_check(rt, dst, plen)) != 0 || spec == NULL)
		return rc != 0 ? rc : -EINVAL;
	rt_lock_enter(rt);
	if ((re = rt_find_locked(rt, dst, plen)) == NULL) {
		rc = -ESRCH;
	} else if ((nh = nh_get(rt->rt_nt, spec)) == NULL) {
		rc = -errno;
	} else {
		old = entry_nh(re);
		/* Release: pairs with the acquire in entry_nh(). */
		atomic_store_explicit(&re->re_nh, nh, memory_order_release);
		re->re_flags = flags;
		rc = fib_set(rt, re, 0);	/* the route's group exists: cannot fail */
		assert(rc == 0);
	}
	rt_lock_exit(rt);
	if (old != NULL)
		nh_unref(old);	/* frees after a grace period if it was the last */
	return rc;
}

static void
info_fill(const struct rt_table *rt, const struct rt_entry *re, struct rt_info *ri)
{
	memset(ri, 0, sizeof(*ri));
	memcpy(ri->ri_dst, re->re_dst, rt->rt_alen);
	ri->ri_plen = re->re_plen;
	ri->ri_nh = entry_nh(re)->nh_spec;
	ri->ri_flags = re->re_flags;
}

int
rt_get(struct rt_table *rt, const void *dst, unsigned plen, struct rt_info *out)
{
	struct rt_entry *re;
	int rc;

	if ((rc = rt_check(rt, dst, plen)) != 0 || out == NULL)
		return rc != 0 ? rc : -EINVAL;
	rt_lock_enter(rt);
	if ((re = rt_find_locked(rt, dst, plen)) != NULL)
		info_fill(rt, re, out);
	rt_lock_exit(rt);
	return re != NULL ? 0 : -ESRCH;
}

struct list_state {
	struct rt_table	*rt;
	int		(*fn)(const struct rt_info *, void *);
	void		*arg;
};

static int
list_cb(struct ptree_entry *pe, void *arg)
{
	struct list_state *ls = arg;
	struct rt_info ri;

	info_fill(ls->rt, entry_of(pe), &ri);
	return ls->fn(&ri, ls->arg);
}

int
rt_list(struct rt_table *rt, int (*fn)(const struct rt_info *ri, void *arg), void *arg)
{
	struct list_state ls = { rt, fn, arg };
	int rc;

	rt_lock_enter(rt);
	rc = ptree_walk(&rt->rt_tree, list_cb, &ls);
	rt_lock_exit(rt);
	return rc;
}

/* ---- lookups ------------------------------------------------------------------- */

struct nhop *
rt_lookup(const struct rt_table *rt, const void *dst)
{
	uint32_t v;

	if (rt->rt_af == AF_INET) {
		memcpy(&v, dst, 4);
		return rt_lookup4(rt, v);
	}
	return rt_lookup6(rt, dst);
}

struct filter_state {
	bool	(*fn)(const struct nhop *, void *);
	void	*arg;
};

static bool
filter_cb(const struct ptree_entry *pe, void *arg)
{
	struct filter_state *fs = arg;

	return fs->fn(entry_nh(entry_of((struct ptree_entry *)pe)), fs->arg);
}

struct nhop *
rt_lookup_filter(const struct rt_table *rt, const void *dst,
    bool (*filter)(const struct nhop *nh, void *arg), void *arg)
{
	struct filter_state fs = { filter, arg };
	struct rt_entry *re;

	re = entry_of(ptree_lookup_lpm(&rt->rt_tree, dst, filter != NULL ? filter_cb : NULL,
	    &fs));
	return re != NULL ? entry_nh(re) : NULL;
}

size_t
rt_count(const struct rt_table *rt)
{
	return ptree_count(&rt->rt_tree);
}

size_t
rt_memory(const struct rt_table *rt)
{
	size_t m = sizeof(*rt) + rt_count(rt) * sizeof(struct rt_entry) +
	    nh_table_count(rt->rt_nt) * sizeof(struct nhop) +
	    (size_t)rt->rt_nt->nt_cap * (sizeof(void *) + sizeof(uint32_t));

	m += rt->rt_af == AF_INET ? fib4_memory(&rt->rt_fib4) : fib6_memory(&rt->rt_fib6);
	return m;
}

struct nh_table *
rt_nh_table(const struct rt_table *rt)
{
	return rt->rt_nt;
}
