/*
 * stress_ptree.c - lockless Patricia tree readers against a writer that inserts and
 * removes without pause, on a small tree so that readers keep standing on the glue
 * nodes the writer moves and reuses (the pt_seq path).
 *
 * Stable prefixes stay in the tree throughout; probes get their expected answer from a
 * linear scan of the stable set, and churn prefixes are chosen so that none is a longer
 * or equal match of any probe.  Readers check longest match, exact match of the stable
 * prefixes, and the parent lookup.  Churn items are fresh allocations, freed with
 * psz_defer after removal.  At the end the tree must hold exactly the stable set plus
 * the churn items the writer left in.  Bounded in time and count; fixed seed.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "kern/psz.h"
#include "kern/kern.h"
#include "lib/ptree.h"

#define NSTABLE		48
#define NCHURN		96
#define NPROBE		256
#define SECONDS		2.0
#define MAXOPS		3000000

struct item {
	struct ptree_entry	e;
	uint8_t			key[4];
	unsigned		len;
	int			stable;
	struct psz_head		ph;
};

struct ctx {
	struct ptree	 t;
	struct item	*st[NSTABLE];
	int		 nst;
	uint8_t		 probe[NPROBE][4];
	struct item	*want[NPROBE];
	_Atomic int	 stop;
	_Atomic long	 errors, lookups;
};

static uint64_t
rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int
match(const uint8_t *p, const uint8_t *a, unsigned len)
{
	return ptree_bytes_diffbit(p, a, len) == len;
}

static void
rand_prefix(uint8_t *k, unsigned *len, uint64_t *s)
{
	uint32_t v = (uint32_t)rng(s) & 0xff0f0f0fu;	/* few bits: dense, nested tree */

	*len = (unsigned)(rng(s) % 33);
	v = *len ? v & (~0u << (32 - *len)) : 0;
	k[0] = (uint8_t)(v >> 24), k[1] = (uint8_t)(v >> 16), k[2] = (uint8_t)(v >> 8),
	k[3] = (uint8_t)v;
}

static void *
reader(void *arg)
{
	struct ctx *c = arg;
	uint64_t s = (uint64_t)(uintptr_t)&s | 1;
	long n = 0, err = 0;

	while (!atomic_load_explicit(&c->stop, memory_order_relaxed) && n < MAXOPS) {
		unsigned i = (unsigned)(rng(&s) % NPROBE);
		struct item *st = c->st[i % (unsigned)c->nst];

		psz_read_enter();
		err += ptree_lookup_lpm(&c->t, c->probe[i], NULL, NULL) != &c->want[i]->e;
		err += ptree_lookup_exact(&c->t, st->key, st->len) != &st->e;
		psz_read_exit();
		n++;
	}
	atomic_fetch_add(&c->errors, err);
	atomic_fetch_add(&c->lookups, n);
	return NULL;
}

static int
churn_ok(struct ctx *c, const uint8_t *k, unsigned len)
{
	for (int i = 0; i < NPROBE; i++)
		if (match(k, c->probe[i], len) && len >= c->want[i]->len)
			return 0;
	for (int i = 0; i < c->nst; i++)
		if (c->st[i]->len == len && memcmp(c->st[i]->key, k, 4) == 0)
			return 0;
	return 1;
}

static void
item_free(struct psz_head *ph)
{
	free(container_of(ph, struct item, ph));
}

static void
setup(struct ctx *c, uint64_t *s)
{
	struct item *it = calloc(1, sizeof(*it));

	/* /0 is stable, so every probe has an answer */
	assert_int_equal(ptree_insert(&c->t, &it->e, it->key, 0, NULL), 0);
	c->st[c->nst++] = it;
	while (c->nst < NSTABLE) {
		it = calloc(1, sizeof(*it));
		rand_prefix(it->key, &it->len, s);
		if (ptree_insert(&c->t, &it->e, it->key, it->len, NULL) == 0)
			c->st[c->nst++] = it;
		else
			free(it);
	}
	for (int i = 0; i < NPROBE; i++) {
		uint32_t v = (uint32_t)rng(s) & 0xff0f0f0fu;

		memcpy(c->probe[i], &v, 4);
		c->want[i] = c->st[0];
		for (int j = 0; j < c->nst; j++)
			if (match(c->st[j]->key, c->probe[i], c->st[j]->len) &&
			    c->st[j]->len > c->want[i]->len)
				c->want[i] = c->st[j];
	}
}

static void
test_churn(void **state)
{
	static struct ctx c;
	uint8_t ck[NCHURN][4];
	unsigned clen[NCHURN];
	struct item *cin[NCHURN] = { 0 };
	uint64_t s = 0xa5a5a5a5ull;
	int nc = 0, in = 0;
	long ops = 0;
	pthread_t th[2];
	struct timespec t0, t1;

	(void)state;
	printf("# seed %llu\n", (unsigned long long)s);
	assert_int_equal(ptree_init(&c.t, &ptree_ops_ipv4), 0);
	setup(&c, &s);
	for (int tries = 0; nc < NCHURN && tries < 100000; tries++) {
		rand_prefix(ck[nc], &clen[nc], &s);
		int dup = 0;

		for (int j = 0; j < nc; j++)
			dup |= clen[j] == clen[nc] && memcmp(ck[j], ck[nc], 4) == 0;
		if (!dup && churn_ok(&c, ck[nc], clen[nc]))
			nc++;
	}
	printf("# stable %d churn %d\n", c.nst, nc);
	assert_true(nc > 16);
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, reader, &c);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		int k = (int)(rng(&s) % (unsigned)nc);

		if (cin[k] == NULL) {
			cin[k] = calloc(1, sizeof(*cin[k]));
			memcpy(cin[k]->key, ck[k], 4);
			assert_int_equal(ptree_insert(&c.t, &cin[k]->e, cin[k]->key, clen[k], NULL), 0);
		} else {
			ptree_remove(&c.t, &cin[k]->e);
			psz_defer(&cin[k]->ph, item_free);
			cin[k] = NULL;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while (++ops < MAXOPS && (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9 < SECONDS);
	atomic_store(&c.stop, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	printf("# writer %ld ops, lookups %ld, errors %ld\n", ops, (long)c.lookups,
	    (long)c.errors);
	assert_int_equal(c.errors, 0);
	for (int k = 0; k < nc; k++)
		in += cin[k] != NULL;
	assert_int_equal(ptree_count(&c.t), (size_t)(c.nst + in));
	for (int k = 0; k < nc; k++)
		if (cin[k] != NULL)
			ptree_remove(&c.t, &cin[k]->e), free(cin[k]);
	for (int i = 0; i < c.nst; i++)
		ptree_remove(&c.t, &c.st[i]->e), free(c.st[i]);
	assert_int_equal(ptree_count(&c.t), 0);
	psz_barrier();
	ptree_fini(&c.t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_churn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
