/*
 * inet_fixture.h - three vnets with IPv4 over two wire links, for the inet tests.
 *
 *   A a0 192.0.2.1/24  ===w1===  b0 192.0.2.2/24  B  b1 198.51.100.1/24 ===w2=== c0 198.51.100.2/24 C
 *
 * A and C route each other's prefix (and A 203.0.113.0/24) through B, which forwards.  w2 has MTU 1280, so datagrams
 * from A to C above that are fragmented again at B (or refused with DF).  All vnets
 * share one mbuf pool set, destroyed last: a leaked mbuf fails the teardown.
 *
 * The kern runs on the fixture's clock (kern_config.time): real monotonic time until a
 * test freezes it (fix_clock_freeze), so that what depends on elapsed time (token
 * buckets, timers) cannot move under a test that counts, however loaded the machine.
 * It never goes backwards: every reading is at least the previous one.
 */
#ifndef SMPNET_TESTS_INET_FIXTURE_H
#define SMPNET_TESTS_INET_FIXTURE_H

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dev/wire.h"
#include "kern/kern.h"
#include "kern/ktime.h"
#include "kern/psz.h"
#include "mbuf/mbuf.h"
#include "net/if_var.h"
#include "net/vnet.h"
#include "netinet/arp.h"
#include "netinet/icmp.h"
#include "netinet/in_var.h"

#define IP4(a, b, c, d)	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define A_ADDR	IP4(192, 0, 2, 1)
#define B_ADDR0	IP4(192, 0, 2, 2)
#define B_ADDR1	IP4(198, 51, 100, 1)
#define C_ADDR	IP4(198, 51, 100, 2)


/* The fixture's clock: real time, or frozen at fc_frozen (non-zero). */
struct fix_clock {
	_Atomic uint64_t	 fc_frozen;	/* [a] 0: running */
	_Atomic uint64_t	 fc_last;	/* [a] the largest reading returned */
};

struct fix {
	struct fix_clock	 clock;
	struct ktime_ops	 clock_ops;
	struct kern		*k;
	struct mbuf_pools	*pools;
	struct vnet		*a, *b, *c;
	struct wire		*w1, *w2;
	struct ifnet		*a0, *b0, *b1, *c0;
};

static inline uint64_t
fix_clock_now(void *arg)
{
	struct fix_clock *c = arg;
	uint64_t t = atomic_load_explicit(&c->fc_frozen, memory_order_acquire);
	uint64_t last = atomic_load_explicit(&c->fc_last, memory_order_relaxed);

	if (t == 0)
		t = ktime_mono();
	/* keep it monotonic across freeze/thaw and racing readers (relaxed: a max) */
	while (t > last && !atomic_compare_exchange_weak_explicit(&c->fc_last, &last, t,
	    memory_order_relaxed, memory_order_relaxed))
		;
	return t > last ? t : last;
}

/* Stop the fixture's clock at the current reading / let it run again. */
static inline void
fix_clock_freeze(struct fix *f)
{
	/* release: pairs with fix_clock_now's acquire */
	atomic_store_explicit(&f->clock.fc_frozen, fix_clock_now(&f->clock),
	    memory_order_release);
}

static inline void
fix_clock_thaw(struct fix *f)
{
	atomic_store_explicit(&f->clock.fc_frozen, 0, memory_order_release);
}

static inline struct vnet *
fix_vnet(struct fix *f, const char *name)
{
	struct vnet_config vc = { .name = name, .pools = f->pools };
	struct vnet *v = vnet_create(f->k, &vc);

	if (v == NULL || vnet_domain_attach(v, &inet_domain) < 0)
		abort();
	return v;
}

static inline int
fix_init_mode(struct fix *f, int ncpu, int nqueues, bool giant)
{
	struct kern_config kc = { .ncpu = ncpu, .nopin = true, .giant = giant,
	    .time = &f->clock_ops };
	struct mbuf_pools_config pc = { .ncpu = ncpu };
	struct wire_config w1c = { .nports = 2, .nqueues = nqueues };
	struct wire_config w2c = { .nports = 2, .nqueues = nqueues, .mtu = 1280 };

	memset(f, 0, sizeof(*f));
	f->clock_ops.kt_now = fix_clock_now;
	f->clock_ops.kt_arg = &f->clock;
	if ((f->k = kern_create(&kc)) == NULL)
		return -1;
	pc.owner = f->k;
	if ((f->pools = mbuf_pools_create(&pc)) == NULL)
		return -1;
	f->a = fix_vnet(f, "A");
	f->b = fix_vnet(f, "B");
	f->c = fix_vnet(f, "C");
	f->w1 = wire_create(f->k, &w1c);
	f->w2 = wire_create(f->k, &w2c);
	if (f->w1 == NULL || f->w2 == NULL)
		return -1;
	f->a0 = wire_port_attach(f->w1, 0, f->a, "a0", NULL);
	f->b0 = wire_port_attach(f->w1, 1, f->b, "b0", NULL);
	f->b1 = wire_port_attach(f->w2, 0, f->b, "b1", NULL);
	f->c0 = wire_port_attach(f->w2, 1, f->c, "c0", NULL);
	if (!f->a0 || !f->b0 || !f->b1 || !f->c0)
		return -1;
	if (in_addr_add(f->a0, A_ADDR, 24) || in_addr_add(f->b0, B_ADDR0, 24) ||
	    in_addr_add(f->b1, B_ADDR1, 24) || in_addr_add(f->c0, C_ADDR, 24))
		return -1;
	/* Prefix routes rather than defaults: a /0 costs a full DIR-24-8 fill (~0.5 s). */
	if (in_route_add(f->a, IP4(198, 51, 100, 0), 24, B_ADDR0, NULL) ||
	    in_route_add(f->a, IP4(203, 0, 113, 0), 24, B_ADDR0, NULL) ||
	    in_route_add(f->c, IP4(192, 0, 2, 0), 24, B_ADDR1, NULL))
		return -1;
	return vnet_setting_set(f->b, "net.inet.ip.forwarding", 1);
}

static inline int
fix_init(struct fix *f, int ncpu, int nqueues)
{
	return fix_init_mode(f, ncpu, nqueues, false);
}

/* Tear down; returns mbuf_pools_destroy's result (-EBUSY: an mbuf leaked). */
static inline int
fix_fini(struct fix *f)
{
	int rc;

	wire_destroy(f->w1);
	wire_destroy(f->w2);
	vnet_destroy(f->a);
	vnet_destroy(f->b);
	vnet_destroy(f->c);
	psz_barrier();
	rc = mbuf_pools_destroy(f->pools);
	kern_destroy(f->k);
	return rc;
}

static inline void
fix_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Poll cond(arg) every millisecond for at most ms milliseconds. */
static inline int
fix_wait(int (*cond)(void *), void *arg, int ms)
{
	uint64_t end = ktime_mono() + (uint64_t)ms * 1000000ull;

	while (!cond(arg)) {
		if (ktime_mono() > end)
			return -1;
		fix_sleep_ms(1);
	}
	return 0;
}

#endif /* SMPNET_TESTS_INET_FIXTURE_H */
