/*
 * bench_topo.h - the IPv4 test topologies several benchmarks build on one kern:
 * stacks with the inet domain, and the chain A --wire1-- R --wire2-- B with
 * 192.0.2.0/24 on the first wire (A .1, R .2) and 198.51.100.0/24 on the second (R .1,
 * B .2), R forwarding.  Callers add the routes their traffic needs.  Control path (may
 * block).
 */
#ifndef SMPNET_BENCH_TOPO_H
#define SMPNET_BENCH_TOPO_H

#include <stdint.h>

struct kern;
struct vnet;
struct wire;

/* Host-order IPv4 address from its four bytes. */
#define IP4(a, b, c, d)	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

/* A stack on k with the inet domain attached, or NULL. */
struct vnet *bench_inet_vnet(struct kern *k);

/*
 * Wire a, r and b into the chain above (two 2-queue wires of 4096-slot rings, stored in
 * *w1 and *w2 for the caller to destroy) and turn on forwarding in r.  0, -ENOMEM or
 * -EINVAL.
 */
int bench_inet_chain(struct kern *k, struct vnet *a, struct vnet *r, struct vnet *b,
    struct wire **w1, struct wire **w2);

#endif /* SMPNET_BENCH_TOPO_H */
