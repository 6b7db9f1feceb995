#!/bin/sh
# Install the Debian packages smpnet needs to build, test and benchmark, if any is missing.
# Runs as root on a Debian 12 machine; does nothing when everything is present.
set -eu

BUILD_PKGS="meson ninja-build pkg-config gcc clang liburcu-dev libcmocka-dev"
TEST_PKGS="libclang-rt-14-dev spin iproute2 iputils-ping python3 python3-scapy socat
	netcat-openbsd curl tshark"
PEER_PKGS="libck-dev dpdk-dev liblwip-dev"

want="$BUILD_PKGS"
case "${1:-build}" in
build)	;;
test)	want="$want $TEST_PKGS $PEER_PKGS" ;;
bench)	want="$want $PEER_PKGS" ;;
*)	echo "usage: $0 [build|test|bench]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "smpnet: missing Debian packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "smpnet: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; the default (no) is what tests want.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
