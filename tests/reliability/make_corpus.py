#!/usr/bin/env python3
"""Writes the seed corpus of vmh-fuzz: for each layout of fuzz_heap.cpp, with and without runs,
with an unlimited and a tight page budget, 1 KiB of pseudo-random operation bytes. Deterministic:
running it again gives the same files."""
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
