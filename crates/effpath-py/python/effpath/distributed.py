"""Profiling that outgrows one process: one Ray task per shard, merged by tree reduction.

``profile(model, dataset, shards=N)`` cuts the data set into the N contiguous parts of
``effpath profile --shard I/N`` (:func:`effpath.shard_range`), runs the Rust profiler on each
part in its own Ray task, and merges the compressed class paths pairwise in Ray tasks (a tree
of depth ⌈log₂ N⌉). The result is byte for byte the class-path file a single
``effpath profile`` of the same data writes: a union of sets and a sum of counts does not
depend on how the work was cut or in which order it finished.

Failures: a task whose worker dies (killed, out of memory, a lost node) is retried alone, up
to ``max_retries`` times (Ray's task retries); an error of effpath itself (a bad input) is not
retried and is raised. With ``checkpoint=DIR``, each finished shard is saved there as soon as
it is done, so that a rerun of the same call after the driver itself failed computes only the
missing shards. The checkpoint's ``manifest.json`` names the model, the options, the shard
count and the data set, and a directory made by another run is refused.

Data sets: anything with ``__len__()`` and ``batch(net, start, stop) -> (x, labels)`` (x:
float32 model inputs, labels: integers), picklable, and for checkpoints an ``identity()``
string that changes when the data changes. Two are provided: :class:`ArrayDataset` (arrays in
memory, shipped once through Ray's object store) and :class:`IdxDataset` (IDX files on storage
every worker reads; nothing is shipped).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from typing import Any, Callable, Protocol

import numpy as np

from . import _native
from ._native import ClassPaths, EffpathError, Network

CHECKPOINT_FORMAT = "effpath-ray-profile"
CHECKPOINT_VERSION = 1
MANIFEST = "manifest.json"

__all__ = ["ArrayDataset", "Dataset", "IdxDataset", "profile"]


class Dataset(Protocol):
    """What :func:`profile` reads: a length and batches of model inputs with labels."""

    def __len__(self) -> int: ...

    def batch(self, net: Network, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]: ...


class ArrayDataset:
    """Images and labels held in memory.

    ``images`` are float32 model inputs ``(N, C, H, W)``, or pixels (uint8, or float32 in
    [0, 1]) with ``pixels=True``, which each batch normalises with the model's recorded
    normalisation (:meth:`Network.normalize`); grayscale pixels ``(N, H, W)`` get their
    channel axis.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, *, pixels: bool = False):
        images = np.asarray(images)
        labels = np.asarray(labels)
        if labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(
                f"{len(labels)} labels (shape {labels.shape}) for {len(images)} images"
            )
        self.images = images
        self.labels = labels
        self.pixels = pixels

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, net: Network, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        x = self.images[start:stop]
        if self.pixels:
            if x.ndim == len(net.input_shape):
                x = x[:, None]
            x = net.normalize(x)
        return x, self.labels[start:stop]

    def identity(self) -> str:
        digest = hashlib.sha256()
        for a in (self.images, self.labels):
            digest.update(f"{a.dtype.str}{a.shape}".encode())
            digest.update(np.ascontiguousarray(a).tobytes())
        digest.update(b"pixels" if self.pixels else b"inputs")
        return digest.hexdigest()


class IdxDataset:
    """An IDX image file and its label file (gzip or plain), read by every task itself.

    Pixels are normalised with the model's recorded normalisation, as ``effpath profile
    --images I --labels L`` does. The files must be readable at the same path on every node
    (shared storage); nothing but the paths is shipped.
    """

    def __init__(self, images: str | os.PathLike[str], labels: str | os.PathLike[str]):
        self.images_path = os.fspath(images)
        self.labels_path = os.fspath(labels)
        self._length = len(_native.read_idx(self.labels_path))
        self._arrays: tuple[np.ndarray, np.ndarray] | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_arrays"] = None
        return state

    def __len__(self) -> int:
        return self._length

    def _load(self) -> tuple[np.ndarray, np.ndarray]:
        if self._arrays is None:
            images = _native.read_idx(self.images_path)
            labels = _native.read_idx(self.labels_path)
            if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
                raise ValueError(
                    f"{self.images_path} {images.shape} and {self.labels_path} "
                    f"{labels.shape} are not images (N, H, W) with N labels"
                )
            self._arrays = (images, labels)
        return self._arrays

    def batch(self, net: Network, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        images, labels = self._load()
        return net.normalize(images[start:stop, None]), labels[start:stop]

    def identity(self) -> str:
        digest = hashlib.sha256()
        for file in (self.images_path, self.labels_path):
            with open(file, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
        return digest.hexdigest()


def _profile_shard(
    model: bytes,
    dataset: Dataset,
    index: int,
    count: int,
    options: dict[str, Any],
    threads: int | None,
) -> bytes:
    """One shard: the Rust profiler over its part of the data, as class-path file bytes."""
    net = _native.from_bytes(model)
    start, stop = _native.shard_range(len(dataset), index, count)
    profiler = _native.Profiler(net, **options)
    step = options["batch_size"]
    for a in range(start, stop, step):
        x, labels = dataset.batch(net, a, min(a + step, stop))
        profiler.add(x, labels, threads=threads)
    return profiler.finish().to_bytes()


def _merge(a: bytes, b: bytes) -> bytes:
    """Two class-path files' bytes merged (union of each class path, sum of the counts)."""
    left = ClassPaths.from_bytes(a)
    left.merge(ClassPaths.from_bytes(b))
    return left.to_bytes()


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "effpath.distributed needs Ray (pip install 'ray>=2.9'); without it, run "
            "`effpath profile --shard I/N` per part and `effpath merge` (docs/distributed.md)"
        ) from error
    return ray


class _Checkpoint:
    """Finished shards saved in a directory, identified by a manifest."""

    def __init__(self, directory: str, manifest: dict[str, Any]):
        self.directory = directory
        self.count = manifest["shards"]
        os.makedirs(directory, exist_ok=True)
        file = os.path.join(directory, MANIFEST)
        if os.path.exists(file):
            with open(file, encoding="utf-8") as f:
                stored = json.load(f)
            differing = sorted(
                k for k in set(stored) | set(manifest) if stored.get(k) != manifest.get(k)
            )
            if differing:
                raise EffpathError(
                    f"checkpoint {directory} was made by another run (its "
                    f"{', '.join(differing)} differ); use another directory or delete it"
                )
        else:
            _write_atomic(file, json.dumps(manifest, indent=2, sort_keys=True).encode())

    def file(self, index: int) -> str:
        return os.path.join(self.directory, f"shard-{index:05d}-of-{self.count:05d}.bin")

    def load(self, index: int, net: Network) -> bytes | None:
        file = self.file(index)
        if not os.path.exists(file):
            return None
        with open(file, "rb") as f:
            data = f.read()
        try:
            ClassPaths.from_bytes(data, net)
        except EffpathError:
            return None  # a damaged shard is recomputed
        return data

    def save(self, index: int, data: bytes) -> None:
        _write_atomic(self.file(index), data)


def _write_atomic(file: str, data: bytes) -> None:
    directory = os.path.dirname(os.path.abspath(file))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, file)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def profile(
    model: Network | str | os.PathLike[str],
    dataset: Dataset,
    shards: int,
    *,
    theta: float = 0.5,
    last_layers: int | None = None,
    per_class: int | None = None,
    batch_size: int = 256,
    checkpoint: str | os.PathLike[str] | None = None,
    keep_checkpoint: bool = False,
    threads_per_task: int = 1,
    max_retries: int = 3,
    on_shard: Callable[[int, int], None] | None = None,
) -> ClassPaths:
    """Class paths of ``model`` over ``dataset``, profiled in ``shards`` Ray tasks.

    ``model`` is a :class:`Network` or an ONNX file; ``dataset`` follows :class:`Dataset`.
    θ, ``last_layers``, ``per_class`` (per shard, as with ``--shard``) and ``batch_size`` mean
    what they mean for :func:`effpath.profile`. Each task asks Ray for ``threads_per_task``
    CPUs and runs the profiler on that many threads. ``checkpoint`` keeps finished shards in
    a directory (removed after success unless ``keep_checkpoint``). ``on_shard(done, total)``
    is called as shards finish. Ray is started (``ray.init()``) if it is not running.
    """
    ray = _import_ray()
    if shards < 1:
        raise ValueError(f"shards must be at least 1, got {shards}")
    if threads_per_task < 1:
        raise ValueError(f"threads_per_task must be at least 1, got {threads_per_task}")
    if isinstance(model, Network):
        net = model
        model_bytes = net.to_bytes()
    else:
        with open(os.fspath(model), "rb") as f:
            model_bytes = f.read()
        net = _native.from_bytes(model_bytes)
    n = len(dataset)
    if n == 0:
        raise ValueError("the data set holds no images")
    options: dict[str, Any] = {
        "theta": theta,
        "last_layers": last_layers,
        "per_class": per_class,
        "batch_size": batch_size,
    }
    _native.Profiler(net, **options)  # checks the options once, before any task starts

    saved: _Checkpoint | None = None
    if checkpoint is not None:
        identity = getattr(dataset, "identity", None)
        manifest = {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "model_fingerprint": net.fingerprint,
            "options": options,
            "shards": shards,
            "images": n,
            "dataset": identity() if callable(identity) else None,
        }
        saved = _Checkpoint(os.fspath(checkpoint), manifest)

    if not ray.is_initialized():
        ray.init()
    shard_task = ray.remote(_profile_shard).options(
        num_cpus=threads_per_task, max_retries=max_retries
    )
    merge_task = ray.remote(_merge).options(num_cpus=1, max_retries=max_retries)
    model_ref = ray.put(model_bytes)
    data_ref = ray.put(dataset)

    results: list[Any] = [None] * shards
    running: dict[Any, int] = {}
    for i in range(shards):
        data = saved.load(i, net) if saved is not None else None
        if data is not None:
            results[i] = ray.put(data)
        else:
            ref = shard_task.remote(model_ref, data_ref, i, shards, options, threads_per_task)
            running[ref] = i
    done = shards - len(running)
    if on_shard is not None and done:
        on_shard(done, shards)
    while running:
        ready, _ = ray.wait(list(running), num_returns=1)
        for ref in ready:
            i = running.pop(ref)
            if saved is not None:
                saved.save(i, ray.get(ref))
            results[i] = ref
            done += 1
            if on_shard is not None:
                on_shard(done, shards)

    level = results
    while len(level) > 1:
        paired = [merge_task.remote(level[k], level[k + 1]) for k in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    merged = ray.get(level[0])
    class_paths = ClassPaths.from_bytes(merged, net)
    if saved is not None and not keep_checkpoint:
        shutil.rmtree(saved.directory, ignore_errors=True)
    return class_paths
