/*
 * fuzz_ether.c - libFuzzer target: bytes as a received Ethernet frame through the
 * interface input path of a real vnet: rss_frame_hash (the wire/loop drivers' RSS),
 * if_input -> ether_input (parse, destination filter with a joined multicast group and
 * toggled PROMISC/ALLMULTI, dispatch by ethertype) -> handlers that read every byte.
 * The first input byte selects the interface flags; the rest is the frame.  Every mbuf
 * must return to its pool (checked at each input), so leaks on any drop path are found.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dev/rss.h"
#include "kern/kern.h"
#include "kern/psz.h"
#include "lib/toeplitz.h"
#include "mbuf/mbuf.h"
#include "net/ether.h"
#include "net/if_dispatch.h"
#include "net/if_var.h"
#include "net/vnet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
	struct kern	*k;
	struct vnet	*v;
	struct ifnet	*ifp;
	struct toeplitz	 tz;
	uint64_t	 sink;
};

static int
fz_transmit(struct ifnet *ifp, struct if_txq *txq, struct mbuf *m)
{
	(void)ifp;
	(void)txq;
	m_freem(m);
	return 0;
}

static int
fz_poll(struct ifnet *ifp, struct if_rxq *rxq, int budget)
{
	(void)ifp;
	(void)rxq;
	(void)budget;
	return 0;
}

static const struct if_ops fz_ops = { .ifo_transmit = fz_transmit, .ifo_poll = fz_poll };

/* Read every byte of the payload (so ASan checks the mbuf bounds), then free. */
static void
fz_handler(struct ifnet *ifp, struct mbuf *m, void *arg)
{
	struct fz *f = arg;
	uint8_t buf[2048];
	int len = m->m_pkthdr.len;

	(void)ifp;
	if (len > (int)sizeof(buf))
		len = sizeof(buf);
	if (m_copydata(m, 0, len, buf) == 0 && len > 0)
		f->sink += buf[len - 1];
	m_freem(m);
}

static struct fz *
fz_setup(void)
{
	static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 1 };
	static const uint8_t grp[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	struct kern_config kc = { .ncpu = 1, .nopin = true };
	struct if_config ic = { .name = "fz0", .type = IFT_ETHER, .lladdr = mac,
	    .flags = IFF_BROADCAST | IFF_MULTICAST, .ops = &fz_ops };
	static const uint16_t types[] = { ETHERTYPE_IP, ETHERTYPE_ARP, ETHERTYPE_IPV6,
	    ETHERTYPE_VLAN, ETHERTYPE_SMPNET_TEST };
	struct fz *f = calloc(1, sizeof(*f));
	size_t i;

	if (f == NULL || (f->k = kern_create(&kc)) == NULL ||
	    (f->v = vnet_create(f->k, NULL)) == NULL)
		abort();
	ic.softc = f;
	if ((f->ifp = if_alloc(f->v, &ic)) == NULL || if_attach(f->ifp) != 0 ||
	    if_up(f->ifp) != 0 || if_multi_join(f->ifp, grp) != 0)
		abort();
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (dispatch_ether_register(f->v, types[i], fz_handler, f) != 0)
			abort();
	toeplitz_init(&f->tz, toeplitz_default_key);
	return f;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz *f;	/* libFuzzer gives no context: one stack per process */
	struct pool_stats st[3];
	struct mbuf *m;
	uint32_t flags;

	if (f == NULL)
		f = fz_setup();
	if (size < 1 || size > 9000)
		return 0;
	flags = (data[0] & 1 ? IFF_PROMISC : 0) | (data[0] & 2 ? IFF_ALLMULTI : 0);
	(void)if_setflags(f->ifp, flags, (IFF_PROMISC | IFF_ALLMULTI) & ~flags);
	if ((m = m_devget(f->v->v_pools, data + 1, (int)size - 1, 0, 0)) == NULL)
		return 0;
	m->m_pkthdr.flowid = rss_frame_hash(&f->tz, m, &m->m_pkthdr.hashtype);
	psz_read_enter();
	if_input(f->ifp, &f->ifp->if_rxq[0], m);
	psz_read_exit();
	mbuf_pools_stats(f->v->v_pools, st);
	if (st[0].inuse != 0 || st[1].inuse != 0 || st[2].inuse != 0)
		abort();	/* a drop path leaked the frame */
	return 0;
}
