/*
 * vnet.h - a virtual network stack ("brane"): every piece of protocol state of one stack.
 *
 * A vnet belongs to one kern (the CPUs it runs on) and holds: its mbuf pools, its
 * interface table, its dispatch tables (ethertype -> handler, IP protocol -> handler),
 * one routing table per address family (created by the family's domain), one state slot
 * per protocol domain, and its settings (sysctl-style, by name).  Nothing of a stack lives
 * in a global, so a process may run many vnets side by side (tests run two or three over
 * wire pairs; a simulator runs dozens).
 *
 * Words:
 *   domain   a protocol family's code (inet, inet6, or a dynamic one, possibly loaded
 *            from a shared object).  It is a const description; its per-vnet state lives
 *            in v->v_dom[slot].  Attaching a domain runs its attach(), which registers
 *            handlers in the dispatch tables and settings; detach undoes that.
 *   setting  a named int64 with a range; written by the control path (vnet_setting_set,
 *            range-checked), read on the data path with one relaxed atomic load
 *            (vnet_setting_read); a setting lives as long as its vnet.
 *
 * Locking (docs/locking.md), in lock order:
 *   v_cfglock  serialises interface and domain attach/detach (whole operations, across
 *              the grace periods they wait for).  Never taken from a continuation or
 *              inside a read section.
 *   v_lock     the vnet's writer lock for its tables (interface table, dispatch tables,
 *              domain slots, settings).  Held briefly; never across a grace period.
 *   if_lock    an interface's own configuration (if_var.h).
 * Readers (the data path) take none of them: they read RCU-published pointers inside a
 * psz read section.
 */
#ifndef SMPNET_NET_VNET_H
#define SMPNET_NET_VNET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "kern/kern.h"
#include "kern/klock.h"

struct kern;
struct ifnet;
struct mbuf_pools;
struct rt_table;
struct dispatch_tables;
struct domain_api;

/* Fixed domain slots; dynamic domains take the slots from DOM_DYNAMIC on. */
enum {
	DOM_INET = 0,
	DOM_INET6 = 1,
	DOM_DYNAMIC = 2,	/* first dynamic slot; also "give me any free slot" */
	DOM_MAX = 16,
};

struct vnet;

/*
 * A protocol domain.  const, shared by every vnet it is attached to (it may live in a
 * dlopen'd object).  dom_id is DOM_INET, DOM_INET6, or DOM_DYNAMIC (any free slot).
 *
 * dom_attach(v, slot) runs with v_cfglock held and v_lock NOT held (it calls the
 * registration functions, which take v_lock), on the attaching thread; it may block; it stores its per-vnet state
 * with vnet_domain_set(v, slot, state) and returns 0 or a negative errno (the attach then
 * fails and dom_detach is not called: attach must undo its own partial work).
 * dom_detach(v, slot) undoes attach: unregisters its handlers (each unregistration waits
 * for a grace period, so no input runs in the domain's handlers when it returns), then
 * frees its state.  Called with v_cfglock held, v_lock not held; may block.
 *
 * Optional per-interface hooks (may be NULL):
 * dom_ifattach(v, slot, ifp) runs for every interface attached while the domain is (and
 * for those already there when the domain attaches), before the interface is published,
 * with v_cfglock held (v_lock not held): it may block, allocate, register settings, and
 * store state with if_afdata_set(); it must not attach or detach interfaces or domains;
 * 0 or -errno (the interface attach, or the domain attach, then fails and is undone).
 * dom_ifdetach(v, slot, ifp) runs when the interface is detached (after it has been
 * unpublished and its queues halted: no input from it runs any more) or when the domain
 * detaches (before dom_detach); v_cfglock held; may block (e.g. to delete routes).
 */
struct domain {
	const char	*dom_name;
	int		 dom_id;
	int		 dom_family;	/* AF_INET, AF_INET6, or a private value */
	int		(*dom_attach)(struct vnet *v, int slot);
	void		(*dom_detach)(struct vnet *v, int slot);
	int		(*dom_ifattach)(struct vnet *v, int slot, struct ifnet *ifp);
	void		(*dom_ifdetach)(struct vnet *v, int slot, struct ifnet *ifp);
};

struct vnet_config {
	const char		*name;		/* for messages and `smpnet stat`; may be NULL */
	struct mbuf_pools	*pools;		/* NULL: the vnet creates (and owns) its own */
	int			 ifmax;		/* interface table size; 0 = 64 */
};

/*
 * A setting.  vs_value is read on the data path with vnet_setting_read() (relaxed: a
 * setting is a hint taking effect "soon", never a synchronisation point).
 */
struct vnet_setting {
	_Atomic int64_t		 vs_value;	/* [a] relaxed; written under v_lock */
	int64_t			 vs_min;	/* [I] */
	int64_t			 vs_max;	/* [I] */
	const char		*vs_descr;	/* [I] */
	struct vnet_setting	*vs_next;	/* [W v_lock] list of the vnet's settings */
	char			 vs_name[];	/* [I] e.g. "net.inet.ip.forwarding" */
};

struct vnet {
	struct kern		*v_kern;	/* [I] */
	struct mbuf_pools	*v_pools;	/* [I] */
	bool			 v_own_pools;	/* [I] destroy frees v_pools */
	char			 v_name[32];	/* [I] */

	struct kmutex		 v_cfglock;	/* class "vnet_cfg": attach/detach (see above) */
	struct kmutex		 v_lock;	/* class "vnet": the writer lock (see above) */

	/* Interface table: index -> ifnet, RCU-published array, list under v_lock. */
	int			 v_ifmax;		/* [I] table size; index 0 unused */
	_Atomic(struct ifnet *)	*v_ifindex;		/* [R, W v_lock] v_ifmax slots */
	struct ifnet		*v_iflist;		/* [W v_lock] attached interfaces */
	int			 v_ifcount;		/* [W v_lock] */

	struct dispatch_tables	*v_dispatch;	/* [I] if_dispatch.h */

	/* Routing tables, created and owned by the family's domain. */
	_Atomic(struct rt_table *) v_rt_inet;	/* [R, W v_lock] */
	_Atomic(struct rt_table *) v_rt_inet6;	/* [R, W v_lock] */

	/* Domains: description and per-vnet state, by slot. */
	const struct domain	*v_domain[DOM_MAX];	/* [W v_cfglock] */
	_Atomic(void *)		 v_dom[DOM_MAX];	/* [R, W v_cfglock] domain state */
	unsigned		 v_dom_seq[DOM_MAX];	/* [W v_cfglock] attach order */
	unsigned		 v_dom_next_seq;	/* [W v_cfglock] */
	void			*v_dom_dl[DOM_MAX];	/* [W v_cfglock] dlopen handle or NULL */

	struct vnet_setting	*v_settings;	/* [W v_lock] */

	/* What a domain in a shared object calls instead of linking (domain_api.h). */
	const struct domain_api	*v_api;		/* [I] */
};

/*
 * Create a vnet on kern k.  cfg may be NULL (defaults).  Returns NULL with errno set:
 * EINVAL (k NULL, ifmax out of 1..65535), ENOMEM.  May block.
 */
struct vnet *vnet_create(struct kern *k, const struct vnet_config *cfg);

/*
 * Destroy v: detach every domain (in reverse attach order), detach and free every
 * interface still attached (the driver's stop op runs), wait for a grace period, free
 * the tables and settings.  The caller guarantees no other thread uses v any more
 * (no transmit in progress, no application thread in its socket calls).  Returns 0, or
 * -EBUSY if the mbuf pools the vnet owns still had buffers out (a leak: the pools are
 * then left allocated).  May block; never from a continuation of v's kern.
 */
int vnet_destroy(struct vnet *v);

static inline struct kern *
vnet_kern(const struct vnet *v)
{
	return v->v_kern;
}

/* The writer lock.  May block.  Never held across psz_synchronize(). */
void vnet_lock(struct vnet *v);
void vnet_unlock(struct vnet *v);

/*
 * Attach dom to v.  Returns the slot (>= 0) or a negative errno: -EEXIST (a domain with
 * that id or name is attached), -ENOSPC (no free dynamic slot), -EINVAL, or what
 * dom_attach / dom_ifattach returned.  May block; not from a continuation; no vnet lock
 * held.
 */
int vnet_domain_attach(struct vnet *v, const struct domain *dom);

/*
 * Detach the domain attached under slot (dom_ifdetach for each interface, then
 * dom_detach).  0, or -ENOENT.  May block; not from a continuation; no vnet lock held.
 */
int vnet_domain_detach(struct vnet *v, int slot);

/* The slot of the attached domain named name, or -ENOENT.  Takes v_cfglock; may block. */
int vnet_domain_find(struct vnet *v, const char *name);

/* Publish / read a domain's state (release / acquire pairing). */
void vnet_domain_set(struct vnet *v, int slot, void *state);
static inline void *
vnet_domain_get(struct vnet *v, int slot)
{
	/* acquire: pairs with the release store in vnet_domain_set() */
	return atomic_load_explicit(&v->v_dom[slot], memory_order_acquire);
}

/*
 * Register a setting (min <= def <= max).  If a setting of that name exists with the
 * same range it is returned as is (so a domain detached and attached again finds its
 * settings with their values); otherwise -EEXIST.  Returns 0 and sets *out, or
 * -EINVAL, -EEXIST, -ENOMEM.  Takes v_lock; may block.  The setting lives until
 * vnet_destroy(), so the data path may keep the pointer.
 */
int vnet_setting_register(struct vnet *v, const char *name, int64_t min, int64_t max,
    int64_t def, const char *descr, struct vnet_setting **out);

/* Set by name: 0, -ENOENT, -ERANGE (outside [min, max]).  Takes v_lock; may block. */
int vnet_setting_set(struct vnet *v, const char *name, int64_t value);

/* Get by name: 0, -ENOENT.  Takes v_lock; may block. */
int vnet_setting_get(struct vnet *v, const char *name, int64_t *value);

/* Call cb for each setting in registration order (under v_lock: cb must not call back). */
void vnet_setting_foreach(struct vnet *v,
    void (*cb)(const struct vnet_setting *s, int64_t value, void *arg), void *arg);

/* Data path read: one relaxed load, any context. */
static inline int64_t
vnet_setting_read(const struct vnet_setting *s)
{
	/* relaxed: pairs with nothing; a setting is not a synchronisation point */
	return atomic_load_explicit(&s->vs_value, memory_order_relaxed);
}

/*
 * Interface lookup by index (1..v_ifmax-1) or name.  Must be called inside a psz read
 * section; the result stays valid until the section ends.  NULL if none.
 */
struct ifnet *vnet_if_byindex(struct vnet *v, int index);
struct ifnet *vnet_if_byname(struct vnet *v, const char *name);

#endif /* SMPNET_NET_VNET_H */
