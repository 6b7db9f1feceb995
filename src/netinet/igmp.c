/*
 * igmp.c - IGMPv2/v3 host side and the per-interface membership list (design in
 * igmp.h).
 *
 * Memberships (struct in_multi) form an RCU list per interface: ip_input reads it
 * locklessly to accept a group's datagrams; joins and leaves (control threads) change
 * it under the vnet's in_lock, which also serialises the refcounts.  A leave frees the
 * record after a grace period.
 *
 * Responses to queries are delayed: query input (any RX CPU) marks what is due (a
 * group's inm_pending flag, or gi_general for a v3 general query) and schedules the
 * interface's report continuation after a random delay within the query's maximum
 * response time; if it is already pending the earlier deadline stands.  The
 * continuation sends what is due.  A v1/v2 report heard from another host for a group
 * whose report is pending cancels ours in v2 mode (report suppression, RFC 2236 3).
 * The flags are atomics exchanged by their single consumer (the continuation), so a
 * query racing with a run is answered by that run or by the next.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kern/kassert.h"
#include "kern/kcont.h"
#include "kern/ktime.h"
#include "lib/cksum.h"
#include "mbuf/mbuf.h"
#include "net/ether.h"
#include "netinet/igmp.h"
#include "netinet/igmp_wire.h"
#include "netinet/in_var.h"
#include "netinet/ip_wire.h"

#define IGMP_V2_COMPAT_NS	(260ull * 1000000000ull)	/* older-querier timeout */
#define IGMP_MAX_RECS		60	/* group records per v3 report */
#define IGMP_MAX_MSG		1024	/* longest message accepted (contiguous) */

struct in_multi {
	_Atomic(struct in_multi *) inm_next;	/* [R, W in_lock] */
	uint32_t		 inm_group;	/* [I] host order */
	int			 inm_refcnt;	/* [W in_lock] */
	_Atomic bool		 inm_pending;	/* [a] a report is due */
	struct psz_head		 inm_psz;
};

struct igmp_ifinfo {
	struct inet		*gi_inet;	/* [I] */
	struct ifnet		*gi_ifp;	/* [I] */
	_Atomic(struct in_multi *) gi_list;	/* [R, W in_lock] */
	struct kcont		 gi_timer;	/* sends due reports */
	_Atomic uint64_t	 gi_v2_until;	/* [a] ktime end of v2 compatibility */
	_Atomic bool		 gi_general;	/* [a] a v3 general report is due */
	_Atomic uint32_t	 gi_rand;	/* [a] delay PRNG state */
};

static const uint8_t igmp_ra_opt[4] = { IP4_OPT_RA, 4, 0, 0 };

/* ------------------------------------------------------------------ output */

/* Send msg[0..len) to dst on the interface (TTL 1, Router Alert).  Read section. */
static void
igmp_send(struct igmp_ifinfo *gi, uint32_t dst, uint8_t *msg, size_t len)
{
	struct ip_oargs a = { .ipo_dst = dst, .ipo_proto = IPPROTO4_IGMP, .ipo_ttl = 1,
	    .ipo_ifp = gi->gi_ifp, .ipo_opts = igmp_ra_opt, .ipo_optlen = 4, .ipo_tos = 0xc0 };
	struct in_ifaddr *ia = in_ifaddr_first(gi->gi_ifp);
	struct mbuf *m;

	if (ia == NULL)
		return;		/* no source address yet: reported when queried */
	a.ipo_src = ia->ia_addr;
	igmp_set_cksum(msg, 0);
	{
		uint16_t c = in_cksum(msg, len);

		memcpy(msg + 2, &c, 2);
	}
	if ((m = m_getm(gi->gi_ifp->if_vnet->v_pools, (int)len, MT_DATA, M_PKTHDR)) == NULL)
		return;
	(void)m_copyback(m, 0, (int)len, msg);
	(void)ip_output(gi->gi_ifp->if_vnet, m, &a);
}

static bool
igmp_v2_mode(struct igmp_ifinfo *gi)
{
	/* relaxed: a mode hint written by query input (pairs with nothing) */
	return in_setting(gi->gi_inet->in_s_igmp_version) == 2 ||
	    ktime_now(gi->gi_inet->in_kern) <
	    atomic_load_explicit(&gi->gi_v2_until, memory_order_relaxed);
}

static void
igmp_send_v2(struct igmp_ifinfo *gi, uint8_t type, uint32_t group, uint32_t dst)
{
	uint8_t msg[IGMP_MIN_LEN];

	(void)igmp_emit_v2(msg, sizeof(msg), type, 0, group);
	inet_count(gi->gi_inet, type == IGMP_V2_LEAVE ? INS_IGMP_LEAVE_TX :
	    INS_IGMP_REPORT_TX, 1);
	igmp_send(gi, dst, msg, sizeof(msg));
}

/* One v3 report with records of rtype for groups[0..n). */
static void
igmp_send_v3(struct igmp_ifinfo *gi, uint8_t rtype, const uint32_t *groups, int n)
{
	uint8_t msg[8 + IGMP_MAX_RECS * IGMP_V3_REC_HDR_LEN];
	size_t len;
	int i;

	len = (size_t)igmp_emit_v3_report(msg, sizeof(msg), (uint16_t)n);
	for (i = 0; i < n; i++)
		len += (size_t)igmp_emit_v3_rec(msg + len, sizeof(msg) - len, rtype, groups[i],
		    NULL, 0);
	inet_count(gi->gi_inet, rtype == IGMP_CHANGE_TO_INCLUDE ? INS_IGMP_LEAVE_TX :
	    INS_IGMP_REPORT_TX, 1);
	igmp_send(gi, INADDR_ALLV3RTRS_H, msg, len);
}

/* The state-change message of a join (true) or a leave. */
static void
igmp_state_change(struct igmp_ifinfo *gi, uint32_t group, bool join)
{
	if (group == INADDR_ALLHOSTS_H)
		return;
	psz_read_enter();
	if (igmp_v2_mode(gi))
		igmp_send_v2(gi, join ? IGMP_V2_REPORT : IGMP_V2_LEAVE, group,
		    join ? group : INADDR_ALLRTRS_H);
	else
		igmp_send_v3(gi, join ? IGMP_CHANGE_TO_EXCLUDE : IGMP_CHANGE_TO_INCLUDE,
		    &group, 1);
	psz_read_exit();
}

/* ------------------------------------------------------------------ timer */

/* v3: one report of MODE_IS_EXCLUDE for every group (general) or the due ones. */
static void
igmp_timer_v3(struct igmp_ifinfo *gi, bool general)
{
	uint32_t groups[IGMP_MAX_RECS];
	struct in_multi *inm;
	int n = 0;

	for (inm = psz_deref(&gi->gi_list); inm != NULL; inm = psz_deref(&inm->inm_next)) {
		/* acq_rel exchange: the single consumer of the flag */
		bool due = atomic_exchange_explicit(&inm->inm_pending, false,
		    memory_order_acq_rel);

		if (inm->inm_group == INADDR_ALLHOSTS_H || (!general && !due))
			continue;
		groups[n++] = inm->inm_group;
		if (n == IGMP_MAX_RECS) {
			igmp_send_v3(gi, IGMP_MODE_IS_EXCLUDE, groups, n);
			n = 0;
		}
	}
	if (n > 0)
		igmp_send_v3(gi, IGMP_MODE_IS_EXCLUDE, groups, n);
}

static void
igmp_timer_v2(struct igmp_ifinfo *gi)
{
	struct in_multi *inm;

	for (inm = psz_deref(&gi->gi_list); inm != NULL; inm = psz_deref(&inm->inm_next))
		if (atomic_exchange_explicit(&inm->inm_pending, false, memory_order_acq_rel) &&
		    inm->inm_group != INADDR_ALLHOSTS_H)
			igmp_send_v2(gi, IGMP_V2_REPORT, inm->inm_group, inm->inm_group);
}

static void
igmp_timer(void *arg)
{
	struct igmp_ifinfo *gi = arg;
	/* acq_rel exchange: pairs with the query input's store of the flag */
	bool general = atomic_exchange_explicit(&gi->gi_general, false, memory_order_acq_rel);

	psz_read_enter();
	if (igmp_v2_mode(gi))
		igmp_timer_v2(gi);
	else
		igmp_timer_v3(gi, general);
	psz_read_exit();
}

/* A random delay in [0, max_ns]. */
static uint64_t
igmp_delay(struct igmp_ifinfo *gi, uint64_t max_ns)
{
	/* relaxed RMW: distinct states are enough for spreading responses */
	uint32_t x = atomic_fetch_add_explicit(&gi->gi_rand, 0x9e3779b9u, memory_order_relaxed);

	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	return max_ns == 0 ? 0 : (uint64_t)x % (max_ns + 1);
}

/* ------------------------------------------------------------------ input */

static struct in_multi *
igmp_find(struct igmp_ifinfo *gi, uint32_t group)
{
	struct in_multi *inm;

	for (inm = psz_deref(&gi->gi_list); inm != NULL; inm = psz_deref(&inm->inm_next))
		if (inm->inm_group == group)
			return inm;
	return NULL;
}

/* Mark group (0: all) due. */
static void
igmp_mark(struct igmp_ifinfo *gi, uint32_t group)
{
	struct in_multi *inm;

	for (inm = psz_deref(&gi->gi_list); inm != NULL; inm = psz_deref(&inm->inm_next))
		if (group == 0 || inm->inm_group == group)
			/* release: pairs with the timer's exchange */
			atomic_store_explicit(&inm->inm_pending, true, memory_order_release);
}

static void
igmp_query(struct igmp_ifinfo *gi, const struct igmp_view *v)
{
	struct inet *in = gi->gi_inet;
	uint64_t max_ns = (uint64_t)igmp_max_resp_ds(v) * 100000000ull;
	uint32_t group = igmp_group(v);

	if (group != 0 && !in_is_multicast(group))
		return;
	if (igmp_version(v) < 3) {
		inet_count(in, INS_IGMP_QUERY_V2, 1);
		/* relaxed: a mode hint (pairs with nothing) */
		atomic_store_explicit(&gi->gi_v2_until, ktime_now(in->in_kern) +
		    IGMP_V2_COMPAT_NS, memory_order_relaxed);
	} else {
		inet_count(in, INS_IGMP_QUERY_V3, 1);
	}
	if (group == 0 && igmp_version(v) == 3 && !igmp_v2_mode(gi))
		/* release: pairs with the timer's exchange */
		atomic_store_explicit(&gi->gi_general, true, memory_order_release);
	else
		igmp_mark(gi, group);
	(void)kcont_schedule(&gi->gi_timer, KCPU_CURRENT, igmp_delay(gi, max_ns));
}

static void
igmp_report_heard(struct igmp_ifinfo *gi, const struct igmp_view *v)
{
	struct in_multi *inm = igmp_find(gi, igmp_group(v));

	inet_count(gi->gi_inet, INS_IGMP_REPORT_RX, 1);
	if (inm != NULL && igmp_v2_mode(gi))
		atomic_store_explicit(&inm->inm_pending, false, memory_order_relaxed);
}

static bool
igmp_check(struct inet *in, struct mbuf **mp, int off, struct igmp_view *v)
{
	int len = (*mp)->m_pkthdr.len - off;

	if (len < IGMP_MIN_LEN || off + len > IGMP_MAX_MSG + IP4_MAX_HDR_LEN ||
	    (*mp = m_pullup(*mp, off + len)) == NULL) {
		inet_count(in, INS_IGMP_BAD, 1);
		return false;
	}
	if (in_cksum_mbuf(*mp, off, len) != 0) {
		inet_count(in, INS_IGMP_BADSUM, 1);
		return false;
	}
	if (igmp_parse(v, mtod(*mp, uint8_t *) + off, (size_t)len) != WIRE_OK) {
		inet_count(in, INS_IGMP_BAD, 1);
		return false;
	}
	return true;
}

void
igmp_input(struct ifnet *ifp, struct mbuf *m, int off, void *arg)
{
	struct inet *in = arg;
	struct in_ifinfo *ii = in_ifinfo(in, ifp);
	struct igmp_view v;

	inet_count(in, INS_IGMP_RX, 1);
	if (ii != NULL && igmp_check(in, &m, off, &v)) {
		if (igmp_type(&v) == IGMP_QUERY)
			igmp_query(ii->ii_igmp, &v);
		else if (igmp_type(&v) == IGMP_V1_REPORT || igmp_type(&v) == IGMP_V2_REPORT)
			igmp_report_heard(ii->ii_igmp, &v);
	}
	m_freem(m);
}

/* ------------------------------------------------------------------ control */

bool
igmp_member(struct igmp_ifinfo *gi, uint32_t group)
{
	return gi != NULL && igmp_find(gi, group) != NULL;
}

int
igmp_ifversion(struct igmp_ifinfo *gi)
{
	return igmp_v2_mode(gi) ? 2 : 3;
}

int
igmp_join(struct igmp_ifinfo *gi, uint32_t group)
{
	struct in_multi *inm;
	uint8_t mac[ETHER_ADDR_LEN];
	int err;

	KMUTEX_ASSERT_HELD(&gi->gi_inet->in_lock);
	if ((inm = igmp_find(gi, group)) != NULL) {
		inm->inm_refcnt++;
		return 0;
	}
	if ((inm = calloc(1, sizeof(*inm))) == NULL)
		return -ENOMEM;
	ether_multicast_ip4(group, mac);
	if ((err = if_multi_join(gi->gi_ifp, mac)) != 0) {
		free(inm);
		return err;
	}
	inm->inm_group = group;
	inm->inm_refcnt = 1;
	atomic_init(&inm->inm_next, atomic_load_explicit(&gi->gi_list, memory_order_relaxed));
	psz_publish(&gi->gi_list, inm);		/* pairs with igmp_find's psz_deref */
	igmp_state_change(gi, group, true);
	return 0;
}

static void
igmp_inm_free_deferred(struct psz_head *ph)
{
	free(container_of(ph, struct in_multi, inm_psz));
}

static void
igmp_unlink(struct igmp_ifinfo *gi, struct in_multi *inm)
{
	_Atomic(struct in_multi *) *pp = &gi->gi_list;
	uint8_t mac[ETHER_ADDR_LEN];

	while (atomic_load_explicit(pp, memory_order_relaxed) != inm)
		pp = &atomic_load_explicit(pp, memory_order_relaxed)->inm_next;
	psz_publish(pp, atomic_load_explicit(&inm->inm_next, memory_order_relaxed));
	ether_multicast_ip4(inm->inm_group, mac);
	(void)if_multi_leave(gi->gi_ifp, mac);
	psz_defer(&inm->inm_psz, igmp_inm_free_deferred);
}

int
igmp_leave(struct igmp_ifinfo *gi, uint32_t group)
{
	struct in_multi *inm;

	KMUTEX_ASSERT_HELD(&gi->gi_inet->in_lock);
	if ((inm = igmp_find(gi, group)) == NULL)
		return -ENOENT;
	if (--inm->inm_refcnt > 0)
		return 0;
	igmp_state_change(gi, group, false);
	igmp_unlink(gi, inm);
	return 0;
}

struct igmp_ifinfo *
igmp_ifattach(struct inet *in, struct ifnet *ifp)
{
	struct igmp_ifinfo *gi = calloc(1, sizeof(*gi));

	if (gi == NULL)
		return NULL;
	gi->gi_inet = in;
	gi->gi_ifp = ifp;
	atomic_init(&gi->gi_rand, (uint32_t)ifp->if_index * 0x2545f491u + 1);
	kcont_init(&gi->gi_timer, in->in_kern, igmp_timer, gi, NULL, 0);
	return gi;
}

void
igmp_ifdetach(struct igmp_ifinfo *gi)
{
	struct in_multi *inm;

	(void)kcont_halt(&gi->gi_timer);
	kmutex_enter(&gi->gi_inet->in_lock);
	while ((inm = atomic_load_explicit(&gi->gi_list, memory_order_relaxed)) != NULL)
		igmp_unlink(gi, inm);
	kmutex_exit(&gi->gi_inet->in_lock);
	psz_barrier();		/* the memberships' deferred frees have run */
	free(gi);
}
