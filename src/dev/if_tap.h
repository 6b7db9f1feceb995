/*
 * if_tap.h - the TAP ifnet driver: a Linux multiqueue TAP device as an Ethernet ifnet.
 *
 * tap_if_attach() opens Q queues of a TAP device (src/dev/tap.h; attach to an existing
 * device by name, or create it) and attaches an IFT_ETHER interface with Q RX and Q TX
 * queues to a vnet.  RX queue q reads TAP queue q and is polled by its CPU; TX queue q
 * writes TAP queue q.  One "interrupt" thread per device waits on every queue fd
 * (edge-triggered epoll) and calls if_rxq_intr() for each queue that became readable;
 * it never allocates.  The poll continuation reads up to its budget of frames straight
 * into cluster mbufs kept in a per-queue cache (refilled on the queue's CPU from the
 * vnet's pools), sets the flow hash (software Toeplitz, Linux gives none) and calls
 * if_input -> ether_input.  Transmit writes the frame (gathered from its chain with
 * writev) on the TX queue's fd; a full queue (EAGAIN) drops and counts, never blocks.
 *
 * The interface's MAC is the device's (Linux side) MAC with the locally-administered bit
 * set and the last byte's low bit flipped, so both ends of the link differ (or the
 * configured one).  The MTU is settable up to the jumbo cluster size minus the header.
 *
 * Contexts: tap_if_attach and tap_if_detach: control threads, may block, not inside a
 * read section nor from a continuation.  tap_if_stats: any thread holding a reference
 * (the interface attached).
 */
#ifndef SMPNET_DEV_IF_TAP_H
#define SMPNET_DEV_IF_TAP_H

#include <stdint.h>

struct ifnet;
struct vnet;

struct tap_if_config {
	const char	*name;		/* TAP device name (also the ifnet's name); required */
	int		 nqueues;	/* 1..TAP_MAXQ; 0 = 1 */
	int		 flags;		/* TAP_CREATE / TAP_ATTACH (tap.h); 0: either */
	const int	*rxq_cpu;	/* CPU of each RX queue; NULL = q % ncpu */
	int		 budget;	/* frames per poll run; 0 = 64 */
	uint32_t	 mtu;		/* 0: the device's MTU */
	const uint8_t	*lladdr;	/* 6 bytes; NULL: derived from the device's MAC */
};

/* Driver counters (summed over queues). */
struct tap_if_stats {
	uint64_t	tis_rx_frames;	/* frames read from the device */
	uint64_t	tis_rx_toolong;	/* dropped: longer than the receive buffer */
	uint64_t	tis_rx_nomem;	/* poll runs cut short: no mbuf for the cache */
	uint64_t	tis_tx_frames;	/* frames written */
	uint64_t	tis_tx_full;	/* dropped: the TX queue was full (EAGAIN) */
	uint64_t	tis_tx_errors;	/* dropped: other write errors (EIO while down...) */
	uint64_t	tis_intr;	/* interrupts (if_rxq_intr calls) */
};

/*
 * Open the device and attach it to v as an UP and RUNNING Ethernet interface.  Returns
 * the ifnet, or NULL with errno: EINVAL (bad config), ENOMEM, EEXIST (an interface of v
 * has the name, or TAP_CREATE and the device exists), ENODEV (TAP_ATTACH and it does
 * not), EPERM, or the error of the TAP core / thread creation.  Control thread; blocks.
 */
struct ifnet *tap_if_attach(struct vnet *v, const struct tap_if_config *cfg);

/* Detach and close (if_detach; the driver's stop op closes the device).  May block. */
void tap_if_detach(struct ifnet *ifp);

/* The driver's counters.  0, or -EINVAL if ifp is not a TAP interface.  Any thread. */
int tap_if_stats(struct ifnet *ifp, struct tap_if_stats *st);

#endif /* SMPNET_DEV_IF_TAP_H */
