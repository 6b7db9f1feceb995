/*
 * test_route.c - routing table and nexthops against a linear-scan reference.
 *
 * Random IPv4 and IPv6 tables of every prefix length (with /0 and host routes, and
 * clusters of nested prefixes so that the FIB's tbl8 groups are created and collapsed)
 * go through rt_add/rt_delete/rt_change; after each phase the lockless lookups (the IPv4
 * DIR-24-8 path and the tree), rt_get, rt_list and the nexthop dedup counts are checked
 * against a linear scan.  Teardown checks that no nexthop leaks.  Fixed, printed seeds.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "kern/kern.h"
#include "kern/psz.h"
#include "net/route.h"

#ifdef PSZ_TSAN		/* ThreadSanitizer runs ~10x slower */
#define NRT	700
#define NPROBE	1500
#else
#define NRT	2000
#define NPROBE	4000
#endif
#define NNH	7

struct ref {
	uint8_t		dst[16];
	unsigned	plen;
	int		nh;	/* spec index */
	int		in;
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

static struct nh_spec specs[NNH];

static void
specs_init(void)
{
	for (int i = 0; i < NNH; i++) {
		memset(&specs[i], 0, sizeof(specs[i]));
		specs[i].ns_ifindex = (uint32_t)(i % 3 + 1);
		specs[i].ns_ifp = (struct ifnet *)(uintptr_t)(0x1000 * (i % 3 + 1));
		specs[i].ns_mtu = 1500;
		specs[i].ns_flags = i == 0 ? NHF_REJECT : NHF_GATEWAY;
		specs[i].ns_gw[0] = 192, specs[i].ns_gw[3] = (uint8_t)i;
	}
}

static void
mask(uint8_t *k, unsigned alen, unsigned plen)
{
	for (unsigned i = 0; i < alen * 8; i++)
		if (i >= plen)
			k[i >> 3] &= (uint8_t)~(0x80 >> (i & 7));
}

static int
prefix_match(const uint8_t *p, const uint8_t *a, unsigned plen)
{
	for (unsigned i = 0; i < plen; i++)
		if (((p[i >> 3] ^ a[i >> 3]) >> (7 - (i & 7))) & 1)
			return 0;
	return 1;
}

static struct ref *
ref_lpm(struct ref *r, int n, const uint8_t *a)
{
	struct ref *best = NULL;

	for (int i = 0; i < n; i++)
		if (r[i].in && prefix_match(r[i].dst, a, r[i].plen) &&
		    (best == NULL || r[i].plen > best->plen))
			best = &r[i];
	return best;
}

static struct ref *
ref_find(struct ref *r, int n, const uint8_t *d, unsigned plen, unsigned alen)
{
	for (int i = 0; i < n; i++)
		if (r[i].in && r[i].plen == plen && memcmp(r[i].dst, d, alen) == 0)
			return &r[i];
	return NULL;
}

static int
list_cb(const struct rt_info *ri, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static bool
only_if2(const struct nhop *nh, void *arg)
{
	return nh->nh_spec.ns_ifindex == 2;
}

static void
check(struct rt_table *rt, struct ref *r, int n, unsigned alen)
{
	uint8_t a[16];
	int in = 0, listed = 0;

	for (int i = 0; i < n; i++) {
		struct rt_info ri;

		in += r[i].in;
		assert_int_equal(rt_get(rt, r[i].dst, r[i].plen, &ri), r[i].in ? 0 : -ESRCH);
		if (r[i].in)
			assert_int_equal(ri.ri_nh.ns_gw[3], r[i].nh);
	}
	assert_int_equal(rt_count(rt), (size_t)in);
	rt_list(rt, list_cb, &listed);
	assert_int_equal(listed, in);
	psz_read_enter();
	for (int j = 0; j < NPROBE; j++) {
		for (unsigned i = 0; i < alen; i++)
			a[i] = (uint8_t)rng();
		if (rng() % 4 != 0) {		/* inside a random prefix */
			struct ref *p = &r[rng() % (unsigned)n];

			for (unsigned i = 0; i < p->plen; i++)
				a[i >> 3] = (uint8_t)((a[i >> 3] & ~(0x80 >> (i & 7))) |
				    (((p->dst[i >> 3] >> (7 - (i & 7))) & 1) << (7 - (i & 7))));
		}
		struct ref *b = ref_lpm(r, n, a);
		struct nhop *nh = rt_lookup(rt, a);

		if (b == NULL)
			assert_null(nh);
		else
			assert_true(nh != NULL && nh->nh_spec.ns_gw[3] == b->nh);
		if (alen == 4) {	/* the burst path agrees (a burst of one and of two) */
			uint32_t d[2];
			struct nhop *out[2];

			memcpy(&d[0], a, 4);
			memcpy(&d[1], r[j % n].dst, 4);
			rt_lookup4_burst(rt, d, out, 2);
			assert_ptr_equal(out[0], nh);
			assert_ptr_equal(out[1], rt_lookup(rt, r[j % n].dst));
		}
		/* filtered: longest route whose nexthop uses interface 2 */
		if (j % 8 == 0) {
			struct ref *fb = NULL;

			for (int i = 0; i < n; i++)
				if (r[i].in && specs[r[i].nh].ns_ifindex == 2 &&
				    prefix_match(r[i].dst, a, r[i].plen) &&
				    (fb == NULL || r[i].plen > fb->plen))
					fb = &r[i];
			nh = rt_lookup_filter(rt, a, only_if2, NULL);
			assert_ptr_equal(nh == NULL ? -1 : (long)nh->nh_spec.ns_gw[3],
			    fb == NULL ? -1 : (long)fb->nh);
		}
	}
	psz_read_exit();
}

static void
run(int af, uint64_t seed)
{
	unsigned alen = af == AF_INET ? 4 : 16, maxb = alen * 8;
	struct ref *r = calloc(NRT, sizeof(*r));
	struct kern *kr = kern_create(&(struct kern_config){ .ncpu = 1, .nopin = true });
	struct rt_table *rt = rt_table_create(kr, af);	/* kr: lock registry */
	int n = 0;

	rng_state = seed;
	printf("# af %d seed %llu\n", af, (unsigned long long)seed);
	assert_non_null(rt);
	specs_init();
	for (int i = 0; i < NRT; i++) {
		struct ref *x = &r[n];

		for (unsigned k = 0; k < alen; k++)
			x->dst[k] = (uint8_t)rng();
		x->plen = i < 2 ? (unsigned)(i * maxb) : (unsigned)(rng() % (maxb + 1));
		/* every length occurs, but short ones (each rewrites millions of FIB
		 * entries) only 1 time in 8, to keep the test fast under TSan */
		if (i >= 2 && x->plen < 16 && rng() % 8 != 0)
			x->plen += 16;
		if (i % 2 == 0 && n > 0) {	/* nest near an existing route */
			struct ref *p = &r[rng() % (unsigned)n];

			memcpy(x->dst, p->dst, alen);
			x->dst[(p->plen / 8) % alen] ^= (uint8_t)rng();
			x->plen = p->plen + (unsigned)(rng() % (maxb - p->plen + 1));
		}
		mask(x->dst, alen, x->plen);
		x->nh = (int)(rng() % NNH);
		int rc = rt_add(rt, x->dst, x->plen, &specs[x->nh], RTF_STATIC);

		if (ref_find(r, n, x->dst, x->plen, alen) != NULL) {
			assert_int_equal(rc, -EEXIST);
			continue;
		}
		assert_int_equal(rc, 0);
		x->in = 1;
		n++;
	}
	assert_int_equal(rt_add(rt, r[0].dst, maxb + 1, &specs[0], 0), -EINVAL);
	assert_true(nh_table_count(rt_nh_table(rt)) <= NNH);	/* deduplicated */
	check(rt, r, n, alen);
	for (int i = 0; i < n; i++) {
		if (rng() % 3 == 0) {
			assert_int_equal(rt_delete(rt, r[i].dst, r[i].plen), 0);
			assert_int_equal(rt_delete(rt, r[i].dst, r[i].plen), -ESRCH);
			r[i].in = 0;
		} else if (rng() % 3 == 0) {
			r[i].nh = (int)(rng() % NNH);
			assert_int_equal(rt_change(rt, r[i].dst, r[i].plen, &specs[r[i].nh], 0), 0);
		}
	}
	check(rt, r, n, alen);
	for (int i = 0; i < n; i++)
		if (!r[i].in && rng() % 2) {
			r[i].nh = (int)(rng() % NNH);
			assert_int_equal(rt_add(rt, r[i].dst, r[i].plen, &specs[r[i].nh], 0), 0);
			r[i].in = 1;
		}
	check(rt, r, n, alen);
	/* delete everything but /0 and one host route, then destroy with routes left */
	for (int i = 2; i < n; i++)
		if (r[i].in)
			assert_int_equal(rt_delete(rt, r[i].dst, r[i].plen), 0), r[i].in = 0;
	check(rt, r, n, alen);
	if (af == AF_INET) {
		/* every FIB group collapsed back into tbl24 (after the deletes) */
		assert_int_equal(rt->rt_fib4.f_inuse, r[1].in ? 1 : 0);
	} else {
		/* the /128 host route keeps its 13 groups, every other group collapsed */
		assert_int_equal(rt->rt_fib6.f_inuse, r[1].in ? 13 : 0);
	}
	psz_barrier();
	rt_table_destroy(rt);	/* asserts that no nexthop is left */
	kern_destroy(kr);
	free(r);
}

static void
test_ipv4(void **state)
{
	(void)state;
	run(AF_INET, 0x51ed1ull);
	run(AF_INET, 0xabcdef12ull);
}

static void
test_ipv6(void **state)
{
	(void)state;
	run(AF_INET6, 0x600dull);
}

static void
test_api_errors(void **state)
{
	uint8_t a[4] = { 10, 0, 0, 0 };
	struct rt_info ri;
	struct rt_table *rt;
	struct kern *k = kern_create(&(struct kern_config){ .ncpu = 1, .nopin = true });

	(void)state;
	assert_non_null(k);
	specs_init();
	assert_null(rt_table_create(k, 12345));
	assert_int_equal(errno, EINVAL);
	rt = rt_table_create(k, AF_INET);
	assert_non_null(rt);
	assert_int_equal(rt_delete(rt, a, 8), -ESRCH);
	assert_int_equal(rt_change(rt, a, 8, &specs[1], 0), -ESRCH);
	assert_int_equal(rt_get(rt, a, 8, &ri), -ESRCH);
	assert_int_equal(rt_add(rt, a, 8, &specs[1], 0), 0);
	/* host bits are ignored: 10.1.2.3/8 is 10/8 */
	assert_int_equal(rt_add(rt, (uint8_t[]){ 10, 1, 2, 3 }, 8, &specs[1], 0), -EEXIST);
	assert_int_equal(rt_get(rt, (uint8_t[]){ 10, 9, 9, 9 }, 8, &ri), 0);
	assert_int_equal(ri.ri_dst[1], 0);
	assert_int_equal(rt_change(rt, a, 8, &specs[2], RTF_DYNAMIC), 0);
	assert_int_equal(rt_get(rt, a, 8, &ri), 0);
	assert_int_equal(ri.ri_flags, RTF_DYNAMIC);
	assert_int_equal(ri.ri_nh.ns_gw[3], 2);
	assert_int_equal(rt_delete(rt, a, 8), 0);
	psz_barrier();
	psz_barrier();
	assert_int_equal(nh_table_count(rt_nh_table(rt)), 0);
	rt_table_destroy(rt);
	kern_destroy(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_api_errors),
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
