#!/bin/bash
# t_serve_forward.sh BUILD_DIR - smpnet routes between two Linux namespaces.
#
# serve_topology (serve_lib.sh): H1 192.0.2.1 -- smpa [smpnet --forward] smpb --
# 198.51.100.1 H2, both TAP devices created by serve in R and then moved into H1 and H2.
# Passes when:
#   1. 200 pings H1 -> H2 and 200 pings H2 -> H1 (5 ms apart) lose nothing, and 20
#      pings of 3000 bytes (fragmented by Linux, forwarded fragment by fragment) too;
#   2. a 4 MB TCP stream H1 -> H2 (socat) arrives with the same sha256;
#   3. `ping -t 1` from H1 to H2 gets "Time to live exceeded" from 192.0.2.2;
#   4. serve counted ip.forward >= every forwarded packet above and ip.ttlexceed >= 1, and
#      stops with exit 0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
build=${1:?usage: t_serve_forward.sh BUILD_DIR}

smp_require_netns
[ -x "$SMPNET" ] || smp_skip "smpnet not built"
command -v socat >/dev/null || smp_skip "no socat"

serve_topology --cpus 2

# 1. pings both ways
smp_log "ping H1 -> H2, H2 -> H1"
for dir in "$SERVE_H1 198.51.100.1" "$SERVE_H2 192.0.2.1"; do
	set -- $dir
	p=$(smp_in_ns "$1" timeout 20 ping -q -c 200 -i 0.005 -W 2 "$2") || true
	echo "$p" | grep -q "200 received, 0% packet loss" || { echo "$p"; smp_fail "ping $2 lost some"; }
done
p=$(smp_in_ns "$SERVE_H1" timeout 20 ping -q -c 20 -i 0.02 -s 3000 -W 2 198.51.100.1) || true
echo "$p" | grep -q "20 received, 0% packet loss" || { echo "$p"; smp_fail "3000-byte pings lost some"; }

# 2. TCP stream
serve_stream "$SERVE_H1" "$SERVE_H2" 198.51.100.1 4194304

# 3. TTL 1
p=$(smp_in_ns "$SERVE_H1" timeout 10 ping -c 1 -t 1 -W 2 198.51.100.1 2>&1) || true
echo "$p"
echo "$p" | grep -q "From 192.0.2.2.*Time to live exceeded" || smp_fail "no time exceeded from smpnet"

# 4. counters
serve_dump "$SERVE_OUT" 1
fwd=$(smp_counter "$SERVE_OUT" ip.forward 1)
smp_log "ip.forward $fwd"
[ "$fwd" -ge $((800 + 20 * 3 * 2 + 2000)) ] || smp_fail "ip.forward $fwd too low"
[ "$(smp_counter "$SERVE_OUT" ip.ttlexceed 1)" -ge 1 ] || smp_fail "ip.ttlexceed is 0"
serve_stop "$SERVE_OUT"
exit 0
