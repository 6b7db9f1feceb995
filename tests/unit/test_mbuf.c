/*
 * test_mbuf.c - every mbuf operation on chains of every shape checked against a flat
 * reference model.
 *
 * A "packet" is an mbuf chain plus a flat copy of the bytes it must hold.  Chains are
 * built piece by piece from random shapes: internal data at a random offset, 2 KiB and
 * jumbo clusters, clusters shared with a sibling chain (made by m_copym), and zero-length
 * mbufs anywhere.  Thousands of random sequences of operations (prepend, adj at both
 * ends, pullup, copym, dup, cat, split, copydata, copyback, append, devget, checksum)
 * run on them; after every step the chain is checked (m_sanity, length, bytes, packet
 * header) and, at the end, every sibling still holds its original bytes (nobody wrote
 * into a shared cluster) and the pools get back every mbuf and cluster.  Error paths run
 * on tiny pools.  The seed is fixed and printed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/cksum.h"
#include "mbuf/mbuf.h"
#include "kshim.h"

#define SEED		0x6d627566u
#define NSEQ		10000
#define NOPS		30
#define MAXPKT		12000
#define NSIB		64

static uint32_t rng = SEED;

static uint32_t
rnd32(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* uniform-ish in 0..n-1 (n >= 1) */
static int
rnd(int n)
{
	return n <= 1 ? 0 : (int)(rnd32() % (uint32_t)n);
}

struct pkt {
	struct mbuf	*m;
	unsigned char	*ref;	/* MAXPKT + slack bytes */
	int		 len;
	bool		 hdr;	/* m carries a packet header */
	uint32_t	 rcvif;	/* ... with these fields */
	uint32_t	 flowid;
};

struct sibling {
	struct mbuf	*m;
	unsigned char	*bytes;
	int		 len;
};

static struct mbuf_pools *mp;
static struct kshim ks;
static struct sibling sibs[NSIB];
static int nsib;
static unsigned char scratch[MAXPKT + 4096];

static void
fill_bytes(unsigned char *p, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)rnd32();
}

/* ---- checks ---- */

static int last_op = -1, last_seq = -1;

static void
check_chain(struct mbuf *m, const unsigned char *ref, int len, bool hdr)
{
	if (m_sanity(m) != 0)
		print_message("sequence %d, operation %d: bad chain\n", last_seq, last_op);
	assert_int_equal(m_sanity(m), 0);
	assert_int_equal(m_length(m, NULL), len);
	assert_int_equal(!!(m->m_flags & M_PKTHDR), hdr);
	if (hdr)
		assert_int_equal(m->m_pkthdr.len, len);
	assert_int_equal(m_copydata(m, 0, len, scratch), 0);
	assert_memory_equal(scratch, ref, (size_t)len);
}

static void
check_pkt(struct pkt *p)
{
	check_chain(p->m, p->ref, p->len, p->hdr);
	if (p->hdr) {
		assert_int_equal(p->m->m_pkthdr.rcvif, p->rcvif);
		assert_int_equal(p->m->m_pkthdr.flowid, p->flowid);
	}
}

static void
check_siblings(void)
{
	for (int i = 0; i < nsib; i++)
		check_chain(sibs[i].m, sibs[i].bytes, sibs[i].len, false);
}

/* Keep m (holding bytes) alive so that clusters stay shared; verified at the end. */
static void
add_sibling(struct mbuf *m, const unsigned char *bytes, int len)
{
	if (nsib == NSIB) {
		check_chain(sibs[0].m, sibs[0].bytes, sibs[0].len, false);
		m_freem(sibs[0].m);
		free(sibs[0].bytes);
		memmove(&sibs[0], &sibs[1], sizeof(sibs[0]) * (NSIB - 1));
		nsib--;
	}
	if (m->m_flags & M_PKTHDR)
		m->m_flags &= (uint16_t)~M_PKTHDR;	/* its header length is not tracked */
	sibs[nsib].m = m;
	sibs[nsib].bytes = malloc((size_t)len + 1);
	memcpy(sibs[nsib].bytes, bytes, (size_t)len);
	sibs[nsib].len = len;
	nsib++;
}

static void
free_siblings(void)
{
	check_siblings();
	for (int i = 0; i < nsib; i++) {
		m_freem(sibs[i].m);
		free(sibs[i].bytes);
	}
	nsib = 0;
}

/* ---- random chains ---- */

/* One mbuf of a random shape holding up to left bytes of data (maybe 0). */
static struct mbuf *
piece(const unsigned char *data, int left)
{
	int shape = rnd(10), lead, cnt;
	struct mbuf *m, *c;

	if (shape == 0)
		return m_get(mp, MT_DATA);	/* zero-length */
	if (shape <= 4) {
		m = m_get(mp, MT_DATA);
		lead = rnd(MLEN);
		cnt = 1 + rnd(left < MLEN - lead ? left : MLEN - lead);
	} else {
		m = m_getcl(mp, MT_DATA, 0, shape == 9 ? MJUMBYTES : MCLBYTES);
		assert_non_null(m);
		lead = rnd(64);
		cnt = 1 + rnd(left < (int)m->m_ext.ext_size - lead ? left :
		    (int)m->m_ext.ext_size - lead);
	}
	assert_non_null(m);
	if (cnt > left)
		cnt = left;
	m->m_data += lead;
	m->m_len = cnt;
	memcpy(m->m_data, data, (size_t)cnt);
	if (shape >= 7 && (m->m_flags & M_EXT)) {	/* share the cluster */
		c = m_copym(m, 0, M_COPYALL);
		assert_non_null(c);
		add_sibling(m, data, cnt);
		return c;
	}
	return m;
}

static struct mbuf *
build_chain(const unsigned char *data, int len, bool hdr)
{
	struct mbuf *top = NULL, **tail = &top, *m;
	int off = 0;

	do {
		m = piece(data + off, len - off);
		off += m->m_len;
		*tail = m;
		tail = &m->m_next;
	} while (off < len || rnd(4) == 0);	/* sometimes trailing zero-length mbufs */
	if (hdr) {
		if (!(top->m_flags & M_EXT) && top->m_len == 0) {
			top->m_flags |= M_PKTHDR;
			memset(&top->m_pkthdr, 0, sizeof(top->m_pkthdr));
		} else {
			m = m_gethdr(mp, MT_DATA);
			assert_non_null(m);
			m->m_next = top;
			top = m;
		}
		top->m_pkthdr.len = len;
		top->m_pkthdr.rcvif = 7;
		top->m_pkthdr.flowid = 0xabcd;
	}
	return top;
}

static void
new_pkt(struct pkt *p, int len, bool hdr)
{
	fill_bytes(p->ref, len);
	p->len = len;
	p->hdr = hdr;
	p->rcvif = 7;
	p->flowid = 0xabcd;
	p->m = build_chain(p->ref, len, hdr);
	check_pkt(p);
}

/* ---- operations ---- */

static void
op_prepend(struct pkt *p)
{
	int k = rnd(MLEN + 1);
	unsigned char b[MLEN];

	if (p->len + k > MAXPKT)
		return;
	fill_bytes(b, k);
	M_PREPEND(p->m, k);
	assert_non_null(p->m);
	assert_true(p->m->m_len >= k);
	assert_int_equal(m_copyback(p->m, 0, k, b), 0);
	memmove(p->ref + k, p->ref, (size_t)p->len);
	memcpy(p->ref, b, (size_t)k);
	p->len += k;
}

static void
op_adj(struct pkt *p)
{
	int k = rnd(p->len + 20);

	if (rnd(2)) {
		m_adj(p->m, k);
		k = k < p->len ? k : p->len;
		memmove(p->ref, p->ref + k, (size_t)(p->len - k));
	} else {
		m_adj(p->m, -k);
		k = k < p->len ? k : p->len;
	}
	p->len -= k;
}

static void
op_pullup(struct pkt *p)
{
	int lim = p->len < MCLBYTES ? p->len : MCLBYTES, k = rnd(lim + 1);

	p->m = m_pullup(p->m, k);
	assert_non_null(p->m);
	assert_true(p->m->m_len >= k);
	assert_memory_equal(mtod(p->m, unsigned char *), p->ref, (size_t)k);
}

static void
op_copym(struct pkt *p)
{
	int off = rnd(p->len + 1), len = rnd(p->len - off + 1);
	struct mbuf *c;

	if (rnd(4) == 0)
		len = M_COPYALL;
	c = m_copym(p->m, off, len);
	assert_non_null(c);
	if (len == M_COPYALL)
		len = p->len - off;
	check_chain(c, p->ref + off, len, off == 0 && p->hdr);
	if (c->m_flags & M_PKTHDR)
		assert_int_equal(c->m_pkthdr.rcvif, p->m->m_pkthdr.rcvif);
	if (rnd(2)) {
		m_freem(c);
		return;
	}
	add_sibling(p->m, p->ref, p->len);	/* the copy carries on; the original stays */
	memmove(p->ref, p->ref + off, (size_t)len);
	p->m = c;
	p->len = len;
	p->hdr = off == 0 && p->hdr;
}

static void
op_dup(struct pkt *p)
{
	struct mbuf *d = m_dup(p->m), *n;

	assert_non_null(d);
	for (n = d; n != NULL; n = n->m_next)
		assert_true(M_WRITABLE(n));
	m_freem(p->m);
	p->m = d;
}

static void
op_cat(struct pkt *p)
{
	int k = rnd(3000);
	struct mbuf *n;

	if (p->len + k > MAXPKT)
		k = p->len < MAXPKT ? MAXPKT - p->len : 0;
	fill_bytes(p->ref + p->len, k);
	n = build_chain(p->ref + p->len, k, p->hdr);
	if (p->hdr)
		m_catpkt(p->m, n);
	else
		m_cat(p->m, n);
	p->len += k;
}

static void
op_split(struct pkt *p)
{
	int k = rnd(p->len + 1);
	struct mbuf *t = m_split(p->m, k);

	assert_non_null(t);
	check_chain(p->m, p->ref, k, p->hdr);
	check_chain(t, p->ref + k, p->len - k, p->hdr);
	if (p->hdr)
		assert_int_equal(t->m_pkthdr.flowid, p->flowid);
	if (rnd(2)) {
		if (p->hdr)
			m_catpkt(p->m, t);
		else
			m_cat(p->m, t);
	} else {
		m_freem(t);
		p->len = k;
	}
}

static void
op_copydata(struct pkt *p)
{
	int off = rnd(p->len + 1), len = rnd(p->len - off + 1);

	assert_int_equal(m_copydata(p->m, off, len, scratch), 0);
	assert_memory_equal(scratch, p->ref + off, (size_t)len);
	assert_int_equal(m_copydata(p->m, off, p->len - off + 1, scratch), -EINVAL);
}

static void
op_copyback(struct pkt *p)
{
	int off = rnd(p->len + 60), len = rnd(400), error;
	unsigned char b[400];

	if (off + len > MAXPKT)
		return;
	fill_bytes(b, len);
	error = m_copyback(p->m, off, len, b);
	if (error == -EROFS) {
		check_pkt(p);	/* nothing written */
		op_dup(p);
		error = m_copyback(p->m, off, len, b);
	}
	assert_int_equal(error, 0);
	if (off > p->len)
		memset(p->ref + p->len, 0, (size_t)(off - p->len));
	memcpy(p->ref + off, b, (size_t)len);
	if (off + len > p->len)
		p->len = off + len;
}

static void
op_append(struct pkt *p)
{
	int len = rnd(2500);
	struct mbuf *last = NULL;

	if (p->len + len > MAXPKT)
		return;
	fill_bytes(p->ref + p->len, len);
	(void)m_length(p->m, &last);
	if (!M_WRITABLE(last) && len > 0) {
		/* appending never writes into a shared cluster: it links new mbufs */
		assert_int_equal(m_append(p->m, len, p->ref + p->len), 0);
	} else {
		assert_int_equal(m_append(p->m, len, p->ref + p->len), 0);
	}
	p->len += len;
}

static void
op_devget(struct pkt *p)
{
	int lead = rnd(MLEN + 1);
	struct mbuf *m = m_devget(mp, p->ref, p->len, lead, 3);

	assert_non_null(m);
	assert_int_equal(m->m_pkthdr.rcvif, 3);
	assert_true(M_LEADINGSPACE(m) >= lead);
	m_freem(p->m);
	p->m = m;
	p->hdr = true;
	p->rcvif = 3;
	p->flowid = 0;
}

static void
op_cksum(struct pkt *p)
{
	int off = rnd(p->len + 1), len = rnd(p->len - off + 1);

	assert_int_equal(in_cksum_mbuf(p->m, off, len), in_cksum(p->ref + off, (size_t)len));
	assert_int_equal(in_cksum_mbuf(p->m, off, p->len - off + 1), -EINVAL);
}

static void (*const ops[])(struct pkt *) = {
	op_prepend, op_adj, op_pullup, op_copym, op_dup, op_cat, op_split, op_copydata,
	op_copyback, op_append, op_devget, op_cksum,
};
#define NOPKINDS ((int)(sizeof(ops) / sizeof(ops[0])))

/* ---- tests ---- */

static int
setup_pools(void **state)
{
	struct mbuf_pools_config cfg = { .ncpu = 1, .owner = kshim_kern(&ks) };

	(void)state;
	kshim_become_cpu(&ks, 0);
	mp = mbuf_pools_create(&cfg);
	return mp == NULL ? -1 : 0;
}

static int
teardown_pools(void **state)
{
	(void)state;
	kshim_become_cpu(&ks, -1);
	return mbuf_pools_destroy(mp);
}

static void
test_random_sequences(void **state)
{
	struct pkt p = { .ref = malloc(MAXPKT + 4096) };
	unsigned long count[NOPKINDS] = { 0 };

	(void)state;
	for (int seq = 0; seq < NSEQ; seq++) {
		new_pkt(&p, rnd(seq % 3 == 0 ? 200 : 4000), rnd(4) != 0);
		for (int i = 0; i < NOPS; i++) {
			int k = rnd(NOPKINDS);

			last_op = k;
			last_seq = seq;
			ops[k](&p);
			count[k]++;
			check_pkt(&p);
		}
		m_freem(p.m);
	}
	free_siblings();
	free(p.ref);
	for (int k = 0; k < NOPKINDS; k++)
		assert_true(count[k] > 1000);
}

static void
test_pools_balance(void **state)
{
	struct pool_stats st[3];

	(void)state;
	mbuf_pools_stats(mp, st);
	for (int i = 0; i < 3; i++)
		assert_int_equal(st[i].inuse, 0);
	assert_true(st[0].gets > 100000 && st[1].gets > 1000 && st[2].gets > 100);
}

static void
test_shared_cluster_readonly(void **state)
{
	struct mbuf *m = m_getcl(mp, MT_DATA, M_PKTHDR, 0), *c;
	char b[16] = "0123456789abcdef";

	(void)state;
	assert_non_null(m);
	assert_int_equal(m->m_ext.ext_size, MCLBYTES);
	assert_int_equal(m_append(m, 16, b), 0);
	m_adj(m, 4);
	assert_true(M_WRITABLE(m));
	assert_int_equal(M_LEADINGSPACE(m), 4);
	assert_int_equal(M_TRAILINGSPACE(m), MCLBYTES - 16);
	c = m_copym(m, 0, M_COPYALL);
	assert_non_null(c);
	assert_ptr_equal(c->m_ext.ext_cl, m->m_ext.ext_cl);
	assert_false(M_WRITABLE(m));
	assert_false(M_WRITABLE(c));
	assert_int_equal(M_LEADINGSPACE(c), 0);
	assert_int_equal(M_TRAILINGSPACE(m), 0);
	assert_int_equal(m_copyback(c, 0, 2, "xy"), -EROFS);
	assert_int_equal(m_append(c, 2, "xy"), 0);	/* goes into a new mbuf */
	assert_non_null(c->m_next);
	m_freem(c);
	assert_true(M_WRITABLE(m));
	assert_int_equal(m_copyback(m, 0, 2, "xy"), 0);
	assert_memory_equal(mtod(m, char *), "xy6789", 6);
	m_freem(m);
}

static void
test_bad_ranges(void **state)
{
	struct mbuf *m = m_gethdr(mp, MT_DATA), *n;

	(void)state;
	assert_int_equal(m_append(m, 100, scratch), 0);
	errno = 0;
	assert_null(m_copym(m, 0, 101));
	assert_int_equal(errno, EINVAL);
	assert_null(m_copym(m, 101, 0));
	assert_null(m_split(m, 101));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(m_copydata(m, -1, 1, scratch), -EINVAL);
	assert_int_equal(m_copyback(m, -1, 1, scratch), -EINVAL);
	assert_int_equal(in_cksum_mbuf(m, 50, 51), -EINVAL);
	assert_int_equal(m_clget(m, MJUMBYTES + 1), -EINVAL);
	n = m_copym(m, 0, 100);
	assert_non_null(n);
	assert_null(m_pullup(n, 101));		/* frees n */
	assert_int_equal(errno, EINVAL);
	n = m_copym(m, 100, 0);			/* empty copy at the end */
	assert_non_null(n);
	assert_int_equal(m_length(n, NULL), 0);
	m_freem(n);
	assert_null(m_prepend(m, MLEN + 1));	/* frees m */
	assert_int_equal(errno, EINVAL);
}

/* Exhaustion: every failing call reports ENOBUFS and leaves its chain as it was. */
static void
test_enobufs(void **state)
{
	struct mbuf_pools_config cfg = { .max_mbufs = 4, .max_clusters = 1, .max_jumbo = 1 };
	struct mbuf_pools *small = mbuf_pools_create(&cfg);
	struct mbuf *m, *c, *x, *y;
	struct pool_stats st[3];
	unsigned char b[300], b2[600];

	(void)state;
	assert_non_null(small);
	fill_bytes(b, sizeof(b));
	m = m_devget(small, b, 300, 0, 1);	/* hdr mbuf + 2K cluster */
	assert_non_null(m);
	assert_int_equal(m_length(m, NULL), 300);
	assert_int_equal(m_append(m, 300, b), 0);	/* fits the cluster */
	assert_null(m_getcl(small, MT_DATA, 0, MCLBYTES));
	assert_int_equal(errno, ENOBUFS);
	x = m_get(small, MT_DATA);
	c = m_get(small, MT_DATA);
	y = m_get(small, MT_DATA);
	assert_non_null(y);
	assert_null(m_get(small, MT_DATA));		/* 4 mbufs out */
	assert_int_equal(errno, ENOBUFS);
	assert_null(m_copym(m, 0, M_COPYALL));
	assert_int_equal(errno, ENOBUFS);
	assert_null(m_split(m, 10));
	assert_int_equal(m_copyback(m, 3000, 10, b), -ENOBUFS);
	assert_null(m_dup(m));
	memcpy(b2, b, 300);
	memcpy(b2 + 300, b, 300);
	check_chain(m, b2, 600, true);	/* unchanged by the failed calls */
	assert_int_equal(mbuf_pools_destroy(small), -EBUSY);
	m_freem(c);
	m_freem(x);
	m_freem(y);
	mbuf_pools_stats(small, st);
	assert_true(st[0].fails >= 4 && st[1].fails >= 1);
	assert_int_equal(st[0].inuse, 1);
	assert_int_equal(st[1].inuse, 1);
	m_freem(m);
	assert_int_equal(mbuf_pools_destroy(small), 0);
}

static void
test_prepend_pullup_shapes(void **state)
{
	struct mbuf *m = m_gethdr(mp, MT_DATA);

	(void)state;
	m_align(m, 0);
	assert_int_equal(M_TRAILINGSPACE(m), (MLEN & ~7) == MLEN ? 0 : MLEN % 8);
	M_PREPEND(m, 40);			/* in place */
	assert_non_null(m);
	assert_null(m->m_next);
	assert_int_equal(M_LEADINGSPACE(m), MLEN - 40);
	M_PREPEND(m, MLEN - 30);		/* needs a new mbuf in front */
	assert_non_null(m);
	assert_non_null(m->m_next);
	assert_true(m->m_flags & M_PKTHDR);
	assert_false(m->m_next->m_flags & M_PKTHDR);
	assert_int_equal(m->m_pkthdr.len, MLEN + 10);
	m = m_pullup(m, MLEN + 10);		/* more than MLEN: into a cluster */
	assert_non_null(m);
	assert_int_equal(m->m_len, MLEN + 10);
	assert_true(m->m_flags & M_EXT);
	assert_null(m->m_next);
	assert_int_equal(m_sanity(m), 0);
	m_freem(m);
}

/* in_cksum_mbuf at every offset 0..2000 of a chain of odd-sized pieces vs flat. */
static void
test_cksum_every_offset(void **state)
{
	static const int sizes[] = { 1, 3, 0, 7, 2, 151, 0, 1, 999, 5, 64, 1200 };
	unsigned char *flat = malloc(4000);
	struct mbuf *m = NULL, **tail = &m;
	int total = 0;

	(void)state;
	fill_bytes(flat, 4000);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct mbuf *n = m_getm(mp, sizes[i], MT_DATA, 0);

		assert_non_null(n);
		assert_null(n->m_next);
		memcpy(n->m_data, flat + total, (size_t)sizes[i]);
		total += sizes[i];
		*tail = n;
		tail = &n->m_next;
	}
	for (int off = 0; off <= 2000 && off <= total; off++) {
		assert_int_equal(in_cksum_mbuf(m, off, total - off),
		    in_cksum(flat + off, (size_t)(total - off)));
		assert_int_equal(in_cksum_mbuf(m, 0, off), in_cksum(flat, (size_t)off));
	}
	m_freem(m);
	free(flat);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_sequences),
		cmocka_unit_test(test_pools_balance),
		cmocka_unit_test(test_shared_cluster_readonly),
		cmocka_unit_test(test_cksum_every_offset),
		cmocka_unit_test(test_bad_ranges),
		cmocka_unit_test(test_prepend_pullup_shapes),
		cmocka_unit_test(test_enobufs),
	};

	printf("# seed 0x%x, %d sequences of %d operations\n", SEED, NSEQ, NOPS);
	return cmocka_run_group_tests(tests, setup_pools, teardown_pools);
}
