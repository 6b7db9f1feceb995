/*
 * stress_mbuf.c - pools and mbufs under threads that allocate on one thread and free on
 * another.
 *
 * Four threads: two play the CPUs of a fake kern (per-CPU slots), two are foreign
 * threads (the locked shared slot).  Each allocates, stamps a canary, and passes the
 * object to a random thread's mailbox; the receiver checks the canary and frees.
 *  - pool: objects carry (id, ~id) and a fill byte; a small maxitems makes gets fail
 *    under contention, and every NULL a thread sees must be in stats.fails.
 *  - mbuf: packets of every kind (internal, 2 KiB, jumbo), some duplicated with m_copym
 *    so a shared cluster is released by two threads at once; payload bytes derive from
 *    the id and the checksum is verified.
 * At the end: every id was received exactly as many times as sent (no loss, no double
 * delivery), no canary was wrong (no object handed out twice), gets == puts, and the
 * pools' teardown finds every object.  Loops are bounded by count and by time.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "kern/pool.h"
#include "lib/cksum.h"
#include "mbuf/mbuf.h"
#include "kshim.h"

#define NTHR		4
#define NCPU		2
#define POOL_ITERS	200000
#define MBUF_ITERS	40000
#define SECONDS		4.0
#define MBOX		256
#define SEED		0x57e55u

struct mbox {
	pthread_mutex_t	 lock;
	void		*slot[MBOX];	/* [lock] */
	unsigned	 head, n;	/* [lock] */
};

struct stress {
	struct kshim	 ks;
	struct pool	*pool;
	struct mbuf_pools *mp;
	struct mbox	 box[NTHR];
	_Atomic int	 done;		/* senders finished; release/acquire with drains */
	_Atomic uint8_t	*sent;		/* [a] per id: deliveries expected */
	_Atomic uint8_t	*seen;		/* [a] per id: deliveries made */
	_Atomic uint64_t errors;	/* canary or content mismatches */
	_Atomic uint64_t nulls;		/* NULLs seen by pool_get callers */
	uint64_t	 ids_per_thread;
	double		 deadline;
};

struct worker {
	struct stress	*st;
	int		 idx;
	uint32_t	 rng;
	uint64_t	 next_id;
};

struct pobj {
	uint64_t	id;
	uint64_t	nid;		/* ~id */
	unsigned char	fill[48];
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t
wrnd(struct worker *w)
{
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 17;
	w->rng ^= w->rng << 5;
	return w->rng;
}

static bool
mbox_put(struct mbox *b, void *obj)
{
	bool ok;

	pthread_mutex_lock(&b->lock);
	ok = b->n < MBOX;
	if (ok)
		b->slot[(b->head + b->n++) % MBOX] = obj;
	pthread_mutex_unlock(&b->lock);
	return ok;
}

static void *
mbox_get(struct mbox *b)
{
	void *obj = NULL;

	pthread_mutex_lock(&b->lock);
	if (b->n > 0) {
		obj = b->slot[b->head];
		b->head = (b->head + 1) % MBOX;
		b->n--;
	}
	pthread_mutex_unlock(&b->lock);
	return obj;
}

static void
bad(struct stress *st)
{
	atomic_fetch_add_explicit(&st->errors, 1, memory_order_relaxed);
}

static void
mark_seen(struct stress *st, uint64_t id)
{
	uint64_t max = st->ids_per_thread * NTHR;

	if (id >= max)
		bad(st);
	else
		atomic_fetch_add_explicit(&st->seen[id], 1, memory_order_relaxed);
}

/* ---- generic driver ---- */

typedef bool (*make_fn)(struct worker *, uint64_t id);	/* sends; false: no memory */
typedef void (*eat_fn)(struct worker *, void *obj);	/* checks and frees */

static void
drain(struct worker *w, eat_fn eat)
{
	void *obj;

	while ((obj = mbox_get(&w->st->box[w->idx])) != NULL)
		eat(w, obj);
}

static void
worker_loop(struct worker *w, uint64_t iters, make_fn make, eat_fn eat)
{
	struct stress *st = w->st;

	kshim_become_cpu(&st->ks, w->idx < NCPU ? w->idx : -1);
	for (uint64_t i = 0; i < iters; i++) {
		if ((i & 255) == 0 && now() > st->deadline)
			break;
		if (w->next_id < st->ids_per_thread * (uint64_t)(w->idx + 1))
			if (make(w, w->next_id))
				w->next_id++;
		drain(w, eat);
	}
	/* release: our sends happen before a drainer that sees done == NTHR */
	atomic_fetch_add_explicit(&st->done, 1, memory_order_release);
	while (atomic_load_explicit(&st->done, memory_order_acquire) < NTHR)
		drain(w, eat);
	drain(w, eat);
	kshim_become_cpu(&st->ks, -1);
}

/* Deliver obj to a random thread (itself included); eat it here if the box is full. */
static void
send_obj(struct worker *w, void *obj, eat_fn eat)
{
	if (!mbox_put(&w->st->box[wrnd(w) % NTHR], obj))
		eat(w, obj);
}

/* ---- pool objects ---- */

static void
pool_eat(struct worker *w, void *obj)
{
	struct pobj *o = obj;

	if (o->nid != ~o->id || o->fill[0] != (unsigned char)o->id ||
	    o->fill[47] != (unsigned char)(o->id >> 8))
		bad(w->st);
	mark_seen(w->st, o->id);
	o->id = o->nid = 0xdeaddeaddeaddeadull;	/* a second user would see this */
	pool_put(w->st->pool, o);
}

static bool
pool_make(struct worker *w, uint64_t id)
{
	struct pobj *o = pool_get(w->st->pool);

	if (o == NULL) {
		atomic_fetch_add_explicit(&w->st->nulls, 1, memory_order_relaxed);
		return false;
	}
	o->id = id;
	o->nid = ~id;
	memset(o->fill, (unsigned char)id, sizeof(o->fill));
	o->fill[47] = (unsigned char)(id >> 8);
	atomic_store_explicit(&w->st->sent[id], 1, memory_order_relaxed);
	send_obj(w, o, pool_eat);
	return true;
}

/* ---- mbufs ---- */

struct mhead {
	uint64_t	id;
	uint32_t	len;		/* payload bytes after the header */
	uint16_t	cksum;		/* in_cksum of the payload */
	uint16_t	magic;
};
#define MAGIC	0x6d62

static unsigned char
pattern(uint64_t id, uint32_t i)
{
	return (unsigned char)(id * 31 + i * 7);
}

static void
mbuf_eat(struct worker *w, void *obj)
{
	struct mbuf *m = obj;
	struct mhead h;
	unsigned char b[64];
	int len = m_length(m, NULL);

	if (m_copydata(m, 0, sizeof(h), &h) != 0 || h.magic != MAGIC ||
	    (int)(sizeof(h) + h.len) != len || m->m_pkthdr.len != len ||
	    in_cksum_mbuf(m, sizeof(h), (int)h.len) != h.cksum) {
		bad(w->st);
		m_freem(m);
		return;
	}
	for (uint32_t off = 0; off < h.len; off += 997) {
		uint32_t n = h.len - off < 64 ? h.len - off : 64;

		(void)m_copydata(m, (int)(sizeof(h) + off), (int)n, b);
		for (uint32_t i = 0; i < n; i++)
			if (b[i] != pattern(h.id, off + i))
				bad(w->st);
	}
	mark_seen(w->st, h.id);
	if (M_WRITABLE(m))
		memset(mtod(m, char *), 0xdd, (size_t)m->m_len);	/* poison before free */
	m_freem(m);
}

static struct mbuf *
mbuf_build(struct worker *w, uint64_t id)
{
	static const int sizes[] = { 0, 50, 150, 1400, 2000, 3000, 9000, 12000 };
	uint32_t len = (uint32_t)sizes[wrnd(w) % 8];
	struct mhead h = { .id = id, .len = len, .magic = MAGIC };
	unsigned char payload[12000];
	struct mbuf *m;

	for (uint32_t i = 0; i < len; i++)
		payload[i] = pattern(id, i);
	h.cksum = in_cksum(payload, len);
	m = m_gethdr(w->st->mp, MT_DATA);
	if (m == NULL)
		return NULL;
	if (m_append(m, sizeof(h), &h) != 0 || m_append(m, (int)len, payload) != 0) {
		m_freem(m);
		return NULL;
	}
	return m;
}

static bool
mbuf_make(struct worker *w, uint64_t id)
{
	struct mbuf *m = mbuf_build(w, id), *c = NULL;

	if (m == NULL)
		return false;
	if (wrnd(w) % 3 == 0 && (c = m_copym(m, 0, M_COPYALL)) == NULL) {
		m_freem(m);
		return false;
	}
	atomic_store_explicit(&w->st->sent[id], c != NULL ? 2 : 1, memory_order_relaxed);
	send_obj(w, m, mbuf_eat);
	if (c != NULL)
		send_obj(w, c, mbuf_eat);
	return true;
}

/* ---- running ---- */

struct run {
	struct worker	 w;
	uint64_t	 iters;
	make_fn		 make;
	eat_fn		 eat;
};

static void *
run_thread(void *arg)
{
	struct run *r = arg;

	worker_loop(&r->w, r->iters, r->make, r->eat);
	return NULL;
}

static void
stress_init(struct stress *st, uint64_t ids_per_thread)
{
	memset(st, 0, sizeof(*st));
	for (int i = 0; i < NTHR; i++)
		pthread_mutex_init(&st->box[i].lock, NULL);
	st->ids_per_thread = ids_per_thread;
	st->sent = calloc(ids_per_thread * NTHR, 1);
	st->seen = calloc(ids_per_thread * NTHR, 1);
	st->deadline = now() + SECONDS;
}

/* Run NTHR threads; return how many ids were sent. */
static uint64_t
stress_run(struct stress *st, uint64_t iters, make_fn make, eat_fn eat)
{
	pthread_t t[NTHR];
	struct run r[NTHR];
	uint64_t nsent = 0;

	for (int i = 0; i < NTHR; i++) {
		r[i] = (struct run){ .w = { st, i, SEED + (uint32_t)i * 7919,
		    st->ids_per_thread * (uint64_t)i }, .iters = iters, .make = make, .eat = eat };
		assert_int_equal(pthread_create(&t[i], NULL, run_thread, &r[i]), 0);
	}
	for (int i = 0; i < NTHR; i++)
		pthread_join(t[i], NULL);
	for (uint64_t id = 0; id < st->ids_per_thread * NTHR; id++) {
		uint8_t s = atomic_load_explicit(&st->sent[id], memory_order_relaxed);

		assert_int_equal(s, atomic_load_explicit(&st->seen[id], memory_order_relaxed));
		nsent += s != 0;
	}
	for (int i = 0; i < NTHR; i++)
		assert_int_equal(st->box[i].n, 0);
	assert_int_equal(atomic_load(&st->errors), 0);
	return nsent;
}

static void
stress_fini(struct stress *st)
{
	free(st->sent);
	free(st->seen);
	for (int i = 0; i < NTHR; i++)
		pthread_mutex_destroy(&st->box[i].lock);
}

static void
test_pool_cross_thread(void **state)
{
	static struct stress st;
	struct pool_stats ps;
	uint64_t nsent;

	(void)state;
	stress_init(&st, POOL_ITERS);
	st.pool = pool_create("stress", sizeof(struct pobj), 0, 800, NCPU, kshim_kern(&st.ks));
	assert_non_null(st.pool);
	nsent = stress_run(&st, POOL_ITERS, pool_make, pool_eat);
	pool_stats(st.pool, &ps);
	print_message("pool: %llu objects passed, %llu gets failed, %llu depot exchanges\n",
	    (unsigned long long)nsent, (unsigned long long)ps.fails,
	    (unsigned long long)(ps.depot_gets + ps.depot_puts));
	assert_true(nsent > 1000);
	assert_int_equal(ps.gets, nsent);
	assert_int_equal(ps.puts, nsent);
	assert_int_equal(ps.fails, atomic_load(&st.nulls));
	assert_true(ps.nalloc <= 800);
	assert_int_equal(pool_destroy(st.pool), 0);
	stress_fini(&st);
}

static void
test_mbuf_cross_thread(void **state)
{
	static struct stress st;
	struct mbuf_pools_config cfg = { .ncpu = NCPU, .max_mbufs = 4000,
	    .max_clusters = 1000, .max_jumbo = 300 };
	struct pool_stats ps[3];
	uint64_t nsent;

	(void)state;
	stress_init(&st, MBUF_ITERS);
	cfg.owner = kshim_kern(&st.ks);
	st.mp = mbuf_pools_create(&cfg);
	assert_non_null(st.mp);
	nsent = stress_run(&st, MBUF_ITERS, mbuf_make, mbuf_eat);
	mbuf_pools_stats(st.mp, ps);
	print_message("mbuf: %llu packets, %llu mbufs, %llu + %llu clusters\n",
	    (unsigned long long)nsent, (unsigned long long)ps[0].gets,
	    (unsigned long long)ps[1].gets, (unsigned long long)ps[2].gets);
	assert_true(nsent > 1000);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ps[i].gets, ps[i].puts);
		assert_int_equal(ps[i].inuse, 0);
	}
	assert_int_equal(mbuf_pools_destroy(st.mp), 0);
	stress_fini(&st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_cross_thread),
		cmocka_unit_test(test_mbuf_cross_thread),
	};

	printf("# seed 0x%x, %d threads (%d CPU slots), at most %.0f s per test\n", SEED,
	    NTHR, NCPU, SECONDS);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
