/*
 * in.c - the IPv4 domain: attach/detach to a vnet, per-interface state, addresses,
 * routes, settings and counters.
 *
 * Attach (inet_attach) builds struct inet (in_var.h): the IPv4 routing table published
 * in v->v_rt_inet, the per-CPU counters, the reassembly state, the settings, and then
 * registers the handlers (ETHERTYPE_IP, ETHERTYPE_ARP; protocols ICMP and IGMP), last,
 * so that no input reaches a half-built domain.  Detach undoes it in reverse: the
 * unregistrations wait for a grace period, so no handler runs afterwards.
 *
 * Addresses: an in_ifaddr is on its interface's RCU list (if_addr_add) and on the
 * vnet's RCU address hash (in_addrhash, keyed by address, chains under in_lock), so
 * ip_input decides "for us" with one hash lookup.  Adding an address adds the connected
 * route (prefix -> nexthop {ifp, on-link}) unless the prefix is already routed; removing
 * the last address of a prefix deletes the route that address added.
 *
 * IP ID: each CPU slot draws from its own sequence, id = n * (ncpu + 1) + slot, so two
 * CPUs never hand out the same ID and no shared atomic is touched on the hot path (the
 * shared foreign slot, used by application threads, takes a relaxed fetch_add).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "kern/kassert.h"
#include "lib/cksum.h"
#include "mbuf/mbuf.h"
#include "net/ether.h"
#include "net/if_dispatch.h"
#include "net/route.h"
#include "netinet/arp.h"
#include "netinet/icmp.h"
#include "netinet/igmp.h"
#include "netinet/in_var.h"
#include "netinet/ip_reass.h"
#include "netinet/ip_wire.h"

static const struct klock_class inet_lock_class = { "inet" };

#define INET_STAT_NAME(e, s)	s,
static const char *const inet_stat_names[INS_COUNT] = { INET_STATS(INET_STAT_NAME) };
#undef INET_STAT_NAME

/* ------------------------------------------------------------------ settings */

struct inet_setting_def {
	const char	*name;
	int64_t		 min, max, def;
	const char	*descr;
	size_t		 off;	/* offset of the pointer in struct inet */
};

#define S(n, lo, hi, d, txt, f)	{ n, lo, hi, d, txt, offsetof(struct inet, f) }
static const struct inet_setting_def inet_settings[] = {
	S("net.inet.ip.forwarding", 0, 1, 0, "forward IPv4 datagrams", in_s_forwarding),
	S("net.inet.ip.ttl", 1, 255, 64, "default TTL", in_s_ttl),
	S("net.inet.icmp.bmcastecho", 0, 1, 0, "answer broadcast echo", in_s_bcastecho),
	S("net.inet.ip.maxfragsperpacket", 1, 8192, 64, "fragments per datagram",
	    in_s_maxfrags),
	S("net.inet.ip.reass.timeout_ms", 1, 120000, 30000, "reassembly lifetime",
	    in_s_reass_timeout),
	S("net.inet.ip.reass.maxbytes", 65536, 1 << 30, 16 << 20, "bytes held",
	    in_s_reass_maxbytes),
	S("net.inet.ip.reass.maxqueues", 1, 4096, 16, "datagrams per bucket",
	    in_s_reass_maxq),
	S("net.inet.arp.reachable_ms", 1, 86400000, 30000, "REACHABLE lifetime",
	    in_s_arp_reachable),
	S("net.inet.arp.stale_ms", 1, 86400000, 60000, "STALE lifetime", in_s_arp_stale),
	S("net.inet.arp.retrans_ms", 1, 60000, 1000, "request interval", in_s_arp_retrans),
	S("net.inet.arp.maxtries", 1, 100, 3, "requests before giving up", in_s_arp_tries),
	S("net.inet.arp.maxhold", 0, 4096, 64, "packets held per entry", in_s_arp_hold),
	S("net.inet.arp.maxentries", 1, 1 << 20, 1024, "neighbour entries per interface",
	    in_s_arp_max),
	S("net.inet.arp.tick_ms", 1, 10000, 100, "neighbour timer period", in_s_arp_tick),
	S("net.inet.icmp.ratelimit", 0, 1000000, 1000, "errors per second per CPU",
	    in_s_icmp_rate),
	S("net.inet.icmp.burst", 1, 1000000, 100, "error burst per CPU", in_s_icmp_burst),
	S("net.inet.igmp.version", 2, 3, 3, "default IGMP version", in_s_igmp_version),
};
#undef S

static int
inet_settings_register(struct inet *in)
{
	const struct inet_setting_def *d;
	int err;

	for (d = inet_settings; d < inet_settings + sizeof(inet_settings) /
	    sizeof(inet_settings[0]); d++) {
		err = vnet_setting_register(in->in_vnet, d->name, d->min, d->max, d->def,
		    d->descr, (struct vnet_setting **)(void *)((char *)in + d->off));
		if (err != 0)
			return err;
	}
	return 0;
}

/* ------------------------------------------------------------------ helpers */

uint16_t
inet_ip_id(struct inet *in)
{
	int slot = kcpu_slot(in->in_kern, in->in_ncpu);
	struct inet_pcpu *p = pcpu_at(in->in_pcpu, sizeof(*p), slot);
	uint32_t n;

	if (slot == in->in_ncpu) {
		/* relaxed RMW: the foreign slot's writers only need distinct values */
		n = atomic_fetch_add_explicit(&p->ipc_id, 1, memory_order_relaxed);
	} else {
		/* relaxed: only this CPU writes its slot */
		n = atomic_load_explicit(&p->ipc_id, memory_order_relaxed);
		atomic_store_explicit(&p->ipc_id, n + 1, memory_order_relaxed);
	}
	return (uint16_t)(n * (uint32_t)(in->in_ncpu + 1) + (uint32_t)slot);
}

struct mbuf *
in_m_writable(struct mbuf *m, int len)
{
	struct mbuf *n;

	if (m->m_len >= len && m_writable(m))
		return m;
	if (len > MLEN - 32 || len > m->m_pkthdr.len ||
	    (n = m_gethdr(m->m_pools, MT_DATA)) == NULL) {
		m_freem(m);
		return NULL;
	}
	n->m_data += 32;	/* room for a link header */
	(void)m_copydata(m, 0, len, mtod(n, void *));
	m_adj(m, len);
	n->m_len = len;
	n->m_pkthdr = m->m_pkthdr;
	n->m_pkthdr.len += len;
	n->m_flags |= m->m_flags & (M_COPYFLAGS & ~M_PKTHDR);
	m->m_flags &= (uint16_t)~M_COPYFLAGS;
	n->m_next = m;
	return n;
}

struct in_ifaddr *
in_addr_lookup(struct inet *in, uint32_t addr)
{
	struct in_ifaddr *ia;

	for (ia = psz_deref(&in->in_addrhash[addr & (IN_ADDRHASH - 1)]); ia != NULL;
	    ia = psz_deref(&ia->ia_hnext))
		if (ia->ia_addr == addr)
			return ia;
	return NULL;
}

struct in_ifaddr *
in_ifaddr_first(struct ifnet *ifp)
{
	return (struct in_ifaddr *)psz_deref(&ifp->if_addrs[IF_AF_INET]);
}

struct in_ifaddr *
in_ifaddr_for(struct ifnet *ifp, uint32_t dst)
{
	struct ifa_hdr *ifa;
	struct in_ifaddr *ia;

	IF_ADDR_FOREACH(ifa, ifp, IF_AF_INET) {
		ia = (struct in_ifaddr *)ifa;
		if ((dst & ia->ia_mask) == ia->ia_net)
			return ia;
	}
	return in_ifaddr_first(ifp);
}

bool
in_is_bcast(struct ifnet *ifp, uint32_t addr)
{
	struct ifa_hdr *ifa;
	struct in_ifaddr *ia;

	if (addr == INADDR_BROADCAST_H)
		return true;
	IF_ADDR_FOREACH(ifa, ifp, IF_AF_INET) {
		ia = (struct in_ifaddr *)ifa;
		if (ia->ia_bcast != 0 && (addr == ia->ia_bcast || addr == ia->ia_net))
			return true;
	}
	return false;
}

/* ------------------------------------------------------------------ addresses */

static void
in_ifaddr_free(struct ifa_hdr *ifa)
{
	free(ifa);
}

static bool
in_addr_valid(uint32_t addr, unsigned plen)
{
	return plen <= 32 && addr != 0 && addr != INADDR_BROADCAST_H &&
	    !in_is_multicast(addr);
}

static struct in_ifaddr *
in_ifaddr_new(uint32_t addr, unsigned plen)
{
	struct in_ifaddr *ia = calloc(1, sizeof(*ia));

	if (ia == NULL)
		return NULL;
	ia->ia_ifa.ifa_family = IF_AF_INET;
	ia->ia_ifa.ifa_free = in_ifaddr_free;
	ia->ia_addr = addr;
	ia->ia_plen = plen;
	ia->ia_mask = in_plen_mask(plen);
	ia->ia_net = addr & ia->ia_mask;
	ia->ia_bcast = plen < 31 ? (ia->ia_net | ~ia->ia_mask) : 0;
	return ia;
}

static int
in_connected_route(struct inet *in, struct in_ifaddr *ia, struct ifnet *ifp)
{
	struct nh_spec nh = { .ns_ifp = ifp, .ns_ifindex = (uint32_t)if_index(ifp) };
	uint32_t net = htonl(ia->ia_net);
	int err;

	err = rt_add(in->in_rt, &net, ia->ia_plen, &nh, 0);
	if (err == -EEXIST)
		return 0;	/* another address routes the prefix */
	ia->ia_route = err == 0;
	return err;
}

static void
in_addrhash_insert(struct inet *in, struct in_ifaddr *ia)
{
	_Atomic(struct in_ifaddr *) *head = &in->in_addrhash[ia->ia_addr & (IN_ADDRHASH - 1)];

	KMUTEX_ASSERT_HELD(&in->in_lock);
	atomic_init(&ia->ia_hnext, atomic_load_explicit(head, memory_order_relaxed));
	psz_publish(head, ia);		/* pairs with in_addr_lookup's psz_deref */
}

static void
in_addrhash_remove(struct inet *in, struct in_ifaddr *ia)
{
	_Atomic(struct in_ifaddr *) *pp = &in->in_addrhash[ia->ia_addr & (IN_ADDRHASH - 1)];
	struct in_ifaddr *cur;

	KMUTEX_ASSERT_HELD(&in->in_lock);
	while ((cur = atomic_load_explicit(pp, memory_order_relaxed)) != NULL && cur != ia)
		pp = &cur->ia_hnext;
	if (cur != NULL)
		psz_publish(pp, atomic_load_explicit(&ia->ia_hnext, memory_order_relaxed));
}

static int
in_addr_add_locked(struct inet *in, struct ifnet *ifp, struct in_ifaddr *ia)
{
	int err;

	KMUTEX_ASSERT_HELD(&in->in_lock);
	if (in_addr_lookup(in, ia->ia_addr) != NULL)
		return -EEXIST;
	if (ia->ia_plen < 32 && (err = in_connected_route(in, ia, ifp)) != 0)
		return err;
	if ((err = if_addr_add(ifp, &ia->ia_ifa)) != 0)
		return err;
	in_addrhash_insert(in, ia);
	return 0;
}

int
in_addr_add(struct ifnet *ifp, uint32_t addr, unsigned plen)
{
	struct inet *in = inet_get(if_vnet(ifp));
	struct in_ifinfo *ii;
	struct in_ifaddr *ia;
	int err;

	if (in == NULL || (ii = in_ifinfo(in, ifp)) == NULL)
		return -EAFNOSUPPORT;
	if (!in_addr_valid(addr, plen))
		return -EINVAL;
	if ((ia = in_ifaddr_new(addr, plen)) == NULL)
		return -ENOMEM;
	kmutex_enter(&in->in_lock);
	err = in_addr_add_locked(in, ifp, ia);
	kmutex_exit(&in->in_lock);
	if (err != 0) {
		free(ia);
		return err;
	}
	if (ii->ii_arp != NULL) {
		psz_read_enter();
		arp_announce(ii->ii_arp, addr);
		psz_read_exit();
	}
	return 0;
}

/* Another address of the vnet on ia's prefix (to take over its route), or NULL. */
static struct in_ifaddr *
in_prefix_other(struct inet *in, struct in_ifaddr *ia)
{
	struct in_ifaddr *o;
	int b;

	for (b = 0; b < IN_ADDRHASH; b++)
		for (o = psz_deref(&in->in_addrhash[b]); o != NULL; o = psz_deref(&o->ia_hnext))
			if (o != ia && o->ia_plen == ia->ia_plen && o->ia_net == ia->ia_net)
				return o;
	return NULL;
}

static void
in_addr_unroute(struct inet *in, struct in_ifaddr *ia)
{
	struct in_ifaddr *o;
	uint32_t net = htonl(ia->ia_net);

	KMUTEX_ASSERT_HELD(&in->in_lock);
	if (!ia->ia_route)
		return;
	(void)rt_delete(in->in_rt, &net, ia->ia_plen);
	if ((o = in_prefix_other(in, ia)) != NULL)
		(void)in_connected_route(in, o, o->ia_ifa.ifa_ifp);
}

static void
in_addr_remove_locked(struct inet *in, struct ifnet *ifp, struct in_ifaddr *ia)
{
	KMUTEX_ASSERT_HELD(&in->in_lock);
	in_addrhash_remove(in, ia);
	in_addr_unroute(in, ia);
	(void)if_addr_remove(ifp, &ia->ia_ifa);	/* frees after a grace period */
}

int
in_addr_remove(struct ifnet *ifp, uint32_t addr)
{
	struct inet *in = inet_get(if_vnet(ifp));
	struct in_ifaddr *ia;
	int err = -ENOENT;

	if (in == NULL)
		return -EAFNOSUPPORT;
	kmutex_enter(&in->in_lock);
	psz_read_enter();	/* in_addr_lookup's contract; the lock keeps ia alive */
	ia = in_addr_lookup(in, addr);
	psz_read_exit();
	if (ia != NULL && ia->ia_ifa.ifa_ifp == ifp) {
		in_addr_remove_locked(in, ifp, ia);
		err = 0;
	}
	kmutex_exit(&in->in_lock);
	return err;
}

/* ------------------------------------------------------------------ routes */

int
in_route_add(struct vnet *v, uint32_t dst, unsigned plen, uint32_t gw, struct ifnet *ifp)
{
	struct inet *in = inet_get(v);
	struct nh_spec nh = { .ns_flags = gw != 0 ? NHF_GATEWAY : 0 };
	struct nhop *cn;
	uint32_t d = htonl(dst & in_plen_mask(plen)), g = htonl(gw);

	if (in == NULL)
		return -EAFNOSUPPORT;
	if (plen > 32 || (gw == 0 && ifp == NULL))
		return -EINVAL;
	if (ifp == NULL) {
		psz_read_enter();
		cn = rt_lookup4(in->in_rt, g);
		ifp = cn != NULL && !(cn->nh_spec.ns_flags & NHF_GATEWAY) ?
		    cn->nh_spec.ns_ifp : NULL;
		psz_read_exit();
		if (ifp == NULL)
			return -ENETUNREACH;
	}
	nh.ns_ifp = ifp;
	nh.ns_ifindex = (uint32_t)if_index(ifp);
	memcpy(nh.ns_gw, &g, 4);
	return rt_add(in->in_rt, &d, plen, &nh, RTF_STATIC);
}

int
in_route_delete(struct vnet *v, uint32_t dst, unsigned plen)
{
	struct inet *in = inet_get(v);
	uint32_t d = htonl(dst & in_plen_mask(plen));

	if (in == NULL)
		return -EAFNOSUPPORT;
	return rt_delete(in->in_rt, &d, plen);
}

/* ------------------------------------------------------------------ multicast */

/* Join or leave (op) group on ifp under the domain lock. */
static int
in_multi_change(struct ifnet *ifp, uint32_t group,
    int (*op)(struct igmp_ifinfo *, uint32_t))
{
	struct inet *in = inet_get(if_vnet(ifp));
	struct in_ifinfo *ii;
	int err;

	if (in == NULL || (ii = in_ifinfo(in, ifp)) == NULL)
		return -EAFNOSUPPORT;
	if (!in_is_multicast(group))
		return -EINVAL;
	kmutex_enter(&in->in_lock);
	err = op(ii->ii_igmp, group);
	kmutex_exit(&in->in_lock);
	return err;
}

int
in_multi_join(struct ifnet *ifp, uint32_t group)
{
	return in_multi_change(ifp, group, igmp_join);
}

int
in_multi_leave(struct ifnet *ifp, uint32_t group)
{
	return in_multi_change(ifp, group, igmp_leave);
}

bool
in_multi_member(struct ifnet *ifp, uint32_t group)
{
	struct inet *in = inet_get(if_vnet(ifp));
	struct in_ifinfo *ii;

	if (in == NULL || (ii = in_ifinfo(in, ifp)) == NULL)
		return false;
	return igmp_member(ii->ii_igmp, group);
}

/* ------------------------------------------------------------------ counters */

static uint64_t
inet_stat_sum(struct inet *in, int c)
{
	uint64_t s = 0;
	int i;

	for (i = 0; i <= in->in_ncpu; i++) {
		struct inet_pcpu *p = pcpu_at(in->in_pcpu, sizeof(*p), i);

		s += atomic_load_explicit(&p->ipc_c[c], memory_order_relaxed);
	}
	return s;
}

void
inet_stats_foreach(struct vnet *v, void (*cb)(const char *name, uint64_t value, void *arg),
    void *arg)
{
	struct inet *in = inet_get(v);
	int c;

	if (in == NULL)
		return;
	for (c = 0; c < INS_COUNT; c++)
		cb(inet_stat_names[c], inet_stat_sum(in, c), arg);
}

uint64_t
inet_stat(struct vnet *v, const char *name)
{
	struct inet *in = inet_get(v);
	int c;

	if (in == NULL)
		return UINT64_MAX;
	for (c = 0; c < INS_COUNT; c++)
		if (strcmp(inet_stat_names[c], name) == 0)
			return inet_stat_sum(in, c);
	return UINT64_MAX;
}

/* ------------------------------------------------------------------ interfaces */

static void
in_ifinfo_free(struct in_ifinfo *ii)
{
	if (ii->ii_igmp != NULL)
		igmp_ifdetach(ii->ii_igmp);
	if (ii->ii_arp != NULL)
		arp_cache_destroy(ii->ii_arp);
	free(ii);
}

static int
inet_ifattach(struct vnet *v, int slot, struct ifnet *ifp)
{
	struct inet *in = vnet_domain_get(v, slot);
	struct in_ifinfo *ii = calloc(1, sizeof(*ii));

	if (ii == NULL)
		return -ENOMEM;
	ii->ii_ifp = ifp;
	ii->ii_inet = in;
	if ((ifp->if_type == IFT_ETHER &&
	    (ii->ii_arp = arp_cache_create(in, ifp)) == NULL) ||
	    (ii->ii_igmp = igmp_ifattach(in, ifp)) == NULL) {
		in_ifinfo_free(ii);
		return -ENOMEM;
	}
	kmutex_enter(&in->in_lock);	/* every host is in 224.0.0.1 (never reported) */
	(void)igmp_join(ii->ii_igmp, INADDR_ALLHOSTS_H);
	kmutex_exit(&in->in_lock);
	if_afdata_set(ifp, slot, ii);
	return 0;
}

/* Every route through ifp is deleted at its detach. */
struct inet_rtdel {
	struct ifnet	*rd_ifp;
	uint8_t		 rd_dst[4];
	unsigned	 rd_plen;
	bool		 rd_found;
};

static int
inet_route_find_ifp(const struct rt_info *ri, void *arg)
{
	struct inet_rtdel *rd = arg;

	if (ri->ri_nh.ns_ifp != rd->rd_ifp)
		return 0;
	memcpy(rd->rd_dst, ri->ri_dst, 4);
	rd->rd_plen = ri->ri_plen;
	rd->rd_found = true;
	return 1;
}

static void
inet_ifdetach_routes(struct inet *in, struct ifnet *ifp)
{
	struct inet_rtdel rd = { .rd_ifp = ifp };
	int n;

	for (n = 0; n < 1 << 20; n++) {
		rd.rd_found = false;
		(void)rt_list(in->in_rt, inet_route_find_ifp, &rd);
		if (!rd.rd_found || rt_delete(in->in_rt, rd.rd_dst, rd.rd_plen) != 0)
			break;
	}
}

static void
inet_ifdetach(struct vnet *v, int slot, struct ifnet *ifp)
{
	struct inet *in = vnet_domain_get(v, slot);
	struct in_ifinfo *ii = if_afdata(ifp, slot);
	struct ifa_hdr *ifa;

	kmutex_enter(&in->in_lock);
	while ((ifa = atomic_load_explicit(&ifp->if_addrs[IF_AF_INET],
	    memory_order_relaxed)) != NULL)
		in_addr_remove_locked(in, ifp, (struct in_ifaddr *)ifa);
	kmutex_exit(&in->in_lock);
	inet_ifdetach_routes(in, ifp);
	if_afdata_set(ifp, slot, NULL);
	psz_synchronize();	/* no output through ifp's routes or its cache any more */
	if (ii != NULL)
		in_ifinfo_free(ii);
}

/* ------------------------------------------------------------------ domain */

static void
inet_free(struct inet *in)
{
	if (in->in_reass != NULL)
		ip_reass_destroy(in->in_reass);
	if (in->in_rt != NULL)
		rt_table_destroy(in->in_rt);
	icmp_tables_free(in);
	pcpu_free(in->in_pcpu);
	pthread_mutex_destroy(&in->in_fslock);
	kmutex_fini(&in->in_lock);
	free(in);
}

static struct inet *
inet_alloc(struct vnet *v, int slot)
{
	struct inet *in = calloc(1, sizeof(*in));

	if (in == NULL)
		return NULL;
	in->in_vnet = v;
	in->in_kern = vnet_kern(v);
	in->in_slot = slot;
	in->in_ncpu = kern_ncpu(in->in_kern);
	(void)kmutex_init(&in->in_lock, in->in_kern, &inet_lock_class);
	pthread_mutex_init(&in->in_fslock, NULL);
	in->in_pcpu = pcpu_alloc(in->in_kern, sizeof(struct inet_pcpu));
	if (in->in_pcpu == NULL || inet_settings_register(in) != 0 ||
	    (in->in_rt = rt_table_create(in->in_kern, AF_INET)) == NULL ||
	    (in->in_reass = ip_reass_create(in)) == NULL) {
		inet_free(in);
		return NULL;
	}
	return in;
}

static void
inet_handlers_unregister(struct vnet *v)
{
	(void)dispatch_ether_unregister(v, ETHERTYPE_IP);
	(void)dispatch_ether_unregister(v, ETHERTYPE_ARP);
	(void)dispatch_ipproto_unregister(v, DISPATCH_INET, IPPROTO4_ICMP);
	(void)dispatch_ipproto_unregister(v, DISPATCH_INET, IPPROTO4_IGMP);
}

static int
inet_handlers_register(struct vnet *v, struct inet *in)
{
	if (dispatch_ipproto_register(v, DISPATCH_INET, IPPROTO4_ICMP, icmp_input, in) ||
	    dispatch_ipproto_register(v, DISPATCH_INET, IPPROTO4_IGMP, igmp_input, in) ||
	    dispatch_ether_register(v, ETHERTYPE_ARP, arp_input, in) ||
	    dispatch_ether_register(v, ETHERTYPE_IP, ip_input, in)) {
		inet_handlers_unregister(v);
		return -ENOMEM;
	}
	return 0;
}

static void
inet_rt_publish(struct vnet *v, struct rt_table *rt)
{
	vnet_lock(v);
	psz_publish(&v->v_rt_inet, rt);	/* pairs with readers' psz_deref */
	vnet_unlock(v);
}

static int
inet_attach(struct vnet *v, int slot)
{
	struct inet *in = inet_alloc(v, slot);
	int err;

	if (in == NULL)
		return -ENOMEM;
	vnet_domain_set(v, slot, in);
	inet_rt_publish(v, in->in_rt);
	if ((err = inet_handlers_register(v, in)) != 0) {
		inet_rt_publish(v, NULL);
		vnet_domain_set(v, slot, NULL);
		psz_synchronize();
		inet_free(in);
	}
	return err;
}

static void
inet_detach(struct vnet *v, int slot)
{
	struct inet *in = vnet_domain_get(v, slot);

	inet_handlers_unregister(v);	/* each waits for a grace period */
	inet_rt_publish(v, NULL);
	vnet_domain_set(v, slot, NULL);
	psz_synchronize();
	inet_free(in);
}

const struct domain inet_domain = {
	.dom_name = "inet",
	.dom_id = DOM_INET,
	.dom_family = AF_INET,
	.dom_attach = inet_attach,
	.dom_detach = inet_detach,
	.dom_ifattach = inet_ifattach,
	.dom_ifdetach = inet_ifdetach,
};
