#!/usr/bin/env python3
"""Writes the seed corpus of vmh-fuzz: for each bucket layout of fuzz_heap.cpp, with and without
runs, with an unlimited and a tight page budget, 1 KiB of pseudo-random operation bytes; then for
each layout choice with a packed region (the five layouts after a region, random layouts with and
without one, the two fixed presets), with and without runs and refused map calls, a tight budget,
4 KiB of operation bytes. Deterministic: running it again gives the same files."""
import pathlib
import random

LAYOUTS = 5
out = pathlib.Path(__file__).resolve().parent / "corpus"
out.mkdir(exist_ok=True)
rng = random.Random(0x5EED)
for layout in range(LAYOUTS):
    for runs in (0, 1):
        for name, budget in (("unlimited", 0), ("tight", 0x40 + 7 * layout)):
            head = bytes([layout | (0x80 if runs else 0), budget])
            body = bytes(rng.getrandbits(8) for _ in range(1024))
            (out / f"layout{layout}-{'runs' if runs else 'blocks'}-{name}").write_bytes(head + body)

# The first byte: bits 0-3 the layout choice, bit 4 refused map calls, bit 5 the second preset,
# bit 7 runs (fuzz_heap.cpp's header comment).
PACKED = [(f"packed{c}", c) for c in range(5, 10)] + [(f"random{c}", c) for c in range(10, 14)] + \
         [("random-nopacked", 14), ("preset-auto", 15), ("preset-1k", 15 | 0x20)]
for name, choice in PACKED:
    preset = (choice & 0x0F) == 15  # a fixed preset: runs are the preset's own (bit 7 means nothing)
    for runs, inject in ((0, 1), (1, 0)):
        head = bytes([choice | (0x10 if inject else 0) | (0x80 if runs and not preset else 0), 0x40 + rng.getrandbits(7)])
        body = bytes(rng.getrandbits(8) for _ in range(4096))
        suffix = "refused" if preset and inject else "plain" if preset else ("runs" if runs else "blocks") + ("-refused" if inject else "")
        (out / f"{name}-{suffix}").write_bytes(head + body)
