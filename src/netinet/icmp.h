/*
 * icmp.h - ICMPv4 (RFC 792): echo, errors, and the hooks upper layers use.
 *
 * Input (the IP-protocol handler for protocol 1): one length and checksum check; echo
 * requests are answered (any size up to 65535: the request arrives reassembled);
 * errors (unreachable, time exceeded, parameter problem, source quench) are checked
 * again (icmp_quote_parse) and handed to the ctlinput handler registered for the quoted
 * datagram's protocol; every message is then offered to the handler registered for its
 * type (raw sockets, ping, tests).  Both tables are 256-entry arrays of RCU-published
 * records: no switch on protocol numbers.
 *
 * Output of errors (icmp_error): never about an ICMP error, a fragment other than the
 * first, a datagram sent to or from a broadcast or multicast address, or one received
 * as a link broadcast/multicast; rate limited by a token bucket per CPU
 * (net.inet.icmp.ratelimit per second, net.inet.icmp.burst deep).
 */
#ifndef SMPNET_NETINET_ICMP_H
#define SMPNET_NETINET_ICMP_H

#include <stddef.h>
#include <stdint.h>

#include "netinet/icmp_wire.h"

struct vnet;
struct ifnet;
struct mbuf;
struct inet;
struct ip_oargs;

/*
 * A handler for received messages of one type: m is the whole datagram (IP header of
 * hlen bytes, then the ICMP message), read-only, still owned by the stack.  Runs in the
 * input context (a continuation, inside a read section); must not block.
 */
typedef void (*icmp_input_fn)(struct ifnet *ifp, const struct mbuf *m, int hlen,
    void *arg);

/*
 * A handler for received errors about datagrams of one protocol: type, code and the
 * rest-of-header word (next-hop MTU for frag-needed), the quoted datagram, and the
 * error's source (host order).  Same context as above.
 */
typedef void (*icmp_ctlinput_fn)(struct vnet *v, int type, int code, uint32_t rest,
    const struct icmp_quote *q, uint32_t from, void *arg);

/*
 * Register (replace) / remove the handler for a type or a quoted protocol.  0,
 * -EAFNOSUPPORT, -ENOMEM, -EINVAL (fn NULL), unregister: -ENOENT.  Control threads; may
 * block (a replaced handler is freed after a grace period: when the call returns no
 * input runs it any more).
 */
int icmp_type_register(struct vnet *v, uint8_t type, icmp_input_fn fn, void *arg);
int icmp_type_unregister(struct vnet *v, uint8_t type);
int icmp_ctl_register(struct vnet *v, uint8_t proto, icmp_ctlinput_fn fn, void *arg);
int icmp_ctl_unregister(struct vnet *v, uint8_t proto);

/*
 * Send an ICMP error of type/code about datagram m (data at its IP header; m is not
 * consumed), received on rcvif (NULL if generated locally); rest is the rest-of-header
 * word (the next-hop MTU for ICMP_UNREACH_NEEDFRAG, the pointer for a parameter
 * problem).  0 if sent, -EPERM if the rules forbid an error about m, -EAGAIN if rate
 * limited, or ip_output's error.  Any thread; never blocks.  Upper layers call it for
 * "port unreachable".
 */
int icmp_error(struct vnet *v, const struct mbuf *m, int type, int code, uint32_t rest,
    struct ifnet *rcvif);

/*
 * Send an echo request of datalen payload bytes (a byte pattern: byte i = i & 0xff)
 * to dst with id/seq; opt (may be NULL) gives the source, TTL, DF, interface.  Returns
 * ip_output's result.  Any thread; never blocks.
 */
int icmp_echo_request(struct vnet *v, uint32_t dst, uint16_t id, uint16_t seq,
    size_t datalen, const struct ip_oargs *opt);

/* The IP-protocol handler (arg: struct inet). */
void icmp_input(struct ifnet *ifp, struct mbuf *m, int off, void *arg);

/* Called by the domain: free the handler tables (after detach's grace period). */
void icmp_tables_free(struct inet *in);

#endif /* SMPNET_NETINET_ICMP_H */
