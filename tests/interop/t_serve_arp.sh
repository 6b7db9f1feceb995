#!/bin/bash
# t_serve_arp.sh BUILD_DIR - ARP between Linux and `smpnet serve`: entries appear, expire.
#
# smptap0 is created first (`ip tuntap add ... multi_queue`), so serve attaches to an
# existing device; serve runs on it (192.0.2.2/24, 2 queues) with --arp-timeout 1000 (an entry is REACHABLE
# for 1 s, then STALE for 1 s, then deleted unless used).  Passes when:
#   1. after 3 pings, Linux's `ip neigh` shows 192.0.2.2 at smpnet's MAC (the device's
#      MAC with the locally-administered bit set and the last bit flipped), and serve's
#      neighbour listing shows 192.0.2.1 at Linux's MAC, reachable;
#   2. within 10 s without traffic serve's listing loses the entry and arp.expired >= 1;
#   3. one more ping brings the entry back (it is learnt again), serve exits 0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
build=${1:?usage: t_serve_arp.sh BUILD_DIR}

smp_require_netns
[ -x "$SMPNET" ] || smp_skip "smpnet not built"

smp_netns_new ns a
smp_tap_add "$ns" smptap0 multi
out="$SMP_TMP/serve.out"
serve_start "$ns" "$out" --cpus 1 --queues 2 --arp-timeout 1000 --tap smptap0=192.0.2.2/24
smp_in_ns "$ns" ip addr add 192.0.2.1/24 dev smptap0
smp_in_ns "$ns" ip link set smptap0 up
linux_mac=$(serve_mac "$ns" smptap0)
want_mac=$(/usr/bin/python3 -c '
import sys
b = [int(x, 16) for x in sys.argv[1].split(":")]
b[0] = (b[0] | 2) & ~1
b[5] ^= 1
print(":".join("%02x" % x for x in b))' "$linux_mac")
smp_log "Linux side $linux_mac, smpnet side expected $want_mac"

# 1. entries appear on both sides
smp_in_ns "$ns" ping -q -c 3 -i 0.1 -W 2 192.0.2.2 >/dev/null || smp_fail "ping failed"
n=$(smp_in_ns "$ns" ip neigh show 192.0.2.2 dev smptap0)
smp_log "Linux: $n"
echo "$n" | grep -q "lladdr $want_mac" || smp_fail "Linux's neighbour entry lacks smpnet's MAC"
serve_dump "$out" 1
e=$(serve_neigh "$out" 192.0.2.1 1)
smp_log "smpnet: $e"
[ "$(echo "$e" | awk '{print $4, $5}')" = "$linux_mac reachable" ] ||
	smp_fail "smpnet's entry for 192.0.2.1 is '$e', expected $linux_mac reachable"

# 2. expiry (bounded: 20 dumps, 0.5 s apart)
gone=""
for i in $(seq 2 21); do
	sleep 0.5
	serve_dump "$out" "$i"
	[ -z "$(serve_neigh "$out" 192.0.2.1 "$i")" ] && { gone=$i; break; }
done
[ -n "$gone" ] || smp_fail "smpnet's entry did not expire within 10 s"
smp_log "entry gone at dump $gone"
[ "$(smp_counter "$out" arp.expired "$gone")" -ge 1 ] || smp_fail "arp.expired is 0"

# 3. learnt again
smp_in_ns "$ns" ping -q -c 1 -W 2 192.0.2.2 >/dev/null || smp_fail "ping after expiry failed"
serve_dump "$out" $((gone + 1))
[ -n "$(serve_neigh "$out" 192.0.2.1 $((gone + 1)))" ] || smp_fail "entry not learnt again"
serve_stop "$out"
exit 0
