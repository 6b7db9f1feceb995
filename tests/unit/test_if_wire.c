/*
 * test_if_wire.c - two vnets over wire links, and the loop driver.
 *
 * Frames are counted per sequence number by a recording handler, so "exactly once and
 * intact" is checked frame by frame; the handler also checks that each frame arrived with
 * the Toeplitz hash of its flow, on the CPU of the RX queue that hash picks.  Fault
 * injection tests use fixed seeds (printed) and check rates loosely and reproducibility
 * exactly.  Senders pace themselves (bounded waits on the receive count) so that RX rings
 * never overflow where a test expects no drop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>

#include "dev/loop.h"
#include "dev/wire.h"
#include "kern/ktime.h"
#include "lib/toeplitz.h"
#include "net/if_dispatch.h"
#include "nettest.h"

#define NMAX	4096

struct rec {
	struct kern		*k;
	int			 nq;
	int			 off;		/* payload offset after the link header */
	const struct toeplitz	*tz;
	_Atomic uint32_t	 count[NMAX];
	uint32_t		 order[4 * NMAX];
	uint64_t		 t_sent[NMAX];
	_Atomic uint32_t	 norder;
	_Atomic uint64_t	 total, bad, wrongcpu, wronghash, early;
	uint64_t		 delay_ns;
	const uint8_t		*raw_dst;	/* raw frames: check their opaque hash */
	_Atomic int		 inside, maxinside;	/* handlers running at once */
	uint64_t		 spin_ns;	/* busy time per frame (to overlap CPUs) */
};

/* Raw test frames from sender id carry the source MAC 02:00:00:01:<id>. */
static void
raw_src_mac(uint32_t id, uint8_t mac[6])
{
	uint8_t m[6] = { 0x02, 0, 0, 0x01, (uint8_t)(id >> 8), (uint8_t)id };

	memcpy(mac, m, 6);
}

/* Opaque hash (MACs + type) of a raw frame, queue and CPU it must arrive on. */
static void
rec_raw_check(struct rec *r, struct mbuf *m, uint32_t id)
{
	uint8_t hdr[ETHER_HDR_LEN], src[6];
	uint32_t h;

	raw_src_mac(id, src);
	ether_header_build(hdr, r->raw_dst, src, ETHERTYPE_SMPNET_TEST);
	h = toeplitz_hash(r->tz, hdr, ETHER_HDR_LEN);
	if (m->m_pkthdr.flowid != h || m->m_pkthdr.hashtype != M_HASHTYPE_OPAQUE)
		atomic_fetch_add(&r->wronghash, 1);
	if (kcpu_index(r->k) != (int)(h % (uint32_t)r->nq) % kern_ncpu(r->k))
		atomic_fetch_add(&r->wrongcpu, 1);
}

static void
rec_enter(struct rec *r)
{
	int in = atomic_fetch_add(&r->inside, 1) + 1, max = atomic_load(&r->maxinside);

	while (in > max && !atomic_compare_exchange_weak(&r->maxinside, &max, in))
		continue;
}

static void
rec_hash_check(struct rec *r, struct mbuf *m, const uint8_t *ip)
{
	uint32_t s, d, h;
	uint16_t sp, dp;
	int q;

	memcpy(&s, ip + 12, 4);
	memcpy(&d, ip + 16, 4);
	memcpy(&sp, ip + 20, 2);
	memcpy(&dp, ip + 22, 2);
	h = toeplitz_hash_ip4(r->tz, s, d, sp, dp);
	if (m->m_pkthdr.flowid != h || m->m_pkthdr.hashtype != M_HASHTYPE_RSS_UDP_IPV4)
		atomic_fetch_add(&r->wronghash, 1);
	q = (int)(h % (uint32_t)r->nq);
	if (kcpu_index(r->k) != q % kern_ncpu(r->k))
		atomic_fetch_add(&r->wrongcpu, 1);
}

static void rec_handler_body(struct rec *r, struct mbuf *m, uint8_t *buf, int len);

static void
rec_handler(struct ifnet *ifp, struct mbuf *m, void *arg)
{
	struct rec *r = arg;
	uint8_t buf[2100];
	int len = m->m_pkthdr.len;

	(void)ifp;
	rec_enter(r);
	if (r->spin_ns != 0) {
		uint64_t t = ktime_now(r->k) + r->spin_ns;

		while (ktime_now(r->k) < t)
			continue;
	}
	rec_handler_body(r, m, buf, len);
	atomic_fetch_sub(&r->inside, 1);
	atomic_fetch_add(&r->total, 1);	/* last: the waiter then sees everything above */
}

static void
rec_handler_body(struct rec *r, struct mbuf *m, uint8_t *buf, int len)
{
	uint32_t id, seq, i;

	if (len > 2100 || m_copydata(m, 0, len, buf) != 0 ||
	    !nt_payload_check(buf + r->off, len - r->off, &id, &seq) || seq >= NMAX) {
		atomic_fetch_add(&r->bad, 1);
		m_freem(m);
		return;
	}
	if (r->off != 0)
		rec_hash_check(r, m, buf);
	else if (r->raw_dst != NULL)
		rec_raw_check(r, m, id);
	else if (kcpu_index(r->k) < 0)
		atomic_fetch_add(&r->wrongcpu, 1);
	if (r->delay_ns != 0 && ktime_now(r->k) < r->t_sent[seq] + r->delay_ns)
		atomic_fetch_add(&r->early, 1);
	atomic_fetch_add(&r->count[seq], 1);
	i = atomic_fetch_add(&r->norder, 1);
	if (i < 4 * NMAX)
		r->order[i] = seq;
	m_freem(m);
}

struct pair {
	struct kern	*k;
	struct vnet	*va, *vb;
	struct wire	*w;
	struct ifnet	*a, *b;
	struct toeplitz	 tz;
	struct rec	*ra, *rb;
};

static struct pair *
pair_new(bool giant, int nq, uint16_t type)
{
	struct pair *p = calloc(1, sizeof(*p));
	struct wire_config wc = { .nports = 2, .nqueues = nq, .ring_size = 1024 };

	p->k = nt_kern(2, giant);
	assert_non_null(p->k);
	p->va = vnet_create(p->k, &(struct vnet_config){ .name = "a" });
	p->vb = vnet_create(p->k, &(struct vnet_config){ .name = "b" });
	p->w = wire_create(p->k, &wc);
	assert_non_null(p->w);
	p->a = wire_port_attach(p->w, 0, p->va, "wa0", NULL);
	p->b = wire_port_attach(p->w, 1, p->vb, "wb0", NULL);
	assert_non_null(p->a);
	assert_non_null(p->b);
	toeplitz_init(&p->tz, toeplitz_default_key);
	p->ra = calloc(1, sizeof(*p->ra));
	p->rb = calloc(1, sizeof(*p->rb));
	*p->ra = (struct rec){ .k = p->k, .nq = nq, .tz = &p->tz,
	    .off = type == ETHERTYPE_IP ? NT_IP_OFF : 0 };
	*p->rb = (struct rec){ .k = p->k, .nq = nq, .tz = &p->tz,
	    .off = type == ETHERTYPE_IP ? NT_IP_OFF : 0 };
	assert_int_equal(dispatch_ether_register(p->va, type, rec_handler, p->ra), 0);
	assert_int_equal(dispatch_ether_register(p->vb, type, rec_handler, p->rb), 0);
	return p;
}

static void
pair_free(struct pair *p)
{
	wire_destroy(p->w);
	assert_int_equal(vnet_destroy(p->va), 0);
	assert_int_equal(vnet_destroy(p->vb), 0);
	kern_destroy(p->k);
	free(p->ra);
	free(p->rb);
	free(p);
}

/* Send n UDP frames from ifp (vnet v) with varied flows, paced against r's count. */
static void
send_udp(struct vnet *v, struct ifnet *from, struct ifnet *to, struct rec *r, int n,
    uint32_t id, int plen)
{
	uint64_t base = atomic_load(&r->total);
	int i;

	for (i = 0; i < n; i++) {
		uint32_t s = htonl(0xc0000201u + (uint32_t)(i % 7));
		uint32_t d = htonl(0xc6336401u + (uint32_t)(i % 5));
		struct mbuf *m = nt_udp_frame(v, if_lladdr(to), if_lladdr(from), s, d,
		    htons((uint16_t)(1024 + i)), htons(7), plen, id, (uint32_t)i);

		assert_non_null(m);
		assert_int_equal(nt_send(from, m), 0);
		if (i % 256 == 255)
			assert_true(nt_wait(&r->total, base + (uint64_t)i + 1 - 128, 20));
	}
}

static void
check_exactly_once(struct rec *r, int n)
{
	int i;

	assert_true(nt_wait(&r->total, (uint64_t)n, 20));
	nt_sleep_ms(5);		/* a duplicate would show up now */
	assert_int_equal(atomic_load(&r->total), n);
	assert_int_equal(atomic_load(&r->bad), 0);
	assert_int_equal(atomic_load(&r->wrongcpu), 0);
	assert_int_equal(atomic_load(&r->wronghash), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(atomic_load(&r->count[i]), 1);
}

/* Each RX queue got exactly the frames whose hash picks it. */
static void
check_queue_split(struct pair *p, struct ifnet *rx, int n, int nq)
{
	uint64_t want[IF_MAXQUEUES] = { 0 };
	struct if_stats st;
	int i, q, used = 0;

	for (i = 0; i < n; i++) {
		uint32_t s = htonl(0xc0000201u + (uint32_t)(i % 7));
		uint32_t d = htonl(0xc6336401u + (uint32_t)(i % 5));

		want[toeplitz_hash_ip4(&p->tz, s, d, htons((uint16_t)(1024 + i)),
		    htons(7)) % (uint32_t)nq]++;
	}
	for (q = 0; q < nq; q++) {
		assert_int_equal(if_rxq_stats(rx, q, &st), 0);
		assert_int_equal(st.ifs_ipackets, want[q]);
		used += want[q] != 0;
	}
	assert_true(used > 1);	/* the flows really spread */
}

static void
run_exchange(bool giant)
{
	struct pair *p = pair_new(giant, 4, ETHERTYPE_IP);
	struct if_stats st;
	int n = 3000;

	p->rb->spin_ns = 20000;
	send_udp(p->va, p->a, p->b, p->rb, n, 1, 200);
	send_udp(p->vb, p->b, p->a, p->ra, n, 2, 64);
	check_exactly_once(p->rb, n);
	check_exactly_once(p->ra, n);
	check_queue_split(p, p->b, n, 4);
	check_queue_split(p, p->a, n, 4);
	if_stats(p->a, &st);
	assert_int_equal(st.ifs_opackets, n);
	assert_int_equal(st.ifs_ipackets, n);
	assert_int_equal(st.ifs_idrops + st.ifs_odrops + st.ifs_noproto, 0);
	print_message("    handlers at once: %d\n", atomic_load(&p->rb->maxinside));
	if (giant)	/* every poll continuation ran under the giant lock */
		assert_int_equal(atomic_load(&p->rb->maxinside), 1);
	pair_free(p);
}

/* Raw frames of the test ethertype from many source MACs: exactly once, intact, on
 * the queue and CPU their (MAC + type) hash picks. */
static void
run_exchange_raw(bool giant)
{
	struct pair *p = pair_new(giant, 4, ETHERTYPE_SMPNET_TEST);
	uint8_t src[6];
	int i, n = 3000;

	p->rb->raw_dst = if_lladdr(p->b);
	for (i = 0; i < n; i++) {
		raw_src_mac((uint32_t)(i % 64), src);
		assert_int_equal(nt_send(p->a, nt_frame(p->va, if_lladdr(p->b), src,
		    ETHERTYPE_SMPNET_TEST, 16 + i % 300, (uint32_t)(i % 64), (uint32_t)i)), 0);
		if (i % 256 == 255)
			assert_true(nt_wait(&p->rb->total, (uint64_t)i + 1 - 256, 20));
	}
	check_exactly_once(p->rb, n);
	pair_free(p);
}

static void
test_exchange(void **state)
{
	(void)state;
	run_exchange(false);
	run_exchange_raw(false);
}

static void
test_exchange_giant(void **state)
{
	(void)state;
	run_exchange(true);
	run_exchange_raw(true);
}

/* ------------------------------------------------------------------ faults */

struct fault_run {
	uint32_t	order[4 * NMAX];
	uint32_t	norder;
	struct wire_stats ws;
	uint64_t	total;
};

/* n raw test frames a -> b over one queue with faults f; records the receive order. */
static void
run_faults(const struct wire_faults *f, int n, struct fault_run *out)
{
	struct pair *p = pair_new(false, 1, ETHERTYPE_SMPNET_TEST);
	uint64_t expect;
	int i;

	assert_int_equal(wire_set_faults(p->w, 0, f), 0);
	for (i = 0; i < n; i++) {
		struct mbuf *m = nt_frame(p->va, if_lladdr(p->b), if_lladdr(p->a),
		    ETHERTYPE_SMPNET_TEST, 100, 1, (uint32_t)i);

		p->rb->t_sent[i] = ktime_now(p->k);
		assert_int_equal(nt_send(p->a, m), 0);
		if (i % 64 == 63) {	/* pace: at most 512 frames on the ring */
			assert_int_equal(wire_port_stats(p->w, 0, &out->ws), 0);
			if (out->ws.ws_delivered > 512)
				assert_true(nt_wait(&p->rb->total,
				    out->ws.ws_delivered - 512, 20));
		}
	}
	wire_flush(p->w, 0);
	assert_int_equal(wire_port_stats(p->w, 0, &out->ws), 0);
	expect = out->ws.ws_delivered;
	assert_true(nt_wait(&p->rb->total, expect, 20));
	nt_sleep_ms(5);
	out->total = atomic_load(&p->rb->total);
	assert_int_equal(out->total, expect);
	assert_int_equal(out->ws.ws_tx, n);
	assert_int_equal(out->ws.ws_ring_full, 0);
	/* every transmitted frame is accounted for */
	assert_int_equal(out->ws.ws_delivered + out->ws.ws_lost + out->ws.ws_rate_drop +
	    out->ws.ws_ring_full, (uint64_t)n + out->ws.ws_dup);
	out->norder = atomic_load(&p->rb->norder);
	memcpy(out->order, p->rb->order, sizeof(out->order));
	assert_int_equal(atomic_load(&p->rb->bad), 0);
	assert_int_equal(atomic_load(&p->rb->early), 0);
	pair_free(p);
}

static void
assert_rate(uint64_t got, int n, double want)
{
	double r = (double)got / n;

	print_message("    rate %.4f (configured %.4f)\n", r, want);
	assert_true(r > want * 0.7 && r < want * 1.3);
}

static int
count_inversions(const struct fault_run *fr)
{
	uint32_t i, inv = 0;

	for (i = 1; i < fr->norder; i++)
		inv += fr->order[i] < fr->order[i - 1];
	return (int)inv;
}

static void
test_faults_rates_and_replay(void **state)
{
	struct wire_faults f = { .seed = 0x5eed1234, .loss_ppm = 100000, .dup_ppm = 100000,
	    .reorder_ppm = 100000, .reorder_hold_ns = 10000000000ull };
	struct fault_run *r1 = calloc(1, sizeof(*r1)), *r2 = calloc(1, sizeof(*r2));
	int n = 4000;

	(void)state;
	print_message("    seed 0x%llx\n", (unsigned long long)f.seed);
	run_faults(&f, n, r1);
	assert_rate(r1->ws.ws_lost, n, 0.1);
	assert_rate(r1->ws.ws_dup, n, 0.1 * 0.9);
	assert_rate(r1->ws.ws_reordered, n, 0.1 * 0.9);
	assert_true(count_inversions(r1) > 0);
	/* same seed: the same sequence */
	run_faults(&f, n, r2);
	assert_int_equal(r1->norder, r2->norder);
	assert_memory_equal(r1->order, r2->order, r1->norder * sizeof(uint32_t));
	/* another seed: another sequence */
	f.seed++;
	run_faults(&f, n, r2);
	assert_true(r1->norder != r2->norder ||
	    memcmp(r1->order, r2->order, r1->norder * sizeof(uint32_t)) != 0);
	free(r1);
	free(r2);
}

/* Without faults the order is exactly the send order (one flow, one queue). */
static void
test_no_faults_in_order(void **state)
{
	struct wire_faults f = { .seed = 1 };
	struct fault_run *r = calloc(1, sizeof(*r));
	uint32_t i;

	(void)state;
	run_faults(&f, 2000, r);
	assert_int_equal(r->norder, 2000);
	for (i = 0; i < r->norder; i++)
		assert_int_equal(r->order[i], i);
	free(r);
}

static void
test_faults_delay(void **state)
{
	struct wire_faults f = { .seed = 7, .delay_ns = 3000000 };
	struct fault_run *r = calloc(1, sizeof(*r));

	(void)state;
	run_faults(&f, 300, r);	/* run_faults checks nothing arrived early */
	assert_int_equal(r->ws.ws_delayed, 300);
	assert_int_equal(r->total, 300);
	free(r);
}

static void
test_faults_rate_limit(void **state)
{
	/* 80 kbit/s = 10 kB/s, a bucket of 10 frames of 114 bytes */
	struct wire_faults f = { .seed = 9, .rate_bps = 80000, .burst_bytes = 10 * 114 };
	struct fault_run *r = calloc(1, sizeof(*r));

	(void)state;
	run_faults(&f, 200, r);
	print_message("    passed %llu of 200\n", (unsigned long long)r->total);
	assert_true(r->total >= 10 && r->total < 60);
	assert_int_equal(r->ws.ws_rate_drop, 200 - r->total);
	free(r);
}

/* Corruption flips one byte per frame: (almost) no frame arrives intact. */
static void
test_faults_corrupt(void **state)
{
	struct pair *p = pair_new(false, 1, ETHERTYPE_SMPNET_TEST);
	struct wire_faults f = { .seed = 11, .corrupt_ppm = 1000000 };
	struct wire_stats ws;
	struct if_stats st;
	int i, n = 500;

	(void)state;
	assert_int_equal(wire_set_faults(p->w, 0, &f), 0);
	for (i = 0; i < n; i++) {
		assert_int_equal(nt_send(p->a, nt_frame(p->va, if_lladdr(p->b),
		    if_lladdr(p->a), ETHERTYPE_SMPNET_TEST, 1000, 1, (uint32_t)i)), 0);
		if (i % 128 == 127)
			nt_sleep_ms(2);
	}
	assert_int_equal(wire_port_stats(p->w, 0, &ws), 0);
	assert_int_equal(ws.ws_corrupted, n);
	for (i = 0; i < 2000; i++) {
		if_stats(p->b, &st);
		if (st.ifs_ipackets == (uint64_t)n)
			break;
		nt_sleep_ms(1);
	}
	assert_int_equal(st.ifs_ipackets, n);
	/* ifs_ipackets counts a frame before its fate: wait for every fate (bounded) */
	for (i = 0; i < 5000; i++) {
		if_stats(p->b, &st);
		if (atomic_load(&p->rb->total) + st.ifs_filtered + st.ifs_noproto >= (uint64_t)n)
			break;
		nt_sleep_ms(1);
	}
	/* every frame is either rejected by the handler, filtered, or of an unknown type */
	assert_int_equal(atomic_load(&p->rb->total) + st.ifs_filtered + st.ifs_noproto, n);
	/* a flip in the source MAC leaves the payload intact: 6 bytes of 1014 */
	assert_true(atomic_load(&p->rb->total) - atomic_load(&p->rb->bad) < (uint64_t)n / 20);
	pair_free(p);
}

/* ------------------------------------------------------------------ filters, switch */

static void
send_raw(struct pair *p, const uint8_t *dst, uint32_t seq)
{
	assert_int_equal(nt_send(p->a, nt_frame(p->va, dst, if_lladdr(p->a),
	    ETHERTYPE_SMPNET_TEST, 50, 1, seq)), 0);
}

/* Send to dst and report whether b's handler received it. */
static bool
delivered(struct pair *p, const uint8_t *dst, uint32_t seq)
{
	struct if_stats st;
	uint64_t before, filtered;
	int i;

	if_stats(p->b, &st);
	before = st.ifs_ipackets;
	filtered = st.ifs_filtered;
	send_raw(p, dst, seq);
	for (i = 0; i < 5000 && st.ifs_ipackets == before; i++) {
		nt_sleep_ms(1);
		if_stats(p->b, &st);
	}
	assert_int_equal(st.ifs_ipackets, before + 1);
	/* counted as input before its fate: wait for the handler or the filter (bounded) */
	for (i = 0; i < 5000 && atomic_load(&p->rb->count[seq]) == 0 &&
	    st.ifs_filtered == filtered; i++) {
		nt_sleep_ms(1);
		if_stats(p->b, &st);
	}
	return atomic_load(&p->rb->count[seq]) == 1;
}

static void
test_multicast_filter(void **state)
{
	struct pair *p = pair_new(false, 2, ETHERTYPE_SMPNET_TEST);
	const uint8_t grp[6] = { 0x01, 0x00, 0x5e, 0x01, 0x02, 0x03 };
	const uint8_t other[6] = { 0x02, 0x99, 0x99, 0x99, 0x99, 0x99 };
	const uint8_t uni[6] = { 0x02, 0, 0, 0, 0, 1 };
	struct if_stats st;

	(void)state;
	assert_false(delivered(p, grp, 0));
	assert_int_equal(if_multi_join(p->b, grp), 0);
	assert_int_equal(if_multi_refcnt(p->b, grp), 1);
	assert_true(delivered(p, grp, 1));
	assert_int_equal(if_multi_join(p->b, grp), 0);
	assert_int_equal(if_multi_leave(p->b, grp), 0);
	assert_int_equal(if_multi_refcnt(p->b, grp), 1);
	assert_true(delivered(p, grp, 2));
	assert_int_equal(if_multi_leave(p->b, grp), 0);
	assert_false(delivered(p, grp, 3));
	assert_int_equal(if_multi_leave(p->b, grp), -ENOENT);
	assert_int_equal(if_multi_join(p->b, uni), -EINVAL);
	assert_true(delivered(p, ether_broadcast_addr, 4));
	assert_int_equal(if_setflags(p->b, IFF_ALLMULTI, 0), 0);
	assert_true(delivered(p, grp, 5));
	assert_false(delivered(p, other, 6));
	assert_int_equal(if_setflags(p->b, IFF_PROMISC, IFF_ALLMULTI), 0);
	assert_true(delivered(p, other, 7));
	if_stats(p->b, &st);
	assert_int_equal(st.ifs_filtered, 3);
	pair_free(p);
}

static void
test_down_and_mtu(void **state)
{
	struct pair *p = pair_new(false, 1, ETHERTYPE_SMPNET_TEST);
	struct if_stats st;

	(void)state;
	assert_int_equal(if_down(p->a), 0);
	assert_false(if_flags(p->a) & IFF_RUNNING);
	assert_int_equal(nt_send(p->a, nt_frame(p->va, if_lladdr(p->b), if_lladdr(p->a),
	    ETHERTYPE_SMPNET_TEST, 50, 1, 0)), -ENETDOWN);
	assert_int_equal(if_up(p->a), 0);
	assert_int_equal(if_set_mtu(p->a, 100), 0);
	assert_int_equal(if_set_mtu(p->a, 9000), -EINVAL);	/* the wire's limit: 1500 */
	assert_int_equal(if_set_mtu(p->a, 20), -EINVAL);
	assert_int_equal(nt_send(p->a, nt_frame(p->va, if_lladdr(p->b), if_lladdr(p->a),
	    ETHERTYPE_SMPNET_TEST, 101, 1, 1)), -EMSGSIZE);
	assert_int_equal(nt_send(p->a, nt_frame(p->va, if_lladdr(p->b), if_lladdr(p->a),
	    ETHERTYPE_SMPNET_TEST, 100, 1, 2)), 0);
	assert_true(nt_wait(&p->rb->total, 1, 20));
	assert_int_equal(atomic_load(&p->rb->count[2]), 1);
	if_stats(p->a, &st);
	assert_int_equal(st.ifs_odrops, 1);
	assert_int_equal(st.ifs_oerrors, 1);
	assert_int_equal(st.ifs_opackets, 1);
	pair_free(p);
}

/* A 3-port switch: flood unknown and broadcast, then forward to the learned port. */
static void
test_switch(void **state)
{
	struct kern *k = nt_kern(2, false);
	struct vnet *v[3];
	struct ifnet *ifp[3];
	struct rec *r[3];
	struct if_stats st;
	struct wire *w = wire_create(k, &(struct wire_config){ .nports = 3, .nqueues = 1 });
	char name[8];
	int i;

	(void)state;
	assert_non_null(w);
	for (i = 0; i < 3; i++) {
		v[i] = vnet_create(k, NULL);
		snprintf(name, sizeof(name), "sw%d", i);
		ifp[i] = wire_port_attach(w, i, v[i], name, NULL);
		assert_non_null(ifp[i]);
		r[i] = calloc(1, sizeof(*r[i]));
		r[i]->k = k;
		assert_int_equal(dispatch_ether_register(v[i], ETHERTYPE_SMPNET_TEST,
		    rec_handler, r[i]), 0);
	}
	/* 0 -> broadcast: 1 and 2 receive (and the switch learns 0) */
	assert_int_equal(nt_send(ifp[0], nt_frame(v[0], ether_broadcast_addr,
	    if_lladdr(ifp[0]), ETHERTYPE_SMPNET_TEST, 50, 0, 0)), 0);
	assert_true(nt_wait(&r[1]->total, 1, 20));
	assert_true(nt_wait(&r[2]->total, 1, 20));
	/* 0 -> 2 unknown unicast: flooded; 1 filters it, 2 takes it */
	assert_int_equal(nt_send(ifp[0], nt_frame(v[0], if_lladdr(ifp[2]),
	    if_lladdr(ifp[0]), ETHERTYPE_SMPNET_TEST, 50, 0, 1)), 0);
	assert_true(nt_wait(&r[2]->total, 2, 20));
	for (i = 0; i < 5000; i++) {
		if_stats(ifp[1], &st);
		if (st.ifs_filtered == 1)
			break;
		nt_sleep_ms(1);
	}
	assert_int_equal(st.ifs_filtered, 1);
	/* 2 -> 0 learned unicast: only port 0 sees it */
	assert_int_equal(nt_send(ifp[2], nt_frame(v[2], if_lladdr(ifp[0]),
	    if_lladdr(ifp[2]), ETHERTYPE_SMPNET_TEST, 50, 2, 2)), 0);
	assert_true(nt_wait(&r[0]->total, 1, 20));
	nt_sleep_ms(5);
	if_stats(ifp[1], &st);
	assert_int_equal(st.ifs_ipackets, 2);	/* the broadcast and the flood only */
	wire_destroy(w);
	for (i = 0; i < 3; i++) {
		assert_int_equal(vnet_destroy(v[i]), 0);
		free(r[i]);
	}
	kern_destroy(k);
}

/* ------------------------------------------------------------------ Ethernet parsing */

struct vlan_seen {
	_Atomic uint64_t	tagged, untagged;
	_Atomic uint32_t	tci;
};

static void
vlan_handler(struct ifnet *ifp, struct mbuf *m, void *arg)
{
	struct vlan_seen *vs = arg;

	(void)ifp;
	if (m->m_flags & M_VLANTAG) {
		atomic_store(&vs->tci, m->m_pkthdr.ether_vtag);
		atomic_fetch_add(&vs->tagged, 1);
	} else {
		atomic_fetch_add(&vs->untagged, 1);
	}
	m_freem(m);
}

/* Send len bytes of buf as a frame from a and wait until b has counted it as input. */
static void
send_bytes(struct pair *p, const uint8_t *buf, int len)
{
	struct if_stats st;
	uint64_t before;
	int i;

	if_stats(p->b, &st);
	before = st.ifs_ipackets;
	assert_int_equal(nt_send(p->a, m_devget(p->va->v_pools, buf, len, 0, 0)), 0);
	for (i = 0; i < 5000 && st.ifs_ipackets == before; i++) {
		nt_sleep_ms(1);
		if_stats(p->b, &st);
	}
	assert_int_equal(st.ifs_ipackets, before + 1);
	nt_sleep_ms(2);
}

/* Runts, 802.3 frames, priority-tagged and VLAN-tagged frames. */
static void
test_ether_parse_paths(void **state)
{
	struct pair *p = pair_new(false, 1, ETHERTYPE_IP);
	struct vlan_seen vs = { 0 };
	struct if_stats st;
	uint8_t f[64] = { 0 };

	(void)state;
	assert_int_equal(dispatch_ether_register(p->vb, ETHERTYPE_SMPNET_TEST, vlan_handler,
	    &vs), 0);
	ether_header_build(f, if_lladdr(p->b), if_lladdr(p->a), ETHERTYPE_VLAN);
	f[14] = 0x60;			/* PCP 3, VID 0: priority tag */
	f[15] = 0x00;
	f[16] = ETHERTYPE_SMPNET_TEST >> 8;
	f[17] = ETHERTYPE_SMPNET_TEST & 0xff;
	send_bytes(p, f, 60);
	assert_int_equal(atomic_load(&vs.tagged), 1);
	assert_int_equal(atomic_load(&vs.tci), 0x6000);
	f[15] = 0x05;			/* VID 5: for a VLAN domain; none here */
	send_bytes(p, f, 60);
	assert_int_equal(atomic_load(&vs.tagged), 1);
	send_bytes(p, f, 10);		/* runt */
	f[12] = 0x00;			/* 802.3 length, not an EtherType */
	f[13] = 0x2e;
	send_bytes(p, f, 60);
	ether_header_build(f, if_lladdr(p->b), if_lladdr(p->a), ETHERTYPE_SMPNET_TEST);
	send_bytes(p, f, 60);
	assert_int_equal(atomic_load(&vs.untagged), 1);
	if_stats(p->b, &st);
	assert_int_equal(st.ifs_runts, 1);
	assert_int_equal(st.ifs_noproto, 2);	/* VID 5 and the 802.3 frame */
	pair_free(p);
}

/* ------------------------------------------------------------------ handler swaps */

struct swap_sender {
	struct pair		*p;
	int			 n;
	_Atomic uint64_t	*seen;	/* frames that reached b's dispatch (any outcome) */
};

static void *
swap_sender_main(void *arg)
{
	struct swap_sender *ss = arg;
	struct pair *p = ss->p;
	int i;

	for (i = 0; i < ss->n; i++) {
		struct mbuf *m = nt_frame(p->va, if_lladdr(p->b), if_lladdr(p->a),
		    ETHERTYPE_SMPNET_TEST, 40, 1, (uint32_t)i);

		if (m == NULL || nt_send(p->a, m) != 0)
			abort();
		if (i % 64 == 63) {	/* pace: spread over the swaps, <= 512 in flight */
			struct if_stats st;
			int j;

			nt_sleep_ms(1);
			for (j = 0; j < 20000; j++) {
				if_stats(p->b, &st);
				if (st.ifs_ipackets + 512 >= (uint64_t)i)
					break;
				nt_sleep_ms(1);
			}
		}
	}
	return NULL;
}

/*
 * A handler replaced and unregistered while frames flow: every frame is taken by the old
 * handler, the new one, or counted as unknown; none is lost or seen twice.
 */
static void
test_handler_swap_under_traffic(void **state)
{
	struct pair *p = pair_new(false, 2, ETHERTYPE_SMPNET_TEST);
	struct rec *r2 = calloc(1, sizeof(*r2));
	struct swap_sender ss = { .p = p, .n = NMAX };
	struct dispatch_stats ds;
	struct if_stats st;
	pthread_t th;
	uint64_t got = 0;
	int i, swaps = 0;

	(void)state;
	r2->k = p->k;
	assert_int_equal(pthread_create(&th, NULL, swap_sender_main, &ss), 0);
	for (i = 0; i < 60; i++) {
		struct rec *to = i % 3 == 0 ? r2 : p->rb;

		if (i % 3 == 2)
			assert_int_equal(dispatch_ether_unregister(p->vb,
			    ETHERTYPE_SMPNET_TEST), 0);
		else
			assert_int_equal(dispatch_ether_register(p->vb,
			    ETHERTYPE_SMPNET_TEST, rec_handler, to), 0);
		swaps++;
		nt_sleep_ms(1);
	}
	pthread_join(th, NULL);
	for (i = 0; i < 20000; i++) {
		if_stats(p->b, &st);
		dispatch_stats(p->vb, &ds);
		got = atomic_load(&p->rb->total) + atomic_load(&r2->total) +
		    ds.ds_ether_unknown;
		if (got == (uint64_t)ss.n)
			break;
		nt_sleep_ms(1);
	}
	print_message("    %d swaps; old %llu new %llu unknown %llu\n", swaps,
	    (unsigned long long)atomic_load(&p->rb->total),
	    (unsigned long long)atomic_load(&r2->total),
	    (unsigned long long)ds.ds_ether_unknown);
	assert_int_equal(got, ss.n);
	assert_int_equal(st.ifs_ipackets, ss.n);
	assert_int_equal(st.ifs_noproto, ds.ds_ether_unknown);
	for (i = 0; i < ss.n; i++)	/* at most once; the rest were counted unknown */
		assert_true(atomic_load(&p->rb->count[i]) + atomic_load(&r2->count[i]) <= 1);
	assert_int_equal(atomic_load(&p->rb->bad) + atomic_load(&r2->bad), 0);
	pair_free(p);
	free(r2);
}

/* ------------------------------------------------------------------ loop */

static void
test_loop(void **state)
{
	struct kern *k = nt_kern(2, false);
	struct vnet *v = vnet_create(k, NULL);
	struct toeplitz tz;
	struct rec *r = calloc(1, sizeof(*r));
	struct ifnet *lo = loop_create(v, "lo0", 2);
	int i, n = 2000;

	(void)state;
	assert_non_null(lo);
	toeplitz_init(&tz, toeplitz_default_key);
	*r = (struct rec){ .k = k, .nq = 2, .tz = &tz, .off = NT_IP_OFF };
	assert_int_equal(dispatch_ether_register(v, ETHERTYPE_IP, rec_handler, r), 0);
	for (i = 0; i < n; i++) {
		struct mbuf *m = nt_udp_frame(v, if_lladdr(lo), if_lladdr(lo),
		    htonl(0x7f000001), htonl(0x7f000001), htons((uint16_t)(5000 + i)),
		    htons(80), 32, 0, (uint32_t)i);

		assert_int_equal(nt_send(lo, m), 0);
		if (i % 256 == 255)
			assert_true(nt_wait(&r->total, (uint64_t)i - 128, 20));
	}
	check_exactly_once(r, n);
	if_detach(lo);
	assert_int_equal(vnet_destroy(v), 0);
	kern_destroy(k);
	free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exchange),
		cmocka_unit_test(test_exchange_giant),
		cmocka_unit_test(test_no_faults_in_order),
		cmocka_unit_test(test_faults_rates_and_replay),
		cmocka_unit_test(test_faults_delay),
		cmocka_unit_test(test_faults_rate_limit),
		cmocka_unit_test(test_faults_corrupt),
		cmocka_unit_test(test_multicast_filter),
		cmocka_unit_test(test_down_and_mtu),
		cmocka_unit_test(test_switch),
		cmocka_unit_test(test_ether_parse_paths),
		cmocka_unit_test(test_handler_swap_under_traffic),
		cmocka_unit_test(test_loop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
