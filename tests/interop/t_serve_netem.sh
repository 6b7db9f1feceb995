#!/bin/bash
# t_serve_netem.sh BUILD_DIR - a TCP stream forwarded by smpnet under loss and reordering.
#
# serve_topology (serve_lib.sh) with `tc netem` on the Linux side of both TAP devices,
# inside H1 and H2: 2% loss, 25% of packets reordered (sent 5 ms ahead of the others),
# 1% duplicated.  Passes when a 2 MB TCP stream H1 -> H2 arrives with the same sha256,
# 50 pings H1 -> H2 get at least 40 replies, and serve exits 0.
#
# A kernel without the netem qdisc (the test never loads modules) gets the same faults
# from serve_lossy.py instead: in H1, smpa loses its address and the relay creates the
# TAP device lnk (192.0.2.1/24) and relays frames between lnk and smpa with 2% loss, 1%
# duplication and 25% reordering (seeded; the seed is printed).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
build=${1:?usage: t_serve_netem.sh BUILD_DIR}

smp_require_netns
[ -x "$SMPNET" ] || smp_skip "smpnet not built"
command -v socat >/dev/null || smp_skip "no socat"
command -v tc >/dev/null || smp_skip "no tc"

serve_topology --cpus 2

# relay_start: the netem substitute in H1 (see above).
relay_start() {
	local seed=${SMPNET_SEED:-5}
	smp_log "no netem ($(head -1 "$SMP_TMP/tc.err")): relay with seed $seed"
	smp_in_ns "$SERVE_H1" ip addr flush dev smpa
	smp_in_ns "$SERVE_H1" sysctl -qw net.ipv4.conf.smpa.arp_ignore=8
	smp_in_ns "$SERVE_H1" sysctl -qw net.ipv6.conf.smpa.disable_ipv6=1 2>/dev/null
	smp_bg "$SMP_TMP/relay.out" ip netns exec "$SERVE_H1" /usr/bin/python3 \
		"$(dirname "$0")/serve_lossy.py" lnk smpa "$seed" 80
	relay_pid=$SMP_LAST_PID
	smp_wait_line "$SMP_TMP/relay.out" "^READY" 10 || { cat "$SMP_TMP/relay.out"; smp_fail "relay did not start"; }
	smp_in_ns "$SERVE_H1" ip addr add 192.0.2.1/24 dev lnk
	smp_in_ns "$SERVE_H1" ip link set lnk up
	smp_in_ns "$SERVE_H1" ip route add 198.51.100.0/24 via 192.0.2.2
}

relay_pid=""
for hn in "$SERVE_H1 smpa" "$SERVE_H2 smpb"; do
	set -- $hn
	if ! smp_in_ns "$1" tc qdisc add dev "$2" root netem delay 5ms loss 2% reorder 25% 50% \
		duplicate 1% 2>"$SMP_TMP/tc.err"; then
		relay_start
		break
	fi
	smp_log "$1: $(smp_in_ns "$1" tc qdisc show dev "$2")"
done

serve_stream "$SERVE_H1" "$SERVE_H2" 198.51.100.1 2097152
p=$(smp_in_ns "$SERVE_H1" timeout 20 ping -q -c 50 -i 0.02 -W 2 198.51.100.1) || true
echo "$p"
rcv=$(echo "$p" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
[ -n "$rcv" ] && [ "$rcv" -ge 40 ] || smp_fail "only ${rcv:-?} of 50 pings answered under netem"
serve_dump "$SERVE_OUT" 1
smp_log "ip.forward $(smp_counter "$SERVE_OUT" ip.forward 1)"
if [ -n "$relay_pid" ]; then
	kill -TERM "$relay_pid"
	smp_wait_line "$SMP_TMP/relay.out" "^RELAY" 5 && smp_log "$(grep ^RELAY "$SMP_TMP/relay.out")"
	grep -q "^RELAY.* lost [1-9]" "$SMP_TMP/relay.out" || smp_fail "the relay lost nothing"
fi
serve_stop "$SERVE_OUT"
exit 0
