/*
 * ip_reass.c - IPv4 reassembly (design in ip_reass.h).
 *
 * A datagram being reassembled is a queue (struct ipq) in one of IPQ_NBUCKET buckets
 * chosen by a hash of (src, dst, id, proto); each bucket has its own kmutex, its
 * queue list, and its byte account (the vnet's limit divided among the buckets, so no
 * counter is shared between buckets).  A queue keeps its fragments in an array sorted
 * by offset, sized to net.inet.ip.maxfragsperpacket when the queue is created.
 *
 * Insertion rules, in order: a fragment whose data is empty, or not a multiple of 8
 * while MF is set, or that ends beyond 65535, is dropped; an exact duplicate (same
 * offset and length) is dropped alone; any other overlap, a second "last" fragment with
 * a different end, data past the known end, or a limit (fragments, bytes) kills the
 * queue: its fragments are freed and it stays "dead" until its deadline so that the
 * rest of the datagram is dropped as it arrives.  A datagram is complete when the last
 * fragment has been seen and the sorted fragments cover [0, end) without a gap: since
 * there are no overlaps, that is "first offset 0 and the lengths add up to end".
 *
 * Completion: the first fragment's header is made writable, the others lose their
 * headers and are chained behind it (m_catpkt), and the header gets the total length,
 * a zero offset field (DF kept) and a new checksum.
 *
 * Timer: one continuation per vnet (r_timer, CPU 0), armed while queues exist, runs
 * every timeout/2 (1 ms to 1 s): expired queues are unlinked under their bucket lock,
 * then freed outside it, with an ICMP time exceeded (reassembly) when the first fragment
 * had arrived and the queue was not dead.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kern/kassert.h"
#include "lib/cksum.h"
#include "kern/kcont.h"
#include "kern/ktime.h"
#include "mbuf/mbuf.h"
#include "netinet/icmp.h"
#include "netinet/in_var.h"
#include "netinet/ip_reass.h"
#include "netinet/ip_wire.h"

#define IPQ_NBUCKET	64
#define MS		1000000ull

struct ipq_frag {
	struct mbuf	*f_m;		/* data at its IP header */
	uint16_t	 f_off;		/* data offset in the datagram (bytes) */
	uint16_t	 f_len;		/* data bytes */
	uint16_t	 f_hlen;	/* its header length */
};

struct ipq {
	struct ipq	*q_next;	/* [L bucket] */
	uint32_t	 q_src, q_dst;	/* [I] */
	uint16_t	 q_id;		/* [I] */
	uint8_t		 q_proto;	/* [I] */
	bool		 q_dead;	/* [L] dropped: ignore the rest until expiry */
	bool		 q_havelast;	/* [L] the fragment without MF was seen */
	uint32_t	 q_end;		/* [L] datagram data length (with q_havelast) */
	uint64_t	 q_expire;	/* [I] ktime deadline from the first fragment */
	size_t		 q_bytes;	/* [L] bytes held */
	int		 q_nfrag;	/* [L] */
	int		 q_maxfrag;	/* [I] */
	int		 q_rcvif;	/* [I] interface index of the first arrival */
	struct ipq_frag	 q_frags[];	/* [L] sorted by f_off */
};

struct ipq_bucket {
	struct kmutex	 b_lock;
	struct ipq	*b_head;	/* [L b_lock] */
	int		 b_count;	/* [L b_lock] queues */
	size_t		 b_bytes;	/* [L b_lock] bytes held */
} __cacheline_aligned;

struct ip_reass {
	struct inet	*r_inet;	/* [I] */
	struct kcont	 r_timer;
	_Atomic bool	 r_dying;	/* [a] set once by destroy */
	struct ipq_bucket r_b[IPQ_NBUCKET];
};

static const struct klock_class ipq_bucket_class = { "ip_reass_bucket" };

/* The fields of a fragment's header. */
struct ipq_key {
	uint32_t	src, dst;
	uint16_t	id;
	uint8_t		proto;
	bool		mf;
	uint32_t	off, len;
	int		hlen;
};

static unsigned
ipq_hash(const struct ipq_key *k)
{
	uint32_t h = k->src * 0x9e3779b1u ^ k->dst * 0x85ebca6bu ^
	    ((uint32_t)k->id << 8 | k->proto) * 0xc2b2ae35u;

	return (h ^ h >> 16) & (IPQ_NBUCKET - 1);
}

static void
ipq_key_read(struct ipq_key *k, const struct mbuf *m, int hlen)
{
	const uint8_t *h = mtod(m, const uint8_t *);
	uint16_t fld = wire_get16(h + 6);

	k->src = wire_get32(h + 12);
	k->dst = wire_get32(h + 16);
	k->id = wire_get16(h + 4);
	k->proto = h[9];
	k->mf = (fld & IP4_FLAG_MF) != 0;
	k->off = (uint32_t)(fld & IP4_OFFMASK) * 8;
	k->len = (uint32_t)(m->m_pkthdr.len - hlen);
	k->hlen = hlen;
}

static bool
ipq_match(const struct ipq *q, const struct ipq_key *k)
{
	return q->q_id == k->id && q->q_src == k->src && q->q_dst == k->dst &&
	    q->q_proto == k->proto;
}

/* ------------------------------------------------------------------ queues */

static void
ipq_frags_free(struct ipq *q)
{
	int i;

	for (i = 0; i < q->q_nfrag; i++)
		m_freem(q->q_frags[i].f_m);
	q->q_nfrag = 0;
}

/* Drop the datagram: free its fragments, keep the queue dead until it expires. */
static void
ipq_kill(struct ip_reass *r, struct ipq_bucket *b, struct ipq *q, int counter)
{
	KMUTEX_ASSERT_HELD(&b->b_lock);
	inet_count(r->r_inet, counter, 1);
	inet_count(r->r_inet, INS_IP_FRAGDROPPED, (uint64_t)q->q_nfrag);
	ipq_frags_free(q);
	b->b_bytes -= q->q_bytes;
	q->q_bytes = 0;
	q->q_dead = true;
}

static void
ipq_unlink(struct ipq_bucket *b, struct ipq *q)
{
	struct ipq **pp;

	KMUTEX_ASSERT_HELD(&b->b_lock);
	for (pp = &b->b_head; *pp != q; pp = &(*pp)->q_next)
		;
	*pp = q->q_next;
	b->b_count--;
	b->b_bytes -= q->q_bytes;
}

static void
ip_reass_timer_arm(struct ip_reass *r)
{
	uint64_t t = (uint64_t)in_setting(r->r_inet->in_s_reass_timeout) * MS / 2;

	if (t < MS)
		t = MS;
	if (t > 1000 * MS)
		t = 1000 * MS;
	(void)kcont_schedule(&r->r_timer, 0, t);
}

static struct ipq *
ipq_create(struct ip_reass *r, struct ipq_bucket *b, const struct ipq_key *k,
    const struct mbuf *m)
{
	struct inet *in = r->r_inet;
	int maxfrag = (int)in_setting(in->in_s_maxfrags);
	struct ipq *q;

	if (b->b_count >= in_setting(in->in_s_reass_maxq) ||
	    (q = calloc(1, sizeof(*q) + sizeof(q->q_frags[0]) * (size_t)maxfrag)) == NULL)
		return NULL;
	q->q_src = k->src;
	q->q_dst = k->dst;
	q->q_id = k->id;
	q->q_proto = k->proto;
	q->q_maxfrag = maxfrag;
	q->q_rcvif = (int)m->m_pkthdr.rcvif;
	q->q_expire = ktime_now(in->in_kern) + (uint64_t)in_setting(in->in_s_reass_timeout) * MS;
	q->q_next = b->b_head;
	b->b_head = q;
	b->b_count++;
	return q;
}

/* ------------------------------------------------------------------ insertion */

enum ipq_verdict { IPQ_KEEP, IPQ_DUP, IPQ_OVERLAP, IPQ_BADEND, IPQ_LIMIT };

/* Where k goes in q's sorted array, and whether it may go there. */
static enum ipq_verdict
ipq_place(const struct ipq *q, const struct ipq_key *k, int *pos)
{
	int i;

	for (i = 0; i < q->q_nfrag && q->q_frags[i].f_off < k->off; i++)
		;
	*pos = i;
	if (i < q->q_nfrag && q->q_frags[i].f_off == k->off && q->q_frags[i].f_len == k->len)
		return IPQ_DUP;
	if (i > 0 && q->q_frags[i - 1].f_off + q->q_frags[i - 1].f_len > k->off)
		return IPQ_OVERLAP;
	if (i < q->q_nfrag && k->off + k->len > q->q_frags[i].f_off)
		return IPQ_OVERLAP;
	if (!k->mf && ((q->q_havelast && q->q_end != k->off + k->len) ||
	    (q->q_nfrag > 0 && q->q_frags[q->q_nfrag - 1].f_off +
	    q->q_frags[q->q_nfrag - 1].f_len > k->off + k->len)))
		return IPQ_BADEND;
	if (k->mf && q->q_havelast && k->off + k->len > q->q_end)
		return IPQ_BADEND;
	return q->q_nfrag == q->q_maxfrag ? IPQ_LIMIT : IPQ_KEEP;
}

static void
ipq_insert(struct ipq *q, const struct ipq_key *k, struct mbuf *m, int pos)
{
	memmove(&q->q_frags[pos + 1], &q->q_frags[pos],
	    sizeof(q->q_frags[0]) * (size_t)(q->q_nfrag - pos));
	q->q_frags[pos] = (struct ipq_frag){ .f_m = m, .f_off = (uint16_t)k->off,
	    .f_len = (uint16_t)k->len, .f_hlen = (uint16_t)k->hlen };
	q->q_nfrag++;
	q->q_bytes += (size_t)m->m_pkthdr.len;
	if (!k->mf) {
		q->q_havelast = true;
		q->q_end = k->off + k->len;
	}
}

static bool
ipq_complete(const struct ipq *q)
{
	uint32_t sum = 0;
	int i;

	if (!q->q_havelast || q->q_nfrag == 0 || q->q_frags[0].f_off != 0)
		return false;
	for (i = 0; i < q->q_nfrag; i++)
		sum += q->q_frags[i].f_len;
	return sum == q->q_end;
}

/* Chain the fragments into one datagram; frees q.  NULL if out of mbufs. */
static struct mbuf *
ipq_build(struct inet *in, struct ipq *q)
{
	int hlen = q->q_frags[0].f_hlen, i;
	struct mbuf *m = in_m_writable(q->q_frags[0].f_m, hlen), *n;
	uint8_t *h;
	uint16_t c;

	for (i = 1; i < q->q_nfrag; i++) {
		n = q->q_frags[i].f_m;
		if (m == NULL) {
			m_freem(n);
			continue;
		}
		m_adj(n, q->q_frags[i].f_hlen);
		m_catpkt(m, n);
	}
	free(q);
	if (m == NULL) {
		inet_count(in, INS_IP_NOMEM, 1);
		return NULL;
	}
	h = mtod(m, uint8_t *);
	wire_put16(h + 2, (uint16_t)m->m_pkthdr.len);
	wire_put16(h + 6, (uint16_t)(wire_get16(h + 6) & IP4_FLAG_DF));
	h[10] = h[11] = 0;
	c = in_cksum(h, (size_t)hlen);
	memcpy(h + 10, &c, 2);
	inet_count(in, INS_IP_REASSEMBLED, 1);
	return m;
}

static bool
ipq_fragment_sane(const struct ipq_key *k, struct inet *in)
{
	if (k->len == 0 || (k->mf && k->len % 8 != 0)) {
		inet_count(in, INS_IP_FRAGDROPPED, 1);
		return false;
	}
	if (k->off + k->len + (uint32_t)k->hlen > IP4_MAXPACKET) {
		inet_count(in, INS_IP_FRAGTOOLONG, 1);
		return false;
	}
	return true;
}

static const int ipq_kill_counter[] = {
	[IPQ_OVERLAP] = INS_IP_FRAGOVERLAP,
	[IPQ_BADEND] = INS_IP_FRAGDROPPED,
	[IPQ_LIMIT] = INS_IP_FRAGLIMIT,
};

/* Add m to q (bucket locked).  Returns q when it completed (unlinked), else NULL. */
static struct ipq *
ipq_add(struct ip_reass *r, struct ipq_bucket *b, struct ipq *q, const struct ipq_key *k,
    struct mbuf *m)
{
	size_t budget = (size_t)in_setting(r->r_inet->in_s_reass_maxbytes) / IPQ_NBUCKET;
	enum ipq_verdict v;
	int pos;

	if (q->q_dead) {
		inet_count(r->r_inet, INS_IP_FRAGDROPPED, 1);
		m_freem(m);
		return NULL;
	}
	v = ipq_place(q, k, &pos);
	if (v == IPQ_KEEP && b->b_bytes + (size_t)m->m_pkthdr.len > budget)
		v = IPQ_LIMIT;
	if (v == IPQ_DUP)
		inet_count(r->r_inet, INS_IP_FRAGDUP, 1);
	if (v != IPQ_KEEP) {
		m_freem(m);
		if (v != IPQ_DUP)
			ipq_kill(r, b, q, ipq_kill_counter[v]);
		return NULL;
	}
	ipq_insert(q, k, m, pos);
	b->b_bytes += (size_t)m->m_pkthdr.len;
	if (!ipq_complete(q))
		return NULL;
	ipq_unlink(b, q);
	return q;
}

struct mbuf *
ip_reass_input(struct ip_reass *r, struct mbuf *m, int hlen)
{
	struct inet *in = r->r_inet;
	struct ipq_key k;
	struct ipq_bucket *b;
	struct ipq *q;

	inet_count(in, INS_IP_FRAGMENTS, 1);
	ipq_key_read(&k, m, hlen);
	if (!ipq_fragment_sane(&k, in)) {
		m_freem(m);
		return NULL;
	}
	b = &r->r_b[ipq_hash(&k)];
	kmutex_enter(&b->b_lock);
	for (q = b->b_head; q != NULL && !ipq_match(q, &k); q = q->q_next)
		;
	if (q == NULL && (q = ipq_create(r, b, &k, m)) == NULL) {
		kmutex_exit(&b->b_lock);
		inet_count(in, INS_IP_FRAGLIMIT, 1);
		m_freem(m);
		return NULL;
	}
	q = ipq_add(r, b, q, &k, m);
	kmutex_exit(&b->b_lock);
	ip_reass_timer_arm(r);
	return q != NULL ? ipq_build(in, q) : NULL;
}

/* ------------------------------------------------------------------ expiry */

/*
 * Unlink the queues of b expired at now (all with now UINT64_MAX) onto *list; true if
 * queues are left.
 */
static bool
ipq_bucket_expire(struct ipq_bucket *b, uint64_t now, struct ipq **list)
{
	struct ipq **pp = &b->b_head, *q;
	bool left;

	kmutex_enter(&b->b_lock);
	while ((q = *pp) != NULL) {
		if (q->q_expire > now) {
			pp = &q->q_next;
			continue;
		}
		*pp = q->q_next;
		b->b_count--;
		b->b_bytes -= q->q_bytes;
		q->q_next = *list;
		*list = q;
	}
	left = b->b_head != NULL;
	kmutex_exit(&b->b_lock);
	return left;
}

/* Free expired queues; ICMP time exceeded for those whose first fragment came. */
static void
ipq_list_free(struct ip_reass *r, struct ipq *list, bool notify)
{
	struct inet *in = r->r_inet;
	struct ipq *q;
	struct ifnet *ifp;

	while ((q = list) != NULL) {
		list = q->q_next;
		if (!q->q_dead) {
			inet_count(in, INS_IP_FRAGTIMEOUT, 1);
			inet_count(in, INS_IP_FRAGDROPPED, (uint64_t)q->q_nfrag);
		}
		if (notify && !q->q_dead && q->q_nfrag > 0 && q->q_frags[0].f_off == 0) {
			psz_read_enter();
			ifp = vnet_if_byindex(in->in_vnet, q->q_rcvif);
			(void)icmp_error(in->in_vnet, q->q_frags[0].f_m, ICMP_TIMXCEED,
			    ICMP_TIMXCEED_REASS, 0, ifp);
			psz_read_exit();
		}
		ipq_frags_free(q);
		free(q);
	}
}

static bool
ip_reass_expire(struct ip_reass *r, uint64_t now, bool notify)
{
	struct ipq *list = NULL;
	bool left = false;
	int i;

	for (i = 0; i < IPQ_NBUCKET; i++)
		left |= ipq_bucket_expire(&r->r_b[i], now, &list);
	ipq_list_free(r, list, notify);
	return left;
}

static void
ip_reass_timer(void *arg)
{
	struct ip_reass *r = arg;

	if (ip_reass_expire(r, ktime_now(r->r_inet->in_kern), true) &&
	    !atomic_load_explicit(&r->r_dying, memory_order_relaxed))
		ip_reass_timer_arm(r);
}

void
ip_reass_expire_now(struct ip_reass *r)
{
	(void)ip_reass_expire(r, ktime_now(r->r_inet->in_kern), true);
}

size_t
ip_reass_pending(struct ip_reass *r, size_t *bytes)
{
	size_t n = 0, by = 0;
	int i;

	for (i = 0; i < IPQ_NBUCKET; i++) {
		kmutex_enter(&r->r_b[i].b_lock);
		n += (size_t)r->r_b[i].b_count;
		by += r->r_b[i].b_bytes;
		kmutex_exit(&r->r_b[i].b_lock);
	}
	if (bytes != NULL)
		*bytes = by;
	return n;
}

/* ------------------------------------------------------------------ life */

struct ip_reass *
ip_reass_create(struct inet *in)
{
	struct ip_reass *r = aligned_alloc(CACHE_LINE, sizeof(*r));
	int i;

	if (r == NULL)
		return NULL;
	memset(r, 0, sizeof(*r));
	r->r_inet = in;
	for (i = 0; i < IPQ_NBUCKET; i++)
		(void)kmutex_init(&r->r_b[i].b_lock, in->in_kern, &ipq_bucket_class);
	kcont_init(&r->r_timer, in->in_kern, ip_reass_timer, r, NULL, 0);
	return r;
}

void
ip_reass_destroy(struct ip_reass *r)
{
	int i;

	/* relaxed: the timer only stops re-arming; kcont_halt orders the rest */
	atomic_store_explicit(&r->r_dying, true, memory_order_relaxed);
	(void)kcont_halt(&r->r_timer);
	(void)kcont_halt(&r->r_timer);	/* a run in progress may have re-armed once */
	(void)ip_reass_expire(r, UINT64_MAX, false);
	for (i = 0; i < IPQ_NBUCKET; i++)
		kmutex_fini(&r->r_b[i].b_lock);
	free(r);
}
