/*
 * stress_bind.c - a wildcard bind and a specific bind of one port, racing.  Whatever the
 * interleaving, the outcome must be that of one of the two serial orders: with neither
 * SO_REUSEADDR on both sides nor SO_REUSEPORT on both, exactly one bind succeeds and the
 * other gets -EADDRINUSE; with SO_REUSEADDR (or SO_REUSEPORT) on both, both succeed.
 *
 * Stack a owns 192.0.2.1 (a wire to stack b).  Each round the main thread makes two UDP
 * sockets with the round's options and starts the round; two racer threads meet (spin
 * until both have seen the start) and bind at once, one to (ANY, port), the other to
 * (192.0.2.1, port); the roles swap every six rounds and the port moves.  The main thread
 * checks the results, closes both sockets and starts the next round.  Option mixes, by
 * round: none/none, REUSEADDR/REUSEADDR, none/none, REUSEPORT/REUSEPORT, REUSEADDR on
 * the wildcard only, REUSEADDR on the specific only.  Bounded: 2,000 rounds (500 under
 * a sanitizer) or 30 s per mode, normal then giant.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smpnet/smpnet.h"
#include "smpnet/socket.h"
#include "stress_util.h"

#define ADDR_A		"192.0.2.1"
#define ADDR_B		"192.0.2.2"
#define PORT_BASE	20000
#define PORT_SPAN	4096
#define NMIX		6
#define LIMIT_NS	30000000000ull

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define ROUNDS		500
#else
#define ROUNDS		2000
#endif

/* Options of (wildcard side, specific side) per mix. */
static const unsigned mix_opts[NMIX][2] = {
	{ 0, 0 },
	{ SO_REUSEADDR, SO_REUSEADDR },
	{ 0, 0 },
	{ SO_REUSEPORT, SO_REUSEPORT },
	{ SO_REUSEADDR, 0 },
	{ 0, SO_REUSEADDR },
};

struct race {
	struct smpnet_socket	*so[2];		/* written by main before the start (release) */
	struct sockaddr_in	 sa[2];		/* idem */
	int			 res[2];	/* written by racer i before its done (release) */
	_Atomic uint32_t	 start;		/* round number; 0: none yet */
	_Atomic uint32_t	 arrived;	/* racers that have seen the start, all rounds */
	_Atomic uint32_t	 done[2];	/* last round racer i finished */
	_Atomic bool		 stop;
};

struct racer {
	struct race	*r;
	int		 id;
};

static uint32_t
ip(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Spin (then yield) until *v >= want or stop; false on stop. */
static bool
wait_for(struct race *r, _Atomic uint32_t *v, uint32_t want)
{
	/* acquire: pairs with the release store or add that made *v reach want */
	for (uint32_t spins = 0; atomic_load_explicit(v, memory_order_acquire) < want;
	    spins++) {
		if (atomic_load_explicit(&r->stop, memory_order_relaxed))
			return false;
		if (spins < (1u << 14))
			cpu_relax();
		else
			sched_yield();
	}
	return true;
}

static void *
racer(void *arg)
{
	struct racer *me = arg;
	struct race *r = me->r;

	for (uint32_t round = 1;; round++) {
		if (!wait_for(r, &r->start, round))
			return NULL;
		/* meet the other racer so that both binds start together */
		atomic_fetch_add_explicit(&r->arrived, 1, memory_order_acq_rel);
		if (!wait_for(r, &r->arrived, 2 * round))
			return NULL;
		r->res[me->id] = smpnet_bind(r->so[me->id], (struct sockaddr *)&r->sa[me->id],
		    sizeof(r->sa[me->id]));
		/* release: the main thread reads res[] after its acquire of done[] */
		atomic_store_explicit(&r->done[me->id], round, memory_order_release);
	}
}

static struct smpnet_socket *
sock(struct smpnet *st, unsigned opt)
{
	struct smpnet_socket *so = smpnet_socket(st, AF_INET, SOCK_DGRAM, 0);
	int one = 1;

	CHECK(so != NULL);
	if (so != NULL && opt != 0)
		CHECK(smpnet_setsockopt(so, SOL_SOCKET, (int)opt, &one, sizeof(one)) == 0);
	return so;
}

static void
run(bool giant)
{
	struct smpnet_config ca = { .name = "a", .ncpu = 2, .giant = giant };
	struct race *r = calloc(1, sizeof(*r));
	struct racer rc[2];
	pthread_t th[2];
	struct smpnet *a, *b;
	unsigned long both[NMIX] = { 0 }, one[NMIX] = { 0 }, bad[NMIX] = { 0 };
	uint64_t end = stress_now() + LIMIT_NS;
	uint32_t round, bad_rounds = 0;

	CHECK(r != NULL);
	CHECK((a = smpnet_create(&ca)) != NULL);
	struct smpnet_config cb = { .name = "b", .share = a };
	CHECK((b = smpnet_create(&cb)) != NULL);
	CHECK(smpnet_wire_pair(a, ip(ADDR_A), b, ip(ADDR_B), 0) == 0);
	for (int i = 0; i < 2; i++) {
		rc[i] = (struct racer){ r, i };
		CHECK(pthread_create(&th[i], NULL, racer, &rc[i]) == 0);
	}
	for (round = 1; round <= ROUNDS && stress_now() < end; round++) {
		int mix = (int)(round % NMIX), wild = (int)(round / NMIX % 2);
		bool conflict, ok;
		uint16_t port = (uint16_t)(PORT_BASE + round % PORT_SPAN);

		for (int i = 0; i < 2; i++) {
			bool w = i == wild;

			r->so[i] = sock(a, mix_opts[mix][w ? 0 : 1]);
			r->sa[i] = (struct sockaddr_in){ .sin_family = AF_INET,
			    .sin_port = htons(port), .sin_addr = { w ? 0 : ip(ADDR_A) } };
			r->res[i] = 1;
		}
		/* release: the racers read so[] and sa[] after their acquire of start */
		atomic_store_explicit(&r->start, round, memory_order_release);
		for (int i = 0; i < 2; i++)
			CHECK(wait_for(r, &r->done[i], round));
		/* the same option (REUSEADDR or REUSEPORT) on both sides, or a conflict */
		conflict = mix_opts[mix][0] == 0 || mix_opts[mix][0] != mix_opts[mix][1];
		if (r->res[0] == 0 && r->res[1] == 0)
			both[mix]++, ok = !conflict;
		else if ((r->res[0] == 0 && r->res[1] == -EADDRINUSE) ||
		    (r->res[1] == 0 && r->res[0] == -EADDRINUSE))
			one[mix]++, ok = conflict;
		else
			bad[mix]++, ok = false;
		if (!ok && bad_rounds++ < 5) {
			fprintf(stderr, "round %u mix %d port %u: wildcard bind %d, specific "
			    "bind %d (%s)\n", round, mix, port, r->res[wild], r->res[!wild],
			    conflict ? "want exactly one" : "want both");
		}
		for (int i = 0; i < 2; i++)
			smpnet_close(r->so[i]);
	}
	atomic_store_explicit(&r->stop, true, memory_order_relaxed);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	printf("# %s mode: %u rounds\n", giant ? "giant" : "normal", round - 1);
	for (int m = 0; m < NMIX; m++)
		printf("#   mix %d (wildcard %#x, specific %#x): both bound %lu, one bound %lu, "
		    "other %lu\n", m, mix_opts[m][0], mix_opts[m][1], both[m], one[m], bad[m]);
	printf("# %s mode: %u rounds no serial order explains\n", giant ? "giant" : "normal",
	    bad_rounds);
	CHECK(bad_rounds == 0);
	CHECK(round - 1 >= 100);	/* enough rounds to mean something */
	struct smpnet_leaks lk;

	CHECK(smpnet_destroy_checked(b, &lk) == 0);
	CHECK(smpnet_destroy_checked(a, &lk) == 0);
	free(r);
}

int
main(void)
{
	run(false);
	run(true);
	return stress_result("stress_bind");
}
