/*
 * stress_route.c - lockless route lookups while a writer adds, deletes and changes
 * routes without pause.
 *
 * A stable set of routes is installed first and never touched; probe addresses get
 * their expected nexthop from a linear scan of the stable set.  The churn set holds
 * random prefixes of every length chosen so that none of them is a longer (or equal)
 * match for any probe, so the right answer for every probe is the same throughout,
 * while churn prefixes still land all over the tree (glue nodes move, FIB groups are
 * created and collapsed).  Reader threads check every lookup (IPv4 FIB path, its burst
 * paths by pointer and by index, tree path with a filter, IPv6 tree path); any wrong
 * answer fails the test.  At the end the table must hold exactly the routes the writer
 * believes in, and teardown must free every nexthop (rt_table_destroy asserts it).
 * Bounded in time and count; fixed seed.
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
#include <sys/socket.h>
#include <time.h>

#include <cmocka.h>

#include "kern/kern.h"
#include "kern/psz.h"
#include "net/route.h"

#ifdef PSZ_TSAN		/* ThreadSanitizer runs ~10x slower */
#define NSTABLE		800
#define NCHURN		800
#define NPROBE		1000
#else
#define NSTABLE		1500
#define NCHURN		1500
#define NPROBE		2000
#endif
#define NREADER		2
#define SECONDS		3.0
#define MAXOPS		2000000

struct pfx {
	uint8_t		dst[16];
	unsigned	plen;
	int		nh;
	int		in;
};

struct probe {
	uint8_t		a[16];
	int		nh;	/* expected gateway byte, -1: no route */
	int		nh_if2;	/* expected with the interface-2 filter */
};

struct ctx {
	struct rt_table	*rt;
	unsigned	 alen;
	struct probe	*probes;
	_Atomic int	 stop;
	_Atomic long	 errors;
	_Atomic long	 lookups;
};

static struct nh_spec specs[4];

static uint64_t
rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
match(const uint8_t *p, const uint8_t *a, unsigned plen)
{
	for (unsigned i = 0; i < plen; i++)
		if (((p[i >> 3] ^ a[i >> 3]) >> (7 - (i & 7))) & 1)
			return 0;
	return 1;
}

static void
rand_pfx(struct pfx *x, unsigned alen, uint64_t *s)
{
	for (unsigned i = 0; i < alen; i++)
		x->dst[i] = (uint8_t)rng(s);
	/* mostly /8../alen*8 with some short ones; all lengths possible */
	x->plen = (unsigned)(rng(s) % (alen * 8 + 1));
	if (alen == 4 && rng(s) % 2)
		x->plen = 16 + (unsigned)(rng(s) % 17);
	x->dst[0] = (uint8_t)(10 + rng(s) % 4);		/* cluster in 4 /8s */
	for (unsigned i = x->plen; i < alen * 8; i++)
		x->dst[i >> 3] &= (uint8_t)~(0x80 >> (i & 7));
	x->nh = 1 + (int)(rng(s) % 3);
}

/*
 * Expected answers from the stable set; *exp_plen = the length of the filtered match
 * (-1: none), the shorter of the two, below which churn may not go.
 */
static void
probe_expect(struct probe *p, struct pfx *st, int n, int *exp_plen)
{
	int best = -1, best2 = -1;

	p->nh = p->nh_if2 = -1;
	for (int i = 0; i < n; i++) {
		if (!match(st[i].dst, p->a, st[i].plen))
			continue;
		if ((int)st[i].plen > best)
			best = (int)st[i].plen, p->nh = st[i].nh;
		if (specs[st[i].nh].ns_ifindex == 2 && (int)st[i].plen > best2)
			best2 = (int)st[i].plen, p->nh_if2 = st[i].nh;
	}
	(void)best;
	*exp_plen = best2;
}

static bool
only_if2(const struct nhop *nh, void *arg)
{
	return nh->nh_spec.ns_ifindex == 2;
}

static int
gw_of(const struct nhop *nh)
{
	return nh == NULL ? -1 : nh->nh_spec.ns_gw[3];
}

/* IPv4 burst paths (pointers and indices) on 8 random probes: wrong answers. */
static long
reader_burst4(struct ctx *c, uint64_t *s)
{
	uint32_t d[8], idx[8];
	struct nhop *out[8];
	struct probe *p[8];
	long err = 0;

	for (int k = 0; k < 8; k++) {
		p[k] = &c->probes[rng(s) % NPROBE];
		memcpy(&d[k], p[k]->a, 4);
	}
	rt_lookup4_burst(c->rt, d, out, 8);
	rt_lookup4_idx_burst(c->rt, d, idx, 8);
	for (int k = 0; k < 8; k++) {
		err += gw_of(out[k]) != p[k]->nh;
		err += gw_of(rt_nhop_byidx(c->rt, idx[k])) != p[k]->nh;
		err += gw_of(rt_nhop_byidx(c->rt, rt_lookup4_idx(c->rt, d[k]))) != p[k]->nh;
	}
	return err;
}

static void *
reader(void *arg)
{
	struct ctx *c = arg;
	uint64_t s = 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)&s;
	long n = 0, err = 0;

	while (!atomic_load_explicit(&c->stop, memory_order_relaxed) && n < MAXOPS) {
		struct probe *p = &c->probes[rng(&s) % NPROBE];

		psz_read_enter();
		err += gw_of(rt_lookup(c->rt, p->a)) != p->nh;
		if (n % 4 == 0)
			err += gw_of(rt_lookup_filter(c->rt, p->a, only_if2, NULL)) != p->nh_if2;
		if (c->alen == 4 && n % 4 == 1)
			err += reader_burst4(c, &s);
		psz_read_exit();
		n++;
	}
	atomic_fetch_add_explicit(&c->errors, err, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->lookups, n, memory_order_relaxed);
	return NULL;
}

/* A churn prefix is allowed if it is not a longer-or-equal match for any probe
 * (than its filtered answer, hence than its unfiltered one). */
static int
churn_ok(const struct pfx *x, struct probe *pr, const int *exp_plen, struct pfx *st, int ns)
{
	for (int i = 0; pr != NULL && i < NPROBE; i++)
		if (match(x->dst, pr[i].a, x->plen) && (int)x->plen >= exp_plen[i])
			return 0;
	for (int i = 0; i < ns; i++)
		if (st[i].plen == x->plen && memcmp(st[i].dst, x->dst, sizeof(x->dst)) == 0)
			return 0;
	return 1;
}

static void
writer_loop(struct ctx *c, struct pfx *ch, int nc, uint64_t *s)
{
	double end = now() + SECONDS;
	long ops = 0;

	while (now() < end && ops < MAXOPS / 4) {
		struct pfx *x = &ch[rng(s) % (unsigned)nc];

		if (!x->in) {
			assert_int_equal(rt_add(c->rt, x->dst, x->plen, &specs[x->nh], 0), 0);
			x->in = 1;
		} else if (rng(s) % 4 == 0) {
			x->nh = 1 + (int)(rng(s) % 3);
			assert_int_equal(rt_change(c->rt, x->dst, x->plen, &specs[x->nh], 0), 0);
		} else {
			assert_int_equal(rt_delete(c->rt, x->dst, x->plen), 0);
			x->in = 0;
		}
		ops++;
	}
	printf("# writer: %ld updates\n", ops);
}

static int
build_sets(struct ctx *c, struct pfx *st, struct pfx *ch, int *exp, uint64_t *s)
{
	int ns = 0, nc = 0, tries = 0;

	for (int i = 0; i < NSTABLE; i++) {
		rand_pfx(&st[ns], c->alen, s);
		if (rt_add(c->rt, st[ns].dst, st[ns].plen, &specs[st[ns].nh], 0) == 0)
			st[ns++].in = 1;
	}
	for (int i = 0; i < NPROBE; i++) {
		struct probe *p = &c->probes[i];

		for (unsigned k = 0; k < c->alen; k++)
			p->a[k] = (uint8_t)rng(s);
		p->a[0] = (uint8_t)(10 + rng(s) % 5);
		if (i % 2)	/* inside a stable prefix */
			for (unsigned b = 0; b < st[i % ns].plen; b++)
				p->a[b >> 3] = (uint8_t)((p->a[b >> 3] & ~(0x80 >> (b & 7))) |
				    (st[i % ns].dst[b >> 3] & (0x80 >> (b & 7))));
		probe_expect(p, st, ns, &exp[i]);
	}
	while (nc < NCHURN && tries++ < NCHURN * 50) {
		rand_pfx(&ch[nc], c->alen, s);
		if (churn_ok(&ch[nc], c->probes, exp, st, ns) && churn_ok(&ch[nc], NULL, NULL, ch, nc))
			nc++;
	}
	printf("# stable %d churn %d\n", ns, nc);
	return nc;
}

static void
run(int af, uint64_t seed)
{
	struct ctx c = { .alen = af == AF_INET ? 4 : 16 };
	struct pfx *st = calloc(NSTABLE, sizeof(*st)), *ch = calloc(NCHURN, sizeof(*ch));
	int *exp = calloc(NPROBE, sizeof(*exp)), nc, in = 0;
	pthread_t th[NREADER];
	uint64_t s = seed;

	printf("# af %d seed %llu\n", af, (unsigned long long)seed);
	/* a kern only for the table lock's statistics registry */
	struct kern *k = kern_create(&(struct kern_config){ .ncpu = 1, .nopin = true });

	assert_non_null(k);
	c.rt = rt_table_create(k, af);
	c.probes = calloc(NPROBE, sizeof(*c.probes));
	assert_non_null(c.rt);
	nc = build_sets(&c, st, ch, exp, &s);
	assert_true(nc > NCHURN / 4);
	for (int i = 0; i < NREADER; i++)
		assert_int_equal(pthread_create(&th[i], NULL, reader, &c), 0);
	writer_loop(&c, ch, nc, &s);
	atomic_store_explicit(&c.stop, 1, memory_order_relaxed);
	for (int i = 0; i < NREADER; i++)
		pthread_join(th[i], NULL);
	printf("# lookups %ld errors %ld\n", (long)c.lookups, (long)c.errors);
	{
		long e2 = 0;
		psz_read_enter();
		for (int i = 0; i < NPROBE; i++)
			e2 += gw_of(rt_lookup(c.rt, c.probes[i].a)) != c.probes[i].nh;
		psz_read_exit();
		printf("# quiescent errors %ld\n", e2);
	}
	assert_int_equal(c.errors, 0);
	assert_true(c.lookups > 0);
	for (int i = 0; i < nc; i++)
		in += ch[i].in;
	for (int i = 0; i < NSTABLE; i++)
		in += st[i].in;
	assert_int_equal(rt_count(c.rt), (size_t)in);
	rt_table_destroy(c.rt);		/* asserts every nexthop was freed */
	kern_destroy(k);
	free(st), free(ch), free(exp), free(c.probes);
}

static void
test_ipv4(void **state)
{
	(void)state;
	run(AF_INET, 0xfeedf00dull);
}

static void
test_ipv6(void **state)
{
	(void)state;
	run(AF_INET6, 0xc0ffeeull);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6),
	};

	for (int i = 0; i < 4; i++) {
		memset(&specs[i], 0, sizeof(specs[i]));
		specs[i].ns_ifindex = (uint32_t)(i % 2 + 1);
		specs[i].ns_flags = NHF_GATEWAY;
		specs[i].ns_gw[3] = (uint8_t)i;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
