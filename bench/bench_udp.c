/*
 * bench_udp.c - `smpnet bench udp`: UDP datagrams per second between two stacks over an
 * in-memory wire, at 1 and 2 CPUs, normal mode (impl smpnet) vs giant mode (smpnet-giant).
 *
 * Both stacks share one kern of N CPU threads; the wire has N queues, so RSS spreads
 * flows over the CPUs.  Stack A runs an echo service: N sockets in one SO_REUSEPORT
 * group on port 7 (one per CPU).  Stack B runs 8*N client flows (one connected socket
 * each) that keep WINDOW datagrams of PAYLOAD bytes in flight.  No application thread
 * takes part: every receive is a completion-based call whose callback (on a CPU thread)
 * sends the echo or the next request and re-arms the receive - the "continuations, not
 * threads" model.  The main thread only sleeps for the measurement and reads counters.
 * Metric: datagrams_per_s = datagrams delivered to sockets (both directions) per second;
 * median of opts->repeat runs, with the spread.  Cases: echo-1cpu, echo-2cpu; echo-2cpu
 * also reports speedup_vs_1cpu, the median over repeats of 2-CPU rate / 1-CPU rate.
 * Second metric, datagrams_per_cpu_s: the same count divided by the CPU time the
 * process used meanwhile (getrusage), i.e. the rate per fully-used core.  On a shared,
 * loaded machine the CPU threads get a fraction of their cores, so the wall-clock rate
 * says little about scaling; the per-CPU-second rate staying flat from 1 to 2 CPUs says
 * the work parallelises without extra cost, and its fall says it does not.
 * Closed loop: a lost datagram would shrink a flow's window for good; with 8*N flows of
 * WINDOW datagrams the wire's RX rings (1024 slots) never fill, and the windows open only
 * after one echo has resolved ARP both ways, each from its flow's own CPU (bu_start), so
 * none is lost.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench.h"
#include "bench_udp.h"
#include "kern/klock.h"
#include "smpnet/smpnet.h"
#include "smpnet/socket.h"
#include "socket/socket_var.h"

#define FLOWS_PER_CPU	8
#define WINDOW		8
#define PAYLOAD		64
#define MAXFLOWS	(FLOWS_PER_CPU * 2)
#define ECHO_PORT	7

struct bu_run;

struct bu_ep {				/* one socket driven by completions */
	struct smpnet_completion c;
	struct msghdr		 m;
	struct iovec		 iov;
	struct sockaddr_in	 from;
	char			 buf[PAYLOAD];
	struct smpnet_socket	*so;
	struct bu_run		*run;
	bool			 server;
	_Atomic uint64_t	 n;	/* datagrams received */
	_Atomic bool		 dead;
	bool			 opened;	/* [c] the window is open (client) */
} __attribute__((aligned(128)));	/* endpoints on different CPUs never share a line */

struct bu_run {
	struct smpnet		*a, *b;
	struct bu_ep		 srv[2];
	struct bu_ep		 cli[MAXFLOWS];
	int			 nsrv, ncli;
	_Atomic bool		 stop;
};

static uint32_t
bu_ip(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

/* Handle one received datagram: echo it (server) or send the next request (client). */
static void
bu_handle(struct bu_ep *e, ssize_t n)
{
	atomic_fetch_add_explicit(&e->n, 1, memory_order_relaxed);
	if (atomic_load_explicit(&e->run->stop, memory_order_relaxed))
		return;
	if (e->server) {
		(void)smpnet_sendto(e->so, e->buf, (size_t)n, 0, (struct sockaddr *)&e->from,
		    sizeof(e->from));
		return;
	}
	/* One for one; the first echo opens the whole window, from the flow's own CPU. */
	for (int i = 0, k = e->opened ? 1 : WINDOW; i < k; i++)
		(void)smpnet_send(e->so, e->buf, PAYLOAD, 0);
	e->opened = true;
}

static void bu_cb(struct smpnet_completion *c, ssize_t res);

static void
bu_arm(struct bu_ep *e)
{
	for (;;) {
		ssize_t n;

		e->m.msg_name = &e->from;
		e->m.msg_namelen = sizeof(e->from);
		if ((n = smpnet_recvmsg_async(e->so, &e->m, 0, &e->c)) == -EINPROGRESS)
			return;
		if (n < 0) {
			atomic_store(&e->dead, true);
			return;
		}
		bu_handle(e, n);
	}
}

static void
bu_cb(struct smpnet_completion *c, ssize_t res)
{
	struct bu_ep *e = c->sc_arg;

	if (res < 0) {
		atomic_store(&e->dead, true);
		return;
	}
	bu_handle(e, res);
	bu_arm(e);
}

static int
bu_ep_open(struct bu_run *r, struct bu_ep *e, struct smpnet *st, bool server)
{
	memset(e, 0, sizeof(*e));
	e->run = r;
	e->server = server;
	e->iov = (struct iovec){ e->buf, sizeof(e->buf) };
	e->m.msg_iov = &e->iov;
	e->m.msg_iovlen = 1;
	e->c.sc_fn = bu_cb;
	e->c.sc_arg = e;
	if ((e->so = smpnet_socket(st, AF_INET, SOCK_DGRAM, 0)) == NULL)
		return -errno;
	return 0;
}

static int
bu_server(struct bu_run *r, struct bu_ep *e)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(ECHO_PORT) };
	int one = 1, err;

	if ((err = bu_ep_open(r, e, r->a, true)) != 0)
		return err;
	(void)smpnet_setsockopt(e->so, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	return smpnet_bind(e->so, (struct sockaddr *)&a, sizeof(a));
}

static int
bu_client(struct bu_run *r, struct bu_ep *e)
{
	struct sockaddr_in d = { .sin_family = AF_INET, .sin_port = htons(ECHO_PORT),
	    .sin_addr = { bu_ip("192.0.2.1") } };
	int err;

	if ((err = bu_ep_open(r, e, r->b, false)) != 0)
		return err;
	return smpnet_connect(e->so, (struct sockaddr *)&d, sizeof(d));
}

static int
bu_setup(struct bu_run *r, int ncpu, bool giant)
{
	struct smpnet_config ca = { .name = "udp-a", .ncpu = ncpu, .giant = giant };
	int err;

	if ((r->a = smpnet_create(&ca)) == NULL)
		return -errno;
	struct smpnet_config cb = { .name = "udp-b", .share = r->a };
	if ((r->b = smpnet_create(&cb)) == NULL)
		return -errno;
	if ((err = smpnet_wire_pair(r->a, bu_ip("192.0.2.1"), r->b, bu_ip("192.0.2.2"),
	    ncpu)) != 0)
		return err;
	r->nsrv = ncpu;
	r->ncli = FLOWS_PER_CPU * ncpu;
	for (int i = 0; i < r->nsrv; i++)
		if ((err = bu_server(r, &r->srv[i])) != 0)
			return err;
	for (int i = 0; i < r->ncli; i++)
		if ((err = bu_client(r, &r->cli[i])) != 0)
			return err;
	return 0;
}

static uint64_t
bu_count(struct bu_run *r)
{
	uint64_t n = 0;

	for (int i = 0; i < r->nsrv; i++)
		n += atomic_load_explicit(&r->srv[i].n, memory_order_relaxed);
	for (int i = 0; i < r->ncli; i++)
		n += atomic_load_explicit(&r->cli[i].n, memory_order_relaxed);
	return n;
}

/*
 * Open the windows: one datagram per flow from this thread, after a first echo (bounded
 * wait) has resolved the neighbours both ways - the first datagram waits in the ARP hold
 * queue, which keeps only a few per neighbour, and a closed loop never gets a dropped
 * datagram back.  Each flow's first echo then sends the rest of its window from the CPU
 * that serves the flow (bu_handle), so every mbuf in steady state was first taken on
 * that CPU: a window opened here would seed both CPUs' caches with interleaved mbufs.
 */
static void
bu_start(struct bu_run *r)
{
	for (int i = 0; i < r->nsrv; i++)
		bu_arm(&r->srv[i]);
	for (int i = 0; i < r->ncli; i++)
		bu_arm(&r->cli[i]);
	(void)smpnet_send(r->cli[0].so, r->cli[0].buf, PAYLOAD, 0);
	for (int t = 0; t < 1000 && bu_count(r) < 2; t++)
		usleep(1000);
	for (int i = 1; i < r->ncli; i++)
		(void)smpnet_send(r->cli[i].so, r->cli[i].buf, PAYLOAD, 0);
}

static void
bu_teardown(struct bu_run *r)
{
	atomic_store(&r->stop, true);
	usleep(20000);		/* let in-flight callbacks see stop */
	for (int i = 0; i < r->ncli; i++)
		if (r->cli[i].so != NULL)
			smpnet_close(r->cli[i].so);
	for (int i = 0; i < r->nsrv; i++)
		if (r->srv[i].so != NULL)
			smpnet_close(r->srv[i].so);
	if (r->b != NULL)
		smpnet_destroy(r->b);
	if (r->a != NULL)
		smpnet_destroy(r->a);
}

/* One measurement: datagrams/s over opts->seconds after a short warm-up. */
static double
bu_cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

int
udp_echo_measure(int ncpu, bool giant, double seconds, double warmup,
    struct udp_echo_result *res)
{
	struct bu_run *r = aligned_alloc(128, sizeof(struct bu_run));
	struct klock_stat ks;
	uint64_t c0, c1;
	double t0, t1, u0, u1;
	int err;

	if (r == NULL)
		return -ENOMEM;
	memset(r, 0, sizeof(*r));
	memset(res, 0, sizeof(*res));
	if ((err = bu_setup(r, ncpu, giant)) == 0) {
		bu_start(r);
		usleep((useconds_t)(warmup * 1e6));
		c0 = bu_count(r);
		t0 = bench_now();
		u0 = bu_cpu_seconds();
		usleep((useconds_t)(seconds * 1e6));
		c1 = bu_count(r);
		t1 = bench_now();
		u1 = bu_cpu_seconds();
		res->rate = (double)(c1 - c0) / (t1 - t0);
		res->per_cpu_s = u1 > u0 ? (double)(c1 - c0) / (u1 - u0) : 0;
		if (klock_stats_get(smpnet_kern_of(r->a), "giant", &ks) == 0 &&
		    ks.acquisitions != 0)
			res->giant_wait = (double)ks.contended / (double)ks.acquisitions;
	}
	bu_teardown(r);
	free(r);
	return err;
}

/*
 * One repeat measures every (CPUs, mode) cell back to back, so that the machine's drift
 * (a shared host's speed changes over seconds) hits the 1-CPU and the 2-CPU runs of a
 * repeat alike; speedup_vs_1cpu is each repeat's 2-CPU rate over its own 1-CPU rate.
 */
static int
bench_udp_run(const struct bench_opts *opts)
{
	static const char *const impls[2] = { "smpnet", "smpnet-giant" };
	double s[2][2][1000], pc[2][2][1000], up[2][1000];
	int n = opts->repeat < 1000 ? opts->repeat : 1000;
	bool want[2] = { bench_want(opts, "echo-1cpu"), bench_want(opts, "echo-2cpu") };
	char bcase[32];

	for (int i = 0; i < n; i++)
		for (int ncpu = 1; ncpu <= 2; ncpu++)
			for (int g = 0; g < 2 && want[ncpu - 1]; g++) {	/* alternate the peers */
				struct udp_echo_result res;
				int err = udp_echo_measure(ncpu, g == 1, opts->seconds,
				    opts->quick ? 0.01 : 0.1, &res);

				if (err != 0)
					return err;
				s[ncpu - 1][g][i] = res.rate;
				pc[ncpu - 1][g][i] = res.per_cpu_s;
				if (ncpu == 2 && want[0] && s[0][g][i] > 0)
					up[g][i] = res.rate / s[0][g][i];
			}
	for (int ncpu = 1; ncpu <= 2; ncpu++) {
		if (!want[ncpu - 1])
			continue;
		snprintf(bcase, sizeof(bcase), "echo-%dcpu", ncpu);
		for (int g = 0; g < 2; g++) {
			bench_report_samples(opts, "udp", bcase, impls[g], "datagrams_per_s",
			    s[ncpu - 1][g], n, "datagrams/s");
			bench_report_samples(opts, "udp", bcase, impls[g], "datagrams_per_cpu_s",
			    pc[ncpu - 1][g], n, "datagrams/cpu-s");
			if (ncpu == 2 && want[0])
				bench_report_samples(opts, "udp", bcase, impls[g],
				    "speedup_vs_1cpu", up[g], n, "ratio");
		}
	}
	return 0;
}

const struct bench bench_udp = { "udp",
	"UDP datagrams/s between two stacks over a wire, 1 and 2 CPUs, normal vs giant",
	bench_udp_run };
