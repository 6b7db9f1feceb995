/*
 * icmp.c - ICMPv4 (design in icmp.h).
 *
 * Input: the message is checked once (8 bytes present, checksum over the whole
 * message), offered to the handler registered for its type, then handled by the
 * stack's own action for that type, found in a 256-entry table (icmp_actions): echo
 * requests are answered in place (the request's mbuf becomes the reply: IP header
 * stripped, type rewritten with an incremental checksum update, sent back through
 * ip_output), error types are parsed a second time for their quote and given to the
 * ctlinput handler of the quoted protocol.
 *
 * Errors out: the offending datagram is copied (up to 548 bytes: the reply fits 576)
 * into a fresh cluster behind the 8-byte header.  The per-CPU token bucket lives in
 * struct inet_pcpu: a CPU thread updates its own slot with plain accesses; application
 * threads share the foreign slot under in_fslock (they are off the fast path).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kern/kassert.h"
#include "kern/ktime.h"
#include "lib/cksum.h"
#include "mbuf/mbuf.h"
#include "netinet/icmp.h"
#include "netinet/in_var.h"
#include "netinet/ip_wire.h"

#define ICMP_QUOTE_MAX	548	/* 576 - 20 (IP) - 8 (ICMP) */
#define ICMP_PULL	(IP4_MAX_HDR_LEN + ICMP_HDR_LEN + IP4_MAX_HDR_LEN + 8)
#define NS_PER_S	1000000000ll

/* ------------------------------------------------------------------ tables */

static int
icmp_table_set(struct inet *in, _Atomic(struct icmp_hrec *) *slot, void (*fn)(void),
    void *arg)
{
	struct icmp_hrec *rec = NULL, *old;

	if (fn != NULL) {
		if ((rec = calloc(1, sizeof(*rec))) == NULL)
			return -ENOMEM;
		rec->ih_fn = fn;
		rec->ih_arg = arg;
	}
	kmutex_enter(&in->in_lock);
	old = atomic_load_explicit(slot, memory_order_relaxed);
	psz_publish(slot, rec);		/* pairs with icmp input's psz_deref */
	kmutex_exit(&in->in_lock);
	if (old == NULL)
		return fn != NULL ? 0 : -ENOENT;
	psz_synchronize();		/* no input runs old any more */
	free(old);
	return 0;
}

int
icmp_type_register(struct vnet *v, uint8_t type, icmp_input_fn fn, void *arg)
{
	struct inet *in = inet_get(v);

	if (in == NULL)
		return -EAFNOSUPPORT;
	if (fn == NULL)
		return -EINVAL;
	return icmp_table_set(in, &in->in_icmp_type[type], (void (*)(void))fn, arg);
}

int
icmp_type_unregister(struct vnet *v, uint8_t type)
{
	struct inet *in = inet_get(v);

	return in == NULL ? -EAFNOSUPPORT :
	    icmp_table_set(in, &in->in_icmp_type[type], NULL, NULL);
}

int
icmp_ctl_register(struct vnet *v, uint8_t proto, icmp_ctlinput_fn fn, void *arg)
{
	struct inet *in = inet_get(v);

	if (in == NULL)
		return -EAFNOSUPPORT;
	if (fn == NULL)
		return -EINVAL;
	return icmp_table_set(in, &in->in_icmp_ctl[proto], (void (*)(void))fn, arg);
}

int
icmp_ctl_unregister(struct vnet *v, uint8_t proto)
{
	struct inet *in = inet_get(v);

	return in == NULL ? -EAFNOSUPPORT :
	    icmp_table_set(in, &in->in_icmp_ctl[proto], NULL, NULL);
}

void
icmp_tables_free(struct inet *in)
{
	int i;

	for (i = 0; i < 256; i++) {
		free(atomic_load_explicit(&in->in_icmp_type[i], memory_order_relaxed));
		free(atomic_load_explicit(&in->in_icmp_ctl[i], memory_order_relaxed));
	}
}

/* ------------------------------------------------------------------ rate limit */

static bool
icmp_bucket_take(struct inet_pcpu *p, uint64_t now, int64_t rate, int64_t burst)
{
	int64_t elapsed = (int64_t)(now - p->ipc_tlast);

	if (p->ipc_tlast == 0 || elapsed > 10 * NS_PER_S)
		elapsed = 10 * NS_PER_S;
	p->ipc_tlast = now;
	p->ipc_tokens += elapsed * rate;
	if (p->ipc_tokens > burst * NS_PER_S)
		p->ipc_tokens = burst * NS_PER_S;
	if (p->ipc_tokens < NS_PER_S)
		return false;
	p->ipc_tokens -= NS_PER_S;
	return true;
}

/* True if an error may be sent now (one token taken).  Never blocks for long. */
static bool
icmp_ratelimit_ok(struct inet *in)
{
	int64_t rate = in_setting(in->in_s_icmp_rate);
	int slot = kcpu_slot(in->in_kern, in->in_ncpu);
	struct inet_pcpu *p = pcpu_at(in->in_pcpu, sizeof(*p), slot);
	uint64_t now = ktime_now(in->in_kern);
	bool ok;

	if (rate == 0)
		return true;	/* 0: unlimited */
	if (slot != in->in_ncpu)
		return icmp_bucket_take(p, now, rate, in_setting(in->in_s_icmp_burst));
	pthread_mutex_lock(&in->in_fslock);
	ok = icmp_bucket_take(p, now, rate, in_setting(in->in_s_icmp_burst));
	pthread_mutex_unlock(&in->in_fslock);
	return ok;
}

/* ------------------------------------------------------------------ errors out */

/* May an error be sent about this datagram (header in buf)?  Counts the refusal. */
static bool
icmp_error_allowed(struct inet *in, const struct mbuf *m, const uint8_t *buf, int hlen,
    int type)
{
	uint32_t src = wire_get32(buf + 12), dst = wire_get32(buf + 16);
	struct icmp_view qv;

	if ((m->m_flags & (M_BCAST | M_MCAST)) || in_is_multicast(dst) ||
	    dst == INADDR_BROADCAST_H || src == 0 || in_is_multicast(src) ||
	    src == INADDR_BROADCAST_H || (wire_get16(buf + 6) & IP4_OFFMASK) != 0) {
		inet_count(in, INS_ICMP_NOTSENT, 1);
		return false;
	}
	if (buf[9] == IPPROTO4_ICMP && type != ICMP_REDIRECT &&
	    (icmp_parse(&qv, buf + hlen, ICMP_HDR_LEN) != WIRE_OK ||
	    icmp_type_is_error(icmp_type(&qv)))) {
		inet_count(in, INS_ICMP_OLDICMP, 1);
		return false;
	}
	return true;
}

/* Build the error message in a fresh packet.  NULL if no mbuf. */
static struct mbuf *
icmp_error_build(struct inet *in, const uint8_t *orig, size_t origlen, int type, int code,
    uint32_t rest)
{
	struct icmp_fields f = { .icf_type = (uint8_t)type, .icf_code = (uint8_t)code,
	    .icf_rest = rest };
	struct mbuf *m = m_getcl(in->in_vnet->v_pools, MT_DATA, M_PKTHDR, 0);
	uint16_t c;
	int len;

	if (m == NULL)
		return NULL;
	m->m_data += 64;	/* room for the IP and link headers */
	len = icmp_emit_error(mtod(m, uint8_t *), MCLBYTES - 64, &f, orig, origlen,
	    ICMP_QUOTE_MAX);
	if (len < 0) {
		m_freem(m);
		return NULL;
	}
	c = in_cksum(mtod(m, uint8_t *), (size_t)len);
	memcpy(mtod(m, uint8_t *) + 2, &c, 2);
	m->m_len = m->m_pkthdr.len = len;
	return m;
}

static uint32_t
icmp_error_source(struct ifnet *rcvif, uint32_t to)
{
	struct in_ifaddr *ia;
	uint32_t src = 0;

	if (rcvif == NULL)
		return 0;
	psz_read_enter();
	if ((ia = in_ifaddr_for(rcvif, to)) != NULL)
		src = ia->ia_addr;
	psz_read_exit();
	return src;
}

int
icmp_error(struct vnet *v, const struct mbuf *m, int type, int code, uint32_t rest,
    struct ifnet *rcvif)
{
	struct inet *in = inet_get(v);
	uint8_t buf[ICMP_QUOTE_MAX];
	struct ip_oargs a = { .ipo_proto = IPPROTO4_ICMP };
	size_t n;
	int hlen;
	struct mbuf *e;

	if (in == NULL)
		return -EAFNOSUPPORT;
	n = m->m_pkthdr.len < ICMP_QUOTE_MAX ? (size_t)m->m_pkthdr.len : ICMP_QUOTE_MAX;
	memset(buf, 0, sizeof(buf));
	if (n < IP4_HDR_LEN || m_copydata(m, 0, (int)n, buf) != 0)
		return -EINVAL;
	hlen = (buf[0] & 0x0f) * 4;
	if (hlen < IP4_HDR_LEN || (size_t)hlen + ICMP_QUOTE_MIN_L4 > sizeof(buf))
		return -EINVAL;
	if (n < (size_t)hlen + ICMP_QUOTE_MIN_L4)
		n = (size_t)hlen + ICMP_QUOTE_MIN_L4;	/* zero padded */
	if (!icmp_error_allowed(in, m, buf, hlen, type))
		return -EPERM;
	if (!icmp_ratelimit_ok(in)) {
		inet_count(in, INS_ICMP_RATELIM, 1);
		return -EAGAIN;
	}
	if ((e = icmp_error_build(in, buf, n, type, code, rest)) == NULL)
		return -ENOBUFS;
	a.ipo_dst = wire_get32(buf + 12);
	a.ipo_src = icmp_error_source(rcvif, a.ipo_dst);
	inet_count(in, INS_ICMP_ERROUT, 1);
	return ip_output(v, e, &a);
}

/* ------------------------------------------------------------------ input */

typedef void (*icmp_action_t)(struct inet *in, struct ifnet *ifp, struct mbuf *m, int off);

/* The source address of our reply to a datagram sent to dst on ifp. */
static uint32_t
icmp_reply_source(struct inet *in, struct ifnet *ifp, uint32_t dst, uint32_t to)
{
	struct in_ifaddr *ia;

	if (in_addr_lookup(in, dst) != NULL)
		return dst;
	ia = in_ifaddr_for(ifp, to);
	return ia != NULL ? ia->ia_addr : 0;
}

static void
icmp_echo(struct inet *in, struct ifnet *ifp, struct mbuf *m, int off)
{
	const uint8_t *h = mtod(m, const uint8_t *);
	struct ip_oargs a = { .ipo_proto = IPPROTO4_ICMP, .ipo_tos = h[1] };
	uint16_t old, new_, hc;
	uint8_t *p;

	if (((m->m_flags & (M_BCAST | M_MCAST)) || in_is_multicast(wire_get32(h + 16))) &&
	    in_setting(in->in_s_bcastecho) == 0) {
		inet_count(in, INS_ICMP_BCASTECHO, 1);
		m_freem(m);
		return;
	}
	inet_count(in, INS_ICMP_ECHO, 1);
	a.ipo_dst = wire_get32(h + 12);
	a.ipo_src = icmp_reply_source(in, ifp, wire_get32(h + 16), a.ipo_dst);
	m_adj(m, off);
	m->m_flags &= (uint16_t)~(M_BCAST | M_MCAST);
	if ((m = in_m_writable(m, ICMP_HDR_LEN)) == NULL)
		return;
	p = mtod(m, uint8_t *);
	memcpy(&old, p, 2);
	p[0] = ICMP_ECHOREPLY;
	memcpy(&new_, p, 2);
	memcpy(&hc, p + 2, 2);
	hc = cksum_update16(hc, old, new_);
	memcpy(p + 2, &hc, 2);
	inet_count(in, INS_ICMP_REPLY, 1);
	(void)ip_output(in->in_vnet, m, &a);
}

static void
icmp_ctlinput(struct inet *in, struct ifnet *ifp, struct mbuf *m, int off)
{
	struct icmp_view iv;
	struct icmp_quote q;
	struct icmp_hrec *rec;
	size_t len = (size_t)(m->m_len - off);

	inet_count(in, INS_ICMP_ERRIN, 1);
	if (icmp_parse(&iv, mtod(m, uint8_t *) + off, len) != WIRE_OK ||
	    icmp_quote_parse(&iv, &q) != WIRE_OK) {
		inet_count(in, INS_ICMP_BADLEN, 1);
		m_freem(m);
		return;
	}
	rec = psz_deref(&in->in_icmp_ctl[ip4_proto(&q.iq_ip)]);
	if (rec != NULL)
		((icmp_ctlinput_fn)rec->ih_fn)(in->in_vnet, icmp_type(&iv), icmp_code(&iv),
		    icmp_rest(&iv), &q, wire_get32(mtod(m, uint8_t *) + 12), rec->ih_arg);
	m_freem(m);
}

static void
icmp_consume(struct inet *in, struct ifnet *ifp, struct mbuf *m, int off)
{
	m_freem(m);
}

static icmp_action_t
icmp_action(uint8_t type)
{
	static const icmp_action_t actions[ICMP_NTYPES] = {
		[ICMP_ECHO] = icmp_echo,
		[ICMP_UNREACH] = icmp_ctlinput,
		[ICMP_SOURCEQUENCH] = icmp_ctlinput,
		[ICMP_TIMXCEED] = icmp_ctlinput,
		[ICMP_PARAMPROB] = icmp_ctlinput,
	};

	return actions[type] != NULL ? actions[type] : icmp_consume;
}

/* Check length and checksum; pull the header (and an error's quote) up.  NULL: dropped. */
static struct mbuf *
icmp_check(struct inet *in, struct mbuf *m, int off)
{
	int len = m->m_pkthdr.len - off;
	int pull = m->m_pkthdr.len < ICMP_PULL ? m->m_pkthdr.len : ICMP_PULL;

	if (len < ICMP_HDR_LEN) {
		inet_count(in, INS_ICMP_BADLEN, 1);
		m_freem(m);
		return NULL;
	}
	if (in_cksum_mbuf(m, off, len) != 0) {
		inet_count(in, INS_ICMP_BADSUM, 1);
		m_freem(m);
		return NULL;
	}
	if ((m = m_pullup(m, pull)) == NULL)
		inet_count(in, INS_IP_NOMEM, 1);
	return m;
}

void
icmp_input(struct ifnet *ifp, struct mbuf *m, int off, void *arg)
{
	struct inet *in = arg;
	struct icmp_hrec *rec;
	uint8_t type;

	inet_count(in, INS_ICMP_IN, 1);
	if ((m = icmp_check(in, m, off)) == NULL)
		return;
	type = mtod(m, uint8_t *)[off];
	rec = psz_deref(&in->in_icmp_type[type]);
	if (rec != NULL)
		((icmp_input_fn)rec->ih_fn)(ifp, m, off, rec->ih_arg);
	icmp_action(type)(in, ifp, m, off);
}

/* ------------------------------------------------------------------ echo out */

static void
icmp_fill_pattern(struct mbuf *m, int from)
{
	int i = 0, j;

	for (; m != NULL; m = m->m_next)
		for (j = 0; j < m->m_len; j++, i++)
			if (i >= from)
				((uint8_t *)m->m_data)[j] = (uint8_t)(i - from);
}

int
icmp_echo_request(struct vnet *v, uint32_t dst, uint16_t id, uint16_t seq,
    size_t datalen, const struct ip_oargs *opt)
{
	struct ip_oargs a = { 0 };
	struct icmp_fields f = { .icf_type = ICMP_ECHO, .icf_rest = icmp_rest_echo(id, seq) };
	uint8_t hdr[ICMP_HDR_LEN];
	struct mbuf *m;
	int c;

	if (datalen > IP4_MAXPACKET - IP4_HDR_LEN - ICMP_HDR_LEN)
		return -EMSGSIZE;
	m = m_getm(v->v_pools, (int)datalen + ICMP_HDR_LEN, MT_DATA, M_PKTHDR);
	if (m == NULL)
		return -ENOBUFS;
	icmp_fill_pattern(m, ICMP_HDR_LEN);
	(void)icmp_emit(hdr, sizeof(hdr), &f);
	(void)m_copyback(m, 0, ICMP_HDR_LEN, hdr);
	c = in_cksum_mbuf(m, 0, m->m_pkthdr.len);
	(void)m_copyback(m, 2, 2, &(uint16_t){ (uint16_t)c });
	if (opt != NULL)
		a = *opt;
	a.ipo_dst = dst;
	a.ipo_proto = IPPROTO4_ICMP;
	return ip_output(v, m, &a);
}
