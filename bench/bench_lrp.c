/*
 * bench_lrp.c - `smpnet bench lrp`: delivered vs offered UDP datagram rate under
 * overload, eager vs lazy receive processing (setting net.lrp.lazy).
 *
 * The receiver is stack A on ONE CPU thread (core 0); it owns the wire (a pair with an
 * idle stack B, needed for the link only).  A generator thread (core 1) pushes prebuilt
 * frames - Ethernet + IPv4 + UDP, PAYLOAD bytes, correct checksums, to A's socket -
 * straight into A's RX ring (wire_inject), paced at an offered rate; when the ring (1024
 * frames) is full the frame is dropped there, as a NIC drops when its ring is full.  So
 * the overload reaches A's receive work: nothing upstream throttles it.
 *
 * Interrupt priority, modelled honestly: A's RX poll continuation runs at KC_PRIO_HIGH
 * (if_rxq_set_prio), before every normal continuation of the CPU thread, as a kernel's
 * receive interrupt and softint preempt processes.  The application is not a separate
 * thread (a fair OS scheduler would give it its share, and no eager stack could then
 * livelock): it is a completion-based receive whose callback, on the same CPU thread at
 * normal priority (the socket's receive continuation), does APPWORK passes over each
 * datagram's bytes, counts it, and posts the next receive (taking the datagrams already
 * queued in the same run).  The RX poll takes 64 frames a run and runs again at once
 * while it finds that many, so under overload the application runs only when the ring
 * is drained.
 *  - Eager: the poll does Ethernet, IPv4 and UDP input, checksums included, for every
 *    frame, also those it then drops at the full socket buffer: past the stack's
 *    capacity the poll never drains the ring and the application starves (receive
 *    livelock, Mogul & Ramakrishnan 1997).
 *  - Lazy: the poll only classifies the frame in place and drops it early when the
 *    socket's buffer is full; IPv4/UDP validation runs in the application's completion
 *    (pr_rcv_process), at its priority, only for datagrams it reads.
 *
 * Cases offered-<rate> (datagrams/s offered; "max" = as fast as the generator can).
 * Impls smpnet-eager and smpnet-lazy, alternated in the same run.  Metrics:
 * delivered_per_s (datagrams the application processed) and offered_per_s (frames the
 * generator pushed, ring drops included), medians of opts->repeat runs with the spread.
 * SMPNET_LRP_DEBUG=1 prints each run's ring drops, early drops and socket-full drops.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "bench.h"
#include "dev/wire.h"
#include "kern/psz.h"
#include "mbuf/mbuf.h"
#include "net/ether.h"
#include "net/if_var.h"
#include "net/vnet.h"
#include "netinet/udp_var.h"
#include "netinet/udp_wire.h"
#include "smpnet/smpnet.h"
#include "smpnet/socket.h"
#include "socket/socket_var.h"

#define PAYLOAD		1400
#define APPWORK		1
#define LRP_PORT	9
#define MAXREP		50
#define ADDR_A		0xc0000201u	/* 192.0.2.1, host order */
#define ADDR_B		0xc0000202u
#define FRAME_LEN	(ETHER_HDR_LEN + 20 + 8 + PAYLOAD)

struct lr_run {
	struct smpnet		*a, *b;
	struct wire		*w;
	struct smpnet_socket	*rx;
	double			 rate;		/* offered datagrams/s, 0 = max */
	uint8_t			 frame[FRAME_LEN];
	_Atomic bool		 stop;		/* generator and application: finish */
	_Atomic bool		 app_idle;	/* the application posted nothing more */
	_Atomic uint64_t	 delivered;
	_Atomic uint64_t	 offered;
	uint32_t		 sink;		/* keeps the application's work alive */
	/* the application's one pending receive (CPU thread only, by its callback) */
	struct smpnet_completion c;
	struct msghdr		 msg;
	struct iovec		 iov;
	uint8_t			 buf[PAYLOAD];
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

/* The application's work on one datagram. */
static void
lr_app_work(struct lr_run *r, ssize_t n)
{
	uint32_t acc = r->sink;

	for (int w = 0; w < APPWORK; w++)
		for (ssize_t i = 0; i < n; i++)
			acc = acc * 31u + r->buf[i];
	r->sink = acc;
	atomic_fetch_add_explicit(&r->delivered, 1, memory_order_relaxed);
}

/* Post the next receive; returns its immediate result (-EINPROGRESS: pending). */
static ssize_t
lr_app_post(struct lr_run *r)
{
	r->iov = (struct iovec){ .iov_base = r->buf, .iov_len = sizeof(r->buf) };
	r->msg = (struct msghdr){ .msg_iov = &r->iov, .msg_iovlen = 1 };
	return smpnet_recvmsg_async(r->rx, &r->msg, 0, &r->c);
}

/* Completion callback, on A's CPU thread at normal priority: work, post again. */
static void
lr_app_done(struct smpnet_completion *c, ssize_t res)
{
	struct lr_run *r = c->sc_arg;

	for (;;) {
		if (res > 0)
			lr_app_work(r, res);
		/* relaxed: a request to stop; app_idle's release publishes the end */
		if (atomic_load_explicit(&r->stop, memory_order_relaxed) ||
		    (res < 0 && res != -EAGAIN && res != -EINPROGRESS)) {
			atomic_store_explicit(&r->app_idle, true, memory_order_release);
			return;
		}
		if ((res = lr_app_post(r)) == -EINPROGRESS)
			return;
	}
}

static void *
lr_gen(void *arg)
{
	struct lr_run *r = arg;
	struct mbuf_pools *mp = smpnet_vnet_of(r->a)->v_pools;
	double t0 = bench_now();
	uint64_t n = 0;
	struct mbuf *m;

	lr_pin(1);
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		if (r->rate > 0 && (double)n > (bench_now() - t0) * r->rate) {
			sched_yield();
			continue;
		}
		if ((m = m_devget(mp, r->frame, FRAME_LEN, 0, 0)) == NULL) {
			sched_yield();		/* pool dry: frames in flight come back */
			continue;
		}
		(void)wire_inject(r->w, 0, m);
		atomic_fetch_add_explicit(&r->offered, 1, memory_order_relaxed);
		n++;
	}
	return NULL;
}

/* The prebuilt frame B -> A, port 9. */
static void
lr_frame(struct lr_run *r)
{
	uint8_t *ip = r->frame + ETHER_HDR_LEN;

	psz_read_enter();
	ether_header_build(r->frame, if_lladdr(wire_port_ifnet(r->w, 0)),
	    if_lladdr(wire_port_ifnet(r->w, 1)), ETHERTYPE_IP);
	psz_read_exit();
	memset(ip + 28, 0x5a, PAYLOAD);
	(void)udp4_datagram_emit(ip, FRAME_LEN - ETHER_HDR_LEN, ADDR_B, ADDR_A, 5000,
	    LRP_PORT, PAYLOAD);
}

/* A's RX poll at interrupt priority (before traffic). */
static int
lr_rx_prio(struct lr_run *r)
{
	struct ifnet *ifp;

	psz_read_enter();
	ifp = wire_port_ifnet(r->w, 0);
	psz_read_exit();
	/* the port stays attached until A is destroyed (this thread's doing) */
	return ifp == NULL ? -ENXIO : if_rxq_set_prio(ifp, true);
}

static int
lr_setup(struct lr_run *r, bool lazy)
{
	struct smpnet_config ca = { .name = "lrp-a", .ncpu = 1, .lazy = lazy };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(LRP_PORT) };
	int err;

	if ((r->a = smpnet_create(&ca)) == NULL)
		return -errno;
	struct smpnet_config cb = { .name = "lrp-b", .share = r->a, .lazy = lazy };
	if ((r->b = smpnet_create(&cb)) == NULL)
		return -errno;
	if ((err = smpnet_wire_pair(r->a, htonl(ADDR_A), r->b, htonl(ADDR_B), 1)) != 0)
		return err;
	r->w = smpnet_wire_of(r->a);
	if ((err = lr_rx_prio(r)) != 0 && err != -EBUSY)
		return err;
	lr_frame(r);
	if ((r->rx = smpnet_socket(r->a, AF_INET, SOCK_DGRAM, 0)) == NULL)
		return -errno;
	if ((err = smpnet_bind(r->rx, (struct sockaddr *)&a, sizeof(a))) != 0)
		return err;
	r->c.sc_fn = lr_app_done;
	r->c.sc_arg = r;
	if ((err = (int)lr_app_post(r)) != -EINPROGRESS)
		return err < 0 ? err : -EIO;	/* nothing can be there yet */
	return 0;
}

/* Stop the application: its callback sees stop at its next run, or we cancel it. */
static void
lr_app_stop(struct lr_run *r)
{
	double t0 = bench_now();

	atomic_store_explicit(&r->stop, true, memory_order_relaxed);
	if (smpnet_cancel(r->rx, &r->c) == 0)
		return;
	/* acquire: pairs with lr_app_done's release; bounded: the ring is drained by now */
	while (!atomic_load_explicit(&r->app_idle, memory_order_acquire) &&
	    bench_now() - t0 < 5.0) {
		usleep(1000);
		if (smpnet_cancel(r->rx, &r->c) == 0)
			return;		/* it had posted again before it saw stop */
	}
}

static void
lr_debug(struct lr_run *r)
{
	struct wire_stats ws;
	struct udp_stats us;

	if (getenv("SMPNET_LRP_DEBUG") == NULL)
		return;
	(void)wire_port_stats(r->w, 0, &ws);
	udp_stats(smpnet_udp_of(r->a), &us);
	fprintf(stderr, "lrp debug: ring drops %llu, early drops %llu, socket-full drops "
	    "%llu, udp delivered %llu\n", (unsigned long long)ws.ws_ring_full,
	    (unsigned long long)us.c[UDPS_EARLYDROP], (unsigned long long)us.c[UDPS_FULLSOCK],
	    (unsigned long long)us.c[UDPS_DELIVERED]);
}

static void
lr_teardown(struct lr_run *r)
{
	if (r->rx != NULL) {
		lr_app_stop(r);
		lr_debug(r);
		smpnet_close(r->rx);
	}
	if (r->b != NULL)
		smpnet_destroy(r->b);
	if (r->a != NULL)
		smpnet_destroy(r->a);
}

static int
lr_measure(const struct bench_opts *opts, double rate, bool lazy, double *del, double *off)
{
	struct lr_run *r = calloc(1, sizeof(*r));
	pthread_t gen;
	uint64_t d0, o0;
	double t0, t1;
	int err;

	if (r == NULL)
		return -ENOMEM;
	r->rate = rate;
	if ((err = lr_setup(r, lazy)) == 0) {
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
		pthread_join(gen, NULL);
	}
	lr_teardown(r);
	free(r);
	return err;
}

static int
bench_lrp_run(const struct bench_opts *opts)
{
	static const double rates[] = { 10e3, 20e3, 50e3, 100e3, 200e3, 400e3, 0 };
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
