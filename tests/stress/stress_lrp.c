/*
 * stress_lrp.c - lazy receive processing under concurrency: exactly-once accounting.
 *
 * Stack A (2 CPUs, a wire with 2 RX queues) has one UDP socket with a small receive
 * buffer.  Injector threads push hand-built frames (each tagged {injector, sequence})
 * straight into A's RX rings (wire_inject; the source ports spread them over both
 * queues), two reader threads receive concurrently (the lazy processing runs in them),
 * and a toggler flips net.lrp.lazy every millisecond, so eager input, early demux,
 * early drops and raw records mix on both CPUs.  At the end every frame must be
 * accounted for exactly once: read by one reader (a bitmap catches duplicates), or
 * dropped at the ring, at the socket (udp.fullsock) or early (udp.earlydrop); and the
 * IPv4/UDP counters must show no bad datagram.  Seeded (printed) for the frame sizes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "dev/wire.h"
#include "kern/psz.h"
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

#define ADDR_A		0xc0000201u
#define ADDR_B		0xc0000202u
#define PORT		7200
#define NINJ		2
#define PER_INJ		20000
#define NREAD		2
#define SEED		7u

struct st {
	struct smpnet		*a, *b;
	struct wire		*w;
	struct smpnet_socket	*so;
	uint8_t			 mac_a[6], mac_b[6];
	_Atomic bool		 inj_done, stop;
	_Atomic uint64_t	 received, dups, bad;
	_Atomic uint8_t		 seen[NINJ * PER_INJ];
};

struct inj {
	struct st	*s;
	int		 id;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *
injector(void *arg)
{
	struct inj *in = arg;
	struct st *s = in->s;
	unsigned seed = SEED + (unsigned)in->id;
	uint8_t f[256], *ip = f + ETHER_HDR_LEN;

	ether_header_build(f, s->mac_a, s->mac_b, ETHERTYPE_IP);
	for (uint32_t q = 0; q < PER_INJ; q++) {
		uint32_t tag = (uint32_t)in->id * PER_INJ + q;
		int plen = 8 + rand_r(&seed) % 120, n;
		struct mbuf *m;

		memset(ip + 28, (int)(tag & 0xff), (size_t)plen);
		memcpy(ip + 28, &tag, 4);
		n = udp4_datagram_emit(ip, sizeof(f) - ETHER_HDR_LEN, ADDR_B, ADDR_A,
		    (uint16_t)(5000 + q % 64), PORT, (size_t)plen);
		while ((m = m_devget(smpnet_vnet_of(s->a)->v_pools, f, ETHER_HDR_LEN + n, 0,
		    0)) == NULL)
			usleep(100);	/* pool dry: frames in flight come back */
		(void)wire_inject(s->w, 0, m);
		if (q % 256 == 0)
			usleep(200);	/* let readers in now and then: not only drops */
	}
	return NULL;
}

static void
record(struct st *s, const uint8_t *buf, ssize_t n)
{
	uint32_t tag;

	if (n < 8) {
		atomic_fetch_add(&s->bad, 1);
		return;
	}
	memcpy(&tag, buf, 4);
	if (tag >= NINJ * PER_INJ || buf[n - 1] != (uint8_t)(tag & 0xff)) {
		atomic_fetch_add(&s->bad, 1);
		return;
	}
	if (atomic_exchange(&s->seen[tag], 1) != 0)
		atomic_fetch_add(&s->dups, 1);
	atomic_fetch_add(&s->received, 1);
}

static void *
reader(void *arg)
{
	struct st *s = arg;
	uint8_t buf[256];

	while (!atomic_load(&s->stop)) {
		ssize_t n = smpnet_recv(s->so, buf, sizeof(buf), 0);

		if (n > 0)
			record(s, buf, n);
	}
	return NULL;
}

static void *
toggler(void *arg)
{
	struct st *s = arg;
	int v = 0;

	while (!atomic_load(&s->inj_done)) {
		(void)smpnet_setting_set(s->a, "net.lrp.lazy", v ^= 1);
		usleep(1000);
	}
	return NULL;
}

static void
setup(struct st *s)
{
	struct smpnet_config ca = { .name = "a", .ncpu = 2 };
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	struct timeval tv = { .tv_usec = 20000 };
	int rcvbuf = 16 * 1024;

	s->a = smpnet_create(&ca);
	struct smpnet_config cb = { .name = "b", .share = s->a };
	s->b = smpnet_create(&cb);
	if (s->a == NULL || s->b == NULL ||
	    smpnet_wire_pair(s->a, htonl(ADDR_A), s->b, htonl(ADDR_B), 2) != 0) {
		fprintf(stderr, "stress_lrp: setup failed\n");
		exit(1);
	}
	s->w = smpnet_wire_of(s->a);
	psz_read_enter();
	memcpy(s->mac_a, if_lladdr(wire_port_ifnet(s->w, 0)), 6);
	memcpy(s->mac_b, if_lladdr(wire_port_ifnet(s->w, 1)), 6);
	psz_read_exit();
	s->so = smpnet_socket(s->a, AF_INET, SOCK_DGRAM, 0);
	if (s->so == NULL || smpnet_bind(s->so, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    smpnet_setsockopt(s->so, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    smpnet_setsockopt(s->so, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) != 0) {
		fprintf(stderr, "stress_lrp: socket failed\n");
		exit(1);
	}
}

/* Frames accounted for so far: read, or dropped at the ring, the socket, or early. */
static uint64_t
accounted(struct st *s, uint64_t *ring, struct udp_stats *us)
{
	struct wire_stats ws;

	(void)wire_port_stats(s->w, 0, &ws);
	udp_stats(smpnet_udp_of(s->a), us);
	*ring = ws.ws_ring_full;
	return atomic_load(&s->received) + ws.ws_ring_full + us->c[UDPS_FULLSOCK] +
	    us->c[UDPS_EARLYDROP];
}

int
main(void)
{
	static struct st s;
	struct inj in[NINJ];
	pthread_t ti[NINJ], tr[NREAD], tt;
	const uint64_t total = (uint64_t)NINJ * PER_INJ;
	struct udp_stats us;
	uint64_t acc = 0, ring = 0;
	double t0;
	int fails = 0;

	printf("stress_lrp: seed %u, %d injectors x %d frames, %d readers\n", SEED, NINJ,
	    PER_INJ, NREAD);
	setup(&s);
	for (int i = 0; i < NREAD; i++)
		pthread_create(&tr[i], NULL, reader, &s);
	pthread_create(&tt, NULL, toggler, &s);
	for (int i = 0; i < NINJ; i++) {
		in[i] = (struct inj){ &s, i };
		pthread_create(&ti[i], NULL, injector, &in[i]);
	}
	for (int i = 0; i < NINJ; i++)
		pthread_join(ti[i], NULL);
	atomic_store(&s.inj_done, true);
	pthread_join(tt, NULL);
	t0 = now_s();
	while ((acc = accounted(&s, &ring, &us)) < total && now_s() - t0 < 20.0)
		usleep(10000);
	atomic_store(&s.stop, true);
	for (int i = 0; i < NREAD; i++)
		pthread_join(tr[i], NULL);
	acc = accounted(&s, &ring, &us);
	printf("stress_lrp: %llu frames: %llu read, %llu ring drops, %llu socket-full, %llu "
	    "early drops, %llu raw records processed by readers\n",
	    (unsigned long long)total, (unsigned long long)atomic_load(&s.received),
	    (unsigned long long)ring, (unsigned long long)us.c[UDPS_FULLSOCK],
	    (unsigned long long)us.c[UDPS_EARLYDROP], (unsigned long long)us.c[UDPS_LAZY]);
	if (acc != total) {
		fprintf(stderr, "FAIL: %llu of %llu frames accounted for\n",
		    (unsigned long long)acc, (unsigned long long)total);
		fails++;
	}
	if (atomic_load(&s.dups) != 0 || atomic_load(&s.bad) != 0) {
		fprintf(stderr, "FAIL: %llu duplicates, %llu corrupt\n",
		    (unsigned long long)atomic_load(&s.dups),
		    (unsigned long long)atomic_load(&s.bad));
		fails++;
	}
	if (us.c[UDPS_BADSUM] != 0 || us.c[UDPS_HDROPS] != 0 || us.c[UDPS_NOPORT] != 0 ||
	    inet_stat(smpnet_vnet_of(s.a), "ip.badsum") != 0) {
		fprintf(stderr, "FAIL: good frames counted as bad\n");
		fails++;
	}
	if (us.c[UDPS_DELIVERED] != atomic_load(&s.received)) {
		fprintf(stderr, "FAIL: udp.delivered %llu != read %llu\n",
		    (unsigned long long)us.c[UDPS_DELIVERED],
		    (unsigned long long)atomic_load(&s.received));
		fails++;
	}
	smpnet_close(s.so);
	smpnet_destroy(s.b);
	smpnet_destroy(s.a);
	printf("[  %s  ] stress_lrp\n", fails == 0 ? "PASSED" : "FAILED");
	return fails == 0 ? 0 : 1;
}
