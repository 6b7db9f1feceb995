/*
 * bench_lrp.c - `smpnet bench lrp`: delivered vs offered UDP datagram rate under
 * overload, eager vs lazy receive processing (setting net.lrp.lazy).
 *
 * Setup: stacks A (receiver) and B (sender) on one kern of ONE CPU thread (pinned to
 * core 0), joined by a wire.  A generator thread (core 1) sends PAYLOAD-byte datagrams
 * through B at a paced offered rate; they cross the wire into A's RX ring, where A's CPU
 * thread does the receive work.  An application thread, pinned to core 0 with the CPU
 * thread (as an application shares a core with the stack's interrupt work), receives on
 * one socket with blocking calls and does APPWORK passes over each datagram's bytes.
 * Eager: IPv4 + UDP work, checksum included, on the CPU thread for every datagram,
 * also those then dropped at the full socket buffer.  Lazy: the CPU thread only
 * demultiplexes and drops early when the buffer is full; the checksum is verified by
 * the application thread for the datagrams it reads.
 * Cases offered-<rate> (datagrams/s offered; "max" = as fast as the generator can).
 * Impls smpnet-eager and smpnet-lazy, alternated in the same run.  Metrics:
 * delivered_per_s (read by the application) and offered_per_s (what the generator
 * achieved), medians of opts->repeat runs with the spread.  SMPNET_LRP_DEBUG=1 prints how
 * many receives waited their 20 ms SO_RCVTIMEO in vain (a lost wakeup would show here).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "bench.h"
#include "smpnet/smpnet.h"
#include "smpnet/socket.h"

#define PAYLOAD		1400
#define APPWORK		1
#define LRP_PORT	9
#define MAXREP		50

struct lr_run {
	struct smpnet		*a, *b;
	struct smpnet_socket	*rx, *tx;
	double			 rate;		/* offered datagrams/s, 0 = max */
	_Atomic bool		 stop;
	_Atomic uint64_t	 delivered;
	_Atomic uint64_t	 offered;
	_Atomic uint64_t	 timeouts;	/* receives that waited SO_RCVTIMEO in vain */
	uint32_t		 sink;		/* keeps the application's work alive */
};

static void
lr_pin(int core)
{
	cpu_set_t set;
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	CPU_ZERO(&set);
	CPU_SET(n > 0 ? core % (int)n : 0, &set);
	(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *
lr_app(void *arg)
{
	struct lr_run *r = arg;
	uint8_t buf[PAYLOAD];
	uint32_t acc = 0;

	lr_pin(0);
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		ssize_t n = smpnet_recv(r->rx, buf, sizeof(buf), 0);

		if (n <= 0) {
			if (n == -EAGAIN)
				atomic_fetch_add_explicit(&r->timeouts, 1, memory_order_relaxed);
			continue;
		}
		for (int w = 0; w < APPWORK; w++)
			for (ssize_t i = 0; i < n; i++)
				acc = acc * 31u + buf[i];
		atomic_fetch_add_explicit(&r->delivered, 1, memory_order_relaxed);
	}
	r->sink = acc;
	return NULL;
}

static void *
lr_gen(void *arg)
{
	struct lr_run *r = arg;
	struct sockaddr_in d = { .sin_family = AF_INET, .sin_port = htons(LRP_PORT) };
	uint8_t buf[PAYLOAD];
	double t0 = bench_now();
	uint64_t n = 0;

	lr_pin(1);
	memset(buf, 0x5a, sizeof(buf));
	inet_pton(AF_INET, "192.0.2.1", &d.sin_addr);
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		if (r->rate > 0 && (double)n > (bench_now() - t0) * r->rate) {
			sched_yield();
			continue;
		}
		if (smpnet_sendto(r->tx, buf, sizeof(buf), 0, (struct sockaddr *)&d,
		    sizeof(d)) == (ssize_t)sizeof(buf))
			atomic_fetch_add_explicit(&r->offered, 1, memory_order_relaxed);
		n++;
	}
	return NULL;
}

static int
lr_setup(struct lr_run *r, bool lazy)
{
	struct smpnet_config ca = { .name = "lrp-a", .ncpu = 1, .lazy = lazy };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(LRP_PORT) };
	struct timeval tv = { .tv_sec = 0, .tv_usec = 20000 };
	struct in_addr ia, ib;
	int err;

	inet_pton(AF_INET, "192.0.2.1", &ia);
	inet_pton(AF_INET, "192.0.2.2", &ib);
	if ((r->a = smpnet_create(&ca)) == NULL)
		return -errno;
	struct smpnet_config cb = { .name = "lrp-b", .share = r->a, .lazy = lazy };
	if ((r->b = smpnet_create(&cb)) == NULL)
		return -errno;
	if ((err = smpnet_wire_pair(r->a, ia.s_addr, r->b, ib.s_addr, 1)) != 0)
		return err;
	if ((r->rx = smpnet_socket(r->a, AF_INET, SOCK_DGRAM, 0)) == NULL ||
	    (r->tx = smpnet_socket(r->b, AF_INET, SOCK_DGRAM, 0)) == NULL)
		return -errno;
	(void)smpnet_setsockopt(r->rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return smpnet_bind(r->rx, (struct sockaddr *)&a, sizeof(a));
}

static void
lr_teardown(struct lr_run *r)
{
	if (r->rx != NULL)
		smpnet_close(r->rx);
	if (r->tx != NULL)
		smpnet_close(r->tx);
	if (r->b != NULL)
		smpnet_destroy(r->b);
	if (r->a != NULL)
		smpnet_destroy(r->a);
}

static int
lr_measure(const struct bench_opts *opts, double rate, bool lazy, double *del, double *off)
{
	struct lr_run *r = calloc(1, sizeof(*r));
	pthread_t app, gen;
	uint64_t d0, o0;
	double t0, t1;
	int err;

	if (r == NULL)
		return -ENOMEM;
	r->rate = rate;
	if ((err = lr_setup(r, lazy)) == 0) {
		pthread_create(&app, NULL, lr_app, r);
		pthread_create(&gen, NULL, lr_gen, r);
		usleep(opts->quick ? 10000 : 100000);
		d0 = atomic_load(&r->delivered);
		o0 = atomic_load(&r->offered);
		t0 = bench_now();
		usleep((useconds_t)(opts->seconds * 1e6));
		t1 = bench_now();
		*del = (double)(atomic_load(&r->delivered) - d0) / (t1 - t0);
		*off = (double)(atomic_load(&r->offered) - o0) / (t1 - t0);
		atomic_store(&r->stop, true);
		if (getenv("SMPNET_LRP_DEBUG"))
			fprintf(stderr, "lrp debug: %llu timeouts\n",
			    (unsigned long long)atomic_load(&r->timeouts));
		pthread_join(gen, NULL);
		pthread_join(app, NULL);
	}
	lr_teardown(r);
	free(r);
	return err;
}

static int
bench_lrp_run(const struct bench_opts *opts)
{
	static const double rates[] = { 25e3, 50e3, 100e3, 200e3, 400e3, 0 };
	static const char *const impls[2] = { "smpnet-eager", "smpnet-lazy" };
	int rep = opts->repeat < MAXREP ? opts->repeat : MAXREP, err;
	double del[2][MAXREP], off[2][MAXREP];
	char bcase[32];

	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		if (rates[i] > 0)
			snprintf(bcase, sizeof(bcase), "offered-%.0fk", rates[i] / 1e3);
		else
			snprintf(bcase, sizeof(bcase), "offered-max");
		if (!bench_want(opts, bcase))
			continue;
		for (int k = 0; k < rep; k++)
			for (int l = 0; l < 2; l++)
				if ((err = lr_measure(opts, rates[i], l == 1, &del[l][k],
				    &off[l][k])) != 0)
					return err;
		for (int l = 0; l < 2; l++) {
			bench_report_samples(opts, "lrp", bcase, impls[l], "delivered_per_s",
			    del[l], rep, "datagrams/s");
			bench_report_samples(opts, "lrp", bcase, impls[l], "offered_per_s",
			    off[l], rep, "datagrams/s");
		}
	}
	return 0;
}

const struct bench bench_lrp = { "lrp",
	"delivered vs offered UDP rate under overload, eager vs lazy receive processing",
	bench_lrp_run };
