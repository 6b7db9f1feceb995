#!/usr/bin/python3
"""Write the seed corpus of fuzz_wire (valid frames of every format) with scapy.

Run from anywhere: /usr/bin/python3 tests/fuzz/gen_corpus.py; the frames are committed,
so this is needed only to change them.  Addresses are documentation ones.
"""
import os

from scapy.all import (ARP, Dot1Q, Ether, ICMP, IP, IPOption_Router_Alert, IPv6, Raw,
                       UDP, raw)
from scapy.contrib.igmp import IGMP
from scapy.contrib.igmpv3 import IGMPv3, IGMPv3gr, IGMPv3mq, IGMPv3mr

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "wire")
A, B, C = "192.0.2.1", "192.0.2.2", "198.51.100.7"
M1, M2 = "02:00:00:00:00:01", "02:00:00:00:00:02"
E = Ether(dst=M2, src=M1)
inner = IP(src=B, dst=C, flags="DF") / UDP(sport=40000, dport=33434) / Raw(b"x" * 32)

frames = {
    "arp_request": Ether(dst="ff:ff:ff:ff:ff:ff", src=M1) / ARP(op=1, hwsrc=M1, psrc=A, pdst=B),
    "arp_reply": E / ARP(op=2, hwsrc=M1, psrc=A, hwdst=M2, pdst=B),
    "icmp_echo": E / IP(src=A, dst=B) / ICMP(type=8, id=1, seq=1) / Raw(b"abcdefgh" * 7),
    "icmp_echoreply": E / IP(src=B, dst=A) / ICMP(type=0, id=1, seq=1) / Raw(b"abcd"),
    "icmp_needfrag": E / IP(src=C, dst=B) / ICMP(type=3, code=4, nexthopmtu=1400) / raw(inner)[:28],
    "icmp_timxceed": E / IP(src=C, dst=B) / ICMP(type=11, code=0) / raw(inner),
    "icmp_portunreach_opts": E / IP(src=C, dst=B) / ICMP(type=3, code=3) /
        raw(IP(src=B, dst=C, options=[IPOption_Router_Alert()]) / UDP(sport=1, dport=2))[:32],
    "igmp_v2_report": E / IP(src=A, dst="224.0.1.22", ttl=1, options=[IPOption_Router_Alert()]) /
        IGMP(type=0x16, gaddr="224.0.1.22"),
    "igmp_v2_query": E / IP(src=A, dst="224.0.0.1", ttl=1) / IGMP(type=0x11, mrcode=100),
    "igmp_v3_query": E / IP(src=A, dst="224.0.0.1", ttl=1, options=[IPOption_Router_Alert()]) /
        IGMPv3(type=0x11, mrcode=20) / IGMPv3mq(gaddr="224.0.1.22", srcaddrs=[B, C], qrv=2, qqic=125),
    "igmp_v3_report": E / IP(src=A, dst="224.0.0.22", ttl=1, options=[IPOption_Router_Alert()]) /
        IGMPv3(type=0x22) / IGMPv3mr(records=[
            IGMPv3gr(rtype=1, maddr="224.0.1.22", srcaddrs=[B, C]),
            IGMPv3gr(rtype=4, maddr="224.0.1.23")]),
    "udp": E / IP(src=A, dst=B) / UDP(sport=5353, dport=7) / Raw(b"hello"),
    "udp_vlan": Ether(dst=M2, src=M1) / Dot1Q(vlan=10, prio=5) / IP(src=A, dst=B) /
        UDP(sport=1, dport=2) / Raw(b"tagged"),
    "ip_fragment": E / IP(src=A, dst=B, proto=17, flags="MF", frag=185, id=7) / Raw(b"f" * 24),
    "ipv6": E / IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=1, dport=2),
    # Shorter than the 60-byte minimum before padding: the IP length excludes the pad.
    "ip_padded": raw(E / IP(src=A, dst=B) / UDP(sport=9, dport=9)) + b"\0" * 18,
}

os.makedirs(OUT, exist_ok=True)
for name, pkt in frames.items():
    with open(os.path.join(OUT, name + ".bin"), "wb") as f:
        f.write(pkt if isinstance(pkt, bytes) else raw(pkt))
print(f"{len(frames)} frames in {OUT}")
