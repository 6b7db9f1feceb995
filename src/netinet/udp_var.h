/*
 * udp_var.h - UDP over IPv4: per-stack state, the IPv4 glue it needs, counters.
 *
 * UDP registers its input as the IP-protocol handler for 17 in the vnet's dispatch table
 * and its protosw (SOCK_DGRAM over AF_INET) in the stack's socket registry.  What it
 * needs from IPv4 it takes through struct udp_ip_ops (output with fragmentation, source
 * address selection, ICMP port unreachable, multicast join/leave), set by the IPv4
 * domain when it is attached (or by a test/bench shim), so that UDP and IPv4 meet
 * through a table, not through each other's internals.
 *
 * Input, eager mode (net.lrp.lazy=0): IPv4 input, then header check, checksum, PCB
 * lookup, append to the socket's receive ring - all on the receiving CPU, in the RX
 * poll.  Lazy mode: the vnet's early input hook (udp_inet.c, if_dispatch.h) reads the
 * Ethernet/IPv4/UDP headers of each frame in place, in the RX poll before Ethernet input:
 * an untagged IPv4 frame to our MAC, without options, not a fragment, UDP, to a local
 * unicast address, whose PCB lookup finds a socket, is "early demultiplexed"
 * (udp_early_demux): dropped at once if the socket's buffer is full (udp.earlydrop, and
 * the socket's sb_drops), else appended raw.  Everything else takes the eager path.  The
 * reader (whoever takes the record off the ring: the receiving thread, or the socket's
 * receive continuation for a completion) runs pr_rcv_process = udp_rcv_process: IPv4's
 * checks (ip_input_lazy through udp_ip_ops.lazy_input), UDP's header check and checksum,
 * counting exactly as eager input would (ip.total, ip.*, ip.delivered, udp.ipackets,
 * udp.hdrops, udp.badsum, udp.delivered), plus udp.lazy.  Differences from eager, by
 * design: a datagram dropped early counts only udp.earlydrop (eager would count it in
 * IPv4 and as udp.fullsock, after the checksum: a corrupt datagram dropped early is not
 * seen as corrupt); a raw record still queued when its socket closes is freed uncounted
 * beyond the link (eager had counted it delivered).
 * Broadcast and multicast datagrams are always processed eagerly (one copy per socket).
 */
#ifndef SMPNET_NETINET_UDP_VAR_H
#define SMPNET_NETINET_UDP_VAR_H

#include <stdbool.h>
#include <stdint.h>

#include "kern/pcpu.h"

struct ifnet;
struct inpcbtable;
struct mbuf;
struct smpnet;
struct udp_state;

/* What IPv4 output needs for one datagram (addresses in network order). */
struct udp_ip_out {
	uint32_t	 uo_src;
	uint32_t	 uo_dst;
	uint8_t		 uo_ttl;
	uint8_t		 uo_tos;
	bool		 uo_mcast_loop;
	uint32_t	 uo_mcast_if;	/* interface address for multicast, or 0 */
	uint32_t	 uo_flowid;	/* flow hash for TX queue choice */
};

/*
 * IPv4 services.  All may be NULL except output.  Any thread, inside or outside a read
 * section; never block.
 *  output        prepend the IPv4 header to m (which starts at the UDP header), fragment
 *                as needed, route and transmit.  Consumes m.  0 or -errno
 *                (-ENETUNREACH, -EHOSTUNREACH, -EMSGSIZE, -ENOBUFS).
 *  select_src    the source address for dst: 0 or -ENETUNREACH / -EADDRNOTAVAIL.
 *  port_unreach  send ICMP port unreachable about m (starting at the IP header, off =
 *                its header length).  Consumes m.
 *  mcast_join/leave  the IPv4 group membership (IGMP, link filter) on the interface with
 *                address ifaddr (0: the default).  0 or -errno.  Control path.
 *  lazy_input    lazy receive processing: IPv4 input's checks and counters for a raw
 *                record (*mp at the IPv4 header, rcvif set); the IPv4 header length, or
 *                -1 with the mbuf freed (*mp NULL).  Any thread, with or without a read
 *                section.  NULL: lazy records are taken as they are (a test shim).
 *  addr_local    whether a socket may bind addr: 0 if it is one of the vnet's addresses
 *                or the directed broadcast of one of its networks, else -EADDRNOTAVAIL.
 *                (Wildcard, limited broadcast and multicast never reach it.)  NULL: any
 *                address is accepted (shims without IPv4).
 */
struct udp_ip_ops {
	int	(*output)(void *arg, struct mbuf *m, const struct udp_ip_out *o);
	int	(*select_src)(void *arg, uint32_t dst, uint32_t *src);
	void	(*port_unreach)(void *arg, struct mbuf *m, int off);
	int	(*mcast_join)(void *arg, uint32_t group, uint32_t ifaddr);
	int	(*mcast_leave)(void *arg, uint32_t group, uint32_t ifaddr);
	int	(*lazy_input)(void *arg, struct mbuf **mp);
	int	(*addr_local)(void *arg, uint32_t addr);
};

/* Counters (udpstat), per-CPU; UDPS_* index them. */
enum {
	UDPS_IPACKETS,		/* datagrams received */
	UDPS_HDROPS,		/* dropped: short or bad header/length */
	UDPS_BADSUM,		/* dropped: bad checksum (eager or lazy) */
	UDPS_NOPORT,		/* dropped: no socket */
	UDPS_NOPORTMCAST,	/* dropped: broadcast/multicast nobody wanted */
	UDPS_FULLSOCK,		/* dropped: socket buffer full */
	UDPS_EARLYDROP,		/* lazy: dropped at early demux, socket buffer full */
	UDPS_DELIVERED,		/* records queued to sockets */
	UDPS_LAZY,		/* raw records processed lazily at the reader */
	UDPS_OPACKETS,		/* datagrams sent */
	UDPS_OERRORS,		/* sends that failed in IPv4 output */
	UDPS_NCOUNTERS
};

struct udp_stats {
	uint64_t	c[UDPS_NCOUNTERS];
};

/* Create UDP on st (registers input handler and protosw).  NULL with errno.  May block. */
struct udp_state *udp_attach(struct smpnet *st);

/* Undo udp_attach; every UDP socket must be closed.  May block. */
void udp_detach(struct udp_state *us);

/* Install the IPv4 services (ops is copied; arg kept).  Control path, before traffic. */
void udp_set_ip_ops(struct udp_state *us, const struct udp_ip_ops *ops, void *arg);

/*
 * The IP-protocol handler (m at the IPv4 header, off = header length).  Consumes m.
 * Any CPU, inside a psz read section; never blocks.
 */
void udp_input(struct ifnet *ifp, struct mbuf *m, int off, void *arg);

/*
 * Lazy receive processing, the early demultiplexer's UDP half: m holds a frame whose
 * first lhlen bytes are the link header, followed by an IPv4 header of 20 bytes and a
 * UDP header, all in the first mbuf, already classified as local unicast UDP.  If the
 * stack is lazy and a socket wants the datagram: early drop (buffer full) or append raw,
 * link header stripped; returns true (m consumed).  Else false (m untouched: the eager
 * path takes it, and reports a missing port).  RX poll, inside a read section; never
 * blocks.
 */
bool udp_early_demux(struct udp_state *us, struct mbuf *m, int lhlen);

/* True if st's UDP runs lazily now (net.lrp.lazy).  Any thread. */
bool udp_lazy(const struct udp_state *us);

/*
 * An ICMP error about a datagram we sent (ports/addresses of that datagram, network
 * order): a connected socket with that 4-tuple gets so_error = error.  Read section.
 */
void udp_ctlinput(struct udp_state *us, uint32_t src, uint16_t sport, uint32_t dst,
    uint16_t dport, int error);

void udp_stats(struct udp_state *us, struct udp_stats *st);
struct inpcbtable *udp_pcbtable(struct udp_state *us);

/* The stack's UDP (src/socket/smpnet.c). */
struct udp_state *smpnet_udp_of(const struct smpnet *st);

#endif /* SMPNET_NETINET_UDP_VAR_H */
