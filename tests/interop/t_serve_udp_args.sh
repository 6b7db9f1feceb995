#!/bin/bash
# t_serve_udp_args.sh BUILD_DIR - `smpnet serve` refuses bad --join arguments with exit 2
# and a message naming the problem (argument parsing: no namespace or device needed), and
# a bad setting still exits 2 when a UDP service builds the stack.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
build=${1:?usage: t_serve_udp_args.sh BUILD_DIR}
[ -x "$SMPNET" ] || smp_skip "smpnet not built"

# bad WHAT ARGS...: serve must exit 2 and print a line matching WHAT.
bad() {
	local what=$1 out rc; shift
	out=$(timeout 10 "$SMPNET" serve "$@" 2>&1)
	rc=$?
	[ "$rc" = 2 ] || smp_fail "serve $* exited $rc, expected 2"
	echo "$out" | grep -q -- "$what" || smp_fail "serve $*: no '$what' in: $out"
	smp_log "serve $*: $(echo "$out" | head -1)"
}
bad "GROUP@DEV" --tap smp0=192.0.2.1/24 --join 233.252.0.1
bad "GROUP@DEV" --tap smp0=192.0.2.1/24 --join 233.252.0.1@
bad "multicast address" --tap smp0=192.0.2.1/24 --join 192.0.2.9@smp0
bad "multicast address" --tap smp0=192.0.2.1/24 --join nothing@smp0
bad "one of the --tap" --tap smp0=192.0.2.1/24 --join 233.252.0.1@smp1
bad "at least one --tap" --udp-echo
bad "net.inet.nosuch" --udp-echo --tap smp0=192.0.2.1/24 --set net.inet.nosuch=1
exit 0
