/*
 * bench_queue.c - `smpnet bench queue`: the lockless rings and the intrusive queue
 * against ConcurrencyKit, DPDK rte_ring, liburcu and a mutex-protected queue.
 *
 * Ring cases "<mode>-<P>p<C>c-<single|burst32>": P producer and C consumer threads move
 * pointers through a 1024-slot ring for opts->seconds; metric items_per_s = items
 * dequeued / elapsed.  Every impl uses its own call for the mode (smpnet ring_*_sp/_mp/
 * _sc/_mc, rte_ring SP/SC/MP/MC, ck_ring _spsc/_mpsc/_mpmc, a mutex around an array).
 * "burst32" moves up to 32 items per call; ck_ring has no burst call, so its burst is a
 * loop of single calls (labelled by the impl name "ck_ring" all the same).
 * Pair cases "<fifo|lifo>-<T>t[-depth32]": T threads each push one node and pop one
 * node, in a loop, on one shared queue (empty at the start, or holding 32 nodes, as a
 * pool depot would); metric pairs_per_s.  fifo: smpnet lfq push_tail/pop,
 * ck_fifo_mpmc, liburcu wfcqueue (enqueue + dequeue_blocking), mutex.  lifo: smpnet lfs
 * push/pop (impl "smpnet"), smpnet lfq push_head/pop (impl "smpnet-lfq"), ck_stack
 * (mpmc push/pop, a 16-byte CAS), liburcu lfstack (push + pop_blocking), mutex.
 *
 * Fairness: the same item type (a pointer or a node), ring size and burst for all;
 * every impl's operations are inlined (all are header code); the same wait policy on
 * full/empty (pause, then sched_yield every 64 tries).  Each repeat runs all impls of a
 * case back to back, starting with a different impl each time, and reports the median
 * and spread per impl and the per-repeat ratio smpnet/peer ("ratio_vs_<impl>").
 * With 2 producers and 2 consumers there are 4 threads on this 2-core machine: those
 * figures measure scheduling as much as the queue.
 */
#define _LGPL_SOURCE 1
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <urcu/lfstack.h>
#include <urcu/wfcqueue.h>

#ifdef HAVE_CK
#include <ck_fifo.h>
#include <ck_ring.h>
#include <ck_stack.h>
#endif
#ifdef HAVE_DPDK
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#include <rte_ring.h>
#pragma GCC diagnostic pop
#endif

#include "bench.h"
#include "lib/lfq.h"
#include "lib/lfs.h"
#include "lib/ring.h"

#define BQ_SLOTS	1024
#define BQ_BURST	32
#define BQ_MAXT		4
#define BQ_MAXIMPL	6
#define BQ_SPINS	64

enum bq_mode { BQ_SPSC, BQ_MPSC, BQ_MPMC };

/* One measurement: the queue, the threads' shared flags, the result. */
struct bq_run {
	void			*q;
	enum bq_mode		 mode;
	unsigned		 burst;
	_Atomic bool		 stop;
	pthread_barrier_t	 start;
	_Atomic uint64_t	 count;		/* items dequeued or pairs done */
};

/* A node with every intrusive link the peers need (pair cases). */
struct bq_node {
	struct lfq_link		 n_lfq;
	struct lfs_link		 n_lfs_smp;
	struct cds_lfs_node	 n_lfs;
	struct cds_wfcq_node	 n_wfcq;
	struct bq_node		*n_next;	/* mutex queue/stack */
#ifdef HAVE_CK
	ck_stack_entry_t	 n_cks;
	ck_fifo_mpmc_entry_t	 n_ckf;		/* spare entry handed to ck_fifo */
#endif
} __cacheline_aligned;

struct bq_impl {
	const char	*name;
	void		*(*create)(enum bq_mode mode);
	void		 (*destroy)(void *q);
	void		*(*producer)(void *run);	/* ring cases */
	void		*(*consumer)(void *run);
	void		*(*pairs)(void *run);		/* pair cases */
	void		 (*preload)(void *q, struct bq_node *n);	/* pair cases */
};

static inline bool
bq_stopped(struct bq_run *r)
{
	/* Relaxed: the flag only ends the loop; results travel through count. */
	return atomic_load_explicit(&r->stop, memory_order_relaxed);
}

static inline void
bq_wait(unsigned *spins)
{
	if (++*spins % BQ_SPINS == 0)
		sched_yield();
	else
		__builtin_ia32_pause();
}

/*
 * The producer and consumer loops of one ring impl, with its enqueue and dequeue
 * (pfx##_enq / pfx##_deq: up to n items, return how many) inlined.
 */
#define BQ_RING_LOOPS(pfx)						\
static void *								\
pfx##_producer(void *arg)						\
{									\
	struct bq_run *r = arg;						\
	void *objs[BQ_BURST];						\
	unsigned spins = 0;						\
									\
	for (unsigned i = 0; i < BQ_BURST; i++)				\
		objs[i] = (void *)(uintptr_t)(i + 1);			\
	pthread_barrier_wait(&r->start);				\
	while (!bq_stopped(r))						\
		if (pfx##_enq(r->q, r->mode, objs, r->burst) == 0)	\
			bq_wait(&spins);				\
	return NULL;							\
}									\
									\
static void *								\
pfx##_consumer(void *arg)						\
{									\
	struct bq_run *r = arg;						\
	void *objs[BQ_BURST];						\
	unsigned spins = 0;						\
	uint64_t got = 0, n;						\
									\
	pthread_barrier_wait(&r->start);				\
	while (!bq_stopped(r)) {					\
		if ((n = pfx##_deq(r->q, r->mode, objs, r->burst)) == 0)	\
			bq_wait(&spins);				\
		got += n;						\
	}								\
	atomic_fetch_add_explicit(&r->count, got, memory_order_relaxed);	\
	return NULL;							\
}

/* ---- smpnet ring ---- */

static void *
smp_create(enum bq_mode mode)
{
	int flags = mode == BQ_SPSC ? RING_SP_ENQ | RING_SC_DEQ :
	    mode == BQ_MPSC ? RING_SC_DEQ : 0;

	return ring_create(BQ_SLOTS, flags);
}

static void
smp_destroy(void *q)
{
	ring_destroy(q);
}

static inline unsigned
smp_enq(void *q, enum bq_mode mode, void **objs, unsigned n)
{
	if (n == 1)
		return mode == BQ_SPSC ? ring_enqueue_sp(q, objs[0]) == 0 :
		    ring_enqueue_mp(q, objs[0]) == 0;
	return mode == BQ_SPSC ? ring_enqueue_burst_sp(q, objs, n) :
	    ring_enqueue_burst_mp(q, objs, n);
}

static inline unsigned
smp_deq(void *q, enum bq_mode mode, void **objs, unsigned n)
{
	if (n == 1)
		return mode != BQ_MPMC ? ring_dequeue_sc(q, objs) == 0 :
		    ring_dequeue_mc(q, objs) == 0;
	return mode != BQ_MPMC ? ring_dequeue_burst_sc(q, objs, n) :
	    ring_dequeue_burst_mc(q, objs, n);
}

BQ_RING_LOOPS(smp)

/* ---- mutex ring ---- */

struct bq_mtx {
	pthread_mutex_t	 m_lock;
	unsigned	 m_head, m_tail;	/* [m_lock] */
	void		*m_slots[BQ_SLOTS];	/* [m_lock] */
};

static void *
mtx_create(enum bq_mode mode)
{
	struct bq_mtx *m = calloc(1, sizeof(*m));

	if (m != NULL)
		pthread_mutex_init(&m->m_lock, NULL);
	return m;
}

static void
mtx_destroy(void *q)
{
	struct bq_mtx *m = q;

	pthread_mutex_destroy(&m->m_lock);
	free(m);
}

static inline unsigned
mtx_enq(void *q, enum bq_mode mode, void **objs, unsigned n)
{
	struct bq_mtx *m = q;
	unsigned i;

	pthread_mutex_lock(&m->m_lock);
	for (i = 0; i < n && m->m_tail - m->m_head < BQ_SLOTS; i++)
		m->m_slots[m->m_tail++ % BQ_SLOTS] = objs[i];
	pthread_mutex_unlock(&m->m_lock);
	return i;
}

static inline unsigned
mtx_deq(void *q, enum bq_mode mode, void **objs, unsigned n)
{
	struct bq_mtx *m = q;
	unsigned i;

	pthread_mutex_lock(&m->m_lock);
	for (i = 0; i < n && m->m_head != m->m_tail; i++)
		objs[i] = m->m_slots[m->m_head++ % BQ_SLOTS];
	pthread_mutex_unlock(&m->m_lock);
	return i;
}

BQ_RING_LOOPS(mtx)

/* ---- DPDK rte_ring, initialised in our own memory, without the EAL ---- */

#ifdef HAVE_DPDK
static void *
rte_create(enum bq_mode mode)
{
	unsigned flags = mode == BQ_SPSC ? RING_F_SP_ENQ | RING_F_SC_DEQ :
	    mode == BQ_MPSC ? RING_F_SC_DEQ : 0;
	ssize_t sz = rte_ring_get_memsize(BQ_SLOTS);
	struct rte_ring *r;

	if (sz < 0)
		return NULL;
	r = aligned_alloc(CACHE_LINE, ((size_t)sz + CACHE_LINE - 1) & ~(size_t)63);
	if (r != NULL && rte_ring_init(r, "bq", BQ_SLOTS, flags) != 0) {
		free(r);
		r = NULL;
	}
	return r;
}

static inline unsigned
rte_enq(void *q, enum bq_mode mode, void **objs, unsigned n)
{
	if (n == 1)
		return mode == BQ_SPSC ? rte_ring_sp_enqueue(q, objs[0]) == 0 :
		    rte_ring_mp_enqueue(q, objs[0]) == 0;
	return mode == BQ_SPSC ? rte_ring_sp_enqueue_burst(q, objs, n, NULL) :
	    rte_ring_mp_enqueue_burst(q, objs, n, NULL);
}

static inline unsigned
rte_deq(void *q, enum bq_mode mode, void **objs, unsigned n)
{
	if (n == 1)
		return mode != BQ_MPMC ? rte_ring_sc_dequeue(q, objs) == 0 :
		    rte_ring_mc_dequeue(q, objs) == 0;
	return mode != BQ_MPMC ? rte_ring_sc_dequeue_burst(q, objs, n, NULL) :
	    rte_ring_mc_dequeue_burst(q, objs, n, NULL);
}

BQ_RING_LOOPS(rte)
#endif

/* ---- ConcurrencyKit ck_ring (no burst call: bursts are loops of singles) ---- */

#ifdef HAVE_CK
struct bq_ck {
	struct ck_ring		c_ring __cacheline_aligned;
	struct ck_ring_buffer	c_buf[BQ_SLOTS] __cacheline_aligned;
};

static void *
ckr_create(enum bq_mode mode)
{
	struct bq_ck *c = aligned_alloc(CACHE_LINE, sizeof(*c));

	if (c != NULL)
		ck_ring_init(&c->c_ring, BQ_SLOTS);
	return c;
}

static inline bool
ckr_enq1(struct bq_ck *c, enum bq_mode mode, void *obj)
{
	if (mode == BQ_SPSC)
		return ck_ring_enqueue_spsc(&c->c_ring, c->c_buf, obj);
	if (mode == BQ_MPSC)
		return ck_ring_enqueue_mpsc(&c->c_ring, c->c_buf, obj);
	return ck_ring_enqueue_mpmc(&c->c_ring, c->c_buf, obj);
}

static inline bool
ckr_deq1(struct bq_ck *c, enum bq_mode mode, void **obj)
{
	if (mode == BQ_SPSC)
		return ck_ring_dequeue_spsc(&c->c_ring, c->c_buf, obj);
	if (mode == BQ_MPSC)
		return ck_ring_dequeue_mpsc(&c->c_ring, c->c_buf, obj);
	return ck_ring_dequeue_mpmc(&c->c_ring, c->c_buf, obj);
}

static inline unsigned
ckr_enq(void *q, enum bq_mode mode, void **objs, unsigned n)
{
	unsigned i;

	for (i = 0; i < n && ckr_enq1(q, mode, objs[i]); i++)
		continue;
	return i;
}

static inline unsigned
ckr_deq(void *q, enum bq_mode mode, void **objs, unsigned n)
{
	unsigned i;

	for (i = 0; i < n && ckr_deq1(q, mode, &objs[i]); i++)
		continue;
	return i;
}

BQ_RING_LOOPS(ckr)
#endif

static void
bq_free(void *q)
{
	free(q);
}

/* ---- pair cases: each thread pushes its node, pops one, keeps what it popped ---- */

/*
 * The loop of one pair impl: pfx##_push(q, node) and pfx##_pop(q) (NULL if empty)
 * inlined.  Starts holding one node.
 */
#define BQ_PAIR_LOOP(pfx)						\
static void								\
pfx##_preload(void *q, struct bq_node *n)				\
{									\
	pfx##_push(q, n);						\
}									\
									\
static void *								\
pfx##_pairs(void *arg)							\
{									\
	struct bq_pair_arg *a = arg;					\
	struct bq_run *r = a->run;					\
	struct bq_node *n = a->node, *p;				\
	unsigned spins = 0;						\
	uint64_t done = 0;						\
									\
	pthread_barrier_wait(&r->start);				\
	while (!bq_stopped(r)) {					\
		pfx##_push(r->q, n);					\
		while ((p = pfx##_pop(r->q)) == NULL)			\
			bq_wait(&spins);				\
		n = p;							\
		done++;							\
	}								\
	atomic_fetch_add_explicit(&r->count, done, memory_order_relaxed);	\
	return NULL;							\
}

struct bq_pair_arg {
	struct bq_run	*run;
	struct bq_node	*node;
};

/* smpnet lfq, FIFO (push_tail) and LIFO (push_head) */
static void *
lfq_create_q(enum bq_mode mode)
{
	struct lfq *q = aligned_alloc(CACHE_LINE, sizeof(*q));

	if (q != NULL)
		lfq_init(q, offsetof(struct bq_node, n_lfq));
	return q;
}

#define lfqf_push(q, n)	lfq_push_tail((q), (n))
#define lfqf_pop(q)	((struct bq_node *)lfq_pop(q))
#define lfqs_push(q, n)	lfq_push_head((q), (n))
#define lfqs_pop(q)	((struct bq_node *)lfq_pop(q))
BQ_PAIR_LOOP(lfqf)
BQ_PAIR_LOOP(lfqs)

/* smpnet lfs (LIFO only) */
static void *
lfs_create_s(enum bq_mode mode)
{
	struct lfs *s = aligned_alloc(CACHE_LINE, sizeof(*s));

	if (s != NULL)
		lfs_init(s, offsetof(struct bq_node, n_lfs_smp));
	return s;
}

#define smps_push(q, n)	lfs_push((q), (n))
#define smps_pop(q)	((struct bq_node *)lfs_pop(q))
BQ_PAIR_LOOP(smps)

/* mutex-protected FIFO and LIFO lists */
struct bq_mlist {
	pthread_mutex_t	 ml_lock;
	struct bq_node	*ml_head, *ml_tail;	/* [ml_lock] */
};

static void *
ml_create(enum bq_mode mode)
{
	struct bq_mlist *m = calloc(1, sizeof(*m));

	if (m != NULL)
		pthread_mutex_init(&m->ml_lock, NULL);
	return m;
}

static void
ml_destroy(void *q)
{
	struct bq_mlist *m = q;

	pthread_mutex_destroy(&m->ml_lock);
	free(m);
}

static inline void
mlf_push(struct bq_mlist *m, struct bq_node *n)
{
	n->n_next = NULL;
	pthread_mutex_lock(&m->ml_lock);
	if (m->ml_tail != NULL)
		m->ml_tail->n_next = n;
	else
		m->ml_head = n;
	m->ml_tail = n;
	pthread_mutex_unlock(&m->ml_lock);
}

static inline void
mls_push(struct bq_mlist *m, struct bq_node *n)
{
	pthread_mutex_lock(&m->ml_lock);
	n->n_next = m->ml_head;
	m->ml_head = n;
	if (m->ml_tail == NULL)
		m->ml_tail = n;
	pthread_mutex_unlock(&m->ml_lock);
}

static inline struct bq_node *
ml_pop(struct bq_mlist *m)
{
	struct bq_node *n;

	pthread_mutex_lock(&m->ml_lock);
	if ((n = m->ml_head) != NULL && (m->ml_head = n->n_next) == NULL)
		m->ml_tail = NULL;
	pthread_mutex_unlock(&m->ml_lock);
	return n;
}

#define mlf_pop(q)	ml_pop(q)
#define mls_pop(q)	ml_pop(q)
BQ_PAIR_LOOP(mlf)
BQ_PAIR_LOOP(mls)

/* liburcu wfcqueue (FIFO) and lfstack (LIFO) */
struct bq_wfcq {
	struct __cds_wfcq_head	w_head __cacheline_aligned;
	struct cds_wfcq_tail	w_tail __cacheline_aligned;
	pthread_mutex_t		w_lock;	/* serialises dequeuers (the _blocking calls) */
};

static void *
wfcq_create(enum bq_mode mode)
{
	struct bq_wfcq *w = aligned_alloc(CACHE_LINE, sizeof(*w));

	if (w != NULL) {
		__cds_wfcq_init(&w->w_head, &w->w_tail);
		pthread_mutex_init(&w->w_lock, NULL);
	}
	return w;
}

static inline void
wfcq_push(struct bq_wfcq *w, struct bq_node *n)
{
	cds_wfcq_node_init(&n->n_wfcq);
	cds_wfcq_enqueue(&w->w_head, &w->w_tail, &n->n_wfcq);
}

static inline struct bq_node *
wfcq_pop(struct bq_wfcq *w)
{
	struct cds_wfcq_node *wn;

	/* liburcu's multi-dequeuer recipe: the blocking dequeue under a mutex. */
	pthread_mutex_lock(&w->w_lock);
	wn = __cds_wfcq_dequeue_blocking(&w->w_head, &w->w_tail);
	pthread_mutex_unlock(&w->w_lock);
	return wn != NULL ? container_of(wn, struct bq_node, n_wfcq) : NULL;
}

BQ_PAIR_LOOP(wfcq)

static void *
ulfs_create(enum bq_mode mode)
{
	struct cds_lfs_stack *s = aligned_alloc(CACHE_LINE, CACHE_LINE);

	if (s != NULL)
		cds_lfs_init(s);
	return s;
}

static void
ulfs_destroy(void *q)
{
	cds_lfs_destroy(q);
	free(q);
}

static inline void
ulfs_push(struct cds_lfs_stack *s, struct bq_node *n)
{
	cds_lfs_node_init(&n->n_lfs);
	cds_lfs_push(s, &n->n_lfs);
}

static inline struct bq_node *
ulfs_pop(struct cds_lfs_stack *s)
{
	struct cds_lfs_node *ln = cds_lfs_pop_blocking(s);

	return ln != NULL ? container_of(ln, struct bq_node, n_lfs) : NULL;
}

BQ_PAIR_LOOP(ulfs)

#ifdef HAVE_CK
static void *
cks_create(enum bq_mode mode)
{
	ck_stack_t *s = aligned_alloc(CACHE_LINE, CACHE_LINE);

	if (s != NULL)
		ck_stack_init(s);
	return s;
}

static inline void
cks_push(ck_stack_t *s, struct bq_node *n)
{
	ck_stack_push_mpmc(s, &n->n_cks);
}

static inline struct bq_node *
cks_pop(ck_stack_t *s)
{
	ck_stack_entry_t *e = ck_stack_pop_mpmc(s);

	return e != NULL ? container_of(e, struct bq_node, n_cks) : NULL;
}

BQ_PAIR_LOOP(cks)

/*
 * ck_fifo_mpmc keeps a stub: an enqueue consumes an entry, a dequeue returns the value
 * and a spare entry.  Each node carries one entry; the pair loop hands the spare back
 * with the node (entries and nodes live in arrays that outlive the run).
 */
struct bq_ckf {
	ck_fifo_mpmc_t		f_fifo __cacheline_aligned;
	ck_fifo_mpmc_entry_t	f_stub;
};

static void *
ckf_create(enum bq_mode mode)
{
	struct bq_ckf *f = aligned_alloc(CACHE_LINE, sizeof(*f));

	if (f != NULL)
		ck_fifo_mpmc_init(&f->f_fifo, &f->f_stub);
	return f;
}

static void
ckf_destroy(void *q)
{
	struct bq_ckf *f = q;
	ck_fifo_mpmc_entry_t *garbage;

	ck_fifo_mpmc_deinit(&f->f_fifo, &garbage);
	free(f);
}

static void
ckf_preload(void *q, struct bq_node *n)
{
	struct bq_ckf *f = q;

	ck_fifo_mpmc_enqueue(&f->f_fifo, &n->n_ckf, n);
}

static void *
ckf_pairs(void *arg)
{
	struct bq_pair_arg *a = arg;
	struct bq_run *r = a->run;
	struct bq_ckf *f = r->q;
	ck_fifo_mpmc_entry_t *e = &a->node->n_ckf, *garbage;
	struct bq_node *n = a->node;
	unsigned spins = 0;
	uint64_t done = 0;

	pthread_barrier_wait(&r->start);
	while (!bq_stopped(r)) {
		ck_fifo_mpmc_enqueue(&f->f_fifo, e, n);
		while (!ck_fifo_mpmc_dequeue(&f->f_fifo, &n, &garbage))
			bq_wait(&spins);
		e = garbage;
		done++;
	}
	atomic_fetch_add_explicit(&r->count, done, memory_order_relaxed);
	return NULL;
}
#endif

/* ---- the impl tables ---- */

static const struct bq_impl bq_ring_impls[] = {
	{ "smpnet", smp_create, smp_destroy, smp_producer, smp_consumer, NULL, NULL },
#ifdef HAVE_DPDK
	{ "rte_ring", rte_create, bq_free, rte_producer, rte_consumer, NULL, NULL },
#endif
#ifdef HAVE_CK
	{ "ck_ring", ckr_create, bq_free, ckr_producer, ckr_consumer, NULL, NULL },
#endif
	{ "mutex", mtx_create, mtx_destroy, mtx_producer, mtx_consumer, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL, NULL }
};

static const struct bq_impl bq_fifo_impls[] = {
	{ "smpnet", lfq_create_q, bq_free, NULL, NULL, lfqf_pairs, lfqf_preload },
#ifdef HAVE_CK
	{ "ck_fifo", ckf_create, ckf_destroy, NULL, NULL, ckf_pairs, ckf_preload },
#endif
	{ "urcu-wfcq", wfcq_create, bq_free, NULL, NULL, wfcq_pairs, wfcq_preload },
	{ "mutex", ml_create, ml_destroy, NULL, NULL, mlf_pairs, mlf_preload },
	{ NULL, NULL, NULL, NULL, NULL, NULL, NULL }
};

static const struct bq_impl bq_lifo_impls[] = {
	{ "smpnet", lfs_create_s, bq_free, NULL, NULL, smps_pairs, smps_preload },
	{ "smpnet-lfq", lfq_create_q, bq_free, NULL, NULL, lfqs_pairs, lfqs_preload },
#ifdef HAVE_CK
	{ "ck_stack", cks_create, bq_free, NULL, NULL, cks_pairs, cks_preload },
#endif
	{ "urcu-lfstack", ulfs_create, ulfs_destroy, NULL, NULL, ulfs_pairs, ulfs_preload },
	{ "mutex", ml_create, ml_destroy, NULL, NULL, mls_pairs, mls_preload },
	{ NULL, NULL, NULL, NULL, NULL, NULL, NULL }
};

struct bq_case {
	const char		*name;
	const struct bq_impl	*impls;
	enum bq_mode		 mode;
	int			 np, nc;	/* ring cases; pair cases: np threads */
	unsigned		 burst;		/* 0: pair case */
	int			 preload;	/* pair cases: nodes queued before the start */
};

static const struct bq_case bq_cases[] = {
	{ "spsc-1p1c-single", bq_ring_impls, BQ_SPSC, 1, 1, 1, 0 },
	{ "spsc-1p1c-burst32", bq_ring_impls, BQ_SPSC, 1, 1, BQ_BURST, 0 },
	{ "mpsc-1p1c-single", bq_ring_impls, BQ_MPSC, 1, 1, 1, 0 },
	{ "mpsc-1p1c-burst32", bq_ring_impls, BQ_MPSC, 1, 1, BQ_BURST, 0 },
	{ "mpsc-2p1c-single", bq_ring_impls, BQ_MPSC, 2, 1, 1, 0 },
	{ "mpsc-2p1c-burst32", bq_ring_impls, BQ_MPSC, 2, 1, BQ_BURST, 0 },
	{ "mpmc-1p1c-single", bq_ring_impls, BQ_MPMC, 1, 1, 1, 0 },
	{ "mpmc-1p1c-burst32", bq_ring_impls, BQ_MPMC, 1, 1, BQ_BURST, 0 },
	{ "mpmc-2p2c-single", bq_ring_impls, BQ_MPMC, 2, 2, 1, 0 },
	{ "mpmc-2p2c-burst32", bq_ring_impls, BQ_MPMC, 2, 2, BQ_BURST, 0 },
	{ "fifo-1t", bq_fifo_impls, BQ_MPMC, 1, 0, 0, 0 },
	{ "fifo-2t", bq_fifo_impls, BQ_MPMC, 2, 0, 0, 0 },
	{ "lifo-1t", bq_lifo_impls, BQ_MPMC, 1, 0, 0, 0 },
	{ "lifo-2t", bq_lifo_impls, BQ_MPMC, 2, 0, 0, 0 },
	/* A pool depot holds a few magazines: the same with 32 nodes already queued. */
	{ "fifo-2t-depth32", bq_fifo_impls, BQ_MPMC, 2, 0, 0, 32 },
	{ "lifo-2t-depth32", bq_lifo_impls, BQ_MPMC, 2, 0, 0, 32 },
};

/*
 * Pin thread slot k to CPU k mod ncpu, so that a producer and its consumer (slots 0 and
 * 1 for 1p1c; producers 0,1 and consumers 1,2 for 2p2c) start on different CPUs and the
 * scheduler does not stack them on one; the same for every impl.
 */
static void
bq_attr_pin(pthread_attr_t *attr, int k)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	pthread_attr_init(attr);
	if (ncpu < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET((int)(k % ncpu), &set);
	pthread_attr_setaffinity_np(attr, sizeof(set), &set);
}

/* Start the case's threads on r, let them run for opts->seconds, stop, join. */
static int
bq_spawn(const struct bq_case *c, const struct bq_impl *im, struct bq_run *r,
    struct bq_pair_arg *pa, double seconds, double *elapsed)
{
	int nt = c->burst ? c->np + c->nc : c->np;
	pthread_t t[BQ_MAXT];
	uint64_t t0;
	int i;

	pthread_barrier_init(&r->start, NULL, (unsigned)nt + 1);
	for (i = 0; i < nt; i++) {
		void *(*fn)(void *) = !c->burst ? im->pairs :
		    i < c->np ? im->producer : im->consumer;
		pthread_attr_t attr;

		bq_attr_pin(&attr, i < c->np || !c->burst ? i : i - c->np + 1);
		if (pthread_create(&t[i], &attr, fn, c->burst ? (void *)r : &pa[i]) != 0)
			abort();	/* the barrier would hang: nothing sane to return */
		pthread_attr_destroy(&attr);
	}
	pthread_barrier_wait(&r->start);
	t0 = bench_now_ns();
	while ((double)(bench_now_ns() - t0) < seconds * 1e9)
		usleep(1000);
	atomic_store_explicit(&r->stop, true, memory_order_relaxed);
	for (i = 0; i < nt; i++)
		pthread_join(t[i], NULL);
	*elapsed = (double)(bench_now_ns() - t0) / 1e9;
	pthread_barrier_destroy(&r->start);
	return 0;
}

/* One measurement of one impl: items (or pairs) per second, or -errno. */
static double
bq_measure(const struct bq_case *c, const struct bq_impl *im, double seconds)
{
	struct bq_node *nodes = NULL;
	struct bq_pair_arg pa[BQ_MAXT];
	struct bq_run r = { .mode = c->mode, .burst = c->burst };
	double elapsed;

	if ((r.q = im->create(c->mode)) == NULL)
		return -ENOMEM;
	if (!c->burst) {
		size_t nn = (size_t)BQ_MAXT + (size_t)c->preload;

		nodes = aligned_alloc(CACHE_LINE, nn * sizeof(*nodes));
		if (nodes == NULL) {
			im->destroy(r.q);
			return -ENOMEM;
		}
		memset(nodes, 0, nn * sizeof(*nodes));
		for (int i = 0; i < BQ_MAXT; i++)
			pa[i] = (struct bq_pair_arg){ .run = &r, .node = &nodes[i] };
		for (int i = 0; i < c->preload; i++)
			im->preload(r.q, &nodes[BQ_MAXT + i]);
	}
	bq_spawn(c, im, &r, pa, seconds, &elapsed);
	im->destroy(r.q);
	free(nodes);
	return (double)atomic_load(&r.count) / elapsed;
}

static int
bq_nimpl(const struct bq_impl *impls)
{
	int n = 0;

	while (impls[n].name != NULL)
		n++;
	return n;
}

/* Report each impl's median and spread, and the per-repeat ratios smpnet/impl. */
static void
bq_report_case(const struct bench_opts *opts, const struct bq_case *c, int ni,
    double res[][BQ_MAXIMPL], int reps)
{
	const char *metric = c->burst ? "items_per_s" : "pairs_per_s";
	double s[reps];
	char name[64];

	for (int i = 0; i < ni; i++) {
		for (int k = 0; k < reps; k++)
			s[k] = res[k][i];
		bench_report_samples(opts, "queue", c->name, c->impls[i].name, metric, s,
		    reps, "1/s");
	}
	for (int i = 1; i < ni; i++) {
		for (int k = 0; k < reps; k++)
			s[k] = res[k][i] > 0 ? res[k][0] / res[k][i] : 0;
		snprintf(name, sizeof(name), "ratio_vs_%s", c->impls[i].name);
		bench_report_samples(opts, "queue", c->name, "smpnet", name, s, reps, "ratio");
	}
}

static int
bq_run_case(const struct bench_opts *opts, const struct bq_case *c)
{
	int ni = bq_nimpl(c->impls), reps = opts->repeat;
	double (*res)[BQ_MAXIMPL] = calloc((size_t)reps, sizeof(*res));

	if (res == NULL)
		return -ENOMEM;
	for (int k = 0; k < reps; k++) {
		for (int j = 0; j < ni; j++) {
			int i = (j + k) % ni;	/* rotate which impl goes first */

			res[k][i] = bq_measure(c, &c->impls[i], opts->seconds);
			if (res[k][i] < 0) {
				int error = (int)res[k][i];

				free(res);
				return error;
			}
		}
	}
	bq_report_case(opts, c, ni, res, reps);
	free(res);
	return 0;
}

static int
bq_run(const struct bench_opts *opts)
{
	for (size_t i = 0; i < sizeof(bq_cases) / sizeof(bq_cases[0]); i++) {
		int error;

		if (!bench_want(opts, bq_cases[i].name))
			continue;
		if ((error = bq_run_case(opts, &bq_cases[i])) != 0)
			return error;
	}
	return 0;
}

const struct bench bench_queue = {
	.name = "queue",
	.help = "lockless rings and the intrusive queue vs ck, rte_ring, liburcu, mutex",
	.run = bq_run,
};
