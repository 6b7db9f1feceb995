/*
 * ifnet.h - network interfaces (ifnet): what protocol code and control code use.
 *
 * (Named ifnet.h, not if.h: with src/ on the include path a src/net/if.h would shadow the
 * system's <net/if.h>, which the TAP core needs.  The IFF_* flag values are the system's,
 * so a file may include both.)
 *
 * An interface belongs to one vnet and has: a name and an index in the vnet's table, an
 * MTU, flags, a link state, a link-layer address, per-family address lists (RCU lists the
 * family's domain fills), a refcounted multicast filter, and Q receive and Q transmit
 * queues (struct layout, driver ops and the receive machinery: if_var.h).
 *
 * Calling contexts, in short:
 *   data path (if_transmit, if_multi_match, address-list reads): any thread, inside a psz
 *     read section (the ifnet pointer itself was found in one), never blocks;
 *   control path (attach/detach, flags, MTU, addresses, multicast join/leave): control
 *     threads, may block; detach waits for a grace period, so never inside a read section
 *     nor from a continuation.
 */
#ifndef SMPNET_NET_IFNET_H
#define SMPNET_NET_IFNET_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

struct ifnet;
struct mbuf;
struct vnet;

#define IFNAMSIZ_SMPNET	IFNAMSIZ	/* 16, with the terminating NUL */

/*
 * Interface flags: the system's values (<net/if.h>: IFF_UP, IFF_BROADCAST, IFF_LOOPBACK,
 * IFF_RUNNING, IFF_PROMISC, IFF_ALLMULTI, IFF_MULTICAST).  IFF_UP is set and cleared by
 * if_up/if_down; IFF_RUNNING by the driver (read on the data path); BROADCAST, LOOPBACK
 * and MULTICAST are capabilities fixed at if_alloc.
 */
#define IFF_CANTCHANGE	((uint32_t)(IFF_BROADCAST | IFF_LOOPBACK | IFF_RUNNING | \
			    IFF_MULTICAST))

/* Link types. */
enum { IFT_ETHER = 6, IFT_LOOP = 24 };

/* Link states. */
enum { LINK_STATE_UNKNOWN = 0, LINK_STATE_DOWN = 1, LINK_STATE_UP = 2 };

/* Address families with an address list on each interface. */
enum { IF_AF_INET = 0, IF_AF_INET6 = 1, IF_NAF = 2 };

#define IF_MAXQUEUES	16

/*
 * Transmit m (a complete link-layer frame) on ifp.  The TX queue is the packet's flow
 * hash modulo the queue count (the calling CPU's index when the mbuf carries no hash).
 * Consumes m.  Returns 0 (handed to the driver, counted as output), -ENETDOWN (not UP or
 * not RUNNING, or being detached: dropped, counted), -EMSGSIZE (longer than MTU + link
 * header: dropped, counted as an output error), or the driver's negative errno (dropped,
 * counted).  Any thread; inside a psz read section; never blocks.
 */
int if_transmit(struct ifnet *ifp, struct mbuf *m);

/* Flags.  if_up/if_down/if_setflags: control threads; may block (driver op). */
uint32_t if_flags(const struct ifnet *ifp);	/* any context; relaxed snapshot */
int if_up(struct ifnet *ifp);
int if_down(struct ifnet *ifp);
/* Set then clear flags (IFF_CANTCHANGE bits ignored).  0 or the driver's -errno. */
int if_setflags(struct ifnet *ifp, uint32_t set, uint32_t clear);

/* MTU.  if_set_mtu: 0, -EINVAL (68..65535 and the driver's limit), driver's -errno. */
uint32_t if_mtu(const struct ifnet *ifp);
int if_set_mtu(struct ifnet *ifp, uint32_t mtu);

/* Link state (drivers set it; anyone reads it). */
int if_link_state(const struct ifnet *ifp);
void if_link_state_change(struct ifnet *ifp, int state);

const char *if_name(const struct ifnet *ifp);
int if_index(const struct ifnet *ifp);
struct vnet *if_vnet(const struct ifnet *ifp);
const uint8_t *if_lladdr(const struct ifnet *ifp);	/* 6 bytes for IFT_ETHER/IFT_LOOP */

/*
 * Multicast filter (link-layer addresses, refcounted).  join: 0, -ENOMEM, -EINVAL (not a
 * multicast address).  leave: 0, -ENOENT.  The driver's set_multi op runs after a change
 * of the set (first join, last leave).  Control threads; may block.
 */
int if_multi_join(struct ifnet *ifp, const uint8_t mac[6]);
int if_multi_leave(struct ifnet *ifp, const uint8_t mac[6]);
/* True if mac is in the filter.  Data path: inside a psz read section; never blocks. */
bool if_multi_match(struct ifnet *ifp, const uint8_t mac[6]);
/* Refcount of mac in the filter (0 if absent).  Control path, for tests. */
int if_multi_refcnt(struct ifnet *ifp, const uint8_t mac[6]);

/*
 * Per-family addresses: an RCU list of struct ifa_hdr headers (if_var.h) embedded in the
 * family's own address records.  add/remove: the family's code, control threads, take the
 * interface's lock; remove frees the record with ifa_free after a grace period (without
 * waiting).  Readers: IF_ADDR_FOREACH inside a psz read section.
 */
struct ifa_hdr;
int if_addr_add(struct ifnet *ifp, struct ifa_hdr *ifa);
int if_addr_remove(struct ifnet *ifp, struct ifa_hdr *ifa);	/* 0 or -ENOENT */

/* Totals of the interface counters (summed over queues and CPUs).  Any context. */
struct if_stats {
	uint64_t	ifs_ipackets, ifs_ibytes, ifs_idrops, ifs_ierrors;
	uint64_t	ifs_opackets, ifs_obytes, ifs_odrops, ifs_oerrors;
	uint64_t	ifs_imcasts;	/* multicast/broadcast frames received */
	uint64_t	ifs_noproto;	/* frames dropped: no handler for the ethertype */
	uint64_t	ifs_filtered;	/* frames dropped: not for us (dst filter) */
	uint64_t	ifs_runts;	/* frames dropped: shorter than the link header */
};
void if_stats(struct ifnet *ifp, struct if_stats *st);
/* One queue's counters (RX queue q: i* fields; TX queue q: o* fields).  -EINVAL. */
int if_rxq_stats(struct ifnet *ifp, int q, struct if_stats *st);
int if_txq_stats(struct ifnet *ifp, int q, struct if_stats *st);

#endif /* SMPNET_NET_IFNET_H */
