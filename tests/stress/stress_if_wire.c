/*
 * stress_if_wire.c - many threads transmitting on both ports of a wire pair while the
 * interfaces are brought down and up, one port is detached and attached again, and the
 * receive handlers are replaced and unregistered.  At the end every frame is accounted
 * for, per direction and in total:
 *
 *   attempts            = if_transmit successes + failures (-ENETDOWN ...)
 *   wire tx (both ports) = delivered + no_peer + ring_full
 *   delivered            = handled (handlers A and B) + unknown ethertype + flushed
 *
 * and every mbuf is back in its pool (vnet_destroy returns 0).  Runs bounded in count
 * and time; the seed of the control threads' choices is printed.  Run it under TSan and
 * ASan as well (build-tsan/, build-asan/).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "dev/wire.h"
#include "net/if_dispatch.h"
#include "../unit/nettest.h"

#define NSENDERS	4	/* two per port */
#define PER_SENDER	25000
#define MAX_SECONDS	12.0

struct handler_count {
	_Atomic uint64_t	n;
};

struct stress {
	struct kern		*k;
	struct vnet		*v[2];
	struct wire		*w;
	const uint8_t		*mac[2];
	struct handler_count	 ha[2], hb[2];
	_Atomic bool		 stop;
	_Atomic uint64_t	 ok[2], fail[2], noif[2];
	_Atomic int		 running;
	uint64_t		 seed;
	double			 t0;
};

static const uint8_t mac0[6] = { 0x02, 0, 0, 0, 0xaa, 1 };
static const uint8_t mac1[6] = { 0x02, 0, 0, 0, 0xbb, 2 };

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void
count_handler(struct ifnet *ifp, struct mbuf *m, void *arg)
{
	struct handler_count *c = arg;

	(void)ifp;
	atomic_fetch_add_explicit(&c->n, 1, memory_order_relaxed);
	m_freem(m);
}

struct sender_arg {
	struct stress	*s;
	int		 port;
	uint32_t	 id;
};

static void *
sender(void *arg)
{
	struct sender_arg *a = arg;
	struct stress *s = a->s;
	int p = a->port, i;

	for (i = 0; i < PER_SENDER && !atomic_load(&s->stop); i++) {
		struct mbuf *m = nt_frame(s->v[p], s->mac[1 - p], s->mac[p],
		    ETHERTYPE_SMPNET_TEST, 16 + (i % 200), a->id, (uint32_t)i);
		struct ifnet *ifp;

		if (m == NULL) {	/* pool empty for a moment: frames in flight */
			nt_sleep_ms(1);
			continue;
		}
		psz_read_enter();
		ifp = wire_port_ifnet(s->w, p);
		if (ifp == NULL) {
			psz_read_exit();
			m_freem(m);
			atomic_fetch_add(&s->noif[p], 1);
			continue;
		}
		if (if_transmit(ifp, m) == 0)
			atomic_fetch_add(&s->ok[p], 1);
		else
			atomic_fetch_add(&s->fail[p], 1);
		psz_read_exit();
		if (i % 512 == 511)
			nt_sleep_ms(1);	/* let the receivers breathe on 2 cores */
	}
	atomic_fetch_sub(&s->running, 1);
	return NULL;
}

static uint64_t
rng_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Bring interfaces down/up and detach/attach port 1, at random. */
static void *
toggler(void *arg)
{
	struct stress *s = arg;
	uint64_t x = s->seed;
	int n = 0;

	while (atomic_load(&s->running) > 0 && now_s() - s->t0 < MAX_SECONDS) {
		uint64_t r = rng_next(&x);
		int p = (int)(r & 1);

		if ((r >> 1) % 8 == 0) {
			(void)wire_port_detach(s->w, 1);
			nt_sleep_ms(1);
			if (wire_port_attach(s->w, 1, s->v[1], "wb0", mac1) == NULL) {
				fprintf(stderr, "reattach failed: %d\n", errno);
				abort();
			}
		} else {
			struct ifnet *ifp;

			/* control path: the port's ifnet cannot go away under us here, as
			 * only this thread detaches */
			psz_read_enter();
			ifp = wire_port_ifnet(s->w, p);
			psz_read_exit();
			if (ifp != NULL) {
				(void)if_down(ifp);
				nt_sleep_ms(1);
				(void)if_up(ifp);
			}
		}
		n++;
		nt_sleep_ms(2);
	}
	printf("toggler: %d changes\n", n);
	return NULL;
}

/* Replace and unregister the receive handlers at random. */
static void *
swapper(void *arg)
{
	struct stress *s = arg;
	uint64_t x = s->seed * 31 + 7;
	int n = 0;

	while (atomic_load(&s->running) > 0 && now_s() - s->t0 < MAX_SECONDS) {
		uint64_t r = rng_next(&x);
		int p = (int)(r & 1);

		switch ((r >> 1) % 3) {
		case 0:
			(void)dispatch_ether_register(s->v[p], ETHERTYPE_SMPNET_TEST,
			    count_handler, &s->ha[p]);
			break;
		case 1:
			(void)dispatch_ether_register(s->v[p], ETHERTYPE_SMPNET_TEST,
			    count_handler, &s->hb[p]);
			break;
		default:
			(void)dispatch_ether_unregister(s->v[p], ETHERTYPE_SMPNET_TEST);
			break;
		}
		n++;
		nt_sleep_ms(1);
	}
	printf("swapper: %d changes\n", n);
	return NULL;
}

/* Wait until the receive side stops moving (everything in flight has landed). */
static void
quiesce(struct stress *s)
{
	uint64_t prev = UINT64_MAX, cur;
	struct dispatch_stats ds[2];
	int i, stable = 0;

	for (i = 0; i < 10000 && stable < 50; i++) {
		dispatch_stats(s->v[0], &ds[0]);
		dispatch_stats(s->v[1], &ds[1]);
		cur = ds[0].ds_ether_unknown + ds[1].ds_ether_unknown +
		    atomic_load(&s->ha[0].n) + atomic_load(&s->hb[0].n) +
		    atomic_load(&s->ha[1].n) + atomic_load(&s->hb[1].n);
		stable = cur == prev ? stable + 1 : 0;
		prev = cur;
		nt_sleep_ms(2);
	}
}

static int
check(struct stress *s)
{
	struct wire_stats ws[2];
	struct dispatch_stats ds[2];
	uint64_t tx = 0, deliv = 0, nopeer = 0, full = 0, flushed = 0, handled = 0;
	uint64_t unknown = 0, ok = 0, fail = 0;
	int p, bad = 0;

	for (p = 0; p < 2; p++) {
		(void)wire_port_stats(s->w, p, &ws[p]);
		dispatch_stats(s->v[p], &ds[p]);
		tx += ws[p].ws_tx;
		deliv += ws[p].ws_delivered;
		nopeer += ws[p].ws_no_peer;
		full += ws[p].ws_ring_full;
		flushed += ws[p].ws_flushed;
		handled += atomic_load(&s->ha[p].n) + atomic_load(&s->hb[p].n);
		unknown += ds[p].ds_ether_unknown;
		ok += atomic_load(&s->ok[p]);
		fail += atomic_load(&s->fail[p]);
		printf("port %d: sent ok %" PRIu64 " failed %" PRIu64 " no-if %" PRIu64
		    " | wire tx %" PRIu64 " delivered %" PRIu64 " no_peer %" PRIu64
		    " ring_full %" PRIu64 " flushed %" PRIu64 "\n", p,
		    atomic_load(&s->ok[p]), atomic_load(&s->fail[p]),
		    atomic_load(&s->noif[p]), ws[p].ws_tx, ws[p].ws_delivered,
		    ws[p].ws_no_peer, ws[p].ws_ring_full, ws[p].ws_flushed);
		if (ws[p].ws_tx != atomic_load(&s->ok[p])) {
			printf("FAIL port %d: wire tx != transmit successes\n", p);
			bad++;
		}
	}
	printf("handled %" PRIu64 " unknown %" PRIu64 " failed %" PRIu64 "\n", handled,
	    unknown, fail);
	if (tx != deliv + nopeer + full) {
		printf("FAIL: tx %" PRIu64 " != delivered + no_peer + ring_full\n", tx);
		bad++;
	}
	if (deliv != handled + unknown + flushed) {
		printf("FAIL: delivered %" PRIu64 " != handled + unknown + flushed %" PRIu64
		    "\n", deliv, handled + unknown + flushed);
		bad++;
	}
	if (handled == 0 || ok == 0) {
		printf("FAIL: no traffic went through\n");
		bad++;
	}
	return bad;
}

static int
run(bool giant, uint64_t seed)
{
	struct stress *s = calloc(1, sizeof(*s));
	pthread_t th[NSENDERS + 2];
	struct sender_arg sa[NSENDERS];
	int i, bad;

	printf("== %s mode, seed %" PRIu64 "\n", giant ? "giant" : "normal", seed);
	s->seed = seed;
	s->k = nt_kern(2, giant);
	s->v[0] = vnet_create(s->k, NULL);
	s->v[1] = vnet_create(s->k, NULL);
	s->w = wire_create(s->k, &(struct wire_config){ .nports = 2, .nqueues = 2,
	    .ring_size = 256 });
	s->mac[0] = mac0;
	s->mac[1] = mac1;
	if (s->k == NULL || s->v[0] == NULL || s->v[1] == NULL || s->w == NULL ||
	    wire_port_attach(s->w, 0, s->v[0], "wa0", mac0) == NULL ||
	    wire_port_attach(s->w, 1, s->v[1], "wb0", mac1) == NULL) {
		printf("FAIL: setup\n");
		return 1;
	}
	for (i = 0; i < 2; i++)
		(void)dispatch_ether_register(s->v[i], ETHERTYPE_SMPNET_TEST, count_handler,
		    &s->ha[i]);
	s->t0 = now_s();
	atomic_store(&s->running, NSENDERS);
	for (i = 0; i < NSENDERS; i++) {
		sa[i] = (struct sender_arg){ s, i % 2, (uint32_t)i };
		pthread_create(&th[i], NULL, sender, &sa[i]);
	}
	pthread_create(&th[NSENDERS], NULL, toggler, s);
	pthread_create(&th[NSENDERS + 1], NULL, swapper, s);
	for (i = 0; i < NSENDERS; i++) {
		if (i == 0) {	/* time bound for the senders */
			while (atomic_load(&s->running) > 0 && now_s() - s->t0 < MAX_SECONDS)
				nt_sleep_ms(10);
			atomic_store(&s->stop, true);
		}
		pthread_join(th[i], NULL);
	}
	pthread_join(th[NSENDERS], NULL);
	pthread_join(th[NSENDERS + 1], NULL);
	quiesce(s);
	bad = check(s);
	wire_destroy(s->w);
	for (i = 0; i < 2; i++)
		if (vnet_destroy(s->v[i]) != 0) {
			printf("FAIL: vnet %d: mbufs leaked\n", i);
			bad++;
		}
	kern_destroy(s->k);
	free(s);
	printf("%s: %s\n", giant ? "giant" : "normal", bad ? "FAILED" : "ok");
	return bad;
}

int
main(int argc, char **argv)
{
	uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 0x5173e55ull;
	int bad = 0;

	bad += run(false, seed);
	bad += run(true, seed + 1);
	printf("[  %s  ] stress_if_wire\n", bad ? "FAILED" : "PASSED");
	return bad ? 1 : 0;
}
