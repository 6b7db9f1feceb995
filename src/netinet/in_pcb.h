/*
 * in_pcb.h - protocol control blocks and their per-vnet demultiplexing tables.
 *
 * One table per protocol per vnet (UDP now; TCP next).  Keys are family-neutral
 * (struct inpcb_key: family, 16-byte addresses, ports), so IPv6 plugs in without a new
 * table.  A table holds two liburcu lock-free RCU hash tables (cds_lfht):
 *   conn   exact 4-tuples (laddr, lport, faddr, fport) of connected PCBs;
 *   bound  (laddr, lport) -> a group: the PCBs bound to that local address and port
 *          (laddr may be the wildcard).  A group has several members only when all of
 *          them set SO_REUSEPORT (or SO_REUSEADDR, for a multicast address); its
 *          RCU-published array of unconnected members is what
 *          receives, one member chosen by the packet's flow hash (so each CPU can have
 *          its own socket on the port and a flow always lands on the same one).
 * Lookup (in_pcblookup, lockless, inside a psz read section): exact 4-tuple, then the
 * group bound to (laddr, lport), then the wildcard group (ANY, lport).  A table
 * generation (t_gen), bumped after every change a lookup can see, lets a thread keep its
 * last answer (in_pcblookup_cached, used by lazy receive's early demultiplexer).
 *
 * Writers take no table-wide lock.  cds_lfht_add_unique() makes group creation atomic
 * (the key is taken by whoever inserts first); a group's membership changes under the
 * group's own spin lock; an emptied group is marked dead and removed, and a binder that
 * meets a dead group retries.  The wildcard/specific overlap checks and the claim (or
 * the leave) they guard run under the port's stripe, one of a few mutexes per table
 * hashed by port (in_pcb.c), so binds of one port end as some serial order would.
 * Ephemeral ports are picked from per-CPU cursors and claimed the same way, one
 * candidate port's stripe at a time.
 *
 * Lifetimes: PCBs, groups and member arrays are freed after a grace period (psz_defer),
 * so a reader may use what it found until its read section ends.
 *
 * Calling context: in_pcbbind/connect/disconnect/detach are called with the owning
 * socket's lock held, outside any read section (any thread; bind, an unbound connect and
 * detach may sleep briefly on a port stripe; all spin briefly on a group lock); lookups
 * any thread inside a psz read section, taking no lock.  Errors are negative errnos.
 */
#ifndef SMPNET_NETINET_IN_PCB_H
#define SMPNET_NETINET_IN_PCB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "kern/psz.h"	/* first: it chooses liburcu's inline read sections */

#include <urcu/rculfhash.h>

#include "kern/klock.h"

struct kern;
struct inpcb_conn;
struct inpcb_group;
struct inpcbtable;

/* An address of either family: IPv4 in the first 4 bytes (network order), rest zero. */
union inpcb_addr {
	uint8_t		 ia_bytes[16];
	uint32_t	 ia_v4;		/* network order */
	uint64_t	 ia_q[2];
};

/* An IPv4 address as a PCB address, every byte defined (a union initialiser naming
 * ia_v4 leaves the other 12 bytes unspecified, and keys are compared bytewise). */
static inline union inpcb_addr
inpcb_addr_v4(uint32_t a)
{
	union inpcb_addr x = { .ia_q = { 0, 0 } };

	x.ia_v4 = a;
	return x;
}

struct inpcb_key {
	uint8_t		 ik_family;	/* AF_INET or AF_INET6 */
	uint8_t		 ik_pad[3];
	uint16_t	 ik_lport;	/* network order */
	uint16_t	 ik_fport;	/* network order; 0 in a bound key */
	union inpcb_addr ik_laddr;	/* zero = wildcard */
	union inpcb_addr ik_faddr;	/* zero in a bound key */
};
_Static_assert(sizeof(struct inpcb_key) == 40, "PCB keys are 40 bytes, no holes");

/* in_pcbbind options */
#define INP_REUSEADDR	0x1u
#define INP_REUSEPORT	0x2u

struct inpcb {
	struct inpcb_key	 inp_key;	/* [L owner] published before insertion */
	struct inpcb_group	*inp_group;	/* [L owner] bound group, or NULL */
	struct inpcb_conn	*inp_conn;	/* [L owner] record in the conn table, or NULL */
	struct inpcbtable	*inp_table;	/* [I] */
	void			*inp_owner;	/* [I] the socket */
	_Atomic bool		 inp_connected;	/* [a] in the conn table */
	unsigned		 inp_opts;	/* [L owner] INP_* at bind time */
	struct psz_head		 inp_psz;
};

/*
 * Create a table on kern k with ephemeral ports [eph_lo, eph_hi] (host order) and an
 * initial size hint.  NULL with errno EINVAL or ENOMEM.  May block.
 */
struct inpcbtable *in_pcbtable_create(struct kern *k, uint16_t eph_lo, uint16_t eph_hi,
    unsigned long size_hint);

/* Destroy; every PCB must have been detached.  May block (grace period); no read section. */
void in_pcbtable_destroy(struct inpcbtable *t);

/* A new PCB (unbound) of family for owner.  NULL with errno ENOMEM.  Never blocks. */
struct inpcb *in_pcballoc(struct inpcbtable *t, int family, void *owner);

/*
 * Bind inp to (family, laddr, lport); lport 0 picks an ephemeral port (one no other PCB
 * uses with an overlapping address).  opts: INP_*.  0, -EINVAL (already bound),
 * -EADDRINUSE (exact key taken unless INP_REUSEPORT on every member and inp, or for a
 * multicast address INP_REUSEADDR on all; wildcard/specific overlap on the port unless
 * both sides have INP_REUSEADDR or both INP_REUSEPORT: in_pcb.c), -EAGAIN (no ephemeral
 * port free), -ENOMEM.  Owner's lock held.
 */
int in_pcbbind(struct inpcb *inp, int family, const union inpcb_addr *laddr,
    uint16_t lport, unsigned opts);

/*
 * Connect: set the foreign address and port, binding first (ephemeral) if unbound, and
 * insert the exact key.  laddr must be a specific address (the protocol picks the source
 * address first); a bound wildcard PCB keeps its port.  0, -EADDRINUSE (4-tuple taken),
 * -EISCONN, -EINVAL, -EAGAIN.  Owner's lock held.
 */
int in_pcbconnect(struct inpcb *inp, const union inpcb_addr *laddr,
    const union inpcb_addr *faddr, uint16_t fport);

/* Undo in_pcbconnect (the PCB stays bound to its port, wildcard address).  Owner's lock. */
void in_pcbdisconnect(struct inpcb *inp);

/*
 * Insert an exact key without a bound group (a connection accepted on a listener's port:
 * TCP).  0 or -EADDRINUSE.  Owner's lock held.
 */
int in_pcbinsert_conn(struct inpcb *inp, const struct inpcb_key *key);

/* Leave every table and free inp after a grace period.  Owner's lock held. */
void in_pcbdetach(struct inpcb *inp);

/*
 * Demultiplex: exact, then (laddr, lport), then (ANY, lport); among a group's members the
 * one at flowhash % n.  NULL if none.  Inside a psz read section; the result stays valid
 * until the section ends.  Never blocks.  Addresses and ports in network order.
 */
struct inpcb *in_pcblookup(struct inpcbtable *t, int family, const union inpcb_addr *laddr,
    uint16_t lport, const union inpcb_addr *faddr, uint16_t fport, uint32_t flowhash);

/*
 * A one-entry lookup cache, owned by one thread at a time (a CPU thread's per-CPU slot):
 * the last 4-tuple, its answer and the table generation it was found under.  Zeroed =
 * empty.  in_pcblookup_cached() answers a repeat of that 4-tuple from it while the table
 * has not changed since (a receive burst of one flow costs one lookup), else looks up
 * and refills it.  Same contract as in_pcblookup(); also safe across read sections.
 */
struct inpcb_cache {
	uint64_t		 ic_gen;	/* [c] table generation when ic_inp was found */
	struct inpcb		*ic_inp;	/* [c] NULL: empty */
	struct inpcb_key	 ic_key;	/* [c] */
};
struct inpcb *in_pcblookup_cached(struct inpcbtable *t, struct inpcb_cache *c, int family,
    const union inpcb_addr *laddr, uint16_t lport, const union inpcb_addr *faddr,
    uint16_t fport, uint32_t flowhash);

/*
 * Call fn for every unconnected member of the groups bound to (laddr, lport) and
 * (ANY, lport), and every connected PCB whose 4-tuple matches exactly (broadcast and
 * multicast delivery).  Returns how many were called.  Inside a psz read section.
 */
int in_pcblookup_all(struct inpcbtable *t, int family, const union inpcb_addr *laddr,
    uint16_t lport, const union inpcb_addr *faddr, uint16_t fport,
    void (*fn)(struct inpcb *inp, void *arg), void *arg);

/* Counts (for tests and the demux benchmark): groups and connected PCBs.  Approximate. */
void in_pcbtable_counts(struct inpcbtable *t, unsigned long *groups, unsigned long *conns);

#endif /* SMPNET_NETINET_IN_PCB_H */
