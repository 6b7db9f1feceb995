/*
 * arp.c - ARP and the per-interface neighbour cache (design in arp.h).
 *
 * The cache is a fixed array of ARP_NBUCKET RCU hash chains.  Readers (arp_output on
 * the data path) walk a chain inside their psz read section without any lock or store,
 * except one relaxed store of the entry's "used" flag the first time it is used in a
 * timer period (so a busy entry costs one shared-line write per period, not one per
 * packet).  Writers (ARP input, the miss path, the timer, control calls) serialise on
 * the cache's kmutex ac_lock.
 *
 * Entries are copy-on-write for their link-layer part: ln_valid and ln_hdr never change
 * once published.  When a neighbour resolves (INCOMPLETE -> REACHABLE) or changes its
 * MAC, a new entry replaces the old one in its chain with one release store; the old one
 * is freed after a grace period.  So a reader that sees ln_valid reads a complete header
 * without tearing.  The mutable part (state, deadline, requests sent, hold queue) is
 * touched only under ac_lock.
 *
 * Timers: one continuation per cache (ac_timer, on CPU ifindex % ncpu), armed while the
 * cache has entries, every net.inet.arp.tick_ms.  Each run walks the entries whose
 * deadline has passed and moves them along INCOMPLETE -> (retransmit | delete),
 * REACHABLE -> STALE, STALE -> (PROBE if used | delete), PROBE -> (retransmit | delete).
 * One timer per cache rather than one per entry keeps entry lifetime simple (an entry
 * owns no continuation, so freeing it needs only a grace period) and costs a walk of a
 * small table per tick.  Frames are built under ac_lock and transmitted after it is
 * released, so no driver runs under the lock.  The packets held by a neighbour that
 * never answered are answered with ICMP host unreachable (to their senders, local or
 * not) after the lock is released.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kern/kassert.h"
#include "kern/kcont.h"
#include "kern/ktime.h"
#include "mbuf/mbuf.h"
#include "net/ether.h"
#include "netinet/arp.h"
#include "netinet/arp_wire.h"
#include "netinet/icmp.h"
#include "netinet/in_var.h"

#define ARP_NBUCKET	64	/* power of two */
#define MS		1000000ull

struct llentry {
	_Atomic(struct llentry *) ln_next;	/* [R, W ac_lock] chain */
	uint32_t		 ln_addr;	/* [I] host order */
	bool			 ln_valid;	/* [I] ln_hdr is a resolved header */
	uint8_t			 ln_hdr[ETHER_HDR_LEN];	/* [I] */
	_Atomic uint8_t		 ln_used;	/* [a] relaxed: set by output, cleared by timer */
	int			 ln_state;	/* [W ac_lock] ARP_* */
	int			 ln_asked;	/* [W ac_lock] requests sent in this state */
	uint64_t		 ln_expire;	/* [W ac_lock] deadline of the state (ktime) */
	struct mbuf		*ln_hold;	/* [W ac_lock] held packets (m_nextpkt) */
	struct mbuf		*ln_holdtail;	/* [W ac_lock] */
	int			 ln_nhold;	/* [W ac_lock] */
	struct psz_head		 ln_psz;
};

struct arp_cache {
	struct inet		*ac_inet;	/* [I] */
	struct ifnet		*ac_ifp;	/* [I] */
	struct kmutex		 ac_lock;	/* writers of the chains and entry states */
	struct kcont		 ac_timer;	/* the cache's timer */
	int			 ac_cpu;	/* [I] timer CPU */
	int			 ac_count;	/* [W ac_lock] entries */
	bool			 ac_dying;	/* [W ac_lock] no re-arming */
	_Atomic(struct llentry *) ac_hash[ARP_NBUCKET];	/* [R, W ac_lock] */
};

static const struct klock_class arp_cache_class = { "arp_cache" };

static unsigned
arp_hash(uint32_t addr)
{
	return (addr * 0x9e3779b1u) >> 26;	/* top 6 bits: ARP_NBUCKET */
}
_Static_assert(ARP_NBUCKET == 64, "arp_hash gives 6 bits");

static uint64_t
arp_ms(const struct vnet_setting *s)
{
	return (uint64_t)in_setting(s) * MS;
}

/* ------------------------------------------------------------------ lookup */

/* Reader lookup: inside a read section (or under ac_lock). */
static struct llentry *
arp_lookup(struct arp_cache *ac, uint32_t addr)
{
	struct llentry *ln;

	for (ln = psz_deref(&ac->ac_hash[arp_hash(addr)]); ln != NULL;
	    ln = psz_deref(&ln->ln_next))
		if (ln->ln_addr == addr)
			return ln;
	return NULL;
}

/* Writer lookup: the link pointing to addr's entry (or the chain's end).  ac_lock. */
static _Atomic(struct llentry *) *
arp_slot(struct arp_cache *ac, uint32_t addr)
{
	_Atomic(struct llentry *) *pp = &ac->ac_hash[arp_hash(addr)];
	struct llentry *ln;

	KMUTEX_ASSERT_HELD(&ac->ac_lock);
	while ((ln = atomic_load_explicit(pp, memory_order_relaxed)) != NULL &&
	    ln->ln_addr != addr)
		pp = &ln->ln_next;
	return pp;
}

static void
arp_entry_free_deferred(struct psz_head *ph)
{
	free(container_of(ph, struct llentry, ln_psz));
}

/* Unlink the entry at *pp and free it after a grace period; returns its held packets. */
static struct mbuf *
arp_entry_remove(struct arp_cache *ac, _Atomic(struct llentry *) *pp)
{
	struct llentry *ln = atomic_load_explicit(pp, memory_order_relaxed);
	struct mbuf *hold = ln->ln_hold;

	KMUTEX_ASSERT_HELD(&ac->ac_lock);
	/* release: pairs with the readers' psz_deref; readers on ln still see its next */
	psz_publish(pp, atomic_load_explicit(&ln->ln_next, memory_order_relaxed));
	ac->ac_count--;
	psz_defer(&ln->ln_psz, arp_entry_free_deferred);
	return hold;
}

/* A new entry (replacing: the count does not grow).  NULL: full or no memory. */
static struct llentry *
arp_entry_alloc(struct arp_cache *ac, uint32_t addr, const uint8_t *mac, bool replacing)
{
	struct llentry *ln;

	KMUTEX_ASSERT_HELD(&ac->ac_lock);
	if (!replacing && ac->ac_count >= in_setting(ac->ac_inet->in_s_arp_max)) {
		inet_count(ac->ac_inet, INS_ARP_FULL, 1);
		return NULL;
	}
	if ((ln = calloc(1, sizeof(*ln))) == NULL) {
		inet_count(ac->ac_inet, INS_ARP_NOMEM, 1);
		return NULL;
	}
	ln->ln_addr = addr;
	if (mac != NULL) {
		ln->ln_valid = true;
		ether_header_build(ln->ln_hdr, mac, ac->ac_ifp->if_lladdr, ETHERTYPE_IP);
	}
	return ln;
}

static void
arp_timer_arm(struct arp_cache *ac)
{
	int64_t tick = in_setting(ac->ac_inet->in_s_arp_tick);

	(void)kcont_schedule(&ac->ac_timer, ac->ac_cpu, (uint64_t)tick * MS);
}

/* ------------------------------------------------------------------ frames */

/* Build an ARP packet (not yet framed).  NULL if no mbuf. */
static struct mbuf *
arp_build(struct arp_cache *ac, uint16_t op, uint32_t spa, const uint8_t *tha, uint32_t tpa)
{
	struct mbuf *m = m_gethdr(ac->ac_ifp->if_vnet->v_pools, MT_DATA);
	struct arp_fields f = { .af_op = op, .af_spa = spa, .af_tpa = tpa };

	if (m == NULL) {
		inet_count(ac->ac_inet, INS_ARP_NOMEM, 1);
		return NULL;
	}
	m_align(m, ARP_LEN);
	memcpy(f.af_sha, ac->ac_ifp->if_lladdr, ETHER_ADDR_LEN);
	if (tha != NULL)
		memcpy(f.af_tha, tha, ETHER_ADDR_LEN);
	(void)arp_emit(mtod(m, uint8_t *), ARP_LEN, &f);
	m->m_len = m->m_pkthdr.len = ARP_LEN;
	return m;
}

/* Our source address for a request to tpa (0 if the interface has none).  Read section. */
static uint32_t
arp_source(struct arp_cache *ac, uint32_t tpa)
{
	struct in_ifaddr *ia = in_ifaddr_for(ac->ac_ifp, tpa);

	return ia != NULL ? ia->ia_addr : 0;
}

/* A request for tpa (tha = mac, or zero when NULL).  Read section. */
static struct mbuf *
arp_request_build(struct arp_cache *ac, uint32_t tpa, const uint8_t *mac)
{
	return arp_build(ac, ARP_OP_REQUEST, arp_source(ac, tpa), mac, tpa);
}

static void
arp_send(struct arp_cache *ac, struct mbuf *m, const uint8_t *dst)
{
	(void)ether_output(ac->ac_ifp, m, dst, ETHERTYPE_ARP);
}

/* A request built under the lock, transmitted after it. */
struct arp_txreq {
	struct mbuf	*tr_m;
	uint8_t		 tr_dst[ETHER_ADDR_LEN];
};

/* ------------------------------------------------------------------ output */

static int
arp_output_hit(struct arp_cache *ac, struct llentry *ln, struct mbuf *m)
{
	/* relaxed: a hint for the timer; written once per period (pairs with nothing) */
	if (!atomic_load_explicit(&ln->ln_used, memory_order_relaxed))
		atomic_store_explicit(&ln->ln_used, 1, memory_order_relaxed);
	return ether_output_frame(ac->ac_ifp, m, ln->ln_hdr);
}

/* Append m to ln's hold queue, or drop it when the queue is full.  ac_lock. */
static int
arp_hold(struct arp_cache *ac, struct llentry *ln, struct mbuf *m)
{
	KMUTEX_ASSERT_HELD(&ac->ac_lock);
	if (ln->ln_nhold >= in_setting(ac->ac_inet->in_s_arp_hold)) {
		inet_count(ac->ac_inet, INS_ARP_HOLDDROP, 1);
		m_freem(m);
		return -ENOBUFS;
	}
	m->m_nextpkt = NULL;
	if (ln->ln_holdtail != NULL)
		ln->ln_holdtail->m_nextpkt = m;
	else
		ln->ln_hold = m;
	ln->ln_holdtail = m;
	ln->ln_nhold++;
	return 0;
}

/* A new INCOMPLETE entry for addr holding m.  ac_lock.  *req gets the request to send. */
static int
arp_miss_create(struct arp_cache *ac, _Atomic(struct llentry *) *pp, uint32_t addr,
    struct mbuf *m, struct mbuf **req)
{
	struct llentry *ln = arp_entry_alloc(ac, addr, NULL, false);

	if (ln == NULL) {
		m_freem(m);
		return -ENOBUFS;
	}
	ln->ln_state = ARP_INCOMPLETE;
	ln->ln_asked = 1;
	ln->ln_expire = ktime_now(ac->ac_inet->in_kern) + arp_ms(ac->ac_inet->in_s_arp_retrans);
	(void)arp_hold(ac, ln, m);
	atomic_init(&ln->ln_next, NULL);
	psz_publish(pp, ln);		/* pairs with arp_lookup's psz_deref */
	ac->ac_count++;
	*req = arp_request_build(ac, addr, NULL);
	return 0;
}

static int
arp_output_miss(struct arp_cache *ac, uint32_t addr, struct mbuf *m)
{
	_Atomic(struct llentry *) *pp;
	struct llentry *ln;
	struct mbuf *req = NULL;
	uint8_t hdr[ETHER_HDR_LEN];
	int err;

	kmutex_enter(&ac->ac_lock);
	pp = arp_slot(ac, addr);
	ln = atomic_load_explicit(pp, memory_order_relaxed);
	if (ln != NULL && ln->ln_valid) {	/* resolved meanwhile */
		memcpy(hdr, ln->ln_hdr, sizeof(hdr));
		kmutex_exit(&ac->ac_lock);
		return ether_output_frame(ac->ac_ifp, m, hdr);
	}
	if (ac->ac_dying) {
		kmutex_exit(&ac->ac_lock);
		m_freem(m);
		return -ENETDOWN;
	}
	err = ln != NULL ? arp_hold(ac, ln, m) : arp_miss_create(ac, pp, addr, m, &req);
	kmutex_exit(&ac->ac_lock);
	if (req != NULL) {
		inet_count(ac->ac_inet, INS_ARP_REQ_TX, 1);
		arp_send(ac, req, ether_broadcast_addr);
	}
	arp_timer_arm(ac);
	return err;
}

int
arp_output(struct arp_cache *ac, uint32_t nh, struct mbuf *m)
{
	struct llentry *ln;

	KASSERT(psz_read_held());
	ln = arp_lookup(ac, nh);
	if (__predict_true(ln != NULL && ln->ln_valid))
		return arp_output_hit(ac, ln, m);
	return arp_output_miss(ac, nh, m);
}

/* ------------------------------------------------------------------ learning */

/* Send the packets of a hold queue with header hdr. */
static void
arp_hold_flush(struct arp_cache *ac, struct mbuf *m, const uint8_t *hdr)
{
	struct mbuf *next;

	for (; m != NULL; m = next) {
		next = m->m_nextpkt;
		m->m_nextpkt = NULL;
		if (hdr != NULL)
			(void)ether_output_frame(ac->ac_ifp, m, hdr);
		else
			m_freem(m);
	}
}

static void
arp_make_reachable(struct arp_cache *ac, struct llentry *ln)
{
	ln->ln_state = ARP_REACHABLE;
	ln->ln_asked = 0;
	ln->ln_expire = ktime_now(ac->ac_inet->in_kern) +
	    arp_ms(ac->ac_inet->in_s_arp_reachable);
}

/*
 * Record addr at mac (create: also when no entry exists).  A new header replaces the
 * entry (copy-on-write); its held packets are then sent.  Read section.
 */
static void
arp_learn(struct arp_cache *ac, uint32_t addr, const uint8_t *mac, bool create)
{
	_Atomic(struct llentry *) *pp;
	struct llentry *ln, *nln;
	struct mbuf *hold = NULL;
	uint8_t hdr[ETHER_HDR_LEN];

	kmutex_enter(&ac->ac_lock);
	pp = arp_slot(ac, addr);
	ln = atomic_load_explicit(pp, memory_order_relaxed);
	if ((ln == NULL && !create) || ac->ac_dying) {
		kmutex_exit(&ac->ac_lock);
		return;
	}
	if (ln != NULL && ln->ln_valid && memcmp(ln->ln_hdr, mac, ETHER_ADDR_LEN) == 0) {
		arp_make_reachable(ac, ln);
		kmutex_exit(&ac->ac_lock);
		return;
	}
	if ((nln = arp_entry_alloc(ac, addr, mac, ln != NULL)) == NULL) {
		kmutex_exit(&ac->ac_lock);
		return;
	}
	arp_make_reachable(ac, nln);
	memcpy(hdr, nln->ln_hdr, sizeof(hdr));
	if (ln != NULL) {
		hold = ln->ln_hold;
		ln->ln_hold = NULL;
		atomic_init(&nln->ln_next, atomic_load_explicit(&ln->ln_next,
		    memory_order_relaxed));
		psz_publish(pp, nln);	/* replaces ln; pairs with arp_lookup */
		psz_defer(&ln->ln_psz, arp_entry_free_deferred);
	} else {
		atomic_init(&nln->ln_next, NULL);
		psz_publish(pp, nln);
		ac->ac_count++;
	}
	kmutex_exit(&ac->ac_lock);
	arp_timer_arm(ac);
	arp_hold_flush(ac, hold, hdr);
}

/* ------------------------------------------------------------------ input */

static void
arp_reply(struct arp_cache *ac, const struct arp_view *av)
{
	struct mbuf *r = arp_build(ac, ARP_OP_REPLY, arp_tpa(av), arp_sha(av), arp_spa(av));

	if (r == NULL)
		return;
	inet_count(ac->ac_inet, INS_ARP_REPLY_TX, 1);
	arp_send(ac, r, arp_sha(av));
}

/* True if addr is one of ifp's addresses.  Read section. */
static bool
arp_is_ours(struct ifnet *ifp, uint32_t addr)
{
	struct ifa_hdr *ifa;

	IF_ADDR_FOREACH(ifa, ifp, IF_AF_INET)
		if (((struct in_ifaddr *)ifa)->ia_addr == addr)
			return true;
	return false;
}

/* Sender sanity: not our own frame, not a broadcast/multicast MAC. */
static bool
arp_sender_ok(struct ifnet *ifp, const struct arp_view *av)
{
	const uint8_t *sha = arp_sha(av);

	return !ether_is_multicast(sha) && memcmp(sha, ifp->if_lladdr, ETHER_ADDR_LEN) != 0;
}

static void
arp_process(struct arp_cache *ac, const struct arp_view *av)
{
	struct inet *in = ac->ac_inet;
	bool ours = arp_is_ours(ac->ac_ifp, arp_tpa(av));
	uint32_t spa = arp_spa(av);

	if (arp_op(av) == ARP_OP_REQUEST)
		inet_count(in, INS_ARP_REQ_RX, 1);
	else
		inet_count(in, INS_ARP_REPLY_RX, 1);
	if (spa != 0 && !in_is_multicast(spa) && spa != INADDR_BROADCAST_H &&
	    !arp_is_ours(ac->ac_ifp, spa))
		arp_learn(ac, spa, arp_sha(av), ours);
	if (ours && arp_op(av) == ARP_OP_REQUEST)
		arp_reply(ac, av);
}

void
arp_input(struct ifnet *ifp, struct mbuf *m, void *arg)
{
	struct inet *in = arg;
	struct in_ifinfo *ii = in_ifinfo(in, ifp);
	struct arp_view av;

	inet_count(in, INS_ARP_RX, 1);
	if (ii == NULL || ii->ii_arp == NULL || m->m_pkthdr.len < ARP_LEN ||
	    (m = m_pullup(m, ARP_LEN)) == NULL) {
		inet_count(in, INS_ARP_BAD, 1);
		m_freem(m);
		return;
	}
	if (arp_parse(&av, mtod(m, const uint8_t *), (size_t)m->m_len) != WIRE_OK ||
	    !arp_sender_ok(ifp, &av))
		inet_count(in, INS_ARP_BAD, 1);
	else
		arp_process(ii->ii_arp, &av);
	m_freem(m);
}

void
arp_announce(struct arp_cache *ac, uint32_t addr)
{
	struct mbuf *m = arp_build(ac, ARP_OP_REQUEST, addr, NULL, addr);

	if (m == NULL)
		return;
	inet_count(ac->ac_inet, INS_ARP_GRAT_TX, 1);
	arp_send(ac, m, ether_broadcast_addr);
}

/* ------------------------------------------------------------------ timer */

struct arp_sweep {
	struct mbuf	*as_drop;	/* held packets of deleted entries (m_nextpkt) */
	struct mbuf	*as_unreach;	/* held packets of unresolved entries */
	struct arp_txreq as_tx[32];	/* requests to send */
	int		 as_ntx;
	uint64_t	 as_now;
};

/* Queue a request for ln (unicast to its MAC when it has one).  ac_lock. */
static bool
arp_sweep_request(struct arp_cache *ac, struct arp_sweep *sw, struct llentry *ln)
{
	struct arp_txreq *tr;

	if (sw->as_ntx == (int)(sizeof(sw->as_tx) / sizeof(sw->as_tx[0])))
		return false;	/* the rest waits for the next tick */
	tr = &sw->as_tx[sw->as_ntx];
	tr->tr_m = arp_request_build(ac, ln->ln_addr, ln->ln_valid ? ln->ln_hdr : NULL);
	if (tr->tr_m == NULL)
		return false;
	memcpy(tr->tr_dst, ln->ln_valid ? ln->ln_hdr : ether_broadcast_addr, ETHER_ADDR_LEN);
	sw->as_ntx++;
	ln->ln_asked++;
	ln->ln_expire = sw->as_now + arp_ms(ac->ac_inet->in_s_arp_retrans);
	return true;
}

static void
arp_list_prepend(struct mbuf **list, struct mbuf *hold)
{
	struct mbuf *last;

	if (hold == NULL)
		return;
	for (last = hold; last->m_nextpkt != NULL; last = last->m_nextpkt)
		;
	last->m_nextpkt = *list;
	*list = hold;
}

static void
arp_sweep_drop(struct arp_sweep *sw, struct mbuf *hold)
{
	arp_list_prepend(&sw->as_drop, hold);
}

/* Advance one expired entry; true if it was deleted.  ac_lock. */
static bool
arp_sweep_entry(struct arp_cache *ac, struct arp_sweep *sw, _Atomic(struct llentry *) *pp)
{
	struct llentry *ln = atomic_load_explicit(pp, memory_order_relaxed);
	struct inet *in = ac->ac_inet;
	bool retry = ln->ln_asked < in_setting(in->in_s_arp_tries);

	switch (ln->ln_state) {
	case ARP_REACHABLE:
		ln->ln_state = ARP_STALE;
		/* relaxed: restart the use hint for this period (pairs with nothing) */
		atomic_store_explicit(&ln->ln_used, 0, memory_order_relaxed);
		ln->ln_expire = sw->as_now + arp_ms(in->in_s_arp_stale);
		return false;
	case ARP_STALE:
		retry = atomic_load_explicit(&ln->ln_used, memory_order_relaxed) != 0;
		if (retry) {
			ln->ln_state = ARP_PROBE;
			ln->ln_asked = 0;
		}
		break;
	default:
		break;
	}
	if (retry && arp_sweep_request(ac, sw, ln))
		return false;
	if (retry)
		return false;	/* no room or mbuf: try again next tick */
	if (ln->ln_state == ARP_INCOMPLETE) {
		inet_count(in, INS_ARP_UNRESOLVED, 1);
		arp_list_prepend(&sw->as_unreach, arp_entry_remove(ac, pp));
	} else {
		inet_count(in, INS_ARP_EXPIRED, 1);
		arp_sweep_drop(sw, arp_entry_remove(ac, pp));
	}
	return true;
}

static void
arp_sweep(struct arp_cache *ac, struct arp_sweep *sw)
{
	_Atomic(struct llentry *) *pp;
	struct llentry *ln;
	int b;

	KMUTEX_ASSERT_HELD(&ac->ac_lock);
	for (b = 0; b < ARP_NBUCKET; b++) {
		pp = &ac->ac_hash[b];
		while ((ln = atomic_load_explicit(pp, memory_order_relaxed)) != NULL) {
			if (ln->ln_expire > sw->as_now || !arp_sweep_entry(ac, sw, pp))
				pp = &ln->ln_next;
		}
	}
}

/* Held packets of a neighbour that never answered: host unreachable to their senders. */
static void
arp_unreach(struct arp_cache *ac, struct mbuf *m)
{
	struct mbuf *next;

	for (; m != NULL; m = next) {
		next = m->m_nextpkt;
		m->m_nextpkt = NULL;
		(void)icmp_error(ac->ac_ifp->if_vnet, m, ICMP_UNREACH, ICMP_UNREACH_HOST, 0, NULL);
		m_freem(m);
	}
}

static void
arp_timer(void *arg)
{
	struct arp_cache *ac = arg;
	struct arp_sweep sw = { .as_now = ktime_now(ac->ac_inet->in_kern) };
	bool again;
	int i;

	psz_read_enter();
	kmutex_enter(&ac->ac_lock);
	arp_sweep(ac, &sw);
	again = ac->ac_count > 0 && !ac->ac_dying;
	kmutex_exit(&ac->ac_lock);
	for (i = 0; i < sw.as_ntx; i++) {
		inet_count(ac->ac_inet, INS_ARP_REQ_TX, 1);
		arp_send(ac, sw.as_tx[i].tr_m, sw.as_tx[i].tr_dst);
	}
	psz_read_exit();
	arp_hold_flush(ac, sw.as_drop, NULL);
	arp_unreach(ac, sw.as_unreach);
	if (again)
		arp_timer_arm(ac);
}

/* ------------------------------------------------------------------ control */

struct arp_cache *
arp_cache_create(struct inet *in, struct ifnet *ifp)
{
	struct arp_cache *ac = calloc(1, sizeof(*ac));
	int b;

	if (ac == NULL)
		return NULL;
	if (kmutex_init(&ac->ac_lock, in->in_kern, &arp_cache_class) != 0) {
		free(ac);
		errno = ENOMEM;
		return NULL;
	}
	ac->ac_inet = in;
	ac->ac_ifp = ifp;
	ac->ac_cpu = ifp->if_index % kern_ncpu(in->in_kern);
	for (b = 0; b < ARP_NBUCKET; b++)
		atomic_init(&ac->ac_hash[b], NULL);
	kcont_init(&ac->ac_timer, in->in_kern, arp_timer, ac, NULL, 0);
	return ac;
}

void
arp_cache_destroy(struct arp_cache *ac)
{
	struct arp_sweep sw = { 0 };
	int b;

	KASSERT(!psz_read_held());
	kmutex_enter(&ac->ac_lock);
	ac->ac_dying = true;
	kmutex_exit(&ac->ac_lock);
	(void)kcont_halt(&ac->ac_timer);
	kmutex_enter(&ac->ac_lock);
	for (b = 0; b < ARP_NBUCKET; b++)
		while (atomic_load_explicit(&ac->ac_hash[b], memory_order_relaxed) != NULL)
			arp_sweep_drop(&sw, arp_entry_remove(ac, &ac->ac_hash[b]));
	kmutex_exit(&ac->ac_lock);
	arp_hold_flush(ac, sw.as_drop, NULL);
	psz_barrier();		/* the entries' deferred frees have run */
	kmutex_fini(&ac->ac_lock);
	free(ac);
}

int
arp_delete(struct arp_cache *ac, uint32_t addr)
{
	_Atomic(struct llentry *) *pp;
	struct mbuf *hold = NULL;
	int err = -ENOENT;

	kmutex_enter(&ac->ac_lock);
	pp = arp_slot(ac, addr);
	if (atomic_load_explicit(pp, memory_order_relaxed) != NULL) {
		hold = arp_entry_remove(ac, pp);
		err = 0;
	}
	kmutex_exit(&ac->ac_lock);
	arp_hold_flush(ac, hold, NULL);
	return err;
}

static void
arp_entry_info(const struct llentry *ln, struct arp_entry_info *e)
{
	memset(e, 0, sizeof(*e));
	e->ae_addr = ln->ln_addr;
	if (ln->ln_valid)
		memcpy(e->ae_mac, ln->ln_hdr, ETHER_ADDR_LEN);
	e->ae_state = ln->ln_state;
	e->ae_nhold = ln->ln_nhold;
	e->ae_asked = ln->ln_asked;
}

int
arp_list(struct arp_cache *ac, int (*fn)(const struct arp_entry_info *e, void *arg),
    void *arg)
{
	struct arp_entry_info e;
	struct llentry *ln;
	int b, rc = 0;

	kmutex_enter(&ac->ac_lock);
	for (b = 0; b < ARP_NBUCKET && rc == 0; b++)
		for (ln = atomic_load_explicit(&ac->ac_hash[b], memory_order_relaxed);
		    ln != NULL && rc == 0;
		    ln = atomic_load_explicit(&ln->ln_next, memory_order_relaxed)) {
			arp_entry_info(ln, &e);
			rc = fn(&e, arg);
		}
	kmutex_exit(&ac->ac_lock);
	return rc;
}

const char *
arp_state_name(int state)
{
	static const char *const names[] = { "incomplete", "reachable", "stale", "probe" };

	return state >= 0 && state <= ARP_PROBE ? names[state] : "?";
}
