/*
 * mbuf.h - BSD-style packet buffers.
 *
 * An mbuf is a 256-byte buffer: a header, a packet header (valid with M_PKTHDR), an
 * external-storage descriptor (valid with M_EXT) and an internal data area of MLEN bytes.
 * Unlike the BSDs, the three parts never overlap (no unions), so moving a packet header
 * never moves data and MHLEN == MLEN.  Data lives either in m_dat or in a cluster: a
 * 2 KiB (MCLBYTES) or a large (jumbo, 9 KiB by default) buffer from a pool, whose
 * reference count lets several mbufs (copies made by m_copym/m_split) share it.
 *
 * Words: a "chain" is mbufs linked by m_next holding one packet (the first carries the
 * packet header); "packets" are chains linked by m_nextpkt.  A "shared" cluster has a
 * reference count above 1; its bytes are read-only for everybody (M_WRITABLE is false)
 * until the count drops back to 1.
 *
 * Ownership: a chain belongs to one thread at a time (annotated [O]): fields are plain,
 * and handing a chain to another thread goes through a queue whose enqueue/dequeue is a
 * release/acquire pair.  Any thread may free an mbuf: it remembers its mbuf_pools.
 * Reference counts: increment relaxed (the incrementer already holds a reference),
 * decrement acq_rel (release: my reads and writes of the data happen before the free;
 * acquire: the freeing thread sees every other holder's accesses), free on zero (a
 * holder that loads the count as 1 with acquire is the last and frees without the
 * decrement);
 * M_WRITABLE loads the count with acquire (pairs with the decrements of the other
 * holders, so their reads happen before my writes).
 *
 * Errors: allocating calls return NULL with errno ENOBUFS (pool exhausted) or EINVAL
 * (bad argument).  Calls taking a chain leave it intact on failure unless documented
 * (m_prepend and m_pullup free it, as in BSD).  No call blocks or takes a lock other
 * than the pools' short mutexes; all may run in a continuation.
 */
#ifndef SMPNET_MBUF_H
#define SMPNET_MBUF_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kern/kern.h"
#include "kern/pool.h"

#define MSIZE		256		/* bytes per mbuf */
#define MCLBYTES	2048		/* small cluster */
#define MJUMBYTES	9216		/* default large (jumbo) cluster */
#define M_COPYALL	INT_MAX		/* m_copym: to the end of the chain */

/* m_type */
enum { MT_FREE = 0, MT_DATA = 1, MT_HEADER = 2, MT_CONTROL = 3, MT_SONAME = 4 };

/* m_flags */
#define M_EXT		0x0001	/* data in a cluster (m_ext valid) */
#define M_PKTHDR	0x0002	/* first of a packet (m_pkthdr valid) */
#define M_EOR		0x0004	/* end of record */
#define M_RDONLY	0x0008	/* the cluster's data may never be written */
#define M_BCAST		0x0010	/* link-level broadcast */
#define M_MCAST		0x0020	/* link-level multicast */
#define M_VLANTAG	0x0040	/* m_pkthdr.ether_vtag is valid */
#define M_PROTO1	0x0100	/* protocol-private */
#define M_PROTO2	0x0200
/* flags that follow the packet header when it moves */
#define M_COPYFLAGS	(M_PKTHDR | M_EOR | M_BCAST | M_MCAST | M_VLANTAG | M_PROTO1 | M_PROTO2)

/* m_pkthdr.csum_flags: receive results and transmit requests */
#define CSUM_IP_CHECKED	0x0001	/* rx: IPv4 header checksum verified ... */
#define CSUM_IP_VALID	0x0002	/* ... and it was right */
#define CSUM_DATA_VALID	0x0004	/* rx: csum_data holds the L4 sum (see CSUM_PSEUDO_HDR) */
#define CSUM_PSEUDO_HDR	0x0008	/* rx: csum_data includes the pseudo header */
#define CSUM_IP		0x0100	/* tx: compute the IPv4 header checksum */
#define CSUM_TCP	0x0200	/* tx: compute the TCP checksum (offset in csum_data) */
#define CSUM_UDP	0x0400	/* tx: compute the UDP checksum */
#define CSUM_TCP_IPV6	0x0800
#define CSUM_UDP_IPV6	0x1000

/* m_pkthdr.hashtype */
enum {
	M_HASHTYPE_NONE = 0,
	M_HASHTYPE_OPAQUE,	/* a hash, but not a known RSS function */
	M_HASHTYPE_RSS_IPV4,
	M_HASHTYPE_RSS_TCP_IPV4,
	M_HASHTYPE_RSS_UDP_IPV4,
	M_HASHTYPE_RSS_IPV6,
	M_HASHTYPE_RSS_TCP_IPV6,
	M_HASHTYPE_RSS_UDP_IPV6,
};

struct mbuf_pools;
struct pool;

/* The head of every cluster; the data follows, 64-byte aligned. */
struct mcluster {
	_Atomic uint32_t mc_refcnt;	/* [a] mbufs pointing here; orders above */
	uint32_t	 mc_size;	/* [I] bytes of mc_data */
	struct pool	*mc_pool;	/* [I] where it returns */
	char		 mc_pad[CACHE_LINE - 16];
	char		 mc_data[];	/* [O] writable only while mc_refcnt == 1 */
};
_Static_assert(sizeof(struct mcluster) == CACHE_LINE, "cluster data is line aligned");

struct pkthdr {
	int32_t		len;		/* [O] bytes in the whole chain */
	uint32_t	rcvif;		/* [O] receiving interface index, 0 = none */
	uint32_t	flowid;		/* [O] flow hash (Toeplitz for RSS types) */
	uint32_t	csum_flags;	/* [O] CSUM_* */
	uint16_t	csum_data;	/* [O] L4 sum (rx) or checksum field offset (tx) */
	uint16_t	ether_vtag;	/* [O] 802.1Q TCI, host order, with M_VLANTAG */
	uint8_t		hashtype;	/* [O] M_HASHTYPE_* */
	uint8_t		l2hlen;		/* [O] header lengths, for checksum offload */
	uint8_t		l3hlen;
	uint8_t		l4hlen;
};

struct m_ext {
	char		*ext_buf;	/* [O] start of the cluster's data */
	struct mcluster	*ext_cl;	/* [O] the cluster (shared: see mc_refcnt) */
	uint32_t	 ext_size;	/* [O] bytes at ext_buf */
	uint32_t	 ext_pad;
};

#define MHDRSZ	(5 * 8 + (int)sizeof(struct pkthdr) + (int)sizeof(struct m_ext))
#define MLEN	(MSIZE - MHDRSZ)	/* internal data bytes */
#define MHLEN	MLEN

struct mbuf {
	struct mbuf	*m_next;	/* [O] next buffer of this packet */
	struct mbuf	*m_nextpkt;	/* [O] next packet (queue link) */
	char		*m_data;	/* [O] first valid byte */
	struct mbuf_pools *m_pools;	/* [I] pools it came from */
	int32_t		 m_len;		/* [O] valid bytes at m_data */
	uint16_t	 m_flags;	/* [O] M_* */
	uint8_t		 m_type;	/* [O] MT_* */
	uint8_t		 m_pad[1];
	struct pkthdr	 m_pkthdr;	/* [O] valid with M_PKTHDR */
	struct m_ext	 m_ext;		/* [O] valid with M_EXT */
	char		 m_dat[MLEN];	/* [O] internal data */
};
_Static_assert(sizeof(struct mbuf) == MSIZE, "mbuf is MSIZE bytes");
_Static_assert(offsetof(struct mbuf, m_pkthdr) == 40, "header is 5 words");
_Static_assert(offsetof(struct mbuf, m_ext) == CACHE_LINE,
    "header and packet header share the first cache line");
_Static_assert(offsetof(struct mbuf, m_dat) == MHDRSZ, "MHDRSZ matches the layout");
_Static_assert(MLEN >= 160, "room for Ethernet + IPv6 + TCP headers");

#define mtod(m, t)	((t)(void *)((m)->m_data))

/* ---- pools ---- */

struct mbuf_pools_config {
	int		 ncpu;		/* per-CPU slots (with owner) */
	const struct kern *owner;	/* NULL: one shared slot */
	unsigned	 max_mbufs;	/* limits, 0 = none */
	unsigned	 max_clusters;
	unsigned	 max_jumbo;
	uint32_t	 jumbo_size;	/* 0: MJUMBYTES; must exceed MCLBYTES */
	unsigned	 pool_flags;	/* POOL_NOCACHE for benchmarks */
};

/* Create the pools for one kern.  NULL with errno EINVAL or ENOMEM.  May block. */
struct mbuf_pools *mbuf_pools_create(const struct mbuf_pools_config *cfg);

/* Destroy: -EBUSY (nothing freed) while any mbuf or cluster is out.  Quiescent only. */
int mbuf_pools_destroy(struct mbuf_pools *mp);

/* Statistics of the mbuf, 2 KiB and jumbo pools (st[0..2]). */
void mbuf_pools_stats(const struct mbuf_pools *mp, struct pool_stats *st);

/* The jumbo cluster size of mp. */
uint32_t mbuf_pools_jumbo_size(const struct mbuf_pools *mp);

/* ---- allocation ---- */

struct mbuf *m_get(struct mbuf_pools *mp, int type);
struct mbuf *m_gethdr(struct mbuf_pools *mp, int type);
/* An mbuf (M_PKTHDR if flags has it) with a cluster of at least size bytes (0: 2 KiB). */
struct mbuf *m_getcl(struct mbuf_pools *mp, int type, int flags, int size);
/* Attach a cluster of at least size bytes to an mbuf without one: 0, -ENOBUFS, -EINVAL. */
int m_clget(struct mbuf *m, int size);
/* A chain with room for len bytes (m_len set, contents undefined); clusters as needed. */
struct mbuf *m_getm(struct mbuf_pools *mp, int len, int type, int flags);

/* Free one mbuf (dropping its cluster reference); returns its m_next. */
struct mbuf *m_free(struct mbuf *m);
/* Free a chain (not m_nextpkt).  NULL is allowed. */
void m_freem(struct mbuf *m);

/* ---- inspection ---- */

static inline bool
m_writable(const struct mbuf *m)
{
	if (m->m_flags & M_RDONLY)
		return false;
	/* acquire: pairs with other holders' acq_rel decrement in m_free() */
	return !(m->m_flags & M_EXT) ||
	    atomic_load_explicit(&m->m_ext.ext_cl->mc_refcnt, memory_order_acquire) == 1;
}
#define M_WRITABLE(m)	m_writable(m)

/* Bytes free before m_data / after the data (0 if m is not writable). */
static inline int
m_leadingspace(const struct mbuf *m)
{
	if (!m_writable(m))
		return 0;
	if (m->m_flags & M_EXT)
		return (int)(m->m_data - m->m_ext.ext_buf);
	return (int)(m->m_data - m->m_dat);
}

static inline int
m_trailingspace(const struct mbuf *m)
{
	const char *end;

	if (!m_writable(m))
		return 0;
	end = (m->m_flags & M_EXT) ? m->m_ext.ext_buf + m->m_ext.ext_size : m->m_dat + MLEN;
	return (int)(end - (m->m_data + m->m_len));
}
#define M_LEADINGSPACE(m)	m_leadingspace(m)
#define M_TRAILINGSPACE(m)	m_trailingspace(m)

/* Total bytes of the chain; *last (if not NULL) gets its last mbuf. */
int m_length(const struct mbuf *m, struct mbuf **last);

/* Check a chain's invariants (data inside its buffer, pkthdr.len): 0 or -EINVAL. */
int m_sanity(const struct mbuf *m);

/* Place len bytes at the end of a fresh, empty mbuf's buffer (room to prepend). */
void m_align(struct mbuf *m, int len);

/* ---- editing ---- */

/*
 * Make room for len bytes in front of the packet (pkthdr.len grows).  Returns the new
 * head; on failure frees the chain and returns NULL (errno ENOBUFS, or EINVAL for len
 * outside 0..MLEN when a new mbuf is needed).
 */
struct mbuf *m_prepend(struct mbuf *m, int len);
#define M_PREPEND(m, len)	((m) = m_prepend((m), (len)))

/* Trim len bytes from the head (len > 0) or -len from the tail (len < 0). */
void m_adj(struct mbuf *m, int len);

/*
 * Make the first len bytes contiguous in the first mbuf (len <= MCLBYTES).  Returns the
 * new head; on failure frees the chain, returns NULL (errno ENOBUFS or EINVAL when len
 * exceeds the packet or MCLBYTES).
 */
struct mbuf *m_pullup(struct mbuf *m, int len);

/*
 * A copy of len bytes (M_COPYALL: to the end) from off: clusters are shared (read-only
 * afterwards for both), internal data copied; the packet header is copied when off is 0.
 * NULL with errno EINVAL (range) or ENOBUFS.
 */
struct mbuf *m_copym(struct mbuf *m, int off, int len);

/* A deep, writable copy of a whole packet (header included).  NULL with errno ENOBUFS. */
struct mbuf *m_dup(struct mbuf *m);

/* Append chain n to m (BSD: packet headers untouched, n's header dropped). */
void m_cat(struct mbuf *m, struct mbuf *n);
/* Append packet n to packet m, adding n's length to m's packet header. */
void m_catpkt(struct mbuf *m, struct mbuf *n);

/*
 * Split m at len: m keeps len bytes, the rest is returned (with a packet header if m had
 * one).  NULL with errno EINVAL (len beyond the chain) or ENOBUFS; m unchanged then.
 */
struct mbuf *m_split(struct mbuf *m, int len);

/* Copy len bytes from off out of the chain: 0 or -EINVAL (range). */
int m_copydata(const struct mbuf *m, int off, int len, void *cp);

/*
 * Write len bytes at off, extending the chain (gaps zero-filled, pkthdr.len grown) as
 * needed.  0, -EINVAL, -ENOBUFS (chain unchanged) or -EROFS (a byte to overwrite lies in
 * a shared or read-only cluster; nothing written: copy the packet with m_dup first).
 */
int m_copyback(struct mbuf *m, int off, int len, const void *cp);

/* Append len bytes at the end of the chain: m_copyback at m_length(). */
int m_append(struct mbuf *m, int len, const void *cp);

/*
 * A packet holding a copy of buf[0..len), received on interface index rcvif, with lead
 * bytes of leading space in the first mbuf (lead <= MLEN).  NULL, errno ENOBUFS/EINVAL.
 */
struct mbuf *m_devget(struct mbuf_pools *mp, const void *buf, int len, int lead,
    uint32_t rcvif);

/*
 * The Internet checksum (complemented, in memory order) of len bytes from off of the
 * chain, summing each mbuf in place (odd offsets handled): 0..0xffff or -EINVAL.
 */
int in_cksum_mbuf(const struct mbuf *m, int off, int len);

#endif /* SMPNET_MBUF_H */
