#!/usr/bin/python3
# serve_malformed.py DEV SRC_MAC DST_MAC - send malformed frames (3 of each kind) to
# smpnet from Linux's side of a TAP device, with scapy.  Kinds, in order:
#   tooshort   IPv4 ethertype, 10 bytes of header
#   badvers    version 6 in an IPv4 frame
#   badhlen    IHL 3 (12 bytes)
#   badsum     wrong IPv4 header checksum
#   biglen     total length 1000 in a 48-byte datagram
#   smalllen   total length 12, below the 20-byte header
#   icmpsum    echo request with a wrong ICMP checksum
#   arpshort   ARP ethertype, 10 bytes
#   overlap    a datagram whose second fragment overlaps the first with other bytes
#   endless    one datagram id: 100 fragments of 8 bytes with MF, never completed,
#              then a fragment ending beyond 65535 bytes
#   incomplete 3 first fragments whose rest never comes (the reassembly timer drops them)
# Prints "SENT kind count" for each kind.
import sys
from scapy.all import Ether, IP, ICMP, ARP, Raw, sendp, conf

conf.verb = 0
dev, src, dst = sys.argv[1:4]
SRC_IP, DST_IP = "192.0.2.1", "192.0.2.2"


def eth(t=0x0800):
    return Ether(src=src, dst=dst, type=t)


def ip_bytes(**kw):
    p = IP(src=SRC_IP, dst=DST_IP, **kw) / ICMP(id=7, seq=1) / Raw(b"x" * 20)
    return bytes(p)


def fix_sum(b):
    b = bytearray(b)
    b[10:12] = b"\0\0"
    s = sum(int.from_bytes(b[i:i + 2], "big") for i in range(0, 20, 2))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    b[10:12] = (~s & 0xffff).to_bytes(2, "big")
    return bytes(b)


def frames():
    out = {}
    out["tooshort"] = [eth() / Raw(ip_bytes()[:10])]
    b = bytearray(ip_bytes()); b[0] = 0x65
    out["badvers"] = [eth() / Raw(fix_sum(b))]
    b = bytearray(ip_bytes()); b[0] = 0x43
    out["badhlen"] = [eth() / Raw(bytes(b))]
    b = bytearray(ip_bytes()); b[10] ^= 0x5a
    out["badsum"] = [eth() / Raw(bytes(b))]
    b = bytearray(ip_bytes()); b[2:4] = (1000).to_bytes(2, "big")
    out["biglen"] = [eth() / Raw(fix_sum(b))]
    b = bytearray(ip_bytes()); b[2:4] = (12).to_bytes(2, "big")
    out["smalllen"] = [eth() / Raw(fix_sum(b))]
    out["icmpsum"] = [eth() / IP(src=SRC_IP, dst=DST_IP) / ICMP(id=7, seq=2, chksum=0x1234) / Raw(b"y" * 20)]
    out["arpshort"] = [eth(0x0806) / Raw(bytes(ARP(psrc=SRC_IP, pdst=DST_IP))[:10])]
    ov = []
    for k in range(3):
        i = 0x4000 + k
        ov.append(eth() / IP(src=SRC_IP, dst=DST_IP, id=i, proto=1, flags="MF", frag=0) / Raw(b"A" * 32))
        ov.append(eth() / IP(src=SRC_IP, dst=DST_IP, id=i, proto=1, flags="MF", frag=2) / Raw(b"B" * 32))
        ov.append(eth() / IP(src=SRC_IP, dst=DST_IP, id=i, proto=1, frag=6) / Raw(b"C" * 8))
    out["overlap"] = ov
    en = []
    for k in range(3):
        i = 0x5000 + k
        for f in range(1, 101):
            en.append(eth() / IP(src=SRC_IP, dst=DST_IP, id=i, proto=17, flags="MF", frag=f) / Raw(b"E" * 8))
        en.append(eth() / IP(src=SRC_IP, dst=DST_IP, id=i + 16, proto=17, frag=8190) / Raw(b"F" * 64))
    out["endless"] = en
    out["incomplete"] = [eth() / IP(src=SRC_IP, dst=DST_IP, id=0x6000 + k, proto=1, flags="MF") / Raw(b"I" * 64) for k in range(3)]
    return out


for kind, fl in frames().items():
    n = 0
    for rep in range(3 if kind not in ("overlap", "endless", "incomplete") else 1):
        sendp(fl, iface=dev)
        n += len(fl)
    print("SENT", kind, n, flush=True)
