#!/usr/bin/env python3
"""Side-by-side forward-pass timing: effpath vs onnxruntime on the same ONNX files.

A benchmark, not a test (CI never runs it). Run from the repository root:

    cargo build --release -p effpath-benches --example forward_time
    /work/venv/py/bin/python benches/ort_compare.py            # all models, batch 1 and 64

Options: ``--models mnist,alexnet,resnet18,resnet50,vgg11`` (default: all),
``--batches 1,64``, ``--iters N`` (timed runs per measurement, default 10; 5 for the
heaviest models at batch 64), ``--threads 2`` (onnxruntime ``intra_op_num_threads`` and
effpath's ``RAYON_NUM_THREADS``), ``--skip-b64 vgg11,resnet50`` to skip slow cases,
``--no-build`` to skip the cargo build.

Needs a Python with onnxruntime, onnx, numpy, torch and torchvision (``/work/venv/py``).
Models (random weights, eval mode) are exported once with
``torch.onnx.export(model, (x,), path, dynamo=False, opset_version=17)`` into
``benches/models/`` (gitignored), together with the input batches:

* ``mnist``: the PyTorch-examples MNIST CNN (conv 1→32 3×3, relu, conv 32→64 3×3, relu,
  maxpool 2, dropout, fc 9216→128, relu, dropout, fc 128→10);
* ``alexnet``, ``resnet18``, ``resnet50``, ``vgg11``: torchvision, 3×224×224.

onnxruntime runs with ``intra_op_num_threads=threads``, ``inter_op_num_threads=1``,
sequential execution and all graph optimisations. effpath runs the example binary
``forward_time`` (median of ``Network::forward`` and of ``Network::predict``). Every
measurement is the median of ``iters`` runs after warm-up. The outputs of both engines on
the same input are compared: ``max |effpath − ort| / max |ort|``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "benches" / "models"
ALL = ["mnist", "alexnet", "resnet18", "resnet50", "vgg11"]


def mnist_cnn():
    import torch.nn as nn

    class Net(nn.Module):
        """pytorch/examples mnist/main.py."""

        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, 1)
            self.conv2 = nn.Conv2d(32, 64, 3, 1)
            self.dropout1 = nn.Dropout(0.25)
            self.dropout2 = nn.Dropout(0.5)
            self.fc1 = nn.Linear(9216, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            import torch
            import torch.nn.functional as F

            x = F.relu(self.conv1(x))
            x = F.relu(self.conv2(x))
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = torch.flatten(x, 1)
            x = F.relu(self.fc1(x))
            x = self.dropout2(x)
            return self.fc2(x)

    return Net()


def input_shape(name: str) -> tuple[int, ...]:
    return (1, 28, 28) if name == "mnist" else (3, 224, 224)


def export(name: str) -> Path:
    """Exports the model (batch axis dynamic) unless the file exists."""
    path = MODELS / f"{name}.onnx"
    if path.exists():
        return path
    import torch
    import torchvision

    torch.manual_seed(0)
    model = mnist_cnn() if name == "mnist" else getattr(torchvision.models, name)(weights=None)
    model.eval()
    x = torch.rand((1, *input_shape(name)))
    MODELS.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.onnx.export(
        model,
        (x,),
        str(tmp),
        dynamo=False,
        opset_version=17,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
    )
    tmp.rename(path)
    return path


def input_file(name: str, batch: int) -> tuple[Path, np.ndarray]:
    path = MODELS / f"{name}_b{batch}.npy"
    if not path.exists():
        rng = np.random.default_rng(batch)
        np.save(path, rng.random((batch, *input_shape(name)), dtype=np.float32))
    return path, np.load(path)


def time_ort(path: Path, x: np.ndarray, threads: int, iters: int, warm_up: int):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0].name
    y = sess.run(None, {inp: x})[0]
    for _ in range(warm_up):
        sess.run(None, {inp: x})
    ms = []
    for _ in range(iters):
        t = time.perf_counter()
        sess.run(None, {inp: x})
        ms.append((time.perf_counter() - t) * 1e3)
    return statistics.median(ms), y


def time_effpath(binary: Path, path: Path, xpath: Path, name: str, batch: int,
                 threads: int, iters: int, warm_up: int):
    out = MODELS / f"{name}_b{batch}.effpath.npy"
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    res = subprocess.run(
        [str(binary), str(path), str(xpath), str(out), str(iters), str(warm_up)],
        env=env, check=True, capture_output=True, text=True,
    )
    return json.loads(res.stdout.strip().splitlines()[-1]), np.load(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=",".join(ALL))
    ap.add_argument("--batches", default="1,64")
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--warm-up", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-b64", default="", help="models to run at batch 1 only")
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    binary = target / "release" / "examples" / "forward_time"
    if not args.no_build:
        subprocess.run(
            ["cargo", "build", "--release", "-p", "effpath-benches", "--example", "forward_time"],
            cwd=ROOT, check=True,
        )
    models = [m for m in args.models.split(",") if m]
    batches = [int(b) for b in args.batches.split(",") if b]
    skip64 = {m for m in args.skip_b64.split(",") if m}
    rows = []
    for name in models:
        path = export(name)
        for batch in batches:
            if batch > 1 and name in skip64:
                continue
            heavy = batch > 1 and name in ("resnet50", "vgg11", "alexnet", "resnet18")
            iters = max(3, args.iters // 2) if heavy else args.iters
            warm_up = 1 if heavy else args.warm_up
            xpath, x = input_file(name, batch)
            ort_ms, y_ort = time_ort(path, x, args.threads, iters, warm_up)
            eff, y_eff = time_effpath(binary, path, xpath, name, batch, args.threads, iters, warm_up)
            scale = float(np.abs(y_ort).max()) or 1.0
            rel = float(np.abs(y_eff.reshape(y_ort.shape) - y_ort).max()) / scale
            rows.append((name, batch, ort_ms, eff["forward_ms"], eff["predict_ms"], rel))
            r = rows[-1]
            print(f"# {name} b{batch}: ort {r[2]:.3f} ms, effpath forward {r[3]:.3f} ms, "
                  f"predict {r[4]:.3f} ms, rel diff {r[5]:.1e}", file=sys.stderr, flush=True)
    print(f"\nthreads: {args.threads} (ort intra_op_num_threads, effpath RAYON_NUM_THREADS); "
          f"median of {args.iters} runs (heavy batch-64 cases: {max(3, args.iters // 2)})")
    head = f"| {'model':<9} | {'batch':>5} | {'ort ms':>9} | {'effpath forward ms':>18} | " \
           f"{'effpath predict ms':>18} | {'forward ÷ ort':>13} | {'predict ÷ ort':>13} | {'max rel diff':>12} |"
    print(head)
    print("|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|")
    worst = 0.0
    for name, batch, o, f, p, rel in rows:
        worst = max(worst, rel)
        print(f"| {name:<9} | {batch:>5} | {o:>9.3f} | {f:>18.3f} | {p:>18.3f} | "
              f"{f / o:>13.2f} | {p / o:>13.2f} | {rel:>12.1e} |")
    if worst > 1e-3:
        print(f"OUTPUTS DISAGREE: max relative difference {worst:.1e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
