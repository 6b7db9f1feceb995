/*
 * test_domain_dl.c - a domain loaded from a shared object (dom_test_module.c, built by
 * meson next to this test; its path comes from DOM_TEST_MODULE) registers an ethertype
 * handler that then receives frames sent over a wire pair; unloading it unregisters the
 * handler (later frames are counted as unknown).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>

#include "dev/wire.h"
#include "net/domain_api.h"
#include "net/if_dispatch.h"
#include "nettest.h"

#ifndef DOM_TEST_MODULE
#error "DOM_TEST_MODULE must name the test module's path"
#endif

typedef int (*counts_fn)(struct vnet *v, int slot, uint64_t *frames, uint64_t *bytes);

static uint64_t
frames_of(counts_fn fn, struct vnet *v, int slot, uint64_t want)
{
	uint64_t fr = 0, by = 0;
	int i;

	for (i = 0; i < 5000; i++) {
		assert_int_equal(fn(v, slot, &fr, &by), 0);
		if (fr >= want)
			break;
		nt_sleep_ms(1);
	}
	assert_int_equal(by, fr * 64);
	return fr;
}

static void
test_load_receive_unload(void **state)
{
	struct kern *k = nt_kern(2, false);
	struct vnet *va = vnet_create(k, NULL), *vb = vnet_create(k, NULL);
	struct wire *w = wire_create(k, &(struct wire_config){ .nports = 2, .nqueues = 2 });
	struct ifnet *a = wire_port_attach(w, 0, va, "a0", NULL);
	struct ifnet *b = wire_port_attach(w, 1, vb, "b0", NULL);
	struct dispatch_stats ds;
	counts_fn counts;
	void *h;
	int slot, i;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(vnet_domain_load(vb, "/nonexistent/dom.so"), -ENOENT);
	slot = vnet_domain_load(vb, DOM_TEST_MODULE);
	assert_true(slot >= DOM_DYNAMIC);
	assert_int_equal(vnet_domain_find(vb, "testdom"), slot);
	/* the test's own handle on the object, to read its counters */
	h = dlopen(DOM_TEST_MODULE, RTLD_NOW | RTLD_NOLOAD);
	assert_non_null(h);
	*(void **)&counts = dlsym(h, "dom_test_counts");
	assert_non_null(counts);
	for (i = 0; i < 100; i++)
		assert_int_equal(nt_send(a, nt_frame(va, if_lladdr(b), if_lladdr(a),
		    ETHERTYPE_SMPNET_TEST, 64, 1, (uint32_t)i)), 0);
	assert_int_equal(frames_of(counts, vb, slot, 100), 100);
	dlclose(h);
	assert_int_equal(vnet_domain_detach(vb, slot), 0);
	assert_int_equal(vnet_domain_find(vb, "testdom"), -ENOENT);
	for (i = 0; i < 10; i++)
		assert_int_equal(nt_send(a, nt_frame(va, if_lladdr(b), if_lladdr(a),
		    ETHERTYPE_SMPNET_TEST, 64, 1, (uint32_t)i)), 0);
	for (i = 0; i < 5000; i++) {
		dispatch_stats(vb, &ds);
		if (ds.ds_ether_unknown == 10)
			break;
		nt_sleep_ms(1);
	}
	assert_int_equal(ds.ds_ether_unknown, 10);
	/* load again, and leave it to vnet_destroy to unload */
	assert_true(vnet_domain_load(vb, DOM_TEST_MODULE) >= 0);
	wire_destroy(w);
	assert_int_equal(vnet_destroy(va), 0);
	assert_int_equal(vnet_destroy(vb), 0);
	kern_destroy(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_receive_unload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
