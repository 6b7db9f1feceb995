#!/usr/bin/env python3
"""Sum the results of every Meson test log and of the interop run into one closing line."""
import json
import os
import sys

passed = failed = skipped = 0
for d in sys.argv[1:]:
    log = os.path.join(d, "meson-logs", "testlog.json")
    if not os.path.exists(log):
        continue
    with open(log) as f:
        for line in f:
            r = json.loads(line).get("result", "")
            if r in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r == "SKIP":
                skipped += 1
            else:
                failed += 1
interop = os.path.join("build", "interop-results.txt")
if os.path.exists(interop):
    with open(interop) as f:
        for line in f:
            word = line.split()[:1]
            if word == ["PASS"]:
                passed += 1
            elif word == ["SKIP"]:
                skipped += 1
            elif word:
                failed += 1
print(f"make test: {passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or passed == 0 else 0)
