#!/bin/sh
# Build smpnet in every configuration the tests need and run every test suite:
#   build/       unit, stress, model (spin) and sim suites
#   build-release/  compiled only (-O3, NDEBUG: what `make demo` and `make bench` run)
#   build-asan/  unit and stress suites under AddressSanitizer + UndefinedBehaviorSanitizer
#   build-tsan/  stress suite under ThreadSanitizer
#   build-fuzz/  each libFuzzer target for a short bounded run (clang)
#   interop      Linux peers in private network namespaces (root only)
# Prints one closing line "make test: N passed, M failed" and fails if any test failed.
set -u
cd "$(dirname "$0")/.."

fails=0
setup() { # dir, meson options...
	d=$1; shift
	[ -f "$d/build.ninja" ] || meson setup "$d" "$@" || return 1
	ninja -C "$d"
}
suite() { # dir, suites...
	d=$1; shift
	args=""
	for s in "$@"; do args="$args --suite $s"; done
	# shellcheck disable=SC2086
	meson test -C "$d" --print-errorlogs --num-processes 2 $args || fails=$((fails + 1))
}

setup build || exit 1
suite build unit stress model sim
setup build-release -Dbuildtype=release -Db_ndebug=true || fails=$((fails + 1))

if [ "${SMPNET_TEST_QUICK:-0}" != 1 ]; then
	setup build-asan -Db_sanitize=address,undefined -Db_lundef=false || exit 1
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		suite build-asan unit stress

	setup build-tsan -Db_sanitize=thread || exit 1
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp" \
		suite build-tsan stress

	CC=clang setup build-fuzz -Dfuzz=true -Db_lundef=false || exit 1
	suite build-fuzz fuzz
fi

if [ -x tests/interop/run.sh ]; then
	tests/interop/run.sh build || fails=$((fails + 1))
fi

python3 scripts/summary.py build build-asan build-tsan build-fuzz
st=$?
[ $fails -eq 0 ] && [ $st -eq 0 ]
