/*
 * if_dispatch.c - ethertype and IP-protocol dispatch tables (see if_dispatch.h).
 *
 * Ethertype table: an immutable array of {type, fn, arg} sorted by type, published
 * whole through one RCU pointer; a registration copies it with the change and publishes
 * the copy (copy-on-write), then frees the old array after a grace period.  A lookup is
 * one acquire load and a scan of a few entries.
 *
 * IP-protocol tables: per family, 256 RCU-published pointers to immutable {fn, arg}
 * records; a registration publishes a new record and frees the replaced one after a
 * grace period.  A lookup is one acquire load.
 *
 * Early input hook: one RCU-published pointer to an immutable {fn, arg} record, replaced
 * as an IP-protocol entry is.  A lookup is one acquire load; none installed costs
 * if_input one load and a branch.
 *
 * Writers serialise on the vnet's writer lock and wait for the grace period after
 * dropping it (a lock is never held across psz_synchronize).
 */
#include "net/if_dispatch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kern/kassert.h"
#include "kern/psz.h"
#include "mbuf/mbuf.h"
#include "net/if_pcpu.h"
#include "net/if_var.h"
#include "net/vnet.h"

struct ether_entry {
	uint16_t	 ee_type;
	ether_handler_t	 ee_fn;
	void		*ee_arg;
};

struct ether_table {
	int			et_count;		/* [I] */
	struct ether_entry	et_entry[];		/* [I] sorted by ee_type */
};

struct proto_entry {
	ipproto_handler_t	 pe_fn;		/* [I] */
	void			*pe_arg;	/* [I] */
};

struct early_entry {
	early_handler_t		 xe_fn;		/* [I] */
	void			*xe_arg;	/* [I] */
};

/* Counter indices in dt_cnt. */
enum { DC_ETHER_UNKNOWN = 0, DC_IPPROTO_UNKNOWN = 1 /* + family */ };

struct dispatch_tables {
	struct vnet			*dt_vnet;		/* [I] */
	int				 dt_ncpu;		/* [I] */
	_Atomic(struct ether_table *)	 dt_ether;		/* [R, W v_lock] */
	_Atomic(struct proto_entry *)	 dt_proto[DISPATCH_NFAMILY][256]; /* [R, W v_lock] */
	_Atomic(struct early_entry *)	 dt_early;		/* [R, W v_lock] */
	struct if_pcpu			*dt_cnt;		/* [c] */
};

struct dispatch_tables *
dispatch_create(struct vnet *v)
{
	struct dispatch_tables *dt = calloc(1, sizeof(*dt));

	if (dt == NULL)
		return NULL;
	dt->dt_vnet = v;
	dt->dt_ncpu = kern_ncpu(v->v_kern);
	if ((dt->dt_cnt = if_pcpu_alloc(v->v_kern)) == NULL) {
		free(dt);
		return NULL;
	}
	return dt;
}

void
dispatch_destroy(struct dispatch_tables *dt)
{
	int f, p;

	free(atomic_load_explicit(&dt->dt_ether, memory_order_relaxed));
	for (f = 0; f < DISPATCH_NFAMILY; f++)
		for (p = 0; p < 256; p++)
			free(atomic_load_explicit(&dt->dt_proto[f][p], memory_order_relaxed));
	free(atomic_load_explicit(&dt->dt_early, memory_order_relaxed));
	if_pcpu_free(dt->dt_cnt);
	free(dt);
}

/* ------------------------------------------------------------------ ethertypes */

static struct ether_table *
ether_table_alloc(int n)
{
	struct ether_table *t = malloc(sizeof(*t) + (size_t)n * sizeof(t->et_entry[0]));

	if (t != NULL)
		t->et_count = n;
	return t;
}

/*
 * Copy old without type, then insert e (if non-NULL) in order.  Returns the new table
 * (NULL with *err set), and whether type was present in *found.
 */
static struct ether_table *
ether_table_edit(const struct ether_table *old, uint16_t type,
    const struct ether_entry *e, bool *found, int *err)
{
	int n = old != NULL ? old->et_count : 0, i, j = 0;
	struct ether_table *t = ether_table_alloc(n + 1);

	*found = false;
	if (t == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (old->et_entry[i].ee_type == type)
			*found = true;
		else
			t->et_entry[j++] = old->et_entry[i];
	}
	if (e != NULL) {	/* insertion into the sorted array */
		for (i = j; i > 0 && t->et_entry[i - 1].ee_type > type; i--)
			t->et_entry[i] = t->et_entry[i - 1];
		t->et_entry[i] = *e;
		j++;
	}
	t->et_count = j;
	return t;
}

/* Publish a new ethertype table; free the old one after a grace period. */
static int
ether_table_update(struct vnet *v, uint16_t type, const struct ether_entry *e)
{
	struct dispatch_tables *dt = v->v_dispatch;
	struct ether_table *old, *t;
	bool found;
	int err = 0;

	KASSERT(!psz_read_held());	/* we wait for a grace period below */
	vnet_lock(v);
	old = atomic_load_explicit(&dt->dt_ether, memory_order_relaxed);	/* [W v_lock] */
	t = ether_table_edit(old, type, e, &found, &err);
	if (t != NULL && e == NULL && !found)
		err = -ENOENT;
	if (t != NULL && err == 0)
		psz_publish(&dt->dt_ether, t);	/* pairs with psz_deref in ether lookup */
	vnet_unlock(v);
	if (err != 0) {
		free(t);
		return err;
	}
	psz_synchronize();	/* nobody runs a handler found in old any more */
	free(old);
	return 0;
}

int
dispatch_ether_register(struct vnet *v, uint16_t type, ether_handler_t fn, void *arg)
{
	struct ether_entry e = { .ee_type = type, .ee_fn = fn, .ee_arg = arg };

	if (fn == NULL)
		return -EINVAL;
	return ether_table_update(v, type, &e);
}

int
dispatch_ether_unregister(struct vnet *v, uint16_t type)
{
	return ether_table_update(v, type, NULL);
}

static const struct ether_entry *
ether_table_find(const struct ether_table *t, uint16_t type)
{
	int i;

	if (t == NULL)
		return NULL;
	for (i = 0; i < t->et_count; i++)
		if (t->et_entry[i].ee_type >= type)
			return t->et_entry[i].ee_type == type ? &t->et_entry[i] : NULL;
	return NULL;
}

int
dispatch_ether_input(struct vnet *v, struct ifnet *ifp, uint16_t type, struct mbuf *m)
{
	struct dispatch_tables *dt = v->v_dispatch;
	const struct ether_entry *e;
	int rv = 0;

	psz_read_enter();
	e = ether_table_find(psz_deref(&dt->dt_ether), type);
	if (__predict_true(e != NULL)) {
		e->ee_fn(ifp, m, e->ee_arg);
	} else {
		if_pcpu_add(dt->dt_cnt, v->v_kern, dt->dt_ncpu, DC_ETHER_UNKNOWN, 1);
		m_freem(m);
		rv = -ENOENT;
	}
	psz_read_exit();
	return rv;
}

/* ------------------------------------------------------------------ IP protocols */

/* Free a record replaced in a table (NULL: none) once no reader can run it. */
static void
dispatch_retire(void *old)
{
	if (old != NULL) {
		psz_synchronize();	/* nobody runs old's handler any more */
		free(old);
	}
}

static int
ipproto_update(struct vnet *v, int family, uint8_t proto, struct proto_entry *e)
{
	struct dispatch_tables *dt = v->v_dispatch;
	struct proto_entry *old;

	KASSERT(!psz_read_held());	/* we wait for a grace period below */
	vnet_lock(v);
	old = atomic_load_explicit(&dt->dt_proto[family][proto],
	    memory_order_relaxed);	/* [W v_lock] */
	if (old == NULL && e == NULL) {
		vnet_unlock(v);
		return -ENOENT;
	}
	psz_publish(&dt->dt_proto[family][proto], e);	/* pairs with dispatch input */
	vnet_unlock(v);
	dispatch_retire(old);
	return 0;
}

int
dispatch_ipproto_register(struct vnet *v, int family, uint8_t proto,
    ipproto_handler_t fn, void *arg)
{
	struct proto_entry *e;
	int err;

	if (fn == NULL || family < 0 || family >= DISPATCH_NFAMILY)
		return -EINVAL;
	if ((e = malloc(sizeof(*e))) == NULL)
		return -ENOMEM;
	e->pe_fn = fn;
	e->pe_arg = arg;
	if ((err = ipproto_update(v, family, proto, e)) != 0)
		free(e);
	return err;
}

int
dispatch_ipproto_unregister(struct vnet *v, int family, uint8_t proto)
{
	if (family < 0 || family >= DISPATCH_NFAMILY)
		return -EINVAL;
	return ipproto_update(v, family, proto, NULL);
}

int
dispatch_ipproto_input(struct vnet *v, int family, uint8_t proto, struct ifnet *ifp,
    struct mbuf *m, int off)
{
	struct dispatch_tables *dt = v->v_dispatch;
	struct proto_entry *e;
	int rv = 0;

	psz_read_enter();
	e = psz_deref(&dt->dt_proto[family][proto]);
	if (__predict_true(e != NULL)) {
		e->pe_fn(ifp, m, off, e->pe_arg);
	} else {
		if_pcpu_add(dt->dt_cnt, v->v_kern, dt->dt_ncpu,
		    DC_IPPROTO_UNKNOWN + family, 1);
		m_freem(m);
		rv = -ENOENT;
	}
	psz_read_exit();
	return rv;
}

/* ------------------------------------------------------------------ early input */

int
dispatch_early_set(struct vnet *v, early_handler_t fn, void *arg)
{
	struct dispatch_tables *dt = v->v_dispatch;
	struct early_entry *e = NULL, *old;

	KASSERT(!psz_read_held());	/* we wait for a grace period below */
	if (fn != NULL) {
		if ((e = malloc(sizeof(*e))) == NULL)
			return -ENOMEM;
		e->xe_fn = fn;
		e->xe_arg = arg;
	}
	vnet_lock(v);
	old = atomic_load_explicit(&dt->dt_early, memory_order_relaxed);	/* [W v_lock] */
	psz_publish(&dt->dt_early, e);	/* pairs with psz_deref in dispatch_early_input */
	vnet_unlock(v);
	dispatch_retire(old);
	return 0;
}

bool
dispatch_early_input(struct vnet *v, struct ifnet *ifp, struct mbuf *m)
{
	struct early_entry *e;
	bool took = false;

	psz_read_enter();
	e = psz_deref(&v->v_dispatch->dt_early);
	if (e != NULL)
		took = e->xe_fn(ifp, m, e->xe_arg);
	psz_read_exit();
	return took;
}

bool
dispatch_ipproto_registered(struct vnet *v, int family, uint8_t proto)
{
	bool r;

	if (family < 0 || family >= DISPATCH_NFAMILY)
		return false;
	psz_read_enter();
	r = psz_deref(&v->v_dispatch->dt_proto[family][proto]) != NULL;
	psz_read_exit();
	return r;
}

void
dispatch_stats(struct vnet *v, struct dispatch_stats *st)
{
	struct dispatch_tables *dt = v->v_dispatch;
	int f;

	st->ds_ether_unknown = if_pcpu_sum(dt->dt_cnt, dt->dt_ncpu, DC_ETHER_UNKNOWN);
	for (f = 0; f < DISPATCH_NFAMILY; f++)
		st->ds_ipproto_unknown[f] = if_pcpu_sum(dt->dt_cnt, dt->dt_ncpu,
		    DC_IPPROTO_UNKNOWN + f);
}
