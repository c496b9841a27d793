#!/usr/bin/env python3
"""Writes the embedded Fashion-MNIST subset: the first 10,000 training and the first
2,000 test images of the original distribution, as gzip IDX files (standard library only).

    python3 make_subset.py SOURCE_DIR   # SOURCE_DIR holds the four original .gz files
"""
import gzip
import hashlib
import struct
import sys
from pathlib import Path

COUNTS = {"train": 10_000, "t10k": 2_000}


def read_idx(path):
    data = gzip.open(path, "rb").read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return dims, data[4 + 4 * ndim :]


def write_idx(path, magic_type, dims, body):
    header = bytes([0, 0, magic_type, len(dims)]) + struct.pack(">" + "I" * len(dims), *dims)
    # mtime=0: the same bytes on every run.
    with open(path, "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", mtime=0, compresslevel=9) as g:
        g.write(header + body)


def main():
    src = Path(sys.argv[1])
    out = Path(__file__).resolve().parent
    for split, n in COUNTS.items():
        (_, rows, cols), images = read_idx(src / f"{split}-images-idx3-ubyte.gz")
        (_,), labels = read_idx(src / f"{split}-labels-idx1-ubyte.gz")
        write_idx(out / f"{split}-images-idx3-ubyte.gz", 0x08, (n, rows, cols), images[: n * rows * cols])
        write_idx(out / f"{split}-labels-idx1-ubyte.gz", 0x08, (n,), labels[:n])
        per_class = [labels[:n].count(c) for c in range(10)]
        print(split, n, "per class:", per_class)
    for f in sorted(out.glob("*.gz")):
        print(hashlib.sha256(f.read_bytes()).hexdigest(), f.name)


if __name__ == "__main__":
    main()
