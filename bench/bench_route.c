/*
 * bench_route.c - `smpnet bench route`: longest-prefix match on a real BGP table.
 *
 * Table (bench_bgp.h, shared with bench forward): the RouteViews IPv4 table
 * (SMPNET_BGP_TABLE, else ../shared/data/...pfx2as.gz from the working directory or
 * from the executable's project), read through
 * `gzip -dc`; the nexthop of a route is its origin AS mod 256.  Without the file (and
 * always with --quick) a generated table with the real table's length distribution.
 * IPv6: a generated table (no real one at hand).
 *
 * Implementations, run in the same process: smpnet (rt_table: Patricia tree + DIR-24-8
 * FIB with lockless readers; IPv6: tree + 24-8-8-... multibit FIB), DPDK rte_lpm / rte_lpm6 (EAL started
 * in-process without hugepages or devices; reported absent if that fails), and a
 * BSD-radix-style binary trie with a reader-writer lock (bench_bsdtrie.c).
 *
 * Cases: load (load_s, mem_per_prefix, prefixes); mismatch (disagreements with a
 * per-length exact-match reference over random addresses, must be 0); random-Nt (uniform
 * destinations), trace-Nt (a skewed set of popular destinations in bursts), N = 1, 2
 * lookup threads; *-writer-* with one more thread doing ~10k route updates/s (withdraw
 * then re-announce table prefixes), for the implementations that allow concurrent
 * updates (rte_lpm does not without its RCU integration, and its per-rule update cost
 * is linear in the rules of that length).  Lookup figures are medians of opts->repeat
 * runs with the spread; the implementations alternate inside each repetition, each
 * repetition starting with the next one, after one unmeasured warm-up run of each
 * (without it, the same code measured 0.6-0.65x in the first slot).  lookups_per_cpu_s
 * divides by the lookup threads' own CPU time (CLOCK_THREAD_CPUTIME_ID): the per-core
 * rate, less sensitive to other processes on a shared machine.  IPv4 lookups go in
 * bursts of 32 (a receive burst) of the same addresses for every implementation: smpnet with
 * rt_lookup4_idx per address (nexthop indices, like rte_lpm's next-hop ids; network-order
 * input) and smpnet-nhop with rt_lookup4_burst (nexthop pointers), one psz read section
 * per burst; rte_lpm with rte_lpm_lookup per address (host-order input; its faster API
 * here, rte_lpm_lookup_bulk measured slower).  IPv6 lookups one at a time for both.
 * Both IPv4 tables sit on THP-advised memory (smpnet's FIB by design; rte_lpm on an
 * external heap, see lpm_heap_create()); load reports tbl24_thp_kib for each.
 */
#include "bench.h"
#include "bench_bgp.h"
#include "bench_bsdtrie.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "kern/kern.h"
#include "kern/psz.h"
#include "net/route.h"

#ifdef HAVE_DPDK
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#include <sys/mman.h>
#endif

#define B		"route"
#define NNH		256
#define NADDR		(1u << 20)
#define MAXTHR		2
#define UPDATE_NS	100000		/* one update per 100 us: 10k/s */

struct pfx6 {
	uint8_t		addr[16];
	uint8_t		len;
	uint32_t	nh;
};

/* ---- table sources ----------------------------------------------------------- */

static uint32_t
mask4(unsigned len)
{
	return len == 0 ? 0 : ~0u << (32 - len);
}

static size_t
gen_table6(struct pfx6 **out, size_t n, uint64_t seed)
{
	static const uint8_t lens[] = { 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 32, 32, 32,
		44, 46, 47, 40, 36, 29, 64, 56, 128, 24, 16 };
	struct pfx6 *p = calloc(n, sizeof(*p));
	uint64_t s = seed;

	for (size_t i = 0; i < n; i++) {
		unsigned len = lens[bench_bgp_rng(&s) % sizeof(lens)];

		for (int k = 0; k < 16; k++)
			p[i].addr[k] = (uint8_t)bench_bgp_rng(&s);
		p[i].addr[0] = (uint8_t)(0x20 | (p[i].addr[0] & 0x1));	/* 2000::/7 */
		p[i].addr[1] &= 0x0f;		/* dense enough to share upper levels */
		for (unsigned b = len; b < 128; b++)
			p[i].addr[b >> 3] &= (uint8_t)~(0x80 >> (b & 7));
		p[i].len = (uint8_t)len;
		p[i].nh = (uint32_t)(bench_bgp_rng(&s) % NNH);
	}
	*out = p;
	return n;
}

/* ---- reference: per-length sorted exact-match arrays --------------------------- */

struct ref4 {
	struct bgp_pfx4	*byl[33];
	size_t		 n[33];
};

static int
cmp_pfx4(const void *a, const void *b)
{
	uint32_t x = ((const struct bgp_pfx4 *)a)->addr, y = ((const struct bgp_pfx4 *)b)->addr;

	return (x > y) - (x < y);
}

static void
ref4_build(struct ref4 *r, const struct bgp_pfx4 *p, size_t n)
{
	memset(r, 0, sizeof(*r));
	for (int l = 0; l <= 32; l++)
		r->byl[l] = malloc((n + 1) * sizeof(struct bgp_pfx4));
	for (size_t i = 0; i < n; i++)
		r->byl[p[i].len][r->n[p[i].len]++] = p[i];
	for (int l = 0; l <= 32; l++)
		qsort(r->byl[l], r->n[l], sizeof(struct bgp_pfx4), cmp_pfx4);
}

/* Sort by (address, length) and drop repeated prefixes (the first one stays). */
static int
cmp_pfx4_full(const void *a, const void *b)
{
	const struct bgp_pfx4 *x = a, *y = b;

	if (x->addr != y->addr)
		return (x->addr > y->addr) - (x->addr < y->addr);
	return (int)x->len - (int)y->len;
}

static size_t
dedup4(struct bgp_pfx4 *p, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		p[i].nh |= (uint32_t)i << 8;	/* original order as tie-break */
	qsort(p, n, sizeof(*p), cmp_pfx4_full);
	for (size_t i = 0; i < n; i++) {
		if (k > 0 && p[k - 1].addr == p[i].addr && p[k - 1].len == p[i].len) {
			if ((p[i].nh >> 8) < (p[k - 1].nh >> 8))
				p[k - 1] = p[i];
			continue;
		}
		p[k++] = p[i];
	}
	for (size_t i = 0; i < k; i++)
		p[i].nh &= 0xff;
	return k;
}

static uint32_t
ref4_lookup(const struct ref4 *r, uint32_t addr)
{
	for (int l = 32; l >= 0; l--) {
		struct bgp_pfx4 key = { .addr = addr & mask4((unsigned)l) };
		struct bgp_pfx4 *f = r->n[l] ? bsearch(&key, r->byl[l], r->n[l], sizeof(key),
		    cmp_pfx4) : NULL;

		if (f != NULL)
			return f->nh;
	}
	return UINT32_MAX;
}

static void
ref4_free(struct ref4 *r)
{
	for (int l = 0; l <= 32; l++)
		free(r->byl[l]);
}

/* ---- implementations ----------------------------------------------------------- */

struct impls {
	struct kern		*k;	/* lock registry of the tables */
	struct rt_table		*rt4, *rt6;
	struct nh_spec		 spec[NNH];
	struct bt_table		 bt;
	int			 have_bt;
#ifdef HAVE_DPDK
	struct rte_lpm		*lpm;
	struct rte_lpm6		*lpm6;
	void			*lpm_map;	/* mapping holding rte_lpm's external heap */
	void			*lpm_mem;	/* the heap: THP-advised, 2 MiB aligned */
	int			 lpm_socket;	/* its heap's socket id (0: EAL memory) */
#endif
};

static void
specs_init(struct impls *im)
{
	for (uint32_t i = 0; i < NNH; i++) {
		memset(&im->spec[i], 0, sizeof(im->spec[i]));
		im->spec[i].ns_ifindex = 1 + i % 4;
		im->spec[i].ns_flags = NHF_GATEWAY;
		memcpy(im->spec[i].ns_gw, &i, sizeof(i));
	}
}

static inline uint32_t
nh_id(const struct nhop *nh)
{
	uint32_t v;

	if (nh == NULL)
		return UINT32_MAX;
	memcpy(&v, nh->nh_spec.ns_gw, sizeof(v));
	return v;
}

static size_t
rss_bytes(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f != NULL) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return (size_t)rss * (size_t)sysconf(_SC_PAGESIZE);
}

/*
 * KiB of transparent huge pages backing the mapping that holds addr (AnonHugePages in
 * /proc/self/smaps; 0 if not found): whether a table's tbl24 got THP.
 */
static double
thp_kib(const void *addr)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int in = 0;
	double kib = 0;
	unsigned long lo, hi;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			in = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
		else if (in && sscanf(line, "AnonHugePages: %lf", &kib) == 1)
			break;
	}
	fclose(f);
	return in ? kib : 0;
}

#ifdef HAVE_DPDK
static int dpdk_state;		/* 0 untried, 1 up, -1 failed (process-wide: EAL is) */

static size_t
dpdk_heap_bytes(int socket)
{
	struct rte_malloc_socket_stats st;

	if (rte_malloc_get_socket_stats(socket, &st) != 0)
		return 0;
	return st.heap_allocsz_bytes;
}

/*
 * Without hugetlbfs (--no-huge) EAL's memory is a shared memfd mapping, which gets no
 * transparent huge pages here (shmem_enabled = never), while smpnet's FIB is
 * THP-advised anonymous memory.  So that rte_lpm gets the TLB reach it has in a
 * hugepage deployment, it lives in an external heap of THP-advised anonymous memory,
 * 2 MiB aligned (rte_malloc_heap_memory_add).  Returns the heap's socket id, or 0 (EAL
 * memory) if that fails.
 */
#define LPM_HEAP_NAME	"bench_lpm_thp"
#define LPM_HEAP_BYTES	((size_t)128 << 20)
#define THP_BYTES	((size_t)2 << 20)

static int
lpm_heap_create(struct impls *im)
{
	char *p = mmap(NULL, LPM_HEAP_BYTES + THP_BYTES, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *a;

	if (p == MAP_FAILED)
		return 0;
	a = (char *)(((uintptr_t)p + THP_BYTES - 1) & ~(uintptr_t)(THP_BYTES - 1));
	(void)madvise(a, LPM_HEAP_BYTES, MADV_HUGEPAGE);
	if (rte_malloc_heap_create(LPM_HEAP_NAME) != 0) {
		munmap(p, LPM_HEAP_BYTES + THP_BYTES);
		return 0;
	}
	if (rte_malloc_heap_memory_add(LPM_HEAP_NAME, a, LPM_HEAP_BYTES, NULL,
	    (unsigned)(LPM_HEAP_BYTES / THP_BYTES), THP_BYTES) != 0) {
		rte_malloc_heap_destroy(LPM_HEAP_NAME);
		munmap(p, LPM_HEAP_BYTES + THP_BYTES);
		return 0;
	}
	im->lpm_map = p;
	im->lpm_mem = a;
	return rte_malloc_heap_get_socket(LPM_HEAP_NAME);
}

static void
lpm_heap_destroy(struct impls *im)
{
	if (im->lpm_mem == NULL)
		return;
	rte_malloc_heap_memory_remove(LPM_HEAP_NAME, im->lpm_mem, LPM_HEAP_BYTES);
	rte_malloc_heap_destroy(LPM_HEAP_NAME);
	munmap(im->lpm_map, LPM_HEAP_BYTES + THP_BYTES);
	im->lpm_mem = im->lpm_map = NULL;
}

static int
dpdk_up(void)
{
	char *argv[] = { "smpnet-bench", "--no-huge", "--no-pci", "--no-shconf", "-l", "0",
		"-m", "1024", "--log-level=1", "--no-telemetry", NULL };
	cpu_set_t set;

	if (dpdk_state != 0)
		return dpdk_state > 0;
	/* EAL pins the calling thread to lcore 0: restore our affinity afterwards. */
	pthread_getaffinity_np(pthread_self(), sizeof(set), &set);
	dpdk_state = rte_eal_init(10, argv) >= 0 ? 1 : -1;
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	return dpdk_state > 0;
}
#endif

/* ---- lookup loops -------------------------------------------------------------- */

/*
 * smpnet: rt_lookup4_idx per address, nexthop indices (like rte_lpm's next-hop ids);
 * smpnet-nhop: rt_lookup4_burst, nexthop pointers (one more load per address, what the
 * forwarding path uses); IPv4 lookup cases without a writer only.
 */
enum impl_id { I_SMPNET, I_LPM, I_BT, I_SMPNET_NH, I_N };
static const char *const impl_name[I_N] = { "smpnet", "dpdk-rte_lpm", "bsd-trie",
	"smpnet-nhop" };

struct run {
	struct impls	*im;
	enum impl_id	 impl;
	int		 v6;
	const uint32_t	*a4;		/* host order */
	const uint32_t	*a4n;		/* network order */
	const uint8_t	(*a6)[16];
	_Atomic int	 stop;
	_Atomic uint64_t total;
	_Atomic uint64_t cpu_ns;	/* CPU time of the lookup threads */
	uint64_t	 sink;
};

#define CHUNK 4096
#define BURST 32	/* lookups per call (rt_lookup4_burst, rte_lpm_lookup_bulk) and per
			 * psz read section: one receive burst */

/* smpnet IPv4, one read section per burst: nexthop indices, or pointers if ptrs. */
static uint64_t
loop_smpnet4(struct run *r, size_t off, uint64_t *sink, int ptrs)
{
	const struct rt_table *rt = r->im->rt4;
	struct nhop *nh[BURST];
	uint64_t n = 0, acc = 0;

	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		for (size_t i = 0; i < CHUNK; i += BURST) {
			const uint32_t *a = &r->a4n[(off + i) & (NADDR - 1)];

			psz_read_enter();
			if (ptrs) {
				rt_lookup4_burst(rt, a, nh, BURST);
				for (int k = 0; k < BURST; k++)
					acc += (uintptr_t)nh[k];
			} else {
				for (int k = 0; k < BURST; k++)
					acc += rt_lookup4_idx(rt, a[k]);
			}
			psz_read_exit();
		}
		off += CHUNK, n += CHUNK;
	}
	*sink += acc;
	return n;
}

static uint64_t
loop_smpnet6(struct run *r, size_t off, uint64_t *sink)
{
	uint64_t n = 0, acc = 0;

	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		for (size_t i = 0; i < CHUNK; i += BURST) {
			psz_read_enter();
			for (size_t k = 0; k < BURST; k++)
				acc += (uintptr_t)rt_lookup6(r->im->rt6, r->a6[(off + i + k) & (NADDR - 1)]);
			psz_read_exit();
		}
		off += CHUNK, n += CHUNK;
	}
	*sink += acc;
	return n;
}

static uint64_t
loop_bt(struct run *r, size_t off, uint64_t *sink)
{
	uint64_t n = 0, acc = 0;

	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		for (size_t i = 0; i < CHUNK; i++)
			acc += bt_lookup(&r->im->bt, r->a4[(off + i) & (NADDR - 1)]);
		off += CHUNK, n += CHUNK;
	}
	*sink += acc;
	return n;
}

#ifdef HAVE_DPDK
static uint64_t
loop_lpm(struct run *r, size_t off, uint64_t *sink)
{
	const struct rte_lpm *lpm = r->im->lpm;
	uint32_t nh[BURST];
	uint64_t n = 0, acc = 0;

	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		for (size_t i = 0; i < CHUNK; i += BURST) {
			const uint32_t *a = &r->a4[(off + i) & (NADDR - 1)];

			/* rte_lpm_lookup per address: faster here than rte_lpm_lookup_bulk */
			for (int k = 0; k < BURST; k++)
				acc += rte_lpm_lookup(lpm, a[k], &nh[k]) == 0 ? nh[k] : 0;
		}
		off += CHUNK, n += CHUNK;
	}
	*sink += acc;
	return n;
}

static uint64_t
loop_lpm6(struct run *r, size_t off, uint64_t *sink)
{
	uint64_t n = 0, acc = 0;
	uint32_t nh;

	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		for (size_t i = 0; i < CHUNK; i++)
			acc += rte_lpm6_lookup(r->im->lpm6, r->a6[(off + i) & (NADDR - 1)], &nh) == 0 ?
			    nh : 0;
		off += CHUNK, n += CHUNK;
	}
	*sink += acc;
	return n;
}
#endif

struct thr {
	struct run	*r;
	size_t		 off;
	pthread_t	 th;
};

static uint64_t
thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *
lookup_thread(void *arg)
{
	struct thr *t = arg;
	struct run *r = t->r;
	uint64_t sink = 0, n = 0, c0 = thread_cpu_ns();

	switch (r->impl) {
	case I_SMPNET:
		n = r->v6 ? loop_smpnet6(r, t->off, &sink) : loop_smpnet4(r, t->off, &sink, 0);
		break;
	case I_SMPNET_NH:
		n = loop_smpnet4(r, t->off, &sink, 1);
		break;
	case I_BT:
		n = loop_bt(r, t->off, &sink);
		break;
	case I_LPM:
#ifdef HAVE_DPDK
		n = r->v6 ? loop_lpm6(r, t->off, &sink) : loop_lpm(r, t->off, &sink);
#endif
		break;
	default:
		break;
	}
	atomic_fetch_add_explicit(&r->total, n, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->cpu_ns, thread_cpu_ns() - c0, memory_order_relaxed);
	r->sink += sink & 1;	/* racy on purpose-free: only defeats dead-code removal */
	return NULL;
}

/* ---- writer: ~10k updates/s -------------------------------------------------- */

struct writer {
	struct run		*r;
	const struct bgp_pfx4	*p;
	size_t			 n;
	_Atomic int		 stop;
	uint64_t		 updates;
	double			 seconds;
	pthread_t		 th;
};

static void
sleep_until(uint64_t t)
{
	struct timespec ts = { (time_t)(t / 1000000000u), (long)(t % 1000000000u) };

	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/* Withdraw a table prefix, then announce it again (two updates). */
static void
writer_step(struct writer *w, const struct bgp_pfx4 *x)
{
	uint32_t a = htonl(x->addr);

	if (w->r->impl == I_SMPNET) {
		if (rt_delete(w->r->im->rt4, &a, x->len) == 0)
			rt_add(w->r->im->rt4, &a, x->len, &w->r->im->spec[x->nh], 0);
	} else if (bt_delete(&w->r->im->bt, x->addr, x->len) == 0) {
		bt_add(&w->r->im->bt, x->addr, x->len, x->nh);
	}
}

static void *
writer_thread(void *arg)
{
	struct writer *w = arg;
	uint64_t s = 0x5eed, t0 = bench_now_ns(), next = t0;

	while (!atomic_load_explicit(&w->stop, memory_order_relaxed)) {
		/* skip /8 and shorter: one such update rewrites 64K+ FIB entries */
		const struct bgp_pfx4 *x = &w->p[bench_bgp_rng(&s) % w->n];

		if (x->len > 8) {
			writer_step(w, x);
			w->updates += 2;
		}
		next += 2 * UPDATE_NS;
		sleep_until(next);
	}
	w->seconds = (double)(bench_now_ns() - t0) / 1e9;
	return NULL;
}

/* ---- one measurement ----------------------------------------------------------- */

/* Lookups per second of wall time; *per_cpu: per second of the threads' CPU time. */
static double
measure(struct run *r, int nthr, double seconds, struct writer *w, double *per_cpu)
{
	struct thr t[MAXTHR];
	uint64_t t0, t1;

	atomic_store(&r->stop, 0);
	atomic_store(&r->total, 0);
	atomic_store(&r->cpu_ns, 0);
	if (w != NULL) {
		atomic_store(&w->stop, 0);
		w->updates = 0;
		pthread_create(&w->th, NULL, writer_thread, w);
	}
	t0 = bench_now_ns();
	for (int i = 0; i < nthr; i++) {
		t[i].r = r;
		t[i].off = (size_t)i * (NADDR / 2);
		pthread_create(&t[i].th, NULL, lookup_thread, &t[i]);
	}
	usleep((useconds_t)(seconds * 1e6));
	atomic_store(&r->stop, 1);
	for (int i = 0; i < nthr; i++)
		pthread_join(t[i].th, NULL);
	t1 = bench_now_ns();
	if (w != NULL) {
		atomic_store(&w->stop, 1);
		pthread_join(w->th, NULL);
	}
	*per_cpu = (double)atomic_load(&r->total) / ((double)atomic_load(&r->cpu_ns) / 1e9 + 1e-9);
	return (double)atomic_load(&r->total) / ((double)(t1 - t0) / 1e9);
}

static int
impl_present(const struct impls *im, enum impl_id i, int v6)
{
	switch (i) {
	case I_SMPNET:
		return 1;
	case I_SMPNET_NH:
		return !v6;
	case I_BT:
		return !v6 && im->have_bt;
	case I_LPM:
#ifdef HAVE_DPDK
		return v6 ? im->lpm6 != NULL : im->lpm != NULL;
#else
		return 0;
#endif
	default:
		return 0;
	}
}

static const char *
impl_label(enum impl_id i, int v6)
{
	return v6 && i == I_LPM ? "dpdk-rte_lpm6" : impl_name[i];
}

/* Run in this case?  rte_lpm and smpnet-nhop are not run with a writer. */
static int
impl_runs(const struct impls *im, enum impl_id i, int v6, int writer)
{
	return impl_present(im, i, v6) && !(writer && (i == I_LPM || i == I_SMPNET_NH));
}

/*
 * Peers alternate within each repetition, so that a noisy stretch hits them all, and
 * the first to run changes from one repetition to the next.
 */
static void
run_case(const struct bench_opts *o, struct run *r, const char *pattern, int nthr,
    int writer, const struct bgp_pfx4 *p, size_t n)
{
	char name[64];
	double samples[I_N][32], upd[I_N][32], cpu[I_N][32];
	int reps = o->repeat < 32 ? o->repeat : 32;
	struct writer w = { .r = r, .p = p, .n = n };

	snprintf(name, sizeof(name), "%s%s%s-%dt", r->v6 ? "v6-" : "", pattern,
	    writer ? "-writer" : "", nthr);
	if (!bench_want(o, name))
		return;
	for (int i = 0; i < I_N; i++) {	/* unmeasured warm-up of each */
		double unused;

		r->impl = (enum impl_id)i;
		if (impl_runs(r->im, r->impl, r->v6, writer))
			measure(r, nthr, o->seconds / 4, writer ? &w : NULL, &unused);
	}
	for (int k = 0; k < reps; k++)
		for (int j = 0; j < I_N; j++) {
			int i = (j + k) % I_N;	/* each repetition starts with the next one */

			r->impl = (enum impl_id)i;
			if (!impl_runs(r->im, r->impl, r->v6, writer))
				continue;
			samples[i][k] = measure(r, nthr, o->seconds, writer ? &w : NULL, &cpu[i][k]);
			upd[i][k] = writer && w.seconds > 0 ? (double)w.updates / w.seconds : 0;
		}
	for (int i = 0; i < I_N; i++) {
		if (!impl_runs(r->im, (enum impl_id)i, r->v6, writer))
			continue;
		bench_report_samples(o, B, name, impl_label((enum impl_id)i, r->v6),
		    "lookups_per_s", samples[i], reps, "1/s");
		for (int k = 0; k < reps; k++)
			samples[i][k] /= nthr;
		bench_report_samples(o, B, name, impl_label((enum impl_id)i, r->v6),
		    "lookups_per_s_per_thread", samples[i], reps, "1/s");
		bench_report_samples(o, B, name, impl_label((enum impl_id)i, r->v6),
		    "lookups_per_cpu_s", cpu[i], reps, "1/s");
		if (writer)
			bench_report_samples(o, B, name, impl_name[i], "updates_per_s", upd[i],
			    reps, "1/s");
	}
}

/* ---- loading ------------------------------------------------------------------- */

/* bytes: the structure's own count (allocated, or for smpnet its footprint with the
 * whole tbl24); rss: resident-set growth during the load (0 if not measured). */
static void
report_load(const struct bench_opts *o, const char *bcase, const char *impl, double secs,
    size_t bytes, size_t n, size_t rss)
{
	bench_report(o, B, bcase, impl, "load_s", secs, "s");
	bench_report(o, B, bcase, impl, "mem_per_prefix", n ? (double)bytes / (double)n : 0, "B");
	if (rss != 0)
		bench_report(o, B, bcase, impl, "rss_per_prefix", n ? (double)rss / (double)n : 0,
		    "B");
	bench_report(o, B, bcase, impl, "prefixes", (double)n, "");
}

/* A 1-CPU kern: only the registry of the tables' lock statistics. */
static struct kern *
bench_route_kern(void)
{
	return kern_create(&(struct kern_config){ .ncpu = 1, .nopin = true });
}

static int
load_smpnet4(const struct bench_opts *o, struct impls *im, const struct bgp_pfx4 *p, size_t n)
{
	size_t rss0 = rss_bytes();
	double t0 = bench_now();

	if (im->k == NULL && (im->k = bench_route_kern()) == NULL)
		return -errno;
	if ((im->rt4 = rt_table_create(im->k, AF_INET)) == NULL)
		return -errno;
	for (size_t i = 0; i < n; i++) {
		uint32_t a = htonl(p[i].addr);
		int rc = rt_add(im->rt4, &a, p[i].len, &im->spec[p[i].nh], RTF_DYNAMIC);

		if (rc != 0)
			return rc;
	}
	report_load(o, "load", "smpnet", bench_now() - t0, rt_memory(im->rt4), rt_count(im->rt4),
	    rss_bytes() - rss0);
	bench_report(o, B, "load", "smpnet", "fib_groups", im->rt4->rt_fib4.f_inuse, "");
	bench_report(o, B, "load", "smpnet", "tbl24_thp_kib",
	    thp_kib((const void *)im->rt4->rt_fib4.f_tbl24), "KiB");
	return 0;
}

static void
load_bt(const struct bench_opts *o, struct impls *im, const struct bgp_pfx4 *p, size_t n)
{
	size_t rss0 = rss_bytes();
	double t0 = bench_now();

	if (bt_init(&im->bt) != 0)
		return;
	im->have_bt = 1;
	for (size_t i = 0; i < n; i++)
		bt_add(&im->bt, p[i].addr, p[i].len, p[i].nh);
	report_load(o, "load", "bsd-trie", bench_now() - t0, im->bt.bt_bytes, im->bt.bt_count,
	    rss_bytes() - rss0);
}

#ifdef HAVE_DPDK
static void
load_lpm(const struct bench_opts *o, struct impls *im, const struct bgp_pfx4 *p, size_t n)
{
	struct rte_lpm_config cfg = { .max_rules = (uint32_t)n + 1024,
		.number_tbl8s = 1 << 14 };
	size_t h0;
	double t0;

	if (!dpdk_up())
		return;
	im->lpm_socket = lpm_heap_create(im);
	h0 = dpdk_heap_bytes(im->lpm_socket);
	t0 = bench_now();
	if ((im->lpm = rte_lpm_create("bench_lpm", im->lpm_socket, &cfg)) == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		if (rte_lpm_add(im->lpm, p[i].addr, p[i].len == 0 ? 1 : p[i].len, p[i].nh) != 0)
			break;
	report_load(o, "load", "dpdk-rte_lpm", bench_now() - t0,
	    dpdk_heap_bytes(im->lpm_socket) - h0, n, 0);
	bench_report(o, B, "load", "dpdk-rte_lpm", "tbl24_thp_kib",
	    thp_kib((const void *)im->lpm->tbl24), "KiB");
}
#endif

static void
to_net(uint32_t *dst, const uint32_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = htonl(src[i]);
}

/* ---- correctness against the reference ---------------------------------------- */

/* Disagreements of smpnet's burst paths (indices, pointers) with want[] for a[0..BURST). */
static void
mismatch4_burst(const struct rt_table *rt, const uint32_t *a, const uint32_t *want,
    size_t *bad_idx, size_t *bad_nh)
{
	uint32_t an[BURST], idx[BURST];
	struct nhop *nh[BURST];

	to_net(an, a, BURST);
	rt_lookup4_idx_burst(rt, an, idx, BURST);
	rt_lookup4_burst(rt, an, nh, BURST);
	for (int k = 0; k < BURST; k++) {
		*bad_idx += nh_id(rt_nhop_byidx(rt, idx[k])) != want[k] ||
		    rt_lookup4_idx(rt, an[k]) != idx[k];
		*bad_nh += nh_id(nh[k]) != want[k];
	}
}

/* smpnet counts a disagreement of rt_lookup4, rt_lookup4_idx or rt_lookup4_idx_burst. */
static void
mismatch4(const struct bench_opts *o, struct impls *im, const struct ref4 *ref,
    const uint32_t *addr, size_t n)
{
	size_t bad[I_N] = { 0 };
	uint32_t want[BURST], nh;

	psz_read_enter();
	for (size_t i = 0; i + BURST <= n; i += BURST) {
		for (size_t k = 0; k < BURST; k++) {
			const uint32_t a = addr[i + k];

			want[k] = ref4_lookup(ref, a);
			bad[I_SMPNET] += nh_id(rt_lookup4(im->rt4, htonl(a))) != want[k];
			if (im->have_bt)
				bad[I_BT] += bt_lookup(&im->bt, a) != want[k];
#ifdef HAVE_DPDK
			if (im->lpm != NULL)
				bad[I_LPM] += (rte_lpm_lookup(im->lpm, a, &nh) == 0 ? nh :
				    UINT32_MAX) != want[k];
#else
			(void)nh;
#endif
		}
		mismatch4_burst(im->rt4, &addr[i], want, &bad[I_SMPNET], &bad[I_SMPNET_NH]);
	}
	psz_read_exit();
	for (int i = 0; i < I_N; i++)
		if (impl_present(im, (enum impl_id)i, 0))
			bench_report(o, B, "mismatch", impl_name[i], "mismatches", (double)bad[i], "");
}

/* ---- destinations -------------------------------------------------------------- */

static void
addrs_random4(uint32_t *a, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++)
		a[i] = (uint32_t)bench_bgp_rng(&seed);
}

/*
 * Trace-like: 16384 popular destinations (inside table prefixes), drawn with a skewed
 * (cubic) popularity, each repeated in a burst of 1..16 packets.
 */
static void
addrs_trace4(uint32_t *a, size_t n, const struct bgp_pfx4 *p, size_t np, uint64_t seed)
{
	enum { NPOP = 16384 };
	uint32_t *pop = malloc(NPOP * sizeof(*pop));

	for (int i = 0; i < NPOP; i++) {
		const struct bgp_pfx4 *x = &p[bench_bgp_rng(&seed) % np];

		pop[i] = x->addr | ((uint32_t)bench_bgp_rng(&seed) & ~mask4(x->len));
	}
	for (size_t i = 0; i < n;) {
		double u = (double)(bench_bgp_rng(&seed) % 1000000) / 1e6;
		uint32_t d = pop[(size_t)(u * u * u * NPOP)];

		for (unsigned b = 1 + (unsigned)(bench_bgp_rng(&seed) % 16); b > 0 && i < n; b--)
			a[i++] = d;
	}
	free(pop);
}

/* ---- IPv4 ---------------------------------------------------------------------- */

static void
run_lookups4(const struct bench_opts *o, struct impls *im, const struct bgp_pfx4 *p, size_t n)
{
	uint32_t *a = malloc(NADDR * sizeof(*a)), *an = malloc(NADDR * sizeof(*an));
	struct run r = { .im = im, .a4 = a, .a4n = an };
	static const char *const pat[2] = { "random", "trace" };

	for (int k = 0; k < 2; k++) {
		if (k == 0)
			addrs_random4(a, NADDR, 0xabcdef);
		else
			addrs_trace4(a, NADDR, p, n, 0x7777);
		to_net(an, a, NADDR);
		for (int w = 0; w < 2; w++)
			for (int t = 1; t <= MAXTHR; t++)
				run_case(o, &r, pat[k], t, w, p, n);
	}
	free(a);
	free(an);
}

static void
teardown(struct impls *im)
{
	if (im->rt4 != NULL)
		rt_table_destroy(im->rt4);
	if (im->rt6 != NULL)
		rt_table_destroy(im->rt6);
	if (im->k != NULL)
		kern_destroy(im->k);
	if (im->have_bt)
		bt_fini(&im->bt);
#ifdef HAVE_DPDK
	if (im->lpm != NULL)
		rte_lpm_free(im->lpm);
	lpm_heap_destroy(im);
	if (im->lpm6 != NULL)
		rte_lpm6_free(im->lpm6);
#endif
}

static int
run_ipv4(const struct bench_opts *o, struct impls *im)
{
	struct bgp_pfx4 *p = NULL;
	size_t n = o->quick ? 0 : bench_bgp_load4(&p);
	const char *src = "bgp";
	struct ref4 ref;
	uint32_t *a;
	int rc;

	if (n == 0) {
		n = bench_bgp_gen4(&p, o->quick ? 50000 : 694682, 0x5eed);
		src = "generated";
	}
	n = dedup4(p, n);
	bench_report(o, B, src, "table", "prefixes", (double)n, "");
	if ((rc = load_smpnet4(o, im, p, n)) != 0)
		return rc;
	load_bt(o, im, p, n);
#ifdef HAVE_DPDK
	load_lpm(o, im, p, n);
#endif
	ref4_build(&ref, p, n);
	a = malloc(NADDR * sizeof(*a));
	addrs_random4(a, NADDR, 0x1234);
	if (bench_want(o, "mismatch"))
		mismatch4(o, im, &ref, a, o->quick ? NADDR / 8 : NADDR);
	free(a);
	ref4_free(&ref);
	run_lookups4(o, im, p, n);
	free(p);
	return 0;
}

/* ---- IPv6 ---------------------------------------------------------------------- */

static int
cmp_pfx6(const void *a, const void *b)
{
	const struct pfx6 *x = a, *y = b;
	int c = memcmp(x->addr, y->addr, 16);

	return c != 0 ? c : (int)x->len - (int)y->len;
}

static size_t
dedup6(struct pfx6 *p, size_t n)
{
	size_t k = 0;

	qsort(p, n, sizeof(*p), cmp_pfx6);	/* same prefix: any one stays (same nh) */
	for (size_t i = 0; i < n; i++)
		if (k == 0 || cmp_pfx6(&p[k - 1], &p[i]) != 0)
			p[k++] = p[i];
	return k;
}

struct ref6 {
	struct pfx6	*byl[129];
	size_t		 n[129];
};

static int
cmp_addr6(const void *a, const void *b)
{
	return memcmp(((const struct pfx6 *)a)->addr, ((const struct pfx6 *)b)->addr, 16);
}

static void
ref6_build(struct ref6 *r, const struct pfx6 *p, size_t n)
{
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < n; i++)
		r->n[p[i].len]++;
	for (int l = 0; l <= 128; l++) {
		r->byl[l] = malloc((r->n[l] + 1) * sizeof(struct pfx6));
		r->n[l] = 0;
	}
	for (size_t i = 0; i < n; i++)
		r->byl[p[i].len][r->n[p[i].len]++] = p[i];
	for (int l = 0; l <= 128; l++)
		qsort(r->byl[l], r->n[l], sizeof(struct pfx6), cmp_addr6);
}

static uint32_t
ref6_lookup(const struct ref6 *r, const uint8_t *a)
{
	struct pfx6 key;

	for (int l = 128; l >= 0; l--) {
		if (r->n[l] == 0)
			continue;
		memcpy(key.addr, a, 16);
		for (int b = l; b < 128; b++)
			key.addr[b >> 3] &= (uint8_t)~(0x80 >> (b & 7));
		struct pfx6 *f = bsearch(&key, r->byl[l], r->n[l], sizeof(key), cmp_addr6);

		if (f != NULL)
			return f->nh;
	}
	return UINT32_MAX;
}

static void
ref6_free(struct ref6 *r)
{
	for (int l = 0; l <= 128; l++)
		free(r->byl[l]);
}

/* Half inside a random table prefix (random host bits), half anywhere in 2000::/7. */
static void
addrs6(uint8_t (*a)[16], size_t n, const struct pfx6 *p, size_t np, int trace, uint64_t s)
{
	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k < 16; k++)
			a[i][k] = (uint8_t)bench_bgp_rng(&s);
		a[i][0] = (uint8_t)(0x20 | (a[i][0] & 1));
		a[i][1] &= 0x0f;
		if (bench_bgp_rng(&s) % 2) {
			const struct pfx6 *x = &p[bench_bgp_rng(&s) % np];

			for (unsigned b = 0; b < x->len; b++)
				a[i][b >> 3] = (uint8_t)((a[i][b >> 3] & ~(0x80 >> (b & 7))) |
				    (x->addr[b >> 3] & (0x80 >> (b & 7))));
		}
	}
	if (!trace)
		return;
	/* trace: reuse the first 16384 as popular destinations, skewed, in bursts */
	for (size_t i = 16384; i < n;) {
		double u = (double)(bench_bgp_rng(&s) % 1000000) / 1e6;
		size_t d = (size_t)(u * u * u * 16384);

		for (unsigned b = 1 + (unsigned)(bench_bgp_rng(&s) % 16); b > 0 && i < n; b--)
			memcpy(a[i++], a[d], 16);
	}
}

static int
load6(const struct bench_opts *o, struct impls *im, const struct pfx6 *p, size_t n)
{
	size_t rss0 = rss_bytes();
	double t0 = bench_now();

	if (im->k == NULL && (im->k = bench_route_kern()) == NULL)
		return -errno;
	if ((im->rt6 = rt_table_create(im->k, AF_INET6)) == NULL)
		return -errno;
	for (size_t i = 0; i < n; i++)
		if (rt_add(im->rt6, p[i].addr, p[i].len, &im->spec[p[i].nh], 0) != 0)
			return -EINVAL;
	report_load(o, "v6-load", "smpnet", bench_now() - t0, rt_memory(im->rt6),
	    rt_count(im->rt6), rss_bytes() - rss0);
#ifdef HAVE_DPDK
	struct rte_lpm6_config cfg = { .max_rules = (uint32_t)n + 1024,
		.number_tbl8s = 1 << 18 };
	size_t h0;

	if (!dpdk_up())
		return 0;
	h0 = dpdk_heap_bytes(0);
	t0 = bench_now();
	if ((im->lpm6 = rte_lpm6_create("bench_lpm6", 0, &cfg)) == NULL)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (rte_lpm6_add(im->lpm6, p[i].addr, p[i].len == 0 ? 1 : p[i].len, p[i].nh) != 0)
			break;
	report_load(o, "v6-load", "dpdk-rte_lpm6", bench_now() - t0, dpdk_heap_bytes(0) - h0, n,
	    0);
#endif
	return 0;
}

static void
mismatch6(const struct bench_opts *o, struct impls *im, const struct ref6 *ref,
    uint8_t (*a)[16], size_t n)
{
	size_t bad[I_N] = { 0 };
	uint32_t want, nh;

	psz_read_enter();
	for (size_t i = 0; i < n; i++) {
		want = ref6_lookup(ref, a[i]);
		bad[I_SMPNET] += nh_id(rt_lookup(im->rt6, a[i])) != want;
#ifdef HAVE_DPDK
		if (im->lpm6 != NULL)
			bad[I_LPM] += (rte_lpm6_lookup(im->lpm6, a[i], &nh) == 0 ? nh : UINT32_MAX)
			    != want;
#else
		(void)nh;
#endif
	}
	psz_read_exit();
	for (int i = 0; i < I_N; i++)
		if (impl_present(im, (enum impl_id)i, 1))
			bench_report(o, B, "v6-mismatch", impl_label((enum impl_id)i, 1), "mismatches",
			    (double)bad[i], "");
}

static int
run_ipv6(const struct bench_opts *o, struct impls *im)
{
	struct pfx6 *p = NULL;
	size_t n = gen_table6(&p, o->quick ? 5000 : 40000, 0x6666);
	uint8_t (*a)[16] = malloc(NADDR * 16);
	struct run r = { .im = im, .v6 = 1 };
	struct ref6 ref;
	int rc;

	n = dedup6(p, n);
	bench_report(o, B, "v6-generated", "table", "prefixes", (double)n, "");
	if ((rc = load6(o, im, p, n)) != 0)
		return rc;
	ref6_build(&ref, p, n);
	addrs6(a, NADDR, p, n, 0, 0x9999);
	if (bench_want(o, "mismatch"))
		mismatch6(o, im, &ref, a, o->quick ? NADDR / 16 : NADDR / 4);
	ref6_free(&ref);
	r.a6 = (const uint8_t (*)[16])a;
	for (int t = 1; t <= MAXTHR; t++)
		run_case(o, &r, "random", t, 0, NULL, 0);
	addrs6(a, NADDR, p, n, 1, 0x4444);
	for (int t = 1; t <= MAXTHR; t++)
		run_case(o, &r, "trace", t, 0, NULL, 0);
	free(a);
	free(p);
	return 0;
}

/* ---- entry --------------------------------------------------------------------- */

static int
bench_route_run(const struct bench_opts *o)
{
	struct impls *im = calloc(1, sizeof(*im));
	int rc;

	if (im == NULL)
		return -ENOMEM;
	specs_init(im);
	rc = run_ipv4(o, im);
	if (rc == 0)
		rc = run_ipv6(o, im);
	teardown(im);
	free(im);
	return rc;
}

const struct bench bench_route = {
	.name = "route",
	.help = "longest-prefix match on the BGP table: smpnet vs rte_lpm, rte_lpm6, BSD trie",
	.run = bench_route_run,
};
