#!/bin/bash
# t_serve_udp_mcast.sh BUILD_DIR - `smpnet serve --join` shows up as an IGMP membership
# report on Linux, and multicast datagrams from Linux reach serve's echo.
#
# In a private namespace Linux creates the multiqueue TAP device smptap0 (192.0.2.1/24,
# up) and captures on it with tshark (capture filter igmp, at most 10 s); serve then
# attaches to smptap0 (192.0.2.2/24) with --join 233.252.0.1@smptap0 (MCAST-TEST-NET, RFC 5771).
# Passes when:
#   1. the capture holds an IGMP membership report for 233.252.0.1 from 192.0.2.2;
#   2. 100 datagrams Linux sends to 233.252.0.1 port 7 (IP_MULTICAST_IF 192.0.2.1) are
#      each echoed intact by serve (serve_udp.py mcast, seed printed);
#   3. a datagram to 233.252.0.2 (not joined) is not echoed;
#   4. serve's udp.echo.rx counts the 100 (and their resends), udp.echo.drops is 0, and
#      serve stops on SIGTERM with exit 0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
build=${1:?usage: t_serve_udp_mcast.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
seed=${SMPNET_SEED:-6006}
group=233.252.0.1

smp_require_netns
[ -x "$SMPNET" ] || smp_skip "smpnet not built"
[ -x "$py" ] || smp_skip "no $py"
command -v tshark >/dev/null || smp_skip "no tshark"

smp_netns_new ns a
smp_tap_add "$ns" smptap0 multi
smp_in_ns "$ns" ip addr add 192.0.2.1/24 dev smptap0
smp_in_ns "$ns" ip link set smptap0 up
pcap="$SMP_TMP/igmp.pcap"
smp_bg "$SMP_TMP/tshark.log" ip netns exec "$ns" timeout 20 tshark -q -i smptap0 -f igmp \
	-a duration:10 -c 1 -w "$pcap"
tpid=$SMP_LAST_PID
smp_wait_line "$SMP_TMP/tshark.log" "Capturing on" 10 ||
	{ cat "$SMP_TMP/tshark.log"; smp_fail "tshark did not start"; }

out="$SMP_TMP/serve.out"
serve_start "$ns" "$out" --cpus 2 --join "$group@smptap0" --tap smptap0=192.0.2.2/24
smp_log "seed $seed"

# 1. the membership report
for i in $(seq 1 150); do
	kill -0 "$tpid" 2>/dev/null || break
	sleep 0.1
done
reports=$(tshark -r "$pcap" -T fields -e ip.src -e igmp.type -e igmp.maddr 2>/dev/null)
echo "$reports"
echo "$reports" | grep -E "^192\.0\.2\.2[[:space:]]" | grep -q "$group" ||
	smp_fail "no IGMP membership report for $group from 192.0.2.2"
smp_log "IGMP report for $group seen"

# 2. multicast datagrams are echoed
r=$(smp_in_ns "$ns" timeout 40 "$py" "$here/serve_udp.py" mcast "$group" 192.0.2.1 192.0.2.2 \
	100 "$seed" 30) || { echo "$r"; smp_fail "multicast datagrams: not all echoed"; }
echo "$r"
resent=$(echo "$r" | sed -n 's/.*resent=\([0-9]*\) .*/\1/p')

# 3. a group not joined: no echo
r=$(smp_in_ns "$ns" timeout 20 "$py" "$here/serve_udp.py" mcast 233.252.0.2 192.0.2.1 \
	192.0.2.2 1 "$seed" 10)
echo "$r"
echo "$r" | grep -q "echoed=0 " || smp_fail "a datagram to a group not joined was echoed"

# 4. counters, clean stop
serve_dump "$out" 1
rx=$(smp_counter "$out" udp.echo.rx 1)
smp_log "udp.echo.rx $rx udp.noportmcast $(smp_counter "$out" udp.noportmcast 1)" \
	"if.smptap0.filtered $(smp_counter "$out" if.smptap0.filtered 1)"
[ "$rx" = $((100 + resent)) ] || smp_fail "udp.echo.rx $rx, expected $((100 + resent))"
smp_expect "$out" udp.echo.drops 0 1
serve_stop "$out"
exit 0
