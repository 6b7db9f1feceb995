/*
 * dom_test_module.c - a protocol domain built as a shared object, loaded by
 * test_domain_dl with vnet_domain_load().  It registers a handler for
 * ETHERTYPE_SMPNET_TEST that counts frames and bytes in its per-vnet state; the test
 * reads the counts through the exported dom_test_counts().  It reaches the stack only
 * through the vnet's domain API table (v->v_api): it links against nothing of smpnet.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "net/domain_api.h"
#include "net/ether.h"
#include "net/vnet.h"

struct dt_state {
	const struct domain_api	*api;
	struct vnet		*v;
	_Atomic uint64_t	 frames;
	_Atomic uint64_t	 bytes;
};

__attribute__((visibility("default"))) const struct domain *
smpnet_domain_entry(const struct domain_api *api);
__attribute__((visibility("default"))) int
dom_test_counts(struct vnet *v, int slot, uint64_t *frames, uint64_t *bytes);

static void
dt_input(struct ifnet *ifp, struct mbuf *m, void *arg)
{
	struct dt_state *st = arg;

	(void)ifp;
	atomic_fetch_add_explicit(&st->bytes, (uint64_t)st->api->da_m_length(m),
	    memory_order_relaxed);
	/* release: pairs with the test's acquire load of frames */
	atomic_fetch_add_explicit(&st->frames, 1, memory_order_release);
	st->api->da_m_freem(m);
}

static int
dt_attach(struct vnet *v, int slot)
{
	const struct domain_api *api = v->v_api;
	struct dt_state *st;
	int err;

	if (api->da_version != DOMAIN_API_VERSION)
		return -1;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return -12;
	st->api = api;
	st->v = v;
	api->da_domain_set(v, slot, st);
	if ((err = api->da_ether_register(v, ETHERTYPE_SMPNET_TEST, dt_input, st)) != 0) {
		api->da_domain_set(v, slot, NULL);
		free(st);
	}
	return err;
}

static void
dt_detach(struct vnet *v, int slot)
{
	const struct domain_api *api = v->v_api;
	struct dt_state *st = api->da_domain_get(v, slot);

	(void)api->da_ether_unregister(v, ETHERTYPE_SMPNET_TEST);	/* waits */
	free(st);
}

static const struct domain dt_domain = {
	.dom_name = "testdom",
	.dom_id = DOM_DYNAMIC,
	.dom_family = 0x7e57,
	.dom_attach = dt_attach,
	.dom_detach = dt_detach,
};

const struct domain *
smpnet_domain_entry(const struct domain_api *api)
{
	return api->da_version == DOMAIN_API_VERSION ? &dt_domain : NULL;
}

int
dom_test_counts(struct vnet *v, int slot, uint64_t *frames, uint64_t *bytes)
{
	const struct domain_api *api = v->v_api;
	struct dt_state *st = api->da_domain_get(v, slot);

	if (st == NULL)
		return -1;
	*frames = atomic_load_explicit(&st->frames, memory_order_acquire);
	*bytes = atomic_load_explicit(&st->bytes, memory_order_relaxed);
	return 0;
}
