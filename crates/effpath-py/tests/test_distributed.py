"""Profiling on a local Ray cluster: byte-identical to one `effpath profile` process, a killed
worker's shard is retried alone with the same result, and checkpoints resume a run."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

import effpath
from effpath import distributed


class KillOnce:
    """A data set whose worker is killed (SIGKILL) the first time it reads image `at`."""

    def __init__(self, inner, at: int, marker: str):
        self.inner, self.at, self.marker = inner, at, marker

    def __len__(self) -> int:
        return len(self.inner)

    def batch(self, net, start, stop):
        if start <= self.at < stop and not os.path.exists(self.marker):
            with open(self.marker, "w") as f:
                f.write(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        return self.inner.batch(net, start, stop)

    def identity(self) -> str:
        return self.inner.identity()


class Untouchable:
    """A data set that must not be read (every shard is in the checkpoint)."""

    def __init__(self, inner):
        self.inner = inner

    def __len__(self) -> int:
        return len(self.inner)

    def batch(self, net, start, stop):
        raise AssertionError("a checkpointed shard was recomputed")

    def identity(self) -> str:
        return self.inner.identity()


def test_ray_profile_is_byte_identical_to_one_cli_process(ray_cluster, run, net, idx_files, tmp_path):
    images, labels = idx_files
    file = tmp_path / "cp.bin"
    run("profile", "lenet5-mnist", "--images", images, "--labels", labels, "-q", "--out", file)
    data = distributed.IdxDataset(images, labels)
    assert len(data) == 2004
    done = []
    cp = distributed.profile(net, data, shards=5, batch_size=128,
                             on_shard=lambda d, n: done.append((d, n)))
    assert cp.to_bytes() == file.read_bytes()
    assert done[-1] == (5, 5)


def test_array_dataset_shards_equal_in_process_profiling(ray_cluster, net, mnist):
    x, labels = mnist
    want = effpath.profile(net, x[:900], labels[:900], theta=0.3, last_layers=3)
    for shards in (1, 2, 7):
        got = distributed.profile(net, distributed.ArrayDataset(x[:900], labels[:900]),
                                  shards=shards, theta=0.3, last_layers=3)
        assert got.to_bytes() == want.to_bytes(), shards
    images, _ = effpath.embedded("mnist", "test")
    pixels = distributed.ArrayDataset(images[:900], labels[:900], pixels=True)
    assert distributed.profile(net, pixels, shards=3, theta=0.3, last_layers=3) == want


def test_a_killed_worker_is_retried_and_the_result_is_unchanged(ray_cluster, net, mnist, tmp_path):
    x, labels = mnist
    want = effpath.profile(net, x[:1000], labels[:1000])
    marker = str(tmp_path / "killed")
    data = KillOnce(distributed.ArrayDataset(x[:1000], labels[:1000]), at=620, marker=marker)
    got = distributed.profile(net, data, shards=4, batch_size=100)
    assert os.path.exists(marker), "the worker was not killed"
    assert got.to_bytes() == want.to_bytes()


def test_checkpoints_resume_and_refuse_another_run(ray_cluster, net, mnist, tmp_path):
    x, labels = mnist
    data = distributed.ArrayDataset(x[:600], labels[:600])
    ckpt = tmp_path / "ckpt"
    first = distributed.profile(net, data, shards=3, checkpoint=ckpt, keep_checkpoint=True)
    shards = sorted(p.name for p in ckpt.iterdir())
    assert shards == ["manifest.json", "shard-00000-of-00003.bin", "shard-00001-of-00003.bin",
                      "shard-00002-of-00003.bin"]
    # A damaged shard is recomputed; the others are loaded, not recomputed.
    (ckpt / "shard-00001-of-00003.bin").write_bytes(b"torn")
    again = distributed.profile(net, data, shards=3, checkpoint=ckpt, keep_checkpoint=True)
    assert again.to_bytes() == first.to_bytes()
    resumed = distributed.profile(net, Untouchable(data), shards=3, checkpoint=ckpt)
    assert resumed.to_bytes() == first.to_bytes()
    assert not ckpt.exists()  # removed after success
    distributed.profile(net, data, shards=3, checkpoint=ckpt, keep_checkpoint=True)
    with pytest.raises(effpath.EffpathError, match="made by another run .*options"):
        distributed.profile(net, data, shards=3, theta=0.4, checkpoint=ckpt)
    other = distributed.ArrayDataset(x[1:601], labels[1:601])
    with pytest.raises(effpath.EffpathError, match="dataset"):
        distributed.profile(net, other, shards=3, checkpoint=ckpt)


def test_bad_arguments_fail_before_any_task(net, mnist):
    x, labels = mnist
    data = distributed.ArrayDataset(x[:10], labels[:10])
    with pytest.raises(ValueError, match="shards must be at least 1"):
        distributed.profile(net, data, shards=0)
    with pytest.raises(effpath.EffpathError, match="theta"):
        distributed.profile(net, data, shards=2, theta=0.0)
    with pytest.raises(ValueError, match="labels"):
        distributed.ArrayDataset(x[:10], labels[:9])
