/*
 * smpnet.c - a stack as the public API sees it: a vnet on a kern, plus the socket layer's
 * per-stack state (the protocol registry and the receive-processing setting).
 *
 * smpnet_create() makes (or shares) a kern, creates the vnet, then attaches the
 * protocols built into the library (udp_attach: UDP over IPv4, which registers its
 * IP-protocol handler and its PCB table).  The protocol registry is a small array filled
 * at creation and immutable afterwards ([I]), so smpnet_socket() reads it without a lock.
 *
 * Setting net.lrp.lazy (0/1): eager or lazy receive processing, read with one relaxed load
 * on the data path (vnet_setting_read).
 *
 * Leak accounting (smpnet_destroy_checked): st_nsockets counts sockets from creation to
 * the free after their grace period; teardown waits for those frees (psz_barrier), so
 * the count is exact when it is read.  Mbufs: vnet_destroy() fails to destroy the
 * stack's pools (-EBUSY) while any object is out; the pools' own counters then say how
 * many.
 *
 * SMPNET_NOPIN=1 in the environment (or config.nopin) leaves the CPU threads unpinned
 * (kern_create honours both).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kern/kern.h"
#include "kern/pool.h"
#include "mbuf/mbuf.h"
#include "kern/psz.h"
#include "dev/wire.h"
#include "net/ifnet.h"
#include "net/vnet.h"
#include "netinet/inet.h"
#include "netinet/udp_inet.h"
#include "netinet/udp_var.h"
#include "smpnet/smpnet.h"
#include "socket/socket_var.h"

#define SMPNET_MAXPROTO	8

struct smpnet_proto {
	const struct protosw	*sp_pr;		/* [I] */
	void			*sp_state;	/* [I] */
};

struct smpnet {
	struct kern		*st_kern;	/* [I] */
	struct vnet		*st_vnet;	/* [I] */
	struct smpnet		*st_share;	/* [I] kern owner, or NULL if we own it */
	struct vnet_setting	*st_lazy;	/* [I] net.lrp.lazy */
	struct udp_state	*st_udp;	/* [I] */
	struct wire		*st_wire;	/* [W control] link this stack owns */
	bool			 st_linked;	/* [W control] has a wire link */
	bool			 st_udp_inet;	/* [W control] UDP joined to the inet domain */
	int			 st_nproto;	/* [I] after creation */
	_Atomic uint64_t	 st_nsockets;	/* [a] sockets not yet freed */
	struct smpnet_proto	 st_proto[SMPNET_MAXPROTO];	/* [I] */
};

struct kern *
smpnet_kern_of(const struct smpnet *st)
{
	return st->st_kern;
}

struct vnet *
smpnet_vnet_of(const struct smpnet *st)
{
	return st->st_vnet;
}

bool
smpnet_lazy(const struct smpnet *st)
{
	return vnet_setting_read(st->st_lazy) != 0;
}

int
smpnet_proto_register(struct smpnet *st, const struct protosw *pr, void *pstate)
{
	if (st->st_nproto == SMPNET_MAXPROTO)
		return -ENOSPC;
	st->st_proto[st->st_nproto].sp_pr = pr;
	st->st_proto[st->st_nproto++].sp_state = pstate;
	return 0;
}

const struct protosw *
smpnet_proto_find(struct smpnet *st, int family, int type, int protocol, void **pstate)
{
	bool family_seen = false, type_seen = false;

	for (int i = 0; i < st->st_nproto; i++) {
		const struct protosw *pr = st->st_proto[i].sp_pr;

		if (pr->pr_family != family)
			continue;
		family_seen = true;
		if (pr->pr_type != type)
			continue;
		type_seen = true;
		if (protocol != 0 && protocol != pr->pr_protocol)
			continue;
		*pstate = st->st_proto[i].sp_state;
		return pr;
	}
	errno = !family_seen ? EAFNOSUPPORT : !type_seen ? EPROTOTYPE : EPROTONOSUPPORT;
	return NULL;
}

static int
smpnet_kern_setup(struct smpnet *st, const struct smpnet_config *cfg)
{
	struct kern_config kc = { .ncpu = cfg->ncpu, .giant = cfg->giant,
	    .nopin = cfg->nopin };

	if (cfg->share != NULL) {
		st->st_kern = cfg->share->st_kern;
		st->st_share = cfg->share;
		return 0;
	}
	if ((st->st_kern = kern_create(&kc)) == NULL)
		return -errno;
	return 0;
}

static int
smpnet_setup(struct smpnet *st, const struct smpnet_config *cfg)
{
	struct vnet_config vc = { .name = cfg->name };
	int err;

	if ((err = smpnet_kern_setup(st, cfg)) != 0)
		return err;
	if ((st->st_vnet = vnet_create(st->st_kern, &vc)) == NULL)
		return -errno;
	if ((err = vnet_setting_register(st->st_vnet, "net.lrp.lazy", 0, 1, cfg->lazy ? 1 : 0,
	    "lazy receive processing (early demux and drop; work at the receiver)",
	    &st->st_lazy)) != 0)
		return err;
	if ((err = vnet_domain_attach(st->st_vnet, &inet_domain)) < 0)
		return err;
	if ((st->st_udp = udp_attach(st)) == NULL)
		return -errno;
	if ((err = udp_inet_attach(st->st_udp, st->st_vnet)) != 0)
		return err;
	st->st_udp_inet = true;
	return 0;
}

void
smpnet_sockets_add(struct smpnet *st, int delta)
{
	/* relaxed: a count read after psz_barrier(), which orders the frees before it */
	atomic_fetch_add_explicit(&st->st_nsockets, (uint64_t)(int64_t)delta,
	    memory_order_relaxed);
}

/* The vnet's pools' objects still out, if vnet_destroy() could not free them. */
static void
smpnet_pool_leaks(struct mbuf_pools *mp, struct smpnet_leaks *lk)
{
	struct pool_stats ps[3];

	mbuf_pools_stats(mp, ps);
	lk->mbufs = ps[0].inuse;
	lk->clusters = ps[1].inuse + ps[2].inuse;
}

static void
smpnet_teardown(struct smpnet *st, struct smpnet_leaks *lk)
{
	struct mbuf_pools *mp = st->st_vnet != NULL ? st->st_vnet->v_pools : NULL;

	if (st->st_wire != NULL)
		wire_destroy(st->st_wire);
	if (st->st_udp_inet)
		udp_inet_detach(st->st_udp, st->st_vnet);
	if (st->st_udp != NULL)
		udp_detach(st->st_udp);
	psz_barrier();		/* sockets freed after their grace periods */
	lk->sockets = atomic_load_explicit(&st->st_nsockets, memory_order_relaxed);
	if (st->st_vnet != NULL && vnet_destroy(st->st_vnet) == -EBUSY)
		smpnet_pool_leaks(mp, lk);	/* left allocated by vnet_destroy */
	if (st->st_kern != NULL && st->st_share == NULL)
		kern_destroy(st->st_kern);
	free(st);
}

struct smpnet *
smpnet_create(const struct smpnet_config *cfg)
{
	static const struct smpnet_config defaults;
	struct smpnet *st;
	int err;

	if (cfg == NULL)
		cfg = &defaults;
	if (cfg->ncpu < 0 || cfg->ncpu > KERN_MAXCPU) {
		errno = EINVAL;
		return NULL;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	if ((err = smpnet_setup(st, cfg)) != 0) {
		struct smpnet_leaks lk;

		smpnet_teardown(st, &lk);
		errno = -err;
		return NULL;
	}
	return st;
}

void
smpnet_destroy(struct smpnet *st)
{
	(void)smpnet_destroy_checked(st, NULL);
}

int
smpnet_destroy_checked(struct smpnet *st, struct smpnet_leaks *leaks)
{
	struct smpnet_leaks lk = { 0, 0, 0 };

	if (st != NULL)
		smpnet_teardown(st, &lk);
	if (leaks != NULL)
		*leaks = lk;
	return lk.sockets != 0 || lk.mbufs != 0 || lk.clusters != 0 ? -EBUSY : 0;
}

int
smpnet_ncpu(const struct smpnet *st)
{
	return kern_ncpu(st->st_kern);
}

bool
smpnet_giant(const struct smpnet *st)
{
	return kern_giant(st->st_kern);
}

int
smpnet_setting_set(struct smpnet *st, const char *name, int64_t value)
{
	return vnet_setting_set(st->st_vnet, name, value);
}

int
smpnet_setting_get(struct smpnet *st, const char *name, int64_t *value)
{
	return vnet_setting_get(st->st_vnet, name, value);
}

/* The stack's UDP state (for tests and benchmarks inside the library's tree). */
struct udp_state *
smpnet_udp_of(const struct smpnet *st)
{
	return st->st_udp;
}

/*
 * A symmetric RSS key (0x6d5a repeated: Woo and Park, "Scalable TCP session monitoring
 * with symmetric receive-side scaling", 2012): the Toeplitz hash of a flow equals that of
 * its reverse, so both directions of a flow land on the same queue index, hence the
 * same CPU on both stacks - a request and its reply never cross CPUs.
 */
static const uint8_t smpnet_rss_symmetric_key[40] = {
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
};

int
smpnet_wire_pair(struct smpnet *a, uint32_t addr_a, struct smpnet *b, uint32_t addr_b,
    int nqueues)
{
	struct wire_config wc = { .nports = 2, .rss_key = smpnet_rss_symmetric_key };
	struct ifnet *ia, *ib;
	int err;

	if (a == NULL || b == NULL || a == b || nqueues < 0 || nqueues > IF_MAXQUEUES)
		return -EINVAL;
	if (a->st_linked || b->st_linked)
		return -EBUSY;
	wc.nqueues = nqueues ? nqueues : kern_ncpu(a->st_kern);
	if (wc.nqueues > IF_MAXQUEUES)
		wc.nqueues = IF_MAXQUEUES;
	if ((a->st_wire = wire_create(a->st_kern, &wc)) == NULL)
		return -errno;
	if ((ia = wire_port_attach(a->st_wire, 0, a->st_vnet, "wire0", NULL)) == NULL ||
	    (ib = wire_port_attach(a->st_wire, 1, b->st_vnet, "wire0", NULL)) == NULL)
		return -errno;
	a->st_linked = b->st_linked = true;
	if ((err = in_addr_add(ia, ntohl(addr_a), 24)) != 0 ||
	    (err = in_addr_add(ib, ntohl(addr_b), 24)) != 0)
		return err;
	return 0;
}

struct wire *
smpnet_wire_of(const struct smpnet *st)
{
	return st->st_wire;
}
