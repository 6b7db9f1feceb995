/*
 * test_lrp.c - lazy receive processing (net.lrp.lazy) against eager, on the same packet
 * sets.  Frames are built by hand and pushed straight into stack A's RX ring
 * (wire_inject), so both modes see exactly the same bytes in the same order; a marker
 * datagram to a second socket ends each set (one RX queue: when the marker is read,
 * every frame before it went through the RX poll).  Then the test reads everything
 * queued on the socket under test and compares the counters (ip.*, icmp.errout, udp.*)
 * and what was read between the modes, and against the expected absolute figures:
 * good datagrams, a bad UDP checksum, a bad IPv4 header checksum, an IPv4 total length
 * beyond the frame, a UDP length beyond the IPv4 payload, a port nobody bound (ICMP port
 * unreachable), a broadcast (the early demultiplexer leaves it to eager input), a full
 * receive buffer (lazy: early drop).  The mixed set's order is
 * shuffled from a fixed seed (printed).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include <cmocka.h>

#include "dev/wire.h"
#include "kern/psz.h"
#include "lib/cksum.h"
#include "mbuf/mbuf.h"
#include "net/ether.h"
#include "net/if_var.h"
#include "net/vnet.h"
#include "netinet/inet.h"
#include "netinet/udp_var.h"
#include "netinet/udp_wire.h"
#include "smpnet/smpnet.h"
#include "smpnet/socket.h"
#include "socket/socket_var.h"

#define ADDR_A		0xc0000201u	/* 192.0.2.1, host order */
#define ADDR_B		0xc0000202u
#define ADDR_BCAST	0xc00002ffu	/* 192.0.2.255: the /24's broadcast */
#define PORT_RX		7100
#define PORT_MARK	7101
#define PORT_NONE	7102
#define SEED		20261128u

enum kind { K_GOOD, K_BADSUM, K_BADIPSUM, K_BADLEN, K_BADULEN, K_NOPORT, K_BCAST, K_NKINDS };

struct lr {
	struct smpnet		*a, *b;
	struct wire		*w;
	uint8_t			 mac_a[6], mac_b[6];
	struct smpnet_socket	*rx, *mark;
};

/* What one mode did with a set. */
struct outcome {
	int		 got;			/* datagrams read from the socket under test */
	uint64_t	 ip[5];			/* ip.total, badsum, badlen, delivered, icmp.errout */
	uint64_t	 udp[UDPS_NCOUNTERS];
};

static const char *const ip_names[5] = {
	"ip.total", "ip.badsum", "ip.badlen", "ip.delivered", "icmp.errout"
};

static struct smpnet_socket *
lr_sock(struct smpnet *st, uint16_t port)
{
	struct smpnet_socket *so = smpnet_socket(st, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 3 };

	assert_non_null(so);
	assert_int_equal(smpnet_setsockopt(so, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(smpnet_bind(so, (struct sockaddr *)&s, sizeof(s)), 0);
	return so;
}

static void
lr_setup(struct lr *r, bool lazy, int rcvbuf)
{
	struct smpnet_config ca = { .name = "a", .ncpu = 2, .lazy = lazy };

	memset(r, 0, sizeof(*r));
	assert_non_null(r->a = smpnet_create(&ca));
	struct smpnet_config cb = { .name = "b", .share = r->a, .lazy = lazy };
	assert_non_null(r->b = smpnet_create(&cb));
	assert_int_equal(smpnet_wire_pair(r->a, htonl(ADDR_A), r->b, htonl(ADDR_B), 1), 0);
	assert_non_null(r->w = smpnet_wire_of(r->a));
	psz_read_enter();
	memcpy(r->mac_a, if_lladdr(wire_port_ifnet(r->w, 0)), 6);
	memcpy(r->mac_b, if_lladdr(wire_port_ifnet(r->w, 1)), 6);
	psz_read_exit();
	r->rx = lr_sock(r->a, PORT_RX);
	r->mark = lr_sock(r->a, PORT_MARK);
	if (rcvbuf > 0)
		assert_int_equal(smpnet_setsockopt(r->rx, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		    sizeof(rcvbuf)), 0);
}

static void
lr_teardown(struct lr *r)
{
	smpnet_close(r->rx);
	smpnet_close(r->mark);
	smpnet_destroy(r->b);
	smpnet_destroy(r->a);
}

/* Build and inject one frame of kind k to port, payload of plen bytes tagged seq. */
static void
lr_inject(struct lr *r, enum kind k, uint16_t port, int plen, uint32_t seq)
{
	uint8_t f[2048], *ip = f + ETHER_HDR_LEN;
	int n;
	struct mbuf *m;

	ether_header_build(f, k == K_BCAST ? ether_broadcast_addr : r->mac_a, r->mac_b,
	    ETHERTYPE_IP);
	for (int i = 0; i < plen; i++)
		ip[28 + i] = (uint8_t)(seq * 7 + (uint32_t)i);
	memcpy(ip + 28, &seq, sizeof(seq));
	n = udp4_datagram_emit(ip, sizeof(f) - ETHER_HDR_LEN, ADDR_B,
	    k == K_BCAST ? ADDR_BCAST : ADDR_A, 5000,
	    k == K_NOPORT ? PORT_NONE : port, (size_t)plen);
	assert_true(n > 0);
	if (k == K_BADSUM)
		ip[28 + plen - 1] ^= 0x5a;		/* the UDP checksum no longer matches */
	if (k == K_BADIPSUM)
		ip[10] ^= 0x01;
	if (k == K_BADLEN) {				/* total length beyond the frame */
		ip[2] = (uint8_t)((n + 64) >> 8);
		ip[3] = (uint8_t)(n + 64);
		uint16_t c;

		ip[10] = ip[11] = 0;
		c = in_cksum(ip, 20);
		memcpy(ip + 10, &c, 2);
	}
	if (k == K_BADULEN)				/* UDP length beyond the IP payload */
		ip[25] = (uint8_t)(ip[25] + 16);
	assert_non_null(m = m_devget(smpnet_vnet_of(r->a)->v_pools, f, ETHER_HDR_LEN + n, 0,
	    0));
	assert_int_equal(wire_inject(r->w, 0, m), 0);
}

/* Marker, wait for it, read everything queued; collect the counters. */
static void
lr_finish(struct lr *r, struct outcome *o, uint32_t *seqs)
{
	uint8_t buf[2048];
	ssize_t n;

	lr_inject(r, K_GOOD, PORT_MARK, 16, 0xffffffffu);
	assert_int_equal(smpnet_recv(r->mark, buf, sizeof(buf), 0), 16);
	memset(o, 0, sizeof(*o));
	while ((n = smpnet_recv(r->rx, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		if (seqs != NULL)
			memcpy(&seqs[o->got], buf, sizeof(uint32_t));
		o->got++;
	}
	assert_int_equal(n, -EAGAIN);
	for (int i = 0; i < 5; i++)
		o->ip[i] = inet_stat(smpnet_vnet_of(r->a), ip_names[i]);
	udp_stats(smpnet_udp_of(r->a), (struct udp_stats *)o->udp);
}

/* The mixed set: ngood good datagrams and nbad of every bad kind, shuffled. */
static void
lr_run_mixed(bool lazy, int ngood, int nbad, struct outcome *o, uint32_t *seqs)
{
	int n = ngood + nbad * (K_NKINDS - 1);
	enum kind *ks = calloc((size_t)n, sizeof(*ks));
	unsigned seed = SEED;
	struct lr r;
	int i, j = 0;

	for (i = 0; i < ngood; i++)
		ks[j++] = K_GOOD;
	for (int k = 1; k < K_NKINDS; k++)
		for (i = 0; i < nbad; i++)
			ks[j++] = (enum kind)k;
	for (i = n - 1; i > 0; i--) {		/* Fisher-Yates, fixed seed */
		int s = rand_r(&seed) % (i + 1);
		enum kind t = ks[i];

		ks[i] = ks[s];
		ks[s] = t;
	}
	lr_setup(&r, lazy, 0);
	for (i = 0, j = 0; i < n; i++)
		lr_inject(&r, ks[i], PORT_RX, 100 + i,
		    ks[i] == K_GOOD || ks[i] == K_BCAST ? (uint32_t)j++ : 1000u + (uint32_t)i);
	lr_finish(&r, o, seqs);
	lr_teardown(&r);
	free(ks);
}

static void
test_mixed_eager_vs_lazy(void **state)
{
	enum { NGOOD = 40, NBAD = 3, NREAD = NGOOD + NBAD };	/* broadcasts are read too */
	struct outcome e, l;
	uint32_t se[NREAD + 1], sl[NREAD + 1];

	(void)state;
	printf("test_lrp: seed %u\n", SEED);
	lr_run_mixed(false, NGOOD, NBAD, &e, se);
	lr_run_mixed(true, NGOOD, NBAD, &l, sl);
	/* what the application sees: the same datagrams, in the same order */
	assert_int_equal(e.got, NREAD);
	assert_int_equal(l.got, NREAD);
	for (int i = 0; i < NREAD; i++) {
		assert_int_equal(se[i], (uint32_t)i);
		assert_int_equal(sl[i], (uint32_t)i);
	}
	/* IPv4 and ICMP: identical, and as expected */
	for (int i = 0; i < 5; i++)
		assert_int_equal(e.ip[i], l.ip[i]);
	assert_int_equal(e.ip[0], NGOOD + 6 * NBAD + 1);
	assert_int_equal(e.ip[1], NBAD);
	assert_int_equal(e.ip[2], NBAD);
	/* good, badsum, badulen, noport, broadcast, marker */
	assert_int_equal(e.ip[3], NGOOD + 4 * NBAD + 1);
	assert_int_equal(e.ip[4], NBAD);			/* port unreachable */
	/* UDP: identical except udp.lazy */
	for (int c = 0; c < UDPS_NCOUNTERS; c++)
		if (c != UDPS_LAZY && c != UDPS_OPACKETS)
			assert_int_equal(e.udp[c], l.udp[c]);
	assert_int_equal(e.udp[UDPS_IPACKETS], NGOOD + 4 * NBAD + 1);
	assert_int_equal(e.udp[UDPS_DELIVERED], NREAD + 1);
	assert_int_equal(e.udp[UDPS_BADSUM], NBAD);
	assert_int_equal(e.udp[UDPS_HDROPS], NBAD);
	assert_int_equal(e.udp[UDPS_NOPORT], NBAD);
	assert_int_equal(e.udp[UDPS_EARLYDROP], 0);
	assert_int_equal(e.udp[UDPS_LAZY], 0);
	/* every unicast frame with a socket went the lazy way: good, marker, 4 bad kinds */
	assert_int_equal(l.udp[UDPS_LAZY], NGOOD + 1 + 4 * NBAD);
}

/* A receive buffer for 4 datagrams of 1000 bytes gets 10: eager drops 6 at the socket
 * after the protocol work, lazy drops the same 6 at the interface before it. */
static void
test_full_buffer(void **state)
{
	enum { N = 10, FIT = 4, PLEN = 1000 };
	struct outcome o[2];

	(void)state;
	for (int lazy = 0; lazy < 2; lazy++) {
		struct lr r;

		lr_setup(&r, lazy, FIT * (20 + 8 + PLEN));
		for (int i = 0; i < N; i++)
			lr_inject(&r, K_GOOD, PORT_RX, PLEN, (uint32_t)i);
		lr_finish(&r, &o[lazy], NULL);
		lr_teardown(&r);
	}
	assert_int_equal(o[0].got, FIT);
	assert_int_equal(o[1].got, FIT);
	assert_int_equal(o[0].udp[UDPS_FULLSOCK], N - FIT);
	assert_int_equal(o[0].udp[UDPS_EARLYDROP], 0);
	assert_int_equal(o[1].udp[UDPS_FULLSOCK], 0);
	assert_int_equal(o[1].udp[UDPS_EARLYDROP], N - FIT);
	assert_int_equal(o[0].udp[UDPS_DELIVERED], FIT + 1);
	assert_int_equal(o[1].udp[UDPS_DELIVERED], FIT + 1);
	/* the early drops never reached IPv4: no protocol work spent on them */
	assert_int_equal(o[0].ip[0], N + 1);
	assert_int_equal(o[1].ip[0], FIT + 1);
	assert_int_equal(o[1].udp[UDPS_LAZY], FIT + 1);
}

/* The setting is read per frame: switching a running stack changes the path. */
static void
test_switch_at_run_time(void **state)
{
	struct outcome o;
	struct lr r;

	(void)state;
	struct udp_stats us;

	lr_setup(&r, false, 0);
	lr_inject(&r, K_GOOD, PORT_RX, 64, 0);
	for (int i = 0; i < 5000; i++) {	/* the RX poll took it eagerly (bounded wait) */
		udp_stats(smpnet_udp_of(r.a), &us);
		if (us.c[UDPS_DELIVERED] == 1)
			break;
		usleep(1000);
	}
	assert_int_equal(us.c[UDPS_DELIVERED], 1);
	assert_int_equal(smpnet_setting_set(r.a, "net.lrp.lazy", 1), 0);
	lr_inject(&r, K_GOOD, PORT_RX, 64, 1);
	lr_finish(&r, &o, NULL);
	assert_int_equal(o.got, 2);
	assert_int_equal(o.udp[UDPS_LAZY], 2);	/* the second datagram and the marker */
	assert_int_equal(o.udp[UDPS_DELIVERED], 3);
	lr_teardown(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mixed_eager_vs_lazy),
		cmocka_unit_test(test_full_buffer),
		cmocka_unit_test(test_switch_at_run_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
