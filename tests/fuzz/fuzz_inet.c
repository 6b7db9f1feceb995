/*
 * fuzz_inet.c - libFuzzer target: bytes into one vnet's IPv4 and ARP input paths.
 *
 * The first byte picks the entry: 0 -> ip_input (the bytes are an IPv4 datagram),
 * 1 -> arp_input (an ARP packet), otherwise ether_input (a whole Ethernet frame, its
 * destination rewritten to the interface's address when the second byte is odd).  The
 * vnet has an address, a route through a gateway, forwarding on, a joined group, and a
 * handler for protocol 253, so input reaches every decision: local delivery,
 * reassembly, ICMP echo and errors, IGMP queries and reports, ARP learning and replies,
 * forwarding and fragmentation.  The port's peer is not attached, so output is dropped
 * by the wire.  Reassembly limits are small so that queues churn.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dev/wire.h"
#include "kern/kern.h"
#include "kern/psz.h"
#include "mbuf/mbuf.h"
#include "net/ether.h"
#include "net/if_dispatch.h"
#include "net/if_var.h"
#include "net/vnet.h"
#include "netinet/arp.h"
#include "netinet/in_var.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define IP4(a, b, c, d)	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

/* The fixture lives for the whole fuzzing process. */
static struct vnet *fz_v;
static struct ifnet *fz_ifp;

static void
fz_proto(struct ifnet *ifp, struct mbuf *m, int off, void *arg)
{
	m_freem(m);
}

static void
fz_init(void)
{
	struct kern_config kc = { .ncpu = 1, .nopin = true };
	struct wire_config wc = { .nports = 2, .nqueues = 1 };
	struct kern *k = kern_create(&kc);
	struct wire *w;

	if (k == NULL || (fz_v = vnet_create(k, NULL)) == NULL ||
	    vnet_domain_attach(fz_v, &inet_domain) < 0 || (w = wire_create(k, &wc)) == NULL ||
	    (fz_ifp = wire_port_attach(w, 0, fz_v, "f0", NULL)) == NULL)
		abort();
	if (in_addr_add(fz_ifp, IP4(192, 0, 2, 2), 24) ||
	    in_route_add(fz_v, IP4(198, 51, 100, 0), 24, IP4(192, 0, 2, 1), NULL) ||
	    vnet_setting_set(fz_v, "net.inet.ip.forwarding", 1) ||
	    vnet_setting_set(fz_v, "net.inet.ip.maxfragsperpacket", 8) ||
	    vnet_setting_set(fz_v, "net.inet.ip.reass.maxqueues", 4) ||
	    vnet_setting_set(fz_v, "net.inet.ip.reass.timeout_ms", 10) ||
	    in_multi_join(fz_ifp, IP4(239, 1, 1, 1)) ||
	    dispatch_ipproto_register(fz_v, DISPATCH_INET, 253, fz_proto, NULL))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mbuf *m;
	struct inet *in;

	if (fz_v == NULL)
		fz_init();
	if (size < 2 || size > 70000)
		return 0;
	in = inet_get(fz_v);
	m = m_devget(fz_v->v_pools, data + 1, (int)size - 1, 64, (uint32_t)if_index(fz_ifp));
	if (m == NULL)
		return 0;
	if (data[0] == 0) {
		ip_input(fz_ifp, m, in);
	} else if (data[0] == 1) {
		psz_read_enter();
		arp_input(fz_ifp, m, in);
		psz_read_exit();
	} else {
		if ((data[1] & 1) && m->m_len >= ETHER_ADDR_LEN)
			memcpy(mtod(m, uint8_t *), if_lladdr(fz_ifp), ETHER_ADDR_LEN);
		ether_input(fz_ifp, m);
	}
	return 0;
}
