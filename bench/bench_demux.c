/*
 * bench_demux.c - `smpnet bench demux`: PCB lookups per second with a million PCBs
 * (half bound to (address, port), half connected 4-tuples), from 1 and 2 threads, while
 * a writer thread keeps inserting and removing PCBs (a window of 4096 short-lived bound
 * PCBs, oldest removed as each new one is bound).
 *
 * Lookups alternate between a connected 4-tuple (one exact-table hit) and a datagram to
 * a bound PCB from a random peer (an exact-table miss, then a bound-table hit), inside
 * read sections of 64 lookups (the data path enters one per packet batch).  Every lookup
 * must find its PCB; a miss is an error (the benchmark fails).
 * Implementations, alternated in the same run: smpnet (lockless RCU readers, writers per
 * key) and smpnet-giant (the same table, each batch of lookups and each update under the
 * giant lock of a giant-mode kern, as giant mode serialises the stack).
 * Metrics: lookups_per_s (all reader threads), updates_per_s (the writer's insert+remove
 * pairs); median of opts->repeat runs with the spread.  --quick uses 40k PCBs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "kern/kern.h"
#include "kern/psz.h"
#include "netinet/in_pcb.h"

#define BATCH		64
#define CHURN_WINDOW	4096
#define MAXREP		100

struct dm_probe {
	uint32_t	 laddr, faddr;		/* network order */
	uint16_t	 lport, fport;
};

struct dm_ctx {
	struct inpcbtable	*t;
	struct kern		*kg;		/* giant kern, or NULL (normal) */
	struct dm_probe		*probes;
	size_t			 nprobes;
	struct inpcb		**pcbs;
	size_t			 npcbs;
	_Atomic bool		 stop;
	_Atomic uint64_t	 misses;
	_Atomic uint64_t	 updates;
};

struct dm_reader {
	struct dm_ctx		*ctx;
	uint64_t		 n;
	unsigned		 seed;
	pthread_t		 th;
};

static uint32_t
dm_rand(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void
dm_giant(struct dm_ctx *c, bool enter)
{
	if (c->kg == NULL)
		return;
	if (enter)
		kern_giant_enter(c->kg);
	else
		kern_giant_exit(c->kg);
}

static void *
dm_read_main(void *arg)
{
	struct dm_reader *r = arg;
	struct dm_ctx *c = r->ctx;
	size_t i = dm_rand(&r->seed) % c->nprobes;

	while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
		dm_giant(c, true);
		psz_read_enter();
		for (int b = 0; b < BATCH; b++) {
			const struct dm_probe *p = &c->probes[i];
			union inpcb_addr la = inpcb_addr_v4(p->laddr), fa = inpcb_addr_v4(p->faddr);

			if (in_pcblookup(c->t, AF_INET, &la, p->lport, &fa, p->fport,
			    (uint32_t)i) == NULL)
				atomic_fetch_add_explicit(&c->misses, 1, memory_order_relaxed);
			if (++i == c->nprobes)
				i = 0;
		}
		psz_read_exit();
		dm_giant(c, false);
		r->n += BATCH;
	}
	return NULL;
}

static struct inpcb *
dm_bind(struct inpcbtable *t, uint32_t laddr, uint16_t lport)
{
	struct inpcb *inp = in_pcballoc(t, AF_INET, NULL);
	union inpcb_addr a = inpcb_addr_v4(laddr);

	if (inp != NULL && in_pcbbind(inp, AF_INET, &a, lport, 0) != 0) {
		in_pcbdetach(inp);
		inp = NULL;
	}
	return inp;
}

static void *
dm_write_main(void *arg)
{
	struct dm_ctx *c = arg;
	struct inpcb *win[CHURN_WINDOW] = { NULL };
	uint32_t k = 0;

	while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
		struct inpcb **slot = &win[k % CHURN_WINDOW];

		dm_giant(c, true);
		if (*slot != NULL)
			in_pcbdetach(*slot);
		*slot = dm_bind(c->t, htonl(0xac100000u + (k >> 14)), htons(1024 + (k & 0x3fff)));
		dm_giant(c, false);
		k++;
		atomic_fetch_add_explicit(&c->updates, 1, memory_order_relaxed);
		if ((k & 63) == 0)
			usleep(50);	/* leave the readers most of the machine */
	}
	for (int i = 0; i < CHURN_WINDOW; i++)
		if (win[i] != NULL)
			in_pcbdetach(win[i]);
	return NULL;
}

/* Populate: n/2 bound, n/2 connected; probes for each. */
static int
dm_populate(struct dm_ctx *c, size_t n)
{
	c->pcbs = calloc(n, sizeof(*c->pcbs));
	c->probes = calloc(n, sizeof(*c->probes));
	if (c->pcbs == NULL || c->probes == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct dm_probe *p = &c->probes[i];
		uint32_t j = (uint32_t)(i / 2);

		if (i % 2 == 0) {
			p->laddr = htonl(0x0a000000u + (j >> 15));
			p->lport = htons((uint16_t)(1024 + (j & 0x7fff)));
			p->faddr = htonl(0xc6336400u + (j & 0xff));
			p->fport = htons(5353);
			c->pcbs[i] = dm_bind(c->t, p->laddr, p->lport);
		} else {
			struct inpcb_key k;

			memset(&k, 0, sizeof(k));
			p->laddr = htonl(0xc0000201u);
			p->lport = htons(443);
			p->faddr = htonl(0x64000000u + j);
			p->fport = htons((uint16_t)(1024 + (j % 50000)));
			k.ik_family = AF_INET;
			k.ik_laddr = inpcb_addr_v4(p->laddr);
			k.ik_faddr = inpcb_addr_v4(p->faddr);
			k.ik_lport = p->lport;
			k.ik_fport = p->fport;
			if ((c->pcbs[i] = in_pcballoc(c->t, AF_INET, NULL)) != NULL &&
			    in_pcbinsert_conn(c->pcbs[i], &k) != 0)
				return -EEXIST;
		}
		if (c->pcbs[i] == NULL)
			return -ENOMEM;
		c->npcbs = i + 1;
	}
	c->nprobes = n;
	return 0;
}

static void
dm_depopulate(struct dm_ctx *c)
{
	for (size_t i = 0; i < c->npcbs; i++)
		in_pcbdetach(c->pcbs[i]);
	free(c->pcbs);
	free(c->probes);
}

/* One measurement with nthr readers; returns 0 or -EIO on a lookup miss. */
static int
dm_measure(struct dm_ctx *c, int nthr, double seconds, double *lps, double *ups)
{
	struct dm_reader rd[2];
	pthread_t wr;
	uint64_t u0, n = 0;
	double t0;

	atomic_store(&c->stop, false);
	u0 = atomic_load(&c->updates);
	t0 = bench_now();
	pthread_create(&wr, NULL, dm_write_main, c);
	for (int i = 0; i < nthr; i++) {
		rd[i] = (struct dm_reader){ .ctx = c, .seed = 77u + (unsigned)i };
		pthread_create(&rd[i].th, NULL, dm_read_main, &rd[i]);
	}
	usleep((useconds_t)(seconds * 1e6));
	atomic_store(&c->stop, true);
	for (int i = 0; i < nthr; i++) {
		pthread_join(rd[i].th, NULL);
		n += rd[i].n;
	}
	*lps = (double)n / (bench_now() - t0);
	pthread_join(wr, NULL);
	*ups = (double)(atomic_load(&c->updates) - u0) / (bench_now() - t0);
	return atomic_load(&c->misses) != 0 ? -EIO : 0;
}

static int
dm_cases(const struct bench_opts *opts, struct dm_ctx *c, struct kern *kg, const char *size)
{
	static const char *const impls[2] = { "smpnet", "smpnet-giant" };
	double l[2][MAXREP], u[2][MAXREP];
	int rep = opts->repeat < MAXREP ? opts->repeat : MAXREP, err;
	char bcase[48];

	for (int nthr = 1; nthr <= 2; nthr++) {
		snprintf(bcase, sizeof(bcase), "lookup-%s-%dcpu", size, nthr);
		if (!bench_want(opts, bcase))
			continue;
		for (int i = 0; i < rep; i++)
			for (int g = 0; g < 2; g++) {
				c->kg = g ? kg : NULL;
				if ((err = dm_measure(c, nthr, opts->seconds, &l[g][i], &u[g][i])) != 0)
					return err;
			}
		for (int g = 0; g < 2; g++) {
			bench_report_samples(opts, "demux", bcase, impls[g], "lookups_per_s", l[g],
			    rep, "lookups/s");
			bench_report_samples(opts, "demux", bcase, impls[g], "updates_per_s", u[g],
			    rep, "updates/s");
		}
	}
	return 0;
}

static int
bench_demux_run(const struct bench_opts *opts)
{
	struct kern_config kc = { .ncpu = 1 }, kgc = { .ncpu = 1, .giant = true };
	struct kern *k = kern_create(&kc), *kg = kern_create(&kgc);
	size_t n = opts->quick ? 40000 : 1000000;
	struct dm_ctx *c = calloc(1, sizeof(*c));
	int err = -ENOMEM;

	if (k != NULL && kg != NULL && c != NULL &&
	    (c->t = in_pcbtable_create(k, 49152, 65535, n)) != NULL) {
		if ((err = dm_populate(c, n)) == 0)
			err = dm_cases(opts, c, kg, opts->quick ? "40k" : "1m");
		dm_depopulate(c);
		in_pcbtable_destroy(c->t);
	}
	free(c);
	if (kg != NULL)
		kern_destroy(kg);
	if (k != NULL)
		kern_destroy(k);
	return err;
}

const struct bench bench_demux = { "demux",
	"PCB lookups/s with 1M bound and connected PCBs during inserts and removes",
	bench_demux_run };
