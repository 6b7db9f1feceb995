#!/bin/bash
# t_serve_ping.sh BUILD_DIR - Linux pings `smpnet serve` over a 2-queue TAP device.
#
# In a private namespace serve creates smptap0 (192.0.2.2/24, 2 CPUs, 2 queues); Linux's
# side is 192.0.2.1/24.  Passes when:
#   1. 1000 echoes at 2 ms intervals lose nothing;
#   2. one echo of each size 0, 97, 194, ... 7954, 8000 bytes (84 sizes) is answered, so
#      datagrams above the MTU are reassembled by smpnet and its replies fragmented;
#   3. a flood ping (ping -f -c 2000, at most 30 s) loses at most 2%;
#   4. serve's counters agree: icmp.echo counts every request received, ip.reassembled
#      and ip.fragmented are non-zero, no driver transmit error after the link is up;
#   5. serve stops on SIGTERM with exit 0 (no mbuf leaked).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
build=${1:?usage: t_serve_ping.sh BUILD_DIR}

smp_require_netns
[ -x "$SMPNET" ] || smp_skip "smpnet not built"
command -v ping >/dev/null || smp_skip "no ping"

smp_netns_new ns a
out="$SMP_TMP/serve.out"
serve_start "$ns" "$out" --cpus 2 --queues 2 --tap smptap0=192.0.2.2/24
smp_in_ns "$ns" ip addr add 192.0.2.1/24 dev smptap0
smp_in_ns "$ns" ip link set smptap0 up
serve_dump "$out" 1
txerr0=$(smp_counter "$out" tap.smptap0.tx_errors 1)

# 1. 1000 echoes
smp_log "ping -c 1000 -i 0.002"
p=$(smp_in_ns "$ns" timeout 30 ping -q -c 1000 -i 0.002 -W 2 192.0.2.2) || true
echo "$p"
echo "$p" | grep -q "1000 received, 0% packet loss" || smp_fail "1000 pings lost some"

# 2. sizes 0..8000
smp_log "one echo per size 0..8000 step 97"
lost=0
for s in $(seq 0 97 8000) 8000; do
	smp_in_ns "$ns" ping -q -c 1 -W 2 -s "$s" 192.0.2.2 >/dev/null || {
		smp_log "size $s: no reply"; lost=$((lost + 1)); }
done
[ "$lost" = 0 ] || smp_fail "$lost sizes unanswered"

# 3. flood
smp_log "ping -f -c 2000"
p=$(smp_in_ns "$ns" timeout 30 ping -q -f -c 2000 -W 1 192.0.2.2) || true
echo "$p"
rcv=$(echo "$p" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
[ -n "$rcv" ] && [ "$rcv" -ge 1960 ] || smp_fail "flood ping: ${rcv:-?} of 2000 answered"

# 4. counters
serve_dump "$out" 2
echo=$(smp_counter "$out" icmp.echo 2)
reply=$(smp_counter "$out" icmp.reply 2)
smp_log "icmp.echo $echo icmp.reply $reply"
[ "$echo" -ge $((1000 + 84 + rcv)) ] || smp_fail "icmp.echo $echo < requests answered"
[ "$reply" = "$echo" ] || smp_fail "icmp.reply $reply != icmp.echo $echo"
[ "$(smp_counter "$out" ip.reassembled 2)" -ge 60 ] || smp_fail "too few reassembled"
[ "$(smp_counter "$out" ip.fragmented 2)" -ge 60 ] || smp_fail "too few replies fragmented"
smp_expect "$out" tap.smptap0.tx_errors "$txerr0" 2
smp_log "queues used: $(smp_counter "$out" tap.smptap0.intr 2) interrupts"

# 5. clean stop
serve_stop "$out"
exit 0
