#!/bin/bash
# t_serve_malformed.sh BUILD_DIR - malformed frames sent with scapy to `smpnet serve` are
# counted and dropped, and the stack keeps answering pings.
#
# serve runs on smptap0 (192.0.2.2/24) with a 1 s reassembly timeout.  serve_malformed.py
# sends, 3 of each: truncated IPv4 headers, bad version, bad IHL, bad header checksum,
# total length above the frame and below the header, bad ICMP checksum, truncated ARP,
# 3 datagrams with overlapping fragments and 3 endless fragment streams (100 fragments
# each, never completed, plus a fragment ending beyond 65535), 3 lone first fragments.
# Passes when, between a
# counter dump before and one after (plus 2.5 s for the reassembly timer):
#   ip.tooshort += 3, ip.badvers += 3, ip.badhlen += 3, ip.badsum += 3, ip.badlen += 6,
#   icmp.badsum += 3, arp.bad += 3, ip.fragoverlap >= 3, ip.fraglimit + ip.fragtoolong
#   >= 3, ip.fragtimeout >= 3, icmp.echo unchanged by the garbage (only the valid pings
#   count), no reassembled datagram from the garbage; then 100 pings lose nothing and
#   serve exits 0 (no mbuf leaked).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
build=${1:?usage: t_serve_malformed.sh BUILD_DIR}
python=/usr/bin/python3

smp_require_netns
[ -x "$SMPNET" ] || smp_skip "smpnet not built"
$python -c "import scapy" 2>/dev/null || smp_skip "python3-scapy missing"

smp_netns_new ns a
out="$SMP_TMP/serve.out"
serve_start "$ns" "$out" --cpus 2 --queues 2 --set net.inet.ip.reass.timeout_ms=1000 \
	--tap smptap0=192.0.2.2/24
smp_in_ns "$ns" ip addr add 192.0.2.1/24 dev smptap0
smp_in_ns "$ns" ip link set smptap0 up
smp_in_ns "$ns" ping -q -c 3 -i 0.1 -W 2 192.0.2.2 >/dev/null || smp_fail "first ping failed"
mac_l=$(serve_mac "$ns" smptap0)
mac_s=$(smp_in_ns "$ns" ip neigh show 192.0.2.2 dev smptap0 | awk '{print $3}')
serve_dump "$out" 1

smp_log "scapy: $mac_l -> $mac_s"
smp_in_ns "$ns" timeout 60 $python "$(dirname "$0")/serve_malformed.py" smptap0 "$mac_l" \
	"$mac_s" || smp_fail "scapy failed"
sleep 2.5
serve_dump "$out" 2

# delta NAME: counter growth between dump 1 and dump 2
delta() {
	echo $(( $(smp_counter "$out" "$1" 2) - $(smp_counter "$out" "$1" 1) ))
}
expect_delta() {
	local d
	d=$(delta "$1")
	smp_log "$1 +$d (expected $2 $3)"
	[ "$d" "$2" "$3" ] || smp_fail "$1 grew by $d, expected $2 $3"
}
for c in ip.tooshort ip.badvers ip.badhlen ip.badsum icmp.badsum arp.bad; do
	expect_delta $c -eq 3
done
expect_delta ip.badlen -eq 6
expect_delta ip.fragoverlap -ge 3
expect_delta ip.fragtimeout -ge 3
expect_delta icmp.echo -eq 0
expect_delta ip.reassembled -eq 0
lim=$(( $(delta ip.fraglimit) + $(delta ip.fragtoolong) ))
smp_log "ip.fraglimit + ip.fragtoolong +$lim"
[ "$lim" -ge 3 ] || smp_fail "endless fragment streams not cut ($lim)"

p=$(smp_in_ns "$ns" timeout 20 ping -q -c 100 -i 0.01 -W 2 192.0.2.2) || true
echo "$p" | grep -q "100 received, 0% packet loss" || { echo "$p"; smp_fail "ping after garbage lost some"; }
serve_stop "$out"
exit 0
