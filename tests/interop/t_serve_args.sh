#!/bin/bash
# t_serve_args.sh BUILD_DIR - `smpnet serve` refuses bad arguments with exit 2 and a
# message naming the problem, before any device is opened (no namespace needed: every
# case fails in argument parsing, or in applying settings, which comes first).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
build=${1:?usage: t_serve_args.sh BUILD_DIR}
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
bad "at least one --tap"
bad "NAME=ADDR/PLEN" --tap smp0
bad "bad ADDR/PLEN" --tap smp0=192.0.2.300/24
bad "bad ADDR/PLEN" --tap smp0=192.0.2.1/33
bad "bad ADDR/PLEN" --tap smp0=192.0.2.1
bad "at most 15" --tap abcdefghijklmnopq=192.0.2.1/24
bad "bad GATEWAY" --tap smp0=192.0.2.1/24 --route default=nowhere
bad "bad PREFIX" --tap smp0=192.0.2.1/24 --route 198.51.100.0=192.0.2.2
bad "PREFIX/PLEN=GATEWAY" --tap smp0=192.0.2.1/24 --route 198.51.100.0/24
bad "--cpus" --tap smp0=192.0.2.1/24 --cpus 0
bad "--queues" --tap smp0=192.0.2.1/24 --queues 17
bad "--mtu" --tap smp0=192.0.2.1/24 --mtu 20
bad "--arp-timeout" --tap smp0=192.0.2.1/24 --arp-timeout -5
bad "SETTING=INTEGER" --tap smp0=192.0.2.1/24 --set net.inet.ip.ttl=x
bad "net.inet.nosuch" --tap smp0=192.0.2.1/24 --set net.inet.nosuch=1
bad "net.inet.ip.ttl" --tap smp0=192.0.2.1/24 --set net.inet.ip.ttl=300
bad "unknown or incomplete" --tap smp0=192.0.2.1/24 --bogus
bad "unknown or incomplete" --tap smp0=192.0.2.1/24 --cpus
exit 0
