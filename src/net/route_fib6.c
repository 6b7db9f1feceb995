/*
 * route_fib6.c - multibit IPv6 forwarding table with lockless readers (route_fib6.h).
 *
 * Layout.  Level 0 (tbl24) has one 32-bit entry per /24; level k >= 1 is made of groups
 * of 256 entries indexed by address byte 2 + k.  An entry holds either a result
 * (nexthop index + 1, 0 = no route, and the depth: the length of the route that wrote
 * it) or FIB6_EXT and the index of the group below.  A route of length l lives at level
 * 0 if l <= 24, else at level ceil((l - 24) / 8); it needs a group at every level above.
 *
 * Update rules: the same as route_fib4.c, applied recursively into the groups under a
 * range: set(P/l) writes (nh, l) into every entry of P's range whose depth <= l; clear
 * writes the parent route's result into entries whose depth == l.  New groups are filled
 * with their parent entry's result and published with one release store.  f_cnt[g]
 * counts the routes ending in g or below; when it drops to 0 all of g's entries are the
 * same result, which goes back into the parent entry, and g waits for a grace period in
 * limbo before reuse (as in fib4).  Every entry changes with one atomic store.
 */
#include "net/route_fib6.h"
#include "kern/psz.h"

#include <errno.h>
#include <stdlib.h>

#define TBL24_SIZE	(1u << 24)

static inline uint32_t
ent_make(uint32_t nh, unsigned depth)
{
	return nh == FIB6_NONE ? 0 : ((nh + 1) & FIB6_NHMASK) | ((uint32_t)depth << FIB6_DSHIFT);
}

static inline unsigned
ent_depth(uint32_t e)
{
	return (e >> FIB6_DSHIFT) & 0xff;
}

static inline unsigned
route_level(unsigned len)
{
	return len <= 24 ? 0 : (len - 24 + 7) / 8;
}

static inline uint32_t
idx24(const uint8_t *p)
{
	return ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2];
}

static inline _Atomic uint32_t *
group_base(struct fib6 *f, uint32_t g)
{
	return &f->f_tbl8[(size_t)g << 8];
}

int
fib6_init(struct fib6 *f, uint32_t ngroups)
{
	if (ngroups == 0)
		ngroups = 1u << 18;
	if (ngroups >= (1u << 31) / 256)
		return -EINVAL;
	f->f_ngroups = ngroups;
	f->f_tbl24 = calloc(TBL24_SIZE, sizeof(*f->f_tbl24));
	f->f_tbl8 = calloc((size_t)ngroups * 256, sizeof(*f->f_tbl8));
	f->f_cnt = calloc(ngroups, sizeof(*f->f_cnt));
	f->f_free = calloc(ngroups, sizeof(*f->f_free));
	f->f_limbo = calloc(ngroups, sizeof(*f->f_limbo));
	if (!f->f_tbl24 || !f->f_tbl8 || !f->f_cnt || !f->f_free || !f->f_limbo) {
		fib6_fini(f);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < ngroups; i++)
		f->f_free[i] = ngroups - 1 - i;
	f->f_nfree = ngroups;
	f->f_nlimbo = f->f_inuse = 0;
	return 0;
}

void
fib6_fini(struct fib6 *f)
{
	free(f->f_tbl24);
	free(f->f_tbl8);
	free(f->f_cnt);
	free(f->f_free);
	free(f->f_limbo);
	f->f_tbl24 = f->f_tbl8 = NULL;
	f->f_cnt = f->f_free = f->f_limbo = NULL;
}

static uint32_t
group_alloc(struct fib6 *f)
{
	if (f->f_nfree == 0) {
		psz_synchronize();	/* limbo groups: no reader can still see them */
		while (f->f_nlimbo > 0)
			f->f_free[f->f_nfree++] = f->f_limbo[--f->f_nlimbo];
	}
	f->f_inuse++;
	return f->f_free[--f->f_nfree];
}

/* Relaxed loads/stores of entries by the writer; publication of groups is release. */
static inline uint32_t
ent_load(_Atomic uint32_t *p)
{
	return atomic_load_explicit(p, memory_order_relaxed);
}

static inline void
ent_store(_Atomic uint32_t *p, uint32_t v)
{
	/* Relaxed: a result carries nothing that needs ordering. */
	atomic_store_explicit(p, v, memory_order_relaxed);
}

/* Apply set or clear to one entry and, if it names a group, to all below. */
static void
apply(struct fib6 *f, _Atomic uint32_t *slot, unsigned len, uint32_t v, int clear)
{
	uint32_t e = ent_load(slot);

	if (e & FIB6_EXT) {
		_Atomic uint32_t *g = group_base(f, e & ~FIB6_EXT);

		for (unsigned i = 0; i < 256; i++)
			apply(f, &g[i], len, v, clear);
		return;
	}
	if (clear ? ((e & FIB6_NHMASK) != 0 && ent_depth(e) == len) :
	    ((e & FIB6_NHMASK) == 0 || ent_depth(e) <= len))
		ent_store(slot, v);
}

/* Slot in level j - 1 that points to (or will point to) the level-j group of pfx. */
static _Atomic uint32_t *
parent_slot(struct fib6 *f, const uint8_t *pfx, const uint32_t *path, unsigned j)
{
	return j == 1 ? &f->f_tbl24[idx24(pfx)] : &group_base(f, path[j - 1])[pfx[j + 1]];
}

/* Groups on pfx's path down to level k (path[1..k]); creates them if create. */
static void
walk(struct fib6 *f, const uint8_t *pfx, unsigned k, int create, uint32_t *path)
{
	for (unsigned j = 1; j <= k; j++) {
		_Atomic uint32_t *slot = parent_slot(f, pfx, path, j);
		uint32_t e = ent_load(slot), g;

		if (e & FIB6_EXT) {
			path[j] = e & ~FIB6_EXT;
			continue;
		}
		if (!create)
			return;
		g = group_alloc(f);
		for (unsigned i = 0; i < 256; i++)
			ent_store(&group_base(f, g)[i], e);
		f->f_cnt[g] = 0;
		/* Release: pairs with the acquire in fib6_lookup(); the group is filled. */
		atomic_store_explicit(slot, FIB6_EXT | g, memory_order_release);
		path[j] = g;
	}
}

/* Groups missing on pfx's path down to level k. */
static unsigned
missing_groups(struct fib6 *f, const uint8_t *pfx, unsigned k, uint32_t *path)
{
	for (unsigned j = 1; j <= k; j++) {
		uint32_t e = ent_load(parent_slot(f, pfx, path, j));

		if (!(e & FIB6_EXT))
			return k - j + 1;
		path[j] = e & ~FIB6_EXT;
	}
	return 0;
}

/* Apply to the range of pfx/len inside its level (tbl24 or its group). */
static void
apply_range(struct fib6 *f, const uint8_t *pfx, unsigned len, unsigned k,
    const uint32_t *path, uint32_t v, int clear)
{
	_Atomic uint32_t *base;
	uint32_t first, n;

	if (k == 0) {
		base = f->f_tbl24, first = idx24(pfx), n = 1u << (24 - len);
	} else {
		base = group_base(f, path[k]);
		first = pfx[2 + k];
		n = 1u << (24 + 8 * k - len);
	}
	for (uint32_t i = first; i < first + n; i++)
		apply(f, &base[i], len, v, clear);
}

int
fib6_set(struct fib6 *f, const uint8_t *pfx, unsigned len, uint32_t nh, int isnew)
{
	uint32_t path[FIB6_LEVELS];
	unsigned k = route_level(len);

	if (missing_groups(f, pfx, k, path) > f->f_nfree + f->f_nlimbo)
		return -ENOSPC;
	walk(f, pfx, k, 1, path);
	apply_range(f, pfx, len, k, path, ent_make(nh, len), 0);
	for (unsigned j = 1; isnew && j <= k; j++)
		f->f_cnt[path[j]]++;
	return 0;
}

void
fib6_clear(struct fib6 *f, const uint8_t *pfx, unsigned len, uint32_t parent_nh,
    unsigned parent_len)
{
	uint32_t path[FIB6_LEVELS];
	unsigned k = route_level(len);

	if (missing_groups(f, pfx, k, path) != 0)
		return;		/* not installed */
	apply_range(f, pfx, len, k, path, ent_make(parent_nh, parent_len), 1);
	for (unsigned j = 1; j <= k; j++)
		f->f_cnt[path[j]]--;
	for (unsigned j = k; j >= 1 && f->f_cnt[path[j]] == 0; j--) {
		/* No route ends in or below this group: all its entries are equal. */
		ent_store(parent_slot(f, pfx, path, j), ent_load(group_base(f, path[j])));
		f->f_limbo[f->f_nlimbo++] = path[j];
		f->f_inuse--;
	}
}

size_t
fib6_memory(const struct fib6 *f)
{
	return (size_t)TBL24_SIZE * sizeof(uint32_t) + (size_t)f->f_inuse * 256 * sizeof(uint32_t);
}
