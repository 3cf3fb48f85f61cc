#!/usr/bin/env python3
"""Writes the seed corpus of tests/fuzz/corpus/ (committed; rerun only to
regenerate it). Deterministic: the same files every time.

Each file is a program for the interpreter in ops.c: an opcode byte and its
arguments per operation (the table at the top of ops.c). The structured
seeds each lean on one area (small churn, large blocks, alignment, realloc
chains, calloc, impossible sizes, free_sized); the rest are random bytes,
which are valid programs too.

    python3 tests/fuzz/make_corpus.py [corpus-dir]
"""
import os
import random
import sys

MALLOC, CALLOC, CALLOC_OVERFLOW, REALLOC, ALIGNED, FREE, FREE_SIZED, REALLOC_ZERO, IMPOSSIBLE, CHECK = (
    0, 2, 3, 4, 6, 7, 8, 9, 10, 11)
MISUSE_LIVE, MISUSE_FREED = 12, 13


def size_bytes(size):
    """The size(4) encoding: magnitude byte, then the value's three bytes."""
    assert 0 <= size < (1 << 20)
    bits = max(size.bit_length(), 1)
    magnitude = bits if bits < 14 else 0xE0 + bits - 14
    return bytes([magnitude, size & 0xFF, (size >> 8) & 0xFF, (size >> 16) & 0xFF])


def op(code, *args):
    out = bytearray([code])
    for arg in args:
        out += arg if isinstance(arg, (bytes, bytearray)) else bytes([arg])
    return bytes(out)


def small_churn(rng):
    out = b""
    for _ in range(120):
        slot = rng.randrange(64)
        if rng.random() < 0.6:
            out += op(MALLOC, slot, size_bytes(rng.randrange(0, 1100)))
        else:
            out += op(FREE, slot)
    return out + op(CHECK)


def large_blocks(rng):
    out = b""
    for _ in range(30):
        slot = rng.randrange(8)
        out += op(MALLOC, slot, size_bytes(rng.randrange(60000, 1 << 20)))
        if rng.random() < 0.4:
            out += op(FREE, rng.randrange(8))
    return out + op(CHECK)


def alignment(rng):
    out = b""
    for _ in range(60):
        out += op(ALIGNED, rng.randrange(32), rng.randrange(21), size_bytes(rng.randrange(0, 5000)))
        if rng.random() < 0.3:
            out += op(FREE, rng.randrange(32))
    out += op(ALIGNED, 1, 0xF3, size_bytes(64))    # alignment 12: refused
    return out + op(CHECK)


def realloc_chains(rng):
    out = b""
    for _ in range(80):
        slot = rng.randrange(6)
        size = int(2 ** rng.uniform(0, 19))
        out += op(REALLOC, slot, size_bytes(size))
        if rng.random() < 0.1:
            out += op(REALLOC_ZERO, slot)
    return out + op(CHECK)


def calloc_reuse(rng):
    out = b""
    for _ in range(50):
        slot = rng.randrange(16)
        out += op(MALLOC, slot, size_bytes(rng.randrange(0, 20000)))
        out += op(FREE, slot)
        out += op(CALLOC, slot, rng.randrange(17), size_bytes(rng.randrange(0, 1 << 16)))
    return out + op(CHECK)


def impossible(rng):
    out = op(MALLOC, 3, size_bytes(500))
    for kind in range(5):
        out += op(CALLOC_OVERFLOW, kind)
    for _ in range(30):
        out += op(IMPOSSIBLE, rng.randrange(3), rng.randrange(256))
    out += op(IMPOSSIBLE, 2, 3)   # realloc of slot 3 to an impossible size
    return out + op(CHECK)


def free_sized(rng):
    out = b""
    for _ in range(60):
        slot = rng.randrange(24)
        out += op(MALLOC, slot, size_bytes(int(2 ** rng.uniform(0, 17))))
        if rng.random() < 0.5:
            out += op(FREE_SIZED, rng.randrange(24))
    return out + op(CHECK)


def misuse(rng):
    """Every misuse op on small, large and aligned blocks, between allocations."""
    out = b""
    for _ in range(60):
        slot = rng.randrange(16)
        if rng.random() < 0.5:
            out += op(MALLOC, slot, size_bytes(int(2 ** rng.uniform(0, 18))))
        else:
            out += op(ALIGNED, slot, rng.randrange(12), size_bytes(rng.randrange(0, 9000)))
        if rng.random() < 0.5:
            out += op(MISUSE_LIVE, rng.randrange(16), rng.randrange(6), rng.randrange(256))
        else:
            out += op(MISUSE_FREED, rng.randrange(20), rng.randrange(4))
    return out + op(CHECK)


def everything(rng):
    makers = [small_churn, large_blocks, alignment, realloc_chains, calloc_reuse, impossible,
              free_sized]
    return b"".join(rng.choice(makers)(rng)[:200] for _ in range(6)) + op(CHECK)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    target = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus")
    os.makedirs(target, exist_ok=True)
    structured = [small_churn, large_blocks, alignment, realloc_chains, calloc_reuse, impossible,
                  free_sized, everything]
    files = {}
    for index, maker in enumerate(structured):
        files[f"seed-{index:02d}-{maker.__name__.replace('_', '-')}"] = maker(random.Random(index))
    for index in range(len(structured), 20):
        rng = random.Random(1000 + index)
        files[f"seed-{index:02d}-random"] = bytes(rng.randrange(256)
                                                  for _ in range(rng.randrange(32, 600)))
    # Seeds added later are numbered after the random ones, so earlier files
    # keep their bytes.
    for index, maker in enumerate([misuse], start=20):
        files[f"seed-{index:02d}-{maker.__name__.replace('_', '-')}"] = maker(random.Random(index))
    for name, data in files.items():
        with open(os.path.join(target, name), "wb") as out:
            out.write(data)
    print(f"wrote {len(files)} seeds to {target}")


if __name__ == "__main__":
    main()
