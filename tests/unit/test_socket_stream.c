/*
 * test_socket_stream.c - the socket layer's stream side (byte buffers, listen/accept,
 * accept completions, EOF) with an in-memory loopback stream protocol defined here, the
 * way TCP will plug in: a protosw registered in the stack, sbappend_stream() on the
 * receiving socket under its lock, so_accept_enqueue() on the listener.
 *
 * The protocol ("lostream", protocol number 253): connect finds the listener bound to
 * the port in this file's table, creates the server-side socket, links the two and
 * queues the new one on the listener; send appends to the peer's byte buffer; close
 * gives the peer end of file.  Single-threaded use only (its close takes the peer's lock
 * while holding its own).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "mbuf/mbuf.h"
#include "net/vnet.h"
#include "smpnet/smpnet.h"
#include "smpnet/socket.h"
#include "socket/socket_var.h"

#define LO_PROTO	253
#define LO_PORTS	64

struct lo_state {
	struct smpnet	*st;
	struct socket	*listener[LO_PORTS];	/* by port */
};

struct lo_pcb {
	struct lo_state	*state;		/* the protocol's state (pr_attach's pstate) */
	struct socket	*peer;
	uint16_t	 port;		/* host order */
	bool		 server;
};

static struct lo_pcb *
lo_pcb(struct socket *so)
{
	return so->so_pcb;
}

static int
lo_attach(struct socket *so, void *pstate)
{
	struct lo_pcb *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return -ENOMEM;
	p->state = pstate;
	so->so_pcb = p;
	return 0;
}

static void
lo_detach(struct socket *so)
{
	struct lo_pcb *p = lo_pcb(so);

	if (p->peer != NULL) {
		kmutex_enter(&p->peer->so_lock);
		lo_pcb(p->peer)->peer = NULL;
		so_set_state(p->peer, SS_CANTRCVMORE, 0);	/* end of file */
		kmutex_exit(&p->peer->so_lock);
	}
	if (p->port != 0 && p->state->listener[p->port] == so)
		p->state->listener[p->port] = NULL;
	free(p);
}

static int
lo_bind(struct socket *so, const struct sockaddr *sa, socklen_t len)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
	uint16_t port;

	if (len < (socklen_t)sizeof(*sin))
		return -EINVAL;
	port = ntohs(sin->sin_port);
	if (port == 0 || port >= LO_PORTS)
		return -EADDRNOTAVAIL;
	lo_pcb(so)->port = port;
	return 0;
}

static int
lo_listen(struct socket *so, int backlog)
{
	struct lo_state *ls = lo_pcb(so)->state;
	uint16_t port = lo_pcb(so)->port;

	(void)backlog;
	if (port == 0)
		return -EDESTADDRREQ;
	if (ls->listener[port] != NULL && ls->listener[port] != so)
		return -EADDRINUSE;
	ls->listener[port] = so;
	return 0;
}

static int
lo_connect(struct socket *so, const struct sockaddr *sa, socklen_t len)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
	struct lo_state *ls = lo_pcb(so)->state;
	struct socket *head, *n;
	int r;

	if (len < (socklen_t)sizeof(*sin) || ntohs(sin->sin_port) >= LO_PORTS)
		return -EINVAL;
	if ((head = ls->listener[ntohs(sin->sin_port)]) == NULL)
		return -ECONNREFUSED;
	n = (struct socket *)(void *)smpnet_socket(ls->st, AF_INET, SOCK_STREAM,
	    LO_PROTO);
	if (n == NULL)
		return -errno;
	lo_pcb(n)->peer = so;
	lo_pcb(n)->server = true;
	lo_pcb(n)->port = ntohs(sin->sin_port);
	lo_pcb(so)->peer = n;
	kmutex_enter(&n->so_lock);
	so_set_state(n, SS_ISCONNECTED, 0);
	kmutex_exit(&n->so_lock);
	kmutex_enter(&head->so_lock);
	r = so_accept_enqueue(head, n);
	kmutex_exit(&head->so_lock);
	return r;
}

static int
lo_disconnect(struct socket *so)
{
	(void)so;
	return -EOPNOTSUPP;
}

static int
lo_addr(struct socket *so, struct sockaddr *sa, socklen_t *len)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons(lo_pcb(so)->port) };

	memcpy(sa, &sin, *len < sizeof(sin) ? *len : sizeof(sin));
	*len = sizeof(sin);
	return 0;
}

static ssize_t
lo_send(struct socket *so, struct mbuf *m, const struct sockaddr *to, socklen_t tolen,
    const struct msghdr *ctl, int flags)
{
	struct socket *peer;
	int len = m->m_pkthdr.len, r;

	(void)to;
	(void)tolen;
	(void)ctl;
	(void)flags;
	kmutex_enter(&so->so_lock);
	peer = lo_pcb(so)->peer;
	kmutex_exit(&so->so_lock);
	if (peer == NULL) {
		m_freem(m);
		return -ENOTCONN;
	}
	kmutex_enter(&peer->so_lock);
	r = sbappend_stream(peer, m);
	kmutex_exit(&peer->so_lock);
	return r == 0 ? len : r;
}

static const struct protosw lo_stream = {
	.pr_family = AF_INET,
	.pr_type = SOCK_STREAM,
	.pr_protocol = LO_PROTO,
	.pr_flags = PR_CONNREQUIRED,
	.pr_attach = lo_attach,
	.pr_detach = lo_detach,
	.pr_bind = lo_bind,
	.pr_connect = lo_connect,
	.pr_disconnect = lo_disconnect,
	.pr_listen = lo_listen,
	.pr_sockaddr = lo_addr,
	.pr_peeraddr = lo_addr,
	.pr_send = lo_send,
};

static int
setup(void **state)
{
	struct smpnet_config c = { .ncpu = 2 };
	struct lo_state *ls = calloc(1, sizeof(*ls));

	ls->st = smpnet_create(&c);
	assert_non_null(ls->st);
	assert_int_equal(smpnet_proto_register(ls->st, &lo_stream, ls), 0);
	*state = ls;
	return 0;
}

static int
teardown(void **state)
{
	struct lo_state *ls = *state;

	assert_int_equal(smpnet_destroy_checked(ls->st, NULL), 0);	/* no leak */
	free(ls);
	return 0;
}

static struct smpnet_socket *
lo_sock(struct lo_state *ls)
{
	struct smpnet_socket *so = smpnet_socket(ls->st, AF_INET, SOCK_STREAM, LO_PROTO);

	assert_non_null(so);
	return so;
}

struct acc {
	struct smpnet_completion c;
	struct smpnet_socket	*out;
	struct sockaddr_in	 addr;
	socklen_t		 alen;
	_Atomic int		 done;
	ssize_t			 res;
};

static void
acc_cb(struct smpnet_completion *c, ssize_t res)
{
	struct acc *a = c->sc_arg;

	a->res = res;
	atomic_store(&a->done, 1);
}

static void
test_accept_and_bytes(void **state)
{
	struct lo_state *ls = *state;
	struct smpnet_socket *l = lo_sock(ls), *c = lo_sock(ls), *s, *s2, *c2;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9) };
	struct acc ac = { .c = { .sc_fn = acc_cb } };
	char buf[16];

	ac.c.sc_arg = &ac;
	ac.alen = sizeof(ac.addr);
	assert_int_equal(smpnet_accept(l, &s, NULL, NULL), -EINVAL);	/* not listening */
	assert_int_equal(smpnet_bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(smpnet_listen(l, 8), 0);
	assert_int_equal(smpnet_send(c, "x", 1, 0), -ENOTCONN);
	/* a pending accept completes when the connection arrives */
	assert_int_equal(smpnet_accept_async(l, &ac.out, (struct sockaddr *)&ac.addr, &ac.alen,
	    &ac.c), -EINPROGRESS);
	assert_int_equal(smpnet_connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
	for (int i = 0; i < 3000 && !atomic_load(&ac.done); i++)
		usleep(1000);
	assert_true(atomic_load(&ac.done));
	assert_int_equal(ac.res, 0);
	assert_non_null(ac.out);
	assert_int_equal(ntohs(ac.addr.sin_port), 9);
	s = ac.out;
	/* bytes: partial reads, peek, order */
	assert_int_equal(smpnet_send(c, "hello ", 6, 0), 6);
	assert_int_equal(smpnet_send(c, "world", 5, 0), 5);
	assert_int_equal(smpnet_recv(s, buf, 3, MSG_PEEK), 3);
	assert_memory_equal(buf, "hel", 3);
	assert_int_equal(smpnet_recv(s, buf, 5, 0), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(smpnet_recv(s, buf, sizeof(buf), 0), 6);
	assert_memory_equal(buf, " world", 6);
	assert_int_equal(smpnet_recv(s, buf, sizeof(buf), MSG_DONTWAIT), -EAGAIN);
	/* a second connection waits on the queue for a blocking accept */
	c2 = lo_sock(ls);
	assert_int_equal(smpnet_connect(c2, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(smpnet_accept(l, &s2, NULL, NULL), 0);
	assert_int_equal(smpnet_set_nonblock(l, true), 0);
	assert_int_equal(smpnet_accept(l, &s2, NULL, NULL), -EAGAIN);
	/* close gives the peer end of file after its data */
	assert_int_equal(smpnet_send(c, "bye", 3, 0), 3);
	smpnet_close(c);
	assert_int_equal(smpnet_recv(s, buf, sizeof(buf), 0), 3);
	assert_int_equal(smpnet_recv(s, buf, sizeof(buf), 0), 0);
	smpnet_close(s);
	smpnet_close(c2);
	smpnet_close(s2);
	smpnet_close(l);
}

static void
test_stream_limit(void **state)
{
	struct lo_state *ls = *state;
	struct smpnet_socket *l = lo_sock(ls), *c = lo_sock(ls), *s;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(10) };
	char big[3000] = { 0 }, out[3000];
	int small = 2048;
	ssize_t n, got = 0;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7);
	assert_int_equal(smpnet_bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(smpnet_listen(l, 8), 0);
	assert_int_equal(smpnet_connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(smpnet_accept(l, &s, NULL, NULL), 0);
	assert_int_equal(smpnet_setsockopt(s, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	assert_int_equal(smpnet_send(c, big, 1500, 0), 1500);
	assert_int_equal(smpnet_send(c, big + 1500, 1500, 0), -ENOBUFS);	/* over 2048 */
	while ((n = smpnet_recv(s, out + got, sizeof(out) - (size_t)got, MSG_DONTWAIT)) > 0)
		got += n;
	assert_int_equal(got, 1500);
	assert_int_equal(smpnet_send(c, big + 1500, 1500, 0), 1500);
	assert_int_equal(smpnet_recv(s, out + got, sizeof(out) - (size_t)got, 0), 1500);
	assert_memory_equal(out, big, 3000);
	smpnet_close(c);
	smpnet_close(s);
	smpnet_close(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_accept_and_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_limit, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
