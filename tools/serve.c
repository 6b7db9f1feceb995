/*
 * serve.c - `smpnet serve`: one smpnet stack (one vnet with IPv4) on Linux TAP devices.
 *
 *   smpnet serve --tap NAME=ADDR/PLEN [--tap ...] [--route PREFIX/PLEN=GW | default=GW]
 *                [--forward] [--cpus N] [--queues Q] [--giant] [--mtu N]
 *                [--arp-timeout MS] [--set SETTING=VALUE ...]
 *                [--udp-echo] [--join GROUP@DEV ...]
 *
 * Order of start-up: parse everything (a bad argument exits 2 before anything is
 * created), block SIGINT/SIGTERM/SIGUSR1 so that every thread the stack starts inherits
 * the mask, create the kern, the mbuf pools and the vnet, attach inet, apply settings,
 * attach each TAP interface (tap_if_attach: attach to the device or create it) with its
 * address, add the routes, start the services, print "smpnet serve: ready" and wait in
 * sigwait: SIGUSR1 prints the counters (and keeps running), SIGINT/SIGTERM stop the
 * services, print the counters a last time and tear everything down.
 *
 * Exit status: 0 after a clean stop, 2 for a bad argument (also an unknown setting or a
 * value out of its range), 1 for any other failure (device, address, route, leak).
 *
 * Counters are printed between "COUNTERS BEGIN" and "COUNTERS END", one "name value" a
 * line (if.NAME.*, tap.NAME.*, the inet counters ip.*, icmp.*, arp.*, igmp.*), then the
 * neighbour caches as "neigh NAME ADDR MAC STATE" lines.
 *
 * Services (UDP echo and the like) are entries of serve_services[]: each gets the
 * running stack after the interfaces and routes exist and is stopped before teardown.
 *
 * UDP echo (--udp-echo, or implied by --join): port 7, one socket per CPU sharing the
 * port with SO_REUSEPORT, each with SERVE_ECHO_SLOTS receive records pending through
 * smpnet_recvmsg_async().  A record's completion (on a stack CPU) sends the datagram
 * back to its source and posts the record again; receives that complete at once are
 * handled in the same loop.  --join GROUP@DEV makes the first echo socket a member of
 * GROUP on the interface DEV (IP_ADD_MEMBERSHIP with DEV's address), so datagrams sent
 * to GROUP port 7 are echoed (to their unicast source) once.  Counters udp.echo.rx
 * (datagrams received), udp.echo.tx (echoes sent), udp.echo.drops (truncated, receive
 * errors, failed sends) and the stack's udp.* counters join the dump.  With a UDP
 * service, the stack is made by smpnet_create() (the socket layer needs it), so its mbuf
 * pools are the vnet's own and a leak at exit is not reported by serve.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev/if_tap.h"
#include "dev/tap.h"
#include "kern/kern.h"
#include "kern/psz.h"
#include "mbuf/mbuf.h"
#include "net/if_var.h"
#include "net/vnet.h"
#include "netinet/arp.h"
#include "netinet/in_var.h"
#include "netinet/inet.h"
#include "netinet/udp_var.h"
#include "smpnet/socket.h"
#include "socket/socket_var.h"
#include "smpnet.h"

#if defined(PSZ_TSAN)
/*
 * ThreadSanitizer: liburcu is not instrumented, so the frees its call_rcu thread makes
 * of its own bookkeeping look racy; silence reports whose stack is inside it (the tests
 * do the same, tests/unit/nettest.h).  liburcu-cds likewise (the UDP PCB hash of the
 * UDP services: tests/tsan.supp names the same two libraries).  This covers the whole
 * smpnet command.
 */
const char *__tsan_default_suppressions(void);
const char *
__tsan_default_suppressions(void)
{
	return "called_from_lib:liburcu-memb.so\nrace:liburcu-memb.so\n"
	    "called_from_lib:liburcu-cds.so\nrace:liburcu-cds.so\n";
}
#endif

#define SERVE_MAXTAP	8
#define SERVE_MAXROUTE	32
#define SERVE_MAXSET	32
#define SERVE_MAXJOIN	16
#define SERVE_ECHO_PORT	7
#define SERVE_ECHO_SLOTS 8
#define SERVE_ECHO_MAX	65536

struct serve_tap {
	const char	*name;
	uint32_t	 addr;		/* host order */
	unsigned	 plen;
	struct ifnet	*ifp;
};

struct serve_route {
	uint32_t	 dst, gw;	/* host order */
	unsigned	 plen;
};

struct serve_set {
	const char	*name;
	int64_t		 value;
};

struct serve_join {
	uint32_t	 group;		/* host order */
	const char	*dev;
};

struct serve_echo;

struct serve {
	struct serve_tap	 tap[SERVE_MAXTAP];
	int			 ntap;
	struct serve_route	 route[SERVE_MAXROUTE];
	int			 nroute;
	struct serve_set	 set[SERVE_MAXSET];
	int			 nset;
	char			 setname[SERVE_MAXSET][96];
	bool			 forward, giant;
	int			 ncpu, nqueues;
	uint32_t		 mtu;
	struct kern		*k;
	struct mbuf_pools	*pools;
	struct vnet		*v;
	bool			 udp_echo;	/* --udp-echo or a --join */
	struct serve_join	 join[SERVE_MAXJOIN];
	int			 njoin;
	struct smpnet		*st;		/* the socket layer's stack (UDP services) */
	struct serve_echo	*echo;		/* the running echo service, or NULL */
};

/* A service run next to the stack: start after set-up (0 or -errno), stop before teardown. */
struct serve_service {
	const char	*name;
	int		(*start)(struct serve *s);
	void		(*stop)(struct serve *s);
};

/* ------------------------------------------------------------------ UDP echo */

struct serve_echo_sock;

/* One pending receive: the record, its message and its buffer (owned by the service). */
struct serve_echo_slot {
	struct smpnet_completion c;		/* [L] socket's while pending */
	struct msghdr		 msg;		/* the slot's only user at a time */
	struct iovec		 iov;
	struct sockaddr_in	 from;
	struct serve_echo_sock	*es;		/* [I] */
	uint8_t			 buf[SERVE_ECHO_MAX];
};

struct serve_echo_sock {
	struct smpnet_socket	*so;		/* [I] while the service runs */
	struct serve_echo	*e;		/* [I] */
};

struct serve_echo {
	atomic_uint_fast64_t	 rx, tx, drops;	/* [a] relaxed: counters only */
	atomic_bool		 stopping;	/* [a] set once by serve_echo_stop */
	int			 nsock;		/* [I] */
	struct serve_echo_sock	 socks[KERN_MAXCPU];	/* [I] */
	struct serve_echo_slot	*slots;		/* [I] nsock * SERVE_ECHO_SLOTS */
};

static void
serve_echo_count(atomic_uint_fast64_t *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);	/* read by the dump only */
}

/* Send one received datagram of len bytes back to its source. */
static void
serve_echo_reply(struct serve_echo_slot *sl, ssize_t len)
{
	struct serve_echo *e = sl->es->e;
	ssize_t n;

	serve_echo_count(&e->rx);
	if (sl->msg.msg_flags & MSG_TRUNC) {
		serve_echo_count(&e->drops);
		return;
	}
	n = smpnet_sendto(sl->es->so, sl->buf, (size_t)len, MSG_DONTWAIT,
	    (const struct sockaddr *)&sl->from, sl->msg.msg_namelen);
	serve_echo_count(n == len ? &e->tx : &e->drops);
}

/* Post the slot's receive: a byte count (done now), -EINPROGRESS or an error. */
static ssize_t
serve_echo_post(struct serve_echo_slot *sl)
{
	sl->iov.iov_base = sl->buf;
	sl->iov.iov_len = sizeof(sl->buf);
	memset(&sl->msg, 0, sizeof(sl->msg));
	sl->msg.msg_name = &sl->from;
	sl->msg.msg_namelen = sizeof(sl->from);
	sl->msg.msg_iov = &sl->iov;
	sl->msg.msg_iovlen = 1;
	return smpnet_recvmsg_async(sl->es->so, &sl->msg, 0, &sl->c);
}

/*
 * Handle a result and post again while receives complete at once.  Ends when a receive
 * is pending, on an error (-ECANCELED at close), or once the service stops: the slot
 * then stays idle.
 */
static bool
serve_echo_stopping(const struct serve_echo *e)
{
	/* relaxed: pairs with the store in serve_echo_stop; it only ends the loop sooner */
	return atomic_load_explicit(&e->stopping, memory_order_relaxed);
}

static void
serve_echo_run(struct serve_echo_slot *sl, ssize_t res)
{
	while (res >= 0 && !serve_echo_stopping(sl->es->e)) {
		serve_echo_reply(sl, res);
		res = serve_echo_post(sl);
	}
	if (res < 0 && res != -EINPROGRESS && res != -ECANCELED)
		serve_echo_count(&sl->es->e->drops);
}

static void
serve_echo_done(struct smpnet_completion *c, ssize_t res)
{
	serve_echo_run(c->sc_arg, res);
}

/* The first --tap address of interface dev (network order) or 0. */
static uint32_t
serve_tap_addr(const struct serve *s, const char *dev)
{
	for (int i = 0; i < s->ntap; i++)
		if (strcmp(s->tap[i].name, dev) == 0)
			return htonl(s->tap[i].addr);
	return 0;
}

static int
serve_echo_join(struct serve *s, struct smpnet_socket *so)
{
	struct ip_mreq mr;
	int err;

	for (int i = 0; i < s->njoin; i++) {
		mr.imr_multiaddr.s_addr = htonl(s->join[i].group);
		mr.imr_interface.s_addr = serve_tap_addr(s, s->join[i].dev);
		if ((err = smpnet_setsockopt(so, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr,
		    sizeof(mr))) < 0)
			return err;
	}
	return 0;
}

/* Open and bind echo socket i (SO_REUSEPORT on port 7).  0 or -errno. */
static int
serve_echo_open(struct serve *s, struct serve_echo *e, int i)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(SERVE_ECHO_PORT) };
	struct serve_echo_sock *es = &e->socks[i];
	int one = 1, err;

	es->e = e;
	if ((es->so = smpnet_socket(s->st, AF_INET, SOCK_DGRAM, 0)) == NULL)
		return -errno;
	if ((err = smpnet_setsockopt(es->so, SOL_SOCKET, SO_REUSEPORT, &one,
	    sizeof(one))) < 0 ||
	    (err = smpnet_bind(es->so, (struct sockaddr *)&sin, sizeof(sin))) < 0)
		return err;
	return i == 0 ? serve_echo_join(s, es->so) : 0;
}

static void
serve_echo_stop(struct serve *s)
{
	struct serve_echo *e = s->echo;

	if (e == NULL)
		return;
	/* relaxed: pairs with serve_echo_stopping; smpnet_close waits for callbacks */
	atomic_store_explicit(&e->stopping, true, memory_order_relaxed);
	for (int i = 0; i < e->nsock; i++)	/* pending receives end with -ECANCELED */
		if (e->socks[i].so != NULL)
			(void)smpnet_close(e->socks[i].so);
	free(e->slots);
	free(e);
	s->echo = NULL;
}

static void
serve_echo_arm(struct serve_echo *e)
{
	struct serve_echo_slot *sl;

	for (int i = 0; i < e->nsock * SERVE_ECHO_SLOTS; i++) {
		sl = &e->slots[i];
		sl->es = &e->socks[i / SERVE_ECHO_SLOTS];
		sl->c.sc_fn = serve_echo_done;
		sl->c.sc_arg = sl;
		serve_echo_run(sl, serve_echo_post(sl));
	}
}

static int
serve_echo_start(struct serve *s)
{
	struct serve_echo *e;
	int err;

	if (!s->udp_echo)
		return 0;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return -ENOMEM;
	s->echo = e;
	e->nsock = smpnet_ncpu(s->st);
	if ((e->slots = calloc((size_t)e->nsock * SERVE_ECHO_SLOTS, sizeof(*e->slots))) == NULL)
		return -ENOMEM;
	for (int i = 0; i < e->nsock; i++)
		if ((err = serve_echo_open(s, e, i)) < 0)
			return err;	/* cmd_serve stops the services */
	serve_echo_arm(e);
	return 0;
}

static void
serve_echo_print(struct serve *s)
{
	static const char *const names[UDPS_NCOUNTERS] = {
		"ipackets", "hdrops", "badsum", "noport", "noportmcast", "fullsock",
		"earlydrop", "delivered", "lazy", "opackets", "oerrors" };
	struct serve_echo *e = s->echo;
	struct udp_stats us;

	_Static_assert(UDPS_NCOUNTERS == 11, "a name for every UDP counter");
	if (s->st == NULL)
		return;
	udp_stats(smpnet_udp_of(s->st), &us);
	for (int i = 0; i < UDPS_NCOUNTERS; i++)
		printf("udp.%s %llu\n", names[i], (unsigned long long)us.c[i]);
	if (e == NULL)
		return;
	printf("udp.echo.rx %llu\nudp.echo.tx %llu\nudp.echo.drops %llu\n",
	    (unsigned long long)atomic_load_explicit(&e->rx, memory_order_relaxed),
	    (unsigned long long)atomic_load_explicit(&e->tx, memory_order_relaxed),
	    (unsigned long long)atomic_load_explicit(&e->drops, memory_order_relaxed));
}

/* Services of `smpnet serve`. */
static const struct serve_service serve_services[] = {
	{ "udp-echo", serve_echo_start, serve_echo_stop },
	{ NULL, NULL, NULL },
};

/* ------------------------------------------------------------------ arguments */

static int
serve_usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "smpnet serve: %s\n", why);
	fprintf(stderr, "usage: smpnet serve --tap NAME=ADDR/PLEN [--tap ...] "
	    "[--route PREFIX/PLEN=GW|default=GW ...]\n"
	    "                    [--forward] [--cpus N] [--queues Q] [--giant] [--mtu N]\n"
	    "                    [--arp-timeout MS] [--set SETTING=VALUE ...]\n"
	    "                    [--udp-echo] [--join GROUP@DEV ...]\n");
	return 2;
}

static int
serve_num(const char *s, long min, long max, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return errno == 0 && end != s && *end == '\0' && *out >= min && *out <= max ? 0 : -1;
}

/* "A.B.C.D" -> host order.  0 or -1. */
static int
serve_ip(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*out = ntohl(a.s_addr);
	return 0;
}

/* "A.B.C.D/P" -> address and prefix length.  0 or -1. */
static int
serve_prefix(char *s, uint32_t *addr, unsigned *plen)
{
	char *slash = strchr(s, '/');
	long p;

	if (slash == NULL)
		return -1;
	*slash = '\0';
	if (serve_ip(s, addr) < 0 || serve_num(slash + 1, 0, 32, &p) < 0)
		return -1;
	*plen = (unsigned)p;
	return 0;
}

static int
serve_arg_tap(struct serve *s, char *arg)
{
	char *eq = strchr(arg, '=');
	struct serve_tap *t = &s->tap[s->ntap];

	if (s->ntap == SERVE_MAXTAP)
		return serve_usage("too many --tap");
	if (eq == NULL || eq == arg || (size_t)(eq - arg) >= IFNAMSIZ)
		return serve_usage("--tap wants NAME=ADDR/PLEN (NAME at most 15 characters)");
	*eq = '\0';
	if (serve_prefix(eq + 1, &t->addr, &t->plen) < 0 || t->plen == 0)
		return serve_usage("--tap: bad ADDR/PLEN");
	t->name = arg;
	s->ntap++;
	return 0;
}

static int
serve_arg_route(struct serve *s, char *arg)
{
	char *eq = strchr(arg, '=');
	struct serve_route *r = &s->route[s->nroute];

	if (s->nroute == SERVE_MAXROUTE)
		return serve_usage("too many --route");
	if (eq == NULL)
		return serve_usage("--route wants PREFIX/PLEN=GATEWAY or default=GATEWAY");
	*eq = '\0';
	if (strcmp(arg, "default") == 0) {
		r->dst = 0;
		r->plen = 0;
	} else if (serve_prefix(arg, &r->dst, &r->plen) < 0)
		return serve_usage("--route: bad PREFIX/PLEN");
	if (serve_ip(eq + 1, &r->gw) < 0)
		return serve_usage("--route: bad GATEWAY");
	r->dst &= in_plen_mask(r->plen);
	s->nroute++;
	return 0;
}

static int
serve_arg_set(struct serve *s, const char *name, const char *value)
{
	long v;

	if (s->nset == SERVE_MAXSET)
		return serve_usage("too many settings");
	if (strlen(name) >= sizeof(s->setname[0]) || serve_num(value, LONG_MIN, LONG_MAX, &v))
		return serve_usage("--set wants SETTING=INTEGER");
	strcpy(s->setname[s->nset], name);
	s->set[s->nset].name = s->setname[s->nset];
	s->set[s->nset].value = v;
	s->nset++;
	return 0;
}

static int
serve_arg_kv(struct serve *s, char *arg)
{
	char *eq = strchr(arg, '=');

	if (eq == NULL)
		return serve_usage("--set wants SETTING=INTEGER");
	*eq = '\0';
	return serve_arg_set(s, arg, eq + 1);
}

/* --arp-timeout MS: neighbours stay REACHABLE and then STALE that long each. */
static int
serve_arg_arp(struct serve *s, const char *ms)
{
	long v;
	int err;

	if (serve_num(ms, 1, 86400000, &v) < 0)
		return serve_usage("--arp-timeout wants milliseconds (1..86400000)");
	err = serve_arg_set(s, "net.inet.arp.reachable_ms", ms);
	return err != 0 ? err : serve_arg_set(s, "net.inet.arp.stale_ms", ms);
}

/* --join GROUP@DEV: a multicast group (224.0.0.0/4) to join on a --tap interface. */
static int
serve_arg_join(struct serve *s, char *arg)
{
	char *at = strchr(arg, '@');
	struct serve_join *j = &s->join[s->njoin];

	if (s->njoin == SERVE_MAXJOIN)
		return serve_usage("too many --join");
	if (at == NULL || at[1] == '\0')
		return serve_usage("--join wants GROUP@DEV");
	*at = '\0';
	if (serve_ip(arg, &j->group) < 0 || (j->group & 0xf0000000u) != 0xe0000000u)
		return serve_usage("--join: GROUP must be an IPv4 multicast address");
	j->dev = at + 1;
	s->njoin++;
	s->udp_echo = true;
	return 0;
}

/* Every --join names a --tap device (checked once all options are read). */
static int
serve_args_check(struct serve *s)
{
	if (s->ntap == 0)
		return serve_usage("at least one --tap is needed");
	for (int i = 0; i < s->njoin; i++)
		if (serve_tap_addr(s, s->join[i].dev) == 0)
			return serve_usage("--join: DEV must be one of the --tap devices");
	return 0;
}

/* An option with a value: 0 handled, 1 not an option with a value, 2 usage error. */
static int
serve_arg_value(struct serve *s, const char *opt, char *val)
{
	long n;

	if (strcmp(opt, "--tap") == 0)
		return serve_arg_tap(s, val);
	if (strcmp(opt, "--route") == 0)
		return serve_arg_route(s, val);
	if (strcmp(opt, "--set") == 0)
		return serve_arg_kv(s, val);
	if (strcmp(opt, "--arp-timeout") == 0)
		return serve_arg_arp(s, val);
	if (strcmp(opt, "--join") == 0)
		return serve_arg_join(s, val);
	if (strcmp(opt, "--cpus") == 0) {
		if (serve_num(val, 1, KERN_MAXCPU, &n) < 0) {
			fprintf(stderr, "smpnet serve: --cpus: 1..%d\n", KERN_MAXCPU);
			return serve_usage(NULL);
		}
		s->ncpu = (int)n;
		return 0;
	}
	if (strcmp(opt, "--queues") == 0)
		return serve_num(val, 1, TAP_MAXQ, &n) < 0 ?
		    serve_usage("--queues: 1..16") : (s->nqueues = (int)n, 0);
	if (strcmp(opt, "--mtu") == 0)
		return serve_num(val, 68, 65535, &n) < 0 ?
		    serve_usage("--mtu: 68..65535") : (s->mtu = (uint32_t)n, 0);
	return 1;
}

static int
serve_args(struct serve *s, int argc, char **argv)
{
	int i, r;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--forward") == 0)
			s->forward = true;
		else if (strcmp(argv[i], "--giant") == 0)
			s->giant = true;
		else if (strcmp(argv[i], "--udp-echo") == 0)
			s->udp_echo = true;
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return serve_usage(NULL);
		else if (i + 1 < argc &&
		    (r = serve_arg_value(s, argv[i], argv[i + 1])) != 1) {
			if (r != 0)
				return r;
			i++;
		} else {
			fprintf(stderr, "smpnet serve: unknown or incomplete option '%s'\n",
			    argv[i]);
			return serve_usage(NULL);
		}
	}
	return serve_args_check(s);
}

/* ------------------------------------------------------------------ counters */

static void
serve_print_inet(const char *name, uint64_t value, void *arg)
{
	(void)arg;
	printf("%s %llu\n", name, (unsigned long long)value);
}

static void
serve_print_if(struct ifnet *ifp)
{
	struct if_stats st;
	struct tap_if_stats ts;
	const char *n = if_name(ifp);

	if_stats(ifp, &st);
	printf("if.%s.ipackets %llu\nif.%s.ierrors %llu\nif.%s.idrops %llu\n"
	    "if.%s.opackets %llu\nif.%s.oerrors %llu\nif.%s.odrops %llu\n"
	    "if.%s.noproto %llu\nif.%s.filtered %llu\nif.%s.runts %llu\n",
	    n, (unsigned long long)st.ifs_ipackets, n, (unsigned long long)st.ifs_ierrors,
	    n, (unsigned long long)st.ifs_idrops, n, (unsigned long long)st.ifs_opackets,
	    n, (unsigned long long)st.ifs_oerrors, n, (unsigned long long)st.ifs_odrops,
	    n, (unsigned long long)st.ifs_noproto, n, (unsigned long long)st.ifs_filtered,
	    n, (unsigned long long)st.ifs_runts);
	if (tap_if_stats(ifp, &ts) == 0)
		printf("tap.%s.rx_frames %llu\ntap.%s.rx_toolong %llu\ntap.%s.rx_nomem %llu\n"
		    "tap.%s.tx_frames %llu\ntap.%s.tx_full %llu\ntap.%s.tx_errors %llu\n"
		    "tap.%s.intr %llu\n",
		    n, (unsigned long long)ts.tis_rx_frames,
		    n, (unsigned long long)ts.tis_rx_toolong,
		    n, (unsigned long long)ts.tis_rx_nomem,
		    n, (unsigned long long)ts.tis_tx_frames,
		    n, (unsigned long long)ts.tis_tx_full,
		    n, (unsigned long long)ts.tis_tx_errors, n, (unsigned long long)ts.tis_intr);
}

static int
serve_print_neigh(const struct arp_entry_info *e, void *arg)
{
	const uint8_t *m = e->ae_mac;

	printf("neigh %s %u.%u.%u.%u %02x:%02x:%02x:%02x:%02x:%02x %s\n", (const char *)arg,
	    e->ae_addr >> 24, (e->ae_addr >> 16) & 0xff, (e->ae_addr >> 8) & 0xff,
	    e->ae_addr & 0xff, m[0], m[1], m[2], m[3], m[4], m[5],
	    arp_state_name(e->ae_state));
	return 0;
}

static void
serve_print_neighs(struct serve *s, struct ifnet *ifp)
{
	struct inet *in = inet_get(s->v);
	struct in_ifinfo *ii;

	psz_read_enter();
	ii = in != NULL ? in_ifinfo(in, ifp) : NULL;
	psz_read_exit();
	if (ii != NULL && ii->ii_arp != NULL)
		(void)arp_list(ii->ii_arp, serve_print_neigh, (void *)(uintptr_t)if_name(ifp));
}

static void
serve_counters(struct serve *s)
{
	int i;

	printf("COUNTERS BEGIN\n");
	for (i = 0; i < s->ntap; i++)
		serve_print_if(s->tap[i].ifp);
	inet_stats_foreach(s->v, serve_print_inet, NULL);
	serve_echo_print(s);
	for (i = 0; i < s->ntap; i++)
		serve_print_neighs(s, s->tap[i].ifp);
	printf("COUNTERS END\n");
	fflush(stdout);
}

/* ------------------------------------------------------------------ set-up / teardown */

static int
serve_fail(const char *what, const char *name, int err)
{
	fprintf(stderr, "smpnet serve: %s%s%s: %s\n", what, name ? " " : "", name ? name : "",
	    strerror(err < 0 ? -err : err));
	return -1;
}

static int
serve_settings(struct serve *s)
{
	int i, err;

	if (s->forward && (err = vnet_setting_set(s->v, "net.inet.ip.forwarding", 1)) < 0)
		return serve_fail("net.inet.ip.forwarding", NULL, err);
	for (i = 0; i < s->nset; i++)
		if ((err = vnet_setting_set(s->v, s->set[i].name, s->set[i].value)) < 0)
			return serve_fail(err == -ENOENT ? "unknown setting" : err == -ERANGE ?
			    "value out of range for" : "setting", s->set[i].name, err);
	return 0;
}

static int
serve_taps(struct serve *s)
{
	struct tap_if_config tc = { .nqueues = s->nqueues, .mtu = s->mtu };
	struct serve_tap *t;
	int i, err;

	for (i = 0; i < s->ntap; i++) {
		t = &s->tap[i];
		tc.name = t->name;
		if ((t->ifp = tap_if_attach(s->v, &tc)) == NULL)
			return serve_fail("TAP device", t->name, errno);
		if ((err = in_addr_add(t->ifp, t->addr, t->plen)) < 0)
			return serve_fail("address on", t->name, err);
	}
	return 0;
}

static int
serve_routes(struct serve *s)
{
	struct serve_route *r;
	int i, err;

	for (i = 0; i < s->nroute; i++) {
		r = &s->route[i];
		if ((err = in_route_add(s->v, r->dst, r->plen, r->gw, NULL)) < 0)
			return serve_fail("route", NULL, err);
	}
	return 0;
}

/* A stack for the socket layer (UDP services): smpnet_create makes kern, vnet and inet. */
static int
serve_up_sockets(struct serve *s)
{
	struct smpnet_config sc = { .name = "serve", .ncpu = s->ncpu, .giant = s->giant };

	if ((s->st = smpnet_create(&sc)) == NULL)
		return serve_fail("stack", NULL, errno);
	s->k = smpnet_kern_of(s->st);
	s->v = smpnet_vnet_of(s->st);
	return 0;
}

/* A stack serve builds itself: its own mbuf pools, so a leak is seen at exit. */
static int
serve_up_own(struct serve *s)
{
	/* SMPNET_NOPIN=1 is honoured by kern_create, as for every stack */
	struct kern_config kc = { .ncpu = s->ncpu, .giant = s->giant };
	struct mbuf_pools_config pc = { 0 };
	struct vnet_config vc = { .name = "serve" };
	int err;

	if ((s->k = kern_create(&kc)) == NULL)
		return serve_fail("kern", NULL, errno);
	pc.ncpu = kern_ncpu(s->k);
	pc.owner = s->k;
	if ((s->pools = mbuf_pools_create(&pc)) == NULL)
		return serve_fail("mbuf pools", NULL, errno);
	vc.pools = s->pools;
	if ((s->v = vnet_create(s->k, &vc)) == NULL)
		return serve_fail("vnet", NULL, errno);
	if ((err = vnet_domain_attach(s->v, &inet_domain)) < 0)
		return serve_fail("inet", NULL, err);
	return 0;
}

static int
serve_up(struct serve *s)
{
	if ((s->udp_echo ? serve_up_sockets(s) : serve_up_own(s)) < 0)
		return -1;
	if (serve_settings(s) < 0)
		return -2;	/* an unknown setting or value out of range: a bad argument */
	if (serve_taps(s) < 0 || serve_routes(s) < 0)
		return -1;
	return 0;
}

static int
serve_services_start(struct serve *s)
{
	const struct serve_service *sv;
	int err;

	for (sv = serve_services; sv->name != NULL; sv++)
		if ((err = sv->start(s)) < 0)
			return serve_fail("service", sv->name, err);
	return 0;
}

static void
serve_services_stop(struct serve *s)
{
	const struct serve_service *sv;

	for (sv = serve_services; sv->name != NULL; sv++)
		sv->stop(s);
}

/* Tear down whatever serve_up built.  Returns 0, or -1 if mbufs leaked. */
static int
serve_down(struct serve *s)
{
	int rc = 0;

	if (s->st != NULL) {
		smpnet_destroy(s->st);	/* closes nothing: the services closed their sockets */
		return 0;
	}
	if (s->v != NULL && vnet_destroy(s->v) < 0)
		rc = -1;
	psz_barrier();
	if (s->pools != NULL && mbuf_pools_destroy(s->pools) < 0) {
		fprintf(stderr, "smpnet serve: mbufs still out at exit (leak)\n");
		rc = -1;
	}
	if (s->k != NULL)
		kern_destroy(s->k);
	return rc;
}

/* Wait for signals: SIGUSR1 prints the counters, SIGINT/SIGTERM return. */
static void
serve_wait(struct serve *s, const sigset_t *set)
{
	int sig;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGUSR1) {
			serve_counters(s);
			continue;
		}
		printf("smpnet serve: %s, stopping\n", strsignal(sig));
		return;
	}
}

int
cmd_serve(int argc, char **argv)
{
	struct serve *s = calloc(1, sizeof(*s));
	sigset_t set;
	int rc, started = 0;

	if (s == NULL)
		return 1;
	s->nqueues = 1;
	if ((rc = serve_args(s, argc, argv)) != 0) {
		free(s);
		return rc;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	rc = serve_up(s);
	rc = rc == -2 ? 2 : rc == 0 && serve_services_start(s) == 0 ? 0 : 1;
	if (rc == 1)
		serve_services_stop(s);	/* each stop undoes a partial start */
	if (rc == 0) {
		started = 1;
		printf("smpnet serve: ready (%d interface%s, %d CPU%s, %d queue%s, %s mode)\n",
		    s->ntap, s->ntap == 1 ? "" : "s", kern_ncpu(s->k),
		    kern_ncpu(s->k) == 1 ? "" : "s", s->nqueues, s->nqueues == 1 ? "" : "s",
		    s->giant ? "giant" : "normal");
		fflush(stdout);
		serve_wait(s, &set);
		serve_services_stop(s);
		serve_counters(s);
	}
	if (serve_down(s) < 0 && started)
		rc = 1;
	free(s);
	return rc;
}
