/*
 * test_in_pcb.c - PCB tables: lookup precedence (exact, bound address, wildcard),
 * SO_REUSEPORT groups (flow-hash choice, connected members left out), bind conflicts,
 * ephemeral ports (distinct, exhaustion), 4-tuple uniqueness, detach and re-bind, and a
 * check against a linear model with random operations (fixed seed, printed).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kern/kern.h"
#include "kern/psz.h"
#include "netinet/in_pcb.h"

static struct kern *K;

static int
setup(void **state)
{
	struct kern_config kc = { .ncpu = 1 };

	K = kern_create(&kc);
	assert_non_null(K);
	return 0;
}

static int
teardown(void **state)
{
	psz_barrier();
	kern_destroy(K);
	return 0;
}

static union inpcb_addr
A(const char *s)
{
	union inpcb_addr a;

	memset(&a, 0, sizeof(a));
	if (s != NULL)
		inet_pton(AF_INET, s, &a.ia_v4);
	return a;
}

static struct inpcb *
look(struct inpcbtable *t, const char *l, uint16_t lp, const char *f, uint16_t fp,
    uint32_t h)
{
	union inpcb_addr la = A(l), fa = A(f);
	struct inpcb *r;

	psz_read_enter();
	r = in_pcblookup(t, AF_INET, &la, htons(lp), &fa, htons(fp), h);
	psz_read_exit();
	return r;
}

static struct inpcb *
bound(struct inpcbtable *t, const char *addr, uint16_t port, unsigned opts, int *owner)
{
	struct inpcb *inp = in_pcballoc(t, AF_INET, owner);
	union inpcb_addr a = A(addr);

	assert_non_null(inp);
	assert_int_equal(in_pcbbind(inp, AF_INET, &a, htons(port), opts), 0);
	return inp;
}

static void
test_precedence(void **state)
{
	struct inpcbtable *t = in_pcbtable_create(K, 49152, 65535, 16);
	int o1, o2, o3;
	struct inpcb *wild = bound(t, NULL, 53, INP_REUSEADDR, &o1);
	struct inpcb *spec = bound(t, "192.0.2.1", 53, INP_REUSEADDR, &o2);
	struct inpcb *conn = bound(t, "192.0.2.1", 54, 0, &o3);
	union inpcb_addr la = A("192.0.2.1"), fa = A("198.51.100.7");

	assert_int_equal(in_pcbconnect(conn, &la, &fa, htons(9999)), 0);
	assert_ptr_equal(look(t, "192.0.2.1", 53, "198.51.100.7", 1, 0), spec);
	assert_ptr_equal(look(t, "192.0.2.2", 53, "198.51.100.7", 1, 0), wild);
	assert_ptr_equal(look(t, "192.0.2.1", 54, "198.51.100.7", 9999, 0), conn);
	/* a connected PCB takes nothing but its own 4-tuple */
	assert_null(look(t, "192.0.2.1", 54, "198.51.100.7", 9998, 0));
	assert_null(look(t, "192.0.2.1", 55, "198.51.100.7", 9999, 0));
	in_pcbdisconnect(conn);
	assert_ptr_equal(look(t, "192.0.2.1", 54, "198.51.100.7", 9998, 0), conn);
	in_pcbdetach(spec);
	assert_ptr_equal(look(t, "192.0.2.1", 53, "198.51.100.7", 1, 0), wild);
	in_pcbdetach(wild);
	assert_null(look(t, "192.0.2.1", 53, "198.51.100.7", 1, 0));
	in_pcbdetach(conn);
	in_pcbtable_destroy(t);
}

/* A cached lookup of the same 4-tuple, through one cache. */
static struct inpcb *
look_cached(struct inpcbtable *t, struct inpcb_cache *c, const char *l, uint16_t lp,
    const char *f, uint16_t fp)
{
	union inpcb_addr la = A(l), fa = A(f);
	struct inpcb *r;

	psz_read_enter();
	r = in_pcblookup_cached(t, c, AF_INET, &la, htons(lp), &fa, htons(fp), 0);
	psz_read_exit();
	return r;
}

/* The cache answers what a plain lookup answers after every kind of change. */
static void
test_cached(void **state)
{
	struct inpcbtable *t = in_pcbtable_create(K, 49152, 65535, 16);
	struct inpcb_cache c;
	int o1, o2, o3;
	const char *l = "192.0.2.1", *f = "198.51.100.7";

	memset(&c, 0, sizeof(c));
	assert_null(look_cached(t, &c, l, 53, f, 1));
	struct inpcb *wild = bound(t, NULL, 53, INP_REUSEADDR, &o1);
	assert_ptr_equal(look_cached(t, &c, l, 53, f, 1), wild);	/* group insert */
	assert_ptr_equal(look_cached(t, &c, l, 53, f, 1), wild);	/* a hit */
	assert_ptr_equal(c.ic_inp, wild);
	struct inpcb *spec = bound(t, l, 53, INP_REUSEADDR | INP_REUSEPORT, &o2);
	assert_ptr_equal(look_cached(t, &c, l, 53, f, 1), spec);	/* a closer group */
	struct inpcb *conn = bound(t, l, 53, INP_REUSEADDR | INP_REUSEPORT, &o3);
	assert_ptr_equal(look_cached(t, &c, l, 53, f, 1), look(t, l, 53, f, 1, 0));
	union inpcb_addr la = A(l), fa = A(f);
	assert_int_equal(in_pcbconnect(conn, &la, &fa, htons(1)), 0);
	assert_ptr_equal(look_cached(t, &c, l, 53, f, 1), conn);	/* conn insert */
	assert_ptr_equal(look_cached(t, &c, l, 53, f, 2), spec);	/* another tuple */
	assert_ptr_equal(look_cached(t, &c, l, 53, f, 1), conn);
	in_pcbdisconnect(conn);
	assert_ptr_equal(look_cached(t, &c, l, 53, f, 1), look(t, l, 53, f, 1, 0));
	in_pcbdetach(conn);
	assert_ptr_equal(look_cached(t, &c, l, 53, f, 1), spec);	/* members republished */
	in_pcbdetach(spec);
	assert_ptr_equal(look_cached(t, &c, l, 53, f, 1), wild);	/* group removed */
	in_pcbdetach(wild);
	assert_null(look_cached(t, &c, l, 53, f, 1));
	in_pcbtable_destroy(t);
}

static void
test_conflicts(void **state)
{
	struct inpcbtable *t = in_pcbtable_create(K, 49152, 65535, 16);
	int o;
	struct inpcb *a = bound(t, NULL, 80, INP_REUSEADDR, &o);
	struct inpcb *b = in_pcballoc(t, AF_INET, &o);
	union inpcb_addr any = A(NULL), spec = A("192.0.2.1"), fa = A("198.51.100.1");

	assert_int_equal(in_pcbbind(b, AF_INET, &any, htons(80), 0), -EADDRINUSE);
	assert_int_equal(in_pcbbind(b, AF_INET, &any, htons(80), INP_REUSEPORT), -EADDRINUSE);
	assert_int_equal(in_pcbbind(b, AF_INET, &spec, htons(80), 0), -EADDRINUSE);
	assert_int_equal(in_pcbbind(b, AF_INET, &spec, htons(80), INP_REUSEADDR), 0);
	assert_int_equal(in_pcbbind(b, AF_INET, &spec, htons(81), 0), -EINVAL);
	/* 4-tuples are unique */
	struct inpcb *c = bound(t, "192.0.2.1", 90, INP_REUSEPORT, &o);
	struct inpcb *d = bound(t, "192.0.2.1", 90, INP_REUSEPORT, &o);
	assert_int_equal(in_pcbconnect(c, &spec, &fa, htons(7)), 0);
	assert_int_equal(in_pcbconnect(d, &spec, &fa, htons(7)), -EADDRINUSE);
	assert_int_equal(in_pcbconnect(c, &spec, &fa, htons(8)), -EISCONN);
	assert_int_equal(in_pcbconnect(d, &spec, &fa, htons(8)), 0);
	in_pcbdetach(a);
	in_pcbdetach(b);
	in_pcbdetach(c);
	in_pcbdetach(d);
	/* everything is free again */
	a = bound(t, NULL, 80, 0, &o);
	in_pcbdetach(a);
	in_pcbtable_destroy(t);
}

/* bind(laddr, port, opts) on a fresh PCB: the result, the PCB kept in *out if bound. */
static int
try_bind(struct inpcbtable *t, const char *addr, uint16_t port, unsigned opts,
    struct inpcb **out, int *owner)
{
	struct inpcb *inp = in_pcballoc(t, AF_INET, owner);
	union inpcb_addr a = A(addr);
	int r;

	assert_non_null(inp);
	r = in_pcbbind(inp, AF_INET, &a, htons(port), opts);
	if (r != 0) {
		in_pcbdetach(inp);
		inp = NULL;
	}
	if (out != NULL)
		*out = inp;
	else if (inp != NULL)
		in_pcbdetach(inp);
	return r;
}

/* The Linux rules of in_pcb.c's comment, one by one. */
static void
test_bind_rules(void **state)
{
	struct inpcbtable *t = in_pcbtable_create(K, 5000, 5000, 16);
	struct inpcb *p[8];
	int o;

	(void)state;
	/* same address and port: REUSEPORT on every socket of the group */
	assert_int_equal(try_bind(t, "192.0.2.1", 100, INP_REUSEPORT, &p[0], &o), 0);
	assert_int_equal(try_bind(t, "192.0.2.1", 100, 0, NULL, &o), -EADDRINUSE);
	assert_int_equal(try_bind(t, "192.0.2.1", 100, INP_REUSEADDR, NULL, &o), -EADDRINUSE);
	assert_int_equal(try_bind(t, "192.0.2.1", 100, INP_REUSEPORT, &p[1], &o), 0);
	assert_int_equal(try_bind(t, "192.0.2.1", 101, 0, &p[2], &o), 0);
	assert_int_equal(try_bind(t, "192.0.2.1", 101, INP_REUSEPORT, NULL, &o), -EADDRINUSE);
	/* unicast: REUSEADDR alone does not share an address */
	assert_int_equal(try_bind(t, "192.0.2.1", 102, INP_REUSEADDR, &p[3], &o), 0);
	assert_int_equal(try_bind(t, "192.0.2.1", 102, INP_REUSEADDR, NULL, &o), -EADDRINUSE);
	/* multicast: REUSEADDR on all shares it */
	assert_int_equal(try_bind(t, "239.1.2.3", 103, INP_REUSEADDR, &p[4], &o), 0);
	assert_int_equal(try_bind(t, "239.1.2.3", 103, INP_REUSEADDR, &p[5], &o), 0);
	assert_int_equal(try_bind(t, "239.1.2.3", 103, 0, NULL, &o), -EADDRINUSE);
	/* wildcard after specific: both REUSEADDR, or both REUSEPORT */
	assert_int_equal(try_bind(t, NULL, 100, 0, NULL, &o), -EADDRINUSE);
	assert_int_equal(try_bind(t, NULL, 100, INP_REUSEADDR, NULL, &o), -EADDRINUSE);
	assert_int_equal(try_bind(t, NULL, 100, INP_REUSEPORT, NULL, &o), 0);
	assert_int_equal(try_bind(t, NULL, 101, INP_REUSEPORT | INP_REUSEADDR, NULL, &o),
	    -EADDRINUSE);
	assert_int_equal(try_bind(t, NULL, 102, INP_REUSEADDR, NULL, &o), 0);
	assert_int_equal(try_bind(t, NULL, 103, INP_REUSEADDR, NULL, &o), 0);
	/* specific after wildcard, the same rule */
	assert_int_equal(try_bind(t, NULL, 104, INP_REUSEADDR, &p[6], &o), 0);
	assert_int_equal(try_bind(t, "192.0.2.1", 104, 0, NULL, &o), -EADDRINUSE);
	assert_int_equal(try_bind(t, "192.0.2.1", 104, INP_REUSEPORT, NULL, &o), -EADDRINUSE);
	assert_int_equal(try_bind(t, "192.0.2.1", 104, INP_REUSEADDR, NULL, &o), 0);
	/* leaving recounts: once the specific members are gone the wildcard is free */
	in_pcbdetach(p[2]);
	assert_int_equal(try_bind(t, NULL, 101, 0, NULL, &o), 0);
	/* an ephemeral port (the range is port 5000 only) avoids specific binds */
	assert_int_equal(try_bind(t, "192.0.2.9", 5000, 0, &p[7], &o), 0);
	assert_int_equal(try_bind(t, NULL, 0, 0, NULL, &o), -EAGAIN);
	in_pcbdetach(p[7]);
	assert_int_equal(try_bind(t, NULL, 0, 0, NULL, &o), 0);
	for (int i = 0; i < 7; i++)
		if (i != 2)
			in_pcbdetach(p[i]);
	in_pcbtable_destroy(t);
}

static void
test_reuseport(void **state)
{
	enum { N = 4 };
	struct inpcbtable *t = in_pcbtable_create(K, 49152, 65535, 16);
	struct inpcb *m[N];
	int owner[N];
	union inpcb_addr la = A("192.0.2.1"), fa = A("198.51.100.1");

	for (int i = 0; i < N; i++)
		m[i] = bound(t, NULL, 5000, INP_REUSEPORT, &owner[i]);
	for (uint32_t h = 0; h < 64; h++) {
		struct inpcb *r = look(t, "192.0.2.1", 5000, "198.51.100.1", 1, h);

		assert_non_null(r);
		assert_ptr_equal(r, look(t, "192.0.2.1", 5000, "198.51.100.1", 1, h));
	}
	bool seen[N] = { false };
	for (uint32_t h = 0; h < N; h++)
		for (int i = 0; i < N; i++)
			if (look(t, "192.0.2.1", 5000, "198.51.100.1", 1, h) == m[i])
				seen[i] = true;
	for (int i = 0; i < N; i++)
		assert_true(seen[i]);
	/* a connected member is never chosen for other flows */
	assert_int_equal(in_pcbconnect(m[0], &la, &fa, htons(77)), 0);
	for (uint32_t h = 0; h < 64; h++)
		assert_ptr_not_equal(look(t, "192.0.2.1", 5000, "198.51.100.1", 1, h), m[0]);
	for (int i = 0; i < N; i++)
		in_pcbdetach(m[i]);
	assert_null(look(t, "192.0.2.1", 5000, "198.51.100.1", 1, 0));
	in_pcbtable_destroy(t);
}

static void
test_ephemeral(void **state)
{
	enum { N = 2000 };
	struct inpcbtable *t = in_pcbtable_create(K, 40000, 49999, 16);
	static struct inpcb *p[N];
	static uint8_t used[65536];
	int o;

	memset(used, 0, sizeof(used));
	for (int i = 0; i < N; i++) {
		p[i] = in_pcballoc(t, AF_INET, &o);
		assert_int_equal(in_pcbbind(p[i], AF_INET, NULL, 0, 0), 0);
		uint16_t port = ntohs(p[i]->inp_key.ik_lport);

		assert_true(port >= 40000 && port <= 49999);
		assert_false(used[port]);
		used[port] = 1;
	}
	for (int i = 0; i < N; i++)
		in_pcbdetach(p[i]);
	in_pcbtable_destroy(t);

	/* a range of 10: 10 fit, the 11th finds none */
	t = in_pcbtable_create(K, 60000, 60009, 16);
	for (int i = 0; i < 10; i++) {
		p[i] = in_pcballoc(t, AF_INET, &o);
		assert_int_equal(in_pcbbind(p[i], AF_INET, NULL, 0, 0), 0);
	}
	struct inpcb *x = in_pcballoc(t, AF_INET, &o);
	assert_int_equal(in_pcbbind(x, AF_INET, NULL, 0, 0), -EAGAIN);
	in_pcbdetach(x);
	for (int i = 0; i < 10; i++)
		in_pcbdetach(p[i]);
	in_pcbtable_destroy(t);
}

/* Random binds/connects/detaches against a linear model of who owns each port. */
static void
test_random_model(void **state)
{
	enum { NP = 256, OPS = 20000, PORTS = 64 };
	unsigned seed = 12345;
	struct inpcbtable *t = in_pcbtable_create(K, 49152, 65535, 16);
	struct inpcb *p[NP] = { NULL };
	int port_of[NP], owner[NP];

	printf("seed %u\n", seed);
	srand(seed);
	for (int op = 0; op < OPS; op++) {
		int i = rand() % NP, port = 1000 + rand() % PORTS;

		if (p[i] != NULL) {
			in_pcbdetach(p[i]);
			p[i] = NULL;
			continue;
		}
		bool taken = false;
		for (int j = 0; j < NP; j++)
			taken |= p[j] != NULL && port_of[j] == port;
		p[i] = in_pcballoc(t, AF_INET, &owner[i]);
		int r = in_pcbbind(p[i], AF_INET, NULL, htons((uint16_t)port), 0);
		assert_int_equal(r, taken ? -EADDRINUSE : 0);
		if (r != 0) {
			in_pcbdetach(p[i]);
			p[i] = NULL;
		} else
			port_of[i] = port;
		/* every bound port looks up its owner; a free one nothing */
		int q = 1000 + rand() % PORTS;
		struct inpcb *want = NULL;
		for (int j = 0; j < NP; j++)
			if (p[j] != NULL && port_of[j] == q)
				want = p[j];
		assert_ptr_equal(look(t, "192.0.2.1", (uint16_t)q, "198.51.100.1", 1, 0), want);
	}
	for (int i = 0; i < NP; i++)
		if (p[i] != NULL)
			in_pcbdetach(p[i]);
	unsigned long g, c;
	in_pcbtable_counts(t, &g, &c);
	assert_int_equal(g, 0);
	assert_int_equal(c, 0);
	in_pcbtable_destroy(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_cached),
		cmocka_unit_test(test_conflicts),
		cmocka_unit_test(test_bind_rules),
		cmocka_unit_test(test_reuseport),
		cmocka_unit_test(test_ephemeral),
		cmocka_unit_test(test_random_model),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
