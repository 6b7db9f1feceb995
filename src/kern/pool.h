/*
 * pool.h - fixed-size object pools with per-CPU magazine caches.
 *
 * A pool hands out objects of one size and alignment.  Each per-CPU slot caches objects
 * in two magazines (Bonwick and Adams, "Magazines and Vmem", USENIX 2001): pool_get()
 * and pool_put() touch only the calling CPU's slot, and trade a whole full or empty
 * magazine with the shared depot when both of the slot's magazines are exhausted.  The
 * depot is the only shared layer the fast path meets, once per magazine of objects.
 *
 * Slots: a pool created with an owner kern and ncpu has ncpu + 1 slots; a CPU thread of
 * that kern uses its own slot without locking (slot = kcpu_slot(owner, ncpu)), and every
 * other thread shares the last slot, which takes a mutex.  A pool created with owner NULL
 * has the one shared slot only.  (ncpu is passed explicitly because kern_ncpu() is not
 * available everywhere a pool is built; pass kern_ncpu(owner).)
 *
 * Calling context: every call except pool_create()/pool_destroy() is thread-safe, never
 * sleeps (the shared slot's and the depot's mutexes are held for a few instructions; the
 * depot's magazine lists are lockless) and may be called from a continuation.  pool_get()/pool_put() call malloc() when the pool
 * grows or a new magazine is needed.
 */
#ifndef SMPNET_KERN_POOL_H
#define SMPNET_KERN_POOL_H

#include <stddef.h>
#include <stdint.h>

struct kern;
struct pool;

/* pool_create flags */
#define POOL_NOCACHE	0x1u	/* no per-CPU magazines: every get/put takes the depot */
#define POOL_LARGEMAG	0x2u	/* 125-object magazines instead of 29 (see pool.c) */

struct pool_stats {
	uint64_t	gets;		/* successful pool_get() calls */
	uint64_t	puts;		/* pool_put() calls */
	uint64_t	fails;		/* pool_get() calls that returned NULL */
	uint64_t	inuse;		/* gets - puts: objects handed out now */
	uint64_t	depot_gets;	/* full magazines taken from the depot */
	uint64_t	depot_puts;	/* full magazines given to the depot */
	uint64_t	nalloc;		/* objects ever created (never more than maxitems) */
	unsigned	maxitems;	/* the limit, 0 = none */
	size_t		size;		/* object stride in bytes */
};

/*
 * Create a pool of objects of size bytes aligned to align (a power of two, 0 for the
 * default of 16), at most maxitems objects alive at once (0: no limit).  ncpu and owner
 * choose the slots (see above; ncpu in 1..KERN_MAXCPU with an owner, ignored without).
 * flags: POOL_NOCACHE, POOL_LARGEMAG or 0.  name is copied.  Returns NULL with errno EINVAL (bad size,
 * align or ncpu) or ENOMEM.  May block (allocates).
 */
struct pool *pool_create_flags(const char *name, size_t size, size_t align,
    unsigned maxitems, int ncpu, const struct kern *owner, unsigned flags);
struct pool *pool_create(const char *name, size_t size, size_t align, unsigned maxitems,
    int ncpu, const struct kern *owner);

/*
 * Take an object (contents undefined).  Returns NULL when maxitems objects are out, when
 * the objects left are cached in other CPUs' magazines, or when memory runs out; every
 * NULL is counted in stats.fails.  Never blocks on anything but a short mutex.
 */
void *pool_get(struct pool *p);

/* Return an object taken from p, from any thread.  Never fails. */
void pool_put(struct pool *p, void *obj);

/*
 * A snapshot of the counters, summed over the slots.  Exact only when no other thread
 * uses p; otherwise each counter is a recent value.  Thread-safe.
 */
void pool_stats(const struct pool *p, struct pool_stats *st);

/* The name given at creation.  Thread-safe. */
const char *pool_name(const struct pool *p);

/*
 * Destroy p, proving that every object came back: if any object is out, returns -EBUSY
 * and frees nothing (p stays usable).  Returns 0 once every object has been found in a
 * magazine or the depot and everything is freed.  No other thread may use p meanwhile.
 * A put of an object twice is a fatal bug (asserted here).
 */
int pool_destroy(struct pool *p);

#endif /* SMPNET_KERN_POOL_H */
