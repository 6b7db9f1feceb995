/*
 * stress_tap.c - many threads on one multiqueue TAP device, checking exactly-once.
 *
 * Runs in a private, unnamed network namespace (unshare(CLONE_NEWNET); exit 77 = skip
 * without the privilege).  Two phases over a NQ-queue device, Linux's side reached with an
 * AF_PACKET socket:
 *   A. TAP -> Linux: NQ threads, each owning one queue, send NFRAMES frames each with
 *      tap_send(); the main thread receives them on the packet socket.
 *   B. Linux -> TAP: the main thread sends NFLOWS IPv4/UDP flows (built with the packet
 *      formats; ports differ so Linux spreads them over the queues) of NFRAMES frames;
 *      NQ threads, each owning one queue, poll it and read with tap_recv_batch().
 * Both phases bound the frames in flight (WINDOW) so that no queue or socket buffer
 * overflows, and bound every wait in time.  Invariants checked at the end: every frame
 * arrived exactly once (a bit per frame, set with atomic_fetch_or), none corrupt, and
 * the per-queue counts add up.  Order within a flow is reported, not asserted (the host
 * may reorder between CPU backlogs).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dev/tap.h"
#include "net/ether_wire.h"
#include "netinet/ip_wire.h"
#include "netinet/udp_wire.h"

#define NQ		2
#define NFRAMES		4096		/* per sender thread (A) and per flow (B) */
_Static_assert(NFRAMES % 64 == 0, "one bit per frame in whole words");
#define NFLOWS		8
#define WINDOW		64
#define TEST_ETHERTYPE	0x88b5
#define FRAME_LEN	64
#define WAIT_S		20.0

#define FAIL(...) do { fprintf(stderr, "stress_tap: FAIL: " __VA_ARGS__); \
	fputc('\n', stderr); exit(1); } while (0)

struct stress {
	struct tap_dev	*dev;
	int		 sock;			/* [I] packet socket on Linux's side */
	uint8_t		 mac[6];		/* [I] Linux's MAC of the device */
	double		 deadline;		/* [I] */
	_Atomic uint64_t sent[NQ];		/* [a] phase A frames sent by queue */
	_Atomic uint64_t got;			/* [a] phase B frames received */
	_Atomic uint64_t seen[NFLOWS][NFRAMES / 64];	/* [a] phase B: one bit per frame */
	/* [a] relaxed increments; read only after the threads that write them are joined */
	_Atomic uint64_t dups, corrupt, reorders;
	_Atomic uint64_t per_queue[NQ];		/* [a] phase B frames per queue */
	_Atomic bool	 stop;			/* [a] phase B: readers may stop */
};

struct worker {
	struct stress	*s;
	int		 q;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- phase A: TAP -> Linux ------------------------------------------------------- */

static _Atomic uint64_t *
rx_counter(struct stress *s, int q)
{
	/* Phase A reuses per_queue[] as "received from queue q" (written by main only). */
	return &s->per_queue[q];
}

static void *
sender_main(void *arg)
{
	struct worker *w = arg;
	struct stress *s = w->s;
	struct ether_fields ef = { .ef_type = TEST_ETHERTYPE };
	uint8_t f[FRAME_LEN] = { 0 };
	uint32_t seq;
	long r;

	memcpy(ef.ef_dst, s->mac, 6);
	memcpy(ef.ef_src, "\x02\x00\x00\x00\x00\x01", 6);
	ether_emit(f, sizeof(f), &ef);
	f[14] = (uint8_t)w->q;
	for (seq = 0; seq < NFRAMES; seq++) {
		/* Pairs with the release store of the receiver's count in main. */
		while (seq - atomic_load_explicit(rx_counter(s, w->q), memory_order_acquire) >=
		    WINDOW) {
			if (now_s() > s->deadline)
				FAIL("queue %d: window never opened at seq %u", w->q, seq);
			sched_yield();
		}
		wire_put32(f + 15, seq);
		memset(f + 19, (int)(seq & 0xff), FRAME_LEN - 19);
		while ((r = tap_send(s->dev, w->q, f, sizeof(f))) == -EAGAIN)
			sched_yield();
		if (r != (long)sizeof(f))
			FAIL("tap_send queue %d: %ld", w->q, r);
		atomic_fetch_add_explicit(&s->sent[w->q], 1, memory_order_relaxed);
	}
	return NULL;
}

/* Check one phase A frame; returns its queue or -1 if it is not ours. */
static int
check_frame_a(struct stress *s, const uint8_t *f, ssize_t n, uint32_t *next)
{
	struct ether_view ev;
	uint32_t seq;
	int q, i;

	if (n != FRAME_LEN || ether_parse(&ev, f, (size_t)n) != WIRE_OK ||
	    ether_type(&ev) != TEST_ETHERTYPE)
		return -1;
	q = f[14];
	seq = wire_get32(f + 15);
	if (q >= NQ || seq >= NFRAMES)
		FAIL("phase A: bad frame q %d seq %u", q, seq);
	for (i = 19; i < FRAME_LEN; i++)
		if (f[i] != (seq & 0xff))
			FAIL("phase A: corrupt frame q %d seq %u", q, seq);
	if (seq != next[q])
		atomic_fetch_add_explicit(&s->reorders, 1, memory_order_relaxed);
	next[q] = seq + 1;
	return q;
}

static void
phase_a(struct stress *s)
{
	pthread_t t[NQ];
	struct worker w[NQ];
	uint8_t f[256];
	uint32_t next[NQ] = { 0 };
	uint64_t bits[NQ][NFRAMES / 64] = { { 0 } }, total = 0;
	ssize_t n;
	int q;

	for (q = 0; q < NQ; q++) {
		w[q] = (struct worker){ s, q };
		pthread_create(&t[q], NULL, sender_main, &w[q]);
	}
	while (total < (uint64_t)NQ * NFRAMES) {
		if (now_s() > s->deadline)
			FAIL("phase A: %llu of %d frames", (unsigned long long)total, NQ * NFRAMES);
		n = recv(s->sock, f, sizeof(f), 0);
		if (n < 0)
			continue;	/* receive timeout: loop to the deadline check */
		if ((q = check_frame_a(s, f, n, next)) < 0)
			continue;
		uint32_t seq = next[q] - 1;
		if (bits[q][seq / 64] & (1ull << (seq % 64)))
			FAIL("phase A: duplicate q %d seq %u (total %llu)", q, seq, (unsigned long long)total);
		bits[q][seq / 64] |= 1ull << (seq % 64);
		total++;
		/* Pairs with the sender's acquire load of its window. */
		atomic_fetch_add_explicit(rx_counter(s, q), 1, memory_order_release);
	}
	for (q = 0; q < NQ; q++) {
		pthread_join(t[q], NULL);
		if (atomic_load_explicit(&s->sent[q], memory_order_relaxed) != NFRAMES)
			FAIL("phase A: queue %d sent a wrong count", q);
		atomic_store_explicit(rx_counter(s, q), 0, memory_order_relaxed);
	}
	printf("phase A: %d frames from %d queues, exactly once; %llu out of order\n",
	    NQ * NFRAMES, NQ, (unsigned long long)atomic_load_explicit(&s->reorders, memory_order_relaxed));
}

/* ---- phase B: Linux -> TAP ------------------------------------------------------- */

static size_t
make_frame_b(const struct stress *s, uint8_t *f, int flow, uint32_t seq)
{
	struct ether_fields ef = { .ef_type = ETHERTYPE_IP };
	struct ip4_fields ipf = { .if_ttl = 64, .if_proto = IPPROTO4_UDP,
	    .if_src = 0xc0000201u, .if_dst = 0xc0000202u, .if_payload_len = UDP_HDR_LEN + 8 };
	int h;

	memcpy(ef.ef_dst, "\x02\x00\x00\x00\x00\x02", 6);
	memcpy(ef.ef_src, s->mac, 6);
	h = ether_emit(f, FRAME_LEN, &ef);
	h += ip4_emit(f + h, FRAME_LEN - (size_t)h, &ipf);
	h += udp_emit(f + h, FRAME_LEN - (size_t)h, (uint16_t)(10000 + flow), 9, 8);
	wire_put32(f + h, seq);
	wire_put32(f + h + 4, ~seq);
	return (size_t)h + 8;
}

static void
record_frame_b(struct stress *s, int q, const uint8_t *f, size_t len)
{
	struct ether_view ev;
	struct ip4_view iv;
	struct udp_view uv;
	uint64_t bit, old;
	uint32_t seq;
	int flow;

	if (ether_parse(&ev, f, len) != WIRE_OK || ether_type(&ev) != ETHERTYPE_IP ||
	    ip4_parse(&iv, ether_payload(&ev), ether_payload_len(&ev)) != WIRE_OK ||
	    ip4_proto(&iv) != IPPROTO4_UDP ||
	    udp_parse(&uv, ip4_payload(&iv), ip4_payload_len(&iv)) != WIRE_OK ||
	    udp_dport(&uv) != 9)
		return;		/* not ours (e.g. IPv6 autoconfiguration) */
	flow = udp_sport(&uv) - 10000;
	seq = wire_get32(udp_payload(&uv));
	if (flow < 0 || flow >= NFLOWS || seq >= NFRAMES || udp_payload_len(&uv) != 8 ||
	    wire_get32(udp_payload(&uv) + 4) != ~seq) {
		atomic_fetch_add_explicit(&s->corrupt, 1, memory_order_relaxed);
		return;
	}
	bit = 1ull << (seq % 64);
	old = atomic_fetch_or_explicit(&s->seen[flow][seq / 64], bit, memory_order_relaxed);
	if (old & bit)
		atomic_fetch_add_explicit(&s->dups, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->per_queue[q], 1, memory_order_relaxed);
	/* Pairs with the acquire load of the sender's window in phase_b(). */
	atomic_fetch_add_explicit(&s->got, 1, memory_order_release);
}

static void *
reader_main(void *arg)
{
	struct worker *w = arg;
	struct stress *s = w->s;
	uint8_t bufs[16][256];
	struct tap_frame fr[16];
	struct pollfd pfd = { tap_fd(s->dev, w->q), POLLIN, 0 };
	int i, n;

	for (i = 0; i < 16; i++)
		fr[i] = (struct tap_frame){ bufs[i], sizeof(bufs[i]), 0 };
	/* Pairs with the release store of stop in phase_b(). */
	while (!atomic_load_explicit(&s->stop, memory_order_acquire) && now_s() < s->deadline) {
		if (poll(&pfd, 1, 20) <= 0)
			continue;
		while ((n = tap_recv_batch(s->dev, w->q, fr, 16)) > 0)
			for (i = 0; i < n; i++)
				record_frame_b(s, w->q, bufs[i], fr[i].tf_len);
		if (n < 0)
			FAIL("tap_recv_batch queue %d: %d", w->q, n);
	}
	return NULL;
}

static void
send_b(struct stress *s, const uint8_t *f, size_t len)
{
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = s->dev->td_ifindex,
	    .sll_halen = 6, .sll_protocol = htons(ETHERTYPE_IP) };

	while (sendto(s->sock, f, len, 0, (struct sockaddr *)&to, sizeof(to)) != (ssize_t)len) {
		if (errno != ENOBUFS && errno != EAGAIN)
			FAIL("sendto: %s", strerror(errno));
		if (now_s() > s->deadline)
			FAIL("phase B: sendto kept failing");
		sched_yield();
	}
}

/* After the readers were joined (pthread_join orders their writes): relaxed loads. */
#define LOAD_JOINED(p)	atomic_load_explicit((p), memory_order_relaxed)

static void
check_b(struct stress *s)
{
	uint64_t sum = 0;
	int flow, i, q;

	for (flow = 0; flow < NFLOWS; flow++)
		for (i = 0; i < NFRAMES / 64; i++)
			if (LOAD_JOINED(&s->seen[flow][i]) != ~0ull)
				FAIL("phase B: flow %d missing frames in word %d", flow, i);
	if (LOAD_JOINED(&s->dups) || LOAD_JOINED(&s->corrupt))
		FAIL("phase B: %llu duplicates, %llu corrupt",
		    (unsigned long long)LOAD_JOINED(&s->dups),
		    (unsigned long long)LOAD_JOINED(&s->corrupt));
	printf("phase B: %d frames in %d flows, exactly once; per queue:", NFLOWS * NFRAMES,
	    NFLOWS);
	for (q = 0; q < NQ; q++) {
		sum += LOAD_JOINED(&s->per_queue[q]);
		printf(" %llu", (unsigned long long)LOAD_JOINED(&s->per_queue[q]));
	}
	printf("\n");
	if (sum != (uint64_t)NFLOWS * NFRAMES)
		FAIL("phase B: per-queue counts add up to %llu", (unsigned long long)sum);
}

static void
phase_b(struct stress *s)
{
	pthread_t t[NQ];
	struct worker w[NQ];
	uint8_t f[FRAME_LEN];
	uint64_t sent = 0;
	uint32_t seq;
	int q, flow;

	for (q = 0; q < NQ; q++) {
		w[q] = (struct worker){ s, q };
		pthread_create(&t[q], NULL, reader_main, &w[q]);
	}
	for (seq = 0; seq < NFRAMES; seq++) {
		for (flow = 0; flow < NFLOWS; flow++) {
			while (sent - atomic_load_explicit(&s->got, memory_order_acquire) >= WINDOW) {
				if (now_s() > s->deadline)
					FAIL("phase B: window stuck at %llu", (unsigned long long)sent);
				sched_yield();
			}
			send_b(s, f, make_frame_b(s, f, flow, seq));
			sent++;
		}
	}
	while (atomic_load_explicit(&s->got, memory_order_acquire) < sent && now_s() < s->deadline)
		sched_yield();
	atomic_store_explicit(&s->stop, true, memory_order_release);
	for (q = 0; q < NQ; q++)
		pthread_join(t[q], NULL);
	check_b(s);
}

static int
open_packet_socket(int ifindex)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
	    .sll_protocol = htons(TEST_ETHERTYPE), .sll_ifindex = ifindex };
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
	int s = socket(AF_PACKET, SOCK_RAW, htons(TEST_ETHERTYPE)), sz = 4 << 20;

	if (s < 0 || bind(s, (struct sockaddr *)&sll, sizeof(sll)) != 0)
		FAIL("packet socket: %s", strerror(errno));
	setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return s;
}

int
main(void)
{
	struct stress *s;

	if (unshare(CLONE_NEWNET) != 0 || access("/dev/net/tun", R_OK | W_OK) != 0) {
		printf("stress_tap: SKIP (no private network namespace: not root?)\n");
		return 77;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		FAIL("calloc");
	if ((s->dev = tap_open("smpstress0", NQ, TAP_CREATE)) == NULL)
		FAIL("tap_open: %s", strerror(errno));
	if (tap_set_up(s->dev, 1) != 0 || tap_mac(s->dev, s->mac) != 0)
		FAIL("tap up/mac");
	s->sock = open_packet_socket(s->dev->td_ifindex);
	s->deadline = now_s() + WAIT_S;
	phase_a(s);
	phase_b(s);
	close(s->sock);
	tap_close(s->dev);
	free(s);
	printf("stress_tap: OK\n");
	return 0;
}
