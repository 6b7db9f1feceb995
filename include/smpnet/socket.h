/*
 * socket.h - BSD-shaped sockets on a smpnet stack, an epoll-like event API, and
 * completion-based calls.
 *
 * Sockets belong to one stack.  Any application thread may call any socket, and several
 * threads may use one socket at once: each socket has its own lock (in giant mode every
 * call also runs under the stack's global lock).  Addresses are libc's struct sockaddr_in
 * (struct sockaddr_in6 once IPv6 lands); lengths are socklen_t.
 *
 * Errors: calls return 0 (or a byte count) or a negative errno; the errors each call can
 * return are listed at the call.  Every call may be made from any application thread;
 * blocking calls (recv/recvfrom/recvmsg/accept without MSG_DONTWAIT on a blocking socket)
 * must not be made from a continuation of the stack's kern (a completion callback runs
 * in one): use the _async calls there.
 *
 * Completion-based calls.  smpnet_recvmsg_async() (and recv/accept variants) either
 * complete at once (return the result, the callback is NOT called) or return
 * -EINPROGRESS and later call c->sc_fn(c, result) exactly once, from a continuation on
 * one of the stack's CPUs, with no socket lock held; the callback may call any
 * non-blocking socket call, including the same async call again and smpnet_close().
 * Nothing is allocated: the caller owns the record (and the buffers it names) until the
 * callback runs or smpnet_cancel() removed it, so a million pending receives cost a
 * million records of sizeof(struct smpnet_completion).  Pending receives on one socket
 * complete in the order they were issued.  The blocking calls are a thin layer: an async
 * call plus a wait on a per-call condition.
 *
 * Events.  An event set (like epoll) watches sockets for SMPNET_EV_IN (a datagram or
 * bytes to read, a connection to accept, or end of file), SMPNET_EV_OUT (room to send)
 * and SMPNET_EV_ERR (so_error set); level-triggered.  A socket may be in several sets.
 */
#ifndef SMPNET_SOCKET_H
#define SMPNET_SOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>

#include "smpnet/smpnet.h"

struct smpnet_socket;

/*
 * Create a socket.  domain AF_INET; type SOCK_DGRAM (protocol 0 or IPPROTO_UDP), optionally
 * or-ed with SOCK_NONBLOCK.  Returns NULL with errno EAFNOSUPPORT, EPROTONOSUPPORT,
 * EPROTOTYPE, EINVAL or ENOMEM.  Never blocks for long.
 */
SMPNET_API struct smpnet_socket *smpnet_socket(struct smpnet *st, int domain, int type,
    int protocol);

/*
 * Close: the socket leaves its lookup tables at once (no datagram is delivered to it
 * after the call returns), pending completions finish with -ECANCELED (their callbacks
 * run in the closing thread, before the call returns), the socket leaves its event sets,
 * queued data is dropped, and the memory is freed later (after a grace period).  When it
 * returns, no callback of this socket is running on another thread (it waits for one in
 * progress) and none will be called.  Returns 0.  The pointer must not be used after the
 * call.  May be called from a completion callback (of this or another socket; it must
 * not wait for a callback that waits for it).  A thread blocked in a receive or accept
 * on the socket returns -ECANCELED; any other call must not race the close (the caller
 * orders them, e.g. with shutdown(SHUT_RD) first).  Every socket must be closed before
 * its stack is destroyed.
 */
SMPNET_API int smpnet_close(struct smpnet_socket *so);

/*
 * bind: 0, -EINVAL (NULL or short address, already bound), -EAFNOSUPPORT (not AF_INET),
 * -EADDRNOTAVAIL (an address the stack does not own; the wildcard, 255.255.255.255, a
 * directed broadcast of one of its networks and multicast groups are always allowed),
 * -EADDRINUSE, -EACCES, -EBADF.  Port 0 picks an ephemeral port no other socket uses.
 * Sharing a port (as Linux): the same address and port only if every socket on it set
 * SO_REUSEPORT (all sockets of a process count as one owner), or for a multicast address
 * if all set SO_REUSEADDR; the wildcard and a specific address on one port, in either
 * order, only if both set SO_REUSEADDR or both set SO_REUSEPORT.
 */
SMPNET_API int smpnet_bind(struct smpnet_socket *so, const struct sockaddr *addr,
    socklen_t len);

/*
 * connect (datagram sockets: set the default peer and receive only from it; AF_UNSPEC
 * dissolves the association): 0, -EINVAL, -EAFNOSUPPORT, -EADDRINUSE (that 4-tuple is
 * taken), -EADDRNOTAVAIL (no local address for the peer), -ENETUNREACH, -EBADF.
 */
SMPNET_API int smpnet_connect(struct smpnet_socket *so, const struct sockaddr *addr,
    socklen_t len);

/* listen: 0, -EOPNOTSUPP (datagram sockets), -EINVAL, -EBADF. */
SMPNET_API int smpnet_listen(struct smpnet_socket *so, int backlog);

/*
 * accept: the next connection of a listening socket in *out.  0, -EAGAIN (non-blocking,
 * none pending, or SO_RCVTIMEO expired), -EOPNOTSUPP (not a stream socket), -EINVAL (not
 * listening), -ECANCELED (closed while waiting), -EBADF.  Blocks unless non-blocking.
 */
SMPNET_API int smpnet_accept(struct smpnet_socket *so, struct smpnet_socket **out,
    struct sockaddr *addr, socklen_t *len);

/*
 * Send.  flags: MSG_DONTWAIT (accepted; datagram sends never block: nothing is queued on
 * the send side, a datagram goes to the interface or fails with -ENOBUFS).
 * Returns the bytes sent, or -EDESTADDRREQ (unconnected, no address), -EISCONN (connected
 * and an address given), -EMSGSIZE (datagram above 65507 bytes or above SO_SNDBUF),
 * -EINVAL, -EAFNOSUPPORT, -ENOBUFS (no packet buffers), -ENETUNREACH / -EHOSTUNREACH (no
 * route), -EPIPE (shut down for writing), -EACCES (broadcast without SO_BROADCAST),
 * -EADDRNOTAVAIL (IP_PKTINFO source not ours), -EBADF.  A multicast datagram is also
 * delivered, before the call returns, to the sending stack's sockets that joined the
 * group, unless IP_MULTICAST_LOOP is 0.
 */
SMPNET_API ssize_t smpnet_sendto(struct smpnet_socket *so, const void *buf, size_t len,
    int flags, const struct sockaddr *to, socklen_t tolen);
SMPNET_API ssize_t smpnet_send(struct smpnet_socket *so, const void *buf, size_t len,
    int flags);
/*
 * Scatter/gather: msg_name, msg_iov (at most 1024 entries), control data: IPPROTO_IP /
 * IP_PKTINFO (struct in_pktinfo: ipi_spec_dst, if not 0, is the source address and must
 * be one of the stack's; ipi_ifindex is ignored); another IPPROTO_IP type gives -EINVAL;
 * other levels are ignored.
 */
SMPNET_API ssize_t smpnet_sendmsg(struct smpnet_socket *so, const struct msghdr *msg,
    int flags);

/*
 * Receive.  flags: MSG_DONTWAIT, MSG_PEEK, MSG_TRUNC (return the datagram's full
 * length).  A datagram longer than the buffer is truncated (MSG_TRUNC set in
 * msg_flags for recvmsg).  recvmsg's control data (msg_controllen in: room, out: bytes
 * used; MSG_CTRUNC if some did not fit), each when its option is set: IP_PKTINFO (struct
 * in_pktinfo: ipi_ifindex the arriving interface, 0 for a multicast loopback copy;
 * ipi_addr the header's destination; ipi_spec_dst the same for unicast, 0 for broadcast
 * and multicast), IP_TOS (1 byte, option IP_RECVTOS), IP_TTL (int, option IP_RECVTTL).  Returns the bytes received (0 for an empty datagram, or end
 * of file after shutdown(SHUT_RD)), or -EAGAIN (nothing now and non-blocking, or
 * SO_RCVTIMEO expired), -ECANCELED (closed while waiting), -EINVAL, -EBADF, or a pending
 * so_error (e.g. -ECONNREFUSED after an ICMP port unreachable on a connected socket).
 * Blocks unless non-blocking.
 */
SMPNET_API ssize_t smpnet_recvfrom(struct smpnet_socket *so, void *buf, size_t len,
    int flags, struct sockaddr *from, socklen_t *fromlen);
SMPNET_API ssize_t smpnet_recv(struct smpnet_socket *so, void *buf, size_t len, int flags);
SMPNET_API ssize_t smpnet_recvmsg(struct smpnet_socket *so, struct msghdr *msg, int flags);

/* shutdown: 0, -EINVAL (how), -ENOTCONN, -EBADF.  SHUT_RD wakes pending receives (EOF). */
SMPNET_API int smpnet_shutdown(struct smpnet_socket *so, int how);

/* getsockname / getpeername: 0, -EINVAL, -ENOTCONN (peer), -EBADF. */
SMPNET_API int smpnet_getsockname(struct smpnet_socket *so, struct sockaddr *addr,
    socklen_t *len);
SMPNET_API int smpnet_getpeername(struct smpnet_socket *so, struct sockaddr *addr,
    socklen_t *len);

/*
 * Options.  SOL_SOCKET: SO_REUSEADDR, SO_REUSEPORT (see bind), SO_BROADCAST, SO_RCVBUF,
 * SO_SNDBUF (int, bytes, stored as given up to 16 MiB - getsockopt returns the limit in
 * use; a datagram larger than SO_SNDBUF fails with -EMSGSIZE, as BSD's sosend; default
 * 208 KiB), SO_RCVTIMEO, SO_SNDTIMEO (struct timeval; SO_SNDTIMEO is stored and returned
 * but bounds nothing: no send blocks), SO_ERROR (get: and clear), SO_TYPE (get).
 * IPPROTO_IP: IP_TTL, IP_TOS, IP_MULTICAST_TTL, IP_MULTICAST_LOOP (int, default 1: a
 * multicast datagram sent is also delivered to the stack's own members),
 * IP_MULTICAST_IF (struct in_addr or struct ip_mreqn), IP_ADD_MEMBERSHIP,
 * IP_DROP_MEMBERSHIP (struct ip_mreq or ip_mreqn), IP_PKTINFO, IP_RECVTOS, IP_RECVTTL
 * (int: control data on recvmsg).  0, -ENOPROTOOPT, -EINVAL (length or value),
 * -EADDRNOTAVAIL (drop of a group not joined, no such interface), -ENOMEM,
 * -ETOOMANYREFS (more than 20 groups), -EBADF.
 */
SMPNET_API int smpnet_setsockopt(struct smpnet_socket *so, int level, int name,
    const void *val, socklen_t len);
SMPNET_API int smpnet_getsockopt(struct smpnet_socket *so, int level, int name, void *val,
    socklen_t *len);

/* Non-blocking mode on/off (SOCK_NONBLOCK at creation sets it).  0 or -EBADF. */
SMPNET_API int smpnet_set_nonblock(struct smpnet_socket *so, bool on);

/* ---- completion-based calls ---- */

struct smpnet_completion;
typedef void (*smpnet_completion_fn)(struct smpnet_completion *c, ssize_t result);

/*
 * A pending operation, owned by the caller.  Set sc_fn and sc_arg; the rest is private
 * to the stack while the operation is pending.
 */
struct smpnet_completion {
	smpnet_completion_fn	 sc_fn;		/* called once with the result */
	void			*sc_arg;	/* for the caller */
	/* private */
	struct smpnet_completion *sc_next;
	void			*sc_msg;	/* struct msghdr * or accept's out pointer */
	void			*sc_addr;	/* accept: address out */
	socklen_t		*sc_addrlen;
	ssize_t			 sc_res;
	int			 sc_flags;
	int			 sc_op;
};

/*
 * Receive (as smpnet_recvmsg; msg and its buffers must stay valid while pending).
 * Returns the bytes received now (callback not called), -EINPROGRESS (callback later),
 * or an error as smpnet_recvmsg.  Never blocks.  MSG_DONTWAIT makes it fail with
 * -EAGAIN instead of pending.
 */
SMPNET_API ssize_t smpnet_recvmsg_async(struct smpnet_socket *so, struct msghdr *msg,
    int flags, struct smpnet_completion *c);

/*
 * Accept asynchronously: the result is 0 with *out set, or a negative errno as
 * smpnet_accept; -EINPROGRESS if pending.  Never blocks.
 */
SMPNET_API int smpnet_accept_async(struct smpnet_socket *so, struct smpnet_socket **out,
    struct sockaddr *addr, socklen_t *len, struct smpnet_completion *c);

/*
 * Cancel a pending operation: 0 if it was removed (its callback will not run), -ENOENT
 * if it is not pending (completed, or its callback is running or about to run).  Never
 * blocks.
 */
SMPNET_API int smpnet_cancel(struct smpnet_socket *so, struct smpnet_completion *c);

/* ---- events ---- */

#define SMPNET_EV_IN	0x1u
#define SMPNET_EV_OUT	0x4u
#define SMPNET_EV_ERR	0x8u
#define SMPNET_EV_HUP	0x10u

enum { SMPNET_EV_ADD = 1, SMPNET_EV_DEL = 2, SMPNET_EV_MOD = 3 };

struct smpnet_event {
	uint32_t	 events;	/* SMPNET_EV_* that are ready */
	void		*udata;		/* as registered */
};

struct smpnet_evset;

/* Create an event set on a stack.  NULL with errno ENOMEM.  May block. */
SMPNET_API struct smpnet_evset *smpnet_evset_create(struct smpnet *st);

/*
 * Destroy an event set: its sockets leave it.  No thread may be waiting on it.  May
 * block.
 */
SMPNET_API void smpnet_evset_destroy(struct smpnet_evset *es);

/*
 * Add, modify or remove a socket's watch: 0, -EEXIST (add twice), -ENOENT (mod/del of a
 * socket not in the set), -EINVAL (op, or a socket of another stack), -ENOMEM, -EBADF.
 */
SMPNET_API int smpnet_evset_ctl(struct smpnet_evset *es, int op, struct smpnet_socket *so,
    uint32_t events, void *udata);

/*
 * Wait up to timeout_ms (-1: forever, 0: poll) for ready sockets; fill at most max
 * events.  Returns how many (0 on timeout), or -EINVAL.  Blocks (not from a
 * continuation unless timeout_ms is 0).
 */
SMPNET_API int smpnet_evset_wait(struct smpnet_evset *es, struct smpnet_event *evs, int max,
    int timeout_ms);

#endif /* SMPNET_SOCKET_H */
