/*
 * if.c - interfaces: allocation, attach/detach, flags and MTU, RX poll continuations,
 * transmit queue selection, address lists, multicast filter, counters.
 *
 * The receive machinery and the detach sequence are described in if_var.h.  In short:
 * an RX queue's poll continuation runs on the queue's CPU inside a read section, calls
 * the driver's poll with a budget and reschedules itself while the budget is used up;
 * if_detach unpublishes, marks the interface dying, waits a grace period, halts the
 * continuations, stops the driver, lets the domains drop their state and frees the ifnet
 * after a further grace period.
 *
 * Multicast filter: a refcounted list under if_lock (control path) mirrored into an
 * immutable array published through RCU (data path: ether_input scans it).  Address
 * lists: RCU singly-linked lists, appended/unlinked under if_lock, records freed after a
 * grace period by their family's ifa_free.
 */
#include "net/ifnet.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kern/kassert.h"
#include "kern/kcont.h"
#include "kern/psz.h"
#include "mbuf/mbuf.h"
#include "net/ether.h"
#include "net/if_dispatch.h"
#include "net/if_pcpu.h"
#include "net/if_var.h"
#include "net/vnet.h"

#define IF_BUDGET_DEFAULT	64
#define IF_MTU_DEFAULT		1500
#define IF_MTU_MIN		68
#define IF_MTU_MAX		65535

/*
 * psz_defer, plus (under ThreadSanitizer) a release on the object psz_defer_run acquires:
 * the hand-off through liburcu's call_rcu queue is invisible to TSan, so without it the
 * deferred free would look unordered after this thread's last accesses (e.g. after
 * kcont_halt observed the poll continuation finished).
 */
static void
if_defer(struct psz_head *head, void (*fn)(struct psz_head *))
{
#ifdef PSZ_TSAN
	__tsan_release(&psz_tsan_sync);
#endif
	psz_defer(head, fn);
}

/* ------------------------------------------------------------------ allocation */

static int
if_config_check(const struct vnet *v, const struct if_config *cfg)
{
	if (v == NULL || cfg == NULL || cfg->name == NULL || cfg->ops == NULL ||
	    cfg->ops->ifo_transmit == NULL || cfg->ops->ifo_poll == NULL)
		return EINVAL;
	if (strlen(cfg->name) >= IFNAMSIZ_SMPNET || cfg->name[0] == '\0')
		return EINVAL;
	if (cfg->nrxq < 0 || cfg->nrxq > IF_MAXQUEUES || cfg->ntxq < 0 ||
	    cfg->ntxq > IF_MAXQUEUES || cfg->budget < 0)
		return EINVAL;
	if (cfg->mtu != 0 && (cfg->mtu < IF_MTU_MIN || cfg->mtu > IF_MTU_MAX))
		return EINVAL;
	return 0;
}

static void if_rxq_poll_run(void *arg);

static int
if_rxq_init(struct ifnet *ifp, const struct if_config *cfg, int q)
{
	struct if_rxq *rxq = &ifp->if_rxq[q];
	int ncpu = ifp->if_ncpu;

	rxq->rxq_ifp = ifp;
	rxq->rxq_idx = q;
	rxq->rxq_cpu = cfg->rxq_cpu != NULL ? cfg->rxq_cpu[q] : q % ncpu;
	if (rxq->rxq_cpu < 0 || rxq->rxq_cpu >= ncpu)
		return EINVAL;
	rxq->rxq_budget = cfg->budget > 0 ? cfg->budget : IF_BUDGET_DEFAULT;
	if ((rxq->rxq_cnt = if_pcpu_alloc(ifp->if_vnet->v_kern)) == NULL)
		return ENOMEM;
	kcont_init(&rxq->rxq_poll, ifp->if_vnet->v_kern, if_rxq_poll_run, rxq, NULL, 0);
	return 0;
}

static int
if_txq_init(struct ifnet *ifp, int q)
{
	struct if_txq *txq = &ifp->if_txq[q];

	txq->txq_ifp = ifp;
	txq->txq_idx = q;
	if ((txq->txq_cnt = if_pcpu_alloc(ifp->if_vnet->v_kern)) == NULL)
		return ENOMEM;
	return 0;
}

/* Per interface: flags, MTU, multicast list, addresses (never on the data path). */
static const struct klock_class ifnet_class = { "ifnet" };

/* 0 or a negative errno from kmutex_init (the lock is the last thing set up). */
static int
if_fields_init(struct ifnet *ifp, struct vnet *v, const struct if_config *cfg)
{
	ifp->if_vnet = v;
	ifp->if_ops = cfg->ops;
	ifp->if_softc = cfg->softc;
	ifp->if_input = cfg->input != NULL ? cfg->input : ether_input;
	atomic_init(&ifp->if_flags, cfg->flags & IFF_CANTCHANGE & ~IFF_RUNNING);
	atomic_init(&ifp->if_mtu, cfg->mtu != 0 ? cfg->mtu : IF_MTU_DEFAULT);
	atomic_init(&ifp->if_dying, false);
	atomic_init(&ifp->if_link, LINK_STATE_UNKNOWN);
	ifp->if_type = cfg->type;
	ifp->if_hdrlen = ETHER_HDR_LEN;
	ifp->if_nrxq = cfg->nrxq > 0 ? cfg->nrxq : 1;
	ifp->if_ntxq = cfg->ntxq > 0 ? cfg->ntxq : 1;
	ifp->if_ncpu = kern_ncpu(v->v_kern);
	if (cfg->lladdr != NULL)
		memcpy(ifp->if_lladdr, cfg->lladdr, sizeof(ifp->if_lladdr));
	snprintf(ifp->if_xname, sizeof(ifp->if_xname), "%s", cfg->name);
	return kmutex_init(&ifp->if_lock, v->v_kern, &ifnet_class);
}

/* Zeroed, cache-line aligned memory (size rounded up to a line). */
static void *
if_zalloc(size_t size)
{
	void *p;

	size = (size + CACHE_LINE - 1) & ~(size_t)(CACHE_LINE - 1);
	if ((p = aligned_alloc(CACHE_LINE, size)) != NULL)
		memset(p, 0, size);
	return p;
}

static int
if_queues_alloc(struct ifnet *ifp, const struct if_config *cfg)
{
	size_t rsz = sizeof(struct if_rxq) * (size_t)ifp->if_nrxq;
	size_t tsz = sizeof(struct if_txq) * (size_t)ifp->if_ntxq;
	int q, err;

	ifp->if_rxq = if_zalloc(rsz);
	ifp->if_txq = if_zalloc(tsz);
	ifp->if_cnt = if_pcpu_alloc(ifp->if_vnet->v_kern);
	if (ifp->if_rxq == NULL || ifp->if_txq == NULL || ifp->if_cnt == NULL)
		return ENOMEM;
	for (q = 0; q < ifp->if_nrxq; q++)
		if ((err = if_rxq_init(ifp, cfg, q)) != 0)
			return err;
	for (q = 0; q < ifp->if_ntxq; q++)
		if ((err = if_txq_init(ifp, q)) != 0)
			return err;
	return 0;
}

struct ifnet *
if_alloc(struct vnet *v, const struct if_config *cfg)
{
	struct ifnet *ifp;
	int err;

	if ((err = if_config_check(v, cfg)) != 0) {
		errno = err;
		return NULL;
	}
	if ((ifp = if_zalloc(sizeof(*ifp))) == NULL)
		return NULL;
	if ((err = if_fields_init(ifp, v, cfg)) != 0) {
		free(ifp);
		errno = -err;
		return NULL;
	}
	if ((err = if_queues_alloc(ifp, cfg)) != 0) {
		if_free(ifp);
		errno = err;
		return NULL;
	}
	return ifp;
}

static void
if_mfilter_free(struct if_mfilter *mf)
{
	free(mf);
}

void
if_free(struct ifnet *ifp)
{
	struct if_mentry *me, *next;
	int q;

	if (ifp == NULL)
		return;
	for (q = 0; ifp->if_rxq != NULL && q < ifp->if_nrxq; q++)
		if_pcpu_free(ifp->if_rxq[q].rxq_cnt);
	for (q = 0; ifp->if_txq != NULL && q < ifp->if_ntxq; q++)
		if_pcpu_free(ifp->if_txq[q].txq_cnt);
	for (me = ifp->if_mlist; me != NULL; me = next) {
		next = me->me_next;
		free(me);
	}
	if_mfilter_free(atomic_load_explicit(&ifp->if_mfilter, memory_order_relaxed));
	free(ifp->if_rxq);
	free(ifp->if_txq);
	if_pcpu_free(ifp->if_cnt);
	kmutex_fini(&ifp->if_lock);
	free(ifp);
}

/* ------------------------------------------------------------------ attach / detach */

static int
if_index_pick(struct vnet *v, const char *name)
{
	struct ifnet *ifp;
	int i;

	KMUTEX_ASSERT_HELD(&v->v_lock);
	for (ifp = v->v_iflist; ifp != NULL; ifp = ifp->if_next)
		if (strcmp(ifp->if_xname, name) == 0)
			return -EEXIST;
	for (i = 1; i < v->v_ifmax; i++)
		if (atomic_load_explicit(&v->v_ifindex[i], memory_order_relaxed) == NULL)
			return i;	/* [W v_lock]: relaxed read by the writer */
	return -ENOSPC;
}

/* Run the attached domains' dom_ifattach; undo on failure.  v_cfglock held. */
static int
if_domains_attach(struct ifnet *ifp)
{
	struct vnet *v = ifp->if_vnet;
	int s, err;

	KMUTEX_ASSERT_HELD(&v->v_cfglock);
	for (s = 0; s < DOM_MAX; s++) {
		const struct domain *dom = v->v_domain[s];

		if (dom == NULL || dom->dom_ifattach == NULL)
			continue;
		if ((err = dom->dom_ifattach(v, s, ifp)) != 0) {
			while (--s >= 0)
				if (v->v_domain[s] != NULL && v->v_domain[s]->dom_ifdetach)
					v->v_domain[s]->dom_ifdetach(v, s, ifp);
			return err;
		}
	}
	return 0;
}

static void
if_domains_detach(struct ifnet *ifp)
{
	struct vnet *v = ifp->if_vnet;
	int s;

	KMUTEX_ASSERT_HELD(&v->v_cfglock);
	for (s = DOM_MAX - 1; s >= 0; s--)
		if (v->v_domain[s] != NULL && v->v_domain[s]->dom_ifdetach != NULL)
			v->v_domain[s]->dom_ifdetach(v, s, ifp);
}

/* Link ifp into the table and list.  v_cfglock held. */
static void
if_publish(struct vnet *v, struct ifnet *ifp, int index)
{
	KMUTEX_ASSERT_HELD(&v->v_cfglock);
	vnet_lock(v);
	ifp->if_index = index;
	ifp->if_next = v->v_iflist;
	v->v_iflist = ifp;
	v->v_ifcount++;
	psz_publish(&v->v_ifindex[index], ifp);	/* pairs with vnet_if_byindex */
	vnet_unlock(v);
}

int
if_attach(struct ifnet *ifp)
{
	struct vnet *v = ifp->if_vnet;
	int index, err;

	KASSERT(!psz_read_held());
	kmutex_enter(&v->v_cfglock);
	vnet_lock(v);
	index = if_index_pick(v, ifp->if_xname);
	vnet_unlock(v);
	if (index < 0) {
		kmutex_exit(&v->v_cfglock);
		return index;
	}
	if ((err = if_domains_attach(ifp)) != 0) {
		kmutex_exit(&v->v_cfglock);
		return err < 0 ? err : -err;
	}
	if_publish(v, ifp, index);
	ifp->if_attached = true;
	kmutex_exit(&v->v_cfglock);
	return 0;
}

static void
if_unpublish(struct vnet *v, struct ifnet *ifp)
{
	struct ifnet **pp;

	vnet_lock(v);
	for (pp = &v->v_iflist; *pp != NULL; pp = &(*pp)->if_next)
		if (*pp == ifp) {
			*pp = ifp->if_next;
			break;
		}
	v->v_ifcount--;
	psz_publish(&v->v_ifindex[ifp->if_index], NULL);
	vnet_unlock(v);
}

static void
if_free_deferred(struct psz_head *ph)
{
	if_free(container_of(ph, struct ifnet, if_psz));
}

/* Remove every address record (their families' ifa_free runs after a grace period). */
static void
if_addrs_flush(struct ifnet *ifp)
{
	struct ifa_hdr *ifa;
	int af;

	for (af = 0; af < IF_NAF; af++)
		while ((ifa = atomic_load_explicit(&ifp->if_addrs[af],
		    memory_order_relaxed)) != NULL)
			(void)if_addr_remove(ifp, ifa);
}

void
if_detach(struct ifnet *ifp)
{
	struct vnet *v = ifp->if_vnet;
	int q;

	KASSERT(!psz_read_held());
	kmutex_enter(&v->v_cfglock);
	if (!ifp->if_attached) {
		kmutex_exit(&v->v_cfglock);
		return;
	}
	if_unpublish(v, ifp);
	/*
	 * seq_cst: ordered before the grace period below; pairs with the acquire loads
	 * of if_dying in if_transmit, if_rxq_intr and the RX poll.
	 */
	atomic_store_explicit(&ifp->if_dying, true, memory_order_seq_cst);
	atomic_fetch_and_explicit(&ifp->if_flags, ~IFF_RUNNING, memory_order_relaxed);
	psz_synchronize();
	for (q = 0; q < ifp->if_nrxq; q++)
		(void)kcont_halt(&ifp->if_rxq[q].rxq_poll);
	if (ifp->if_ops->ifo_stop != NULL)
		ifp->if_ops->ifo_stop(ifp);
	if_domains_detach(ifp);
	if_addrs_flush(ifp);
	ifp->if_attached = false;
	kmutex_exit(&v->v_cfglock);
	if_defer(&ifp->if_psz, if_free_deferred);
}

void
if_afdata_set(struct ifnet *ifp, int slot, void *data)
{
	/* release: the state is initialised before readers see it (if_afdata) */
	atomic_store_explicit(&ifp->if_afdata[slot], data, memory_order_release);
}

/* ------------------------------------------------------------------ receive */

void
if_rxq_intr(struct ifnet *ifp, int q)
{
	struct if_rxq *rxq = &ifp->if_rxq[q];

	KASSERT(psz_read_held());
	/* acquire: pairs with if_detach's seq_cst store (the grace period orders it) */
	if (__predict_false(atomic_load_explicit(&ifp->if_dying, memory_order_acquire)))
		return;
	(void)kcont_schedule(&rxq->rxq_poll, rxq->rxq_cpu, 0);
}

static void
if_rxq_poll_run(void *arg)
{
	struct if_rxq *rxq = arg;
	struct ifnet *ifp = rxq->rxq_ifp;
	int n;

	psz_read_enter();
	n = ifp->if_ops->ifo_poll(ifp, rxq, rxq->rxq_budget);
	if (n >= rxq->rxq_budget &&
	    !atomic_load_explicit(&ifp->if_dying, memory_order_acquire))
		(void)kcont_schedule(&rxq->rxq_poll, rxq->rxq_cpu, 0);
	psz_read_exit();
}

int
if_rxq_set_prio(struct ifnet *ifp, bool high)
{
	int r = 0;

	for (int q = 0; q < ifp->if_nrxq; q++) {
		struct if_rxq *rxq = &ifp->if_rxq[q];
		bool pending = kcont_halt(&rxq->rxq_poll) != 0;

		kcont_init(&rxq->rxq_poll, ifp->if_vnet->v_kern, if_rxq_poll_run, rxq, NULL,
		    high ? KC_PRIO_HIGH : 0);
		if (pending) {		/* a frame came in: poll it, and tell the caller */
			(void)kcont_schedule(&rxq->rxq_poll, rxq->rxq_cpu, 0);
			r = -EBUSY;
		}
	}
	return r;
}

void
if_input(struct ifnet *ifp, struct if_rxq *rxq, struct mbuf *m)
{
	if_rxq_counter_add(rxq, IFC_IPACKETS, 1);
	if_rxq_counter_add(rxq, IFC_IBYTES, (uint64_t)m->m_pkthdr.len);
	m->m_pkthdr.rcvif = (uint32_t)ifp->if_index;
	if (dispatch_early_input(ifp->if_vnet, ifp, m))
		return;		/* early demultiplexing (lazy receive processing) */
	ifp->if_input(ifp, m);
}

/* ------------------------------------------------------------------ transmit */

static struct if_txq *
if_txq_select(struct ifnet *ifp, const struct mbuf *m)
{
	uint32_t h;

	if (ifp->if_ntxq == 1)
		return &ifp->if_txq[0];
	if (m->m_pkthdr.hashtype != M_HASHTYPE_NONE)
		h = m->m_pkthdr.flowid;
	else
		h = (uint32_t)kcpu_slot(ifp->if_vnet->v_kern, ifp->if_ncpu);
	return &ifp->if_txq[h % (uint32_t)ifp->if_ntxq];
}

static bool
if_tx_ready(const struct ifnet *ifp)
{
	uint32_t f = atomic_load_explicit(&ifp->if_flags, memory_order_relaxed);

	/* acquire on if_dying: pairs with if_detach's store (see if_rxq_intr) */
	return (f & (IFF_UP | IFF_RUNNING)) == (IFF_UP | IFF_RUNNING) &&
	    !atomic_load_explicit(&ifp->if_dying, memory_order_acquire);
}

int
if_transmit(struct ifnet *ifp, struct mbuf *m)
{
	struct if_txq *txq;
	uint64_t len = (uint64_t)m->m_pkthdr.len;
	int err;

	KASSERT(psz_read_held());
	if (__predict_false(!if_tx_ready(ifp))) {
		if_counter_add(ifp, IFC_ODROPS, 1);
		m_freem(m);
		return -ENETDOWN;
	}
	if (__predict_false(len > (uint64_t)if_mtu(ifp) + (uint64_t)ifp->if_hdrlen)) {
		if_counter_add(ifp, IFC_OERRORS, 1);
		m_freem(m);
		return -EMSGSIZE;
	}
	txq = if_txq_select(ifp, m);
	if (__predict_false((err = ifp->if_ops->ifo_transmit(ifp, txq, m)) != 0)) {
		if_txq_counter_add(txq, IFC_ODROPS, 1);
		return err;
	}
	if_txq_counter_add(txq, IFC_OPACKETS, 1);
	if_txq_counter_add(txq, IFC_OBYTES, len);
	return 0;
}

/* ------------------------------------------------------------------ flags, MTU, link */

uint32_t
if_flags(const struct ifnet *ifp)
{
	/* relaxed: a snapshot; IFF_RUNNING carries no data dependency */
	return atomic_load_explicit(&ifp->if_flags, memory_order_relaxed);
}

int
if_setflags(struct ifnet *ifp, uint32_t set, uint32_t clear)
{
	uint32_t old, nf;
	int err = 0;

	set &= ~IFF_CANTCHANGE;
	clear &= ~IFF_CANTCHANGE;
	kmutex_enter(&ifp->if_lock);
	old = if_flags(ifp);
	nf = (old | set) & ~clear;
	if (ifp->if_ops->ifo_set_flags != NULL)
		err = ifp->if_ops->ifo_set_flags(ifp, nf);
	else if ((nf & IFF_UP) != (old & IFF_UP))
		if_set_running(ifp, (nf & IFF_UP) != 0);
	if (err == 0) {
		/* relaxed RMWs: flags are tested, not used to publish data */
		atomic_fetch_or_explicit(&ifp->if_flags, set, memory_order_relaxed);
		atomic_fetch_and_explicit(&ifp->if_flags, ~clear, memory_order_relaxed);
	}
	kmutex_exit(&ifp->if_lock);
	return err;
}

int
if_up(struct ifnet *ifp)
{
	return if_setflags(ifp, IFF_UP, 0);
}

int
if_down(struct ifnet *ifp)
{
	return if_setflags(ifp, 0, IFF_UP);
}

void
if_set_running(struct ifnet *ifp, bool running)
{
	/* relaxed RMW: see if_setflags */
	if (running)
		atomic_fetch_or_explicit(&ifp->if_flags, IFF_RUNNING, memory_order_relaxed);
	else
		atomic_fetch_and_explicit(&ifp->if_flags, ~IFF_RUNNING, memory_order_relaxed);
}

uint32_t
if_mtu(const struct ifnet *ifp)
{
	/* relaxed: pairs with if_set_mtu's relaxed store; a hint for the data path */
	return atomic_load_explicit(&ifp->if_mtu, memory_order_relaxed);
}

int
if_set_mtu(struct ifnet *ifp, uint32_t mtu)
{
	int err = 0;

	if (mtu < IF_MTU_MIN || mtu > IF_MTU_MAX)
		return -EINVAL;
	kmutex_enter(&ifp->if_lock);
	if (ifp->if_ops->ifo_set_mtu != NULL)
		err = ifp->if_ops->ifo_set_mtu(ifp, mtu);
	if (err == 0)
		atomic_store_explicit(&ifp->if_mtu, mtu, memory_order_relaxed);
	kmutex_exit(&ifp->if_lock);
	return err;
}

int
if_link_state(const struct ifnet *ifp)
{
	/* relaxed: a status snapshot */
	return atomic_load_explicit(&ifp->if_link, memory_order_relaxed);
}

void
if_link_state_change(struct ifnet *ifp, int state)
{
	atomic_store_explicit(&ifp->if_link, state, memory_order_relaxed);
}

const char *
if_name(const struct ifnet *ifp)
{
	return ifp->if_xname;
}

int
if_index(const struct ifnet *ifp)
{
	return ifp->if_index;
}

struct vnet *
if_vnet(const struct ifnet *ifp)
{
	return ifp->if_vnet;
}

const uint8_t *
if_lladdr(const struct ifnet *ifp)
{
	return ifp->if_lladdr;
}

/* ------------------------------------------------------------------ multicast */

static struct if_mentry *
if_multi_find(struct ifnet *ifp, const uint8_t mac[6])
{
	struct if_mentry *me;

	for (me = ifp->if_mlist; me != NULL; me = me->me_next)
		if (memcmp(me->me_addr, mac, 6) == 0)
			return me;
	return NULL;
}

static void
if_mfilter_free_deferred(struct psz_head *ph)
{
	if_mfilter_free(container_of(ph, struct if_mfilter, mf_psz));
}

/* Rebuild and publish the snapshot from the list.  if_lock held. */
static int
if_mfilter_rebuild(struct ifnet *ifp)
{
	struct if_mfilter *mf, *old;
	struct if_mentry *me;
	int n = 0;

	for (me = ifp->if_mlist; me != NULL; me = me->me_next)
		n++;
	if ((mf = malloc(sizeof(*mf) + (size_t)n * 6)) == NULL)
		return -ENOMEM;
	mf->mf_count = n;
	n = 0;
	for (me = ifp->if_mlist; me != NULL; me = me->me_next)
		memcpy(mf->mf_addr[n++], me->me_addr, 6);
	old = atomic_load_explicit(&ifp->if_mfilter, memory_order_relaxed); /* [L if_lock] */
	psz_publish(&ifp->if_mfilter, mf);	/* pairs with if_multi_match's psz_deref */
	if (old != NULL)
		if_defer(&old->mf_psz, if_mfilter_free_deferred);
	return 0;
}

static void
if_multi_notify(struct ifnet *ifp)
{
	if (ifp->if_ops->ifo_set_multi != NULL)
		ifp->if_ops->ifo_set_multi(ifp);
}

int
if_multi_join(struct ifnet *ifp, const uint8_t mac[6])
{
	struct if_mentry *me;
	int err = 0;

	if (!ether_is_multicast(mac))
		return -EINVAL;
	kmutex_enter(&ifp->if_lock);
	if ((me = if_multi_find(ifp, mac)) != NULL) {
		me->me_refcnt++;
		kmutex_exit(&ifp->if_lock);
		return 0;
	}
	if ((me = calloc(1, sizeof(*me))) == NULL) {
		kmutex_exit(&ifp->if_lock);
		return -ENOMEM;
	}
	memcpy(me->me_addr, mac, 6);
	me->me_refcnt = 1;
	me->me_next = ifp->if_mlist;
	ifp->if_mlist = me;
	if ((err = if_mfilter_rebuild(ifp)) != 0) {
		ifp->if_mlist = me->me_next;
		free(me);
	}
	kmutex_exit(&ifp->if_lock);
	if (err == 0)
		if_multi_notify(ifp);
	return err;
}

static void
if_multi_unlink(struct ifnet *ifp, struct if_mentry *me)
{
	struct if_mentry **pp;

	for (pp = &ifp->if_mlist; *pp != me; pp = &(*pp)->me_next)
		continue;
	*pp = me->me_next;
}

int
if_multi_leave(struct ifnet *ifp, const uint8_t mac[6])
{
	struct if_mentry *me;
	bool changed = false;

	kmutex_enter(&ifp->if_lock);
	if ((me = if_multi_find(ifp, mac)) == NULL) {
		kmutex_exit(&ifp->if_lock);
		return -ENOENT;
	}
	if (--me->me_refcnt == 0) {
		if_multi_unlink(ifp, me);
		if (if_mfilter_rebuild(ifp) != 0) {	/* keep the entry: filter unchanged */
			me->me_next = ifp->if_mlist;
			ifp->if_mlist = me;
			me->me_refcnt = 1;
			kmutex_exit(&ifp->if_lock);
			return -ENOMEM;
		}
		free(me);
		changed = true;
	}
	kmutex_exit(&ifp->if_lock);
	if (changed)
		if_multi_notify(ifp);
	return 0;
}

bool
if_multi_match(struct ifnet *ifp, const uint8_t mac[6])
{
	const struct if_mfilter *mf;
	int i;

	KASSERT(psz_read_held());
	mf = psz_deref(&ifp->if_mfilter);
	if (mf == NULL)
		return false;
	for (i = 0; i < mf->mf_count; i++)
		if (memcmp(mf->mf_addr[i], mac, 6) == 0)
			return true;
	return false;
}

int
if_multi_refcnt(struct ifnet *ifp, const uint8_t mac[6])
{
	struct if_mentry *me;
	int n;

	kmutex_enter(&ifp->if_lock);
	me = if_multi_find(ifp, mac);
	n = me != NULL ? me->me_refcnt : 0;
	kmutex_exit(&ifp->if_lock);
	return n;
}

struct if_mfilter *
if_multi_snapshot(struct ifnet *ifp)
{
	return psz_deref(&ifp->if_mfilter);
}

/* ------------------------------------------------------------------ addresses */

int
if_addr_add(struct ifnet *ifp, struct ifa_hdr *ifa)
{
	_Atomic(struct ifa_hdr *) *pp;

	if (ifa == NULL || ifa->ifa_family < 0 || ifa->ifa_family >= IF_NAF ||
	    ifa->ifa_free == NULL)
		return -EINVAL;
	ifa->ifa_ifp = ifp;
	atomic_init(&ifa->ifa_next, NULL);
	kmutex_enter(&ifp->if_lock);
	pp = &ifp->if_addrs[ifa->ifa_family];
	while (atomic_load_explicit(pp, memory_order_relaxed) != NULL)	/* [L if_lock] */
		pp = &atomic_load_explicit(pp, memory_order_relaxed)->ifa_next;
	psz_publish(pp, ifa);	/* pairs with IF_ADDR_FOREACH's psz_deref */
	kmutex_exit(&ifp->if_lock);
	return 0;
}

static void
if_addr_free_deferred(struct psz_head *ph)
{
	struct ifa_hdr *ifa = container_of(ph, struct ifa_hdr, ifa_psz);

	ifa->ifa_free(ifa);
}

int
if_addr_remove(struct ifnet *ifp, struct ifa_hdr *ifa)
{
	_Atomic(struct ifa_hdr *) *pp;
	struct ifa_hdr *cur;

	if (ifa == NULL || ifa->ifa_family < 0 || ifa->ifa_family >= IF_NAF)
		return -EINVAL;
	kmutex_enter(&ifp->if_lock);
	pp = &ifp->if_addrs[ifa->ifa_family];
	while ((cur = atomic_load_explicit(pp, memory_order_relaxed)) != NULL && cur != ifa)
		pp = &cur->ifa_next;
	if (cur != NULL)	/* readers on ifa keep following its (unchanged) next */
		psz_publish(pp, atomic_load_explicit(&ifa->ifa_next, memory_order_relaxed));
	kmutex_exit(&ifp->if_lock);
	if (cur == NULL)
		return -ENOENT;
	if_defer(&ifa->ifa_psz, if_addr_free_deferred);
	return 0;
}

/* ------------------------------------------------------------------ counters */

void
if_counter_add(struct ifnet *ifp, int c, uint64_t n)
{
	if_pcpu_add(ifp->if_cnt, ifp->if_vnet->v_kern, ifp->if_ncpu, c, n);
}

void
if_rxq_counter_add(struct if_rxq *rxq, int c, uint64_t n)
{
	struct ifnet *ifp = rxq->rxq_ifp;

	if_pcpu_add(rxq->rxq_cnt, ifp->if_vnet->v_kern, ifp->if_ncpu, c, n);
}

void
if_txq_counter_add(struct if_txq *txq, int c, uint64_t n)
{
	struct ifnet *ifp = txq->txq_ifp;

	if_pcpu_add(txq->txq_cnt, ifp->if_vnet->v_kern, ifp->if_ncpu, c, n);
}

/* Add the counters of one per-CPU array into st. */
static void
if_stats_add(struct if_stats *st, const struct if_pcpu *a, int ncpu)
{
	st->ifs_ipackets += if_pcpu_sum(a, ncpu, IFC_IPACKETS);
	st->ifs_ibytes += if_pcpu_sum(a, ncpu, IFC_IBYTES);
	st->ifs_idrops += if_pcpu_sum(a, ncpu, IFC_IDROPS);
	st->ifs_ierrors += if_pcpu_sum(a, ncpu, IFC_IERRORS);
	st->ifs_opackets += if_pcpu_sum(a, ncpu, IFC_OPACKETS);
	st->ifs_obytes += if_pcpu_sum(a, ncpu, IFC_OBYTES);
	st->ifs_odrops += if_pcpu_sum(a, ncpu, IFC_ODROPS);
	st->ifs_oerrors += if_pcpu_sum(a, ncpu, IFC_OERRORS);
	st->ifs_imcasts += if_pcpu_sum(a, ncpu, IFC_IMCASTS);
	st->ifs_noproto += if_pcpu_sum(a, ncpu, IFC_NOPROTO);
	st->ifs_filtered += if_pcpu_sum(a, ncpu, IFC_FILTERED);
	st->ifs_runts += if_pcpu_sum(a, ncpu, IFC_RUNTS);
}

void
if_stats(struct ifnet *ifp, struct if_stats *st)
{
	int q;

	memset(st, 0, sizeof(*st));
	if_stats_add(st, ifp->if_cnt, ifp->if_ncpu);
	for (q = 0; q < ifp->if_nrxq; q++)
		if_stats_add(st, ifp->if_rxq[q].rxq_cnt, ifp->if_ncpu);
	for (q = 0; q < ifp->if_ntxq; q++)
		if_stats_add(st, ifp->if_txq[q].txq_cnt, ifp->if_ncpu);
}

int
if_rxq_stats(struct ifnet *ifp, int q, struct if_stats *st)
{
	if (q < 0 || q >= ifp->if_nrxq)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	if_stats_add(st, ifp->if_rxq[q].rxq_cnt, ifp->if_ncpu);
	return 0;
}

int
if_txq_stats(struct ifnet *ifp, int q, struct if_stats *st)
{
	if (q < 0 || q >= ifp->if_ntxq)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	if_stats_add(st, ifp->if_txq[q].txq_cnt, ifp->if_ncpu);
	return 0;
}
