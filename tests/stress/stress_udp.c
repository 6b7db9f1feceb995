/*
 * stress_udp.c - many threads on UDP sockets of two stacks joined by a wire, in eager,
 * lazy and giant modes.  Senders (one socket each) send sequenced datagrams to a
 * SO_REUSEPORT group of three receiving sockets, served three ways at once: a blocking
 * thread, an event-set thread with non-blocking receives, and self-re-arming completion
 * callbacks.  Meanwhile a churn thread binds, connects and closes sockets on other ports,
 * and sends to them (so sockets die with datagrams in flight).
 * Invariants checked at the end: no datagram twice, per-sender order kept on every
 * receiving socket (a flow stays on one socket), and received + counted drops == sent
 * (drops: socket buffer full / early drop, wire ring full, ARP hold queue, IPv4 output).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "dev/wire.h"
#include "netinet/inet.h"
#include "netinet/udp_var.h"
#include "smpnet/smpnet.h"
#include "smpnet/socket.h"
#include "socket/socket_var.h"

#define NSEND	4
#define NRECV	3
#define PORT	9000

#define CHECK(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
		exit(1);						\
	}								\
} while (0)

struct run {
	struct smpnet		*a, *b;
	struct smpnet_socket	*rs[NRECV];
	int			 per_sender;
	_Atomic uint64_t	 sent;
	_Atomic uint64_t	 received;
	_Atomic bool		 stop;
	_Atomic uint8_t		*seen;		/* [sender * per_sender + seq] */
	_Atomic int		 last[NRECV][NSEND];	/* last seq per socket, sender */
	/* async receiver */
	struct smpnet_completion c;
	struct msghdr		 am;
	struct iovec		 aiov;
	uint32_t		 abuf[4];
	_Atomic bool		 adone;
};

static uint32_t
ip(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

static void
account(struct run *r, int sock, const uint32_t *msg, ssize_t n)
{
	uint32_t snd = msg[0], seq = msg[1];

	CHECK(n == 16);
	CHECK(snd < NSEND && (int)seq < r->per_sender);
	CHECK(atomic_exchange(&r->seen[snd * (uint32_t)r->per_sender + seq], 1) == 0);
	CHECK((int)seq > atomic_load(&r->last[sock][snd]));
	atomic_store(&r->last[sock][snd], (int)seq);
	atomic_fetch_add(&r->received, 1);
}

static void *
sender(void *arg)
{
	struct run *r = ((void **)arg)[0];
	uint32_t id = (uint32_t)(uintptr_t)((void **)arg)[1];
	struct smpnet_socket *so = smpnet_socket(r->b, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in d = { .sin_family = AF_INET, .sin_port = htons(PORT),
	    .sin_addr = { ip("192.0.2.1") } };
	uint32_t msg[4] = { id, 0, 0xabcdef, 0 };

	CHECK(so != NULL);
	for (int i = 0; i < r->per_sender; i++) {
		ssize_t n;

		msg[1] = (uint32_t)i;
		while ((n = smpnet_sendto(so, msg, sizeof(msg), 0, (struct sockaddr *)&d,
		    sizeof(d))) == -ENOBUFS)
			sched_yield();
		CHECK(n == sizeof(msg));
		atomic_fetch_add(&r->sent, 1);
		if (i % 64 == 63)
			usleep(200);	/* keep the offered load near what receivers take */
	}
	smpnet_close(so);
	return NULL;
}

static void *
recv_blocking(void *arg)
{
	struct run *r = arg;
	uint32_t msg[4];
	ssize_t n;

	/* until shutdown(SHUT_RD): end of file (0) once the buffer is empty */
	while ((n = smpnet_recv(r->rs[0], msg, sizeof(msg), 0)) != 0) {
		CHECK(n > 0 || n == -EAGAIN);
		if (n > 0)
			account(r, 0, msg, n);
	}
	return NULL;
}

static void *
recv_events(void *arg)
{
	struct run *r = arg;
	struct smpnet_evset *es = smpnet_evset_create(r->a);
	struct smpnet_event ev[2];
	uint32_t msg[4];

	CHECK(es != NULL);
	CHECK(smpnet_evset_ctl(es, SMPNET_EV_ADD, r->rs[1], SMPNET_EV_IN, r) == 0);
	while (!atomic_load(&r->stop)) {
		ssize_t n;

		if (smpnet_evset_wait(es, ev, 2, 20) <= 0)
			continue;
		while ((n = smpnet_recv(r->rs[1], msg, sizeof(msg), MSG_DONTWAIT)) >= 0)
			account(r, 1, msg, n);
	}
	CHECK(smpnet_evset_ctl(es, SMPNET_EV_DEL, r->rs[1], 0, NULL) == 0);
	smpnet_evset_destroy(es);
	return NULL;
}

static void async_cb(struct smpnet_completion *c, ssize_t res);

/* Take what is there and re-arm; returns when a receive is pending or closed. */
static void
async_arm(struct run *r)
{
	for (;;) {
		ssize_t n = smpnet_recvmsg_async(r->rs[2], &r->am, 0, &r->c);

		if (n == -EINPROGRESS)
			return;
		if (n <= 0) {		/* 0: end of file after shutdown */
			CHECK(n == 0);
			atomic_store(&r->adone, true);
			return;
		}
		account(r, 2, r->abuf, n);
	}
}

static void
async_cb(struct smpnet_completion *c, ssize_t res)
{
	struct run *r = c->sc_arg;

	if (res <= 0) {		/* 0: end of file after shutdown */
		CHECK(res == 0);
		atomic_store(&r->adone, true);
		return;
	}
	account(r, 2, r->abuf, res);
	async_arm(r);
}

static void *
churn(void *arg)
{
	struct run *r = arg;
	struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(9100),
	    .sin_addr = { ip("192.0.2.1") } };
	int i = 0;

	while (!atomic_load(&r->stop) && i < 100000) {
		struct smpnet_socket *s1 = smpnet_socket(r->a, AF_INET, SOCK_DGRAM, 0);
		struct smpnet_socket *s2 = smpnet_socket(r->b, AF_INET, SOCK_DGRAM, 0);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9100) };
		int one = 1;

		CHECK(s1 != NULL && s2 != NULL);
		CHECK(smpnet_setsockopt(s1, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == 0);
		CHECK(smpnet_bind(s1, (struct sockaddr *)&a, sizeof(a)) == 0);
		CHECK(smpnet_connect(s2, (struct sockaddr *)&peer, sizeof(peer)) == 0);
		for (int k = 0; k < 8; k++)
			(void)smpnet_send(s2, "churn", 5, 0);
		if (i++ % 2)
			usleep(100);
		smpnet_close(s1);	/* datagrams may still be in flight to it */
		smpnet_close(s2);
	}
	return NULL;
}

static uint64_t
drops(struct run *r)
{
	struct udp_stats st;
	struct wire_stats ws;

	udp_stats(smpnet_udp_of(r->a), &st);
	CHECK(wire_port_stats(smpnet_wire_of(r->a), 1, &ws) == 0);
	/* churn traffic goes to port 9100; only our port's drops count, but churn
	 * sockets drop nothing into our counters except FULLSOCK on a churn socket,
	 * which is why the balance below is checked as an inequality too */
	return st.c[UDPS_FULLSOCK] + st.c[UDPS_EARLYDROP] + ws.ws_ring_full +
	    inet_stat(smpnet_vnet_of(r->b), "arp.holddrop") +
	    inet_stat(smpnet_vnet_of(r->b), "ip.odropped");
}

/*
 * Resolve ARP both ways before the run: datagrams held while a neighbour resolves are
 * sent after newer ones (legitimate UDP reordering the order check would flag).
 */
static void
prime_arp(struct run *r)
{
	struct smpnet_socket *sa = smpnet_socket(r->a, AF_INET, SOCK_DGRAM, 0);
	struct smpnet_socket *sb = smpnet_socket(r->b, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9200) };
	struct sockaddr_in b = { .sin_family = AF_INET, .sin_port = htons(9201) };
	struct timeval tv = { .tv_sec = 5 };
	char c;

	CHECK(sa != NULL && sb != NULL);
	CHECK(smpnet_bind(sa, (struct sockaddr *)&a, sizeof(a)) == 0);
	CHECK(smpnet_bind(sb, (struct sockaddr *)&b, sizeof(b)) == 0);
	CHECK(smpnet_setsockopt(sa, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
	CHECK(smpnet_setsockopt(sb, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
	a.sin_addr.s_addr = ip("192.0.2.1");
	b.sin_addr.s_addr = ip("192.0.2.2");
	CHECK(smpnet_sendto(sb, "p", 1, 0, (struct sockaddr *)&a, sizeof(a)) == 1);
	CHECK(smpnet_recv(sa, &c, 1, 0) == 1);
	CHECK(smpnet_sendto(sa, "p", 1, 0, (struct sockaddr *)&b, sizeof(b)) == 1);
	CHECK(smpnet_recv(sb, &c, 1, 0) == 1);
	smpnet_close(sa);
	smpnet_close(sb);
}

static void
run_mode(bool giant, bool lazy, int per_sender)
{
	struct smpnet_config ca = { .name = "a", .ncpu = 2, .giant = giant, .lazy = lazy };
	struct run *r = calloc(1, sizeof(*r));
	pthread_t ts[NSEND], tb, te, tc;
	void *args[NSEND][2];
	int big = 4 << 20, one = 1;

	CHECK(r != NULL);
	r->per_sender = per_sender;
	r->seen = calloc((size_t)NSEND * (size_t)per_sender, 1);
	for (int i = 0; i < NRECV; i++)
		for (int j = 0; j < NSEND; j++)
			atomic_init(&r->last[i][j], -1);
	CHECK((r->a = smpnet_create(&ca)) != NULL);
	struct smpnet_config cb = { .name = "b", .share = r->a, .lazy = lazy };
	CHECK((r->b = smpnet_create(&cb)) != NULL);
	CHECK(smpnet_wire_pair(r->a, ip("192.0.2.1"), r->b, ip("192.0.2.2"), 0) == 0);
	prime_arp(r);
	for (int i = 0; i < NRECV; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(PORT) };

		CHECK((r->rs[i] = smpnet_socket(r->a, AF_INET, SOCK_DGRAM, 0)) != NULL);
		CHECK(smpnet_setsockopt(r->rs[i], SOL_SOCKET, SO_REUSEPORT, &one,
		    sizeof(one)) == 0);
		CHECK(smpnet_setsockopt(r->rs[i], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big)) == 0);
		CHECK(smpnet_bind(r->rs[i], (struct sockaddr *)&a, sizeof(a)) == 0);
	}
	r->aiov = (struct iovec){ r->abuf, sizeof(r->abuf) };
	r->am.msg_iov = &r->aiov;
	r->am.msg_iovlen = 1;
	r->c.sc_fn = async_cb;
	r->c.sc_arg = r;
	async_arm(r);
	pthread_create(&tb, NULL, recv_blocking, r);
	pthread_create(&te, NULL, recv_events, r);
	pthread_create(&tc, NULL, churn, r);
	for (int i = 0; i < NSEND; i++) {
		args[i][0] = r;
		args[i][1] = (void *)(uintptr_t)i;
		pthread_create(&ts[i], NULL, sender, args[i]);
	}
	for (int i = 0; i < NSEND; i++)
		pthread_join(ts[i], NULL);
	/* wait (bounded) until every datagram is received or counted as dropped */
	for (int i = 0; i < 1000 && atomic_load(&r->received) + drops(r) <
	    atomic_load(&r->sent); i++)
		usleep(10000);
	atomic_store(&r->stop, true);
	pthread_join(tc, NULL);
	pthread_join(te, NULL);
	/* end the receivers with end of file, then close (no call races a close) */
	for (int i = 0; i < NRECV; i++)
		CHECK(smpnet_shutdown(r->rs[i], SHUT_RD) == 0);
	pthread_join(tb, NULL);
	for (int i = 0; i < 5000 && !atomic_load(&r->adone); i++)
		usleep(1000);
	CHECK(atomic_load(&r->adone));
	for (int i = 0; i < NRECV; i++)
		smpnet_close(r->rs[i]);
	uint64_t sent = atomic_load(&r->sent), got = atomic_load(&r->received), d = drops(r);
	printf("mode %s%s: sent %llu received %llu dropped %llu\n", giant ? "giant" : "normal",
	    lazy ? "+lazy" : "", (unsigned long long)sent, (unsigned long long)got,
	    (unsigned long long)d);
	CHECK(sent == (uint64_t)NSEND * (uint64_t)per_sender);
	CHECK(got <= sent && got + d >= sent);
	CHECK(got > 0);
	struct smpnet_leaks lk;
	int rb = smpnet_destroy_checked(r->b, &lk), ra;

	CHECK(rb == 0);		/* every socket closed, every mbuf of b's pools back */
	ra = smpnet_destroy_checked(r->a, &lk);
	printf("leaks of a: sockets %llu mbufs %llu clusters %llu\n",
	    (unsigned long long)lk.sockets, (unsigned long long)lk.mbufs,
	    (unsigned long long)lk.clusters);
	CHECK(ra == 0);
	free(r->seen);
	free(r);
}

int
main(void)
{
	const char *tsan = getenv("SMPNET_STRESS_SMALL");
	int n = tsan != NULL ? 2000 : 20000;

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
	n = 3000;
#endif
	run_mode(false, false, n);
	run_mode(false, true, n);
	run_mode(true, false, n / 2);
	printf("[  PASSED  ] stress_udp\n");
	return 0;
}
