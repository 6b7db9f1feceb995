/*
 * domain_api.h - what a domain loaded from a shared object may call.
 *
 * The library is built with hidden visibility (only smpnet_* is exported), so a domain
 * in a dlopen'd object cannot link against the stack's internal functions.  Instead the
 * loader hands it this table (const, one per library build): the module exports one
 * function, SMPNET_DOMAIN_ENTRY, which receives the table and returns its struct domain;
 * the loader then attaches that domain like any other (vnet_domain_attach).
 *
 * Every vnet also carries the table (v->v_api), so a module's dom_attach(v, slot) finds
 * it without keeping a mutable global.  Contract for the module: every handler it
 * registers is unregistered by its dom_detach, and it defers no callback into its own
 * code past dom_detach (the loader waits for deferred callbacks
 * with psz_barrier before dlclose).  ABI: api->da_version must equal
 * DOMAIN_API_VERSION, and api->da_size bounds the fields the module may use.
 */
#ifndef SMPNET_NET_DOMAIN_API_H
#define SMPNET_NET_DOMAIN_API_H

#include <stddef.h>
#include <stdint.h>

#include "net/if_dispatch.h"

struct vnet;
struct vnet_setting;
struct domain;
struct mbuf;

#define DOMAIN_API_VERSION	1
#define SMPNET_DOMAIN_ENTRY	"smpnet_domain_entry"

struct domain_api {
	int	da_version;
	size_t	da_size;
	int	(*da_ether_register)(struct vnet *v, uint16_t type, ether_handler_t fn,
		    void *arg);
	int	(*da_ether_unregister)(struct vnet *v, uint16_t type);
	int	(*da_ipproto_register)(struct vnet *v, int family, uint8_t proto,
		    ipproto_handler_t fn, void *arg);
	int	(*da_ipproto_unregister)(struct vnet *v, int family, uint8_t proto);
	void	(*da_domain_set)(struct vnet *v, int slot, void *state);
	void	*(*da_domain_get)(struct vnet *v, int slot);
	int	(*da_setting_register)(struct vnet *v, const char *name, int64_t min,
		    int64_t max, int64_t def, const char *descr, struct vnet_setting **out);
	void	(*da_m_freem)(struct mbuf *m);
	int	(*da_m_copydata)(const struct mbuf *m, int off, int len, void *cp);
	int	(*da_m_length)(const struct mbuf *m);
};

/* The table (const). */
extern const struct domain_api domain_api_table;

/* The module's entry point (exported by the module under SMPNET_DOMAIN_ENTRY). */
typedef const struct domain *(*domain_entry_t)(const struct domain_api *api);

/*
 * Load the shared object at path, get its domain from SMPNET_DOMAIN_ENTRY and attach it
 * to v.  Returns the slot (>= 0) or a negative errno: -ENOENT (dlopen failed: the loader
 * message goes to stderr), -ENOEXEC (no entry point, or it returned NULL), or what
 * vnet_domain_attach returned.  vnet_domain_detach() of that slot (or vnet_destroy)
 * also closes the object.  May block; control threads only.
 */
int vnet_domain_load(struct vnet *v, const char *path);

/* Close a loaded object after a detach (vnet.c): waits for deferred callbacks. */
void vnet_domain_unload(void *handle);

#endif /* SMPNET_NET_DOMAIN_API_H */
