/*
 * test_socket_semantics.c - socket behaviour a BSD/Linux program relies on: options that
 * act (IP_MULTICAST_LOOP, SO_SNDBUF, SO_SNDTIMEO, IP_PKTINFO, IP_RECVTOS, IP_RECVTTL),
 * bind and connect checks (EADDRINUSE rules, EADDRNOTAVAIL, EINVAL, EAFNOSUPPORT),
 * smpnet_destroy_checked() and SMPNET_NOPIN.
 *
 * Two stacks a (192.0.2.1) and b (192.0.2.2) on one in-memory wire, sharing a kern.
 * Deliveries across the wire are waited for with SO_RCVTIMEO (a bound, not a timing
 * assertion); the absence of a multicast loopback copy is checked at once, because the
 * loopback copy is delivered inside the sending call.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <cmocka.h>

#include "kern/kern_var.h"
#include "kern/psz.h"
#include "net/ifnet.h"
#include "net/vnet.h"
#include "netinet/inet.h"
#include "smpnet/smpnet.h"
#include "smpnet/socket.h"
#include "socket/socket_var.h"
#include "udptest.h"

#define ADDR_A	"192.0.2.1"
#define ADDR_A2	"192.0.2.11"	/* a second address of a, added by some tests */
#define ADDR_B	"192.0.2.2"
#define GROUP	"239.7.7.7"

/* LeakSanitizer's switch, present only in sanitizer builds. */
void __lsan_disable(void) __attribute__((weak));
void __lsan_enable(void) __attribute__((weak));

struct pair {
	struct smpnet	*a, *b;
};

static int
pair_setup(void **state)
{
	struct smpnet_config ca = { .name = "a", .ncpu = 2 };
	struct pair *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->a = smpnet_create(&ca);
	assert_non_null(p->a);
	struct smpnet_config cb = { .name = "b", .share = p->a };
	p->b = smpnet_create(&cb);
	assert_non_null(p->b);
	assert_int_equal(smpnet_wire_pair(p->a, ip(ADDR_A), p->b, ip(ADDR_B), 0), 0);
	*state = p;
	return 0;
}

static int
pair_teardown(void **state)
{
	struct pair *p = *state;
	struct smpnet_leaks lk;

	assert_int_equal(smpnet_destroy_checked(p->b, &lk), 0);
	assert_int_equal(smpnet_destroy_checked(p->a, &lk), 0);
	free(p);
	return 0;
}

static ssize_t
sendto_addr(struct smpnet_socket *so, const char *addr, uint16_t port, const void *buf,
    size_t len)
{
	struct sockaddr_in to = sin_of(addr, port);

	return smpnet_sendto(so, buf, len, 0, (struct sockaddr *)&to, sizeof(to));
}

static void
set_int(struct smpnet_socket *so, int level, int name, int v)
{
	assert_int_equal(smpnet_setsockopt(so, level, name, &v, sizeof(v)), 0);
}

static int
get_int(struct smpnet_socket *so, int level, int name)
{
	int v = -1;
	socklen_t l = sizeof(v);

	assert_int_equal(smpnet_getsockopt(so, level, name, &v, &l), 0);
	assert_int_equal(l, sizeof(v));
	return v;
}

static void
join(struct smpnet_socket *so, const char *group)
{
	struct ip_mreq mr = { .imr_multiaddr = { ip(group) } };

	assert_int_equal(smpnet_setsockopt(so, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)),
	    0);
}

/* Give a's wire interface a second address. */
static void
add_addr(struct smpnet *st, const char *addr)
{
	struct ifnet *ifp;

	psz_read_enter();
	ifp = vnet_if_byname(smpnet_vnet_of(st), "wire0");
	psz_read_exit();
	assert_non_null(ifp);
	assert_int_equal(in_addr_add(ifp, ntohl(ip(addr)), 24), 0);
}

/* ---- IP_MULTICAST_LOOP ---- */

static void
test_multicast_loop(void **state)
{
	struct pair *p = *state;
	struct smpnet_socket *m = udp_sock(p->a, NULL, 7100), *tx = udp_sock(p->a, NULL, 0);
	struct smpnet_socket *mb = udp_sock(p->b, NULL, 7100);
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	char buf[16];

	join(m, GROUP);
	join(mb, GROUP);
	assert_int_equal(get_int(tx, IPPROTO_IP, IP_MULTICAST_LOOP), 1);	/* default */
	/* on: the member on the sending stack has its copy when sendto returns */
	assert_int_equal(sendto_addr(tx, GROUP, 7100, "on", 2), 2);
	assert_int_equal(smpnet_recvfrom(m, buf, sizeof(buf), MSG_DONTWAIT,
	    (struct sockaddr *)&from, &fl), 2);
	assert_memory_equal(buf, "on", 2);
	assert_int_equal(from.sin_addr.s_addr, ip(ADDR_A));
	assert_int_equal(smpnet_recv(mb, buf, sizeof(buf), 0), 2);	/* and it left */
	/* off: no local copy, still sent on the link */
	set_int(tx, IPPROTO_IP, IP_MULTICAST_LOOP, 0);
	assert_int_equal(get_int(tx, IPPROTO_IP, IP_MULTICAST_LOOP), 0);
	assert_int_equal(sendto_addr(tx, GROUP, 7100, "off", 3), 3);
	assert_int_equal(smpnet_recv(m, buf, sizeof(buf), MSG_DONTWAIT), -EAGAIN);
	assert_int_equal(smpnet_recv(mb, buf, sizeof(buf), 0), 3);
	assert_memory_equal(buf, "off", 3);
	/* a socket of the stack that did not join gets nothing either way */
	set_int(tx, IPPROTO_IP, IP_MULTICAST_LOOP, 1);
	assert_int_equal(sendto_addr(tx, GROUP, 7100, "x", 1), 1);
	assert_int_equal(smpnet_recv(tx, buf, sizeof(buf), MSG_DONTWAIT), -EAGAIN);
	assert_int_equal(smpnet_recv(m, buf, sizeof(buf), MSG_DONTWAIT), 1);
	assert_int_equal(smpnet_recv(mb, buf, sizeof(buf), 0), 1);
	smpnet_close(m);
	smpnet_close(tx);
	smpnet_close(mb);
}

/* ---- SO_SNDBUF, SO_SNDTIMEO ---- */

static void
test_sndbuf(void **state)
{
	struct pair *p = *state;
	struct smpnet_socket *rx = udp_sock(p->b, NULL, 7101), *tx = udp_sock(p->a, NULL, 0);
	char big[4096] = { 0 }, buf[4096];
	struct timeval tv = { .tv_sec = 2, .tv_usec = 500000 }, got;
	socklen_t gl = sizeof(got);

	assert_true(get_int(tx, SOL_SOCKET, SO_SNDBUF) >= 65507);	/* default: no limit */
	set_int(tx, SOL_SOCKET, SO_SNDBUF, 1000);
	assert_int_equal(get_int(tx, SOL_SOCKET, SO_SNDBUF), 1000);	/* what is used */
	assert_int_equal(sendto_addr(tx, ADDR_B, 7101, big, 1001), -EMSGSIZE);
	assert_int_equal(sendto_addr(tx, ADDR_B, 7101, big, 1000), 1000);
	assert_int_equal(smpnet_recv(rx, buf, sizeof(buf), 0), 1000);
	set_int(tx, SOL_SOCKET, SO_SNDBUF, 4096);
	assert_int_equal(sendto_addr(tx, ADDR_B, 7101, big, 4096), 4096);
	assert_int_equal(smpnet_recv(rx, buf, sizeof(buf), 0), 4096);
	assert_int_equal(smpnet_setsockopt(tx, SOL_SOCKET, SO_SNDBUF, &(int){ 0 }, sizeof(int)),
	    -EINVAL);
	/* SO_SNDTIMEO: stored and returned (UDP sends never block) */
	assert_int_equal(smpnet_setsockopt(tx, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(smpnet_getsockopt(tx, SOL_SOCKET, SO_SNDTIMEO, &got, &gl), 0);
	assert_int_equal(got.tv_sec, 2);
	assert_int_equal(got.tv_usec, 500000);
	smpnet_close(rx);
	smpnet_close(tx);
}

/* ---- IP_PKTINFO, IP_RECVTOS, IP_RECVTTL ---- */

/* Receive one datagram with control data; returns its length. */
static ssize_t
recv_ctl(struct smpnet_socket *so, char *buf, size_t len, void *ctl, size_t ctllen,
    struct msghdr *out)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct sockaddr_in from;
	ssize_t n;

	memset(out, 0, sizeof(*out));
	out->msg_name = &from;
	out->msg_namelen = sizeof(from);
	out->msg_iov = &iov;
	out->msg_iovlen = 1;
	out->msg_control = ctl;
	out->msg_controllen = ctllen;
	n = smpnet_recvmsg(so, out, 0);
	out->msg_name = NULL;	/* both pointed into this frame */
	out->msg_iov = NULL;
	return n;
}

static const struct cmsghdr *
find_cmsg(struct msghdr *m, int type)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c))
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == type)
			return c;
	return NULL;
}

static void
test_pktinfo_recv(void **state)
{
	struct pair *p = *state;
	struct smpnet_socket *rx = udp_sock(p->b, NULL, 7102), *tx = udp_sock(p->a, NULL, 0);
	union { char b[256]; struct cmsghdr align; } ctl;
	const struct cmsghdr *c;
	struct in_pktinfo pi;
	struct msghdr m;
	char buf[16];
	int ttl;

	/* nothing asked: no control data */
	assert_int_equal(sendto_addr(tx, ADDR_B, 7102, "a", 1), 1);
	assert_int_equal(recv_ctl(rx, buf, sizeof(buf), ctl.b, sizeof(ctl.b), &m), 1);
	assert_int_equal(m.msg_controllen, 0);
	set_int(rx, IPPROTO_IP, IP_PKTINFO, 1);
	set_int(rx, IPPROTO_IP, IP_RECVTOS, 1);
	set_int(rx, IPPROTO_IP, IP_RECVTTL, 1);
	assert_int_equal(get_int(rx, IPPROTO_IP, IP_PKTINFO), 1);
	assert_int_equal(get_int(rx, IPPROTO_IP, IP_RECVTOS), 1);
	assert_int_equal(get_int(rx, IPPROTO_IP, IP_RECVTTL), 1);
	set_int(tx, IPPROTO_IP, IP_TOS, 0x28);
	set_int(tx, IPPROTO_IP, IP_TTL, 33);
	assert_int_equal(sendto_addr(tx, ADDR_B, 7102, "b", 1), 1);
	assert_int_equal(recv_ctl(rx, buf, sizeof(buf), ctl.b, sizeof(ctl.b), &m), 1);
	assert_false(m.msg_flags & MSG_CTRUNC);
	assert_non_null(c = find_cmsg(&m, IP_PKTINFO));
	assert_int_equal(c->cmsg_len, CMSG_LEN(sizeof(pi)));
	memcpy(&pi, CMSG_DATA(c), sizeof(pi));
	assert_int_equal(pi.ipi_addr.s_addr, ip(ADDR_B));
	assert_int_equal(pi.ipi_spec_dst.s_addr, ip(ADDR_B));
	psz_read_enter();
	assert_int_equal(pi.ipi_ifindex, if_index(vnet_if_byname(smpnet_vnet_of(p->b),
	    "wire0")));
	psz_read_exit();
	assert_non_null(c = find_cmsg(&m, IP_TOS));
	assert_int_equal(*CMSG_DATA(c), 0x28);
	assert_non_null(c = find_cmsg(&m, IP_TTL));
	memcpy(&ttl, CMSG_DATA(c), sizeof(ttl));
	assert_int_equal(ttl, 33);
	/* too small a buffer: MSG_CTRUNC, what fitted is kept */
	assert_int_equal(sendto_addr(tx, ADDR_B, 7102, "c", 1), 1);
	assert_int_equal(recv_ctl(rx, buf, sizeof(buf), ctl.b, CMSG_SPACE(sizeof(pi)), &m), 1);
	assert_true(m.msg_flags & MSG_CTRUNC);
	assert_int_equal(m.msg_controllen, CMSG_SPACE(sizeof(pi)));
	assert_non_null(find_cmsg(&m, IP_PKTINFO));
	/* option off again */
	set_int(rx, IPPROTO_IP, IP_PKTINFO, 0);
	set_int(rx, IPPROTO_IP, IP_RECVTOS, 0);
	set_int(rx, IPPROTO_IP, IP_RECVTTL, 0);
	assert_int_equal(sendto_addr(tx, ADDR_B, 7102, "d", 1), 1);
	assert_int_equal(recv_ctl(rx, buf, sizeof(buf), ctl.b, sizeof(ctl.b), &m), 1);
	assert_int_equal(m.msg_controllen, 0);
	smpnet_close(rx);
	smpnet_close(tx);
}

/* sendmsg with IP_PKTINFO: ipi_spec_dst is the source address. */
static ssize_t
send_pktinfo(struct smpnet_socket *so, const char *src, const char *dst, uint16_t port)
{
	union { char b[CMSG_SPACE(sizeof(struct in_pktinfo))]; struct cmsghdr align; } ctl;
	struct in_pktinfo pi = { .ipi_spec_dst = { ip(src) } };
	struct sockaddr_in to = sin_of(dst, port);
	struct iovec iov = { .iov_base = "p", .iov_len = 1 };
	struct msghdr m = { .msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = &iov,
	    .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);

	memset(ctl.b, 0, sizeof(ctl.b));
	c->cmsg_level = IPPROTO_IP;
	c->cmsg_type = IP_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	return smpnet_sendmsg(so, &m, 0);
}

static void
test_pktinfo_send(void **state)
{
	struct pair *p = *state;
	struct smpnet_socket *rx = udp_sock(p->b, NULL, 7103), *tx = udp_sock(p->a, NULL, 0);
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	char buf[4];

	add_addr(p->a, ADDR_A2);
	assert_int_equal(send_pktinfo(tx, ADDR_A2, ADDR_B, 7103), 1);
	assert_int_equal(smpnet_recvfrom(rx, buf, sizeof(buf), 0, (struct sockaddr *)&from,
	    &fl), 1);
	assert_int_equal(from.sin_addr.s_addr, ip(ADDR_A2));
	assert_int_equal(sendto_addr(tx, ADDR_B, 7103, "q", 1), 1);	/* without: the default */
	assert_int_equal(smpnet_recvfrom(rx, buf, sizeof(buf), 0, (struct sockaddr *)&from,
	    &fl), 1);
	assert_int_equal(from.sin_addr.s_addr, ip(ADDR_A));
	assert_int_equal(send_pktinfo(tx, "198.51.100.1", ADDR_B, 7103), -EADDRNOTAVAIL);
	assert_int_equal(send_pktinfo(tx, GROUP, ADDR_B, 7103), -EADDRNOTAVAIL);
	smpnet_close(rx);
	smpnet_close(tx);
}

/* ---- bind and connect checks ---- */

static int
bind_to(struct smpnet_socket *so, const char *addr, uint16_t port)
{
	struct sockaddr_in s = sin_of(addr, port);

	return smpnet_bind(so, (struct sockaddr *)&s, sizeof(s));
}

static struct smpnet_socket *
sock_opts(struct smpnet *st, int reuseaddr, int reuseport)
{
	struct smpnet_socket *so = udp_sock(st, NULL, 0);

	set_int(so, SOL_SOCKET, SO_REUSEADDR, reuseaddr);
	set_int(so, SOL_SOCKET, SO_REUSEPORT, reuseport);
	return so;
}

static void
test_bind_addresses(void **state)
{
	struct pair *p = *state;
	struct smpnet_socket *s[6];
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(7110) };
	struct sockaddr_in sin = sin_of(ADDR_A, 7110);

	for (int i = 0; i < 6; i++)
		s[i] = udp_sock(p->a, NULL, 0);
	/* an address the stack does not own (b's, or off-link) */
	assert_int_equal(bind_to(s[0], ADDR_B, 7110), -EADDRNOTAVAIL);
	assert_int_equal(bind_to(s[0], "198.51.100.1", 7110), -EADDRNOTAVAIL);
	/* lengths and families */
	assert_int_equal(smpnet_bind(s[0], (struct sockaddr *)&sin, sizeof(sin) - 1), -EINVAL);
	assert_int_equal(smpnet_bind(s[0], (struct sockaddr *)&sin, 0), -EINVAL);
	assert_int_equal(smpnet_bind(s[0], NULL, sizeof(sin)), -EINVAL);
	assert_int_equal(smpnet_bind(s[0], (struct sockaddr *)&s6, sizeof(s6)), -EAFNOSUPPORT);
	assert_int_equal(smpnet_connect(s[0], (struct sockaddr *)&s6, sizeof(s6)),
	    -EAFNOSUPPORT);
	assert_int_equal(smpnet_connect(s[0], (struct sockaddr *)&sin, 3), -EINVAL);
	/* owned, wildcard, limited and directed broadcast, multicast: all fine */
	assert_int_equal(bind_to(s[0], ADDR_A, 7110), 0);
	assert_int_equal(bind_to(s[1], NULL, 7111), 0);
	assert_int_equal(bind_to(s[2], "255.255.255.255", 7112), 0);
	assert_int_equal(bind_to(s[3], "192.0.2.255", 7113), 0);
	assert_int_equal(bind_to(s[4], GROUP, 7114), 0);
	/* a second bind */
	assert_int_equal(bind_to(s[0], ADDR_A, 7115), -EINVAL);
	assert_int_equal(bind_to(s[1], NULL, 7116), -EINVAL);
	/* a new address becomes bindable */
	assert_int_equal(bind_to(s[5], ADDR_A2, 7117), -EADDRNOTAVAIL);
	add_addr(p->a, ADDR_A2);
	assert_int_equal(bind_to(s[5], ADDR_A2, 7117), 0);
	for (int i = 0; i < 6; i++)
		smpnet_close(s[i]);
}

static void
test_bind_reuse(void **state)
{
	struct pair *p = *state;
	struct smpnet_socket *x = sock_opts(p->a, 0, 0), *y = sock_opts(p->a, 0, 0);
	struct smpnet_socket *ra1 = sock_opts(p->a, 1, 0), *ra2 = sock_opts(p->a, 1, 0);
	struct smpnet_socket *rp1 = sock_opts(p->a, 0, 1), *rp2 = sock_opts(p->a, 0, 1);
	struct smpnet_socket *rp3 = sock_opts(p->a, 0, 1);

	/* exact address and port: EADDRINUSE unless REUSEPORT on all */
	assert_int_equal(bind_to(x, ADDR_A, 7120), 0);
	assert_int_equal(bind_to(y, ADDR_A, 7120), -EADDRINUSE);
	assert_int_equal(bind_to(rp1, ADDR_A, 7120), -EADDRINUSE);
	assert_int_equal(bind_to(rp1, ADDR_A, 7121), 0);
	assert_int_equal(bind_to(rp2, ADDR_A, 7121), 0);
	assert_int_equal(bind_to(ra1, ADDR_A, 7121), -EADDRINUSE);	/* not REUSEPORT */
	/* multicast address: SO_REUSEADDR on both shares it */
	assert_int_equal(bind_to(ra1, GROUP, 7122), 0);
	assert_int_equal(bind_to(ra2, GROUP, 7122), 0);
	assert_int_equal(bind_to(y, GROUP, 7122), -EADDRINUSE);
	/* wildcard over specific: both REUSEADDR or both REUSEPORT */
	assert_int_equal(bind_to(y, NULL, 7120), -EADDRINUSE);	/* x: neither */
	assert_int_equal(bind_to(rp3, NULL, 7121), 0);		/* rp1, rp2: REUSEPORT */
	assert_int_equal(bind_to(y, NULL, 7121), -EADDRINUSE);
	/* specific over wildcard */
	assert_int_equal(bind_to(y, ADDR_A, 7121), -EADDRINUSE);
	smpnet_close(x);
	assert_int_equal(bind_to(y, ADDR_A, 7120), 0);		/* freed by close */
	/* connect: a 4-tuple only once */
	struct sockaddr_in peer = sin_of(ADDR_B, 9);
	assert_int_equal(smpnet_connect(rp1, (struct sockaddr *)&peer, sizeof(peer)), 0);
	assert_int_equal(smpnet_connect(rp2, (struct sockaddr *)&peer, sizeof(peer)),
	    -EADDRINUSE);
	smpnet_close(y);
	smpnet_close(ra1);
	smpnet_close(ra2);
	smpnet_close(rp1);
	smpnet_close(rp2);
	smpnet_close(rp3);
}

/* ---- smpnet_destroy_checked ---- */

static void
test_destroy_checked(void **state)
{
	struct smpnet_config c = { .name = "leaky", .ncpu = 1 };
	struct smpnet *st = smpnet_create(&c);
	struct smpnet_socket *so, *kept;
	struct smpnet_leaks lk = { 9, 9, 9 };
	char buf[8];

	(void)state;
	assert_non_null(st);
	/* everything closed: 0, zero counts */
	so = udp_sock(st, NULL, 7130);
	assert_int_equal(sendto_addr(so, GROUP, 7130, "m", 1), -ENETUNREACH);	/* no link */
	smpnet_close(so);
	assert_int_equal(smpnet_destroy_checked(st, &lk), 0);
	assert_int_equal(lk.sockets, 0);
	assert_int_equal(lk.mbufs, 0);
	assert_int_equal(lk.clusters, 0);
	/* one socket left open: -EBUSY and counted (its memory is knowingly leaked) */
	st = smpnet_create(&c);
	assert_non_null(st);
	so = udp_sock(st, NULL, 0);
	smpnet_close(so);
	if (__lsan_disable != NULL)
		__lsan_disable();
	kept = smpnet_socket(st, AF_INET, SOCK_DGRAM, 0);
	if (__lsan_enable != NULL)
		__lsan_enable();
	assert_non_null(kept);
	assert_int_equal(smpnet_recv(kept, buf, sizeof(buf), MSG_DONTWAIT), -EAGAIN);
	assert_int_equal(smpnet_destroy_checked(st, &lk), -EBUSY);
	assert_int_equal(lk.sockets, 1);
	assert_int_equal(lk.mbufs, 0);
	assert_int_equal(smpnet_destroy_checked(NULL, &lk), 0);
}

/* ---- SMPNET_NOPIN ---- */

/* CPUs the first CPU thread of st may run on. */
static int
cpu0_affinity(struct smpnet *st)
{
	cpu_set_t set;

	assert_int_equal(pthread_getaffinity_np(smpnet_kern_of(st)->k_cpus[0].c_thread,
	    sizeof(set), &set), 0);
	return CPU_COUNT(&set);
}

static void
test_nopin(void **state)
{
	struct smpnet_config c = { .name = "pin", .ncpu = 1 };
	cpu_set_t self;
	struct smpnet *st;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(self), &self), 0);
	if (CPU_COUNT(&self) < 2)
		skip();		/* pinned and unpinned look alike on one CPU */
	unsetenv("SMPNET_NOPIN");
	st = smpnet_create(&c);
	assert_non_null(st);
	assert_int_equal(cpu0_affinity(st), 1);
	smpnet_destroy(st);
	assert_int_equal(setenv("SMPNET_NOPIN", "1", 1), 0);
	st = smpnet_create(&c);
	assert_non_null(st);
	assert_int_equal(cpu0_affinity(st), CPU_COUNT(&self));
	smpnet_destroy(st);
	assert_int_equal(setenv("SMPNET_NOPIN", "0", 1), 0);	/* only "1" counts */
	st = smpnet_create(&c);
	assert_non_null(st);
	assert_int_equal(cpu0_affinity(st), 1);
	smpnet_destroy(st);
	unsetenv("SMPNET_NOPIN");
	c.nopin = true;						/* the config flag */
	st = smpnet_create(&c);
	assert_non_null(st);
	assert_int_equal(cpu0_affinity(st), CPU_COUNT(&self));
	smpnet_destroy(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_multicast_loop, pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_sndbuf, pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_pktinfo_recv, pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_pktinfo_send, pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_bind_addresses, pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_bind_reuse, pair_setup, pair_teardown),
		cmocka_unit_test(test_destroy_checked),
		cmocka_unit_test(test_nopin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
