/*
 * udptest.h - helpers shared by the UDP socket tests (cmocka): addresses from strings
 * and a UDP socket with a bounded receive (SO_RCVTIMEO 3 s), so a lost datagram fails a
 * test instead of hanging it.  Include after <cmocka.h>.
 */
#ifndef SMPNET_TESTS_UDPTEST_H
#define SMPNET_TESTS_UDPTEST_H

#include <arpa/inet.h>
#include <stdint.h>
#include <sys/time.h>

#include "smpnet/socket.h"

/* An IPv4 address in network order. */
static inline uint32_t
ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

/* addr (NULL: the wildcard) and port (host order) as a sockaddr_in. */
static inline struct sockaddr_in
sin_of(const char *addr, uint16_t port)
{
	struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons(port) };

	s.sin_addr.s_addr = addr ? ip(addr) : 0;
	return s;
}

/* A UDP socket with a 3 s receive bound, bound to addr:port unless both are empty. */
static inline struct smpnet_socket *
udp_sock(struct smpnet *st, const char *addr, uint16_t port)
{
	struct smpnet_socket *so = smpnet_socket(st, AF_INET, SOCK_DGRAM, 0);
	struct timeval tv = { .tv_sec = 3 };

	assert_non_null(so);
	assert_int_equal(smpnet_setsockopt(so, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	if (port != 0 || addr != NULL) {
		struct sockaddr_in s = sin_of(addr, port);

		assert_int_equal(smpnet_bind(so, (struct sockaddr *)&s, sizeof(s)), 0);
	}
	return so;
}

#endif /* SMPNET_TESTS_UDPTEST_H */
