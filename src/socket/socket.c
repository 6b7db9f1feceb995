/*
 * socket.c - the socket object: creation, close, the receive path (records, completions,
 * the receive continuation), send, and the BSD-shaped calls that only forward to the
 * protocol switch.
 *
 * Design (details in socket_var.h):
 *  - One lock per socket (so_lock).  Producers (the CPUs delivering datagrams) never take
 *    it: they append to a lockless MPSC ring and kick the receive continuation only when
 *    somebody waits (so_rwant, a Dekker handshake with the waiter).
 *  - Every receive is completion-based underneath: smpnet_recvmsg_async() takes data at
 *    once when there is some, or queues a caller-owned struct smpnet_completion; the
 *    receive continuation so_rxk (on the delivering CPU, or so_cpu) completes queued
 *    records in FIFO order and runs their callbacks after dropping so_lock.  The
 *    blocking calls wait on a per-call condition for such a completion.
 *  - Lazy receive processing: records may be queued unprocessed; whoever takes a record
 *    off the ring under so_lock (the receiving thread or so_rxk) runs pr_rcv_process().
 *  - Giant mode: every public call runs between kern_giant_enter/exit (recursive, so a
 *    callback in a continuation may call in); a blocking wait never holds it.
 *
 * Lock order: giant -> so_lock -> event set lock -> (protocol) PCB group lock.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kern/kassert.h"
#include "kern/kern.h"
#include "mbuf/mbuf.h"
#include "net/vnet.h"
#include "socket/socket_var.h"

static const struct klock_class socket_lock_class = { "socket" };

enum { SC_OP_RECV = 1, SC_OP_ACCEPT = 2 };

_Static_assert(sizeof(struct smpnet_completion) == 64,
    "a pending receive costs one cache line of the caller's memory");

#define SO_MAX_IOV	1024
#define SO_HDR_ROOM	64		/* leading space for protocol + link headers */

static inline struct socket *
so_of(struct smpnet_socket *s)
{
	return (struct socket *)(void *)s;
}

static inline struct kern *
so_kern(const struct socket *so)
{
	return smpnet_kern_of(so->so_stack);
}

static inline void
so_enter(struct socket *so)
{
	kern_giant_enter(so_kern(so));
}

static inline void
so_exit(struct socket *so)
{
	kern_giant_exit(so_kern(so));
}

static inline uint32_t
so_state(const struct socket *so)
{
	/* acquire: pairs with the release in so_state_set (state bits order nothing else) */
	return atomic_load_explicit(&so->so_state, memory_order_acquire);
}

static inline void
so_state_set(struct socket *so, uint32_t bits)
{
	KMUTEX_ASSERT_HELD(&so->so_lock);
	/* release: pairs with so_state()'s acquire in lockless pollers */
	atomic_fetch_or_explicit(&so->so_state, bits, memory_order_release);
}

static inline void
so_state_clear(struct socket *so, uint32_t bits)
{
	KMUTEX_ASSERT_HELD(&so->so_lock);
	/* release: as so_state_set */
	atomic_fetch_and_explicit(&so->so_state, ~bits, memory_order_release);
}

/* ---- socket buffers ---- */

static int
sb_init(struct sockbuf *sb, bool ring)
{
	memset(sb, 0, sizeof(*sb));
	atomic_init(&sb->sb_hiwat, SB_HIWAT_DEFAULT);
	if (ring && (sb->sb_ring = ring_create(SB_RING_SLOTS, RING_SC_DEQ)) == NULL)
		return -ENOMEM;
	return 0;
}

/* Free everything queued; the socket is unreachable (after a grace period). */
static void
sb_flush(struct sockbuf *sb)
{
	void *p;

	if (sb->sb_ring != NULL) {
		while (ring_dequeue_sc(sb->sb_ring, &p) == 0)
			m_freem(p);
		ring_destroy(sb->sb_ring);
	}
	m_freem(sb->sb_head);
	m_freem(sb->sb_mb);
}

/* Return len bytes and one record to the buffer's budget. */
static void
sb_uncharge(struct sockbuf *sb, uint32_t len)
{
	/* relaxed: the counters order nothing; the ring's indices order the records */
	atomic_fetch_sub_explicit(&sb->sb_cc, len, memory_order_relaxed);
	atomic_fetch_sub_explicit(&sb->sb_records, 1, memory_order_relaxed);
}

bool
sbspace_full(struct socket *so, uint32_t len)
{
	struct sockbuf *sb = &so->so_rcv;

	/* relaxed: a hint for the early drop; sbappend_record decides for real */
	return atomic_load_explicit(&sb->sb_cc, memory_order_relaxed) + len >
	    atomic_load_explicit(&sb->sb_hiwat, memory_order_relaxed);
}

/* Charge len bytes: true if they fit under sb_hiwat (else nothing charged). */
static bool
sb_charge(struct sockbuf *sb, uint32_t len)
{
	uint32_t hi = atomic_load_explicit(&sb->sb_hiwat, memory_order_relaxed);
	/* relaxed: the budget orders nothing (the ring's release/acquire orders the data) */
	uint32_t old = atomic_fetch_add_explicit(&sb->sb_cc, len, memory_order_relaxed);

	if (old + len > hi && old != 0) {
		atomic_fetch_sub_explicit(&sb->sb_cc, len, memory_order_relaxed);
		return false;
	}
	return true;
}

static void
sb_drop(struct sockbuf *sb, struct mbuf *m)
{
	m_freem(m);
	/* relaxed: a statistic */
	atomic_fetch_add_explicit(&sb->sb_drops, 1, memory_order_relaxed);
}

int
sbappend_record(struct socket *so, struct mbuf *m, bool processed)
{
	struct sockbuf *sb = &so->so_rcv;
	uint32_t len = (uint32_t)m->m_pkthdr.len;

	if (processed)
		m->m_flags |= M_PROTO1;
	else
		m->m_flags &= (uint16_t)~M_PROTO1;
	if (!sb_charge(sb, len)) {
		sb_drop(sb, m);
		return -ENOBUFS;
	}
	/* the ring's release commit pairs with the consumer's acquire: m's bytes travel */
	if (ring_enqueue_mp(sb->sb_ring, m) != 0) {
		atomic_fetch_sub_explicit(&sb->sb_cc, len, memory_order_relaxed);
		sb_drop(sb, m);
		return -ENOBUFS;
	}
	atomic_fetch_add_explicit(&sb->sb_records, 1, memory_order_relaxed);
	/* Dekker with so_rx_wait_register(): enqueue, fence, read so_rwant. */
	membar_sync();
	if (atomic_load_explicit(&so->so_rwant, memory_order_relaxed) != 0)
		so_rx_kick(so);
	return 0;
}

/*
 * The next ready record (left in sb_head), processing it lazily; NULL if none.  The
 * protocol's lazy processing may shorten the record (trim link padding) but never
 * lengthen it: the difference is returned to the budget, so sb_cc keeps matching the
 * records' m_pkthdr.len.
 */
static struct mbuf *
sb_peek_record(struct socket *so)
{
	struct sockbuf *sb = &so->so_rcv;
	void *p;

	KMUTEX_ASSERT_HELD(&so->so_lock);
	while (sb->sb_head == NULL) {
		struct mbuf *m;
		uint32_t len;

		if (ring_dequeue_sc(sb->sb_ring, &p) != 0)
			return NULL;
		m = p;
		len = (uint32_t)m->m_pkthdr.len;
		if (!(m->m_flags & M_PROTO1) &&
		    (m = so->so_proto->pr_rcv_process(so, m)) == NULL) {
			sb_uncharge(sb, len);
			continue;
		}
		KASSERT((uint32_t)m->m_pkthdr.len <= len);
		if ((uint32_t)m->m_pkthdr.len < len)	/* relaxed: see sb_uncharge */
			atomic_fetch_sub_explicit(&sb->sb_cc, len - (uint32_t)m->m_pkthdr.len,
			    memory_order_relaxed);
		sb->sb_head = m;
	}
	return sb->sb_head;
}

/* ---- receive ---- */

/* Copy len bytes from off of m into the iovecs; returns the bytes copied. */
static size_t
so_copyout(const struct mbuf *m, int off, size_t len, const struct msghdr *msg)
{
	size_t done = 0;

	for (size_t i = 0; i < (size_t)msg->msg_iovlen && done < len; i++) {
		size_t n = msg->msg_iov[i].iov_len;

		if (n > len - done)
			n = len - done;
		if (n > 0)
			(void)m_copydata(m, off + (int)done, (int)n, msg->msg_iov[i].iov_base);
		done += n;
	}
	return done;
}

static size_t
iov_total(const struct msghdr *msg)
{
	size_t t = 0;

	for (size_t i = 0; i < (size_t)msg->msg_iovlen; i++)
		t += msg->msg_iov[i].iov_len;
	return t;
}

/* What a receive returns when no record is there: error, EOF, or -EAGAIN. */
static ssize_t
so_rcv_empty(struct socket *so)
{
	int err = atomic_exchange_explicit(&so->so_error, 0, memory_order_relaxed);

	if (err != 0)
		return -err;
	if (so_state(so) & SS_CANTRCVMORE)
		return 0;
	return -EAGAIN;
}

/* One datagram receive attempt under so_lock: bytes, or -EAGAIN, or an error. */
static ssize_t
so_rcv_dgram(struct socket *so, struct msghdr *msg, int flags)
{
	struct mbuf *m;
	int hdr;
	size_t dlen, n;

	KMUTEX_ASSERT_HELD(&so->so_lock);
	if ((m = sb_peek_record(so)) == NULL)
		return so_rcv_empty(so);
	hdr = m->m_pkthdr.l3hlen + m->m_pkthdr.l4hlen;
	dlen = (size_t)(m->m_pkthdr.len - hdr);
	n = so_copyout(m, hdr, dlen, msg);
	msg->msg_flags = n < dlen ? MSG_TRUNC : 0;
	if (so->so_proto->pr_rcv_control != NULL)
		so->so_proto->pr_rcv_control(so, m, msg);
	else
		msg->msg_controllen = 0;
	if (msg->msg_name != NULL && so->so_proto->pr_rcv_addr != NULL)
		so->so_proto->pr_rcv_addr(so, m, msg->msg_name, &msg->msg_namelen);
	else
		msg->msg_namelen = 0;
	if (!(flags & MSG_PEEK)) {
		so->so_rcv.sb_head = NULL;
		sb_uncharge(&so->so_rcv, (uint32_t)m->m_pkthdr.len);
		m_freem(m);
	}
	return (ssize_t)((flags & MSG_TRUNC) ? dlen : n);
}

/* One accept attempt under so_lock. */
static ssize_t
so_accept_try(struct socket *so, struct smpnet_completion *c)
{
	struct socket *n = so->so_accq;

	KMUTEX_ASSERT_HELD(&so->so_lock);
	if (n == NULL) {
		ssize_t r = so_rcv_empty(so);

		return r == 0 ? -EINVAL : r;
	}
	so->so_accq = n->so_accnext;
	n->so_accnext = NULL;
	atomic_fetch_sub_explicit(&so->so_rcv.sb_records, 1, memory_order_relaxed);
	*(struct smpnet_socket **)c->sc_msg = (struct smpnet_socket *)(void *)n;
	if (c->sc_addr != NULL && n->so_proto->pr_peeraddr != NULL) {
		kmutex_enter(&n->so_lock);	/* order: listener, then its connection */
		(void)n->so_proto->pr_peeraddr(n, c->sc_addr, c->sc_addrlen);
		kmutex_exit(&n->so_lock);
	}
	return 0;
}

/*
 * One stream receive attempt under so_lock: up to the buffers' size from the byte chain
 * sb_mb (a partial read leaves the rest), or -EAGAIN / EOF / error when it is empty.
 */
static ssize_t
so_rcv_stream(struct socket *so, struct msghdr *msg, int flags)
{
	struct sockbuf *sb = &so->so_rcv;
	size_t want = iov_total(msg), have, n;

	KMUTEX_ASSERT_HELD(&so->so_lock);
	if (sb->sb_mb == NULL)
		return so_rcv_empty(so);
	have = (size_t)m_length(sb->sb_mb, NULL);
	n = so_copyout(sb->sb_mb, 0, want < have ? want : have, msg);
	msg->msg_flags = 0;
	msg->msg_namelen = 0;
	msg->msg_controllen = 0;
	if (flags & MSG_PEEK)
		return (ssize_t)n;
	if (n == have) {
		m_freem(sb->sb_mb);
		sb->sb_mb = sb->sb_mbtail = NULL;
	} else
		m_adj(sb->sb_mb, (int)n);
	/* relaxed: a budget; so_lock orders the chain */
	atomic_fetch_sub_explicit(&sb->sb_cc, (uint32_t)n, memory_order_relaxed);
	return (ssize_t)n;
}

static ssize_t
so_try(struct socket *so, struct smpnet_completion *c)
{
	if (c->sc_op == SC_OP_ACCEPT)
		return so_accept_try(so, c);
	if (!(so->so_proto->pr_flags & PR_ATOMIC))
		return so_rcv_stream(so, c->sc_msg, c->sc_flags);
	return so_rcv_dgram(so, c->sc_msg, c->sc_flags);
}

/* Wake whoever waits on so's receive side (caller holds so_lock: no race with them). */
static void
so_rx_wakeup_locked(struct socket *so)
{
	KMUTEX_ASSERT_HELD(&so->so_lock);
	if (atomic_load_explicit(&so->so_rwant, memory_order_relaxed) != 0)
		so_rx_kick(so);
}

int
sbappend_stream(struct socket *so, struct mbuf *m)
{
	struct sockbuf *sb = &so->so_rcv;
	uint32_t len = (uint32_t)m_length(m, NULL);

	KMUTEX_ASSERT_HELD(&so->so_lock);
	if (so_state(so) & SS_CANTRCVMORE) {
		m_freem(m);
		return -EPIPE;
	}
	if (!sb_charge(sb, len)) {
		m_freem(m);
		atomic_fetch_add_explicit(&sb->sb_drops, 1, memory_order_relaxed);
		return -ENOBUFS;
	}
	if (sb->sb_mb == NULL)
		sb->sb_mb = sb->sb_mbtail = m;
	else
		m_cat(sb->sb_mbtail, m);	/* may copy m into the tail and free it */
	while (sb->sb_mbtail->m_next != NULL)
		sb->sb_mbtail = sb->sb_mbtail->m_next;
	so_rx_wakeup_locked(so);
	return 0;
}

int
so_accept_enqueue(struct socket *head, struct socket *so)
{
	struct socket **pp;

	KMUTEX_ASSERT_HELD(&head->so_lock);
	if (!(so_state(head) & SS_LISTENING) || (so_state(head) & SS_CLOSED))
		return -ECONNREFUSED;
	for (pp = &head->so_accq; *pp != NULL; pp = &(*pp)->so_accnext)
		continue;
	*pp = so;
	so->so_accnext = NULL;
	atomic_fetch_add_explicit(&head->so_rcv.sb_records, 1, memory_order_relaxed);
	so_rx_wakeup_locked(head);
	return 0;
}

void
so_set_state(struct socket *so, uint32_t set, uint32_t clear)
{
	so_state_set(so, set);
	so_state_clear(so, clear);
	so_rx_wakeup_locked(so);
}

static void
so_rxq_push(struct socket *so, struct smpnet_completion *c)
{
	c->sc_next = NULL;
	if (so->so_rxqtail != NULL)
		so->so_rxqtail->sc_next = c;
	else
		so->so_rxq = c;
	so->so_rxqtail = c;
}

static struct smpnet_completion *
so_rxq_pop(struct socket *so)
{
	struct smpnet_completion *c = so->so_rxq;

	if (c != NULL && (so->so_rxq = c->sc_next) == NULL)
		so->so_rxqtail = NULL;
	return c;
}

/* Run the callbacks of a done list (no lock held). */
static void
so_run_done(struct smpnet_completion *done)
{
	while (done != NULL) {
		struct smpnet_completion *c = done;

		done = c->sc_next;
		c->sc_next = NULL;
		c->sc_fn(c, c->sc_res);
	}
}

/* Complete what the buffer can satisfy, in FIFO order; returns the done list. */
static struct smpnet_completion *
so_rxq_complete(struct socket *so)
{
	struct smpnet_completion *done = NULL, **tail = &done, *c;

	KMUTEX_ASSERT_HELD(&so->so_lock);
	while ((c = so->so_rxq) != NULL) {
		ssize_t r = so_try(so, c);

		if (r == -EAGAIN)
			break;
		so_rxq_pop(so);
		/* relaxed: so_rwant is only read after the Dekker fence; lock orders it here */
		atomic_fetch_sub_explicit(&so->so_rwant, 1, memory_order_relaxed);
		c->sc_res = r;
		c->sc_next = NULL;
		*tail = c;
		tail = &c->sc_next;
	}
	return done;
}

/* The receive continuation: complete pending receives, post events. */
static void
so_rx_cont(void *arg)
{
	struct socket *so = arg;
	struct smpnet_completion *done;

	/* relaxed: ordered before the completions by so_lock (close reads it after) */
	atomic_store_explicit(&so->so_rx_owner, klock_self(), memory_order_relaxed);
	kmutex_enter(&so->so_lock);
	done = so_rxq_complete(so);
	if (so->so_watch != NULL)
		sowatch_post_all(so);
	kmutex_exit(&so->so_lock);
	so_run_done(done);
	/* release: pairs with smpnet_close's acquire: the callbacks are over */
	atomic_store_explicit(&so->so_rx_owner, 0, memory_order_release);
}

/*
 * Wait until no receive continuation is running callbacks of so (unless it is us).  A
 * run that starts after close finds nothing to complete, so this is the last one.
 */
static void
so_rx_quiesce(struct socket *so)
{
	uintptr_t o;

	/* acquire: pairs with the release at the end of so_rx_cont */
	while ((o = atomic_load_explicit(&so->so_rx_owner, memory_order_acquire)) != 0 &&
	    o != klock_self())
		sched_yield();
}

void
so_rx_kick(struct socket *so)
{
	int cpu = kcpu_index(so_kern(so)) >= 0 ? KCPU_CURRENT : so->so_cpu;

	(void)kcont_schedule(&so->so_rxk, cpu, 0);
}

/*
 * Register interest (a pending completion or a watcher) and return true if data (or
 * an error, EOF) is there now, in which case the caller kicks so_rxk.  Dekker with
 * sbappend_record(): increment, fence, re-check the ring.
 */
static bool
so_rx_wait_register(struct socket *so)
{
	KMUTEX_ASSERT_HELD(&so->so_lock);
	atomic_fetch_add_explicit(&so->so_rwant, 1, memory_order_relaxed);
	membar_sync();
	return atomic_load_explicit(&so->so_rcv.sb_records, memory_order_relaxed) != 0 ||
	    !ring_empty(so->so_rcv.sb_ring) ||
	    atomic_load_explicit(&so->so_error, memory_order_relaxed) != 0 ||
	    (so_state(so) & SS_CANTRCVMORE);
}

/* Start a receive-side operation: the result now, or -EINPROGRESS (queued). */
static ssize_t
so_async_start(struct socket *so, struct smpnet_completion *c)
{
	ssize_t r = -EAGAIN;
	bool kick = false;

	kmutex_enter(&so->so_lock);
	if (so_state(so) & SS_CLOSED)
		r = -EBADF;
	else if (so->so_rxq == NULL)
		r = so_try(so, c);
	if (r == -EAGAIN && !(c->sc_flags & MSG_DONTWAIT)) {
		so_rxq_push(so, c);
		kick = so_rx_wait_register(so);
		r = -EINPROGRESS;
	}
	kmutex_exit(&so->so_lock);
	if (kick)
		so_rx_kick(so);
	return r;
}

ssize_t
smpnet_recvmsg_async(struct smpnet_socket *s, struct msghdr *msg, int flags,
    struct smpnet_completion *c)
{
	struct socket *so = so_of(s);
	ssize_t r;

	if (msg == NULL || c == NULL || c->sc_fn == NULL || msg->msg_iovlen > SO_MAX_IOV)
		return -EINVAL;
	c->sc_op = SC_OP_RECV;
	c->sc_msg = msg;
	c->sc_flags = flags;
	so_enter(so);
	r = so_async_start(so, c);
	so_exit(so);
	return r;
}

/* accept_async with receive flags (MSG_DONTWAIT from the blocking layer). */
static int
so_accept_start(struct socket *so, struct smpnet_socket **out, struct sockaddr *addr,
    socklen_t *len, struct smpnet_completion *c, int flags)
{
	ssize_t r;

	if (out == NULL || c == NULL || c->sc_fn == NULL || (addr != NULL && len == NULL))
		return -EINVAL;
	if (so->so_proto->pr_flags & PR_ATOMIC)
		return -EOPNOTSUPP;
	c->sc_op = SC_OP_ACCEPT;
	c->sc_msg = out;
	c->sc_addr = addr;
	c->sc_addrlen = len;
	c->sc_flags = flags;
	so_enter(so);
	if (!(so_state(so) & SS_LISTENING))
		r = -EINVAL;
	else
		r = so_async_start(so, c);
	so_exit(so);
	return (int)r;
}

int
smpnet_accept_async(struct smpnet_socket *s, struct smpnet_socket **out,
    struct sockaddr *addr, socklen_t *len, struct smpnet_completion *c)
{
	return so_accept_start(so_of(s), out, addr, len, c, 0);
}

int
smpnet_cancel(struct smpnet_socket *s, struct smpnet_completion *c)
{
	struct socket *so = so_of(s);
	struct smpnet_completion **pp, *prev = NULL;
	int r = -ENOENT;

	so_enter(so);
	kmutex_enter(&so->so_lock);
	for (pp = &so->so_rxq; *pp != NULL; prev = *pp, pp = &(*pp)->sc_next) {
		if (*pp != c)
			continue;
		*pp = c->sc_next;
		if (so->so_rxqtail == c)
			so->so_rxqtail = prev;
		atomic_fetch_sub_explicit(&so->so_rwant, 1, memory_order_relaxed);
		r = 0;
		break;
	}
	kmutex_exit(&so->so_lock);
	so_exit(so);
	return r;
}

/* ---- blocking layer ---- */

struct so_waiter {
	struct smpnet_completion sw_c;
	pthread_mutex_t		 sw_mtx;
	pthread_cond_t		 sw_cv;
	bool			 sw_done;	/* [W sw_mtx] */
	ssize_t			 sw_res;	/* [W sw_mtx] */
};

static void
so_waiter_done(struct smpnet_completion *c, ssize_t res)
{
	struct so_waiter *w = container_of(c, struct so_waiter, sw_c);

	pthread_mutex_lock(&w->sw_mtx);
	w->sw_res = res;
	w->sw_done = true;
	pthread_cond_signal(&w->sw_cv);
	pthread_mutex_unlock(&w->sw_mtx);
}

static void
so_waiter_init(struct so_waiter *w)
{
	pthread_condattr_t ca;

	memset(w, 0, sizeof(*w));
	w->sw_c.sc_fn = so_waiter_done;
	pthread_mutex_init(&w->sw_mtx, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->sw_cv, &ca);
	pthread_condattr_destroy(&ca);
}

/* Wait for the completion; on timeout cancel it (or wait if it is being completed). */
static ssize_t
so_waiter_wait(struct socket *so, struct so_waiter *w, uint64_t timeo_ns)
{
	struct timespec ts;
	ssize_t r;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(timeo_ns / 1000000000u);
	ts.tv_nsec += (long)(timeo_ns % 1000000000u);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->sw_mtx);
	while (!w->sw_done) {
		if (timeo_ns == 0)
			pthread_cond_wait(&w->sw_cv, &w->sw_mtx);
		else if (pthread_cond_timedwait(&w->sw_cv, &w->sw_mtx, &ts) == ETIMEDOUT)
			break;
	}
	if (!w->sw_done) {
		pthread_mutex_unlock(&w->sw_mtx);
		if (smpnet_cancel((struct smpnet_socket *)(void *)so, &w->sw_c) == 0)
			return -EAGAIN;
		pthread_mutex_lock(&w->sw_mtx);
		while (!w->sw_done)
			pthread_cond_wait(&w->sw_cv, &w->sw_mtx);
	}
	r = w->sw_res;
	pthread_mutex_unlock(&w->sw_mtx);
	return r;
}

static void
so_waiter_fini(struct so_waiter *w)
{
	pthread_cond_destroy(&w->sw_cv);
	pthread_mutex_destroy(&w->sw_mtx);
}

static bool
so_nbio(struct socket *so, int flags)
{
	return (flags & MSG_DONTWAIT) || (so_state(so) & SS_NBIO);
}

ssize_t
smpnet_recvmsg(struct smpnet_socket *s, struct msghdr *msg, int flags)
{
	struct socket *so = so_of(s);
	struct so_waiter w;
	ssize_t r;

	if (so_nbio(so, flags))
		flags |= MSG_DONTWAIT;
	so_waiter_init(&w);
	r = smpnet_recvmsg_async(s, msg, flags, &w.sw_c);
	if (r == -EINPROGRESS)
		r = so_waiter_wait(so, &w, so->so_rcvtimeo);
	so_waiter_fini(&w);
	return r;
}

ssize_t
smpnet_recvfrom(struct smpnet_socket *s, void *buf, size_t len, int flags,
    struct sockaddr *from, socklen_t *fromlen)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t r;

	if (from != NULL) {
		if (fromlen == NULL)
			return -EINVAL;
		msg.msg_name = from;
		msg.msg_namelen = *fromlen;
	}
	r = smpnet_recvmsg(s, &msg, flags);
	if (r >= 0 && from != NULL)
		*fromlen = msg.msg_namelen;
	return r;
}

ssize_t
smpnet_recv(struct smpnet_socket *s, void *buf, size_t len, int flags)
{
	return smpnet_recvfrom(s, buf, len, flags, NULL, NULL);
}

int
smpnet_accept(struct smpnet_socket *s, struct smpnet_socket **out, struct sockaddr *addr,
    socklen_t *len)
{
	struct socket *so = so_of(s);
	struct so_waiter w;
	int r;

	so_waiter_init(&w);
	r = so_accept_start(so, out, addr, len, &w.sw_c, so_nbio(so, 0) ? MSG_DONTWAIT : 0);
	if (r == -EINPROGRESS)
		r = (int)so_waiter_wait(so, &w, so->so_rcvtimeo);
	so_waiter_fini(&w);
	return r;
}

/* ---- send ---- */

static struct mbuf *
so_mbuf_from_iov(struct socket *so, const struct msghdr *msg, size_t total)
{
	struct mbuf *m = m_gethdr(so->so_vnet->v_pools, MT_DATA);

	if (m == NULL)
		return NULL;
	m->m_data = m->m_dat + SO_HDR_ROOM;
	m->m_len = 0;
	m->m_pkthdr.len = 0;
	for (size_t i = 0; i < (size_t)msg->msg_iovlen; i++) {
		const struct iovec *v = &msg->msg_iov[i];

		if (v->iov_len > 0 && m_append(m, (int)v->iov_len, v->iov_base) != 0) {
			m_freem(m);
			return NULL;
		}
	}
	KASSERT((size_t)m->m_pkthdr.len == total);
	return m;
}

ssize_t
smpnet_sendmsg(struct smpnet_socket *s, const struct msghdr *msg, int flags)
{
	struct socket *so = so_of(s);
	struct mbuf *m;
	size_t total;
	ssize_t r;

	if (msg == NULL || msg->msg_iovlen > SO_MAX_IOV)
		return -EINVAL;
	if ((total = iov_total(msg)) > 65535)
		return -EMSGSIZE;
	if (so_state(so) & SS_CLOSED)
		return -EBADF;
	if (so_state(so) & SS_CANTSENDMORE)
		return -EPIPE;
	so_enter(so);
	if ((m = so_mbuf_from_iov(so, msg, total)) == NULL)
		r = -ENOBUFS;
	else
		r = so->so_proto->pr_send(so, m, msg->msg_name, msg->msg_namelen, msg, flags);
	so_exit(so);
	return r;
}

ssize_t
smpnet_sendto(struct smpnet_socket *s, const void *buf, size_t len, int flags,
    const struct sockaddr *to, socklen_t tolen)
{
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf, .iov_len = len };
	struct msghdr msg = { .msg_name = (void *)(uintptr_t)to, .msg_namelen = tolen,
	    .msg_iov = &iov, .msg_iovlen = 1 };

	return smpnet_sendmsg(s, &msg, flags);
}

ssize_t
smpnet_send(struct smpnet_socket *s, const void *buf, size_t len, int flags)
{
	return smpnet_sendto(s, buf, len, flags, NULL, 0);
}

/* ---- creation and close ---- */

static int
so_init(struct socket *so, struct smpnet *st, const struct protosw *pr)
{
	struct kern *k = smpnet_kern_of(st);
	int err;

	so->so_stack = st;
	so->so_vnet = smpnet_vnet_of(st);
	so->so_proto = pr;
	so->so_cpu = (int)(((uintptr_t)so >> 6) % (uintptr_t)kern_ncpu(k));
	if ((err = sb_init(&so->so_rcv, true)) != 0)
		return err;
	if ((err = sb_init(&so->so_snd, false)) != 0)
		return err;
	if ((err = kmutex_init(&so->so_lock, k, &socket_lock_class)) != 0)
		return err;
	kcont_init(&so->so_rxk, k, so_rx_cont, so, NULL, 0);
	return 0;
}

static void
so_free_mem(struct socket *so)
{
	sb_flush(&so->so_rcv);
	sb_flush(&so->so_snd);
	free(so);
}

struct smpnet_socket *
smpnet_socket(struct smpnet *st, int domain, int type, int protocol)
{
	const struct protosw *pr;
	struct socket *so;
	void *pstate;
	int err, nb = type & SOCK_NONBLOCK;

	type &= ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (st == NULL) {
		errno = EINVAL;
		return NULL;
	}
	if ((pr = smpnet_proto_find(st, domain, type, protocol, &pstate)) == NULL)
		return NULL;	/* errno set */
	if ((so = aligned_alloc(CACHE_LINE, sizeof(*so))) == NULL) {	/* size: see assert */
		errno = ENOMEM;
		return NULL;
	}
	memset(so, 0, sizeof(*so));
	if ((err = so_init(so, st, pr)) != 0 || (err = pr->pr_attach(so, pstate)) != 0) {
		so_free_mem(so);
		errno = -err;
		return NULL;
	}
	if (nb)
		atomic_store_explicit(&so->so_state, SS_NBIO, memory_order_relaxed);
	smpnet_sockets_add(st, 1);
	return (struct smpnet_socket *)(void *)so;
}

/* After a grace period: no producer holds so.  Runs on the call_rcu thread. */
static void
so_free_rcu(struct psz_head *ph)
{
	struct socket *so = container_of(ph, struct socket, so_psz);

	struct smpnet *st = so->so_stack;

	(void)kcont_halt(&so->so_rxk);
	kmutex_fini(&so->so_lock);
	so_free_mem(so);
	smpnet_sockets_add(st, -1);
}

int
smpnet_close(struct smpnet_socket *s)
{
	struct socket *so = so_of(s);
	struct smpnet_completion *done = NULL, *c;
	uint32_t n = 0;

	so_enter(so);
	kmutex_enter(&so->so_lock);
	KASSERT(!(so_state(so) & SS_CLOSED));
	so_state_set(so, SS_CLOSED | SS_CANTRCVMORE | SS_CANTSENDMORE);
	so->so_proto->pr_detach(so);
	sowatch_remove_all(so);
	while ((c = so_rxq_pop(so)) != NULL) {
		c->sc_res = -ECANCELED;
		c->sc_next = done;
		done = c;
		n++;
	}
	atomic_fetch_sub_explicit(&so->so_rwant, n, memory_order_relaxed);
	kmutex_exit(&so->so_lock);
	(void)kcont_cancel(&so->so_rxk);
	so_exit(so);
	so_run_done(done);
	so_rx_quiesce(so);
	psz_defer(&so->so_psz, so_free_rcu);
	return 0;
}

/* ---- calls forwarded to the protocol under so_lock ---- */

/* Enter giant and so_lock for a call; false (nothing held) if the socket is closed. */
static bool
so_call_enter(struct socket *so)
{
	so_enter(so);
	kmutex_enter(&so->so_lock);
	if (!(so_state(so) & SS_CLOSED))
		return true;
	kmutex_exit(&so->so_lock);
	so_exit(so);
	return false;
}

static int
so_call_exit(struct socket *so, int r)
{
	kmutex_exit(&so->so_lock);
	so_exit(so);
	return r;
}

static int
so_bind_locked(struct socket *so, const struct sockaddr *sa, socklen_t len)
{
	int r;

	if (so_state(so) & SS_ISBOUND)
		return -EINVAL;
	if ((r = so->so_proto->pr_bind(so, sa, len)) == 0)
		so_state_set(so, SS_ISBOUND);
	return r;
}

int
smpnet_bind(struct smpnet_socket *s, const struct sockaddr *sa, socklen_t len)
{
	struct socket *so = so_of(s);

	if (sa == NULL)
		return -EINVAL;
	if (!so_call_enter(so))
		return -EBADF;
	return so_call_exit(so, so_bind_locked(so, sa, len));
}

static int
so_connect_locked(struct socket *so, const struct sockaddr *sa, socklen_t len)
{
	int r;

	if (sa->sa_family == AF_UNSPEC) {
		r = so->so_proto->pr_disconnect(so);
		if (r == 0)
			so_state_clear(so, SS_ISCONNECTED);
		return r;
	}
	if ((r = so->so_proto->pr_connect(so, sa, len)) == 0)
		so_state_set(so, SS_ISCONNECTED | SS_ISBOUND);
	return r;
}

int
smpnet_connect(struct smpnet_socket *s, const struct sockaddr *sa, socklen_t len)
{
	struct socket *so = so_of(s);

	if (sa == NULL || len < (socklen_t)sizeof(sa_family_t))
		return -EINVAL;
	if (!so_call_enter(so))
		return -EBADF;
	return so_call_exit(so, so_connect_locked(so, sa, len));
}

static int
so_listen_locked(struct socket *so, int backlog)
{
	int r;

	if (so->so_proto->pr_listen == NULL)
		return -EOPNOTSUPP;
	if ((r = so->so_proto->pr_listen(so, backlog)) == 0)
		so_state_set(so, SS_LISTENING);
	return r;
}

int
smpnet_listen(struct smpnet_socket *s, int backlog)
{
	struct socket *so = so_of(s);

	if (!so_call_enter(so))
		return -EBADF;
	return so_call_exit(so, so_listen_locked(so, backlog));
}

static int
so_shutdown_locked(struct socket *so, int how)
{
	uint32_t bits = 0;

	if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
		return -EINVAL;
	if ((so->so_proto->pr_flags & PR_CONNREQUIRED) &&
	    !(so_state(so) & SS_ISCONNECTED))
		return -ENOTCONN;
	if (how != SHUT_WR)
		bits |= SS_CANTRCVMORE;
	if (how != SHUT_RD)
		bits |= SS_CANTSENDMORE;
	so_state_set(so, bits);
	if (so->so_proto->pr_shutdown != NULL)
		(void)so->so_proto->pr_shutdown(so, how);
	return 0;
}

int
smpnet_shutdown(struct smpnet_socket *s, int how)
{
	struct socket *so = so_of(s);
	int r;

	if (!so_call_enter(so))
		return -EBADF;
	r = so_call_exit(so, so_shutdown_locked(so, how));
	if (r == 0 && how != SHUT_WR)
		so_rx_kick(so);	/* pending receives see EOF */
	return r;
}

int
smpnet_getsockname(struct smpnet_socket *s, struct sockaddr *sa, socklen_t *len)
{
	struct socket *so = so_of(s);

	if (sa == NULL || len == NULL)
		return -EINVAL;
	if (!so_call_enter(so))
		return -EBADF;
	return so_call_exit(so, so->so_proto->pr_sockaddr(so, sa, len));
}

int
smpnet_getpeername(struct smpnet_socket *s, struct sockaddr *sa, socklen_t *len)
{
	struct socket *so = so_of(s);

	if (sa == NULL || len == NULL)
		return -EINVAL;
	if (!so_call_enter(so))
		return -EBADF;
	return so_call_exit(so, so->so_proto->pr_peeraddr(so, sa, len));
}

int
smpnet_set_nonblock(struct smpnet_socket *s, bool on)
{
	struct socket *so = so_of(s);

	if (!so_call_enter(so))
		return -EBADF;
	if (on)
		so_state_set(so, SS_NBIO);
	else
		so_state_clear(so, SS_NBIO);
	return so_call_exit(so, 0);
}

void
so_seterror(struct socket *so, int error)
{
	/* relaxed store; the Dekker fence in the kick path orders it before so_rwant */
	atomic_store_explicit(&so->so_error, error, memory_order_relaxed);
	membar_sync();
	if (atomic_load_explicit(&so->so_rwant, memory_order_relaxed) != 0)
		so_rx_kick(so);
}
