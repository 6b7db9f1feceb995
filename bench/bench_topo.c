/*
 * bench_topo.c - IPv4 benchmark topologies (see bench_topo.h).
 */
#include "bench_topo.h"

#include <errno.h>

#include "dev/wire.h"
#include "net/vnet.h"
#include "netinet/inet.h"

struct vnet *
bench_inet_vnet(struct kern *k)
{
	struct vnet *v = vnet_create(k, NULL);

	if (v != NULL && vnet_domain_attach(v, &inet_domain) < 0) {
		vnet_destroy(v);
		return NULL;
	}
	return v;
}

int
bench_inet_chain(struct kern *k, struct vnet *a, struct vnet *r, struct vnet *b,
    struct wire **w1, struct wire **w2)
{
	struct wire_config wc = { .nports = 2, .nqueues = 2, .ring_size = 4096 };
	struct ifnet *a0, *r0, *r1, *b0;

	if ((*w1 = wire_create(k, &wc)) == NULL || (*w2 = wire_create(k, &wc)) == NULL)
		return -ENOMEM;
	a0 = wire_port_attach(*w1, 0, a, "a0", NULL);
	r0 = wire_port_attach(*w1, 1, r, "r0", NULL);
	r1 = wire_port_attach(*w2, 0, r, "r1", NULL);
	b0 = wire_port_attach(*w2, 1, b, "b0", NULL);
	if (!a0 || !r0 || !r1 || !b0)
		return -ENOMEM;
	if (in_addr_add(a0, IP4(192, 0, 2, 1), 24) || in_addr_add(r0, IP4(192, 0, 2, 2), 24) ||
	    in_addr_add(r1, IP4(198, 51, 100, 1), 24) ||
	    in_addr_add(b0, IP4(198, 51, 100, 2), 24))
		return -EINVAL;
	return vnet_setting_set(r, "net.inet.ip.forwarding", 1) != 0 ? -EINVAL : 0;
}
