# lib.sh - helpers for interop tests (sourced by tests/interop/t_*.sh).
#
# NETWORK SAFETY, the rules every test keeps:
#   - traffic only inside network namespaces the test creates (smp_netns_new), whose
#     names start with "smpnet-" and are unique per run;
#   - TAP devices are created inside those namespaces (smp_tap_add, or a test tool run
#     there with smp_in_ns) and die with them;
#   - only documentation addresses: 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
#     2001:db8::/32;
#   - the root namespace's routes and links are never changed;
#   - every loop is bounded in count and time; the EXIT trap always kills the
#     background processes started with smp_bg (by PID) and deletes the namespaces.
# A test exits 0 to pass, 77 to skip (after printing "SKIP: reason"), anything else fails.

set -u

SMP_NS_LIST=""
SMP_PID_LIST=""
SMP_TMP=$(mktemp -d /tmp/smpnet-interop.XXXXXX)
# run.sh passes a prefix unique to the run and the test, so it can sweep leftovers.
SMP_NS_PREFIX=${SMPNET_NS_PREFIX:-smpnet-$(basename "$0" .sh)-$$}

smp_log() {
	echo "[$(date +%H:%M:%S)] $*" >&2
}

smp_skip() {
	echo "SKIP: $*"
	exit 77
}

smp_fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# Kill our background processes (TERM, then KILL after up to 2 s), delete our namespaces.
smp_cleanup() {
	local pid i ns
	for pid in $SMP_PID_LIST; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in $SMP_PID_LIST; do
		for i in $(seq 1 20); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
	done
	for ns in $SMP_NS_LIST; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$SMP_TMP"
}
trap smp_cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# smp_require_netns: skip unless root with `ip netns`.
smp_require_netns() {
	[ "$(id -u)" = 0 ] || smp_skip "not root"
	ip netns list >/dev/null 2>&1 || smp_skip "ip netns unavailable"
	[ -c /dev/net/tun ] || smp_skip "no /dev/net/tun"
}

# smp_netns_new VAR SUFFIX: create namespace $SMP_NS_PREFIX-SUFFIX with lo up and store
# its name in VAR (not in a subshell: the name must reach the cleanup list).
smp_netns_new() {
	local _smp_ns="$SMP_NS_PREFIX-$2"
	case "$_smp_ns" in
	smpnet-*) ;;
	*) smp_fail "namespace $_smp_ns lacks the smpnet- prefix" ;;
	esac
	ip netns add "$_smp_ns" || smp_fail "ip netns add $_smp_ns"
	SMP_NS_LIST="$SMP_NS_LIST $_smp_ns"
	ip -n "$_smp_ns" link set lo up
	printf -v "$1" %s "$_smp_ns"
}

# smp_in_ns NS CMD...: run CMD inside namespace NS.
smp_in_ns() {
	local ns=$1; shift
	ip netns exec "$ns" "$@"
}

# smp_tap_add NS NAME [multi]: create a TAP device inside NS (multi_queue if asked).
smp_tap_add() {
	local mq=""
	[ "${3:-}" = multi ] && mq=multi_queue
	# shellcheck disable=SC2086
	ip -n "$1" tuntap add dev "$2" mode tap $mq || smp_fail "tuntap add $2 in $1"
}

# smp_bg OUTFILE CMD...: run CMD in the background, stdout+stderr to OUTFILE; the pid
# is recorded for cleanup and left in SMP_LAST_PID.
smp_bg() {
	local out=$1; shift
	"$@" >"$out" 2>&1 &
	SMP_LAST_PID=$!
	SMP_PID_LIST="$SMP_PID_LIST $SMP_LAST_PID"
}

# smp_wait_line FILE REGEX TIMEOUT_S: wait until a line of FILE matches REGEX.
smp_wait_line() {
	local file=$1 re=$2 i n=$(( $3 * 10 ))
	for i in $(seq 1 "$n"); do
		grep -Eq -- "$re" "$file" 2>/dev/null && return 0
		sleep 0.1
	done
	smp_log "timed out after $3 s waiting for /$re/ in $file"
	return 1
}

# smp_wait_count FILE REGEX COUNT TIMEOUT_S: wait until COUNT lines of FILE match REGEX.
smp_wait_count() {
	local file=$1 re=$2 want=$3 i n=$(( $4 * 10 ))
	for i in $(seq 1 "$n"); do
		[ "$(grep -Ec -- "$re" "$file" 2>/dev/null)" -ge "$want" ] && return 0
		sleep 0.1
	done
	smp_log "timed out after $4 s waiting for $want lines /$re/ in $file"
	return 1
}

# smp_counter FILE NAME [NTH]: value of counter NAME in the NTH (default: last) counter
# dump of a tap_responder output file.
smp_counter() {
	awk -v name="$2" -v nth="${3:-0}" '
		/^COUNTERS BEGIN/ { dump++ }
		dump > 0 && $1 == name { v[dump] = $2 }
		END { k = nth > 0 ? nth : dump; print (k in v) ? v[k] : "missing" }' "$1"
}

# smp_expect FILE NAME VALUE [NTH]: fail unless the counter has that value.
smp_expect() {
	local got
	got=$(smp_counter "$1" "$2" "${4:-0}")
	[ "$got" = "$3" ] || smp_fail "counter $2 = $got, expected $3"
	smp_log "counter $2 = $got"
}
