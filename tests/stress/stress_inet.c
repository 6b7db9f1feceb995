/*
 * stress_inet.c - ping floods across a forwarding vnet with loss and reordering on the
 * wires, plus a reassembly storm, from many threads at once.
 *
 * Topology: inet_fixture.h (A - B - C, B forwards, w2 MTU 1280).  A's and C's ports
 * lose 1% and reorder 5% of their frames (seeded).  NPING threads on A and NPING on C
 * send echo requests of mixed sizes (most fragmented, some fragmented twice) to the
 * other end; NFRAG threads inject random fragment streams (overlapping, duplicated,
 * incomplete) straight into B's IPv4 input.
 *
 * Invariants checked at the end:
 *   - every reply matches a request sent (id, seq), arrives at most once, and carries
 *     the exact payload (pattern check over all bytes);
 *   - at least a third of the requests were answered (1% loss per frame, a window of
 *     WINDOW requests in flight per thread);
 *   - once the reassembly timeout has passed, no datagram is left in any reassembly
 *     queue on A, B or C and no byte is held;
 *   - every mbuf went back to the pools (teardown fails otherwise).
 * Seed printed; SMPNET_SEED replays it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "inet_fixture.h"
#include "lib/cksum.h"
#include "net/if_dispatch.h"
#include "netinet/ip_reass.h"
#include "netinet/ip_wire.h"

#define NPING		3
#define PINGS		250
#define WINDOW		8
#define NFRAG		2
#define FRAGS		1500
#define DEADLINE_NS	(12ull * 1000000000ull)

static struct fix F;
static uint64_t seed;
static uint64_t t_end;

static _Atomic uint64_t seenbits[2 * NPING][(PINGS + 63) / 64];
static _Atomic int replies, dupreplies, badreplies, strangers;
static _Atomic int replies_by_id[2 * NPING];

static uint64_t
xs(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void
on_reply(struct ifnet *ifp, const struct mbuf *m, int hlen, void *arg)
{
	uint8_t h[ICMP_HDR_LEN];
	int n = m->m_pkthdr.len - hlen - ICMP_HDR_LEN, i;
	uint8_t *buf = malloc((size_t)n + 1);
	uint16_t id, seq;
	bool ok;

	(void)m_copydata(m, hlen, ICMP_HDR_LEN, h);
	id = (uint16_t)(h[4] << 8 | h[5]);
	seq = (uint16_t)(h[6] << 8 | h[7]);
	ok = buf != NULL && m_copydata(m, hlen + ICMP_HDR_LEN, n, buf) == 0;
	for (i = 0; ok && i < n; i++)
		ok = buf[i] == (uint8_t)i;
	free(buf);
	if (id >= 2 * NPING || seq >= PINGS) {
		atomic_fetch_add(&strangers, 1);
		return;
	}
	if (!ok)
		atomic_fetch_add(&badreplies, 1);
	if (atomic_fetch_or(&seenbits[id][seq / 64], 1ull << (seq % 64)) & (1ull << (seq % 64)))
		atomic_fetch_add(&dupreplies, 1);
	else {
		atomic_fetch_add(&replies, 1);
		atomic_fetch_add(&replies_by_id[id], 1);
	}
}

struct pinger {
	pthread_t	 t;
	int		 id;
	int		 sent;
	int		 lost;		/* given up waiting for */
};

static void *
ping_thread(void *arg)
{
	static const size_t sizes[] = { 56, 1200, 1400, 3000, 8000 };
	struct pinger *p = arg;
	uint64_t s = seed + (uint64_t)p->id * 7919;
	struct vnet *from = p->id < NPING ? F.a : F.c;
	uint32_t to = p->id < NPING ? C_ADDR : A_ADDR;
	int i;

	for (i = 0; i < PINGS && ktime_mono() < t_end; i++) {
		size_t len = sizes[xs(&s) % 5];

		if (icmp_echo_request(from, to, (uint16_t)p->id, (uint16_t)i, len, NULL) == 0)
			p->sent++;
		/* at most WINDOW in flight; after 20 ms one is taken as lost (never back) */
		for (int w = 0; p->sent - atomic_load(&replies_by_id[p->id]) - p->lost > WINDOW;
		    w++) {
			if (w == 20) {
				p->lost++;
				w = 0;
			}
			fix_sleep_ms(1);
		}
	}
	return NULL;
}

/* One fragment of datagram id for B: data [off, off+len), MF as given. */
static struct mbuf *
mk_frag(uint16_t id, uint32_t off, size_t len, bool mf)
{
	uint8_t buf[IP4_HDR_LEN + 64];
	struct ip4_fields f = { .if_id = id, .if_mf = mf, .if_fragoff = off, .if_ttl = 64,
	    .if_proto = 253, .if_src = A_ADDR, .if_dst = B_ADDR0, .if_payload_len = len };
	uint16_t c;

	memset(buf, 0x5a, sizeof(buf));
	(void)ip4_emit(buf, sizeof(buf), &f);
	c = in_cksum(buf, IP4_HDR_LEN);
	memcpy(buf + 10, &c, 2);
	return m_devget(F.pools, buf, (int)(IP4_HDR_LEN + len), 32, (uint32_t)if_index(F.b0));
}

struct fragger {
	pthread_t	t;
	int		tid;
	int		expected;	/* datagrams that must be delivered */
	int		datagrams;
};

struct piece { uint32_t off; size_t len; bool mf; };

/*
 * One datagram of 2..6 pieces in random order; 1/8: an overlapping piece goes first
 * (the datagram must die), 1/8: a piece is left out (it must time out), 1/8: the first
 * piece sent is duplicated right after itself (harmless).  True if it must complete.
 */
static bool
frag_datagram(uint64_t *s, uint16_t id)
{
	struct piece p[8];
	int k = 2 + (int)(xs(s) % 5), n = k, i, j, kind = (int)(xs(s) % 8);
	uint32_t off = 0;

	for (i = 0; i < k; i++) {
		p[i] = (struct piece){ off, 8 * (1 + xs(s) % 4), i < k - 1 };
		off += (uint32_t)p[i].len;
	}
	for (i = k - 1; i > 0; i--) {		/* shuffle */
		struct piece t;

		j = (int)(xs(s) % (uint64_t)(i + 1));
		t = p[i], p[i] = p[j], p[j] = t;
	}
	if (kind == 0) {			/* overlap first */
		memmove(&p[1], &p[0], sizeof(p[0]) * (size_t)n);
		/* same offset as a real piece, 8 bytes longer: not a duplicate */
		p[0] = (struct piece){ p[1].off, p[1].len + 8, true };
		n++;
	} else if (kind == 1) {			/* one missing */
		n--;
	} else if (kind == 2) {			/* duplicate of the first sent */
		memmove(&p[2], &p[1], sizeof(p[0]) * (size_t)(n - 1));
		p[1] = p[0];
		n++;
	}
	for (i = 0; i < n; i++) {
		struct mbuf *m = mk_frag(id, p[i].off, p[i].len, p[i].mf);

		if (m != NULL)
			ip_input(F.b0, m, inet_get(F.b));
	}
	return kind != 0 && kind != 1;
}

static void *
frag_thread(void *arg)
{
	struct fragger *fg = arg;
	uint64_t s = seed ^ (0x9e3779b97f4a7c15ull * (uint64_t)(fg->tid + 1));
	int i;

	for (i = 0; i < FRAGS && ktime_mono() < t_end; i++) {
		fg->expected += frag_datagram(&s, (uint16_t)(fg->tid * 20000 + i));
		fg->datagrams++;
	}
	return NULL;
}

static _Atomic int delivered253;

static void
on_test_proto(struct ifnet *ifp, struct mbuf *m, int off, void *arg)
{
	atomic_fetch_add(&delivered253, 1);
	m_freem(m);
}

static int
check_reass_empty(struct vnet *v, const char *name)
{
	size_t bytes = 0, n;

	ip_reass_expire_now(inet_get(v)->in_reass);
	n = ip_reass_pending(inet_get(v)->in_reass, &bytes);
	if (n != 0 || bytes != 0) {
		fprintf(stderr, "%s: %zu datagrams / %zu bytes left in reassembly\n", name, n,
		    bytes);
		return 1;
	}
	return 0;
}

static int
configure(void)
{
	struct wire_faults wf = { .loss_ppm = 10000, .reorder_ppm = 50000,
	    .reorder_hold_ns = 2000000 };
	struct vnet *vs[3] = { F.a, F.b, F.c };
	int i;

	for (i = 0; i < 3; i++)
		if (vnet_setting_set(vs[i], "net.inet.ip.reass.timeout_ms", 300) ||
		    vnet_setting_set(vs[i], "net.inet.icmp.ratelimit", 0) ||
		    /* dead and incomplete datagrams wait 300 ms: room for all of them */
		    vnet_setting_set(vs[i], "net.inet.ip.reass.maxqueues", 4096))
			return -1;
	wf.seed = seed;
	if (wire_set_faults(F.w1, 0, &wf))
		return -1;
	wf.seed = seed + 1;
	if (wire_set_faults(F.w2, 1, &wf))
		return -1;
	return icmp_type_register(F.a, ICMP_ECHOREPLY, on_reply, NULL) ||
	    icmp_type_register(F.c, ICMP_ECHOREPLY, on_reply, NULL) ||
	    dispatch_ipproto_register(F.b, DISPATCH_INET, 253, on_test_proto, NULL);
}

static int
run(void)
{
	struct pinger p[2 * NPING];
	struct fragger fg[NFRAG];
	int i, sent = 0, fails = 0, expected = 0;

	t_end = ktime_mono() + DEADLINE_NS;
	for (i = 0; i < 2 * NPING; i++) {
		p[i] = (struct pinger){ .id = i };
		pthread_create(&p[i].t, NULL, ping_thread, &p[i]);
	}
	for (i = 0; i < NFRAG; i++) {
		fg[i] = (struct fragger){ .tid = i };
		pthread_create(&fg[i].t, NULL, frag_thread, &fg[i]);
	}
	for (i = 0; i < 2 * NPING; i++) {
		pthread_join(p[i].t, NULL);
		sent += p[i].sent;
	}
	for (i = 0; i < NFRAG; i++) {
		pthread_join(fg[i].t, NULL);
		expected += fg[i].expected;
	}
	wire_flush(F.w1, 0);
	wire_flush(F.w2, 1);
	fix_sleep_ms(500);	/* replies in flight; the reassembly timeout passes */
	wire_flush(F.w1, 0);
	wire_flush(F.w2, 1);
	fix_sleep_ms(400);
	printf("sent %d replies %d dup %d bad %d strangers %d; B fragments %lu overlap %lu "
	    "reassembled %lu timeout %lu\n", sent, replies, dupreplies, badreplies, strangers,
	    inet_stat(F.b, "ip.fragments"), inet_stat(F.b, "ip.fragoverlap"),
	    inet_stat(F.b, "ip.reassembled"), inet_stat(F.b, "ip.fragtimeout"));
	printf("fragment streams: %d datagrams expected, %d delivered (limit drops %lu)\n",
	    expected, delivered253, inet_stat(F.b, "ip.fraglimit"));
	fails += delivered253 != expected;
	fails += replies > sent || dupreplies != 0 || badreplies != 0 || strangers != 0;
	fails += replies * 3 < sent;
	fails += check_reass_empty(F.a, "A") + check_reass_empty(F.b, "B") +
	    check_reass_empty(F.c, "C");
	return fails;
}

int
main(void)
{
	const char *e = getenv("SMPNET_SEED");
	int fails;

	seed = e != NULL ? strtoull(e, NULL, 0) : 0x5eed1e7u;
	printf("stress_inet seed 0x%llx\n", (unsigned long long)seed);
	if (fix_init(&F, 2, 2) != 0 || configure() != 0) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	fails = run();
	if (fix_fini(&F) != 0) {
		fprintf(stderr, "mbufs leaked\n");
		fails++;
	}
	printf("%d passed, %d failed\n", fails == 0, fails != 0);
	return fails != 0;
}
