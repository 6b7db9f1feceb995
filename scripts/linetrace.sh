#!/bin/sh
# linetrace.sh - which code sites hand cache lines from one thread to another.
#
#   scripts/linetrace.sh SMPNET-ARGS...
#   e.g. scripts/linetrace.sh bench udp --case echo-2cpu --repeat 1 --seconds 2
#
# Builds build-linetrace/ (clang, ThreadSanitizer instrumentation, linked with the model
# in tools/linetrace/linetrace_rt.c instead of the TSan runtime), runs smpnet with the
# arguments, and prints the sites with the most hand-offs counted between
# LINETRACE_START and LINETRACE_START + LINETRACE_SECONDS (defaults 1 and 1): writes,
# reads, then the function and source line (inlined frames after it).  A development
# tool for hosts without `perf c2c`; see the model's limits in linetrace_rt.c.
set -eu
cd "$(dirname "$0")/.."
B=build-linetrace
CARGS="-g -fsanitize=thread -DSMPNET_LINETRACE -mllvm -tsan-instrument-func-entry-exit=false"
mkdir -p "$B"
clang -O2 -g -mcx16 -c tools/linetrace/linetrace_rt.c -o "$B/linetrace_rt.o"
if [ ! -f "$B/build.ninja" ]; then
	CC=clang meson setup "$B" -Dbuildtype=release -Db_ndebug=true -Dwerror=false \
	    -Dc_args="$CARGS" \
	    -Dc_link_args="-fno-sanitize-link-runtime $PWD/$B/linetrace_rt.o" >/dev/null
fi
rm -f "$B/smpnet"	# relink with the model
ninja -C "$B" smpnet >/dev/null
LINETRACE_OUT="$B/linetrace.txt" "./$B/smpnet" "$@"
echo "linetrace: writes reads site (hand-offs between threads)"
sort -k2,2nr -k3,3nr "$B/linetrace.txt" | head -n "${LINETRACE_TOP:-25}" |
while read -r off w r obj; do
	printf '%10s %10s  %s\n' "$w" "$r" \
	    "$(addr2line -f -i -s -e "$obj" "$off" 2>/dev/null | paste -sd' ' -)"
done
