/*
 * nhop.c - shared, deduplicated, reference-counted nexthops (see nhop.h).
 *
 * Design.  The table keeps a chained hash of live nexthops keyed by their spec, and a
 * dense index -> nexthop array that readers use without locks (preceded by one slot
 * that stays NULL, so that a FIB can map "index + 1, 0 = no route" without a branch).
 * nh_get() looks the spec up under nt_lock and either takes a reference or builds a new
 * nexthop, gives it a free index and publishes it in the array (release).  References
 * are atomic; the common unref (not the last) is one CAS loop without the lock.  The
 * last unref takes nt_lock so that it cannot race with nh_get() finding the object:
 * under the lock it drops the count to zero, unlinks the nexthop from the hash and
 * defers the rest: after a grace period the index slot is cleared and returned to the
 * free stack, and the memory freed.
 * So a reader that loaded an index from a FIB entry always finds that nexthop, or a
 * newer one only after every reader that could hold the old index is gone.
 *
 * Invariant: a nexthop in the hash has nh_refcnt >= 1; a count moves 1 -> 0 only under
 * nt_lock.
 */
#include "net/nhop.h"
#include "kern/kern.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* The nexthop table writer lock; taken after rt_table (route.c). */
static const struct klock_class nhop_table_class = { "nhop_table" };

static void
nt_lock_enter(struct nh_table *nt)
{
	kmutex_enter(&nt->nt_lock);
}

static void
nt_lock_exit(struct nh_table *nt)
{
	kmutex_exit(&nt->nt_lock);
}

static uint32_t
spec_hash(const struct nh_spec *s)
{
	uint64_t h = 1469598103934665603ull;
	const uint8_t *p = s->ns_gw;

	h = (h ^ (uint64_t)(uintptr_t)s->ns_ifp) * 1099511628211ull;
	h = (h ^ s->ns_ifindex) * 1099511628211ull;
	h = (h ^ s->ns_mtu) * 1099511628211ull;
	h = (h ^ s->ns_flags) * 1099511628211ull;
	for (unsigned i = 0; i < sizeof(s->ns_gw); i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return (uint32_t)(h ^ (h >> 32));
}

static bool
spec_equal(const struct nh_spec *a, const struct nh_spec *b)
{
	return a->ns_ifp == b->ns_ifp && a->ns_ifindex == b->ns_ifindex &&
	    a->ns_mtu == b->ns_mtu && a->ns_flags == b->ns_flags &&
	    memcmp(a->ns_gw, b->ns_gw, sizeof(a->ns_gw)) == 0;
}

struct nh_table *
nh_table_create(struct kern *k, int af, uint32_t cap)
{
	struct nh_table *nt;
	int err;

	if (cap == 0)
		cap = 65536;
	if ((af != AF_INET && af != AF_INET6) || cap > NH_MAXIDX + 1) {
		errno = EINVAL;
		return NULL;
	}
	if ((nt = calloc(1, sizeof(*nt))) == NULL)
		return NULL;
	nt->nt_af = af;
	nt->nt_cap = cap;
	nt->nt_nbucket = 1024;
	nt->nt_hash = calloc(nt->nt_nbucket, sizeof(*nt->nt_hash));
	nt->nt_byidx0 = calloc((size_t)cap + 1, sizeof(*nt->nt_byidx0));
	nt->nt_byidx = nt->nt_byidx0 == NULL ? NULL : nt->nt_byidx0 + 1;
	nt->nt_freeidx = calloc(cap, sizeof(*nt->nt_freeidx));
	if (nt->nt_hash == NULL || nt->nt_byidx == NULL || nt->nt_freeidx == NULL) {
		nh_table_destroy(nt);
		errno = ENOMEM;
		return NULL;
	}
	for (uint32_t i = 0; i < cap; i++)
		nt->nt_freeidx[i] = cap - 1 - i;	/* lowest index on top */
	nt->nt_nfree = cap;
	if ((err = kmutex_init(&nt->nt_lock, k, &nhop_table_class)) != 0) {
		free(nt->nt_hash);
		nt->nt_hash = NULL;	/* tells nh_table_destroy there is no lock */
		nh_table_destroy(nt);
		errno = -err;
		return NULL;
	}
	return nt;
}

void
nh_table_destroy(struct nh_table *nt)
{
	if (nt == NULL)
		return;
	psz_barrier();
	assert(atomic_load_explicit(&nt->nt_count, memory_order_relaxed) == 0);
	if (nt->nt_hash != NULL)
		kmutex_fini(&nt->nt_lock);
	free(nt->nt_hash);
	free(nt->nt_byidx0);
	free(nt->nt_freeidx);
	free(nt);
}

static struct nhop *
nh_find_locked(struct nh_table *nt, const struct nh_spec *spec, uint32_t h)
{
	struct nhop *nh;

	KMUTEX_ASSERT_HELD(&nt->nt_lock);
	for (nh = nt->nt_hash[h & (nt->nt_nbucket - 1)]; nh != NULL; nh = nh->nh_hnext)
		if (spec_equal(&nh->nh_spec, spec))
			return nh;
	return NULL;
}

static struct nhop *
nh_create_locked(struct nh_table *nt, const struct nh_spec *spec, uint32_t h)
{
	struct nhop *nh;
	unsigned b = h & (nt->nt_nbucket - 1);

	KMUTEX_ASSERT_HELD(&nt->nt_lock);
	if (nt->nt_nfree == 0) {
		errno = ENOSPC;
		return NULL;
	}
	if ((nh = calloc(1, sizeof(*nh))) == NULL)
		return NULL;
	nh->nh_spec = *spec;
	nh->nh_af = nt->nt_af;
	nh->nh_table = nt;
	nh->nh_idx = nt->nt_freeidx[--nt->nt_nfree];
	atomic_init(&nh->nh_refcnt, 1);
	nh->nh_hnext = nt->nt_hash[b];
	nt->nt_hash[b] = nh;
	/* Release: pairs with the acquire in nh_table_byidx(). */
	atomic_store_explicit(&nt->nt_byidx[nh->nh_idx], nh, memory_order_release);
	atomic_fetch_add_explicit(&nt->nt_count, 1, memory_order_relaxed);
	return nh;
}

struct nhop *
nh_get(struct nh_table *nt, const struct nh_spec *spec)
{
	uint32_t h = spec_hash(spec);
	struct nhop *nh;

	nt_lock_enter(nt);
	if ((nh = nh_find_locked(nt, spec, h)) != NULL)
		nh_ref(nh);
	else
		nh = nh_create_locked(nt, spec, h);
	nt_lock_exit(nt);
	return nh;
}

void
nh_ref(struct nhop *nh)
{
	/* Relaxed: the caller already holds a reference or the table lock. */
	uint32_t old = atomic_fetch_add_explicit(&nh->nh_refcnt, 1, memory_order_relaxed);

	assert(old > 0);
	(void)old;
}

/* After a grace period: no reader can hold nh's index any more. */
static void
nh_free_deferred(struct psz_head *ph)
{
	struct nhop *nh = container_of(ph, struct nhop, nh_psz);
	struct nh_table *nt = nh->nh_table;

	nt_lock_enter(nt);
	atomic_store_explicit(&nt->nt_byidx[nh->nh_idx], NULL, memory_order_relaxed);
	nt->nt_freeidx[nt->nt_nfree++] = nh->nh_idx;
	nt_lock_exit(nt);
	atomic_fetch_sub_explicit(&nt->nt_count, 1, memory_order_relaxed);
	free(nh);
}

static void
nh_unlink_locked(struct nh_table *nt, struct nhop *nh)
{
	struct nhop **pp = &nt->nt_hash[spec_hash(&nh->nh_spec) & (nt->nt_nbucket - 1)];

	KMUTEX_ASSERT_HELD(&nt->nt_lock);
	while (*pp != nh)
		pp = &(*pp)->nh_hnext;
	*pp = nh->nh_hnext;
}

void
nh_unref(struct nhop *nh)
{
	struct nh_table *nt = nh->nh_table;
	uint32_t old = atomic_load_explicit(&nh->nh_refcnt, memory_order_relaxed);

	/* Fast path: not the last reference.  Release: orders our uses of nh before a
	 * later 1 -> 0 transition (acquired by the fetch_sub below). */
	while (old > 1)
		if (atomic_compare_exchange_weak_explicit(&nh->nh_refcnt, &old, old - 1,
		    memory_order_release, memory_order_relaxed))
			return;
	nt_lock_enter(nt);
	/* Acq_rel: pairs with the release of other unrefs. */
	if (atomic_fetch_sub_explicit(&nh->nh_refcnt, 1, memory_order_acq_rel) == 1) {
		nh_unlink_locked(nt, nh);
		psz_defer(&nh->nh_psz, nh_free_deferred);
	}
	nt_lock_exit(nt);
}

uint32_t
nh_table_count(const struct nh_table *nt)
{
	return atomic_load_explicit(&nt->nt_count, memory_order_relaxed);
}
