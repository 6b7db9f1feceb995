/*
 * ip4_shim.h - a minimal IPv4 for stacks without the inet domain (see ip4_shim.c).
 * attach/detach: control threads, may block (dispatch registration waits for a grace
 * period).  attach returns NULL with errno (ENOMEM, or the registration's error).
 */
#ifndef SMPNET_SOCKET_IP4_SHIM_H
#define SMPNET_SOCKET_IP4_SHIM_H

#include <stdint.h>

struct ifnet;
struct ip4_shim;
struct udp_state;
struct vnet;

struct ip4_shim *ip4_shim_attach(struct vnet *v, struct udp_state *us, struct ifnet *ifp,
    const uint8_t peer[6], uint32_t addr);
void ip4_shim_detach(struct ip4_shim *sh);
uint64_t ip4_shim_drops(struct ip4_shim *sh);	/* input drops, summed */

#endif
