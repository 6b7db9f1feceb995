/*
 * test_tap.c - unit tests of the TAP core (src/dev/tap.c).
 *
 * The program first moves itself into a private, unnamed network namespace
 * (unshare(CLONE_NEWNET)), so every device it creates lives and dies there and the
 * host's links are never touched; without the privilege for that (not root, or no
 * /dev/net/tun) every test is skipped.  Frames cross the device through an AF_PACKET
 * socket on Linux's side, with the local experimental EtherType 0x88b5 so that frames
 * Linux sends by itself (IPv6 autoconfiguration) are told apart.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "dev/tap.h"

#define TEST_ETHERTYPE	0x88b5
#define NFRAMES		5
#define WAIT_MS		2000

static int
setup_netns(void **state)
{
	(void)state;
	if (unshare(CLONE_NEWNET) != 0 || access("/dev/net/tun", R_OK | W_OK) != 0)
		return 0;
	*state = (void *)1;
	return 0;
}

#define REQUIRE_NETNS(state) do {					\
	if (*(state) == NULL) {						\
		print_message("no private netns (not root?): skipped\n"); \
		skip();							\
	}								\
} while (0)

static void
test_open_errors(void **state)
{
	struct tap_dev *d, *d2;

	REQUIRE_NETNS(state);
	errno = 0;
	assert_null(tap_open("smptap9", 0, 0));
	assert_int_equal(errno, EINVAL);
	assert_null(tap_open("smptap9", TAP_MAXQ + 1, 0));
	assert_int_equal(errno, EINVAL);
	assert_null(tap_open("smptap9", 1, TAP_CREATE | TAP_ATTACH));
	assert_int_equal(errno, EINVAL);
	assert_null(tap_open("smptap9", 1, 0x80));
	assert_int_equal(errno, EINVAL);
	assert_null(tap_open("a-name-too-long-for-ifnames", 1, 0));
	assert_int_equal(errno, ENAMETOOLONG);
	assert_null(tap_open("smptap9", 1, TAP_ATTACH));
	assert_int_equal(errno, ENODEV);
	assert_null(tap_open(NULL, 1, TAP_ATTACH));
	assert_int_equal(errno, EINVAL);
	/* An existing device that is not a TAP (this namespace's own loopback). */
	assert_null(tap_open("lo", 1, TAP_ATTACH));
	assert_int_equal(errno, EINVAL);
	d = tap_open("smptap9", 2, TAP_CREATE);
	assert_non_null(d);
	assert_null(tap_open("smptap9", 1, TAP_CREATE));
	assert_int_equal(errno, EEXIST);
	/* Attach one more queue to the existing device, then let it go. */
	d2 = tap_open("smptap9", 1, TAP_ATTACH);
	assert_non_null(d2);
	assert_int_equal(d2->td_ifindex, d->td_ifindex);
	tap_close(d2);
	assert_int_not_equal(if_nametoindex("smptap9"), 0);
	assert_int_equal(tap_fd(d, 2), -EINVAL);
	assert_int_equal(tap_fd(d, -1), -EINVAL);
	tap_close(d);
	/* The device was ours: it is gone with its last queue. */
	assert_int_equal(if_nametoindex("smptap9"), 0);
	tap_close(NULL);
}

static void
test_open_props(void **state)
{
	static const uint8_t zero[6];
	struct tap_dev *d;
	uint8_t mac[6], buf[64];
	int q;

	REQUIRE_NETNS(state);
	d = tap_open(NULL, 3, 0);
	assert_non_null(d);
	assert_int_equal(strncmp(d->td_name, "tap", 3), 0);
	assert_int_equal(d->td_nq, 3);
	assert_true(d->td_ifindex > 0);
	assert_true(tap_epoll_fd(d) >= 0);
	for (q = 0; q < 3; q++)
		assert_true(tap_fd(d, q) >= 0);
	assert_int_equal(tap_mtu(d), 1500);
	assert_int_equal(tap_mac(d, mac), 0);
	assert_memory_not_equal(mac, zero, 6);
	assert_int_equal(mac[0] & 1, 0);
	/* Empty queues, bad arguments. */
	assert_int_equal(tap_recv(d, 0, buf, sizeof(buf)), -EAGAIN);
	assert_int_equal(tap_recv(d, 3, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(tap_send(d, 0, buf, 0), -EINVAL);
	assert_int_equal(tap_send(d, -1, buf, 14), -EINVAL);
	assert_int_equal(tap_recv_batch(d, 0, NULL, TAP_BATCH_MAX + 1), -EINVAL);
	assert_int_equal(tap_wait(d, 0, &q, 1), 0);
	assert_int_equal(tap_wait(d, 0, &q, 0), -EINVAL);
	/* Down device: a write is refused with EIO. */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(tap_send(d, 0, buf, 60), -EIO);
	tap_close(d);
}

static int
packet_socket(int ifindex)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
	    .sll_protocol = htons(TEST_ETHERTYPE), .sll_ifindex = ifindex };
	struct timeval tv = { .tv_sec = WAIT_MS / 1000 };
	int s = socket(AF_PACKET, SOCK_RAW, htons(TEST_ETHERTYPE));

	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sll, sizeof(sll)), 0);
	assert_int_equal(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	return s;
}

static void
make_frame(uint8_t *f, const uint8_t *dst, uint8_t seq)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x42", 6);
	f[12] = TEST_ETHERTYPE >> 8;
	f[13] = TEST_ETHERTYPE & 0xff;
	memset(f + 14, seq, 46);
}

/* Read frames of TEST_ETHERTYPE from any queue, batch by batch, into seqs. */
static int
collect_frames(struct tap_dev *d, uint8_t *seqs, int want)
{
	uint8_t bufs[2][128];
	struct tap_frame fr[2] = { { bufs[0], 128, 0 }, { bufs[1], 128, 0 } };
	int got = 0, rounds, qs[TAP_MAXQ], nq, i, j, n;

	for (rounds = 0; rounds < 50 && got < want; rounds++) {
		nq = tap_wait(d, WAIT_MS / 10, qs, TAP_MAXQ);
		assert_true(nq >= 0);
		for (i = 0; i < nq; i++) {
			while ((n = tap_recv_batch(d, qs[i], fr, 2)) > 0) {
				assert_true(n <= 2);
				for (j = 0; j < n; j++)
					if (fr[j].tf_len == 60 && (bufs[j][12] << 8 | bufs[j][13]) == TEST_ETHERTYPE &&
					    got < want)
						seqs[got++] = bufs[j][14];
			}
			assert_int_equal(n, 0);
		}
	}
	return got;
}

static void
test_frames_both_ways(void **state)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_halen = 6 };
	uint8_t frame[60], mac[6], in[128], seqs[NFRAMES];
	struct tap_dev *d;
	int s, i, tries;
	ssize_t n;

	REQUIRE_NETNS(state);
	d = tap_open("smptap1", 2, TAP_CREATE);
	assert_non_null(d);
	assert_int_equal(tap_set_up(d, 1), 0);
	assert_int_equal(tap_mac(d, mac), 0);
	s = packet_socket(d->td_ifindex);
	/* Linux -> TAP: NFRAMES frames, in order. */
	to.sll_ifindex = d->td_ifindex;
	to.sll_protocol = htons(TEST_ETHERTYPE);
	for (i = 0; i < NFRAMES; i++) {
		make_frame(frame, bcast, (uint8_t)i);
		memcpy(frame + 6, mac, 6);
		n = sendto(s, frame, sizeof(frame), 0, (struct sockaddr *)&to, sizeof(to));
		assert_int_equal(n, sizeof(frame));
	}
	assert_int_equal(collect_frames(d, seqs, NFRAMES), NFRAMES);
	for (i = 0; i < NFRAMES; i++)
		assert_int_equal(seqs[i], i);
	/* TAP -> Linux, on each queue. */
	for (i = 0; i < d->td_nq; i++) {
		make_frame(frame, mac, (uint8_t)(0x70 + i));
		assert_int_equal(tap_send(d, i, frame, sizeof(frame)), sizeof(frame));
		for (tries = 0; tries < 20; tries++) {
			n = recv(s, in, sizeof(in), 0);
			assert_true(n > 0);
			if (n >= 15 && in[14] == 0x70 + i)
				break;
		}
		assert_true(tries < 20);
		assert_memory_equal(in, frame, sizeof(frame));
	}
	close(s);
	tap_close(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_open_props),
		cmocka_unit_test(test_frames_both_ways),
	};

	return cmocka_run_group_tests(tests, setup_netns, NULL);
}
