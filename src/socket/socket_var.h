/*
 * socket_var.h - the socket object, socket buffers and the protocol switch, for the
 * socket layer (src/socket/) and the protocols under it (src/netinet/).
 *
 * A socket has one lock (so_lock, a kmutex of class "socket") and two socket buffers.
 *
 * Receive buffer, record (datagram) mode: producers are the CPUs delivering packets;
 * they never take the socket lock.  sbappend_record() charges the record's bytes to
 * sb_cc with an atomic add (undone and counted as a drop if it would pass sb_hiwat: the
 * early drop), then puts it on sb_ring, a bounded MPSC ring (multi-producer, the single
 * consumer being whoever holds so_lock).  Then, if someone waits (so_rwant > 0: a pending
 * completion or an event watcher), it schedules the socket's receive continuation
 * (so_rxk), which completes pending receives and posts events.  The waiter registers by
 * incrementing so_rwant and re-checking the ring; the producer enqueues and then reads
 * so_rwant; both sides put a seq_cst fence between their store and their load (Dekker),
 * so at least one of them sees the other and no wakeup is lost.
 * Records may arrive unprocessed (lazy receive processing, M_PROTO1 clear: the raw
 * packet as the early demultiplexer found it): the consumer runs the protocol's
 * pr_rcv_process() on each before use, so the protocol work happens in the receiving
 * thread or on the socket's CPU, and only for records that are read.
 *
 * Receive buffer, stream mode (TCP, next): a byte chain sb_mb under so_lock; the same
 * so_rwant / so_rxk wakeup protocol.  Send buffer: counters and a chain for stream
 * protocols; datagram sends go straight to the protocol.
 *
 * Words: a "record" is one mbuf packet (datagram) with its protocol headers in front:
 * m_pkthdr.l3hlen + l4hlen bytes, which pr_rcv_addr() reads for the source address.
 *
 * Lifetime: smpnet_close() unlinks the socket from its protocol's lookup tables (so no
 * new producer finds it), cancels what is pending, then hands the socket to a worker
 * continuation (so_freek) that halts so_rxk and frees the socket after a grace period
 * (producers that found it in an RCU lookup may still be appending).
 */
#ifndef SMPNET_SOCKET_SOCKET_VAR_H
#define SMPNET_SOCKET_SOCKET_VAR_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "kern/kcont.h"
#include "kern/klock.h"
#include "kern/psz.h"
#include "lib/ring.h"
#include "smpnet/socket.h"

struct mbuf;
struct smpnet;
struct socket;
struct vnet;
struct sowatch;

/* Protocol flags. */
#define PR_ATOMIC	0x01	/* datagrams: each send is one record */
#define PR_ADDR		0x02	/* records carry a source address */
#define PR_CONNREQUIRED	0x04	/* stream: connect before send */

/*
 * The protocol switch.  Calls marked [L] run with so_lock held (they must not block or
 * call back into the socket layer's locked calls); the others without it.
 *   pr_attach      new socket: create the protocol control block in so->so_pcb.  0/-errno.
 *   pr_detach      [L] closing: leave every lookup table (no producer finds so after it
 *                  returns, except those already in a read section), free the PCB after
 *                  a grace period.
 *   pr_bind, pr_connect, pr_disconnect, pr_listen, pr_shutdown, pr_sockaddr, pr_peeraddr,
 *   pr_ctloutput   [L] as the BSD calls of the same name.
 *   pr_send        send m (a packet header chain, consumed) to addr (NULL: the peer);
 *                  ctl, if not NULL, is sendmsg's header (its control data).
 *                  May take so_lock briefly.  Bytes sent or -errno.
 *   pr_rcv_process lazy processing of an unprocessed record: verify and return it (ready,
 *                  M_PROTO1 set, l3hlen/l4hlen set, m_pkthdr.len never larger), or NULL
 *                  (dropped, counted by the protocol).  [L]
 *   pr_rcv_addr    write the record's source address.  [L]
 *   pr_rcv_control write the control messages the socket asked for about the record
 *                  into msg (msg_controllen in: room, out: bytes used; MSG_CTRUNC
 *                  or-ed into msg_flags if some did not fit).  May be NULL.  [L]
 */
struct protosw {
	int		 pr_family;
	int		 pr_type;
	int		 pr_protocol;
	unsigned	 pr_flags;
	int	(*pr_attach)(struct socket *so, void *pstate);
	void	(*pr_detach)(struct socket *so);
	int	(*pr_bind)(struct socket *so, const struct sockaddr *sa, socklen_t len);
	int	(*pr_connect)(struct socket *so, const struct sockaddr *sa, socklen_t len);
	int	(*pr_disconnect)(struct socket *so);
	int	(*pr_listen)(struct socket *so, int backlog);
	int	(*pr_shutdown)(struct socket *so, int how);
	int	(*pr_sockaddr)(struct socket *so, struct sockaddr *sa, socklen_t *len);
	int	(*pr_peeraddr)(struct socket *so, struct sockaddr *sa, socklen_t *len);
	int	(*pr_ctloutput)(struct socket *so, bool set, int level, int name, void *val,
		    socklen_t *len);
	ssize_t	(*pr_send)(struct socket *so, struct mbuf *m, const struct sockaddr *to,
		    socklen_t tolen, const struct msghdr *ctl, int flags);
	struct mbuf *(*pr_rcv_process)(struct socket *so, struct mbuf *m);
	void	(*pr_rcv_addr)(struct socket *so, const struct mbuf *m, struct sockaddr *sa,
		    socklen_t *len);
	void	(*pr_rcv_control)(struct socket *so, const struct mbuf *m, struct msghdr *msg);
};

/* so_state bits ([a]: set under so_lock, read locklessly by event polling). */
#define SS_ISCONNECTED	0x0001u
#define SS_ISBOUND	0x0002u
#define SS_CANTRCVMORE	0x0004u
#define SS_CANTSENDMORE	0x0008u
#define SS_NBIO		0x0010u
#define SS_CLOSED	0x0020u
#define SS_LISTENING	0x0040u

/* so_options bits ([L]). */
#define SO_OPT_REUSEADDR	0x1u
#define SO_OPT_REUSEPORT	0x2u
#define SO_OPT_BROADCAST	0x4u

#define SB_RING_SLOTS	1024u		/* records a receive buffer can hold */
#define SB_HIWAT_DEFAULT (208u * 1024)	/* SO_RCVBUF default (bytes) */
#define SB_HIWAT_MAX	(16u * 1024 * 1024)

struct sockbuf {
	struct ring		*sb_ring;	/* [I] records: MP enqueue, consumer holds so_lock */
	struct mbuf		*sb_head;	/* [L] record taken off the ring, not yet consumed */
	_Atomic uint32_t	 sb_cc;		/* [a] bytes queued (ring + sb_head + sb_mb) */
	_Atomic uint32_t	 sb_hiwat;	/* [a] limit in bytes (SO_RCVBUF / SO_SNDBUF) */
	_Atomic uint32_t	 sb_records;	/* [a] records queued (ring + sb_head) */
	_Atomic uint64_t	 sb_drops;	/* [a] records dropped: buffer full */
	struct mbuf		*sb_mb;		/* [L] stream mode: byte chain */
	struct mbuf		*sb_mbtail;	/* [L] */
};

/* Receive-side state the producers touch: its own cache line. */
struct socket {
	struct sockbuf		 so_rcv;
	_Atomic uint32_t	 so_rwant;	/* [a] pending receives + watchers */
	_Atomic uint32_t	 so_state;	/* [a] SS_*; written under so_lock */
	_Atomic int		 so_error;	/* [a] pending error (positive errno) */
	int			 so_cpu;	/* [I] CPU of so_rxk when no CPU delivers */
	struct kcont		 so_rxk;	/* receive continuation (completions, events) */
	/* Owner side, from the next cache line on. */
	struct kmutex		 so_lock __cacheline_aligned;
	struct smpnet		*so_stack;	/* [I] */
	struct vnet		*so_vnet;	/* [I] */
	const struct protosw	*so_proto;	/* [I] */
	void			*so_pcb;	/* [I] after pr_attach (protocol-owned) */
	struct sockbuf		 so_snd;	/* [L] */
	unsigned		 so_options;	/* [L] SO_OPT_* */
	uint64_t		 so_rcvtimeo;	/* [L] ns, 0 = none */
	uint64_t		 so_sndtimeo;	/* [L] ns, 0 = none */
	_Atomic uintptr_t	 so_rx_owner;	/* [a] thread running so_rxk's callbacks, or 0 */
	struct smpnet_completion *so_rxq;	/* [L] pending receives, FIFO */
	struct smpnet_completion *so_rxqtail;	/* [L] */
	struct sowatch		*so_watch;	/* [L] event-set registrations */
	struct socket		*so_accq;	/* [L] accepted connections (stream), FIFO */
	struct socket		*so_accnext;	/* [L of the listener] */
	struct kcont		 so_freek;	/* worker: halt so_rxk, free after a grace period */
	struct psz_head		 so_psz;	/* deferred free */
} __cacheline_aligned;
_Static_assert(sizeof(struct socket) % CACHE_LINE == 0, "aligned_alloc needs a multiple");
_Static_assert(offsetof(struct socket, so_lock) % CACHE_LINE == 0,
    "the producers' fields do not share a line with the owner's");

/* ---- for protocols ---- */

/*
 * Append a record (a packet whose first l3hlen+l4hlen bytes are protocol headers) to
 * so's receive buffer without taking so_lock; processed says whether the protocol work
 * is done (else pr_rcv_process runs at the consumer).  Consumes m.  Returns 0, or
 * -ENOBUFS if the buffer is full (m freed, sb_drops counted).  Any thread, inside a psz
 * read section that found so; never blocks.
 */
int sbappend_record(struct socket *so, struct mbuf *m, bool processed);

/*
 * Stream mode: append m (a chain of bytes, no packet header needed) to so's byte buffer
 * and wake receivers.  Consumes m.  0, -ENOBUFS (over SO_RCVBUF: m freed, counted),
 * -EPIPE (shut down for reading).  so_lock held (the stream protocol's PCB lock).
 */
int sbappend_stream(struct socket *so, struct mbuf *m);

/*
 * Put a new connection so on listener head's accept queue and wake acceptors.  0 or
 * -ECONNREFUSED (head not listening or closed).  head's so_lock held.
 */
int so_accept_enqueue(struct socket *head, struct socket *so);

/* Set then clear SS_* bits and wake receivers (connected, EOF...).  so_lock held. */
void so_set_state(struct socket *so, uint32_t set, uint32_t clear);

/* True if so's receive buffer has no room for len more bytes (early-drop check). */
bool sbspace_full(struct socket *so, uint32_t len);

/* Set so_error and wake receivers (they return -error).  Any thread in a read section. */
void so_seterror(struct socket *so, int error);

/* The stack's kern, vnet and mbuf pools. */
struct kern *smpnet_kern_of(const struct smpnet *st);
struct vnet *smpnet_vnet_of(const struct smpnet *st);

/* The wire pair a stack owns (smpnet_wire_pair), or NULL; for tests and benchmarks. */
struct wire *smpnet_wire_of(const struct smpnet *st);

/*
 * Protocol registry of a stack (src/socket/smpnet.c): the built-in protocols register at
 * smpnet_create(); another (a test's) must register before the stack's first socket.
 * 0 or -ENOSPC.
 */
int smpnet_proto_register(struct smpnet *st, const struct protosw *pr, void *pstate);
const struct protosw *smpnet_proto_find(struct smpnet *st, int family, int type,
    int protocol, void **pstate);

/* Count a socket of st in (1, at creation) or out (-1, when its memory is freed). */
void smpnet_sockets_add(struct smpnet *st, int delta);

/* Stack-wide setting: lazy receive processing (net.lrp.lazy), relaxed read. */
bool smpnet_lazy(const struct smpnet *st);

/* Event sets: called by the socket layer (socket_event.c). */
void sowatch_post_all(struct socket *so);
void sowatch_remove_all(struct socket *so);
uint32_t so_poll(struct socket *so);

/* Receive continuation (socket.c). */
void so_rx_kick(struct socket *so);

#endif /* SMPNET_SOCKET_SOCKET_VAR_H */
