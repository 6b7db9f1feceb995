/*
 * stress_if_tap.c - the TAP ifnet driver under traffic both ways, attached and detached
 * again and again, in a private network namespace (unshare(CLONE_NEWNET); exit 77 =
 * skip when that is not allowed).  IPv6 is disabled in the namespace so that the only
 * frames on the device are the test's (EtherType 0x88b5).
 *
 * Each round attaches a 2-queue TAP interface (the device is created), brings Linux's
 * side up, and runs: 2 Linux senders (AF_PACKET) writing test frames to smpnet's MAC,
 * 2 smpnet transmitters (if_transmit, the ifnet looked up by index in a read section)
 * writing test frames to Linux's MAC, and a Linux reader.  Clean rounds wait for the
 * traffic to end and then check, exactly:
 *
 *   frames Linux sent         = device tx_packets + tx_dropped   (Linux's tun counters)
 *   device tx_packets         = driver rx_frames = frames handled by smpnet (payload ok)
 *   transmit attempts         = successes + failures; successes = driver tx_frames
 *   frames the reader got     <= driver tx_frames, and every payload intact
 *
 * Racing rounds detach the interface while all threads still run (they see the index
 * vanish and stop).  At the end every mbuf is back in its pool.  Bounded in count and
 * time; the seed (round kinds) is printed.  Run it under TSan and ASan as well.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dev/if_tap.h"
#include "dev/tap.h"
#include "net/if_dispatch.h"
#include "../unit/nettest.h"

#define ROUNDS		6
#define PER_SENDER	20000
#define NSEND		2
#define TEST_TYPE	0x88b5
#define ROUND_S		8.0

#define FAIL(...) do { fprintf(stderr, "stress_if_tap: FAIL: " __VA_ARGS__); \
	fprintf(stderr, "\n"); exit(1); } while (0)

struct stress {
	struct kern		*k;
	struct vnet		*v;
	int			 ifindex;	/* smpnet's */
	int			 lindex;	/* Linux's */
	int			 sock;		/* AF_PACKET on Linux's side */
	uint8_t			 smac[6], lmac[6];
	_Atomic bool		 stop;
	_Atomic uint64_t	 handled, bad;		/* smpnet's handler */
	_Atomic uint64_t	 lsent, tx_ok, tx_fail, lgot, lbad;
	double			 deadline;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void
test_handler(struct ifnet *ifp, struct mbuf *m, void *arg)
{
	struct stress *s = arg;
	uint8_t buf[256];
	uint32_t id, seq;
	int len = m_length(m, NULL);	/* the link layer stripped the header */

	(void)ifp;
	if (len > (int)sizeof(buf) || m_copydata(m, 0, len, buf) != 0 ||
	    !nt_payload_check(buf, len, &id, &seq))
		atomic_fetch_add_explicit(&s->bad, 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&s->handled, 1, memory_order_relaxed);
	m_freem(m);
}

/* Linux sender: PER_SENDER frames to smpnet's MAC. */
static void *
lsender_main(void *arg)
{
	struct stress *s = arg;
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_ifindex = s->lindex,
	    .sll_halen = 6 };
	uint8_t f[ETHER_HDR_LEN + 64];
	static _Atomic uint32_t ids;
	uint32_t id = atomic_fetch_add_explicit(&ids, 1, memory_order_relaxed), i;

	ether_header_build(f, s->smac, s->lmac, TEST_TYPE);
	for (i = 0; i < PER_SENDER && now_s() < s->deadline; i++) {
		if (atomic_load_explicit(&s->stop, memory_order_relaxed))
			break;
		nt_payload(f + ETHER_HDR_LEN, 64, id, i);
		if (sendto(s->sock, f, sizeof(f), 0, (struct sockaddr *)&sa, sizeof(sa)) ==
		    (ssize_t)sizeof(f))
			atomic_fetch_add_explicit(&s->lsent, 1, memory_order_relaxed);
		else if (errno == ENOBUFS || errno == EAGAIN)
			sched_yield();
		else
			break;	/* the device went away (racing round) */
	}
	return NULL;
}

/* smpnet transmitter: PER_SENDER frames to Linux's MAC, the ifnet found by index. */
static void *
tx_main(void *arg)
{
	struct stress *s = arg;
	struct ifnet *ifp;
	struct mbuf *m;
	uint32_t i;
	int rv;

	for (i = 0; i < PER_SENDER && now_s() < s->deadline; i++) {
		if ((m = nt_frame(s->v, s->lmac, s->smac, TEST_TYPE, 64, 100, i)) == NULL)
			break;
		psz_read_enter();
		ifp = vnet_if_byindex(s->v, s->ifindex);
		rv = ifp != NULL ? if_transmit(ifp, m) : (m_freem(m), -ENODEV);
		psz_read_exit();
		if (rv == -ENODEV)
			break;
		atomic_fetch_add_explicit(rv == 0 ? &s->tx_ok : &s->tx_fail, 1,
		    memory_order_relaxed);
		if ((i & 63) == 0)
			sched_yield();	/* let the reader keep up a little */
	}
	return NULL;
}

/* Linux reader: count test frames from smpnet until stop. */
static void *
reader_main(void *arg)
{
	struct stress *s = arg;
	uint8_t f[2048];
	uint32_t id, seq;
	ssize_t n;

	while (!atomic_load_explicit(&s->stop, memory_order_acquire) && now_s() < s->deadline) {
		n = recv(s->sock, f, sizeof(f), 0);
		if (n < ETHER_HDR_LEN || f[12] != (TEST_TYPE >> 8) || f[13] != (TEST_TYPE & 0xff) ||
		    memcmp(f + 6, s->smac, 6) != 0)
			continue;
		if (nt_payload_check(f + ETHER_HDR_LEN, (int)n - ETHER_HDR_LEN, &id, &seq))
			atomic_fetch_add_explicit(&s->lgot, 1, memory_order_relaxed);
		else
			atomic_fetch_add_explicit(&s->lbad, 1, memory_order_relaxed);
	}
	return NULL;
}

/* Linux's counters for the device (netlink through getifaddrs, this namespace). */
static void
linux_stats(const char *name, uint64_t *txp, uint64_t *txd)
{
	struct ifaddrs *ifa, *p;
	struct rtnl_link_stats *st;

	*txp = *txd = UINT64_MAX;
	if (getifaddrs(&ifa) != 0)
		FAIL("getifaddrs");
	for (p = ifa; p != NULL; p = p->ifa_next)
		if (p->ifa_addr != NULL && p->ifa_addr->sa_family == AF_PACKET &&
		    strcmp(p->ifa_name, name) == 0 && (st = p->ifa_data) != NULL) {
			*txp = st->tx_packets;
			*txd = st->tx_dropped;
		}
	freeifaddrs(ifa);
}

static void
linux_up(const char *name, uint8_t mac[6])
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) != 0)
		FAIL("SIOCGIFFLAGS");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0 || ioctl(fd, SIOCGIFHWADDR, &ifr) != 0)
		FAIL("SIOCSIFFLAGS");
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
}

static int
packet_socket(int ifindex)
{
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
	    .sll_ifindex = ifindex };
	struct timeval tv = { 0, 50000 };
	int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)), big = 4 << 20;

	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		FAIL("packet socket: %s", strerror(errno));
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	return s;
}

/* Wait until smpnet has read every frame Linux queued (bounded). */
static void
drain(struct stress *s, struct ifnet *ifp)
{
	struct tap_if_stats ts;
	uint64_t txp, txd;
	double end = now_s() + 5;

	do {
		nt_sleep_ms(20);
		linux_stats("smpst0", &txp, &txd);
		tap_if_stats(ifp, &ts);
	} while ((txp + txd != atomic_load(&s->lsent) || ts.tis_rx_frames != txp ||
	    atomic_load(&s->handled) + atomic_load(&s->bad) != txp) && now_s() < end);
}

static void
check_round(struct stress *s, struct ifnet *ifp, int round)
{
	struct tap_if_stats ts;
	uint64_t txp, txd, sent = atomic_load(&s->lsent);

	drain(s, ifp);
	linux_stats("smpst0", &txp, &txd);
	tap_if_stats(ifp, &ts);
	printf("round %d: linux sent %" PRIu64 " (tun tx %" PRIu64 " dropped %" PRIu64
	    "), smpnet rx %" PRIu64 " handled %" PRIu64 "; smpnet tx ok %" PRIu64 " fail %"
	    PRIu64 " (full %" PRIu64 "), linux got %" PRIu64 "\n", round, sent, txp, txd,
	    ts.tis_rx_frames, atomic_load(&s->handled), atomic_load(&s->tx_ok),
	    atomic_load(&s->tx_fail), ts.tis_tx_full, atomic_load(&s->lgot));
	if (sent != txp + txd)
		FAIL("round %d: Linux sent %" PRIu64 " != tun tx + dropped", round, sent);
	if (ts.tis_rx_frames != txp || atomic_load(&s->handled) != txp || atomic_load(&s->bad))
		FAIL("round %d: smpnet received %" PRIu64 ", handled %" PRIu64 ", bad %" PRIu64
		    ", Linux delivered %" PRIu64, round, ts.tis_rx_frames,
		    atomic_load(&s->handled), atomic_load(&s->bad), txp);
	if (atomic_load(&s->tx_ok) != ts.tis_tx_frames || atomic_load(&s->tx_ok) +
	    atomic_load(&s->tx_fail) != (uint64_t)NSEND * PER_SENDER)
		FAIL("round %d: transmit accounting", round);
	if (atomic_load(&s->lgot) > ts.tis_tx_frames || atomic_load(&s->lgot) == 0 ||
	    atomic_load(&s->lbad) != 0)
		FAIL("round %d: Linux got %" PRIu64 " (bad %" PRIu64 ")", round,
		    atomic_load(&s->lgot), atomic_load(&s->lbad));
}

static void
round_reset(struct stress *s)
{
	atomic_store(&s->stop, false);
	atomic_store(&s->handled, 0);
	atomic_store(&s->bad, 0);
	atomic_store(&s->lsent, 0);
	atomic_store(&s->tx_ok, 0);
	atomic_store(&s->tx_fail, 0);
	atomic_store(&s->lgot, 0);
	atomic_store(&s->lbad, 0);
	s->deadline = now_s() + ROUND_S;
}

static void
run_round(struct stress *s, int round, bool racing)
{
	struct tap_if_config tc = { .name = "smpst0", .nqueues = 2, .flags = TAP_CREATE };
	pthread_t th[2 * NSEND + 1];
	struct ifnet *ifp;
	int i;

	round_reset(s);
	if ((ifp = tap_if_attach(s->v, &tc)) == NULL)
		FAIL("tap_if_attach: %s", strerror(errno));
	s->ifindex = if_index(ifp);
	memcpy(s->smac, if_lladdr(ifp), 6);
	linux_up("smpst0", s->lmac);
	s->lindex = (int)if_nametoindex("smpst0");
	s->sock = packet_socket(s->lindex);
	for (i = 0; i < NSEND; i++) {
		pthread_create(&th[i], NULL, lsender_main, s);
		pthread_create(&th[NSEND + i], NULL, tx_main, s);
	}
	pthread_create(&th[2 * NSEND], NULL, reader_main, s);
	if (racing) {
		nt_sleep_ms(30 + 20 * round);
		tap_if_detach(ifp);	/* under traffic */
		ifp = NULL;
	}
	for (i = 0; i < 2 * NSEND; i++)
		pthread_join(th[i], NULL);
	if (!racing)
		nt_sleep_ms(100);	/* let the reader catch the tail */
	atomic_store_explicit(&s->stop, true, memory_order_release);
	pthread_join(th[2 * NSEND], NULL);
	if (!racing) {
		check_round(s, ifp, round);
		tap_if_detach(ifp);
	} else
		printf("round %d: detached under traffic (linux sent %" PRIu64 ", smpnet "
		    "handled %" PRIu64 ", tx ok %" PRIu64 ")\n", round, atomic_load(&s->lsent),
		    atomic_load(&s->handled), atomic_load(&s->tx_ok));
	close(s->sock);
}

static void
no_ipv6(void)
{
	const char *p[] = { "/proc/sys/net/ipv6/conf/all/disable_ipv6",
	    "/proc/sys/net/ipv6/conf/default/disable_ipv6" };
	FILE *f;
	int i;

	for (i = 0; i < 2; i++)
		if ((f = fopen(p[i], "w")) != NULL) {
			fputs("1\n", f);
			fclose(f);
		}
}

int
main(void)
{
	struct stress *s;
	uint64_t seed = 0x7a9;
	int r;

	if (unshare(CLONE_NEWNET) != 0 || access("/dev/net/tun", R_OK | W_OK) != 0) {
		printf("stress_if_tap: SKIP (no private network namespace: not root?)\n");
		return 77;
	}
	no_ipv6();
	printf("stress_if_tap: seed %" PRIu64 "\n", seed);
	if ((s = calloc(1, sizeof(*s))) == NULL || (s->k = nt_kern(2, false)) == NULL ||
	    (s->v = vnet_create(s->k, NULL)) == NULL)
		FAIL("setup");
	if (dispatch_ether_register(s->v, TEST_TYPE, test_handler, s) != 0)
		FAIL("dispatch_ether_register");
	for (r = 0; r < ROUNDS; r++)
		run_round(s, r, ((seed >> r) & 1) != 0);
	if (vnet_destroy(s->v) != 0)
		FAIL("vnet_destroy: mbufs leaked");
	kern_destroy(s->k);
	free(s);
	printf("stress_if_tap: OK\n");
	return 0;
}
