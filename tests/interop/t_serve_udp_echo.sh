#!/bin/bash
# t_serve_udp_echo.sh BUILD_DIR - Linux exchanges UDP datagrams with `smpnet serve
# --udp-echo` (port 7) over a 2-queue TAP device.
#
# In a private namespace serve creates smptap0 (192.0.2.2/24, 2 CPUs, 2 queues); Linux's
# side is 192.0.2.1/24.  A Python socket (serve_udp.py, seed printed) then:
#   1. sends 10,000 datagrams of 8..1472 bytes (no fragment), at most 32 in flight, and
#      checks every echo byte for byte: none may be lost (no resend either);
#   2. sends 40 datagrams of 60,000 bytes, at most 2 in flight, checked byte for byte:
#      fragmented by Linux (smpnet reassembles) and by smpnet (Linux reassembles);
#      none may be lost after at most 3 tries each.
# Then: serve's udp.echo.rx/tx count every datagram, udp.echo.drops is 0, serve's
# ip.reassembled and ip.fragmented are at least 40 each, Linux's ReasmOKs and
# FragCreates (/proc/net/snmp of the namespace) grew by at least 40 each, and serve stops
# on SIGTERM with exit 0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
build=${1:?usage: t_serve_udp_echo.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
seed=${SMPNET_SEED:-6006}

smp_require_netns
[ -x "$SMPNET" ] || smp_skip "smpnet not built"
[ -x "$py" ] || smp_skip "no $py"

# snmp NS FIELD: an "Ip:" counter of the namespace's /proc/net/snmp.
snmp() {
	smp_in_ns "$1" awk -v f="$2" '
		$1 == "Ip:" && !n { for (i = 2; i <= NF; i++) h[i] = $i; n = 1; next }
		$1 == "Ip:" { for (i = 2; i <= NF; i++) if (h[i] == f) print $i }' /proc/net/snmp
}

smp_netns_new ns a
out="$SMP_TMP/serve.out"
serve_start "$ns" "$out" --cpus 2 --queues 2 --udp-echo --tap smptap0=192.0.2.2/24
smp_in_ns "$ns" ip addr add 192.0.2.1/24 dev smptap0
smp_in_ns "$ns" ip link set smptap0 up
reasm0=$(snmp "$ns" ReasmOKs)
frag0=$(snmp "$ns" FragCreates)
smp_log "seed $seed"

# 1. 10,000 small datagrams
r=$(smp_in_ns "$ns" timeout 40 "$py" "$here/serve_udp.py" echo 192.0.2.2 10000 8 1472 32 \
	"$seed" 30) || { echo "$r"; smp_fail "small datagrams: not all echoed intact"; }
echo "$r"
echo "$r" | grep -q "^RESULT sent=10000 echoed=10000 resent=0 bad=0 lost=0" ||
	smp_fail "small datagrams: resends or loss"

# 2. 60,000-byte datagrams, fragmented both ways
r=$(smp_in_ns "$ns" timeout 40 "$py" "$here/serve_udp.py" echo 192.0.2.2 40 60000 60000 2 \
	"$seed" 25) || { echo "$r"; smp_fail "60 KB datagrams: not all echoed intact"; }
echo "$r"

# 3. counters on both sides
serve_dump "$out" 1
rx=$(smp_counter "$out" udp.echo.rx 1)
tx=$(smp_counter "$out" udp.echo.tx 1)
smp_log "udp.echo.rx $rx udp.echo.tx $tx"
big=$(echo "$r" | sed -n 's/.* sent=\([0-9]*\) .*resent=\([0-9]*\) .*/\1 \2/p')
sent=$((10000 + ${big% *} + ${big#* }))
[ "$rx" = "$sent" ] || smp_fail "udp.echo.rx $rx, Linux sent $sent"
[ "$tx" = "$rx" ] || smp_fail "udp.echo.tx $tx != udp.echo.rx $rx"
smp_expect "$out" udp.echo.drops 0 1
reasm=$(smp_counter "$out" ip.reassembled 1)
frag=$(smp_counter "$out" ip.fragmented 1)
lreasm=$(( $(snmp "$ns" ReasmOKs) - reasm0 ))
lfrag=$(( $(snmp "$ns" FragCreates) - frag0 ))
smp_log "smpnet: ip.reassembled $reasm ip.fragmented $frag;" \
	"Linux: ReasmOKs +$lreasm FragCreates +$lfrag"
[ "$reasm" -ge 40 ] || smp_fail "smpnet reassembled only $reasm datagrams"
[ "$frag" -ge 40 ] || smp_fail "smpnet fragmented only $frag datagrams"
[ "$lreasm" -ge 40 ] || smp_fail "Linux reassembled only $lreasm datagrams"
[ "$lfrag" -ge 1600 ] || smp_fail "Linux made only $lfrag fragments"

# 4. clean stop
serve_stop "$out"
exit 0
