/*
 * test_ptree.c - the generic Patricia tree against a linear-scan reference.
 *
 * Random tables of every prefix length (with /0 and full-length keys) for IPv4, IPv6 and
 * MAC keys; random inserts, duplicate inserts and removals; after each phase every
 * lookup (longest match, exact, parent, filtered) and the ordered walk are compared with
 * a linear scan.  The seed is fixed and printed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/ptree.h"

#define NPFX	3000
#define NPROBE	5000

struct item {
	struct ptree_entry	e;
	uint8_t			key[16];
	unsigned		len;
	int			in;
	unsigned		id;
};

static uint64_t rng_state;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void
rand_key(uint8_t *k, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		k[i] = (uint8_t)rng();
}

/* Clear bits >= len (keep prefixes canonical so equal prefixes collide). */
static void
mask_key(uint8_t *k, unsigned bytes, unsigned len)
{
	for (unsigned i = 0; i < bytes * 8; i++)
		if (i >= len)
			k[i >> 3] &= (uint8_t)~(0x80 >> (i & 7));
}

static int
ref_match(const uint8_t *a, const uint8_t *b, unsigned len)
{
	return ptree_bytes_diffbit(a, b, len) == len;
}

static struct item *
ref_lpm(struct item *it, int n, const uint8_t *key, unsigned limit, unsigned mod)
{
	struct item *best = NULL;

	for (int i = 0; i < n; i++) {
		if (!it[i].in || it[i].len >= limit || (mod && it[i].id % mod != 0))
			continue;
		if (ref_match(it[i].key, key, it[i].len) && (best == NULL || it[i].len > best->len))
			best = &it[i];
	}
	return best;
}

static bool
filter_mod(const struct ptree_entry *e, void *arg)
{
	const struct item *it = (const struct item *)e;

	return it->id % *(unsigned *)arg == 0;
}

/* A probe key: random, or near a random prefix (so deep matches are exercised). */
static void
probe_key(struct item *it, int n, uint8_t *k, unsigned bytes)
{
	rand_key(k, bytes);
	if (rng() % 4 != 0) {
		struct item *p = &it[rng() % (unsigned)n];

		for (unsigned i = 0; i < p->len; i++) {
			unsigned b = ptree_bytes_testbit(p->key, i);

			k[i >> 3] = (uint8_t)((k[i >> 3] & ~(0x80 >> (i & 7))) | (b << (7 - (i & 7))));
		}
	}
}

struct walk_state {
	struct item	*prev;
	int		 count;
	int		 order_ok;
	unsigned	 bytes;
};

static int
walk_cb(struct ptree_entry *e, void *arg)
{
	struct walk_state *ws = arg;
	struct item *it = (struct item *)e;

	if (ws->prev != NULL) {
		int c = memcmp(ws->prev->key, it->key, ws->bytes);

		if (c > 0 || (c == 0 && ws->prev->len >= it->len))
			ws->order_ok = 0;
	}
	ws->prev = it;
	ws->count++;
	return 0;
}

static void
check_all(struct ptree *t, struct item *it, int n, unsigned bytes, unsigned maxbits)
{
	uint8_t k[16];
	unsigned mod = 3;
	int in = 0;

	for (int i = 0; i < n; i++) {
		in += it[i].in;
		struct ptree_entry *e = ptree_lookup_exact(t, it[i].key, it[i].len);

		assert_ptr_equal(e, it[i].in ? &it[i].e : NULL);
		struct item *r = ref_lpm(it, n, it[i].key, it[i].len, 0);

		assert_ptr_equal(ptree_lookup_parent(t, it[i].key, it[i].len), r ? &r->e : NULL);
	}
	assert_int_equal(ptree_count(t), (size_t)in);
	for (int j = 0; j < NPROBE; j++) {
		probe_key(it, n, k, bytes);
		struct item *r = ref_lpm(it, n, k, maxbits + 1, 0);

		assert_ptr_equal(ptree_lookup_lpm(t, k, NULL, NULL), r ? &r->e : NULL);
		if (j % 8 == 0) {
			r = ref_lpm(it, n, k, maxbits + 1, mod);
			assert_ptr_equal(ptree_lookup_lpm(t, k, filter_mod, &mod), r ? &r->e : NULL);
		}
	}
	struct walk_state ws = { NULL, 0, 1, bytes };

	ptree_walk(t, walk_cb, &ws);
	assert_int_equal(ws.count, in);
	assert_true(ws.order_ok);
}

static void
run_random(const struct ptree_ops *ops, unsigned bytes, uint64_t seed)
{
	unsigned maxbits = ops->po_maxbits;
	struct item *it = calloc(NPFX, sizeof(*it));
	struct ptree t;
	struct ptree_entry *dup;
	int n = 0;

	rng_state = seed;
	printf("# seed %llu maxbits %u\n", (unsigned long long)seed, maxbits);
	assert_int_equal(ptree_init(&t, ops), 0);
	for (int i = 0; i < NPFX; i++) {
		struct item *x = &it[n];

		rand_key(x->key, bytes);
		/* every length, with extra weight at /0, full length, and clustering */
		x->len = (i < 3) ? 0 : (unsigned)(rng() % (maxbits + 1));
		if (i % 3 == 0 && n > 0) {
			memcpy(x->key, it[rng() % (unsigned)n].key, bytes);
			x->key[rng() % bytes] ^= (uint8_t)rng();
		}
		mask_key(x->key, bytes, x->len);
		x->id = (unsigned)i;
		int rc = ptree_insert(&t, &x->e, x->key, x->len, &dup);

		if (rc == -EEXIST) {
			struct item *d = (struct item *)dup;

			assert_int_equal(d->len, x->len);
			assert_memory_equal(d->key, x->key, bytes);
			continue;
		}
		assert_int_equal(rc, 0);
		x->in = 1;
		n++;
	}
	assert_int_equal(ptree_insert(&t, &it[n].e, it[0].key, maxbits + 1, NULL), -EINVAL);
	check_all(&t, it, n, bytes, maxbits);
	/* remove half at random, check, reinsert some as fresh items, check */
	for (int i = 0; i < n; i++)
		if (rng() % 2) {
			ptree_remove(&t, &it[i].e);
			it[i].in = 0;
		}
	check_all(&t, it, n, bytes, maxbits);
	for (int i = 0; i < n; i++)
		if (!it[i].in && rng() % 2) {
			memset(&it[i].e, 0, sizeof(it[i].e));
			assert_int_equal(ptree_insert(&t, &it[i].e, it[i].key, it[i].len, NULL), 0);
			it[i].in = 1;
		}
	check_all(&t, it, n, bytes, maxbits);
	for (int i = 0; i < n; i++)
		if (it[i].in)
			ptree_remove(&t, &it[i].e), it[i].in = 0;
	assert_int_equal(ptree_count(&t), 0);
	assert_null(ptree_lookup_lpm(&t, it[0].key, NULL, NULL));
	ptree_fini(&t);
	free(it);
}

static void
test_ipv4(void **state)
{
	(void)state;
	run_random(&ptree_ops_ipv4, 4, 0x1234567ull);
	run_random(&ptree_ops_ipv4, 4, 0xdeadbeefull);
}

static void
test_ipv6(void **state)
{
	(void)state;
	run_random(&ptree_ops_ipv6, 16, 0x7654321ull);
}

static void
test_mac(void **state)
{
	(void)state;
	run_random(&ptree_ops_mac, 6, 0x4242ull);
}

/* Hand-made cases: /0 and host routes, nested chain, glue replacement. */
static void
test_basic(void **state)
{
	struct item a[4];
	uint8_t k[4] = { 10, 1, 2, 3 }, z[4] = { 0 };
	struct ptree t;

	(void)state;
	memset(a, 0, sizeof(a));
	assert_int_equal(ptree_init(&t, &ptree_ops_ipv4), 0);
	memcpy(a[0].key, z, 4);
	assert_int_equal(ptree_insert(&t, &a[0].e, a[0].key, 0, NULL), 0);
	memcpy(a[1].key, k, 4);
	assert_int_equal(ptree_insert(&t, &a[1].e, a[1].key, 32, NULL), 0);
	memcpy(a[2].key, (uint8_t[]){ 10, 1, 3, 0 }, 4);
	assert_int_equal(ptree_insert(&t, &a[2].e, a[2].key, 24, NULL), 0);
	/* 10.1.0.0/16 replaces the glue at bit 22 only if it sits there; either way: */
	memcpy(a[3].key, (uint8_t[]){ 10, 1, 0, 0 }, 4);
	assert_int_equal(ptree_insert(&t, &a[3].e, a[3].key, 16, NULL), 0);
	assert_ptr_equal(ptree_lookup_lpm(&t, k, NULL, NULL), &a[1].e);
	assert_ptr_equal(ptree_lookup_lpm(&t, (uint8_t[]){ 10, 1, 3, 9 }, NULL, NULL), &a[2].e);
	assert_ptr_equal(ptree_lookup_lpm(&t, (uint8_t[]){ 10, 1, 4, 9 }, NULL, NULL), &a[3].e);
	assert_ptr_equal(ptree_lookup_lpm(&t, (uint8_t[]){ 11, 1, 4, 9 }, NULL, NULL), &a[0].e);
	ptree_remove(&t, &a[0].e);
	assert_null(ptree_lookup_lpm(&t, (uint8_t[]){ 11, 1, 4, 9 }, NULL, NULL));
	ptree_remove(&t, &a[3].e);
	assert_ptr_equal(ptree_lookup_lpm(&t, k, NULL, NULL), &a[1].e);
	ptree_remove(&t, &a[1].e);
	ptree_remove(&t, &a[2].e);
	assert_int_equal(ptree_count(&t), 0);
	ptree_fini(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_mac),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
