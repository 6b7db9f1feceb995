/*
 * wire.h - in-memory Ethernet links: a pair of ports, or an N-port learning switch.
 *
 * Each port is attached as an Ethernet ifnet (IFT_ETHER) to some vnet, with Q RX and Q TX
 * queues.  Transmitting on a port computes the Toeplitz hash of the frame's IPv4/IPv6
 * flow (4-tuple for TCP/UDP, 2-tuple otherwise; other frames hash their MAC addresses
 * and type) and puts the mbuf on the receiving port's RX ring number hash % Q (a bounded
 * lockless MPSC ring per RX queue; full ring: dropped and counted on the receiver as an
 * input drop), then calls if_rxq_intr(receiver, q).  The receiver's poll continuation,
 * on that queue's CPU, takes up to its budget off the ring, stores the hash in the mbuf
 * and calls if_input -> ether_input.
 *
 * A switch (nports > 2) learns source MAC -> port on every frame it forwards (a lockless
 * open-addressed table of 64-bit words {valid, port, mac}), forwards known unicast to
 * one port, and floods broadcast, multicast and unknown unicast to every other attached
 * port (copies).
 *
 * Fault injection, per transmitting port, deterministic per seed: each frame draws from
 * the port's PRNG (under the port's fault lock, so a port with faults serialises its
 * transmitters; ports without faults take no lock) in this order: rate limit (token
 * bucket, bits/s and burst bytes, refilled from ktime_now), loss, corruption (one byte
 * flipped at a random offset), duplication (a copy delivered right after), reordering
 * (the frame is held back and delivered after the port's next frame, or by a flush timer
 * after reorder_hold_ns), delay (delivered by a timer continuation after delay_ns).  The same seed
 * and the same sequence of transmitted frames give the same decisions.
 *
 * Calling contexts: wire_create/destroy, port attach/detach and fault configuration:
 * control threads, may block.  The data path is if_transmit on the port's ifnet.
 */
#ifndef SMPNET_DEV_WIRE_H
#define SMPNET_DEV_WIRE_H

#include <stdint.h>

struct kern;
struct mbuf;
struct vnet;
struct ifnet;
struct wire;

#define WIRE_MAXPORTS	32

struct wire_config {
	int		nports;		/* 2 = a pair (cable); 3..WIRE_MAXPORTS = a switch */
	int		nqueues;	/* Q RX and Q TX queues per port, 1..IF_MAXQUEUES */
	int		ring_size;	/* per RX queue, power of two; 0 = 1024 */
	uint32_t	mtu;		/* 0 = 1500 */
	const uint8_t	*rss_key;	/* 40 bytes; NULL = toeplitz_default_key */
};

struct wire_faults {
	uint64_t	seed;
	uint32_t	loss_ppm;	/* per million frames */
	uint32_t	dup_ppm;
	uint32_t	reorder_ppm;
	uint32_t	corrupt_ppm;
	uint32_t	delay_ppm;	/* share of frames delayed (0 with delay_ns: all) */
	uint64_t	delay_ns;
	uint64_t	reorder_hold_ns; /* a held frame goes out anyway after this; 0 = 1 ms */
	uint64_t	rate_bps;	/* token bucket rate; 0 = unlimited */
	uint32_t	burst_bytes;	/* token bucket depth; 0 = 16 frames of MTU */
};

struct wire_stats {
	uint64_t	ws_tx;		/* frames handed to this port for transmission */
	uint64_t	ws_delivered;	/* frames put on a peer's RX ring */
	uint64_t	ws_ring_full;	/* dropped: a peer RX ring was full */
	uint64_t	ws_no_peer;	/* dropped: the other side not attached or not running */
	uint64_t	ws_lost;	/* dropped by fault injection (loss) */
	uint64_t	ws_rate_drop;	/* dropped by the token bucket */
	uint64_t	ws_dup;		/* extra copies made */
	uint64_t	ws_reordered;	/* frames held back */
	uint64_t	ws_corrupted;
	uint64_t	ws_delayed;
	uint64_t	ws_nomem;	/* dropped: no mbuf for a copy */
	uint64_t	ws_flushed;	/* dropped: left on a ring, held or delayed at detach/destroy */
};

/* Create a link on kern k.  NULL + errno: EINVAL, ENOMEM.  May block. */
struct wire *wire_create(struct kern *k, const struct wire_config *cfg);

/*
 * Detach every port still attached (if_detach), stop the fault timers, free everything.
 * The caller ensures no thread transmits on the ports any more.  May block; not from a
 * continuation.
 */
void wire_destroy(struct wire *w);

/*
 * Attach port (0..nports-1) as an interface named name of vnet v, with MAC address mac
 * (NULL: 02:00:00:00:<port>:<wire id>).  Returns the ifnet (attached, UP and RUNNING)
 * or NULL + errno: EINVAL, EBUSY (port already attached), ENOMEM, EEXIST (name taken).
 * May block.
 */
struct ifnet *wire_port_attach(struct wire *w, int port, struct vnet *v, const char *name,
    const uint8_t *mac);

/* Detach port (if_detach of its ifnet; frames in flight to it are dropped, counted). */
int wire_port_detach(struct wire *w, int port);

/* The port's ifnet, or NULL.  Inside a psz read section. */
struct ifnet *wire_port_ifnet(struct wire *w, int port);

/*
 * Configure fault injection on port (applies to frames it transmits); NULL clears it.
 * Resets the PRNG to f->seed.  0, -EINVAL.  May block.
 */
int wire_set_faults(struct wire *w, int port, const struct wire_faults *f);

/* Counters of port (summed).  0, -EINVAL. */
int wire_port_stats(struct wire *w, int port, struct wire_stats *st);

/*
 * Test and benchmark hook: put the frame m (data at the Ethernet header) on port's own RX
 * ring, chosen by its flow hash, as if the peer had sent it (no fault injection), and
 * interrupt the port.  A full ring drops it (counted as ws_ring_full of port and an input
 * drop of its queue); a port not attached or not running drops it as ws_no_peer.
 * Consumes m.  0 or -EINVAL (bad port; m freed).  Any thread; never blocks.
 */
int wire_inject(struct wire *w, int port, struct mbuf *m);

/*
 * Deliver every frame held back by reordering or delay on port now (tests use it to
 * balance counts without waiting for the timers).  Control thread; may block briefly.
 */
void wire_flush(struct wire *w, int port);

#endif /* SMPNET_DEV_WIRE_H */
