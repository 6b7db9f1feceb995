#!/bin/sh
# run_spin.sh MODEL.pml pass|fail [spin -D options...]
# Generates the verifier with `spin -a`, compiles pan with cc, runs an exhaustive safety
# search (assertions, invalid end states) and checks "errors: N": N must be 0 for
# "pass" and > 0 for "fail" (a variant that must be caught), and the search must have
# been complete (no depth truncation).
set -eu
model=$(realpath "$1")
expect=$2
shift 2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
spin -a "$@" "$model" >spin.out 2>&1 || { cat spin.out; exit 1; }
cc -O2 -DSAFETY -DCOLLAPSE -DMEMLIM=1024 -o pan pan.c 2>cc.out || { cat cc.out; exit 1; }
./pan -m20000 >pan.out 2>&1 || true
cat pan.out
errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' pan.out | head -n 1)
[ -n "$errors" ] || { echo "run_spin: no error count in pan output"; exit 1; }
if [ "$expect" = pass ]; then
	if grep -q 'max search depth too small' pan.out; then
		echo "run_spin: search truncated"; exit 1
	fi
	[ "$errors" -eq 0 ] || { echo "run_spin: $errors error(s) in $model $*"; exit 1; }
else
	[ "$errors" -gt 0 ] || { echo "run_spin: expected an error in $model $*, found none"; exit 1; }
	echo "run_spin: the variant fails as it must ($errors error(s))"
	[ -f ./*.trail ] && ./pan -r 2>/dev/null | tail -n 20 || true
fi
