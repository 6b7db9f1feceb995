/*
 * vnet.c - virtual network stacks: creation, domains, settings, the interface table.
 *
 * Design (see vnet.h): every piece of a stack's state hangs off its struct vnet.  The
 * interface table is an array of RCU-published ifnet pointers indexed by interface index
 * (index 0 unused, as in BSD), written under v_lock, read locklessly; the list of
 * attached interfaces is written under both v_cfglock and v_lock (so either lock makes
 * it stable).  Domains attach and detach under v_cfglock; their state slot v_dom[] is
 * published with a release store.  Settings are a list under v_lock whose values are
 * atomics, so the data path reads a setting with one relaxed load through a pointer that
 * stays valid until vnet_destroy.
 *
 * Invariants:
 *   - v_domain[s] != NULL iff a domain is attached under slot s (or attaching: the slot
 *     is reserved before dom_attach runs, under v_cfglock).
 *   - v_dom_order[] lists attached slots in attach order; destroy detaches in reverse.
 */
#include "net/vnet.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kern/kassert.h"
#include "kern/psz.h"
#include "mbuf/mbuf.h"
#include "net/domain_api.h"
#include "net/if_dispatch.h"
#include "net/if_var.h"

#define VNET_IFMAX_DEFAULT	64

static int
vnet_config_check(struct kern *k, const struct vnet_config *cfg)
{
	if (k == NULL)
		return EINVAL;
	if (cfg != NULL && (cfg->ifmax < 0 || cfg->ifmax > 65535))
		return EINVAL;
	return 0;
}

static int
vnet_pools_init(struct vnet *v, const struct vnet_config *cfg)
{
	struct mbuf_pools_config pc = {
		.ncpu = kern_ncpu(v->v_kern),
		.owner = v->v_kern,
	};

	if (cfg != NULL && cfg->pools != NULL) {
		v->v_pools = cfg->pools;
		return 0;
	}
	v->v_pools = mbuf_pools_create(&pc);
	if (v->v_pools == NULL)
		return errno != 0 ? errno : ENOMEM;
	v->v_own_pools = true;
	return 0;
}

/* Lock classes (docs/locking.md gives their order): whole attach/detach operations,
 * then the vnet's short writer sections. */
static const struct klock_class vnet_cfg_class = { "vnet_cfg" };
static const struct klock_class vnet_class = { "vnet" };

struct vnet *
vnet_create(struct kern *k, const struct vnet_config *cfg)
{
	struct vnet *v;
	int err;

	if ((err = vnet_config_check(k, cfg)) != 0) {
		errno = err;
		return NULL;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	v->v_kern = k;
	v->v_api = &domain_api_table;
	snprintf(v->v_name, sizeof(v->v_name), "%s",
	    cfg != NULL && cfg->name != NULL ? cfg->name : "vnet");
	v->v_ifmax = cfg != NULL && cfg->ifmax > 0 ? cfg->ifmax + 1 : VNET_IFMAX_DEFAULT;
	if ((err = kmutex_init(&v->v_cfglock, k, &vnet_cfg_class)) != 0) {
		free(v);
		errno = -err;
		return NULL;
	}
	if ((err = kmutex_init(&v->v_lock, k, &vnet_class)) != 0) {
		kmutex_fini(&v->v_cfglock);
		free(v);
		errno = -err;
		return NULL;
	}
	v->v_ifindex = calloc((size_t)v->v_ifmax, sizeof(*v->v_ifindex));
	if (v->v_ifindex == NULL)
		goto fail;
	if ((v->v_dispatch = dispatch_create(v)) == NULL)
		goto fail;
	if ((err = vnet_pools_init(v, cfg)) != 0) {
		errno = err;
		goto fail;
	}
	return v;
fail:
	err = errno;
	if (v->v_dispatch != NULL)
		dispatch_destroy(v->v_dispatch);
	free(v->v_ifindex);
	kmutex_fini(&v->v_lock);
	kmutex_fini(&v->v_cfglock);
	free(v);
	errno = err;
	return NULL;
}

static void
vnet_settings_free(struct vnet *v)
{
	struct vnet_setting *s, *next;

	for (s = v->v_settings; s != NULL; s = next) {
		next = s->vs_next;
		free(s);
	}
	v->v_settings = NULL;
}

/* The attached domain slot attached last, or -1. */
static int
vnet_domain_last(struct vnet *v)
{
	int i, best = -1;
	unsigned seq = 0;

	for (i = 0; i < DOM_MAX; i++)
		if (v->v_domain[i] != NULL && v->v_dom_seq[i] >= seq) {
			seq = v->v_dom_seq[i];
			best = i;
		}
	return best;
}

int
vnet_destroy(struct vnet *v)
{
	int slot, err = 0;

	if (v == NULL)
		return 0;
	while ((slot = vnet_domain_last(v)) >= 0)
		(void)vnet_domain_detach(v, slot);
	while (v->v_iflist != NULL)
		if_detach(v->v_iflist);
	psz_synchronize();
	psz_barrier();		/* deferred ifnet / handler frees have run */
	dispatch_destroy(v->v_dispatch);
	vnet_settings_free(v);
	if (v->v_own_pools)
		err = mbuf_pools_destroy(v->v_pools);
	free(v->v_ifindex);
	kmutex_fini(&v->v_lock);
	kmutex_fini(&v->v_cfglock);
	free(v);
	return err;
}

void
vnet_lock(struct vnet *v)
{
	kmutex_enter(&v->v_lock);
}

void
vnet_unlock(struct vnet *v)
{
	kmutex_exit(&v->v_lock);
}

/* ------------------------------------------------------------------ domains */

static int
vnet_domain_slot_pick(struct vnet *v, const struct domain *dom)
{
	int i;

	for (i = 0; i < DOM_MAX; i++)
		if (v->v_domain[i] != NULL &&
		    strcmp(v->v_domain[i]->dom_name, dom->dom_name) == 0)
			return -EEXIST;
	if (dom->dom_id >= 0 && dom->dom_id < DOM_DYNAMIC)
		return v->v_domain[dom->dom_id] != NULL ? -EEXIST : dom->dom_id;
	for (i = DOM_DYNAMIC; i < DOM_MAX; i++)
		if (v->v_domain[i] == NULL)
			return i;
	return -ENOSPC;
}

/* Run dom_ifdetach on the first n interfaces of the list (undo, or detach). */
static void
vnet_domain_ifdetach_all(struct vnet *v, int slot, int n)
{
	const struct domain *dom = v->v_domain[slot];
	struct ifnet *ifp;

	KMUTEX_ASSERT_HELD(&v->v_cfglock);
	if (dom->dom_ifdetach == NULL)
		return;
	for (ifp = v->v_iflist; ifp != NULL && n-- != 0; ifp = ifp->if_next)
		dom->dom_ifdetach(v, slot, ifp);
}

static int
vnet_domain_ifattach_all(struct vnet *v, int slot)
{
	const struct domain *dom = v->v_domain[slot];
	struct ifnet *ifp;
	int n = 0, err;

	KMUTEX_ASSERT_HELD(&v->v_cfglock);
	if (dom->dom_ifattach == NULL)
		return 0;
	for (ifp = v->v_iflist; ifp != NULL; ifp = ifp->if_next, n++) {
		if ((err = dom->dom_ifattach(v, slot, ifp)) != 0) {
			vnet_domain_ifdetach_all(v, slot, n);
			return err;
		}
	}
	return 0;
}

int
vnet_domain_attach(struct vnet *v, const struct domain *dom)
{
	int slot, err;

	if (dom == NULL || dom->dom_name == NULL || dom->dom_attach == NULL ||
	    dom->dom_detach == NULL || dom->dom_id < 0 || dom->dom_id >= DOM_MAX)
		return -EINVAL;
	KASSERT(!psz_read_held());
	kmutex_enter(&v->v_cfglock);
	if ((slot = vnet_domain_slot_pick(v, dom)) < 0)
		goto out;
	v->v_domain[slot] = dom;		/* reserve */
	if ((err = dom->dom_attach(v, slot)) != 0)
		goto undo;
	if ((err = vnet_domain_ifattach_all(v, slot)) != 0) {
		dom->dom_detach(v, slot);
		goto undo;
	}
	v->v_dom_seq[slot] = ++v->v_dom_next_seq;
	goto out;
undo:
	vnet_domain_set(v, slot, NULL);
	v->v_domain[slot] = NULL;
	slot = err < 0 ? err : -err;
out:
	kmutex_exit(&v->v_cfglock);
	return slot;
}

int
vnet_domain_detach(struct vnet *v, int slot)
{
	const struct domain *dom;

	if (slot < 0 || slot >= DOM_MAX)
		return -ENOENT;
	kmutex_enter(&v->v_cfglock);
	if ((dom = v->v_domain[slot]) == NULL) {
		kmutex_exit(&v->v_cfglock);
		return -ENOENT;
	}
	vnet_domain_ifdetach_all(v, slot, -1);
	dom->dom_detach(v, slot);
	vnet_domain_set(v, slot, NULL);
	v->v_domain[slot] = NULL;
	v->v_dom_seq[slot] = 0;
	if (v->v_dom_dl[slot] != NULL) {
		vnet_domain_unload(v->v_dom_dl[slot]);
		v->v_dom_dl[slot] = NULL;
	}
	kmutex_exit(&v->v_cfglock);
	return 0;
}

int
vnet_domain_find(struct vnet *v, const char *name)
{
	int i, slot = -ENOENT;

	kmutex_enter(&v->v_cfglock);
	for (i = 0; i < DOM_MAX; i++)
		if (v->v_domain[i] != NULL && strcmp(v->v_domain[i]->dom_name, name) == 0)
			slot = i;
	kmutex_exit(&v->v_cfglock);
	return slot;
}

void
vnet_domain_set(struct vnet *v, int slot, void *state)
{
	/* release: the state is initialised before readers see it (vnet_domain_get) */
	atomic_store_explicit(&v->v_dom[slot], state, memory_order_release);
}

/* ------------------------------------------------------------------ settings */

static struct vnet_setting *
vnet_setting_find(struct vnet *v, const char *name)
{
	struct vnet_setting *s;

	for (s = v->v_settings; s != NULL; s = s->vs_next)
		if (strcmp(s->vs_name, name) == 0)
			return s;
	return NULL;
}

static struct vnet_setting *
vnet_setting_new(const char *name, int64_t min, int64_t max, int64_t def,
    const char *descr)
{
	size_t len = strlen(name) + 1;
	struct vnet_setting *s = calloc(1, sizeof(*s) + len);

	if (s == NULL)
		return NULL;
	atomic_init(&s->vs_value, def);
	s->vs_min = min;
	s->vs_max = max;
	s->vs_descr = descr;
	memcpy(s->vs_name, name, len);
	return s;
}

int
vnet_setting_register(struct vnet *v, const char *name, int64_t min, int64_t max,
    int64_t def, const char *descr, struct vnet_setting **out)
{
	struct vnet_setting *s, **tail;
	int err = 0;

	if (name == NULL || name[0] == '\0' || min > max || def < min || def > max)
		return -EINVAL;
	vnet_lock(v);
	if ((s = vnet_setting_find(v, name)) != NULL) {
		if (s->vs_min != min || s->vs_max != max)
			err = -EEXIST;
	} else if ((s = vnet_setting_new(name, min, max, def, descr)) == NULL) {
		err = -ENOMEM;
	} else {
		for (tail = &v->v_settings; *tail != NULL; tail = &(*tail)->vs_next)
			continue;
		*tail = s;
	}
	vnet_unlock(v);
	if (err == 0 && out != NULL)
		*out = s;
	return err;
}

int
vnet_setting_set(struct vnet *v, const char *name, int64_t value)
{
	struct vnet_setting *s;
	int err = 0;

	vnet_lock(v);
	if ((s = vnet_setting_find(v, name)) == NULL)
		err = -ENOENT;
	else if (value < s->vs_min || value > s->vs_max)
		err = -ERANGE;
	else	/* relaxed: pairs with vnet_setting_read's relaxed load */
		atomic_store_explicit(&s->vs_value, value, memory_order_relaxed);
	vnet_unlock(v);
	return err;
}

int
vnet_setting_get(struct vnet *v, const char *name, int64_t *value)
{
	struct vnet_setting *s;
	int err = 0;

	vnet_lock(v);
	if ((s = vnet_setting_find(v, name)) == NULL)
		err = -ENOENT;
	else
		*value = vnet_setting_read(s);
	vnet_unlock(v);
	return err;
}

void
vnet_setting_foreach(struct vnet *v,
    void (*cb)(const struct vnet_setting *s, int64_t value, void *arg), void *arg)
{
	struct vnet_setting *s;

	vnet_lock(v);
	for (s = v->v_settings; s != NULL; s = s->vs_next)
		cb(s, vnet_setting_read(s), arg);
	vnet_unlock(v);
}

/* ------------------------------------------------------------------ interface table */

struct ifnet *
vnet_if_byindex(struct vnet *v, int index)
{
	KASSERT(psz_read_held());
	if (index <= 0 || index >= v->v_ifmax)
		return NULL;
	return psz_deref(&v->v_ifindex[index]);
}

struct ifnet *
vnet_if_byname(struct vnet *v, const char *name)
{
	struct ifnet *ifp;
	int i;

	KASSERT(psz_read_held());
	for (i = 1; i < v->v_ifmax; i++) {
		ifp = psz_deref(&v->v_ifindex[i]);
		if (ifp != NULL && strcmp(ifp->if_xname, name) == 0)
			return ifp;
	}
	return NULL;
}
