/*
 * pool.c - object pools: per-CPU magazines over a mutex-protected depot.
 *
 * Design (Bonwick and Adams, "Magazines and Vmem", USENIX 2001):
 *  - A magazine is an array of up to p_magsize object pointers.  Each slot holds a
 *    "loaded" and a "previous" magazine.  pool_get() pops from loaded; if it is empty and
 *    prev is not, the two are swapped; otherwise a full magazine comes from the depot
 *    (the empty prev goes back to the depot's empty list).  pool_put() is the mirror.
 *    Invariant: prev is NULL, empty or full, never partly filled; so a slot holds
 *    between 0 and 2 * p_magsize objects, and after a depot exchange it can serve
 *    p_magsize gets or puts before it touches the depot again.
 *  - Magazine size: 29 objects (a 256-byte magazine), or 125 (1 KiB) with POOL_LARGEMAG.
 *    A slot absorbs swings of up to 2 * p_magsize between a CPU's gets and puts; a
 *    larger swing sends magazines through the depot, which is shared, so objects
 *    last written on one CPU come back on another and each of their lines moves
 *    between the caches.  The mbuf pools ask for large magazines: one CPU keeps a few
 *    hundred packets in flight, and with 29-object magazines about a third of the
 *    UDP bench's mbufs changed CPU through the depot (docs/architecture.md, Figures).
 *  - The depot (the shared layer) holds two lockless LIFOs of magazines, full and empty
 *    (lfs, src/lib/lfs.h: push and pop, so the most recently used magazine, whose
 *    lines are warmest, goes out first).  Slots refill from the full list and spill to
 *    it without any lock.  lfs asks for type-stable items: a pop may read the link of a
 *    magazine another thread popped meanwhile.  Magazines are never freed before
 *    pool_destroy() (which runs with no other thread in the pool), so every magazine
 *    that was ever on a depot list stays mapped while any lfs call on it can run; and
 *    their link (pm_link) is touched only by lfs calls.
 *  - Behind the magazines, under the depot mutex pd_lock (the rare slow path): a free
 *    list of loose objects (used with POOL_NOCACHE and when no magazine can be
 *    allocated) and the backing store, chunks of objects carved by a bump pointer per
 *    slot, never more than maxitems objects reserved in all chunks together.
 *  - Teardown counts every object found in a magazine, the depot lists and the free
 *    list; it must equal the number carved, otherwise an object is still out (-EBUSY).
 *
 * Words: "slot" = one per-CPU cache (ncpu CPU slots + one shared slot for foreign
 * threads); "carved" = handed out by the bump pointer for the first time (nalloc).
 *
 * Lock order: a shared slot's ps_lock, then the pool's depot lock; nothing is called
 * with either held.  The depot lists take no lock and may be used under either.
 */
#include "kern/pool.h"
#include "kern/kern.h"
#include "lib/lfs.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POOL_POISON(p, n)	ASAN_POISON_MEMORY_REGION((p), (n))
#define POOL_UNPOISON(p, n)	ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POOL_POISON(p, n)	((void)(p), (void)(n))
#define POOL_UNPOISON(p, n)	((void)(p), (void)(n))
#endif


#ifndef POOL_MAGSIZE		/* tests/stress builds a 2-object variant */
#define POOL_MAGSIZE	29	/* a magazine is 256 bytes */
#define POOL_MAGSIZE_LARGE 125	/* 1 KiB */
#else
#define POOL_MAGSIZE_LARGE POOL_MAGSIZE
#endif
#define POOL_CHUNK	65536	/* bytes carved per backing allocation (or one object) */
#define POOL_NAMELEN	32

struct pool_mag {
	struct lfs_link	 pm_link;		/* [a] link in a depot lfs (lfs calls only) */
	/*
	 * [W pd_lock] the next of every magazine of the pool, a plain list that
	 * pool_destroy frees and that keeps each magazine reachable for leak checkers
	 * wherever it is (a slot, a depot list or neither while in transit).
	 */
	struct pool_mag	*pm_all;
	unsigned	 pm_n;			/* [c] objects in pm_objs (owner only) */
	void		*pm_objs[];		/* [c] p_magsize slots */
} __cachepair_aligned;
_Static_assert(offsetof(struct pool_mag, pm_objs) + 29 * sizeof(void *) == 256 &&
    offsetof(struct pool_mag, pm_objs) + 125 * sizeof(void *) == 1024,
    "magazines fill whole line pairs");

struct pool_chunk {
	struct pool_chunk *pc_next;		/* [W depot] */
	void		*pc_mem;		/* [I] */
};

/* One per-CPU cache.  Counters: one writer at a time, read by pool_stats(). */
struct pool_slot {
	pthread_mutex_t	 ps_lock;	/* only the shared (last) slot takes it */
	struct pool_mag	*ps_loaded;	/* [c] or [ps_lock] for the shared slot */
	struct pool_mag	*ps_prev;	/* [c] or [ps_lock]: NULL, empty or full */
	_Atomic uint64_t ps_gets;	/* [a] relaxed: statistics only */
	_Atomic uint64_t ps_puts;	/* [a] relaxed */
	_Atomic uint64_t ps_fails;	/* [a] relaxed */
	_Atomic uint64_t ps_dgets;	/* [a] relaxed */
	_Atomic uint64_t ps_dputs;	/* [a] relaxed */
	char		*ps_bump;	/* [W pd_lock] next object of this slot's chunk */
	unsigned	 ps_left;	/* [W pd_lock] objects left at ps_bump */
} __cacheline_aligned;

enum { DEPOT_FULL, DEPOT_EMPTY };

struct pool_depot {
	struct lfs	 pd_mags[2];	/* [a] full and empty magazines (lockless LIFOs) */
	pthread_mutex_t	 pd_lock;
	void		*pd_free;	/* [W pd_lock] loose objects, linked in their 1st word */
	uint64_t	 pd_reserved;	/* [W pd_lock] objects in all chunks, carved or not */
	struct pool_chunk *pd_chunks;	/* [W pd_lock] */
	struct pool_mag	*pd_allmags;	/* [W pd_lock] every magazine (pm_all list) */
	_Atomic uint64_t pd_nalloc;	/* [a] written under pd_lock, read relaxed */
} __cacheline_aligned;

struct pool {
	char		 p_name[POOL_NAMELEN];	/* [I] */
	size_t		 p_stride;		/* [I] object size rounded to p_align */
	size_t		 p_align;		/* [I] */
	unsigned	 p_max;			/* [I] 0 = no limit */
	unsigned	 p_flags;		/* [I] POOL_* */
	unsigned	 p_magsize;		/* [I] objects per magazine */
	int		 p_ncpu;		/* [I] CPU slots (0 without owner) */
	const struct kern *p_owner;		/* [I] */
	struct pool_depot p_depot;
	struct pool_slot p_slots[];		/* [I] p_ncpu + 1 entries */
};

/* Statistics bump: the sole writer of a CPU slot needs no RMW; the shared one does. */
static inline void
pool_stat_inc(_Atomic uint64_t *c, bool shared)
{
	if (shared)
		atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
	else
		atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
		    memory_order_relaxed);
}

/* ---- the depot (shared layer) ---- */

/*
 * Give a magazine to the depot (LIFO).  Lock-free.  The push releases the magazine's
 * contents (pm_n, pm_objs) to the thread that pops it (lfs: release CAS / acquire).
 */
static void
pool_depot_push(struct pool *p, int which, struct pool_mag *m)
{
	lfs_push(&p->p_depot.pd_mags[which], m);
}

/* Take the most recently given magazine, or NULL.  Lock-free (see lfs_pop). */
static struct pool_mag *
pool_depot_pop(struct pool *p, int which)
{
	return lfs_pop(&p->p_depot.pd_mags[which]);
}

/*
 * A new chunk for slot s's bump pointer.  Called with pd_lock held.  Each slot carves
 * from chunks of its own, so objects first handed to different CPUs do not share pages.
 * No line is shared then either way, but on the machines measured the hardware
 * prefetchers of one core pull in the neighbouring objects that another core is writing:
 * in bench udp at 2 CPUs, mbufs of the two CPUs interleaved in the same pages cost about
 * a fifth of the rate (docs/architecture.md, Figures).
 */
static bool
pool_backing_grow(struct pool *p, struct pool_slot *s)
{
	struct pool_depot *d = &p->p_depot;
	size_t n = POOL_CHUNK / p->p_stride;
	struct pool_chunk *c;

	if (n == 0)
		n = 1;
	if (p->p_max != 0 && n > p->p_max - d->pd_reserved)
		n = p->p_max - d->pd_reserved;
	if (n == 0 || (c = malloc(sizeof(*c))) == NULL)
		return false;
	c->pc_mem = aligned_alloc(p->p_align, n * p->p_stride);
	if (c->pc_mem == NULL) {
		free(c);
		return false;
	}
	POOL_POISON(c->pc_mem, n * p->p_stride);
	c->pc_next = d->pd_chunks;
	d->pd_chunks = c;
	d->pd_reserved += n;
	s->ps_bump = c->pc_mem;
	s->ps_left = (unsigned)n;
	return true;
}

/*
 * The slot whose chunk to carve from: s's own, a new one, or - at maxitems, when every
 * object is reserved to some chunk - any slot's that has objects left.  pd_lock held.
 */
static struct pool_slot *
pool_backing_carver(struct pool *p, struct pool_slot *s)
{
	if (s->ps_left > 0 || pool_backing_grow(p, s))
		return s;
	for (int i = 0; i <= p->p_ncpu; i++)
		if (p->p_slots[i].ps_left > 0)
			return &p->p_slots[i];
	return NULL;
}

/* An object from the free list or a bump pointer; NULL at maxitems or ENOMEM. */
static void *
pool_backing_get(struct pool *p, struct pool_slot *s)
{
	struct pool_depot *d = &p->p_depot;
	struct pool_slot *c;
	void *obj = NULL;

	pthread_mutex_lock(&d->pd_lock);
	if (d->pd_free != NULL) {
		obj = d->pd_free;
		POOL_UNPOISON(obj, p->p_stride);
		memcpy(&d->pd_free, obj, sizeof(void *));
	} else if ((c = pool_backing_carver(p, s)) != NULL) {
		obj = c->ps_bump;
		POOL_UNPOISON(obj, p->p_stride);
		c->ps_bump += p->p_stride;
		c->ps_left--;
		atomic_store_explicit(&d->pd_nalloc,
		    atomic_load_explicit(&d->pd_nalloc, memory_order_relaxed) + 1,
		    memory_order_relaxed);
	}
	pthread_mutex_unlock(&d->pd_lock);
	return obj;
}

static void
pool_backing_put(struct pool *p, void *obj)
{
	struct pool_depot *d = &p->p_depot;

	pthread_mutex_lock(&d->pd_lock);
	memcpy(obj, &d->pd_free, sizeof(void *));
	d->pd_free = obj;
	POOL_POISON(obj, p->p_stride);
	pthread_mutex_unlock(&d->pd_lock);
}

/* ---- the per-CPU layer ---- */

static inline void
pool_mag_swap(struct pool_slot *s)
{
	struct pool_mag *t = s->ps_loaded;

	s->ps_loaded = s->ps_prev;
	s->ps_prev = t;
}

static void *
pool_mag_pop(struct pool *p, struct pool_mag *m)
{
	void *obj = m->pm_objs[--m->pm_n];

	POOL_UNPOISON(obj, p->p_stride);
	return obj;
}

static void
pool_mag_push(struct pool *p, struct pool_mag *m, void *obj)
{
	POOL_POISON(obj, p->p_stride);
	m->pm_objs[m->pm_n++] = obj;
}

/* Refill the slot with a full magazine from the depot.  False if the depot has none. */
static bool
pool_slot_refill(struct pool *p, struct pool_slot *s, bool shared)
{
	struct pool_mag *full = pool_depot_pop(p, DEPOT_FULL);

	if (full == NULL)
		return false;
	pool_stat_inc(&s->ps_dgets, shared);
	if (s->ps_prev != NULL)
		pool_depot_push(p, DEPOT_EMPTY, s->ps_prev);	/* prev is empty here */
	s->ps_prev = s->ps_loaded;
	s->ps_loaded = full;
	return true;
}

static void *
pool_slot_get(struct pool *p, struct pool_slot *s, bool shared)
{
	if (s->ps_loaded != NULL && s->ps_loaded->pm_n > 0)
		return pool_mag_pop(p, s->ps_loaded);
	if (s->ps_prev != NULL && s->ps_prev->pm_n > 0) {
		pool_mag_swap(s);
		return pool_mag_pop(p, s->ps_loaded);
	}
	if (pool_slot_refill(p, s, shared))
		return pool_mag_pop(p, s->ps_loaded);
	return pool_backing_get(p, s);
}

/* A new empty magazine, entered in the pool's list of all magazines; NULL if none. */
static struct pool_mag *
pool_mag_alloc(struct pool *p)
{
	/*
	 * Line-pair aligned: every get and put writes its CPU's loaded magazine, so two
	 * magazines loaded on different CPUs must not share a line or an adjacent-line pair
	 * (plain malloc packs them 272 bytes apart, and mbuf traffic then bounces between
	 * the cores on every allocation).
	 */
	size_t sz = offsetof(struct pool_mag, pm_objs) + p->p_magsize * sizeof(void *);
	struct pool_mag *m;

	m = aligned_alloc(CACHE_PAIR, (sz + CACHE_PAIR - 1) & ~(size_t)(CACHE_PAIR - 1));
	if (m == NULL)
		return NULL;
	pthread_mutex_lock(&p->p_depot.pd_lock);
	m->pm_all = p->p_depot.pd_allmags;
	p->p_depot.pd_allmags = m;
	pthread_mutex_unlock(&p->p_depot.pd_lock);
	return m;
}

/* Give the slot an empty loaded magazine.  False if none can be had. */
static bool
pool_slot_drain(struct pool *p, struct pool_slot *s, bool shared)
{
	struct pool_mag *empty = pool_depot_pop(p, DEPOT_EMPTY);

	if (empty == NULL && (empty = pool_mag_alloc(p)) == NULL)
		return false;
	empty->pm_n = 0;
	if (s->ps_prev != NULL) {
		pool_depot_push(p, DEPOT_FULL, s->ps_prev);	/* prev is full here */
		pool_stat_inc(&s->ps_dputs, shared);
	}
	s->ps_prev = s->ps_loaded;
	s->ps_loaded = empty;
	return true;
}

static void
pool_slot_put(struct pool *p, struct pool_slot *s, bool shared, void *obj)
{
	if (s->ps_loaded != NULL && s->ps_loaded->pm_n < p->p_magsize) {
		pool_mag_push(p, s->ps_loaded, obj);
		return;
	}
	if (s->ps_prev != NULL && s->ps_prev->pm_n == 0) {
		pool_mag_swap(s);
		pool_mag_push(p, s->ps_loaded, obj);
		return;
	}
	if (pool_slot_drain(p, s, shared))
		pool_mag_push(p, s->ps_loaded, obj);
	else
		pool_backing_put(p, obj);
}

/* The calling thread's slot; the shared one is returned locked (*shared = true). */
static inline struct pool_slot *
pool_slot_enter(struct pool *p, bool *shared)
{
	int i = p->p_owner != NULL ? kcpu_slot(p->p_owner, p->p_ncpu) : 0;
	struct pool_slot *s = &p->p_slots[i];

	assert(i >= 0 && i <= p->p_ncpu);
	*shared = (i == p->p_ncpu);
	if (*shared)
		pthread_mutex_lock(&s->ps_lock);
	return s;
}

static inline void
pool_slot_exit(struct pool_slot *s, bool shared)
{
	if (shared)
		pthread_mutex_unlock(&s->ps_lock);
}

void *
pool_get(struct pool *p)
{
	bool shared;
	struct pool_slot *s = pool_slot_enter(p, &shared);
	void *obj;

	if (p->p_flags & POOL_NOCACHE)
		obj = pool_backing_get(p, s);
	else
		obj = pool_slot_get(p, s, shared);
	pool_stat_inc(obj != NULL ? &s->ps_gets : &s->ps_fails, shared);
	pool_slot_exit(s, shared);
	return obj;
}

void
pool_put(struct pool *p, void *obj)
{
	bool shared;
	struct pool_slot *s;

	assert(obj != NULL);
	s = pool_slot_enter(p, &shared);
	if (p->p_flags & POOL_NOCACHE)
		pool_backing_put(p, obj);
	else
		pool_slot_put(p, s, shared, obj);
	pool_stat_inc(&s->ps_puts, shared);
	pool_slot_exit(s, shared);
}

/* ---- creation, statistics, teardown ---- */

static bool
pool_args_ok(size_t size, size_t align, int ncpu, const struct kern *owner)
{
	if (size == 0 || size > (1u << 30) || (align & (align - 1)) != 0 || align > 4096)
		return false;
	return owner == NULL || (ncpu >= 1 && ncpu <= KERN_MAXCPU);
}

static void
pool_init_slots(struct pool *p)
{
	for (int i = 0; i <= p->p_ncpu; i++) {
		struct pool_slot *s = &p->p_slots[i];

		memset(s, 0, sizeof(*s));
		pthread_mutex_init(&s->ps_lock, NULL);
	}
}

struct pool *
pool_create_flags(const char *name, size_t size, size_t align, unsigned maxitems,
    int ncpu, const struct kern *owner, unsigned flags)
{
	struct pool *p;
	int nslots;

	if (!pool_args_ok(size, align, ncpu, owner) || (flags & ~(POOL_NOCACHE | POOL_LARGEMAG)) != 0) {
		errno = EINVAL;
		return NULL;
	}
	nslots = owner != NULL ? ncpu + 1 : 1;
	p = aligned_alloc(CACHE_LINE, sizeof(*p) + (size_t)nslots * sizeof(p->p_slots[0]));
	if (p == NULL)
		return NULL;	/* errno = ENOMEM */
	memset(p, 0, sizeof(*p));
	snprintf(p->p_name, sizeof(p->p_name), "%s", name != NULL ? name : "pool");
	p->p_align = align != 0 ? align : 16;
	if (p->p_align < sizeof(void *))
		p->p_align = sizeof(void *);
	p->p_stride = (size + p->p_align - 1) & ~(p->p_align - 1);
	p->p_max = maxitems;
	p->p_flags = flags;
	p->p_magsize = (flags & POOL_LARGEMAG) ? POOL_MAGSIZE_LARGE : POOL_MAGSIZE;
	p->p_ncpu = owner != NULL ? ncpu : 0;
	p->p_owner = owner;
	pthread_mutex_init(&p->p_depot.pd_lock, NULL);
	lfs_init(&p->p_depot.pd_mags[DEPOT_FULL], offsetof(struct pool_mag, pm_link));
	lfs_init(&p->p_depot.pd_mags[DEPOT_EMPTY], offsetof(struct pool_mag, pm_link));
	pool_init_slots(p);
	return p;
}

struct pool *
pool_create(const char *name, size_t size, size_t align, unsigned maxitems, int ncpu,
    const struct kern *owner)
{
	return pool_create_flags(name, size, align, maxitems, ncpu, owner, 0);
}

const char *
pool_name(const struct pool *p)
{
	return p->p_name;
}

static uint64_t
ld(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

void
pool_stats(const struct pool *p, struct pool_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (int i = 0; i <= p->p_ncpu; i++) {
		const struct pool_slot *s = &p->p_slots[i];

		st->gets += ld(&s->ps_gets);
		st->puts += ld(&s->ps_puts);
		st->fails += ld(&s->ps_fails);
		st->depot_gets += ld(&s->ps_dgets);
		st->depot_puts += ld(&s->ps_dputs);
	}
	st->inuse = st->gets >= st->puts ? st->gets - st->puts : 0;
	st->nalloc = ld(&p->p_depot.pd_nalloc);
	st->maxitems = p->p_max;
	st->size = p->p_stride;
}

/*
 * Objects in the magazines of a depot list, which is left as it was (taken whole, then
 * pushed back in the same order).  Quiescent pool only.
 */
static uint64_t
pool_mag_list_count(struct lfs *q)
{
	struct pool_mag *first = lfs_pop_all(q), *last = NULL, *m;
	uint64_t n = 0;

	if (first == NULL)
		return 0;
	for (m = first; m != NULL; m = lfs_chain_next(q, m)) {
		n += m->pm_n;
		last = m;
	}
	lfs_push_chain(q, first, last);
	return n;
}

/* Objects cached anywhere in p.  Quiescent pool only. */
static uint64_t
pool_count_cached(struct pool *p)
{
	struct pool_depot *d = &p->p_depot;
	uint64_t n = pool_mag_list_count(&d->pd_mags[DEPOT_FULL]);
	void *o;

	assert(pool_mag_list_count(&d->pd_mags[DEPOT_EMPTY]) == 0);
	for (int i = 0; i <= p->p_ncpu; i++) {
		struct pool_slot *s = &p->p_slots[i];

		n += s->ps_loaded != NULL ? s->ps_loaded->pm_n : 0;
		n += s->ps_prev != NULL ? s->ps_prev->pm_n : 0;
	}
	for (o = d->pd_free; o != NULL; n++) {
		POOL_UNPOISON(o, sizeof(void *));
		memcpy(&o, o, sizeof(void *));
	}
	return n;
}

/* Free every magazine of the pool, wherever it is.  Quiescent pool only. */
static void
pool_mag_all_free(struct pool_depot *d)
{
	struct pool_mag *m, *next;

	for (m = d->pd_allmags; m != NULL; m = next) {
		next = m->pm_all;
		free(m);
	}
	d->pd_allmags = NULL;
}

static void
pool_free_all(struct pool *p)
{
	struct pool_depot *d = &p->p_depot;
	struct pool_chunk *c, *next;

	for (int i = 0; i <= p->p_ncpu; i++)
		pthread_mutex_destroy(&p->p_slots[i].ps_lock);
	pool_mag_all_free(d);
	for (c = d->pd_chunks; c != NULL; c = next) {
		next = c->pc_next;
		free(c->pc_mem);	/* free() needs it unpoisoned: ASan does that itself */
		free(c);
	}
	pthread_mutex_destroy(&d->pd_lock);
	free(p);
}

int
pool_destroy(struct pool *p)
{
	uint64_t cached, nalloc;

	if (p == NULL)
		return 0;
	cached = pool_count_cached(p);
	nalloc = ld(&p->p_depot.pd_nalloc);
	assert(cached <= nalloc && "an object was put twice");
	if (cached < nalloc)
		return -EBUSY;
	pool_free_all(p);
	return 0;
}
