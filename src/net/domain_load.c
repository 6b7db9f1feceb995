/*
 * domain_load.c - domains from shared objects (see domain_api.h).
 *
 * dlopen the object (RTLD_NOW | RTLD_LOCAL), look its entry point up, hand it the
 * const API table and attach the domain it returns.  The handle is remembered in the
 * vnet's slot; vnet_domain_detach closes it after the domain's handlers are gone (each
 * unregistration waited for a grace period) and after every deferred callback has run
 * (psz_barrier), so no thread can still be executing the object's code.
 */
#include "net/domain_api.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>

#include "kern/psz.h"
#include "mbuf/mbuf.h"
#include "net/vnet.h"

static void *
domain_api_get(struct vnet *v, int slot)
{
	return vnet_domain_get(v, slot);
}

static int
domain_api_m_length(const struct mbuf *m)
{
	return m_length(m, NULL);
}

const struct domain_api domain_api_table = {
	.da_version = DOMAIN_API_VERSION,
	.da_size = sizeof(struct domain_api),
	.da_ether_register = dispatch_ether_register,
	.da_ether_unregister = dispatch_ether_unregister,
	.da_ipproto_register = dispatch_ipproto_register,
	.da_ipproto_unregister = dispatch_ipproto_unregister,
	.da_domain_set = vnet_domain_set,
	.da_domain_get = domain_api_get,
	.da_setting_register = vnet_setting_register,
	.da_m_freem = m_freem,
	.da_m_copydata = m_copydata,
	.da_m_length = domain_api_m_length,
};

int
vnet_domain_load(struct vnet *v, const char *path)
{
	const struct domain *dom;
	domain_entry_t entry;
	void *h;
	int slot;

	if ((h = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		fprintf(stderr, "smpnet: %s\n", dlerror());
		return -ENOENT;
	}
	*(void **)&entry = dlsym(h, SMPNET_DOMAIN_ENTRY);
	if (entry == NULL || (dom = entry(&domain_api_table)) == NULL) {
		dlclose(h);
		return -ENOEXEC;
	}
	if ((slot = vnet_domain_attach(v, dom)) < 0) {
		dlclose(h);
		return slot;
	}
	kmutex_enter(&v->v_cfglock);
	v->v_dom_dl[slot] = h;
	kmutex_exit(&v->v_cfglock);
	return slot;
}

void
vnet_domain_unload(void *handle)
{
	psz_barrier();
	dlclose(handle);
}
