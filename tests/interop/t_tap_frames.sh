#!/bin/bash
# t_tap_frames.sh BUILD_DIR - the TAP core and the packet formats against Linux.
#
# In a private namespace, tap_responder (a test tool) creates a 2-queue TAP device with
# src/dev/tap.c; Linux's side gets 192.0.2.1/24 and the responder answers ARP and ICMP
# echo for 192.0.2.2.  Passes when:
#   1. `ping -c 20 -i 0.05 192.0.2.2` loses nothing and the responder counted exactly 20
#      echo requests and 20 replies, at least one ARP request answered, no send error;
#   2. malformed frames sent by scapy from Linux's side (truncated IPv4, bad version, bad
#      IHL, total length above the frame, total length below the header, truncated ARP,
#      3 of each) are counted under exactly those refusal reasons;
#   3. a second ping (10 more) still loses nothing and the echo counters reach 30.
. "$(dirname "$0")/lib.sh"
build=${1:?usage: t_tap_frames.sh BUILD_DIR}
responder="$build/tests/interop/tap_responder"
python=/usr/bin/python3

smp_require_netns
[ -x "$responder" ] || smp_skip "tap_responder not built"
command -v ping >/dev/null || smp_skip "no ping"
$python -c "import scapy" 2>/dev/null || smp_skip "python3-scapy missing"

dev=smptap0
resp_mac=02:00:00:00:00:02
smp_netns_new ns a
out="$SMP_TMP/responder.out"

smp_bg "$out" ip netns exec "$ns" "$responder" --dev "$dev" --queues 2 \
	--ip 192.0.2.2 --mac "$resp_mac" --seconds 60
resp_pid=$SMP_LAST_PID
smp_wait_line "$out" "^READY $dev" 10 || { cat "$out"; smp_fail "responder did not start"; }
smp_in_ns "$ns" ip addr add 192.0.2.1/24 dev "$dev"
smp_in_ns "$ns" ip link set "$dev" up
smp_in_ns "$ns" ip link show "$dev" | grep -q "state UP\|UNKNOWN" || smp_log "link state: $(smp_in_ns "$ns" ip -br link show "$dev")"

# dump N: ask the responder for counter dump number N and wait for it.
dump() {
	kill -USR1 "$resp_pid"
	smp_wait_count "$out" "^COUNTERS END" "$1" 5 || smp_fail "no counter dump $1"
}

# 1. ping
smp_log "ping -c 20"
ping_out=$(smp_in_ns "$ns" timeout 20 ping -c 20 -i 0.05 -W 2 192.0.2.2) || true
echo "$ping_out"
echo "$ping_out" | grep -q " 0% packet loss" || smp_fail "ping lost packets"
dump 1
smp_expect "$out" icmp.echo_requests 20 1
smp_expect "$out" icmp.echo_replies 20 1
smp_expect "$out" tx_errors 0 1
[ "$(smp_counter "$out" arp.requests 1)" -ge 1 ] || smp_fail "no ARP request answered"
[ "$(smp_counter "$out" arp.replies 1)" = "$(smp_counter "$out" arp.requests 1)" ] ||
	smp_fail "ARP requests and replies differ"
rx=$(smp_counter "$out" rx_frames 1)
q0=$(smp_counter "$out" queue.0 1)
q1=$(smp_counter "$out" queue.1 1)
[ $((q0 + q1)) = "$rx" ] || smp_fail "queue counters $q0 + $q1 != rx_frames $rx"
smp_log "frames per queue: $q0 $q1"

# 2. malformed frames from Linux's side
smp_log "sending malformed frames"
smp_in_ns "$ns" timeout 20 $python - "$dev" "$resp_mac" <<'PY' || smp_fail "scapy sender failed"
import sys
from scapy.all import ARP, Ether, ICMP, IP, Raw, conf, get_if_hwaddr, raw, sendp
conf.verb = 0
dev, dst = sys.argv[1], sys.argv[2]
eth = Ether(dst=dst, src=get_if_hwaddr(dev))
good = IP(src="192.0.2.1", dst="192.0.2.2") / ICMP(id=99, seq=1) / Raw(b"x" * 8)
g = bytearray(raw(good))
bad_version = bytearray(g); bad_version[0] = 0x65
bad_hlen = bytearray(g); bad_hlen[0] = 0x43
long_len = bytearray(g); long_len[2:4] = (1000).to_bytes(2, "big")
short_len = bytearray(g); short_len[2:4] = (12).to_bytes(2, "big")
arp = raw(ARP(op=1, psrc="192.0.2.1", pdst="192.0.2.2"))
frames = [
    ("truncated", eth / Raw(bytes(g[:12]))),
    ("bad_version", eth / Raw(bytes(bad_version))),
    ("bad_hlen", eth / Raw(bytes(bad_hlen))),
    ("bad_totlen", eth / Raw(bytes(long_len))),
    ("short_totlen", eth / Raw(bytes(short_len))),
]
for name, f in frames:
    f.type = 0x0800
    sendp(f, iface=dev, count=3)
sendp(Ether(dst=dst, src=get_if_hwaddr(dev), type=0x0806) / Raw(arp[:20]), iface=dev, count=3)
print("sent", 3 * (len(frames) + 1), "malformed frames")
PY
# The frames travel through the TAP asynchronously: wait until all 18 were counted.
for i in $(seq 1 50); do
	dump $((i + 1))
	n=$(smp_counter "$out" ip.short_totlen)
	[ "$(smp_counter "$out" arp.truncated)" = 3 ] && [ "$n" = 3 ] && break
	sleep 0.1
done
smp_expect "$out" ip.truncated 3
smp_expect "$out" ip.bad_version 3
smp_expect "$out" ip.bad_hlen 3
smp_expect "$out" ip.bad_totlen 3
smp_expect "$out" ip.short_totlen 3
smp_expect "$out" arp.truncated 3
smp_expect "$out" ether.truncated 0
smp_expect "$out" icmp.echo_requests 20

# 3. still answering
smp_log "ping -c 10 after the malformed frames"
ping_out=$(smp_in_ns "$ns" timeout 20 ping -c 10 -i 0.05 -W 2 192.0.2.2) || true
echo "$ping_out"
echo "$ping_out" | grep -q " 0% packet loss" || smp_fail "ping lost packets after malformed frames"
kill -TERM "$resp_pid"
for i in $(seq 1 50); do kill -0 "$resp_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$resp_pid" 2>/dev/null && smp_fail "responder did not exit on SIGTERM"
wait "$resp_pid" || smp_fail "responder exited with an error"
smp_expect "$out" icmp.echo_requests 30
smp_expect "$out" icmp.echo_replies 30
smp_expect "$out" icmp.bad_cksum 0
smp_expect "$out" ip.bad_cksum 0
smp_expect "$out" tx_errors 0
echo "final counters:"
awk '/^COUNTERS BEGIN/ { n = 0 } { line[n++] = $0 } END { for (i = 0; i < n; i++) print line[i] }' "$out" |
	grep -v ' 0$'
exit 0
