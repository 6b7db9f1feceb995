/*
 * if_var.h - the ifnet structure, its queues, driver ops, and the receive machinery.
 * For drivers (src/dev/), link layers (ether.c) and the families' domains.
 *
 * Receive path (NAPI-style, after the NetBSD SMP-networking "<if>_defer -> if_poll"):
 *   - Each RX queue is bound to one CPU and owns a poll continuation (kcont).
 *   - A driver's "interrupt" (the wire driver after putting a frame on the queue's ring)
 *     calls if_rxq_intr(ifp, q): one kcont_schedule on the queue's CPU (a no-op while the
 *     continuation is already pending).  No allocation, no lock.
 *   - The continuation enters a psz read section and calls the driver's poll op with a
 *     budget; poll takes up to budget frames off the queue and hands each to
 *     if_input(ifp, rxq, m) (counts, offers m to the vnet's early input hook - lazy
 *     receive processing, if_dispatch.h - then the link layer's input: ether_input).  If poll
 *     used its whole budget the continuation schedules itself again (other work on that
 *     CPU runs in between); otherwise it stops and the next interrupt restarts it.  A frame
 *     put on the ring while poll runs is not lost: the producer's if_rxq_intr either
 *     finds the continuation pending, or schedules it anew (a running continuation is not
 *     pending, so the schedule succeeds and it runs again).
 *
 * Transmit path: if_transmit picks a TX queue by flow hash and calls the driver's
 * transmit op in the caller's thread (drivers here are lockless per queue, or take their
 * own per-queue lock).
 *
 * Attach/detach against concurrent use: an interface is published in the vnet's table
 * (RCU) by if_attach.  if_detach (1) unpublishes it and sets if_dying (seq_cst), (2)
 * waits for a grace period: every if_transmit / if_rxq_intr that saw the interface alive
 * has returned (they run in read sections and test if_dying), (3) kcont_halt()s every RX
 * queue's poll continuation (a poll that starts after (2) sees if_dying and does not
 * reschedule itself), (4) calls the driver's stop op, (5) lets each attached domain drop
 * its per-interface state (dom_ifdetach), and (6) frees the ifnet after another grace
 * period (psz_defer), so a reader that still holds the pointer (a nexthop) may test it.
 *
 * Counters are per-CPU (slot = kcpu_slot(): the CPU's own slot, written with relaxed
 * load+store, or the shared foreign slot for non-CPU threads, written with relaxed
 * fetch_add); readers sum the slots with relaxed loads.
 */
#ifndef SMPNET_NET_IF_VAR_H
#define SMPNET_NET_IF_VAR_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "kern/kern.h"
#include "kern/kcont.h"
#include "kern/klock.h"
#include "kern/psz.h"
#include "net/ifnet.h"
#include "net/vnet.h"

struct if_rxq;
struct if_txq;

/*
 * Driver ops.  [I] after if_alloc.
 *  ifo_transmit  send m (a whole frame) on txq; consumes m; 0 or negative errno (the
 *                caller counts). Any thread, inside a read section; must not block.
 *  ifo_poll      take up to budget frames off rxq and pass each to if_input(); return
 *                how many it took.  Runs in rxq's continuation, on rxq's CPU, inside a
 *                read section; must not block.
 *  ifo_set_flags apply IFF_UP / IFF_PROMISC / IFF_ALLMULTI (the new flags are given);
 *                the driver sets or clears IFF_RUNNING itself (if_set_running).  0 or
 *                -errno.  Control thread; may block.  May be NULL (then UP = RUNNING).
 *  ifo_set_mtu   0 or -errno (-EINVAL beyond the link's limit).  May be NULL (any MTU).
 *  ifo_set_multi the multicast filter changed (read it with if_multi_snapshot()).  May
 *                be NULL.  Control thread.
 *  ifo_stop      the interface is detached: no op runs after this one; free queued
 *                frames.  Control thread; may block.
 */
struct if_ops {
	int	(*ifo_transmit)(struct ifnet *ifp, struct if_txq *txq, struct mbuf *m);
	int	(*ifo_poll)(struct ifnet *ifp, struct if_rxq *rxq, int budget);
	int	(*ifo_set_flags)(struct ifnet *ifp, uint32_t flags);
	int	(*ifo_set_mtu)(struct ifnet *ifp, uint32_t mtu);
	void	(*ifo_set_multi)(struct ifnet *ifp);
	void	(*ifo_stop)(struct ifnet *ifp);
};

/* Per-CPU counter slots.  One cache line per CPU slot; IFC_* index c[]. */
enum {
	IFC_IPACKETS, IFC_IBYTES, IFC_IDROPS, IFC_IERRORS,
	IFC_OPACKETS, IFC_OBYTES, IFC_ODROPS, IFC_OERRORS,
	IFC_IMCASTS, IFC_NOPROTO, IFC_FILTERED, IFC_RUNTS,
	IFC_NCOUNTERS
};
struct if_pcpu {
	_Atomic uint64_t	c[16];	/* [c] own CPU, or [a] the foreign slot */
} __cacheline_aligned;
_Static_assert(sizeof(struct if_pcpu) == 2 * CACHE_LINE, "if_pcpu: two cache lines");
_Static_assert(IFC_NCOUNTERS <= 16, "if_pcpu: room for the counters");

struct if_rxq {
	struct ifnet		*rxq_ifp;	/* [I] */
	int			 rxq_idx;	/* [I] */
	int			 rxq_cpu;	/* [I] CPU that polls this queue */
	int			 rxq_budget;	/* [I] frames per poll run */
	void			*rxq_drv;	/* [I] the driver's queue state */
	struct if_pcpu		*rxq_cnt;	/* [c] ncpu+1 slots */
	struct kcont		 rxq_poll;	/* the poll continuation */
} __cacheline_aligned;

struct if_txq {
	struct ifnet		*txq_ifp;	/* [I] */
	int			 txq_idx;	/* [I] */
	void			*txq_drv;	/* [I] the driver's queue state */
	struct if_pcpu		*txq_cnt;	/* [c] ncpu+1 slots */
} __cacheline_aligned;

/* Generic per-family address header, embedded in the family's address record. */
struct ifa_hdr {
	_Atomic(struct ifa_hdr *) ifa_next;	/* [R, L if_lock] */
	struct ifnet		*ifa_ifp;	/* [I] set by if_addr_add */
	int			 ifa_family;	/* [I] IF_AF_INET, IF_AF_INET6 */
	void			(*ifa_free)(struct ifa_hdr *ifa);	/* [I] after a grace period */
	struct psz_head		 ifa_psz;
};

/* Immutable snapshot of the multicast filter, RCU-published. */
struct if_mfilter {
	int		 mf_count;
	struct psz_head	 mf_psz;
	uint8_t		 mf_addr[][6];
};

/* The refcounted list behind it (control path). */
struct if_mentry {
	struct if_mentry	*me_next;	/* [L if_lock] */
	int			 me_refcnt;	/* [L if_lock] */
	uint8_t			 me_addr[6];	/* [I] */
};

struct ifnet {
	/* Data path, read-mostly. */
	struct vnet		*if_vnet;	/* [I] */
	const struct if_ops	*if_ops;	/* [I] */
	void			*if_softc;	/* [I] the driver's */
	void			(*if_input)(struct ifnet *ifp, struct mbuf *m);	/* [I] link input */
	_Atomic uint32_t	 if_flags;	/* [a] writers under if_lock */
	_Atomic uint32_t	 if_mtu;	/* [a] writers under if_lock */
	_Atomic bool		 if_dying;	/* [a] set once by if_detach (seq_cst) */
	_Atomic int		 if_link;	/* [a] LINK_STATE_* */
	int			 if_index;	/* [I] after if_attach */
	int			 if_type;	/* [I] IFT_* */
	int			 if_hdrlen;	/* [I] link header length (14) */
	int			 if_nrxq;	/* [I] */
	int			 if_ntxq;	/* [I] */
	int			 if_ncpu;	/* [I] kern_ncpu of the vnet's kern */
	struct if_rxq		*if_rxq;	/* [I] if_nrxq entries */
	struct if_txq		*if_txq;	/* [I] if_ntxq entries */
	struct if_pcpu		*if_cnt;	/* [c] link-level counters, ncpu+1 slots */
	uint8_t			 if_lladdr[6];	/* [I] */
	char			 if_xname[IFNAMSIZ_SMPNET];	/* [I] */

	/* Per-family state, RCU. */
	_Atomic(struct ifa_hdr *) if_addrs[IF_NAF];	/* [R, L if_lock] */
	_Atomic(void *)		 if_afdata[DOM_MAX];	/* [R, W v_cfglock] domain per-if state */
	_Atomic(struct if_mfilter *) if_mfilter;	/* [R, L if_lock] */

	/* Control path. */
	struct kmutex		 if_lock;	/* "ifnet": flags, MTU, addrs, multicast */
	struct if_mentry	*if_mlist;	/* [L if_lock] */
	struct ifnet		*if_next;	/* [W v_lock] the vnet's list */
	bool			 if_attached;	/* [W v_cfglock] */
	struct psz_head		 if_psz;
};

/* Layout: queues never share a cache line; the data-path fields of an ifnet (up to and
 * including if_lladdr) fit in its first two lines. */
_Static_assert(sizeof(struct if_rxq) % CACHE_LINE == 0, "if_rxq: whole cache lines");
_Static_assert(sizeof(struct if_txq) == CACHE_LINE, "if_txq: one cache line");
_Static_assert(offsetof(struct ifnet, if_lladdr) + 6 <= 2 * CACHE_LINE,
    "ifnet: data-path fields in two cache lines");

/* How to build an interface (if_alloc). */
struct if_config {
	const char		*name;		/* required; unique in the vnet */
	int			 type;		/* IFT_ETHER or IFT_LOOP */
	int			 nrxq, ntxq;	/* 1..IF_MAXQUEUES; 0 = 1 */
	const int		*rxq_cpu;	/* CPU of each RX queue; NULL = q % ncpu */
	int			 budget;	/* frames per poll run; 0 = 64 */
	uint32_t		 mtu;		/* 0 = 1500 */
	uint32_t		 flags;		/* capability flags: IFF_BROADCAST|IFF_MULTICAST... */
	const uint8_t		*lladdr;	/* 6 bytes; NULL = 00:00:00:00:00:00 */
	const struct if_ops	*ops;		/* required; transmit and poll required */
	void			*softc;
	void			(*input)(struct ifnet *ifp, struct mbuf *m); /* NULL = ether_input */
};

/*
 * Allocate an interface of vnet v (not yet attached).  The driver then fills
 * rxq_drv/txq_drv and calls if_attach.  NULL + errno: EINVAL, ENOMEM.  May block.
 */
struct ifnet *if_alloc(struct vnet *v, const struct if_config *cfg);

/* Free an interface that was never attached (if_attach failed).  Control thread. */
void if_free(struct ifnet *ifp);

/*
 * Attach: assign an index, publish ifp in the vnet's table, run every attached domain's
 * dom_ifattach.  0, -EEXIST (name taken), -ENOSPC (table full), or a dom_ifattach's
 * -errno.  Control thread; may block; no vnet lock held.
 */
int if_attach(struct ifnet *ifp);

/*
 * Detach and free (see the sequence above).  After it returns no driver op runs any
 * more and the driver may free its softc; the ifnet memory itself is freed after a
 * grace period.  Control thread; may block; never inside a read section, never from a
 * continuation, no vnet lock held.
 */
void if_detach(struct ifnet *ifp);

/* Driver: mark the interface ready / not ready (IFF_RUNNING).  Any thread. */
void if_set_running(struct ifnet *ifp, bool running);

/*
 * Driver "interrupt": schedule RX queue q's poll continuation on its CPU.  Any thread;
 * inside a psz read section (so that detach can wait for it); never blocks; a no-op once
 * the interface is dying.
 */
void if_rxq_intr(struct ifnet *ifp, int q);

/*
 * Driver poll: hand a received frame (data at the link header) to the link layer.
 * Counts it on rxq; consumes m.  Called from ifo_poll (or any thread inside a read
 * section for a synchronous driver).
 */
void if_input(struct ifnet *ifp, struct if_rxq *rxq, struct mbuf *m);

/*
 * Run ifp's RX poll continuations at high priority (KC_PRIO_HIGH: before every normal
 * continuation of their CPU, as a kernel's receive interrupt preempts processes) or at
 * normal priority (the default).  Benchmarks that model interrupt priority use it.  Only
 * before traffic (no frame arriving, nothing polling; a frame arriving during the switch
 * may corrupt the continuation): 0, or -EBUSY if a poll was pending (it is run again
 * with the new priority; the caller came close to breaking the contract).  Control
 * thread; may block.
 */
int if_rxq_set_prio(struct ifnet *ifp, bool high);

/* Count n on counter c (IFC_*) of ifp / of a queue.  Any thread; never blocks. */
void if_counter_add(struct ifnet *ifp, int c, uint64_t n);
void if_rxq_counter_add(struct if_rxq *rxq, int c, uint64_t n);
void if_txq_counter_add(struct if_txq *txq, int c, uint64_t n);

/* The current multicast snapshot (inside a read section), for set_multi ops. */
struct if_mfilter *if_multi_snapshot(struct ifnet *ifp);

/* Iterate a family's addresses: inside a psz read section. */
#define IF_ADDR_FOREACH(ifa, ifp, af)						\
	for ((ifa) = psz_deref(&(ifp)->if_addrs[(af)]); (ifa) != NULL;		\
	    (ifa) = psz_deref(&(ifa)->ifa_next))

/* Per-interface domain state (a domain's dom_ifattach stores it; v_cfglock held). */
static inline void *
if_afdata(struct ifnet *ifp, int slot)
{
	/* acquire: pairs with the release store in if_afdata_set() */
	return atomic_load_explicit(&ifp->if_afdata[slot], memory_order_acquire);
}
void if_afdata_set(struct ifnet *ifp, int slot, void *data);

#endif /* SMPNET_NET_IF_VAR_H */
