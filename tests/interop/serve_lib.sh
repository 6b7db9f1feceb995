# serve_lib.sh - helpers for the `smpnet serve` interop tests (sourced after lib.sh).
#
# serve_start NS OUT ARGS...   start `smpnet serve ARGS` in namespace NS (output in OUT)
#                              and wait for its ready line; SERVE_PID holds the pid.
# serve_dump OUT N             SIGUSR1: wait for the Nth counter dump in OUT.
# serve_stop OUT               SIGTERM, wait (bounded) and require exit 0 with a final dump
#                              and no sanitizer report in OUT (for sanitizer builds).
# serve_neigh OUT ADDR [NTH]   the "neigh" line for ADDR in the NTH (default last) dump.
# serve_topology               two hosts routed through smpnet (see below).
# serve_stream NS_FROM NS_TO ADDR BYTES
#                              send BYTES random bytes over TCP (socat) and compare sha256.
#
# The topology: namespace R runs `smpnet serve --forward` on TAP devices smpa (192.0.2.2/24)
# and smpb (198.51.100.2/24), created there; then smpa moves to host namespace H1
# (192.0.2.1/24, route to 198.51.100.0/24 via smpnet) and smpb to H2 (198.51.100.1/24,
# route to 192.0.2.0/24 via smpnet).  The open TAP queues stay attached to the moved
# devices.  Sets SERVE_R, SERVE_H1, SERVE_H2 and SERVE_OUT.

SMPNET=${SMPNET_BUILD:-${build:-.}}/smpnet

serve_start() {
	local ns=$1 out=$2; shift 2
	smp_bg "$out" ip netns exec "$ns" "$SMPNET" serve "$@"
	SERVE_PID=$SMP_LAST_PID
	smp_wait_line "$out" "^smpnet serve: ready" 15 || { cat "$out"; smp_fail "serve did not start"; }
}

serve_dump() {
	kill -USR1 "$SERVE_PID"
	smp_wait_count "$1" "^COUNTERS END" "$2" 5 || smp_fail "no counter dump $2"
}

serve_stop() {
	local out=$1 i rc
	kill -TERM "$SERVE_PID"
	for i in $(seq 1 100); do
		kill -0 "$SERVE_PID" 2>/dev/null || break
		sleep 0.1
	done
	wait "$SERVE_PID"
	rc=$?
	grep -q "^COUNTERS END" "$out" || { cat "$out"; smp_fail "serve printed no counters"; }
	[ "$rc" = 0 ] || { tail -20 "$out"; smp_fail "serve exited with $rc"; }
	if grep -Eq "Sanitizer|runtime error:" "$out"; then
		grep -E -A30 "Sanitizer|runtime error:" "$out" | head -80
		smp_fail "sanitizer report in serve's output"
	fi
	smp_log "serve stopped cleanly"
}

serve_neigh() {
	awk -v a="$2" -v nth="${3:-0}" '
		/^COUNTERS BEGIN/ { dump++ }
		dump > 0 && $1 == "neigh" && $3 == a { v[dump] = $0 }
		END { k = nth > 0 ? nth : dump; if (k in v) print v[k] }' "$1"
}

# serve_mac NS DEV: the MAC address of DEV in NS.
serve_mac() {
	ip -n "$1" -br link show "$2" | awk '{print $3}'
}

serve_topology() {
	smp_netns_new SERVE_R r
	smp_netns_new SERVE_H1 h1
	smp_netns_new SERVE_H2 h2
	SERVE_OUT="$SMP_TMP/serve.out"
	serve_start "$SERVE_R" "$SERVE_OUT" --forward --queues 2 "$@" \
		--tap smpa=192.0.2.2/24 --tap smpb=198.51.100.2/24
	ip -n "$SERVE_R" link set smpa netns "$SERVE_H1" || smp_fail "move smpa"
	ip -n "$SERVE_R" link set smpb netns "$SERVE_H2" || smp_fail "move smpb"
	ip -n "$SERVE_H1" addr add 192.0.2.1/24 dev smpa
	ip -n "$SERVE_H1" link set smpa up
	ip -n "$SERVE_H1" route add 198.51.100.0/24 via 192.0.2.2
	ip -n "$SERVE_H2" addr add 198.51.100.1/24 dev smpb
	ip -n "$SERVE_H2" link set smpb up
	ip -n "$SERVE_H2" route add 192.0.2.0/24 via 198.51.100.2
}

serve_stream() {
	local from=$1 to=$2 addr=$3 bytes=$4 port=5001 i
	head -c "$bytes" /dev/urandom >"$SMP_TMP/stream.in"
	rm -f "$SMP_TMP/stream.out"
	smp_bg "$SMP_TMP/socat-listen.log" ip netns exec "$to" timeout 60 \
		socat -u TCP-LISTEN:$port,reuseaddr "CREATE:$SMP_TMP/stream.out"
	local lpid=$SMP_LAST_PID
	for i in $(seq 1 50); do
		ip netns exec "$to" ss -ltn 2>/dev/null | grep -q ":$port " && break
		sleep 0.1
	done
	ip netns exec "$from" timeout 60 socat -u "OPEN:$SMP_TMP/stream.in" \
		"TCP:$addr:$port,connect-timeout=10" || smp_fail "socat send failed"
	wait "$lpid" || smp_fail "socat receive failed"
	local a b
	a=$(sha256sum <"$SMP_TMP/stream.in" | cut -d' ' -f1)
	b=$(sha256sum <"$SMP_TMP/stream.out" | cut -d' ' -f1)
	[ "$a" = "$b" ] || smp_fail "stream corrupted: $(stat -c %s "$SMP_TMP/stream.out") of $bytes bytes, sha256 $b != $a"
	smp_log "TCP stream of $bytes bytes intact (sha256 $a)"
}
