#!/bin/bash
# run.sh BUILD_DIR - run every interop test (tests/interop/t_*.sh) and write one line per
# test to BUILD_DIR/interop-results.txt: "PASS name", "FAIL name" or "SKIP name reason".
# Each test runs under a time bound (SMPNET_INTEROP_TIMEOUT seconds, default 90) with its
# log in BUILD_DIR/interop-logs/name.log; after each, any namespace left with the test's
# unique prefix is deleted.  Without root or `ip netns`, every test is skipped.
# Exits non-zero if any test failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd) || exit 2
results="$build/interop-results.txt"
logs="$build/interop-logs"
limit=${SMPNET_INTEROP_TIMEOUT:-90}
mkdir -p "$logs"
: >"$results"

skip_all=""
[ "$(id -u)" = 0 ] || skip_all="not root"
[ -z "$skip_all" ] && ! ip netns list >/dev/null 2>&1 && skip_all="ip netns unavailable"
[ -z "$skip_all" ] && ! command -v timeout >/dev/null && skip_all="no timeout(1)"

# Delete the namespaces a test left behind (only those with its unique prefix).
sweep() {
	local ns
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		case "$ns" in "$1"-*) ip netns del "$ns" 2>/dev/null ;; esac
	done
}

fails=0
for t in "$here"/t_*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .sh)
	if [ -n "$skip_all" ]; then
		echo "SKIP $name $skip_all" | tee -a "$results"
		continue
	fi
	prefix="smpnet-$name-$$"
	SMPNET_NS_PREFIX=$prefix SMPNET_BUILD=$build \
		timeout -k 5 "$limit" bash "$t" "$build" >"$logs/$name.log" 2>&1
	rc=$?
	sweep "$prefix"
	case $rc in
	0)	echo "PASS $name" | tee -a "$results" ;;
	77)	reason=$(sed -n 's/^SKIP: //p' "$logs/$name.log" | tail -1)
		echo "SKIP $name ${reason:-skipped}" | tee -a "$results" ;;
	*)	[ $rc = 124 ] && echo "(timed out after $limit s)" >>"$logs/$name.log"
		echo "FAIL $name" | tee -a "$results"
		sed 's/^/    /' "$logs/$name.log" | tail -40
		fails=$((fails + 1)) ;;
	esac
done
[ "$fails" -eq 0 ]
