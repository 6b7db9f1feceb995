/*
 * in_var.h - the IPv4 domain's state, shared by its modules (in.c, arp.c, ip_input.c,
 * ip_output.c, icmp.c, ip_reass.c, igmp.c) and their tests.
 *
 * Per vnet: struct inet (the domain's slot in v->v_dom).  Per interface: struct
 * in_ifinfo (if_afdata of the domain's slot), holding the interface's neighbour cache
 * and IGMP state.  Per address: struct in_ifaddr, an ifaddr on the interface's IPv4
 * list and in the vnet's address hash.
 *
 * Counters are per-CPU (struct inet_pcpu: one slot per CPU plus the shared foreign
 * slot, kern/pcpu.h); INET_STATS lists them with the names `smpnet stat` prints.
 *
 * Locks (docs/locking.md): in_lock (kmutex) serialises address and membership changes
 * of the vnet; the neighbour cache lock (arp.c) and the reassembly bucket locks
 * (ip_reass.c) are leaves.  The data path takes none of them on a hit.
 */
#ifndef SMPNET_NETINET_IN_VAR_H
#define SMPNET_NETINET_IN_VAR_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "kern/kern.h"
#include "kern/klock.h"
#include "kern/pcpu.h"
#include "kern/psz.h"
#include "net/if_var.h"
#include "net/vnet.h"
#include "netinet/inet.h"

struct arp_cache;
struct igmp_ifinfo;
struct ip_reass;
struct icmp_state;
struct rt_table;
struct mbuf;

/* X(enum name, printed name) */
#define INET_STATS(X)							\
	X(IP_TOTAL, "ip.total")						\
	X(IP_TOOSHORT, "ip.tooshort")					\
	X(IP_BADVERS, "ip.badvers")					\
	X(IP_BADHLEN, "ip.badhlen")					\
	X(IP_BADLEN, "ip.badlen")					\
	X(IP_BADSUM, "ip.badsum")					\
	X(IP_BADADDR, "ip.badaddr")					\
	X(IP_NOMEM, "ip.nomem")						\
	X(IP_DELIVERED, "ip.delivered")					\
	X(IP_NOPROTO, "ip.noproto")					\
	X(IP_NOTMEMBER, "ip.notmember")					\
	X(IP_FORWARD, "ip.forward")					\
	X(IP_CANTFORWARD, "ip.cantforward")				\
	X(IP_NOROUTE, "ip.noroute")					\
	X(IP_TTLEXCEED, "ip.ttlexceed")					\
	X(IP_LOCALOUT, "ip.localout")					\
	X(IP_LOOPBACK, "ip.loopback")					\
	X(IP_FRAGMENTED, "ip.fragmented")				\
	X(IP_OFRAGMENTS, "ip.ofragments")				\
	X(IP_CANTFRAG, "ip.cantfrag")					\
	X(IP_ODROPPED, "ip.odropped")					\
	X(IP_FRAGMENTS, "ip.fragments")					\
	X(IP_REASSEMBLED, "ip.reassembled")				\
	X(IP_FRAGDROPPED, "ip.fragdropped")				\
	X(IP_FRAGTIMEOUT, "ip.fragtimeout")				\
	X(IP_FRAGOVERLAP, "ip.fragoverlap")				\
	X(IP_FRAGDUP, "ip.fragdup")					\
	X(IP_FRAGLIMIT, "ip.fraglimit")					\
	X(IP_FRAGTOOLONG, "ip.fragtoolong")				\
	X(ICMP_IN, "icmp.in")						\
	X(ICMP_BADLEN, "icmp.badlen")					\
	X(ICMP_BADSUM, "icmp.badsum")					\
	X(ICMP_ECHO, "icmp.echo")					\
	X(ICMP_REPLY, "icmp.reply")					\
	X(ICMP_ERRIN, "icmp.errin")					\
	X(ICMP_ERROUT, "icmp.errout")					\
	X(ICMP_OLDICMP, "icmp.oldicmp")					\
	X(ICMP_NOTSENT, "icmp.notsent")					\
	X(ICMP_RATELIM, "icmp.ratelim")					\
	X(ICMP_BCASTECHO, "icmp.bcastecho")				\
	X(ARP_RX, "arp.rx")						\
	X(ARP_BAD, "arp.bad")						\
	X(ARP_REQ_RX, "arp.req_rx")					\
	X(ARP_REPLY_RX, "arp.reply_rx")					\
	X(ARP_REQ_TX, "arp.req_tx")					\
	X(ARP_REPLY_TX, "arp.reply_tx")					\
	X(ARP_GRAT_TX, "arp.grat_tx")					\
	X(ARP_HOLDDROP, "arp.holddrop")					\
	X(ARP_UNRESOLVED, "arp.unresolved")				\
	X(ARP_EXPIRED, "arp.expired")					\
	X(ARP_NOMEM, "arp.nomem")					\
	X(ARP_FULL, "arp.full")						\
	X(IGMP_RX, "igmp.rx")						\
	X(IGMP_BAD, "igmp.bad")						\
	X(IGMP_BADSUM, "igmp.badsum")					\
	X(IGMP_QUERY_V2, "igmp.query_v2")				\
	X(IGMP_QUERY_V3, "igmp.query_v3")				\
	X(IGMP_REPORT_RX, "igmp.report_rx")				\
	X(IGMP_REPORT_TX, "igmp.report_tx")				\
	X(IGMP_LEAVE_TX, "igmp.leave_tx")

#define INET_STAT_ENUM(e, s)	INS_##e,
enum { INET_STATS(INET_STAT_ENUM) INS_COUNT };
#undef INET_STAT_ENUM

/* Per-CPU state: counters, the IP ID sequence, the ICMP token bucket. */
struct inet_pcpu {
	_Atomic uint64_t	ipc_c[INS_COUNT];	/* [c] own CPU / [a] foreign slot */
	_Atomic uint32_t	ipc_id;		/* [c] own CPU / [a] foreign slot */
	int64_t			ipc_tokens;	/* [c] / foreign: [W in_fslock] */
	uint64_t		ipc_tlast;	/* [c] / foreign: [W in_fslock] ns */
};

#define IN_ADDRHASH	64	/* vnet address hash buckets (power of two) */
#define ICMP_NTYPES	256

/* A registered handler (immutable record, RCU-published). */
struct icmp_hrec {
	void	(*ih_fn)(void);		/* cast to the table's type */
	void	 *ih_arg;
	struct psz_head ih_psz;
};

/* The domain's state in one vnet. */
struct inet {
	struct vnet		*in_vnet;	/* [I] */
	struct kern		*in_kern;	/* [I] */
	int			 in_slot;	/* [I] domain slot */
	int			 in_ncpu;	/* [I] */
	struct rt_table		*in_rt;		/* [I] the vnet's IPv4 table */
	struct kmutex		 in_lock;	/* addresses, memberships, handler tables */
	pthread_mutex_t		 in_fslock;	/* leaf: guards the foreign slot's token bucket */
	_Atomic(struct in_ifaddr *) in_addrhash[IN_ADDRHASH];	/* [R, W in_lock] */
	struct inet_pcpu	*in_pcpu;	/* [c] ncpu + 1 slots */
	struct ip_reass		*in_reass;	/* [I] */
	/* ICMP handler tables: informational types, errors by quoted protocol. */
	_Atomic(struct icmp_hrec *) in_icmp_type[ICMP_NTYPES];	/* [R, W in_lock] */
	_Atomic(struct icmp_hrec *) in_icmp_ctl[256];		/* [R, W in_lock] */
	/* Settings (pointers live as long as the vnet). */
	struct vnet_setting	*in_s_forwarding, *in_s_ttl, *in_s_bcastecho;
	struct vnet_setting	*in_s_maxfrags, *in_s_reass_timeout, *in_s_reass_maxbytes;
	struct vnet_setting	*in_s_reass_maxq;
	struct vnet_setting	*in_s_arp_reachable, *in_s_arp_stale, *in_s_arp_retrans;
	struct vnet_setting	*in_s_arp_tries, *in_s_arp_hold, *in_s_arp_tick;
	struct vnet_setting	*in_s_arp_max;
	struct vnet_setting	*in_s_icmp_rate, *in_s_icmp_burst;
	struct vnet_setting	*in_s_igmp_version;
};

/* Per-interface IPv4 state. */
struct in_ifinfo {
	struct ifnet		*ii_ifp;	/* [I] */
	struct inet		*ii_inet;	/* [I] */
	struct arp_cache	*ii_arp;	/* [I] NULL on non-Ethernet interfaces */
	struct igmp_ifinfo	*ii_igmp;	/* [I] */
};

/* An IPv4 address on an interface. */
struct in_ifaddr {
	struct ifa_hdr		 ia_ifa;	/* on the interface's IF_AF_INET list */
	_Atomic(struct in_ifaddr *) ia_hnext;	/* [R, W in_lock] vnet hash chain */
	uint32_t		 ia_addr;	/* [I] host order */
	uint32_t		 ia_mask;	/* [I] */
	uint32_t		 ia_net;	/* [I] addr & mask */
	uint32_t		 ia_bcast;	/* [I] directed broadcast (0 for /31, /32) */
	unsigned		 ia_plen;	/* [I] */
	bool			 ia_route;	/* [W in_lock] this address added the route */
};

static inline struct inet *
inet_get(struct vnet *v)
{
	return vnet_domain_get(v, DOM_INET);
}

static inline struct in_ifinfo *
in_ifinfo(struct inet *in, struct ifnet *ifp)
{
	return if_afdata(ifp, in->in_slot);
}

/* Count n on counter c.  Any thread; never blocks. */
static inline void
inet_count(struct inet *in, int c, uint64_t n)
{
	int slot = kcpu_slot(in->in_kern, in->in_ncpu);
	struct inet_pcpu *p = pcpu_at(in->in_pcpu, sizeof(*p), slot);

	pcpu_cell_add(&p->ipc_c[c], n, slot == in->in_ncpu);
}

static inline int64_t
in_setting(const struct vnet_setting *s)
{
	return vnet_setting_read(s);
}

/* ---- in.c ---- */
/* The address record of a local address, or NULL.  Inside a read section. */
struct in_ifaddr *in_addr_lookup(struct inet *in, uint32_t addr);
/* The first IPv4 address of ifp, or NULL.  Inside a read section. */
struct in_ifaddr *in_ifaddr_first(struct ifnet *ifp);
/* True if addr is a broadcast address for ifp (limited, or directed of its nets). */
bool in_is_bcast(struct ifnet *ifp, uint32_t addr);
/* The address of ifp on the same network as dst, else its first address, else NULL. */
struct in_ifaddr *in_ifaddr_for(struct ifnet *ifp, uint32_t dst);
/* The next IP ID of the calling CPU (disjoint per slot).  Never blocks. */
uint16_t inet_ip_id(struct inet *in);

/*
 * Make the first len bytes of m contiguous and writable (copying them into a fresh
 * mbuf if they are not).  Returns the new head, or NULL with m freed.  Never blocks.
 */
struct mbuf *in_m_writable(struct mbuf *m, int len);

/* ---- ip_input.c ---- */
/* The ETHERTYPE_IP handler (arg: struct inet). */
void ip_input(struct ifnet *ifp, struct mbuf *m, void *arg);
/* Deliver a complete local datagram (after reassembly).  Consumes m.  Read section. */
void ip_deliver(struct inet *in, struct ifnet *ifp, struct mbuf *m, int hlen);
/*
 * Lazy receive processing: IPv4 input's checks, run at the reader, on a datagram the
 * early demultiplexer queued raw (*mp at the IPv4 header; ifp the receiving interface,
 * or NULL if it is gone).  Counts ip.total, then a refusal or ip.delivered, as ip_input
 * would have for it.  Returns the header length (*mp possibly moved, link padding
 * trimmed), or -1 with the mbuf freed and *mp NULL.  Inside a read section.
 */
int ip_input_lazy(struct inet *in, struct ifnet *ifp, struct mbuf **mp);

/* ---- ip_output.c ---- */
/*
 * Forward a datagram received on ifp that is not for us (header at m, hlen bytes,
 * totlen == pkthdr.len).  Consumes m.  Inside a read section.
 */
void ip_forward(struct inet *in, struct ifnet *ifp, struct mbuf *m, int hlen);
/*
 * Send a complete datagram (header filled, checksum set) to nexthop address gw on ifp,
 * fragmenting to mtu.  Consumes m.  0 or -errno as ip_output.  Inside a read section.
 */
int ip_send(struct inet *in, struct ifnet *ifp, uint32_t gw, uint32_t mtu,
    struct mbuf *m);

#endif /* SMPNET_NETINET_IN_VAR_H */
