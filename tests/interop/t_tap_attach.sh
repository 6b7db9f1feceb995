#!/bin/bash
# t_tap_attach.sh BUILD_DIR - the TAP core attaches to a device Linux made.
#
# In a private namespace, `ip tuntap add ... multi_queue` creates a persistent multiqueue
# TAP device (lib.sh's smp_tap_add); tap_responder attaches 3 queues to it (TAP_ATTACH)
# and answers for 198.51.100.2 while Linux has 198.51.100.1/24.  Passes when
# `ping -c 10 -i 0.05` loses nothing, the responder counted exactly 10 echo requests and
# replies, and the device is still there after the responder closed its queues (it was
# not the responder's to remove).
. "$(dirname "$0")/lib.sh"
build=${1:?usage: t_tap_attach.sh BUILD_DIR}
responder="$build/tests/interop/tap_responder"

smp_require_netns
[ -x "$responder" ] || smp_skip "tap_responder not built"
command -v ping >/dev/null || smp_skip "no ping"

dev=smptap1
smp_netns_new ns b
smp_tap_add "$ns" "$dev" multi
out="$SMP_TMP/responder.out"
smp_bg "$out" ip netns exec "$ns" "$responder" --dev "$dev" --queues 3 --attach \
	--ip 198.51.100.2 --mac 02:00:00:00:01:02 --seconds 30
resp_pid=$SMP_LAST_PID
smp_wait_line "$out" "^READY $dev queues 3" 10 || { cat "$out"; smp_fail "responder did not attach"; }
smp_in_ns "$ns" ip addr add 198.51.100.1/24 dev "$dev"
smp_in_ns "$ns" ip link set "$dev" up

ping_out=$(smp_in_ns "$ns" timeout 20 ping -c 10 -i 0.05 -W 2 198.51.100.2) || true
echo "$ping_out"
echo "$ping_out" | grep -q " 0% packet loss" || smp_fail "ping lost packets"
kill -TERM "$resp_pid"
for i in $(seq 1 50); do kill -0 "$resp_pid" 2>/dev/null || break; sleep 0.1; done
wait "$resp_pid" || smp_fail "responder exited with an error"
smp_expect "$out" icmp.echo_requests 10
smp_expect "$out" icmp.echo_replies 10
smp_expect "$out" tx_errors 0
smp_in_ns "$ns" ip link show "$dev" >/dev/null || smp_fail "the attached device vanished"
smp_log "device $dev still present after detach"
exit 0
