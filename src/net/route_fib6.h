/*
 * route_fib6.h - the IPv6 forwarding table: a multibit trie with a 24-bit first level
 * and 8-bit strides below (DIR-24-8-8-...), derived from the routing table's Patricia
 * tree like route_fib4.h, with lockless readers.  A /48 costs four loads.
 * See route_fib6.c for the encoding and the update rules.
 */
#ifndef SMPNET_NET_ROUTE_FIB6_H
#define SMPNET_NET_ROUTE_FIB6_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "net/route_fib4.h"	/* RT_CONSUME */

#define FIB6_EXT	0x80000000u	/* entry points to a group (index in bits 0..30) */
#define FIB6_NHMASK	0x007fffffu	/* nexthop index + 1; 0 = no route */
#define FIB6_DSHIFT	23		/* depth 0..128 in bits 23..30 */
_Static_assert(sizeof(_Atomic uint32_t) == 4, "one load per entry");
#define FIB6_NONE	UINT32_MAX
#define FIB6_LEVELS	14		/* 24 bits, then 13 strides of 8 bits */

struct fib6 {
	_Atomic uint32_t *f_tbl24;	/* [R] 2^24 entries by the top 24 address bits */
	_Atomic uint32_t *f_tbl8;	/* [R] f_ngroups groups of 256 entries */
	uint32_t	  f_ngroups;	/* [I] */
	uint32_t	 *f_cnt;	/* [W] per group: routes that end inside or below it */
	uint32_t	 *f_free;	/* [W] free group stack */
	uint32_t	  f_nfree;	/* [W] */
	uint32_t	 *f_limbo;	/* [W] groups waiting for a grace period */
	uint32_t	  f_nlimbo;	/* [W] */
	uint32_t	  f_inuse;	/* [W] */
};

/* 0, -EINVAL or -ENOMEM.  ngroups 0: 1 << 18. */
int fib6_init(struct fib6 *f, uint32_t ngroups);
void fib6_fini(struct fib6 *f);

/*
 * Route pfx/len (16 bytes, network order, host bits zero) now leads to nexthop nh
 * (< 2^23 - 1).  isnew: the route is new.  Writer context; may block (grace period when
 * groups run out); not inside a read section.  0 or -ENOSPC (no group left; nothing was
 * changed).
 */
int fib6_set(struct fib6 *f, const uint8_t *pfx, unsigned len, uint32_t nh, int isnew);

/* Route pfx/len was removed: its addresses fall back to the parent.  Writer context. */
void fib6_clear(struct fib6 *f, const uint8_t *pfx, unsigned len, uint32_t parent_nh,
    unsigned parent_len);

/* Nexthop index of addr (16 bytes, network order), or FIB6_NONE.  Reader context. */
static inline uint32_t
fib6_lookup(const struct fib6 *f, const uint8_t *a)
{
	/* Consume (see RT_CONSUME): pairs with the release that publishes a filled
	 * group; each next address depends on the entry just loaded. */
	uint32_t e = atomic_load_explicit(&f->f_tbl24[((uint32_t)a[0] << 16) |
	    ((uint32_t)a[1] << 8) | a[2]], RT_CONSUME);

	for (unsigned i = 3; (e & FIB6_EXT) != 0 && i < 16; i++)
		e = atomic_load_explicit(&f->f_tbl8[((size_t)(e & ~FIB6_EXT) << 8) | a[i]],
		    RT_CONSUME);
	return (e & FIB6_NHMASK) - 1;
}

size_t fib6_memory(const struct fib6 *f);

#endif /* SMPNET_NET_ROUTE_FIB6_H */
