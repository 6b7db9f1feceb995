/*
 * smpnet.h - the public entry point: create a stack, connect stacks, give them addresses.
 *
 * A stack (struct smpnet) is one vnet on a kern: its CPU threads, its interfaces, its
 * protocol state and its sockets.  Several stacks may share one kern (config.share):
 * two stacks joined by an in-memory wire then run on the same CPU threads, which is how
 * the tests and benchmarks measure "1 CPU" and "2 CPUs".
 *
 * Settings (sysctl-style, per stack, at run time) by name, e.g. "net.lrp.lazy" (0: eager
 * receive processing on the receiving CPU, 1: lazy - early demux and early drop at the
 * interface, protocol work by the receiving thread or the socket's CPU).
 *
 * Every call returns 0 or a negative errno (constructors: NULL with errno set), may
 * block, and must not be called from a continuation of the stack's kern.
 */
#ifndef SMPNET_SMPNET_H
#define SMPNET_SMPNET_H

#include <stdbool.h>
#include <stdint.h>

#define SMPNET_API	__attribute__((visibility("default")))

struct smpnet;

struct smpnet_config {
	const char	*name;		/* for messages; may be NULL */
	int		 ncpu;		/* CPU threads of a new kern; 0 = online cores */
	bool		 giant;		/* giant mode (SMPNET_GIANT=1 forces it) */
	bool		 lazy;		/* lazy receive processing (setting net.lrp.lazy) */
	struct smpnet	*share;		/* run on this stack's kern instead of a new one */
	bool		 nopin;		/* leave CPU threads unpinned (SMPNET_NOPIN=1 forces it) */
};

/*
 * Create a stack.  cfg may be NULL (defaults).  Returns NULL with errno EINVAL (bad
 * config), ENOMEM, or the error of kern/vnet creation.  May block.
 */
SMPNET_API struct smpnet *smpnet_create(const struct smpnet_config *cfg);

/*
 * Destroy a stack: the interfaces are detached, the kern is stopped if this stack created
 * it (stacks sharing it must be destroyed first).  Every socket must have been closed
 * (one still open is leaked, not closed: smpnet_destroy_checked reports it).  No other
 * thread may use the stack any more.  May block.
 */
SMPNET_API void smpnet_destroy(struct smpnet *st);

/* What a stack still held when it was destroyed (smpnet_destroy_checked). */
struct smpnet_leaks {
	uint64_t	sockets;	/* sockets not closed */
	uint64_t	mbufs;		/* mbufs not returned to the stack's pools */
	uint64_t	clusters;	/* clusters (2 KiB and jumbo) not returned */
};

/*
 * Destroy as smpnet_destroy(), and say whether everything came back: 0 if every socket
 * had been closed and every mbuf and cluster of the stack's pools had been freed once
 * the stack was torn down, else -EBUSY (the pools that still have objects out are then
 * left allocated, not freed under their holders).  leaks (may be NULL) gets the counts.
 * For tests: a leak check that needs no hook into the library.  May block.
 */
SMPNET_API int smpnet_destroy_checked(struct smpnet *st, struct smpnet_leaks *leaks);

/* CPU threads the stack runs on, and whether it runs in giant mode. */
SMPNET_API int smpnet_ncpu(const struct smpnet *st);
SMPNET_API bool smpnet_giant(const struct smpnet *st);

/*
 * Set / get a setting by name: 0, -ENOENT (no such setting), -ERANGE (out of range).
 * May block (takes the vnet's writer lock).
 */
SMPNET_API int smpnet_setting_set(struct smpnet *st, const char *name, int64_t value);
SMPNET_API int smpnet_setting_get(struct smpnet *st, const char *name, int64_t *value);

/*
 * Join stacks a and b with an in-memory Ethernet wire pair (nqueues RX/TX queues per
 * side, 0 = a's CPU count; each RX queue polled by CPU q % ncpu) and give each its IPv4
 * address (network order) on that link, as a /24 (connected route; ARP resolves the
 * peer on first use).  The wire belongs to a and goes with it; either stack may be
 * destroyed first, except that stacks sharing a kern go before the kern's owner.
 * 0, -EINVAL, -EBUSY (a stack already has a link), -EEXIST (address in use), -ENOMEM.
 * May block.
 */
SMPNET_API int smpnet_wire_pair(struct smpnet *a, uint32_t addr_a, struct smpnet *b,
    uint32_t addr_b, int nqueues);

#endif /* SMPNET_SMPNET_H */
