/*
 * udp_usrreq.c - UDP over IPv4 (RFC 768): eager input, the early demultiplexer's UDP
 * half and the reader's lazy processing (net.lrp.lazy), output, the socket calls,
 * options, broadcast and multicast delivery.  Design: udp_var.h.
 *
 * A UDP socket's protocol block (struct udpcb) holds its PCB and its IP options.  The
 * options are written under the socket's lock and read by the sender under it; the
 * multicast group list is also read locklessly by input (relaxed atomics: a filter whose
 * updates take effect "soon").  The udpcb is freed after a grace period, like the PCB,
 * because input may still read it through a PCB found in a read section.
 *
 * Checksums: computed in software on output (zero becomes 0xffff), verified on input
 * unless the field is zero; the pseudo header is summed from a 12-byte array in wire
 * order, so no byte swapping is needed (cksum.h).
 *
 * Output checks (BSD sosend's): a datagram longer than the send buffer (SO_SNDBUF) fails
 * with -EMSGSIZE; nothing is queued on the send side, so a send never blocks and
 * SO_SNDTIMEO has nothing to bound.  IP_MULTICAST_LOOP (default on): a multicast
 * datagram is also given to this stack's member sockets, as a copy with a minimal IPv4
 * header fed to multicast input (udp_mloopback), before it leaves on the interface.
 * IP_PKTINFO on sendmsg sets the source address (ipi_spec_dst; it must be local).
 *
 * Binding (udp_bind_check): the address must be the wildcard, the limited broadcast, a
 * multicast group or an address the stack owns (udp_ip_ops.addr_local); the port and
 * overlap rules are in_pcbbind's.
 *
 * Control messages on receive (pr_rcv_control), as Linux: IP_PKTINFO (struct
 * in_pktinfo: arriving interface index, header destination in ipi_addr and, for a
 * unicast datagram, in ipi_spec_dst), IP_TOS (one byte, IP_RECVTOS) and IP_TTL (int,
 * IP_RECVTTL), read from the IPv4 header the record keeps.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/ip.h>
#include <stdlib.h>
#include <string.h>

#include "kern/kassert.h"
#include "kern/kern.h"
#include "kern/psz.h"
#include "lib/cksum.h"
#include "mbuf/mbuf.h"
#include "net/if_dispatch.h"
#include "net/vnet.h"
#include "netinet/in_pcb.h"
#include "netinet/udp_var.h"
#include "socket/socket_var.h"

#define UDP_HDRLEN	8
#define UDP_MAXDGRAM	65507		/* 65535 - 20 (IPv4) - 8 (UDP) */
#define UDP_MAXGROUPS	20
#define UDP_EPH_LO	49152
#define UDP_EPH_HI	65535
#define IPPROTO_UDP_NUM	17

/* u_recvopts */
#define UDP_RECV_PKTINFO	0x1u
#define UDP_RECV_TOS		0x2u
#define UDP_RECV_TTL		0x4u

struct udp_pcpu {
	_Atomic uint64_t	 c[UDPS_NCOUNTERS];	/* [c] or [a] foreign slot */
	struct inpcb_cache	 early;		/* [c] early demux's last PCB (CPU slots only) */
};

struct udp_state {
	struct smpnet		*us_stack;	/* [I] */
	struct vnet		*us_vnet;	/* [I] */
	struct kern		*us_kern;	/* [I] */
	struct inpcbtable	*us_table;	/* [I] */
	void			*us_pcpu;	/* [I] struct udp_pcpu per CPU */
	struct udp_ip_ops	 us_ip;		/* [I] after udp_set_ip_ops (before traffic) */
	void			*us_iparg;	/* [I] */
};

struct udpcb {
	struct inpcb		*u_inp;		/* [I] */
	struct udp_state	*u_us;		/* [I] */
	uint8_t			 u_ttl;		/* [L] */
	uint8_t			 u_tos;		/* [L] */
	uint8_t			 u_mttl;	/* [L] */
	bool			 u_mloop;	/* [L] */
	uint8_t			 u_recvopts;	/* [L] UDP_RECV_*: control messages wanted */
	uint32_t		 u_mif;		/* [L] multicast interface address */
	_Atomic uint32_t	 u_ngroups;	/* [a] written under L, read by input */
	_Atomic uint32_t	 u_groups[UDP_MAXGROUPS];	/* [a] as u_ngroups */
	uint32_t		 u_gif[UDP_MAXGROUPS];	/* [L] interface of each group */
	struct psz_head		 u_psz;
};

static void
udp_count(struct udp_state *us, int which)
{
	struct kern *k = us->us_kern;
	int ncpu = kern_ncpu(k), slot = kcpu_slot(k, ncpu);
	struct udp_pcpu *p = pcpu_at(us->us_pcpu, sizeof(*p), slot);

	pcpu_cell_add(&p->c[which], 1, slot == ncpu);
}

void
udp_stats(struct udp_state *us, struct udp_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (int s = 0; s <= kern_ncpu(us->us_kern); s++) {
		struct udp_pcpu *p = pcpu_at(us->us_pcpu, sizeof(*p), s);

		for (int i = 0; i < UDPS_NCOUNTERS; i++)
			st->c[i] += atomic_load_explicit(&p->c[i], memory_order_relaxed);
	}
}

struct inpcbtable *
udp_pcbtable(struct udp_state *us)
{
	return us->us_table;
}

static inline struct udpcb *
so_udpcb(const struct socket *so)
{
	return so->so_pcb;
}

/* ---- checksum ---- */

/* Partial sum of the pseudo header (addresses in network order, ulen host order). */
static uint32_t
udp_pseudo_sum(uint32_t src, uint32_t dst, uint16_t ulen)
{
	uint8_t ph[12];

	memcpy(ph, &src, 4);
	memcpy(ph + 4, &dst, 4);
	ph[8] = 0;
	ph[9] = IPPROTO_UDP_NUM;
	ph[10] = (uint8_t)(ulen >> 8);
	ph[11] = (uint8_t)ulen;
	return cksum_add(0, ph, sizeof(ph));
}

/* The checksum over pseudo header + [off, off+ulen) of m (complemented, memory order). */
static uint16_t
udp_cksum_compute(const struct mbuf *m, int off, uint32_t src, uint32_t dst, uint16_t ulen)
{
	int c = in_cksum_mbuf(m, off, ulen);
	uint32_t sum = udp_pseudo_sum(src, dst, ulen) + (uint16_t)~(uint16_t)c;

	return (uint16_t)~cksum_fold(sum);
}

/* Verify a received datagram's checksum (m at the IP header).  True if good or none. */
static bool
udp_cksum_ok(const struct mbuf *m)
{
	int off = m->m_pkthdr.l3hlen;
	uint8_t ip[20], uh[8];
	uint32_t src, dst;

	(void)m_copydata(m, 0, 20, ip);
	(void)m_copydata(m, off, 8, uh);
	if (uh[6] == 0 && uh[7] == 0)
		return true;
	memcpy(&src, ip + 12, 4);
	memcpy(&dst, ip + 16, 4);
	return udp_cksum_compute(m, off, src, dst,
	    (uint16_t)(m->m_pkthdr.len - off)) == 0;
}

/* ---- input ---- */

struct udp_hdrinfo {
	uint32_t	 src, dst;	/* network order */
	uint16_t	 sport, dport;	/* network order */
};

/*
 * One length check: IP header + 8 bytes contiguous, UDP length within the IP payload
 * (trailing bytes trimmed).  Returns m (possibly moved) or NULL (dropped, counted).
 */
static struct mbuf *
udp_input_check(struct udp_state *us, struct mbuf *m, int off, struct udp_hdrinfo *h)
{
	const uint8_t *ip, *uh;
	int iplen, ulen;

	if (m->m_len < off + UDP_HDRLEN && (m = m_pullup(m, off + UDP_HDRLEN)) == NULL)
		goto bad_nofree;
	ip = mtod(m, const uint8_t *);
	uh = ip + off;
	iplen = (ip[2] << 8) | ip[3];
	ulen = (uh[4] << 8) | uh[5];
	if (iplen > m->m_pkthdr.len || ulen < UDP_HDRLEN || ulen > iplen - off)
		goto bad;
	if (m->m_pkthdr.len > off + ulen)
		m_adj(m, -(m->m_pkthdr.len - (off + ulen)));
	memcpy(&h->src, ip + 12, 4);
	memcpy(&h->dst, ip + 16, 4);
	memcpy(&h->sport, uh, 2);
	memcpy(&h->dport, uh + 2, 2);
	m->m_pkthdr.l3hlen = (uint8_t)off;
	m->m_pkthdr.l4hlen = UDP_HDRLEN;
	return m;
bad:
	m_freem(m);
bad_nofree:
	udp_count(us, UDPS_HDROPS);
	return NULL;
}

static bool
udp_is_multi(const struct mbuf *m, uint32_t dst)
{
	uint32_t d = ntohl(dst);

	return (m->m_flags & (M_BCAST | M_MCAST)) || d == 0xffffffffu ||
	    (d & 0xf0000000u) == 0xe0000000u;
}

static bool
udpcb_member(struct udpcb *up, uint32_t group)
{
	/* relaxed: a filter; joins/leaves take effect soon (see the file comment) */
	uint32_t n = atomic_load_explicit(&up->u_ngroups, memory_order_acquire);

	for (uint32_t i = 0; i < n && i < UDP_MAXGROUPS; i++)
		if (atomic_load_explicit(&up->u_groups[i], memory_order_relaxed) == group)
			return true;
	return false;
}

struct udp_multi_arg {
	struct udp_state	*ma_us;
	struct mbuf		*ma_m;
	uint32_t		 ma_dst;
	bool			 ma_mcast;
	int			 ma_n;
};

static void
udp_multi_one(struct inpcb *inp, void *arg)
{
	struct udp_multi_arg *a = arg;
	struct socket *so = inp->inp_owner;
	struct mbuf *n;

	if (a->ma_mcast && !udpcb_member(so_udpcb(so), a->ma_dst))
		return;
	if ((n = m_copym(a->ma_m, 0, M_COPYALL)) == NULL)
		return;
	a->ma_n++;
	if (sbappend_record(so, n, true) == 0)
		udp_count(a->ma_us, UDPS_DELIVERED);
	else
		udp_count(a->ma_us, UDPS_FULLSOCK);
}

/* Broadcast/multicast: a copy to every matching socket (eager). */
static void
udp_input_multi(struct udp_state *us, struct mbuf *m, const struct udp_hdrinfo *h)
{
	union inpcb_addr la = inpcb_addr_v4(h->dst), fa = inpcb_addr_v4(h->src);
	uint32_t d = ntohl(h->dst);
	struct udp_multi_arg a = { .ma_us = us, .ma_m = m, .ma_dst = h->dst,
	    .ma_mcast = (d & 0xf0000000u) == 0xe0000000u };

	if (!udp_cksum_ok(m)) {
		udp_count(us, UDPS_BADSUM);
		m_freem(m);
		return;
	}
	(void)in_pcblookup_all(us->us_table, AF_INET, &la, h->dport, &fa, h->sport,
	    udp_multi_one, &a);
	if (a.ma_n == 0)
		udp_count(us, UDPS_NOPORTMCAST);
	m_freem(m);
}

static void
udp_noport(struct udp_state *us, struct mbuf *m, int off)
{
	udp_count(us, UDPS_NOPORT);
	if (us->us_ip.port_unreach != NULL)
		us->us_ip.port_unreach(us->us_iparg, m, off);
	else
		m_freem(m);
}

/* Unicast (eager): verify, demux, append. */
static void
udp_input_unicast(struct udp_state *us, struct mbuf *m, int off, const struct udp_hdrinfo *h)
{
	union inpcb_addr la = inpcb_addr_v4(h->dst), fa = inpcb_addr_v4(h->src);
	struct inpcb *inp;

	if (!udp_cksum_ok(m)) {
		udp_count(us, UDPS_BADSUM);
		m_freem(m);
		return;
	}
	inp = in_pcblookup(us->us_table, AF_INET, &la, h->dport, &fa, h->sport,
	    m->m_pkthdr.flowid);
	if (inp == NULL) {
		udp_noport(us, m, off);
		return;
	}
	if (sbappend_record(inp->inp_owner, m, true) == 0)
		udp_count(us, UDPS_DELIVERED);
	else
		udp_count(us, UDPS_FULLSOCK);
}

bool
udp_lazy(const struct udp_state *us)
{
	return smpnet_lazy(us->us_stack);
}

/*
 * The early demultiplexer's PCB lookup: on a CPU thread through that CPU's one-entry
 * cache (the frames of a receive burst mostly share a flow), elsewhere directly.
 */
static struct inpcb *
udp_early_lookup(struct udp_state *us, const union inpcb_addr *la, uint16_t lport,
    const union inpcb_addr *fa, uint16_t fport, uint32_t flowhash)
{
	struct kern *k = us->us_kern;
	int ncpu = kern_ncpu(k), slot = kcpu_slot(k, ncpu);
	struct udp_pcpu *p = pcpu_at(us->us_pcpu, sizeof(*p), slot);

	if (slot == ncpu)
		return in_pcblookup(us->us_table, AF_INET, la, lport, fa, fport, flowhash);
	return in_pcblookup_cached(us->us_table, &p->early, AF_INET, la, lport, fa, fport,
	    flowhash);
}

bool
udp_early_demux(struct udp_state *us, struct mbuf *m, int lhlen)
{
	const uint8_t *ip = mtod(m, const uint8_t *) + lhlen;
	union inpcb_addr la, fa;
	uint16_t sport, dport;
	uint32_t a;
	struct inpcb *inp;
	struct socket *so;

	KASSERT(psz_read_held());
	memcpy(&a, ip + 16, 4);
	la = inpcb_addr_v4(a);
	memcpy(&a, ip + 12, 4);
	fa = inpcb_addr_v4(a);
	memcpy(&sport, ip + 20, 2);
	memcpy(&dport, ip + 22, 2);
	inp = udp_early_lookup(us, &la, dport, &fa, sport, m->m_pkthdr.flowid);
	if (inp == NULL)
		return false;
	so = inp->inp_owner;
	m_adj(m, lhlen);
	if (sbspace_full(so, (uint32_t)m->m_pkthdr.len)) {
		/* relaxed: a statistic */
		atomic_fetch_add_explicit(&so->so_rcv.sb_drops, 1, memory_order_relaxed);
		m_freem(m);
		udp_count(us, UDPS_EARLYDROP);
	} else if (sbappend_record(so, m, false) != 0)
		udp_count(us, UDPS_EARLYDROP);	/* full after all: counted, freed */
	return true;
}

void
udp_input(struct ifnet *ifp, struct mbuf *m, int off, void *arg)
{
	struct udp_state *us = arg;
	struct udp_hdrinfo h;

	udp_count(us, UDPS_IPACKETS);
	if ((m = udp_input_check(us, m, off, &h)) == NULL)
		return;
	psz_read_enter();
	if (udp_is_multi(m, h.dst))
		udp_input_multi(us, m, &h);
	else
		udp_input_unicast(us, m, off, &h);
	psz_read_exit();
}

void
udp_ctlinput(struct udp_state *us, uint32_t src, uint16_t sport, uint32_t dst,
    uint16_t dport, int error)
{
	union inpcb_addr la = inpcb_addr_v4(src), fa = inpcb_addr_v4(dst);
	struct inpcb *inp;

	psz_read_enter();
	inp = in_pcblookup(us->us_table, AF_INET, &la, sport, &fa, dport, 0);
	if (inp != NULL && atomic_load_explicit(&inp->inp_connected, memory_order_acquire))
		so_seterror(inp->inp_owner, error);
	psz_read_exit();
}

/*
 * Lazy processing at the reader of a raw record (early demultiplexed, m at the IPv4
 * header): IPv4's checks, then UDP's as udp_input's, with the same counters.
 */
static struct mbuf *
udp_rcv_process(struct socket *so, struct mbuf *m)
{
	struct udp_state *us = so_udpcb(so)->u_us;
	struct udp_hdrinfo h;
	int off;

	KMUTEX_ASSERT_HELD(&so->so_lock);
	udp_count(us, UDPS_LAZY);
	if (us->us_ip.lazy_input == NULL)
		off = (mtod(m, const uint8_t *)[0] & 0x0f) * 4;	/* a shim: no IPv4 */
	else if ((off = us->us_ip.lazy_input(us->us_iparg, &m)) < 0)
		return NULL;
	udp_count(us, UDPS_IPACKETS);
	if ((m = udp_input_check(us, m, off, &h)) == NULL)
		return NULL;
	if (!udp_cksum_ok(m)) {
		udp_count(us, UDPS_BADSUM);
		m_freem(m);
		return NULL;
	}
	udp_count(us, UDPS_DELIVERED);
	m->m_flags |= M_PROTO1;
	return m;
}

static void
udp_rcv_addr(struct socket *so, const struct mbuf *m, struct sockaddr *sa, socklen_t *len)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t n = *len < (socklen_t)sizeof(sin) ? *len : (socklen_t)sizeof(sin);

	(void)m_copydata(m, 12, 4, &sin.sin_addr);
	(void)m_copydata(m, m->m_pkthdr.l3hlen, 2, &sin.sin_port);
	memcpy(sa, &sin, (size_t)n);
	*len = sizeof(sin);
}

/* Append one IPPROTO_IP control message, or set MSG_CTRUNC if it does not fit. */
static void
udp_cmsg_put(struct msghdr *msg, size_t *used, int type, const void *data, size_t len)
{
	struct cmsghdr h = { .cmsg_len = CMSG_LEN(len), .cmsg_level = IPPROTO_IP,
	    .cmsg_type = type };
	char *p;

	if (msg->msg_control == NULL || *used + CMSG_SPACE(len) > msg->msg_controllen) {
		msg->msg_flags |= MSG_CTRUNC;
		return;
	}
	p = (char *)msg->msg_control + *used;
	memset(p, 0, CMSG_SPACE(len));
	memcpy(p, &h, sizeof(h));
	memcpy(p + CMSG_LEN(0), data, len);
	*used += CMSG_SPACE(len);
}

/* The control messages the socket asked for, from the record's IPv4 header. */
static void
udp_rcv_control(struct socket *so, const struct mbuf *m, struct msghdr *msg)
{
	uint8_t opts = so_udpcb(so)->u_recvopts, ip[20];
	struct in_pktinfo pi = { .ipi_ifindex = (int)m->m_pkthdr.rcvif };
	size_t used = 0;
	int ttl;

	KMUTEX_ASSERT_HELD(&so->so_lock);
	(void)m_copydata(m, 0, 20, ip);
	if (opts & UDP_RECV_PKTINFO) {
		memcpy(&pi.ipi_addr, ip + 16, 4);
		if (!udp_is_multi(m, pi.ipi_addr.s_addr))
			pi.ipi_spec_dst = pi.ipi_addr;
		udp_cmsg_put(msg, &used, IP_PKTINFO, &pi, sizeof(pi));
	}
	if (opts & UDP_RECV_TOS)
		udp_cmsg_put(msg, &used, IP_TOS, &ip[1], 1);
	if (opts & UDP_RECV_TTL) {
		ttl = ip[8];
		udp_cmsg_put(msg, &used, IP_TTL, &ttl, sizeof(ttl));
	}
	msg->msg_controllen = used;
}

/* ---- socket calls ---- */

static int
sin_get(const struct sockaddr *sa, socklen_t len, const struct sockaddr_in **out)
{
	if (len < (socklen_t)sizeof(struct sockaddr_in))
		return -EINVAL;
	if (sa->sa_family != AF_INET)
		return -EAFNOSUPPORT;
	*out = (const struct sockaddr_in *)(const void *)sa;
	return 0;
}

static int
udp_pr_attach(struct socket *so, void *pstate)
{
	struct udp_state *us = pstate;
	struct udpcb *up = calloc(1, sizeof(*up));

	if (up == NULL)
		return -ENOMEM;
	if ((up->u_inp = in_pcballoc(us->us_table, AF_INET, so)) == NULL) {
		free(up);
		return -ENOMEM;
	}
	up->u_us = us;
	up->u_ttl = 64;
	up->u_mttl = 1;
	up->u_mloop = true;
	so->so_pcb = up;
	return 0;
}

static void
udpcb_free_rcu(struct psz_head *ph)
{
	free(container_of(ph, struct udpcb, u_psz));
}

static void
udp_pr_detach(struct socket *so)
{
	struct udpcb *up = so_udpcb(so);
	uint32_t n = atomic_load_explicit(&up->u_ngroups, memory_order_relaxed);

	KMUTEX_ASSERT_HELD(&so->so_lock);
	for (uint32_t i = 0; i < n && up->u_us->us_ip.mcast_leave != NULL; i++)
		(void)up->u_us->us_ip.mcast_leave(up->u_us->us_iparg,
		    atomic_load_explicit(&up->u_groups[i], memory_order_relaxed), up->u_gif[i]);
	in_pcbdetach(up->u_inp);
	psz_defer(&up->u_psz, udpcb_free_rcu);
}

static unsigned
udp_bind_opts(const struct socket *so)
{
	return ((so->so_options & SO_OPT_REUSEADDR) ? INP_REUSEADDR : 0) |
	    ((so->so_options & SO_OPT_REUSEPORT) ? INP_REUSEPORT : 0);
}

/* May a socket bind (or send from) addr?  0 or -EADDRNOTAVAIL. */
static int
udp_bind_check(struct udp_state *us, uint32_t addr)
{
	uint32_t h = ntohl(addr);

	if (h == 0 || h == 0xffffffffu || (h & 0xf0000000u) == 0xe0000000u ||
	    us->us_ip.addr_local == NULL)
		return 0;
	return us->us_ip.addr_local(us->us_iparg, addr);
}

static int
udp_pr_bind(struct socket *so, const struct sockaddr *sa, socklen_t len)
{
	struct udpcb *up = so_udpcb(so);
	const struct sockaddr_in *sin;
	union inpcb_addr la = { .ia_q = { 0, 0 } };
	int r;

	KMUTEX_ASSERT_HELD(&so->so_lock);
	if ((r = sin_get(sa, len, &sin)) != 0)
		return r;
	if (up->u_inp->inp_group != NULL)
		return -EINVAL;
	if ((r = udp_bind_check(up->u_us, sin->sin_addr.s_addr)) != 0)
		return r;
	la.ia_v4 = sin->sin_addr.s_addr;
	return in_pcbbind(up->u_inp, AF_INET, &la, sin->sin_port, udp_bind_opts(so));
}

/* The source address to use towards dst: the bound one, or IPv4's choice. */
static int
udp_source(struct udpcb *up, uint32_t dst, uint32_t *src)
{
	struct udp_state *us = up->u_us;

	if (up->u_inp->inp_key.ik_laddr.ia_v4 != 0) {
		*src = up->u_inp->inp_key.ik_laddr.ia_v4;
		return 0;
	}
	if (us->us_ip.select_src == NULL)
		return -ENETUNREACH;
	return us->us_ip.select_src(us->us_iparg, dst, src);
}

static int
udp_pr_connect(struct socket *so, const struct sockaddr *sa, socklen_t len)
{
	struct udpcb *up = so_udpcb(so);
	const struct sockaddr_in *sin;
	union inpcb_addr la = { .ia_q = { 0, 0 } }, fa = { .ia_q = { 0, 0 } };
	uint32_t src;
	int r;

	KMUTEX_ASSERT_HELD(&so->so_lock);
	if ((r = sin_get(sa, len, &sin)) != 0)
		return r;
	if (sin->sin_port == 0 || sin->sin_addr.s_addr == 0)
		return -EINVAL;
	if (up->u_inp->inp_conn != NULL)
		in_pcbdisconnect(up->u_inp);
	if ((r = udp_source(up, sin->sin_addr.s_addr, &src)) != 0)
		return r == -ENETUNREACH ? r : -EADDRNOTAVAIL;
	la.ia_v4 = src;
	fa.ia_v4 = sin->sin_addr.s_addr;
	return in_pcbconnect(up->u_inp, &la, &fa, sin->sin_port);
}

static int
udp_pr_disconnect(struct socket *so)
{
	KMUTEX_ASSERT_HELD(&so->so_lock);
	in_pcbdisconnect(so_udpcb(so)->u_inp);
	return 0;
}

static int
udp_sockaddr_out(struct sockaddr *sa, socklen_t *len, uint32_t addr, uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = port,
	    .sin_addr = { .s_addr = addr } };
	socklen_t n = *len < (socklen_t)sizeof(sin) ? *len : (socklen_t)sizeof(sin);

	memcpy(sa, &sin, (size_t)n);
	*len = sizeof(sin);
	return 0;
}

static int
udp_pr_sockaddr(struct socket *so, struct sockaddr *sa, socklen_t *len)
{
	const struct inpcb_key *k = &so_udpcb(so)->u_inp->inp_key;

	KMUTEX_ASSERT_HELD(&so->so_lock);
	return udp_sockaddr_out(sa, len, k->ik_laddr.ia_v4, k->ik_lport);
}

static int
udp_pr_peeraddr(struct socket *so, struct sockaddr *sa, socklen_t *len)
{
	const struct inpcb *inp = so_udpcb(so)->u_inp;

	KMUTEX_ASSERT_HELD(&so->so_lock);
	if (inp->inp_conn == NULL)
		return -ENOTCONN;
	return udp_sockaddr_out(sa, len, inp->inp_key.ik_faddr.ia_v4, inp->inp_key.ik_fport);
}

/* ---- output ---- */

/* Everything output needs, taken under so_lock. */
struct udp_dest {
	struct udp_ip_out	 ud_ip;
	uint16_t		 ud_sport, ud_dport;	/* network order */
};

static int
udp_dest_addr(struct socket *so, const struct sockaddr *to, socklen_t tolen,
    struct udp_dest *d)
{
	struct inpcb *inp = so_udpcb(so)->u_inp;
	const struct sockaddr_in *sin;
	int r;

	if (to == NULL) {
		if (inp->inp_conn == NULL)
			return -EDESTADDRREQ;
		d->ud_ip.uo_dst = inp->inp_key.ik_faddr.ia_v4;
		d->ud_dport = inp->inp_key.ik_fport;
		return 0;
	}
	if (inp->inp_conn != NULL)
		return -EISCONN;
	if ((r = sin_get(to, tolen, &sin)) != 0)
		return r;
	if (sin->sin_port == 0)
		return -EINVAL;
	d->ud_ip.uo_dst = sin->sin_addr.s_addr;
	d->ud_dport = sin->sin_port;
	return 0;
}

static int
udp_dest_locked(struct socket *so, const struct sockaddr *to, socklen_t tolen,
    struct udp_dest *d)
{
	struct udpcb *up = so_udpcb(so);
	bool mcast;
	int r;

	KMUTEX_ASSERT_HELD(&so->so_lock);
	if ((r = udp_dest_addr(so, to, tolen, d)) != 0)
		return r;
	if (d->ud_ip.uo_dst == htonl(0xffffffffu) && !(so->so_options & SO_OPT_BROADCAST))
		return -EACCES;
	if (up->u_inp->inp_group == NULL &&
	    (r = in_pcbbind(up->u_inp, AF_INET, NULL, 0, 0)) != 0)
		return r;
	if ((r = udp_source(up, d->ud_ip.uo_dst, &d->ud_ip.uo_src)) != 0)
		return r;
	mcast = (ntohl(d->ud_ip.uo_dst) & 0xf0000000u) == 0xe0000000u;
	d->ud_sport = up->u_inp->inp_key.ik_lport;
	d->ud_ip.uo_ttl = mcast ? up->u_mttl : up->u_ttl;
	d->ud_ip.uo_tos = up->u_tos;
	d->ud_ip.uo_mcast_loop = up->u_mloop;
	d->ud_ip.uo_mcast_if = up->u_mif;
	return 0;
}

/* Prepend the UDP header with its checksum; NULL if no buffer (m freed). */
static struct mbuf *
udp_encap(struct mbuf *m, const struct udp_dest *d)
{
	uint16_t ulen = (uint16_t)(m->m_pkthdr.len + UDP_HDRLEN), sum;
	uint8_t *uh;

	M_PREPEND(m, UDP_HDRLEN);
	if (m == NULL)
		return NULL;
	uh = mtod(m, uint8_t *);
	memcpy(uh, &d->ud_sport, 2);
	memcpy(uh + 2, &d->ud_dport, 2);
	uh[4] = (uint8_t)(ulen >> 8);
	uh[5] = (uint8_t)ulen;
	uh[6] = uh[7] = 0;
	sum = udp_cksum_compute(m, 0, d->ud_ip.uo_src, d->ud_ip.uo_dst, ulen);
	if (sum == 0)
		sum = 0xffff;
	memcpy(uh + 6, &sum, 2);
	return m;
}

/*
 * Control data of sendmsg: IPPROTO_IP / IP_PKTINFO sets the source address (ipi_spec_dst,
 * if not zero; ipi_ifindex is ignored).  Other IPPROTO_IP types: -EINVAL; other levels
 * are ignored.  *src is left alone without IP_PKTINFO.
 */
static int
udp_send_control(const struct msghdr *ctl, uint32_t *src)
{
	struct msghdr mh;
	struct in_pktinfo pi;

	if (ctl == NULL || ctl->msg_control == NULL || ctl->msg_controllen == 0)
		return 0;
	mh = *ctl;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != IPPROTO_IP)
			continue;
		if (c->cmsg_type != IP_PKTINFO || c->cmsg_len < CMSG_LEN(sizeof(pi)))
			return -EINVAL;
		memcpy(&pi, CMSG_DATA(c), sizeof(pi));
		if (pi.ipi_spec_dst.s_addr != 0)
			*src = pi.ipi_spec_dst.s_addr;
	}
	return 0;
}

/* The source address IP_PKTINFO asked for, if any: it must be one of ours. */
static int
udp_send_src(struct udp_state *us, const struct msghdr *ctl, struct udp_dest *d)
{
	uint32_t src = 0;
	int r;

	if ((r = udp_send_control(ctl, &src)) != 0 || src == 0)
		return r;
	if (ntohl(src) == 0xffffffffu || (ntohl(src) & 0xf0000000u) == 0xe0000000u ||
	    (r = udp_bind_check(us, src)) != 0)
		return -EADDRNOTAVAIL;
	d->ud_ip.uo_src = src;
	return 0;
}

/*
 * IP_MULTICAST_LOOP: give a copy of the datagram (m at the UDP header, checksum done) to
 * this stack's sockets that joined d's group, through multicast input behind a minimal
 * IPv4 header (the copy shares m's clusters, so the header goes in a fresh mbuf and m is
 * untouched).  Best effort: no buffer, no copy.  No lock held.
 */
static void
udp_mloopback(struct udp_state *us, struct mbuf *m, const struct udp_dest *d)
{
	struct mbuf *n = m_copym(m, 0, M_COPYALL);
	uint8_t *ip;
	int len;

	if (n == NULL || (n = m_prepend(n, 20)) == NULL ||
	    (n = m_pullup(n, 20)) == NULL)
		return;
	len = n->m_pkthdr.len;
	ip = mtod(n, uint8_t *);
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[1] = d->ud_ip.uo_tos;
	ip[2] = (uint8_t)(len >> 8);
	ip[3] = (uint8_t)len;
	ip[8] = d->ud_ip.uo_ttl;
	ip[9] = IPPROTO_UDP_NUM;
	memcpy(ip + 12, &d->ud_ip.uo_src, 4);
	memcpy(ip + 16, &d->ud_ip.uo_dst, 4);
	n->m_flags |= M_MCAST;
	n->m_pkthdr.rcvif = 0;
	n->m_pkthdr.flowid = d->ud_ip.uo_flowid;
	udp_input(NULL, n, 20, us);
}

static ssize_t
udp_pr_send(struct socket *so, struct mbuf *m, const struct sockaddr *to, socklen_t tolen,
    const struct msghdr *ctl, int flags)
{
	struct udp_state *us = so_udpcb(so)->u_us;
	struct udp_dest d = { .ud_ip = { .uo_src = 0 } };
	int len = m->m_pkthdr.len, r;

	/* relaxed: a limit set by setsockopt, read as a hint (like the receive side) */
	if (len > UDP_MAXDGRAM ||
	    (uint32_t)len > atomic_load_explicit(&so->so_snd.sb_hiwat, memory_order_relaxed)) {
		m_freem(m);
		return -EMSGSIZE;
	}
	kmutex_enter(&so->so_lock);
	if ((r = udp_dest_locked(so, to, tolen, &d)) == 0)
		r = udp_send_src(us, ctl, &d);
	kmutex_exit(&so->so_lock);
	if (r != 0) {
		m_freem(m);
		return r;
	}
	if (us->us_ip.output == NULL) {
		m_freem(m);
		return -ENETUNREACH;
	}
	d.ud_ip.uo_flowid = ((uint32_t)d.ud_sport << 16 | d.ud_dport) ^ d.ud_ip.uo_dst;
	if ((m = udp_encap(m, &d)) == NULL)
		return -ENOBUFS;
	m->m_pkthdr.flowid = d.ud_ip.uo_flowid;
	if (d.ud_ip.uo_mcast_loop && (ntohl(d.ud_ip.uo_dst) & 0xf0000000u) == 0xe0000000u)
		udp_mloopback(us, m, &d);
	if ((r = us->us_ip.output(us->us_iparg, m, &d.ud_ip)) != 0) {
		udp_count(us, UDPS_OERRORS);
		return r;
	}
	udp_count(us, UDPS_OPACKETS);
	return len;
}

/* ---- options ---- */

/* A group request: struct ip_mreq or ip_mreqn (the interface given by address). */
static int
udp_mreq(const void *val, socklen_t len, uint32_t *group, uint32_t *ifaddr)
{
	struct ip_mreqn mn;

	if (len >= (socklen_t)sizeof(struct ip_mreqn)) {
		memcpy(&mn, val, sizeof(mn));
	} else if (len >= (socklen_t)sizeof(struct ip_mreq)) {
		memset(&mn, 0, sizeof(mn));
		memcpy(&mn, val, sizeof(struct ip_mreq));
	} else
		return -EINVAL;
	*group = mn.imr_multiaddr.s_addr;
	*ifaddr = mn.imr_address.s_addr;
	if ((ntohl(*group) & 0xf0000000u) != 0xe0000000u)
		return -EINVAL;
	return 0;
}

static int
udp_group_find(struct udpcb *up, uint32_t group)
{
	uint32_t n = atomic_load_explicit(&up->u_ngroups, memory_order_relaxed);

	for (uint32_t i = 0; i < n; i++)
		if (atomic_load_explicit(&up->u_groups[i], memory_order_relaxed) == group)
			return (int)i;
	return -1;
}

static int
udp_join(struct udpcb *up, uint32_t group, uint32_t ifaddr)
{
	struct udp_state *us = up->u_us;
	uint32_t n = atomic_load_explicit(&up->u_ngroups, memory_order_relaxed);
	int r;

	if (udp_group_find(up, group) >= 0)
		return -EADDRINUSE;
	if (n == UDP_MAXGROUPS)
		return -ETOOMANYREFS;
	if (us->us_ip.mcast_join != NULL &&
	    (r = us->us_ip.mcast_join(us->us_iparg, group, ifaddr)) != 0)
		return r;
	atomic_store_explicit(&up->u_groups[n], group, memory_order_relaxed);
	up->u_gif[n] = ifaddr;
	/* release: pairs with udpcb_member()'s acquire (the slot is written first) */
	atomic_store_explicit(&up->u_ngroups, n + 1, memory_order_release);
	return 0;
}

static int
udp_leave(struct udpcb *up, uint32_t group)
{
	struct udp_state *us = up->u_us;
	uint32_t n = atomic_load_explicit(&up->u_ngroups, memory_order_relaxed);
	int i = udp_group_find(up, group);

	if (i < 0)
		return -EADDRNOTAVAIL;
	if (us->us_ip.mcast_leave != NULL)
		(void)us->us_ip.mcast_leave(us->us_iparg, group, up->u_gif[i]);
	atomic_store_explicit(&up->u_groups[i],
	    atomic_load_explicit(&up->u_groups[n - 1], memory_order_relaxed),
	    memory_order_relaxed);
	up->u_gif[i] = up->u_gif[n - 1];
	atomic_store_explicit(&up->u_ngroups, n - 1, memory_order_release);
	return 0;
}

static int
udp_set_byte(uint8_t *field, const void *val, socklen_t len, int max)
{
	int v;

	if (len >= (socklen_t)sizeof(int))
		memcpy(&v, val, sizeof(int));
	else if (len == 1)
		v = *(const uint8_t *)val;
	else
		return -EINVAL;
	if (v == -1 && field != NULL)
		v = 64;
	if (v < 0 || v > max)
		return -EINVAL;
	*field = (uint8_t)v;
	return 0;
}

static int
udp_set_mif(struct udpcb *up, const void *val, socklen_t len)
{
	struct ip_mreqn mn;

	if (len >= (socklen_t)sizeof(mn)) {
		memcpy(&mn, val, sizeof(mn));
		up->u_mif = mn.imr_address.s_addr;
	} else if (len >= (socklen_t)sizeof(struct in_addr))
		memcpy(&up->u_mif, val, sizeof(struct in_addr));
	else
		return -EINVAL;
	return 0;
}

/* The u_recvopts bit of a control-message option, or 0. */
static uint8_t
udp_recvopt_bit(int name)
{
	switch (name) {
	case IP_PKTINFO:	return UDP_RECV_PKTINFO;
	case IP_RECVTOS:	return UDP_RECV_TOS;
	case IP_RECVTTL:	return UDP_RECV_TTL;
	default:		return 0;
	}
}

static int
udp_set_recvopt(struct udpcb *up, uint8_t bit, const void *val, socklen_t len)
{
	int v;

	if (len < (socklen_t)sizeof(int))
		return -EINVAL;
	memcpy(&v, val, sizeof(int));
	up->u_recvopts = (uint8_t)(v ? up->u_recvopts | bit : up->u_recvopts & ~bit);
	return 0;
}

static int
udp_setopt(struct udpcb *up, int name, const void *val, socklen_t len)
{
	uint32_t group, ifaddr;
	uint8_t b;
	int r;

	if (val == NULL)
		return -EINVAL;
	if ((b = udp_recvopt_bit(name)) != 0)
		return udp_set_recvopt(up, b, val, len);
	switch (name) {
	case IP_TTL:
		return udp_set_byte(&up->u_ttl, val, len, 255);
	case IP_TOS:
		return udp_set_byte(&up->u_tos, val, len, 255);
	case IP_MULTICAST_TTL:
		return udp_set_byte(&up->u_mttl, val, len, 255);
	case IP_MULTICAST_LOOP:
		if ((r = udp_set_byte(&b, val, len, 1)) == 0)
			up->u_mloop = b != 0;
		return r;
	case IP_MULTICAST_IF:
		return udp_set_mif(up, val, len);
	case IP_ADD_MEMBERSHIP:
	case IP_DROP_MEMBERSHIP:
		if ((r = udp_mreq(val, len, &group, &ifaddr)) != 0)
			return r;
		return name == IP_ADD_MEMBERSHIP ? udp_join(up, group, ifaddr) :
		    udp_leave(up, group);
	default:
		return -ENOPROTOOPT;
	}
}

static int
udp_put_int(void *val, socklen_t *len, int v)
{
	if (val == NULL || *len < (socklen_t)sizeof(int))
		return -EINVAL;
	memcpy(val, &v, sizeof(int));
	*len = sizeof(int);
	return 0;
}

static int
udp_getopt(struct udpcb *up, int name, void *val, socklen_t *len)
{
	uint8_t b = udp_recvopt_bit(name);

	if (b != 0)
		return udp_put_int(val, len, (up->u_recvopts & b) != 0);
	switch (name) {
	case IP_TTL:
		return udp_put_int(val, len, up->u_ttl);
	case IP_TOS:
		return udp_put_int(val, len, up->u_tos);
	case IP_MULTICAST_TTL:
		return udp_put_int(val, len, up->u_mttl);
	case IP_MULTICAST_LOOP:
		return udp_put_int(val, len, up->u_mloop);
	case IP_MULTICAST_IF:
		if (val == NULL || *len < (socklen_t)sizeof(struct in_addr))
			return -EINVAL;
		memcpy(val, &up->u_mif, sizeof(struct in_addr));
		*len = sizeof(struct in_addr);
		return 0;
	default:
		return -ENOPROTOOPT;
	}
}

static int
udp_pr_ctloutput(struct socket *so, bool set, int level, int name, void *val,
    socklen_t *len)
{
	KMUTEX_ASSERT_HELD(&so->so_lock);
	if (level != IPPROTO_IP)
		return -ENOPROTOOPT;
	return set ? udp_setopt(so_udpcb(so), name, val, *len) :
	    udp_getopt(so_udpcb(so), name, val, len);
}

/* ---- attach ---- */

static const struct protosw udp_protosw = {
	.pr_family = AF_INET,
	.pr_type = SOCK_DGRAM,
	.pr_protocol = IPPROTO_UDP_NUM,
	.pr_flags = PR_ATOMIC | PR_ADDR,
	.pr_attach = udp_pr_attach,
	.pr_detach = udp_pr_detach,
	.pr_bind = udp_pr_bind,
	.pr_connect = udp_pr_connect,
	.pr_disconnect = udp_pr_disconnect,
	.pr_listen = NULL,
	.pr_shutdown = NULL,
	.pr_sockaddr = udp_pr_sockaddr,
	.pr_peeraddr = udp_pr_peeraddr,
	.pr_ctloutput = udp_pr_ctloutput,
	.pr_send = udp_pr_send,
	.pr_rcv_process = udp_rcv_process,
	.pr_rcv_addr = udp_rcv_addr,
	.pr_rcv_control = udp_rcv_control,
};

void
udp_set_ip_ops(struct udp_state *us, const struct udp_ip_ops *ops, void *arg)
{
	us->us_ip = *ops;
	us->us_iparg = arg;
}

struct udp_state *
udp_attach(struct smpnet *st)
{
	struct udp_state *us = calloc(1, sizeof(*us));
	int err;

	if (us == NULL)
		return NULL;
	us->us_stack = st;
	us->us_vnet = smpnet_vnet_of(st);
	us->us_kern = smpnet_kern_of(st);
	us->us_table = in_pcbtable_create(us->us_kern, UDP_EPH_LO, UDP_EPH_HI, 64);
	us->us_pcpu = pcpu_alloc(us->us_kern, sizeof(struct udp_pcpu));
	if (us->us_table == NULL || us->us_pcpu == NULL) {
		err = ENOMEM;
		goto fail;
	}
	if ((err = -dispatch_ipproto_register(us->us_vnet, DISPATCH_INET, IPPROTO_UDP_NUM,
	    udp_input, us)) != 0 || (err = -smpnet_proto_register(st, &udp_protosw, us)) != 0)
		goto fail;
	return us;
fail:
	in_pcbtable_destroy(us->us_table);
	pcpu_free(us->us_pcpu);
	free(us);
	errno = err;
	return NULL;
}

void
udp_detach(struct udp_state *us)
{
	(void)dispatch_ipproto_unregister(us->us_vnet, DISPATCH_INET, IPPROTO_UDP_NUM);
	in_pcbtable_destroy(us->us_table);
	pcpu_free(us->us_pcpu);
	free(us);
}
