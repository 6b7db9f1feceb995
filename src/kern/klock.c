/*
 * klock.c - locks with statistics (see klock.h) and the lock-class registry.
 *
 * The registry is a list of struct klock_stats per kern, under k_reg_mtx, searched by
 * class name when a lock is initialised (not on the data path).  Each class has a
 * per-CPU array of cells {acquisitions, contended, hold}, one cache line per CPU, plus
 * the shared foreign slot for non-CPU threads (pcpu.h): a CPU thread updates its own
 * line with plain relaxed load+store, other threads use atomic adds.
 *
 * Contention is detected by a failed first try (trylock / CAS) and counted before the
 * thread blocks (so it is visible while it waits); the acquisition is counted once it
 * succeeds.  A failed tryenter counts as contention without an acquisition.  Hold time is
 * read from the TSC (x86) or CLOCK_MONOTONIC, only when the kern has lockstat_hold.
 */
#include "kern/klock.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kern/kern_var.h"
#include "kern/ktime.h"
#include "kern/pcpu.h"

_Thread_local char klock_self_token;

struct klock_pcpu {
	_Atomic uint64_t	lp_acq;		/* [c] or [a] (foreign slot) */
	_Atomic uint64_t	lp_cont;	/* [c] or [a] */
	_Atomic uint64_t	lp_hold;	/* [c] or [a] */
} __cacheline_aligned;
_Static_assert(sizeof(struct klock_pcpu) == CACHE_LINE, "one line per CPU and class");

static inline uint64_t
klock_clock(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __builtin_ia32_rdtsc();
#else
	return ktime_mono();
#endif
}

static inline void
klock_count(struct klock_stats *st, uint64_t acq, uint64_t cont, uint64_t hold)
{
	int ncpu = st->ls_kern->k_ncpu, slot = kcpu_slot(st->ls_kern, ncpu);
	struct klock_pcpu *p = &st->ls_pcpu[slot];

	if (acq != 0)
		pcpu_cell_add(&p->lp_acq, acq, slot == ncpu);
	if (cont != 0)
		pcpu_cell_add(&p->lp_cont, cont, slot == ncpu);
	if (hold != 0)
		pcpu_cell_add(&p->lp_hold, hold, slot == ncpu);
}

/* --- lock-order checker (debug builds) --- */

#define KLOCK_HELD_MAX	16

/* The classes the calling thread holds, innermost last. */
static _Thread_local struct {
	const struct klock_stats	*held[KLOCK_HELD_MAX];
	int				 n;
} klock_tls;

static bool
klock_order_seen(const struct kern *k, int a, int b)
{
	/* Relaxed: the bits are a monotonic record; a late view only delays a report. */
	return (atomic_load_explicit(&k->k_order[a][b / 64], memory_order_relaxed) >>
	    (b % 64)) & 1;
}

/* Report a reversal; called once per pair (when its edge is first recorded). */
static void
klock_order_report(struct kern *k, const struct klock_stats *held,
    const struct klock_stats *st)
{
	atomic_fetch_add_explicit(&k->k_order_violations, 1, memory_order_relaxed);
	fprintf(stderr, "smpnet: lock order reversal: \"%s\" taken while holding \"%s\", "
	    "but \"%s\" was taken while holding \"%s\" before\n", st->ls_name,
	    held->ls_name, held->ls_name, st->ls_name);
	if (k->k_order_panic)
		KPANIC("lock order reversal %s / %s", held->ls_name, st->ls_name);
}

/* About to take a lock of class st: record and check its order against held ones. */
static void
klock_order_check(const struct klock_stats *st)
{
	struct kern *k = (struct kern *)(uintptr_t)st->ls_kern;
	const struct klock_stats *h;
	uint64_t bit, old;
	int i;

	if (!KDEBUG || st->ls_index >= KLOCK_MAXCLASS)
		return;
	for (i = 0; i < klock_tls.n; i++) {
		h = klock_tls.held[i];
		if (h->ls_kern != st->ls_kern || h == st || h->ls_index >= KLOCK_MAXCLASS)
			continue;
		bit = (uint64_t)1 << (st->ls_index % 64);
		/*
		 * Relaxed: the order matrix is a set of facts, not a protocol.  Read first so
		 * that an order seen before (nearly always) costs no write to the shared line.
		 */
		if (atomic_load_explicit(&k->k_order[h->ls_index][st->ls_index / 64],
		    memory_order_relaxed) & bit)
			continue;
		old = atomic_fetch_or_explicit(&k->k_order[h->ls_index][st->ls_index / 64],
		    bit, memory_order_relaxed);
		if (!(old & bit) && klock_order_seen(k, st->ls_index, h->ls_index))
			klock_order_report(k, h, st);
	}
}

static void
klock_held_push(const struct klock_stats *st)
{
	if (KDEBUG && klock_tls.n < KLOCK_HELD_MAX)
		klock_tls.held[klock_tls.n++] = st;
}

static void
klock_held_pop(const struct klock_stats *st)
{
	int i;

	if (!KDEBUG)
		return;
	for (i = klock_tls.n - 1; i >= 0; i--)
		if (klock_tls.held[i] == st) {
			for (; i + 1 < klock_tls.n; i++)
				klock_tls.held[i] = klock_tls.held[i + 1];
			klock_tls.n--;
			return;
		}
}

uint64_t
klock_order_violations(const struct kern *k)
{
	return atomic_load_explicit(&k->k_order_violations, memory_order_relaxed);
}

/* --- registry --- */

int
klock_registry_init(struct kern *k)
{
	k->k_reg_head = k->k_reg_tail = NULL;
	k->k_reg_count = 0;
	k->k_order_panic = getenv("SMPNET_LOCKORDER_PANIC") != NULL &&
	    strcmp(getenv("SMPNET_LOCKORDER_PANIC"), "1") == 0;
	return pthread_mutex_init(&k->k_reg_mtx, NULL);
}

void
klock_registry_fini(struct kern *k)
{
	struct klock_stats *st, *next;

	for (st = k->k_reg_head; st != NULL; st = next) {
		next = st->ls_next;
		pcpu_free(st->ls_pcpu);
		free(st);
	}
	k->k_reg_head = k->k_reg_tail = NULL;
	pthread_mutex_destroy(&k->k_reg_mtx);
}

static struct klock_stats *
klock_stats_find(struct kern *k, const char *name)
{
	struct klock_stats *st;

	for (st = k->k_reg_head; st != NULL; st = st->ls_next)
		if (strcmp(st->ls_name, name) == 0)
			return st;
	return NULL;
}

static struct klock_stats *
klock_stats_new(struct kern *k, const char *name)
{
	struct klock_stats *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return NULL;
	st->ls_pcpu = pcpu_alloc(k, sizeof(struct klock_pcpu));
	if (st->ls_pcpu == NULL) {
		free(st);
		return NULL;
	}
	st->ls_name = name;
	st->ls_kern = k;
	st->ls_index = k->k_reg_count++;
	if (k->k_reg_tail != NULL)
		k->k_reg_tail->ls_next = st;
	else
		k->k_reg_head = st;
	k->k_reg_tail = st;
	return st;
}

/* The statistics of cls in k, created on first use; NULL if out of memory. */
static struct klock_stats *
klock_stats_lookup(struct kern *k, const struct klock_class *cls)
{
	struct klock_stats *st;

	pthread_mutex_lock(&k->k_reg_mtx);
	st = klock_stats_find(k, cls->lc_name);
	if (st == NULL)
		st = klock_stats_new(k, cls->lc_name);
	pthread_mutex_unlock(&k->k_reg_mtx);
	return st;
}

/* --- kmutex --- */

/*
 * An adaptive mutex (glibc: spins briefly while the owner runs, then sleeps), as
 * NetBSD's adaptive kmutex: critical sections are short, and sleeping on every contended
 * acquisition would turn the giant lock into a convoy of futex wake-ups that no kernel
 * giant lock suffers, making the giant-mode baseline unfairly slow.
 */
static int
kmutex_pthread_init(pthread_mutex_t *mtx)
{
	pthread_mutexattr_t attr;
	int error;

	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
	error = pthread_mutex_init(mtx, &attr);
	pthread_mutexattr_destroy(&attr);
	return error;
}

int
kmutex_init(struct kmutex *m, struct kern *k, const struct klock_class *cls)
{
	int error;

	m->km_stats = klock_stats_lookup(k, cls);
	if (m->km_stats == NULL)
		return -ENOMEM;
	error = kmutex_pthread_init(&m->km_mtx);
	if (error != 0)
		return -error;
	atomic_init(&m->km_owner, 0);
	m->km_since = 0;
	m->km_hold = k->k_lockstat_hold;
	return 0;
}

void
kmutex_fini(struct kmutex *m)
{
	KASSERT(atomic_load_explicit(&m->km_owner, memory_order_relaxed) == 0);
	pthread_mutex_destroy(&m->km_mtx);
}

static void
kmutex_acquired(struct kmutex *m)
{
	/* Relaxed: only compared with the reader's own identity (kmutex_owned). */
	atomic_store_explicit(&m->km_owner, klock_self(), memory_order_relaxed);
	if (m->km_hold)
		m->km_since = klock_clock();
	klock_count(m->km_stats, 1, 0, 0);
	klock_held_push(m->km_stats);
}

void
kmutex_enter(struct kmutex *m)
{
	KMUTEX_ASSERT_NOTHELD(m);
	klock_order_check(m->km_stats);
	if (pthread_mutex_trylock(&m->km_mtx) != 0) {
		klock_count(m->km_stats, 0, 1, 0);	/* visible while blocked */
		pthread_mutex_lock(&m->km_mtx);
	}
	kmutex_acquired(m);
}

bool
kmutex_tryenter(struct kmutex *m)
{
	KMUTEX_ASSERT_NOTHELD(m);
	klock_order_check(m->km_stats);
	if (pthread_mutex_trylock(&m->km_mtx) != 0) {
		klock_count(m->km_stats, 0, 1, 0);
		return false;
	}
	kmutex_acquired(m);
	return true;
}

void
kmutex_exit(struct kmutex *m)
{
	KMUTEX_ASSERT_HELD(m);
	if (m->km_hold)
		klock_count(m->km_stats, 0, 0, klock_clock() - m->km_since);
	atomic_store_explicit(&m->km_owner, 0, memory_order_relaxed);
	klock_held_pop(m->km_stats);
	pthread_mutex_unlock(&m->km_mtx);
}

/* --- krwlock --- */

int
krwlock_init(struct krwlock *rw, struct kern *k, const struct klock_class *cls)
{
	int error;

	rw->kr_stats = klock_stats_lookup(k, cls);
	if (rw->kr_stats == NULL)
		return -ENOMEM;
	error = pthread_rwlock_init(&rw->kr_rw, NULL);
	if (error != 0)
		return -error;
	atomic_init(&rw->kr_writer, 0);
	rw->kr_since = 0;
	rw->kr_hold = k->k_lockstat_hold;
	return 0;
}

void
krwlock_fini(struct krwlock *rw)
{
	KASSERT(atomic_load_explicit(&rw->kr_writer, memory_order_relaxed) == 0);
	pthread_rwlock_destroy(&rw->kr_rw);
}

void
krwlock_read_enter(struct krwlock *rw)
{
	KASSERT(!krwlock_write_owned(rw));
	klock_order_check(rw->kr_stats);
	if (pthread_rwlock_tryrdlock(&rw->kr_rw) != 0) {
		klock_count(rw->kr_stats, 0, 1, 0);
		pthread_rwlock_rdlock(&rw->kr_rw);
	}
	klock_count(rw->kr_stats, 1, 0, 0);
	klock_held_push(rw->kr_stats);
}

void
krwlock_write_enter(struct krwlock *rw)
{
	KASSERT(!krwlock_write_owned(rw));
	klock_order_check(rw->kr_stats);
	if (pthread_rwlock_trywrlock(&rw->kr_rw) != 0) {
		klock_count(rw->kr_stats, 0, 1, 0);
		pthread_rwlock_wrlock(&rw->kr_rw);
	}
	/* Relaxed: only compared with the reader's own identity. */
	atomic_store_explicit(&rw->kr_writer, klock_self(), memory_order_relaxed);
	if (rw->kr_hold)
		rw->kr_since = klock_clock();
	klock_count(rw->kr_stats, 1, 0, 0);
	klock_held_push(rw->kr_stats);
}

void
krwlock_exit(struct krwlock *rw)
{
	if (krwlock_write_owned(rw)) {
		if (rw->kr_hold)
			klock_count(rw->kr_stats, 0, 0, klock_clock() - rw->kr_since);
		atomic_store_explicit(&rw->kr_writer, 0, memory_order_relaxed);
	}
	klock_held_pop(rw->kr_stats);
	pthread_rwlock_unlock(&rw->kr_rw);
}

/* --- kspin --- */

int
kspin_init(struct kspin *s, struct kern *k, const struct klock_class *cls)
{
	s->ks_stats = klock_stats_lookup(k, cls);
	if (s->ks_stats == NULL)
		return -ENOMEM;
	atomic_init(&s->ks_owner, 0);
	s->ks_since = 0;
	s->ks_hold = k->k_lockstat_hold;
	return 0;
}

void
kspin_fini(struct kspin *s)
{
	KASSERT(atomic_load_explicit(&s->ks_owner, memory_order_relaxed) == 0);
}

static bool
kspin_try(struct kspin *s)
{
	uintptr_t free_ = 0;

	/* Acquire pairs with the release store in kspin_exit(). */
	return atomic_compare_exchange_strong_explicit(&s->ks_owner, &free_, klock_self(),
	    memory_order_acquire, memory_order_relaxed);
}

static void
kspin_acquired(struct kspin *s)
{
	if (s->ks_hold)
		s->ks_since = klock_clock();
	klock_count(s->ks_stats, 1, 0, 0);
	klock_held_push(s->ks_stats);
}

void
kspin_enter(struct kspin *s)
{
	unsigned n = 0;

	KSPIN_ASSERT_NOTHELD_(s);
	klock_order_check(s->ks_stats);
	if (kspin_try(s)) {
		kspin_acquired(s);
		return;
	}
	klock_count(s->ks_stats, 0, 1, 0);
	do {
		while (atomic_load_explicit(&s->ks_owner, memory_order_relaxed) != 0) {
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
			if (++n % 1024 == 0)
				sched_yield();
		}
	} while (!kspin_try(s));
	kspin_acquired(s);
}

bool
kspin_tryenter(struct kspin *s)
{
	KSPIN_ASSERT_NOTHELD_(s);
	if (!kspin_try(s)) {
		klock_count(s->ks_stats, 0, 1, 0);
		return false;
	}
	kspin_acquired(s);
	return true;
}

void
kspin_exit(struct kspin *s)
{
	KSPIN_ASSERT_HELD(s);
	if (s->ks_hold)
		klock_count(s->ks_stats, 0, 0, klock_clock() - s->ks_since);
	klock_held_pop(s->ks_stats);
	/* Release pairs with the acquire CAS in kspin_try(). */
	atomic_store_explicit(&s->ks_owner, 0, memory_order_release);
}

/* --- statistics --- */

static void
klock_stats_sum(const struct klock_stats *st, struct klock_stat *out)
{
	int i, n = st->ls_kern->k_ncpu + 1;

	out->name = st->ls_name;
	out->acquisitions = out->contended = out->hold = 0;
	for (i = 0; i < n; i++) {
		out->acquisitions += atomic_load_explicit(&st->ls_pcpu[i].lp_acq,
		    memory_order_relaxed);
		out->contended += atomic_load_explicit(&st->ls_pcpu[i].lp_cont,
		    memory_order_relaxed);
		out->hold += atomic_load_explicit(&st->ls_pcpu[i].lp_hold,
		    memory_order_relaxed);
	}
}

void
klock_stats_foreach(struct kern *k, void (*cb)(const struct klock_stat *, void *),
    void *arg)
{
	struct klock_stats *st;
	struct klock_stat snap;

	pthread_mutex_lock(&k->k_reg_mtx);
	for (st = k->k_reg_head; st != NULL; st = st->ls_next) {
		klock_stats_sum(st, &snap);
		cb(&snap, arg);
	}
	pthread_mutex_unlock(&k->k_reg_mtx);
}

int
klock_stats_get(struct kern *k, const char *name, struct klock_stat *out)
{
	struct klock_stats *st;

	pthread_mutex_lock(&k->k_reg_mtx);
	st = klock_stats_find(k, name);
	if (st != NULL)
		klock_stats_sum(st, out);
	pthread_mutex_unlock(&k->k_reg_mtx);
	return st != NULL ? 0 : -ENOENT;
}
