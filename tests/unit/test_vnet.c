/*
 * test_vnet.c - vnets: create/destroy with interfaces attached, the interface table,
 * settings, domains (attach order, per-interface hooks, failures undone), and the
 * dispatch tables (registration, replacement, unknown types counted and dropped).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>

#include "dev/loop.h"
#include "dev/wire.h"
#include "net/if_dispatch.h"
#include "nettest.h"

struct fixture {
	struct kern	*k;
	struct vnet	*v;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->k = nt_kern(2, false);
	assert_non_null(f->k);
	f->v = vnet_create(f->k, &(struct vnet_config){ .name = "t" });
	assert_non_null(f->v);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vnet_destroy(f->v), 0);	/* every mbuf came back */
	kern_destroy(f->k);
	free(f);
	return 0;
}

static void
test_create_bad(void **state)
{
	(void)state;
	errno = 0;
	assert_null(vnet_create(NULL, NULL));
	assert_int_equal(errno, EINVAL);
}

/* Interfaces still attached at vnet_destroy are detached by it (teardown checks). */
static void
test_interfaces_table(void **state)
{
	struct fixture *f = *state;
	struct wire *w = wire_create(f->k, &(struct wire_config){ .nports = 2, .nqueues = 2 });
	struct ifnet *a, *b, *lo;

	assert_non_null(w);
	a = wire_port_attach(w, 0, f->v, "wa0", NULL);
	b = wire_port_attach(w, 1, f->v, "wb0", NULL);
	lo = loop_create(f->v, NULL, 0);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(lo);
	errno = 0;
	assert_null(wire_port_attach(w, 0, f->v, "wa1", NULL));
	assert_int_equal(errno, EBUSY);
	assert_null(loop_create(f->v, "wa0", 1));
	assert_int_equal(errno, EEXIST);
	psz_read_enter();
	assert_ptr_equal(vnet_if_byname(f->v, "wa0"), a);
	assert_ptr_equal(vnet_if_byname(f->v, "lo0"), lo);
	assert_ptr_equal(vnet_if_byindex(f->v, if_index(b)), b);
	assert_null(vnet_if_byname(f->v, "nope"));
	psz_read_exit();
	assert_true(if_flags(a) & IFF_RUNNING);
	assert_true(if_flags(lo) & IFF_LOOPBACK);
	assert_int_equal(f->v->v_ifcount, 3);
	assert_int_equal(wire_port_detach(w, 0), 0);
	assert_int_equal(f->v->v_ifcount, 2);
	psz_read_enter();
	assert_null(vnet_if_byname(f->v, "wa0"));
	psz_read_exit();
	/* port 0 can be attached again; its index may be reused */
	assert_non_null(wire_port_attach(w, 0, f->v, "wa0", NULL));
	wire_destroy(w);	/* detaches both ports */
	assert_int_equal(f->v->v_ifcount, 1);
}

/* A vnet destroyed under an attached wire port: the port is freed for another vnet. */
static void
test_vnet_destroy_under_wire(void **state)
{
	struct fixture *f = *state;
	struct wire *w = wire_create(f->k, &(struct wire_config){ .nports = 2, .nqueues = 1 });
	struct vnet *v2 = vnet_create(f->k, NULL);

	assert_non_null(w);
	assert_non_null(wire_port_attach(w, 0, v2, "x0", NULL));
	assert_non_null(wire_port_attach(w, 1, f->v, "y0", NULL));
	assert_int_equal(vnet_destroy(v2), 0);
	psz_read_enter();
	assert_null(wire_port_ifnet(w, 0));
	psz_read_exit();
	assert_int_equal(wire_port_detach(w, 0), -ENOENT);
	assert_non_null(wire_port_attach(w, 0, f->v, "x0", NULL));
	wire_destroy(w);
	assert_int_equal(f->v->v_ifcount, 0);
}

/* ------------------------------------------------------------------ addresses */

struct taddr {
	struct ifa_hdr	 ta_ifa;
	int		 ta_id;
	int		*ta_freed;
};

static void
taddr_free(struct ifa_hdr *ifa)
{
	struct taddr *ta = container_of(ifa, struct taddr, ta_ifa);

	(*ta->ta_freed)++;
	free(ta);
}

static struct taddr *
taddr_new(int id, int *freed)
{
	struct taddr *ta = calloc(1, sizeof(*ta));

	ta->ta_ifa.ifa_family = IF_AF_INET;
	ta->ta_ifa.ifa_free = taddr_free;
	ta->ta_id = id;
	ta->ta_freed = freed;
	return ta;
}

static int
addr_ids(struct ifnet *ifp, int *ids, int max)
{
	struct ifa_hdr *ifa;
	int n = 0;

	psz_read_enter();
	IF_ADDR_FOREACH(ifa, ifp, IF_AF_INET)
		if (n < max)
			ids[n++] = container_of(ifa, struct taddr, ta_ifa)->ta_id;
	psz_read_exit();
	return n;
}

/* Address lists: append order, removal freed after a grace period, flushed at detach. */
static void
test_addresses(void **state)
{
	struct fixture *f = *state;
	struct ifnet *lo = loop_create(f->v, "lo0", 1);
	struct taddr *a[3];
	int ids[4], freed = 0, i;

	assert_non_null(lo);
	for (i = 0; i < 3; i++) {
		a[i] = taddr_new(i + 1, &freed);
		assert_int_equal(if_addr_add(lo, &a[i]->ta_ifa), 0);
	}
	assert_int_equal(addr_ids(lo, ids, 4), 3);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[2], 3);
	assert_int_equal(if_addr_remove(lo, &a[1]->ta_ifa), 0);
	assert_int_equal(if_addr_remove(lo, &a[1]->ta_ifa), -ENOENT);
	assert_int_equal(addr_ids(lo, ids, 4), 2);
	assert_int_equal(ids[1], 3);
	psz_barrier();
	assert_int_equal(freed, 1);
	a[1] = taddr_new(9, &freed);
	a[1]->ta_ifa.ifa_family = 7;
	assert_int_equal(if_addr_add(lo, &a[1]->ta_ifa), -EINVAL);
	free(a[1]);
	if_detach(lo);		/* flushes the two left */
	psz_barrier();
	assert_int_equal(freed, 3);
}

static void
test_settings(void **state)
{
	struct fixture *f = *state;
	struct vnet_setting *s, *s2;
	int64_t val;

	assert_int_equal(vnet_setting_register(f->v, "net.test.x", 0, 10, 3, "x", &s), 0);
	assert_int_equal(vnet_setting_read(s), 3);
	assert_int_equal(vnet_setting_set(f->v, "net.test.x", 7), 0);
	assert_int_equal(vnet_setting_read(s), 7);
	assert_int_equal(vnet_setting_set(f->v, "net.test.x", 11), -ERANGE);
	assert_int_equal(vnet_setting_set(f->v, "net.test.x", -1), -ERANGE);
	assert_int_equal(vnet_setting_read(s), 7);
	assert_int_equal(vnet_setting_set(f->v, "net.test.nope", 1), -ENOENT);
	assert_int_equal(vnet_setting_get(f->v, "net.test.x", &val), 0);
	assert_int_equal(val, 7);
	assert_int_equal(vnet_setting_get(f->v, "net.test.nope", &val), -ENOENT);
	/* same range: the same setting, value kept; other range: refused */
	assert_int_equal(vnet_setting_register(f->v, "net.test.x", 0, 10, 5, NULL, &s2), 0);
	assert_ptr_equal(s, s2);
	assert_int_equal(vnet_setting_read(s2), 7);
	assert_int_equal(vnet_setting_register(f->v, "net.test.x", 0, 11, 5, NULL, &s2),
	    -EEXIST);
	assert_int_equal(vnet_setting_register(f->v, "net.test.y", 5, 1, 3, NULL, &s2),
	    -EINVAL);
	assert_int_equal(vnet_setting_register(f->v, "net.test.y", 0, 1, 3, NULL, &s2),
	    -EINVAL);
}

/* ------------------------------------------------------------------ domains */

struct dom_state {
	int	ifattached;
	int	ifdetached;
	int	attach_calls;
};

/* Test domains keep their counters in a book reached from the domain description. */
struct dom_book {
	struct dom_state st[DOM_MAX];
	int	fail_attach;
	int	fail_ifattach_at;	/* fail the n-th ifattach (1-based), 0 = never */
	int	ifattach_calls;
	int	order[8];
	int	norder;
};

struct tdom {
	struct domain	 dom;
	struct dom_book	*book;
};

static struct dom_book *
tdom_book(struct vnet *v, int slot)
{
	return container_of(v->v_domain[slot], struct tdom, dom)->book;
}

static int
tdom_attach(struct vnet *v, int slot)
{
	struct dom_book *book = tdom_book(v, slot);

	book->st[slot].attach_calls++;
	if (book->fail_attach)
		return -EIO;
	vnet_domain_set(v, slot, &book->st[slot]);
	return 0;
}

static void
tdom_detach(struct vnet *v, int slot)
{
	struct dom_book *book = tdom_book(v, slot);

	if (book->norder < 8)
		book->order[book->norder++] = slot;
}

static int
tdom_ifattach(struct vnet *v, int slot, struct ifnet *ifp)
{
	struct dom_book *book = tdom_book(v, slot);
	struct dom_state *ds = vnet_domain_get(v, slot);

	if (++book->ifattach_calls == book->fail_ifattach_at)
		return -EIO;
	ds->ifattached++;
	if_afdata_set(ifp, slot, ds);
	return 0;
}

static void
tdom_ifdetach(struct vnet *v, int slot, struct ifnet *ifp)
{
	struct dom_state *ds = vnet_domain_get(v, slot);

	assert_ptr_equal(if_afdata(ifp, slot), ds);
	ds->ifdetached++;
}

static void
test_domains(void **state)
{
	struct fixture *f = *state;
	struct dom_book *book = calloc(1, sizeof(*book));
	struct tdom dom_a = { { "a", DOM_DYNAMIC, 100, tdom_attach, tdom_detach,
		tdom_ifattach, tdom_ifdetach }, book };
	struct tdom dom_b = { { "b", DOM_DYNAMIC, 101, tdom_attach, tdom_detach,
		tdom_ifattach, tdom_ifdetach }, book };
	struct tdom dom_inet = { { "inet-test", DOM_INET, 2, tdom_attach, tdom_detach,
		NULL, NULL }, book };
	struct tdom dom_c = { { "c", DOM_DYNAMIC, 1, tdom_attach, tdom_detach, NULL, NULL },
		book };
	struct ifnet *lo;
	int sa, sb, si;

	lo = loop_create(f->v, "lo0", 1);
	assert_non_null(lo);
	sa = vnet_domain_attach(f->v, &dom_a.dom);
	assert_int_equal(sa, DOM_DYNAMIC);
	assert_int_equal(book->st[sa].ifattached, 1);	/* the interface already there */
	assert_int_equal(vnet_domain_attach(f->v, &dom_a.dom), -EEXIST);
	si = vnet_domain_attach(f->v, &dom_inet.dom);
	assert_int_equal(si, DOM_INET);
	sb = vnet_domain_attach(f->v, &dom_b.dom);
	assert_int_equal(sb, DOM_DYNAMIC + 1);
	assert_int_equal(vnet_domain_find(f->v, "b"), sb);
	assert_int_equal(vnet_domain_find(f->v, "zz"), -ENOENT);
	assert_non_null(loop_create(f->v, "lo1", 1));
	assert_int_equal(book->st[sa].ifattached, 2);
	assert_int_equal(book->st[sb].ifattached, 2);
	if_detach(lo);
	assert_int_equal(book->st[sa].ifdetached, 1);
	assert_int_equal(book->st[sb].ifdetached, 1);
	/* an interface attach failing in a domain hook is undone in the others */
	book->fail_ifattach_at = book->ifattach_calls + 2;
	errno = 0;
	assert_null(loop_create(f->v, "lo2", 1));
	assert_int_equal(book->st[sa].ifdetached, 2);	/* a's hook was undone */
	psz_read_enter();
	assert_null(vnet_if_byname(f->v, "lo2"));
	psz_read_exit();
	/* a failing domain attach leaves its slot free */
	book->fail_attach = 1;
	assert_int_equal(vnet_domain_attach(f->v, &dom_c.dom), -EIO);
	assert_null(f->v->v_domain[DOM_DYNAMIC + 2]);
	book->fail_attach = 0;
	/* detach order at destroy: reverse attach order */
	assert_int_equal(vnet_destroy(f->v), 0);
	f->v = vnet_create(f->k, NULL);
	assert_int_equal(book->norder, 3);
	assert_int_equal(book->order[0], sb);
	assert_int_equal(book->order[1], si);
	assert_int_equal(book->order[2], sa);
	assert_int_equal(book->st[sa].ifdetached, 3);	/* lo1 at destroy */
	free(book);
}

/* ------------------------------------------------------------------ dispatch */

struct rx_count {
	_Atomic uint64_t	n;
	_Atomic uint64_t	bytes;
};

static void
count_handler(struct ifnet *ifp, struct mbuf *m, void *arg)
{
	struct rx_count *c = arg;

	(void)ifp;
	atomic_fetch_add(&c->n, 1);
	atomic_fetch_add(&c->bytes, (uint64_t)m->m_pkthdr.len);
	m_freem(m);
}

static void
proto_handler(struct ifnet *ifp, struct mbuf *m, int off, void *arg)
{
	struct rx_count *c = arg;

	(void)ifp;
	atomic_fetch_add(&c->n, 1);
	atomic_fetch_add(&c->bytes, (uint64_t)off);
	m_freem(m);
}

static struct mbuf *
small_mbuf(struct vnet *v)
{
	uint8_t b[20] = { 0 };

	return m_devget(v->v_pools, b, sizeof(b), 0, 0);
}

static void
test_dispatch_tables(void **state)
{
	struct fixture *f = *state;
	struct rx_count c1 = { 0 }, c2 = { 0 }, c3 = { 0 };
	struct dispatch_stats ds;
	uint16_t t;

	/* register out of order: the table stays sorted and finds each */
	for (t = 0x9000; t > 0x8ff0; t--)
		assert_int_equal(dispatch_ether_register(f->v, t, count_handler, &c3), 0);
	assert_int_equal(dispatch_ether_register(f->v, 0x88b5, count_handler, &c1), 0);
	assert_int_equal(dispatch_ether_register(f->v, 0x88b5, NULL, &c1), -EINVAL);
	assert_int_equal(dispatch_ether_input(f->v, NULL, 0x88b5, small_mbuf(f->v)), 0);
	assert_int_equal(atomic_load(&c1.n), 1);
	for (t = 0x9000; t > 0x8ff0; t--)
		assert_int_equal(dispatch_ether_input(f->v, NULL, t, small_mbuf(f->v)), 0);
	assert_int_equal(atomic_load(&c3.n), 16);
	/* replaced: the new handler gets the next frame */
	assert_int_equal(dispatch_ether_register(f->v, 0x88b5, count_handler, &c2), 0);
	assert_int_equal(dispatch_ether_input(f->v, NULL, 0x88b5, small_mbuf(f->v)), 0);
	assert_int_equal(atomic_load(&c1.n), 1);
	assert_int_equal(atomic_load(&c2.n), 1);
	/* unregistered / unknown: counted and dropped (pool leak checked at destroy) */
	assert_int_equal(dispatch_ether_unregister(f->v, 0x88b5), 0);
	assert_int_equal(dispatch_ether_unregister(f->v, 0x88b5), -ENOENT);
	assert_int_equal(dispatch_ether_input(f->v, NULL, 0x88b5, small_mbuf(f->v)), -ENOENT);
	assert_int_equal(dispatch_ether_input(f->v, NULL, 0x1234, small_mbuf(f->v)), -ENOENT);
	dispatch_stats(f->v, &ds);
	assert_int_equal(ds.ds_ether_unknown, 2);
	assert_int_equal(atomic_load(&c2.n), 1);

	/* IP protocols */
	assert_false(dispatch_ipproto_registered(f->v, DISPATCH_INET, 17));
	assert_int_equal(dispatch_ipproto_register(f->v, DISPATCH_INET, 17, proto_handler,
	    &c1), 0);
	assert_int_equal(dispatch_ipproto_register(f->v, 5, 17, proto_handler, &c1), -EINVAL);
	assert_true(dispatch_ipproto_registered(f->v, DISPATCH_INET, 17));
	assert_false(dispatch_ipproto_registered(f->v, DISPATCH_INET6, 17));
	assert_int_equal(dispatch_ipproto_input(f->v, DISPATCH_INET, 17, NULL,
	    small_mbuf(f->v), 20), 0);
	assert_int_equal(atomic_load(&c1.n), 2);
	assert_int_equal(atomic_load(&c1.bytes), 20 + 20);
	assert_int_equal(dispatch_ipproto_input(f->v, DISPATCH_INET6, 17, NULL,
	    small_mbuf(f->v), 40), -ENOENT);
	assert_int_equal(dispatch_ipproto_unregister(f->v, DISPATCH_INET, 17), 0);
	assert_int_equal(dispatch_ipproto_unregister(f->v, DISPATCH_INET, 17), -ENOENT);
	assert_int_equal(dispatch_ipproto_input(f->v, DISPATCH_INET, 17, NULL,
	    small_mbuf(f->v), 20), -ENOENT);
	dispatch_stats(f->v, &ds);
	assert_int_equal(ds.ds_ipproto_unknown[DISPATCH_INET], 1);
	assert_int_equal(ds.ds_ipproto_unknown[DISPATCH_INET6], 1);
}

/* Pools must get every mbuf back: destroy the vnet and check the pool statistics. */
static void
test_no_leak(void **state)
{
	struct fixture *f = *state;
	struct pool_stats st[3];

	test_dispatch_tables(state);
	mbuf_pools_stats(f->v->v_pools, st);
	assert_int_equal(st[0].inuse, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_bad),
		cmocka_unit_test_setup_teardown(test_interfaces_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vnet_destroy_under_wire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_domains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dispatch_tables, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_leak, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
