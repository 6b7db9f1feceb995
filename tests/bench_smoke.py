#!/usr/bin/env python3
"""Run every benchmark briefly (`smpnet bench all --quick --json`) and check the output's
shape, not its speed: one JSON object per line with bench, case, impl, metric, value;
every benchmark in `smpnet bench list` reports; giant mode appears beside normal mode
where the benchmark has it; correctness metrics (route mismatches) are zero."""
import json
import subprocess
import sys

exe = sys.argv[1]
names = [l.split()[0] for l in subprocess.run([exe, "bench", "list"], check=True,
         capture_output=True, text=True).stdout.splitlines() if l.strip()]
out = subprocess.run([exe, "bench", "all", "--quick", "--json"], capture_output=True,
                     text=True, timeout=600)
if out.returncode != 0:
    sys.exit(f"smpnet bench all failed ({out.returncode}): {out.stderr[-2000:]}")
seen, impls, bad = set(), {}, []
for line in out.stdout.splitlines():
    r = json.loads(line)
    for key in ("bench", "case", "impl", "metric", "value"):
        if key not in r:
            sys.exit(f"missing {key}: {line}")
    if not isinstance(r["value"], (int, float)):
        sys.exit(f"value is not a number: {line}")
    seen.add(r["bench"])
    impls.setdefault(r["bench"], set()).add(r["impl"])
    if r["metric"] == "mismatches" and r["value"] != 0:
        bad.append(line)
missing = set(names) - seen
if missing:
    sys.exit(f"benchmarks that reported nothing: {sorted(missing)}")
for b in ("kern", "net", "inet", "udp", "forward", "ping"):
    if b in impls and not {"smpnet", "smpnet-giant"} <= impls[b]:
        sys.exit(f"{b}: normal and giant mode not both reported: {sorted(impls[b])}")
if bad:
    sys.exit("mismatches against the reference:\n" + "\n".join(bad))
print(f"1 passed, 0 failed: {len(out.stdout.splitlines())} figures from {len(seen)} benchmarks")
