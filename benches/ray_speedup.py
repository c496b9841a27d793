#!/usr/bin/env python3
"""Speed-up of effpath.distributed.profile with 2 Ray workers over 1, on this machine.

Each configuration runs in its own process (a fresh local Ray cluster of `--cpus` CPUs, one
single-threaded profiler per task), profiling the same IDX data with the same shipped model;
the class-path bytes of every run are checked equal to each other and to one single-process
`effpath profile` run (`--cli`, timed too, with rayon's default thread count). Prints a table
and writes JSON (`--json`).

    python benches/ray_speedup.py --cli target/release/effpath --json ray.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "crates", "effpath-data", "data")


def child(args: argparse.Namespace) -> None:
    import ray

    import effpath
    from effpath import distributed

    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    net = effpath.shipped(args.model)
    data = distributed.IdxDataset(args.images, args.labels)
    # Warm-up: starts the workers, so the timing is profiling, not Ray's start-up.
    distributed.profile(net, distributed.ArrayDataset(*data.batch(net, 0, 4)), shards=args.cpus)
    start = time.perf_counter()
    cp = distributed.profile(net, data, shards=args.shards, batch_size=128)
    seconds = time.perf_counter() - start
    ray.shutdown()
    digest = hashlib.sha256(cp.to_bytes()).hexdigest()
    print(json.dumps({"cpus": args.cpus, "seconds": seconds, "sha256": digest}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="resnet-small-fashion")
    p.add_argument("--images", default=os.path.join(DATA, "fashion-mnist", "train-images-idx3-ubyte.gz"))
    p.add_argument("--labels", default=os.path.join(DATA, "fashion-mnist", "train-labels-idx1-ubyte.gz"))
    p.add_argument("--shards", type=int, default=8)
    p.add_argument("--cli", help="the effpath binary, for the single-process reference")
    p.add_argument("--json")
    p.add_argument("--cpus", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.cpus:
        child(args)
        return
    runs = []
    for cpus in (1, 2):
        out = subprocess.run(
            [sys.executable, __file__, "--cpus", str(cpus), "--model", args.model,
             "--images", args.images, "--labels", args.labels, "--shards", str(args.shards)],
            check=True, capture_output=True, text=True,
        ).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    result = {"model": args.model, "images": args.images, "shards": args.shards, "ray": runs}
    if args.cli:
        with tempfile.TemporaryDirectory() as tmp:
            file = os.path.join(tmp, "cp.bin")
            start = time.perf_counter()
            subprocess.run([args.cli, "profile", args.model, "--images", args.images, "--labels",
                            args.labels, "-q", "--no-checkpoint", "--out", file],
                           check=True, capture_output=True)
            seconds = time.perf_counter() - start
            with open(file, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
        result["cli"] = {"seconds": seconds, "sha256": digest}
    digests = {r["sha256"] for r in runs} | ({result["cli"]["sha256"]} if "cli" in result else set())
    result["identical"] = len(digests) == 1
    result["speedup_2_over_1"] = runs[0]["seconds"] / runs[1]["seconds"]
    for r in runs:
        print(f"ray, {r['cpus']} worker(s) x 1 thread: {r['seconds']:.1f} s")
    if "cli" in result:
        print(f"effpath profile, one process, {os.cpu_count()} threads: {result['cli']['seconds']:.1f} s")
    print(f"speed-up of 2 workers over 1: {result['speedup_2_over_1']:.2f}x; "
          f"class paths identical: {result['identical']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
