"""effpath — effective paths of deep neural networks, from Python.

The effective path of an input (Qiu et al., *Adversarial Defense Through Network Profiling
Based Path Extraction*, CVPR 2019) is, per layer, the neurons, synapses and weights that
contribute most to its prediction; class paths are their unions over correctly classified
training images, and the similarity of an image's path to its predicted class's path detects
adversarial inputs.

This package mirrors the Rust facade (`effpath::extract_path(&net, &input, theta)`) on NumPy
arrays:

* ``load(path)`` / ``from_bytes(data)`` / ``shipped(name)`` / ``from_torch(module, example)``
  → :class:`Network` (``predict``, ``normalize``, ``input_shape``, ``classes``);
* ``extract_path(net, x, theta=0.5, rank=1, last_layers=None)`` → :class:`Path` (per layer
  counts, densities and the kept indices as NumPy arrays);
* ``profile(net, images, labels, ...)`` or a streaming :class:`Profiler` → :class:`ClassPaths`
  (``save``/``load``/``merge``/``jaccard``/``density``);
* ``features(net, class_paths, x)`` → the detection features as a NumPy matrix;
* ``Guard(net, class_paths, detector_file).score(x)``;
* ``effpath.distributed.profile(model, dataset, shards=N)``: profiling on Ray.

Arrays are float32 model inputs (``net.normalize`` maps uint8 or [0, 1] pixels to them);
labels are integer arrays. Errors of the Rust core raise :class:`EffpathError` with its
message; arrays of the wrong dtype raise ``TypeError``.
"""

from __future__ import annotations

import importlib
import os
import tempfile
from typing import Any

from ._native import (
    ClassPaths,
    EffpathError,
    Guard,
    Layer,
    Network,
    Path,
    Profiler,
    __version__,
    embedded,
    extract_path,
    feature_names,
    features,
    from_bytes,
    load,
    profile,
    read_idx,
    shard_range,
    shipped,
)

__all__ = [
    "ClassPaths",
    "EffpathError",
    "Guard",
    "Layer",
    "Network",
    "Path",
    "Profiler",
    "__version__",
    "embedded",
    "extract_path",
    "feature_names",
    "features",
    "from_bytes",
    "from_torch",
    "load",
    "profile",
    "read_idx",
    "shard_range",
    "shipped",
]


def from_torch(module: Any, example: Any, *, dynamo: bool | None = None, opset_version: int | None = None) -> Network:
    """A PyTorch module as an effpath :class:`Network`.

    Exports ``module`` (in eval mode; its mode is restored afterwards) with
    ``torch.onnx.export(module, (example,), ...)`` to a temporary directory and loads the
    file. ``example`` is an input tensor of the model's shape (batch axis first).
    ``dynamo=None`` uses PyTorch's default exporter (the dynamo one since torch 2.9, which
    also needs the ``onnxscript`` package); ``dynamo=False`` the legacy one. effpath reads
    both.

    Raises ``ImportError`` when PyTorch is not installed, and :class:`EffpathError` when the
    exported graph uses an op effpath does not support (the message names the node).
    """
    try:
        torch = importlib.import_module("torch")
        importlib.import_module("torch.onnx")
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "effpath.from_torch needs PyTorch (pip install torch); without it, export the "
            "model with torch.onnx.export and read the file with effpath.load"
        ) from error

    was_training = bool(getattr(module, "training", False))
    module.eval()
    try:
        with tempfile.TemporaryDirectory(prefix="effpath-torch-") as tmp:
            file = os.path.join(tmp, "model.onnx")
            kwargs: dict[str, Any] = {}
            if dynamo is not None:
                kwargs["dynamo"] = dynamo
            if opset_version is not None:
                kwargs["opset_version"] = opset_version
            with torch.no_grad():
                torch.onnx.export(module, (example,), file, **kwargs)
            return load(file)
    finally:
        if was_training:
            module.train()
