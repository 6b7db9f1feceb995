/*
 * loop.h - the loopback interface.
 *
 * Frames transmitted on a loop interface come back in on the same interface: transmit
 * puts the mbuf on the RX ring of queue (flow hash % Q) and raises that queue's
 * interrupt, so the frame is received on the CPU the hash picks, like any RX queue.
 * A loop interface frames packets in an Ethernet header (type IFT_LOOP, flags
 * IFF_LOOPBACK|IFF_MULTICAST, MAC address 00:00:00:00:00:00): protocol code sends with a
 * header whose destination is the interface's own address (no neighbour resolution) and
 * ether_input dispatches by ethertype as on any interface.  Default MTU 65535 - 14.
 */
#ifndef SMPNET_DEV_LOOP_H
#define SMPNET_DEV_LOOP_H

struct vnet;
struct ifnet;

/*
 * Create and attach a loop interface named name (NULL: "lo0") with nqueues queues
 * (0 = the kern's CPU count).  Returns it UP and RUNNING, or NULL + errno: EINVAL,
 * ENOMEM, EEXIST.  Control thread; may block.  if_detach() destroys it (its stop op
 * frees the driver state).
 */
struct ifnet *loop_create(struct vnet *v, const char *name, int nqueues);

#endif /* SMPNET_DEV_LOOP_H */
