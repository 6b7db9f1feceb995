/*
 * tap_responder.c - TEST TOOL (not a stack): answers ARP and ICMP echo for one IPv4
 * address on a multiqueue TAP device, using smpnet's packet formats and TAP core, and
 * counts every frame it refuses under the refusal reason of the layer that refused it.
 *
 * Used by tests/interop/t_tap_*.sh inside a private network namespace.  It creates (or,
 * with --attach, attaches to) the TAP device, prints "READY <ifname>" and serves until
 * SIGTERM/SIGINT or --seconds pass; SIGUSR1 prints the counters and goes on; at exit it
 * prints them again.  Counters are lines "name value" between "COUNTERS BEGIN" and
 * "COUNTERS END": rx_frames, queue.<q>, arp.requests, arp.replies, icmp.echo_requests,
 * icmp.echo_replies, ip.bad_cksum, ip.not_ours, ... and <layer>.<reason> for each
 * refusal (ether, arp, ip, icmp).  Replies leave on the queue the request came from.
 *
 * Checksums are computed here with a local RFC 1071 reference: the library's checksum
 * module is another piece of work, and this tool must not depend on it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "dev/tap.h"
#include "net/ether_wire.h"
#include "netinet/arp_wire.h"
#include "netinet/icmp_wire.h"
#include "netinet/ip_wire.h"

#define FRAME_MAX	2048
#define BATCH		16

enum layer { L_ETHER, L_ARP, L_IP, L_ICMP, L_COUNT };
static const char *const layer_names[L_COUNT] = { "ether", "arp", "ip", "icmp" };

struct counters {
	uint64_t rx_frames, tx_frames, tx_errors, other_ethertype;
	uint64_t arp_requests, arp_replies, arp_ignored;
	uint64_t ip_not_ours, ip_bad_cksum, ip_other_proto, ip_fragments;
	uint64_t icmp_echo_requests, icmp_echo_replies, icmp_bad_cksum, icmp_other_type;
	uint64_t queue[TAP_MAXQ];
	uint64_t refused[L_COUNT][WIRE_REASON_COUNT];
};

struct responder {
	struct tap_dev	*dev;
	uint8_t		 mac[ETHER_ADDR_LEN];
	uint32_t	 ip;		/* host order */
	uint16_t	 ip_id;
	struct counters	 c;
	uint8_t		 bufs[BATCH][FRAME_MAX];	/* batch read buffers */
};

static uint16_t
ref_cksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void
print_counters(const struct responder *r)
{
	const struct counters *c = &r->c;
	int l, i;

	printf("COUNTERS BEGIN\n");
	printf("rx_frames %llu\ntx_frames %llu\ntx_errors %llu\nother_ethertype %llu\n",
	    (unsigned long long)c->rx_frames, (unsigned long long)c->tx_frames,
	    (unsigned long long)c->tx_errors, (unsigned long long)c->other_ethertype);
	printf("arp.requests %llu\narp.replies %llu\narp.ignored %llu\n",
	    (unsigned long long)c->arp_requests, (unsigned long long)c->arp_replies,
	    (unsigned long long)c->arp_ignored);
	printf("ip.not_ours %llu\nip.bad_cksum %llu\nip.other_proto %llu\nip.fragments %llu\n",
	    (unsigned long long)c->ip_not_ours, (unsigned long long)c->ip_bad_cksum,
	    (unsigned long long)c->ip_other_proto, (unsigned long long)c->ip_fragments);
	printf("icmp.echo_requests %llu\nicmp.echo_replies %llu\nicmp.bad_cksum %llu\n"
	    "icmp.other_type %llu\n", (unsigned long long)c->icmp_echo_requests,
	    (unsigned long long)c->icmp_echo_replies, (unsigned long long)c->icmp_bad_cksum,
	    (unsigned long long)c->icmp_other_type);
	for (i = 0; i < r->dev->td_nq; i++)
		printf("queue.%d %llu\n", i, (unsigned long long)c->queue[i]);
	for (l = 0; l < L_COUNT; l++)
		for (i = 1; i < WIRE_REASON_COUNT; i++)
			printf("%s.%s %llu\n", layer_names[l], wire_reason_name(i),
			    (unsigned long long)c->refused[l][i]);
	printf("COUNTERS END\n");
	fflush(stdout);
}

static void
send_frame(struct responder *r, int q, const uint8_t *f, size_t len)
{
	if (tap_send(r->dev, q, f, len) == (long)len)
		r->c.tx_frames++;
	else
		r->c.tx_errors++;
}

static bool
refused(struct responder *r, enum layer l, enum wire_reason why)
{
	if (why == WIRE_OK)
		return false;
	r->c.refused[l][why]++;
	return true;
}

static void
handle_arp(struct responder *r, int q, const struct ether_view *ev)
{
	struct ether_fields ef = { .ef_type = ETHERTYPE_ARP };
	struct arp_fields af = { .af_op = ARP_OP_REPLY };
	uint8_t out[60] = { 0 };
	struct arp_view v;
	int h;

	if (refused(r, L_ARP, arp_parse(&v, ether_payload(ev), ether_payload_len(ev))))
		return;
	if (arp_op(&v) != ARP_OP_REQUEST || arp_tpa(&v) != r->ip) {
		r->c.arp_ignored++;
		return;
	}
	r->c.arp_requests++;
	memcpy(ef.ef_dst, arp_sha(&v), ETHER_ADDR_LEN);
	memcpy(ef.ef_src, r->mac, ETHER_ADDR_LEN);
	memcpy(af.af_sha, r->mac, ETHER_ADDR_LEN);
	af.af_spa = r->ip;
	memcpy(af.af_tha, arp_sha(&v), ETHER_ADDR_LEN);
	af.af_tpa = arp_spa(&v);
	h = ether_emit(out, sizeof(out), &ef);
	arp_emit(out + h, sizeof(out) - (size_t)h, &af);
	send_frame(r, q, out, sizeof(out));
	r->c.arp_replies++;
}

/* Build and send the echo reply to the request (ev, iv, icv). */
static void
send_echo_reply(struct responder *r, int q, const struct ether_view *ev,
    const struct ip4_view *iv, const struct icmp_view *icv)
{
	struct ether_fields ef = { .ef_type = ETHERTYPE_IP };
	struct ip4_fields ipf = { .if_id = r->ip_id++, .if_ttl = 64,
	    .if_proto = IPPROTO4_ICMP, .if_src = r->ip, .if_dst = ip4_src(iv),
	    .if_payload_len = icmp_payload_len(icv) + ICMP_HDR_LEN };
	struct icmp_fields icf = { ICMP_ECHOREPLY, 0,
	    icmp_rest_echo(icmp_echo_id(icv), icmp_echo_seq(icv)) };
	uint8_t out[FRAME_MAX];
	uint8_t *ip, *icmp;
	int h;

	if (ETHER_HDR_LEN + IP4_HDR_LEN + ipf.if_payload_len > sizeof(out))
		return;
	memcpy(ef.ef_dst, ether_src(ev), ETHER_ADDR_LEN);
	memcpy(ef.ef_src, r->mac, ETHER_ADDR_LEN);
	h = ether_emit(out, sizeof(out), &ef);
	ip = out + h;
	h += ip4_emit(ip, sizeof(out) - (size_t)h, &ipf);
	icmp = out + h;
	h += icmp_emit(icmp, sizeof(out) - (size_t)h, &icf);
	memcpy(out + h, icmp_payload(icv), icmp_payload_len(icv));
	h += (int)icmp_payload_len(icv);
	ip4_set_cksum(ip, ref_cksum(ip, IP4_HDR_LEN));
	icmp_set_cksum(icmp, ref_cksum(icmp, ipf.if_payload_len));
	send_frame(r, q, out, (size_t)h);
	r->c.icmp_echo_replies++;
}

static void
handle_icmp(struct responder *r, int q, const struct ether_view *ev,
    const struct ip4_view *iv)
{
	struct icmp_view v;

	if (refused(r, L_ICMP, icmp_parse(&v, ip4_payload(iv), ip4_payload_len(iv))))
		return;
	if (ref_cksum(ip4_payload(iv), ip4_payload_len(iv)) != 0) {
		r->c.icmp_bad_cksum++;
		return;
	}
	if (icmp_type(&v) != ICMP_ECHO || icmp_code(&v) != 0) {
		r->c.icmp_other_type++;
		return;
	}
	r->c.icmp_echo_requests++;
	send_echo_reply(r, q, ev, iv, &v);
}

static void
handle_ip(struct responder *r, int q, const struct ether_view *ev)
{
	struct ip4_view v;

	if (refused(r, L_IP, ip4_parse(&v, ether_payload(ev), ether_payload_len(ev))))
		return;
	if (ip4_dst(&v) != r->ip) {
		r->c.ip_not_ours++;
		return;
	}
	if (ref_cksum(ip4_header(&v), ip4_hlen(&v)) != 0) {
		r->c.ip_bad_cksum++;
		return;
	}
	if (ip4_is_fragment(&v)) {
		r->c.ip_fragments++;
		return;
	}
	if (ip4_proto(&v) != IPPROTO4_ICMP) {
		r->c.ip_other_proto++;
		return;
	}
	handle_icmp(r, q, ev, &v);
}

static void
handle_frame(struct responder *r, int q, const uint8_t *f, size_t len)
{
	struct ether_view ev;

	r->c.rx_frames++;
	r->c.queue[q]++;
	if (refused(r, L_ETHER, ether_parse(&ev, f, len)))
		return;
	if (ether_tagged(&ev)) {
		r->c.other_ethertype++;
		return;
	}
	switch (ether_type(&ev)) {
	case ETHERTYPE_ARP:
		handle_arp(r, q, &ev);
		break;
	case ETHERTYPE_IP:
		handle_ip(r, q, &ev);
		break;
	default:
		r->c.other_ethertype++;
	}
}

/* Drain queue q in batches; at most 64 batches per call so no queue starves others. */
static void
drain_queue(struct responder *r, int q)
{
	struct tap_frame f[BATCH];
	int i, n, rounds;

	for (i = 0; i < BATCH; i++)
		f[i] = (struct tap_frame){ r->bufs[i], FRAME_MAX, 0 };
	for (rounds = 0; rounds < 64; rounds++) {
		n = tap_recv_batch(r->dev, q, f, BATCH);
		if (n <= 0)
			return;
		for (i = 0; i < n; i++)
			handle_frame(r, q, r->bufs[i], f[i].tf_len);
	}
}

/* Handle one signal; returns true if the responder should stop. */
static bool
handle_signal(struct responder *r, int sfd)
{
	struct signalfd_siginfo si;

	if (read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return false;
	if (si.ssi_signo == SIGUSR1) {
		print_counters(r);
		return false;
	}
	return true;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
serve(struct responder *r, int sfd, double seconds)
{
	struct pollfd pfd[2] = { { tap_epoll_fd(r->dev), POLLIN, 0 }, { sfd, POLLIN, 0 } };
	double end = now_s() + seconds;
	int qs[TAP_MAXQ], n, i;

	while (now_s() < end) {
		if (poll(pfd, 2, 100) < 0 && errno != EINTR)
			return -errno;
		if ((pfd[1].revents & POLLIN) && handle_signal(r, sfd))
			return 0;
		n = tap_wait(r->dev, 0, qs, TAP_MAXQ);
		for (i = 0; i < n; i++)
			drain_queue(r, qs[i]);
	}
	return 0;
}

static int
parse_mac(const char *s, uint8_t mac[6])
{
	unsigned b[6];
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -EINVAL;
	for (i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

static int
usage(void)
{
	fprintf(stderr, "usage: tap_responder --dev NAME [--queues N] [--attach] "
	    "[--ip 192.0.2.2] [--mac 02:00:00:00:00:02] [--seconds S]\n");
	return 2;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dev", required_argument, NULL, 'd' }, { "queues", required_argument, NULL, 'q' },
		{ "attach", no_argument, NULL, 'a' }, { "ip", required_argument, NULL, 'i' },
		{ "mac", required_argument, NULL, 'm' }, { "seconds", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct responder r = { .ip = 0xc0000202u, .mac = { 2, 0, 0, 0, 0, 2 } };
	const char *dev = NULL;
	int nq = 2, flags = TAP_CREATE, opt, sfd, err;
	double seconds = 60;
	struct in_addr a;
	sigset_t ss;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'd': dev = optarg; break;
		case 'q': nq = atoi(optarg); break;
		case 'a': flags = TAP_ATTACH; break;
		case 'i':
			if (inet_pton(AF_INET, optarg, &a) != 1)
				return usage();
			r.ip = ntohl(a.s_addr);
			break;
		case 'm':
			if (parse_mac(optarg, r.mac) < 0)
				return usage();
			break;
		case 's': seconds = atof(optarg); break;
		default: return usage();
		}
	}
	if (dev == NULL || seconds <= 0 || seconds > 600)
		return usage();
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGUSR1);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	if ((sfd = signalfd(-1, &ss, SFD_CLOEXEC)) < 0) {
		perror("signalfd");
		return 1;
	}
	if ((r.dev = tap_open(dev, nq, flags)) == NULL) {
		fprintf(stderr, "tap_open %s: %s\n", dev, strerror(errno));
		return 1;
	}
	printf("READY %s queues %d\n", r.dev->td_name, r.dev->td_nq);
	fflush(stdout);
	err = serve(&r, sfd, seconds);
	print_counters(&r);
	tap_close(r.dev);
	return err < 0 ? 1 : 0;
}
