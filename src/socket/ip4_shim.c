/*
 * ip4_shim.c - a minimal IPv4 for stacks built without the inet domain: one address per
 * stack on one Ethernet interface whose peer's MAC is known (a wire pair), no routing,
 * no ARP, no fragmentation, no options.  It exists so that UDP, its tests and the udp/lrp
 * benchmarks run end to end over the in-memory wire before the IPv4 domain is merged;
 * once it is, smpnet_create() attaches that domain and this file is not used.
 *
 * Input (ethertype 0x0800 handler): one sanity check (ip4_parse: version, lengths; header
 * checksum), fragments and packets not for our address (unicast), the limited broadcast
 * or a multicast group are dropped and counted; then dispatch by protocol through the
 * vnet's table.  Output: prepend a 20-byte header (DF clear, ID from a per-CPU counter),
 * checksum it and hand the frame to ether_output towards the peer's MAC.
 *
 * State: struct ip4_shim, [I] after ip4_shim_attach except the counters.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kern/kern.h"
#include "kern/pcpu.h"
#include "kern/psz.h"
#include "lib/cksum.h"
#include "mbuf/mbuf.h"
#include "net/ether.h"
#include "net/ifnet.h"
#include "net/if_dispatch.h"
#include "net/vnet.h"
#include "netinet/ip_wire.h"
#include "netinet/udp_var.h"
#include "socket/ip4_shim.h"

struct ip4_shim_pcpu {
	_Atomic uint64_t	 ids;		/* [c] or [a] IP ID counter */
	_Atomic uint64_t	 drops;		/* [c] or [a] input drops */
};

struct ip4_shim {
	struct vnet		*sh_vnet;	/* [I] */
	struct kern		*sh_kern;	/* [I] */
	struct ifnet		*sh_ifp;	/* [I] */
	uint8_t			 sh_peer[ETHER_ADDR_LEN];	/* [I] */
	uint32_t		 sh_addr;	/* [I] network order */
	void			*sh_pcpu;	/* [I] */
};

static struct ip4_shim_pcpu *
shim_self(struct ip4_shim *sh, int *foreign)
{
	int ncpu = kern_ncpu(sh->sh_kern), slot = kcpu_slot(sh->sh_kern, ncpu);

	*foreign = slot == ncpu;
	return pcpu_at(sh->sh_pcpu, sizeof(struct ip4_shim_pcpu), slot);
}

static void
shim_drop(struct ip4_shim *sh, struct mbuf *m)
{
	int foreign;
	struct ip4_shim_pcpu *p = shim_self(sh, &foreign);

	pcpu_cell_add(&p->drops, 1, foreign);
	m_freem(m);
}

static bool
shim_for_us(const struct ip4_shim *sh, uint32_t dst)
{
	uint32_t d = ntohl(dst);

	return dst == sh->sh_addr || d == 0xffffffffu || (d & 0xf0000000u) == 0xe0000000u;
}

static void
shim_input(struct ifnet *ifp, struct mbuf *m, void *arg)
{
	struct ip4_shim *sh = arg;
	const uint8_t *ip;
	uint32_t dst;
	int hl, totlen;

	if (m->m_len < IP4_HDR_LEN && (m = m_pullup(m, IP4_HDR_LEN)) == NULL)
		return;
	hl = (mtod(m, uint8_t *)[0] & 0xf) * 4;
	if (hl < IP4_HDR_LEN || (hl > m->m_len && (m = m_pullup(m, hl)) == NULL)) {
		if (m != NULL)
			shim_drop(sh, m);
		return;
	}
	ip = mtod(m, const uint8_t *);
	totlen = (ip[2] << 8) | ip[3];
	memcpy(&dst, ip + 16, 4);
	if ((ip[0] >> 4) != 4 || totlen < hl || totlen > m->m_pkthdr.len ||
	    in_cksum(ip, (size_t)hl) != 0 || (((ip[6] << 8) | ip[7]) & 0x3fff) != 0 ||
	    !shim_for_us(sh, dst)) {
		shim_drop(sh, m);
		return;
	}
	if (m->m_pkthdr.len > totlen)
		m_adj(m, -(m->m_pkthdr.len - totlen));
	(void)dispatch_ipproto_input(sh->sh_vnet, DISPATCH_INET, ip[9], ifp, m, hl);
}

static int
shim_output(void *arg, struct mbuf *m, const struct udp_ip_out *o)
{
	struct ip4_shim *sh = arg;
	struct ip4_fields f = { .if_tos = o->uo_tos, .if_ttl = o->uo_ttl,
	    .if_proto = 17, .if_src = ntohl(o->uo_src), .if_dst = ntohl(o->uo_dst),
	    .if_payload_len = (size_t)m->m_pkthdr.len };
	int foreign, r;
	uint16_t sum;
	struct ip4_shim_pcpu *p = shim_self(sh, &foreign);

	if (m->m_pkthdr.len + IP4_HDR_LEN > (int)if_mtu(sh->sh_ifp)) {
		m_freem(m);
		return -EMSGSIZE;	/* the shim does not fragment */
	}
	/* per-CPU: a plain increment on a CPU thread, fetch_add on the shared slot */
	f.if_id = (uint16_t)(atomic_load_explicit(&p->ids, memory_order_relaxed) +
	    (uint64_t)kcpu_slot(sh->sh_kern, kern_ncpu(sh->sh_kern)) * 7919u);
	pcpu_cell_add(&p->ids, 1, foreign);
	M_PREPEND(m, IP4_HDR_LEN);
	if (m == NULL)
		return -ENOBUFS;
	(void)ip4_emit(mtod(m, uint8_t *), IP4_HDR_LEN, &f);
	sum = in_cksum(mtod(m, uint8_t *), IP4_HDR_LEN);
	memcpy(mtod(m, uint8_t *) + 10, &sum, 2);
	psz_read_enter();
	r = ether_output(sh->sh_ifp, m, sh->sh_peer, ETHERTYPE_IP);
	psz_read_exit();
	return r;
}

static int
shim_select_src(void *arg, uint32_t dst, uint32_t *src)
{
	struct ip4_shim *sh = arg;

	if (sh->sh_addr == 0)
		return -EADDRNOTAVAIL;
	*src = sh->sh_addr;
	return 0;
}

struct ip4_shim *
ip4_shim_attach(struct vnet *v, struct udp_state *us, struct ifnet *ifp,
    const uint8_t peer[6], uint32_t addr)
{
	static const struct udp_ip_ops ops = { .output = shim_output,
	    .select_src = shim_select_src };
	struct ip4_shim *sh = calloc(1, sizeof(*sh));
	int err;

	if (sh == NULL)
		return NULL;
	sh->sh_vnet = v;
	sh->sh_kern = vnet_kern(v);
	sh->sh_ifp = ifp;
	sh->sh_addr = addr;
	memcpy(sh->sh_peer, peer, ETHER_ADDR_LEN);
	if ((sh->sh_pcpu = pcpu_alloc(sh->sh_kern, sizeof(struct ip4_shim_pcpu))) == NULL) {
		free(sh);
		return NULL;
	}
	if ((err = dispatch_ether_register(v, ETHERTYPE_IP, shim_input, sh)) != 0) {
		pcpu_free(sh->sh_pcpu);
		free(sh);
		errno = -err;
		return NULL;
	}
	udp_set_ip_ops(us, &ops, sh);
	return sh;
}

void
ip4_shim_detach(struct ip4_shim *sh)
{
	(void)dispatch_ether_unregister(sh->sh_vnet, ETHERTYPE_IP);
	pcpu_free(sh->sh_pcpu);
	free(sh);
}

uint64_t
ip4_shim_drops(struct ip4_shim *sh)
{
	uint64_t n = 0;

	for (int s = 0; s <= kern_ncpu(sh->sh_kern); s++) {
		struct ip4_shim_pcpu *p = pcpu_at(sh->sh_pcpu, sizeof(*p), s);

		n += atomic_load_explicit(&p->drops, memory_order_relaxed);
	}
	return n;
}
