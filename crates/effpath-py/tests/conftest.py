"""Shared fixtures: the `effpath` binary the results are compared with, the shipped LeNet-5 and
the embedded MNIST test split (both inside the wheel), and the IDX files of that split."""

from __future__ import annotations

import os
import pathlib
import subprocess

import numpy as np
import pytest

import effpath

REPO = pathlib.Path(__file__).resolve().parents[3]
MNIST = REPO / "crates" / "effpath-data" / "data" / "mnist"


@pytest.fixture(scope="session")
def cli() -> pathlib.Path:
    """The command-line tool (`EFFPATH_CLI`, else the workspace's release build)."""
    path = pathlib.Path(os.environ.get("EFFPATH_CLI", REPO / "target" / "release" / "effpath"))
    if not path.is_file():
        pytest.fail(f"no effpath binary at {path}: run `cargo build --release -p effpath-cli` "
                    "or set EFFPATH_CLI")
    return path


@pytest.fixture(scope="session")
def run(cli):
    """Runs the CLI with arguments, returning its stdout; a failure fails the test."""

    def run(*args: object) -> str:
        done = subprocess.run([str(cli), *map(str, args)], capture_output=True, text=True)
        assert done.returncode == 0, f"effpath {' '.join(map(str, args))}: {done.stderr}"
        return done.stdout

    return run


@pytest.fixture(scope="session")
def net() -> effpath.Network:
    return effpath.shipped("lenet5-mnist")


@pytest.fixture(scope="session")
def mnist(net):
    """(model inputs, labels) of the embedded MNIST test split, normalised as the CLI does."""
    images, labels = effpath.embedded("mnist", "test")
    return net.normalize(images[:, None]), labels


@pytest.fixture(scope="session")
def idx_files() -> tuple[pathlib.Path, pathlib.Path]:
    images = MNIST / "t10k-images-idx3-ubyte.gz"
    labels = MNIST / "t10k-labels-idx1-ubyte.gz"
    assert images.is_file() and labels.is_file(), MNIST
    return images, labels


@pytest.fixture(scope="session")
def ray_cluster():
    """A local two-CPU Ray cluster for the session."""
    import ray  # a test dependency (pip install ray): the distributed tests are not optional
    # The workers import the test modules to unpickle the test data sets defined in them.
    here = str(pathlib.Path(__file__).resolve().parent)
    path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": path}})
    yield ray
    ray.shutdown()


def read_features_csv(file: pathlib.Path) -> np.ndarray:
    """The feature columns of an `effpath features` table, NaN for empty cells."""
    lines = file.read_text().splitlines()
    assert lines[0].startswith("# effpath-features ")
    rows = []
    for line in lines[2:]:
        cells = line.split(",")[4:]
        rows.append([float(c) if c else np.nan for c in cells])
    return np.array(rows, dtype=np.float64)
