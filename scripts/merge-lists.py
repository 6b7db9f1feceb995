#!/usr/bin/env python3
"""Resolve merge conflicts in list-shaped files (meson lists, benches.def) by keeping
both sides: our lines, then their lines that appear nowhere else in the file."""
import re
import sys

for path in sys.argv[1:]:
    text = open(path).read().split("\n")
    plain = set()
    state = None
    for line in text:
        if line.startswith("<<<<<<< "):
            state = "ours"
        elif line == "=======" and state:
            state = "theirs"
        elif line.startswith(">>>>>>> ") and state:
            state = None
        elif state is None:
            plain.add(line)
    out, ours, theirs, state = [], [], [], None
    for line in text:
        if line.startswith("<<<<<<< "):
            state, ours, theirs = "ours", [], []
        elif line == "=======" and state:
            state = "theirs"
        elif line.startswith(">>>>>>> ") and state:
            out += ours + [l for l in theirs
                           if l.strip() and l not in plain and l not in ours]
            state = None
        elif state == "ours":
            ours.append(line)
        elif state == "theirs":
            theirs.append(line)
        else:
            out.append(line)
    open(path, "w").write("\n".join(out))
