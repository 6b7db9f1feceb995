/*
 * mbuf.c - mbuf allocation, clusters and chain operations.
 *
 * Design: the BSD mbuf interface (McKusick et al., "The Design and Implementation of the
 * 4.4BSD Operating System", ch. 11; FreeBSD uipc_mbuf.c) over smpnet pools: one pool of
 * MSIZE mbufs and two of clusters (2 KiB and jumbo) per mbuf_pools, each with per-CPU
 * magazines, so an mbuf allocated on one CPU and freed on another costs no shared lock
 * in the common case.  A cluster starts with a struct mcluster holding its reference
 * count; the orders are described in mbuf.h and docs/locking.md.
 *
 * Invariants checked by m_sanity(): m_data..m_data+m_len lies inside the mbuf's buffer
 * (m_dat or the cluster), m_len >= 0, and the first mbuf's pkthdr.len equals the sum of
 * m_len.  Editing calls keep them; calls that can fail allocate before they modify
 * anything, so a failure leaves the chain as it was (except where mbuf.h says it frees).
 */
#include "mbuf/mbuf.h"
#include "kern/pool.h"
#include "lib/cksum.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct mbuf_pools {
	struct pool	*mp_mbuf;	/* [I] */
	struct pool	*mp_cl;		/* [I] MCLBYTES clusters */
	struct pool	*mp_jcl;	/* [I] jumbo clusters */
	uint32_t	 mp_jsize;	/* [I] */
};

static inline int
imin(int a, int b)
{
	return a < b ? a : b;
}

/* ---- pools ---- */

struct mbuf_pools *
mbuf_pools_create(const struct mbuf_pools_config *cfg)
{
	struct mbuf_pools *mp;
	uint32_t js = cfg->jumbo_size != 0 ? cfg->jumbo_size : MJUMBYTES;

	if (js <= MCLBYTES || js > (1u << 20)) {
		errno = EINVAL;
		return NULL;
	}
	if ((mp = calloc(1, sizeof(*mp))) == NULL)
		return NULL;
	mp->mp_jsize = js;
	/* Large magazines: a CPU's packets in flight stay in its own cache (pool.c). */
	mp->mp_mbuf = pool_create_flags("mbuf", MSIZE, CACHE_LINE, cfg->max_mbufs,
	    cfg->ncpu, cfg->owner, cfg->pool_flags | POOL_LARGEMAG);
	mp->mp_cl = pool_create_flags("mcl", sizeof(struct mcluster) + MCLBYTES, CACHE_LINE,
	    cfg->max_clusters, cfg->ncpu, cfg->owner, cfg->pool_flags | POOL_LARGEMAG);
	mp->mp_jcl = pool_create_flags("mjcl", sizeof(struct mcluster) + js, CACHE_LINE,
	    cfg->max_jumbo, cfg->ncpu, cfg->owner, cfg->pool_flags);
	if (mp->mp_mbuf == NULL || mp->mp_cl == NULL || mp->mp_jcl == NULL) {
		int e = errno;

		(void)mbuf_pools_destroy(mp);
		errno = e;
		return NULL;
	}
	return mp;
}

int
mbuf_pools_destroy(struct mbuf_pools *mp)
{
	struct pool_stats st[3];

	if (mp == NULL)
		return 0;
	if (mp->mp_mbuf != NULL && mp->mp_cl != NULL && mp->mp_jcl != NULL) {
		mbuf_pools_stats(mp, st);
		if (st[0].inuse != 0 || st[1].inuse != 0 || st[2].inuse != 0)
			return -EBUSY;
	}
	if (pool_destroy(mp->mp_mbuf) != 0 || pool_destroy(mp->mp_cl) != 0 ||
	    pool_destroy(mp->mp_jcl) != 0)
		abort();	/* inuse was 0 but an object is missing: corrupt pool */
	free(mp);
	return 0;
}

void
mbuf_pools_stats(const struct mbuf_pools *mp, struct pool_stats *st)
{
	pool_stats(mp->mp_mbuf, &st[0]);
	pool_stats(mp->mp_cl, &st[1]);
	pool_stats(mp->mp_jcl, &st[2]);
}

uint32_t
mbuf_pools_jumbo_size(const struct mbuf_pools *mp)
{
	return mp->mp_jsize;
}

/* ---- clusters ---- */

/* relaxed: the caller holds a reference, so the count cannot reach zero meanwhile */
static inline void
mcl_ref(struct mcluster *cl)
{
	atomic_fetch_add_explicit(&cl->mc_refcnt, 1, memory_order_relaxed);
}

/*
 * Drop a reference; the last holder returns the cluster to its pool.  A count of 1 seen
 * by an acquire load means we are the only holder (nobody can add a reference without
 * holding one), so the common unshared case skips the read-modify-write; the acquire
 * pairs with the acq_rel decrements of earlier holders.  Otherwise decrement acq_rel.
 */
static inline void
mcl_rele(struct mcluster *cl)
{
	if (atomic_load_explicit(&cl->mc_refcnt, memory_order_acquire) == 1 ||
	    atomic_fetch_sub_explicit(&cl->mc_refcnt, 1, memory_order_acq_rel) == 1)
		pool_put(cl->mc_pool, cl);
}

static struct mcluster *
mcl_get(struct mbuf_pools *mp, int size)
{
	struct pool *p;
	struct mcluster *cl;

	if (size < 0 || (uint32_t)size > mp->mp_jsize) {
		errno = EINVAL;
		return NULL;
	}
	p = size <= MCLBYTES ? mp->mp_cl : mp->mp_jcl;
	if ((cl = pool_get(p)) == NULL) {
		errno = ENOBUFS;
		return NULL;
	}
	/* relaxed: the cluster is private until the mbuf holding it is handed over */
	atomic_store_explicit(&cl->mc_refcnt, 1, memory_order_relaxed);
	cl->mc_size = p == mp->mp_cl ? MCLBYTES : mp->mp_jsize;
	cl->mc_pool = p;
	return cl;
}

static void
m_ext_attach(struct mbuf *m, struct mcluster *cl, char *data)
{
	m->m_ext.ext_cl = cl;
	m->m_ext.ext_buf = cl->mc_data;
	m->m_ext.ext_size = cl->mc_size;
	m->m_flags |= M_EXT;
	m->m_data = data;
}

/* Make n share m's cluster, data at off bytes past m_data. */
static void
m_ext_share(struct mbuf *n, const struct mbuf *m, int off)
{
	mcl_ref(m->m_ext.ext_cl);
	m_ext_attach(n, m->m_ext.ext_cl, m->m_data + off);
	n->m_flags |= m->m_flags & M_RDONLY;
}

/* ---- allocation ---- */

static struct mbuf *
m_alloc(struct mbuf_pools *mp, int type, int flags)
{
	struct mbuf *m = pool_get(mp->mp_mbuf);

	if (m == NULL) {
		errno = ENOBUFS;
		return NULL;
	}
	m->m_next = m->m_nextpkt = NULL;
	m->m_data = m->m_dat;
	m->m_pools = mp;
	m->m_len = 0;
	m->m_flags = (uint16_t)(flags & M_PKTHDR);
	m->m_type = (uint8_t)type;
	if (flags & M_PKTHDR)
		memset(&m->m_pkthdr, 0, sizeof(m->m_pkthdr));
	return m;
}

struct mbuf *
m_get(struct mbuf_pools *mp, int type)
{
	return m_alloc(mp, type, 0);
}

struct mbuf *
m_gethdr(struct mbuf_pools *mp, int type)
{
	return m_alloc(mp, type, M_PKTHDR);
}

int
m_clget(struct mbuf *m, int size)
{
	struct mcluster *cl;

	if (m->m_flags & M_EXT)
		return -EINVAL;
	if ((cl = mcl_get(m->m_pools, size != 0 ? size : MCLBYTES)) == NULL)
		return -errno;
	m_ext_attach(m, cl, cl->mc_data);
	return 0;
}

struct mbuf *
m_getcl(struct mbuf_pools *mp, int type, int flags, int size)
{
	struct mbuf *m = m_alloc(mp, type, flags);
	int error;

	if (m != NULL && (error = m_clget(m, size)) != 0) {
		pool_put(mp->mp_mbuf, m);
		errno = -error;
		return NULL;
	}
	return m;
}

/* One mbuf for up to len bytes: internal, 2 KiB or jumbo; m_len = its share of len. */
static struct mbuf *
m_get_sized(struct mbuf_pools *mp, int len, int type, int flags)
{
	struct mbuf *m;
	int cap;

	if (len <= MLEN)
		m = m_alloc(mp, type, flags);
	else
		m = m_getcl(mp, type, flags, len > MCLBYTES ? (int)mp->mp_jsize : MCLBYTES);
	if (m == NULL)
		return NULL;
	cap = (m->m_flags & M_EXT) ? (int)m->m_ext.ext_size : MLEN;
	m->m_len = imin(len, cap);
	return m;
}

struct mbuf *
m_getm(struct mbuf_pools *mp, int len, int type, int flags)
{
	struct mbuf *top = NULL, **tail = &top, *m;
	int left = len;

	if (len < 0) {
		errno = EINVAL;
		return NULL;
	}
	do {
		m = m_get_sized(mp, left, type, top == NULL ? flags : 0);
		if (m == NULL) {
			m_freem(top);
			return NULL;
		}
		left -= m->m_len;
		*tail = m;
		tail = &m->m_next;
	} while (left > 0);
	if (top->m_flags & M_PKTHDR)
		top->m_pkthdr.len = len;
	return top;
}

struct mbuf *
m_free(struct mbuf *m)
{
	struct mbuf *next = m->m_next;

	if (m->m_flags & M_EXT)
		mcl_rele(m->m_ext.ext_cl);
	m->m_type = MT_FREE;
	pool_put(m->m_pools->mp_mbuf, m);
	return next;
}

void
m_freem(struct mbuf *m)
{
	while (m != NULL)
		m = m_free(m);
}

/* ---- inspection ---- */

int
m_length(const struct mbuf *m, struct mbuf **last)
{
	int len = 0;

	for (; m != NULL; m = m->m_next) {
		len += m->m_len;
		if (last != NULL && m->m_next == NULL)
			*last = (struct mbuf *)(uintptr_t)m;
	}
	return len;
}

static bool
m_inside(const struct mbuf *m)
{
	const char *lo = (m->m_flags & M_EXT) ? m->m_ext.ext_buf : m->m_dat;
	const char *hi = lo + ((m->m_flags & M_EXT) ? (int)m->m_ext.ext_size : MLEN);

	return m->m_len >= 0 && m->m_data >= lo && m->m_data + m->m_len <= hi;
}

int
m_sanity(const struct mbuf *m)
{
	const struct mbuf *n;

	for (n = m; n != NULL; n = n->m_next)
		if (!m_inside(n) || (n != m && (n->m_flags & M_PKTHDR)))
			return -EINVAL;
	if ((m->m_flags & M_PKTHDR) && m->m_pkthdr.len != m_length(m, NULL))
		return -EINVAL;
	return 0;
}

void
m_align(struct mbuf *m, int len)
{
	int cap = (m->m_flags & M_EXT) ? (int)m->m_ext.ext_size : MLEN;
	char *buf = (m->m_flags & M_EXT) ? m->m_ext.ext_buf : m->m_dat;

	assert(len >= 0 && len <= cap && m->m_len == 0);
	m->m_data = buf + ((cap - len) & ~(int)(sizeof(long) - 1));
}

/* ---- packet headers ---- */

static void
m_move_pkthdr(struct mbuf *to, struct mbuf *from)
{
	to->m_pkthdr = from->m_pkthdr;
	to->m_flags = (uint16_t)((to->m_flags & (M_EXT | M_RDONLY)) |
	    (from->m_flags & M_COPYFLAGS));
	from->m_flags &= (uint16_t)~M_COPYFLAGS;
}

static void
m_dup_pkthdr(struct mbuf *to, const struct mbuf *from, int len)
{
	to->m_pkthdr = from->m_pkthdr;
	to->m_pkthdr.len = len;
	to->m_flags |= from->m_flags & M_COPYFLAGS;
}

/* ---- prepend, adjust, pullup ---- */

struct mbuf *
m_prepend(struct mbuf *m, int len)
{
	struct mbuf *mn;

	if (len >= 0 && m_leadingspace(m) >= len) {
		m->m_data -= len;
		m->m_len += len;
	} else {
		if (len < 0 || len > MLEN) {
			m_freem(m);
			errno = EINVAL;
			return NULL;
		}
		if ((mn = m_get(m->m_pools, m->m_type)) == NULL) {
			m_freem(m);
			return NULL;
		}
		if (m->m_flags & M_PKTHDR)
			m_move_pkthdr(mn, m);
		m_align(mn, len);
		mn->m_len = len;
		mn->m_next = m;
		m = mn;
	}
	if (m->m_flags & M_PKTHDR)
		m->m_pkthdr.len += len;
	return m;
}

static void
m_adj_head(struct mbuf *mp, int len)
{
	struct mbuf *m;
	int trimmed = 0;

	for (m = mp; m != NULL && len > 0; m = m->m_next) {
		int cnt = imin(len, m->m_len);

		m->m_data += cnt;
		m->m_len -= cnt;
		len -= cnt;
		trimmed += cnt;
	}
	if (mp->m_flags & M_PKTHDR)
		mp->m_pkthdr.len -= trimmed;
}

static void
m_adj_tail(struct mbuf *mp, int len)
{
	int total = m_length(mp, NULL), keep = total > len ? total - len : 0;
	struct mbuf *m;

	for (m = mp; m->m_len < keep; m = m->m_next)
		keep -= m->m_len;
	/* m holds the new last byte (or is the first mbuf when keep is 0) */
	m->m_len = keep;
	m_freem(m->m_next);
	m->m_next = NULL;
	if (mp->m_flags & M_PKTHDR)
		mp->m_pkthdr.len = m_length(mp, NULL);
}

void
m_adj(struct mbuf *m, int len)
{
	if (m == NULL || len == 0)
		return;
	if (len > 0)
		m_adj_head(m, len);
	else
		m_adj_tail(m, len == INT_MIN ? INT_MAX : -len);
}

/* Move count bytes from the chain after n into n's tail, freeing emptied mbufs. */
static void
m_pull_into(struct mbuf *n, int count)
{
	struct mbuf *m = n->m_next;

	while (count > 0 && m != NULL) {
		int cnt = imin(count, m->m_len);

		memcpy(n->m_data + n->m_len, m->m_data, (size_t)cnt);
		n->m_len += cnt;
		m->m_data += cnt;
		m->m_len -= cnt;
		count -= cnt;
		if (m->m_len == 0)
			m = m_free(m);
	}
	n->m_next = m;
	assert(count == 0);
}

struct mbuf *
m_pullup(struct mbuf *m, int len)
{
	struct mbuf *n;

	if (m->m_len >= len)
		return m;
	if (len > MCLBYTES || len > m_length(m, NULL)) {
		m_freem(m);
		errno = EINVAL;
		return NULL;
	}
	if (m->m_len + m_trailingspace(m) >= len) {
		n = m;		/* room in place */
	} else {
		n = m_get_sized(m->m_pools, len, m->m_type, 0);
		if (n == NULL) {
			m_freem(m);
			return NULL;
		}
		n->m_len = 0;
		if (m->m_flags & M_PKTHDR)
			m_move_pkthdr(n, m);
		n->m_next = m;
	}
	m_pull_into(n, len - n->m_len);
	return n;
}

/* ---- copies ---- */

/* One mbuf holding cnt bytes of m from off: a cluster reference or a copy. */
static struct mbuf *
m_copy_one(const struct mbuf *m, int off, int cnt, int flags)
{
	struct mbuf *n = m_alloc(m->m_pools, m->m_type, flags);

	if (n == NULL)
		return NULL;
	if (m->m_flags & M_EXT)
		m_ext_share(n, m, off);
	else
		memcpy(n->m_dat, m->m_data + off, (size_t)cnt);
	n->m_len = cnt;
	return n;
}

/* Skip to the mbuf holding byte off; *offp becomes the offset inside it. */
static const struct mbuf *
m_seek(const struct mbuf *m, int *offp)
{
	while (m != NULL && *offp >= m->m_len) {
		if (*offp == m->m_len && m->m_next == NULL)
			break;
		*offp -= m->m_len;
		m = m->m_next;
	}
	return m;
}

/* Copy len (> 0) bytes from off; the first new mbuf gets flags (M_PKTHDR). */
static struct mbuf *
m_copy_range(const struct mbuf *m, int off, int len, int flags)
{
	struct mbuf *top = NULL, **tail = &top, *n;

	m = m_seek(m, &off);
	while (len > 0) {
		int cnt = imin(len, m->m_len - off);

		if (cnt > 0) {
			n = m_copy_one(m, off, cnt, top == NULL ? flags : 0);
			if (n == NULL) {
				m_freem(top);
				return NULL;
			}
			*tail = n;
			tail = &n->m_next;
			len -= cnt;
		}
		off = 0;
		m = m->m_next;
	}
	return top;
}

struct mbuf *
m_copym(struct mbuf *m, int off, int len)
{
	int total = m_length(m, NULL);
	int hdr = (off == 0 && (m->m_flags & M_PKTHDR)) ? M_PKTHDR : 0;
	struct mbuf *top;

	if (off < 0 || len < 0 || off > total) {
		errno = EINVAL;
		return NULL;
	}
	if (len == M_COPYALL)
		len = total - off;
	if (len > total - off) {
		errno = EINVAL;
		return NULL;
	}
	if (len > 0)
		top = m_copy_range(m, off, len, hdr);
	else
		top = m_alloc(m->m_pools, m->m_type, hdr);
	if (top != NULL && hdr)
		m_dup_pkthdr(top, m, len);
	return top;
}

/* Write len bytes of src at the chain cursor (*mp, *offp), which has room. */
static void
m_cursor_write(struct mbuf **mp, int *offp, const char *src, int len)
{
	while (len > 0) {
		struct mbuf *m = *mp;
		int cnt = imin(len, m->m_len - *offp);

		memcpy(m->m_data + *offp, src, (size_t)cnt);
		src += cnt;
		len -= cnt;
		*offp += cnt;
		if (*offp == m->m_len && m->m_next != NULL) {
			*mp = m->m_next;
			*offp = 0;
		}
	}
}

struct mbuf *
m_dup(struct mbuf *m)
{
	int len = m_length(m, NULL), off = 0;
	struct mbuf *n, *cur;
	const struct mbuf *s;

	n = m_getm(m->m_pools, len, m->m_type, m->m_flags & M_PKTHDR);
	if (n == NULL)
		return NULL;
	if (m->m_flags & M_PKTHDR)
		m_dup_pkthdr(n, m, len);
	for (cur = n, s = m; s != NULL; s = s->m_next)
		m_cursor_write(&cur, &off, s->m_data, s->m_len);
	return n;
}

/* ---- concatenate, split ---- */

void
m_cat(struct mbuf *m, struct mbuf *n)
{
	struct mbuf *last = NULL;

	(void)m_length(m, &last);
	if (n != NULL)
		n->m_flags &= (uint16_t)~M_COPYFLAGS;
	while (n != NULL) {
		if ((n->m_flags & M_EXT) || m_trailingspace(last) < n->m_len) {
			last->m_next = n;
			return;
		}
		memcpy(last->m_data + last->m_len, n->m_data, (size_t)n->m_len);
		last->m_len += n->m_len;
		n = m_free(n);
	}
}

void
m_catpkt(struct mbuf *m, struct mbuf *n)
{
	int len = m_length(n, NULL);

	assert((m->m_flags & M_PKTHDR) != 0);
	m->m_pkthdr.len += len;
	m_cat(m, n);
}

struct mbuf *
m_split(struct mbuf *m0, int len0)
{
	struct mbuf *m, *n;
	int len = len0, remain, hdr = m0->m_flags & M_PKTHDR;

	for (m = m0; m != NULL && len > m->m_len; m = m->m_next)
		len -= m->m_len;
	if (len0 < 0 || m == NULL) {
		errno = EINVAL;
		return NULL;
	}
	if ((n = m_alloc(m0->m_pools, m->m_type, hdr)) == NULL)
		return NULL;
	remain = m->m_len - len;
	if (hdr) {
		m_dup_pkthdr(n, m0, m0->m_pkthdr.len - len0);
		m0->m_pkthdr.len = len0;
	}
	if (remain > 0) {
		if (m->m_flags & M_EXT)
			m_ext_share(n, m, len);
		else
			memcpy(n->m_dat, m->m_data + len, (size_t)remain);
		n->m_len = remain;
		m->m_len = len;
	}
	n->m_next = m->m_next;
	m->m_next = NULL;
	return n;
}

/* ---- copy in and out ---- */

int
m_copydata(const struct mbuf *m, int off, int len, void *cp)
{
	char *dst = cp;

	if (off < 0 || len < 0 || off > m_length(m, NULL) - len)
		return -EINVAL;
	m = m_seek(m, &off);
	while (len > 0) {
		int cnt = imin(len, m->m_len - off);

		memcpy(dst, m->m_data + off, (size_t)cnt);
		dst += cnt;
		len -= cnt;
		off = 0;
		m = m->m_next;
	}
	return 0;
}

/* True if every mbuf holding a byte of [off, off+len) is writable. */
static bool
m_range_writable(const struct mbuf *m, int off, int len)
{
	for (; m != NULL && len > 0; m = m->m_next) {
		int cnt = off < m->m_len ? imin(len, m->m_len - off) : 0;

		if (cnt > 0 && !m_writable(m))
			return false;
		len -= cnt;
		off = off > m->m_len ? off - m->m_len : 0;
	}
	return true;
}

/* Grow the chain ending at last by grow bytes (zeroed if zero): 0 or -ENOBUFS. */
static int
m_extend(struct mbuf *m0, struct mbuf *last, int grow, bool zero)
{
	int use = imin(grow, m_trailingspace(last));
	struct mbuf *n = NULL, *t;

	if (grow > use && (n = m_getm(m0->m_pools, grow - use, m0->m_type, 0)) == NULL)
		return -ENOBUFS;
	if (zero) {
		memset(last->m_data + last->m_len, 0, (size_t)use);
		for (t = n; t != NULL; t = t->m_next)
			memset(t->m_data, 0, (size_t)t->m_len);
	}
	last->m_len += use;
	last->m_next = n;
	if (m0->m_flags & M_PKTHDR)
		m0->m_pkthdr.len += grow;
	return 0;
}

/* Overwrite [off, off+len) of a chain long enough and writable there. */
static void
m_write(struct mbuf *m, int off, int len, const char *src)
{
	m = (struct mbuf *)(uintptr_t)m_seek(m, &off);
	while (len > 0) {
		int cnt = imin(len, m->m_len - off);

		memcpy(m->m_data + off, src, (size_t)cnt);
		src += cnt;
		len -= cnt;
		off = 0;
		m = m->m_next;
	}
}

int
m_copyback(struct mbuf *m0, int off, int len, const void *cp)
{
	struct mbuf *last = NULL;
	int total, error;

	if (off < 0 || len < 0 || off > INT_MAX - len)
		return -EINVAL;
	total = m_length(m0, &last);
	if (off < total && !m_range_writable(m0, off, imin(len, total - off)))
		return -EROFS;
	if (off + len > total &&
	    (error = m_extend(m0, last, off + len - total, off > total)) != 0)
		return error;
	m_write(m0, off, len, cp);
	return 0;
}

int
m_append(struct mbuf *m, int len, const void *cp)
{
	return m_copyback(m, m_length(m, NULL), len, cp);
}

struct mbuf *
m_devget(struct mbuf_pools *mp, const void *buf, int len, int lead, uint32_t rcvif)
{
	struct mbuf *m, *cur;
	int off = 0;

	if (len < 0 || lead < 0 || lead > MLEN || len > INT_MAX - lead) {
		errno = EINVAL;
		return NULL;
	}
	if ((m = m_getm(mp, lead + len, MT_DATA, M_PKTHDR)) == NULL)
		return NULL;
	m_adj(m, lead);		/* the first mbuf holds at least lead bytes */
	m->m_pkthdr.rcvif = rcvif;
	cur = m;
	m_cursor_write(&cur, &off, buf, len);
	return m;
}

/* ---- checksum ---- */

int
in_cksum_mbuf(const struct mbuf *m, int off, int len)
{
	uint32_t sum = 0;
	size_t pos = 0;

	if (off < 0 || len < 0 || off > m_length(m, NULL) - len)
		return -EINVAL;
	m = m_seek(m, &off);
	while (len > 0) {
		int cnt = imin(len, m->m_len - off);

		if (cnt > 0) {
			sum = cksum_add_at(sum, m->m_data + off, (size_t)cnt, pos);
			pos += (size_t)cnt;
			len -= cnt;
		}
		off = 0;
		m = m->m_next;
	}
	return (uint16_t)~cksum_fold(sum);
}
