#!/usr/bin/python3
# serve_udp.py - the Linux side of the UDP echo interop tests (run inside a namespace).
#
#   serve_udp.py echo ADDR COUNT MINSZ MAXSZ WINDOW SEED SECONDS
#   serve_udp.py mcast GROUP LOCAL_ADDR ECHO_ADDR COUNT SEED SECONDS
#
# echo: sends COUNT datagrams to ADDR port 7 from one connected socket, sizes drawn from
# MINSZ..MAXSZ by a PRNG seeded with SEED (printed, so a failure can be replayed), at most
# WINDOW unanswered at a time.  Each payload starts with its 4-byte sequence number and
# continues with bytes from a seeded random block; every echo must equal its datagram
# byte for byte.  When nothing arrives for 0.5 s the unanswered datagrams are sent again
# (each at most 3 times); the run ends after SECONDS at most.
#
# mcast: sends COUNT datagrams to GROUP port 7 out of the interface with LOCAL_ADDR
# (IP_MULTICAST_IF, TTL 1), one at a time, and expects each echoed byte for byte from
# ECHO_ADDR port 7 (up to 3 tries each, 1 s apart).
#
# Prints one "RESULT sent=N echoed=N resent=N bad=N lost=N" line; exits 0 only when
# every datagram was echoed intact (resends are reported; the caller judges them).
import random, select, socket, struct, sys, time

PORT = 7
TRIES = 3


def payload(block, seq, size):
    off = (seq * 7919) % (len(block) - size)
    return struct.pack("!I", seq) + block[off:off + size - 4]


class Run:
    def __init__(self, sock, deadline):
        self.sock, self.deadline = sock, deadline
        self.sent = self.echoed = self.resent = self.bad = 0
        self.want, self.tries = {}, {}

    def send(self, seq, data, dest=None):
        if dest is None:
            self.sock.send(data)
        else:
            self.sock.sendto(data, dest)
        self.want[seq] = data
        self.tries[seq] = self.tries.get(seq, 0) + 1

    def take(self, data):
        if len(data) < 4:
            self.bad += 1
            return
        seq = struct.unpack("!I", data[:4])[0]
        exp = self.want.pop(seq, None)
        if exp is None:
            return			# an echo of a resend already answered
        if exp != data:
            self.bad += 1
            print(f"MISMATCH seq={seq} len={len(data)} expected {len(exp)}")
        self.echoed += 1

    def wait(self, timeout, src=None):
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return False
        while True:
            try:
                data, frm = self.sock.recvfrom(70000, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return True
            if src is None or frm[0] == src:
                self.take(data)

    def report(self, total):
        lost = total - self.echoed
        print(f"RESULT sent={self.sent} echoed={self.echoed} resent={self.resent} "
              f"bad={self.bad} lost={lost}", flush=True)
        return 0 if self.bad == 0 and lost == 0 else 1


def resend(run, dest):
    """Send again what is unanswered; False when some datagram used up its tries."""
    for seq, data in list(run.want.items()):
        if run.tries[seq] >= TRIES:
            return False
        run.send(seq, data, dest)
        run.resent += 1
    return True


def echo(addr, count, minsz, maxsz, window, seed, seconds):
    rng = random.Random(seed)
    block = rng.randbytes(maxsz * 2 + 4096)
    sizes = [rng.randint(minsz, maxsz) for _ in range(count)]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    s.connect((addr, PORT))
    run = Run(s, time.monotonic() + seconds)
    nxt = 0
    while (nxt < count or run.want) and time.monotonic() < run.deadline:
        while nxt < count and len(run.want) < window:
            run.send(nxt, payload(block, nxt, sizes[nxt]))
            run.sent += 1
            nxt += 1
        if not run.wait(0.5) and not resend(run, None):
            break
    return run.report(count)


def mcast(group, local, echo_addr, count, seed, seconds):
    rng = random.Random(seed)
    block = rng.randbytes(8192)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((local, 0))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(local))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    run = Run(s, time.monotonic() + seconds)
    for seq in range(count):
        data = payload(block, seq, rng.randint(8, 1400))
        run.send(seq, data, (group, PORT))
        run.sent += 1
        while seq in run.want and time.monotonic() < run.deadline:
            if not run.wait(1.0, echo_addr) and not resend(run, (group, PORT)):
                break
    return run.report(count)


def main(argv):
    print(f"serve_udp.py {' '.join(argv[1:])}", flush=True)
    if argv[1] == "echo":
        a = argv[2:]
        return echo(a[0], int(a[1]), int(a[2]), int(a[3]), int(a[4]), int(a[5]),
                    float(a[6]))
    if argv[1] == "mcast":
        a = argv[2:]
        return mcast(a[0], a[1], a[2], int(a[3]), int(a[4]), float(a[5]))
    print("usage: serve_udp.py echo|mcast ...", file=sys.stderr)
    return 2


sys.exit(main(sys.argv))
