#!/usr/bin/python3
# serve_lossy.py TAPNAME DEV SEED SECONDS - a lossy, reordering Ethernet relay, for
# namespaces whose kernel has no netem qdisc.
#
# Creates the TAP device TAPNAME (Linux's IP stack uses it) and relays every frame
# between it and the existing device DEV (read and written with an AF_PACKET socket,
# frames DEV itself sent skipped).  Each frame, per direction, with a PRNG seeded by SEED
# (so a failure can be replayed): 2% are dropped, 1% duplicated, 25% held back and sent
# after the next frame of that direction (or after 5 ms).  Runs SECONDS at most, or until
# SIGTERM; prints "READY" when relaying and a "RELAY ..." summary at exit.
import fcntl, os, random, select, signal, socket, struct, sys, time

name, dev, seed, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
TUNSETIFF, IFF_TAP, IFF_NO_PI = 0x400454ca, 0x0002, 0x1000
PACKET_OUTGOING = 4
rng = random.Random(seed)
stats = {"frames": 0, "lost": 0, "dup": 0, "held": 0, "errors": 0}

tap = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(tap, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
pk = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
pk.bind((dev, 0))
stop = []
signal.signal(signal.SIGTERM, lambda s, f: stop.append(1))



def send_tap(b):
    os.write(tap, b)


def send_pk(b):
    try:
        pk.send(b)
    except OSError:	# DEV down or gone: the frame is lost like on a wire
        stats["errors"] += 1


send = {"tap": send_tap, "pk": send_pk}
held = {"tap": None, "pk": None}	# frame held back per output, with its deadline


def relay(out, frame):
    stats["frames"] += 1
    r = rng.random()
    if r < 0.02:
        stats["lost"] += 1
        return
    if held[out] is None and r < 0.27:
        stats["held"] += 1
        held[out] = (frame, time.monotonic() + 0.005)
        return
    send[out](frame)
    if r > 0.99:
        stats["dup"] += 1
        send[out](frame)
    if held[out] is not None:
        send[out](held[out][0])
        held[out] = None


def flush(now):
    for out, h in held.items():
        if h is not None and h[1] <= now:
            send[out](h[0])
            held[out] = None


print("READY", flush=True)
end = time.monotonic() + seconds
while not stop and time.monotonic() < end:
    try:
        rd, _, _ = select.select([tap, pk], [], [], 0.002)
    except InterruptedError:
        continue
    if tap in rd:
        relay("pk", os.read(tap, 65536))
    if pk in rd:
        try:
            frame, addr = pk.recvfrom(65536)
        except OSError:	# DEV went away (serve exited): stop relaying
            break
        if addr[2] != PACKET_OUTGOING:
            relay("tap", frame)
    flush(time.monotonic())
print("RELAY seed %d frames %d lost %d dup %d held %d errors %d" % (seed,
      stats["frames"], stats["lost"], stats["dup"], stats["held"], stats["errors"]),
      flush=True)
