"""Bad inputs raise clear exceptions: TypeError for a wrong dtype, ValueError for bad labels or
options the binding checks, EffpathError (the Rust error's message) for the rest."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import effpath


def test_wrong_dtypes_are_refused_with_the_fix(net, mnist):
    x, labels = mnist
    with pytest.raises(TypeError, match=r"x must be a float32 NumPy array, got a float64 array of shape \(2, 1, 28, 28\)"):
        net.predict(x[:2].astype(np.float64))
    with pytest.raises(TypeError, match="float32"):
        effpath.extract_path(net, x[0].tolist())
    with pytest.raises(TypeError, match="labels must be a one-dimensional integer"):
        effpath.profile(net, x[:4], labels[:4].astype(np.float32))
    with pytest.raises(TypeError, match="labels must be a one-dimensional integer"):
        effpath.profile(net, x[:4], labels[:4].reshape(2, 2))
    with pytest.raises(TypeError, match="pixels must be a uint8 or float32"):
        net.normalize(np.zeros((1, 28, 28), dtype=np.int32))


def test_wrong_shapes_and_values_are_refused(net, mnist):
    x, labels = mnist
    with pytest.raises(effpath.EffpathError, match=r"input shape \[2, 3, 3\] does not match"):
        net.predict(np.zeros((2, 3, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="3 entries for 4 images"):
        effpath.profile(net, x[:4], labels[:3])
    with pytest.raises(ValueError, match=r"labels\[1\] is -1"):
        effpath.profile(net, x[:2], np.array([1, -1]))
    with pytest.raises(effpath.EffpathError, match="label 12 of image 1 is not a class"):
        effpath.profile(net, x[:2], np.array([1, 12]))
    with pytest.raises(ValueError, match=r"float pixels must lie in \[0, 1\]"):
        net.normalize(np.full((1, 28, 28), 2.0, dtype=np.float32))
    bad = x[:1].copy()
    bad[0, 0, 3, 3] = np.nan
    with pytest.raises(effpath.EffpathError, match="non-finite"):
        effpath.extract_path(net, bad)


def test_bad_options_are_refused(net, mnist):
    x, labels = mnist
    with pytest.raises(effpath.EffpathError, match=r"theta must be in \(0, 1\], got 1.5"):
        effpath.extract_path(net, x[0], theta=1.5)
    with pytest.raises(effpath.EffpathError, match="seed rank 0"):
        effpath.extract_path(net, x[0], rank=0)
    with pytest.raises(effpath.EffpathError, match="last_layers must be at least 1"):
        effpath.Profiler(net, last_layers=0)
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        effpath.profile(net, x[:2], labels[:2], batch_size=0)
    with pytest.raises(ValueError, match="threads must be at least 1"):
        net.predict(x[:1], threads=0)
    with pytest.raises(ValueError, match="element kind `edges`"):
        effpath.extract_path(net, x[0]).density("edges")
    with pytest.raises(effpath.EffpathError, match="shard 3/3 does not exist"):
        effpath.shard_range(10, 3, 3)
    with pytest.raises(effpath.EffpathError, match="unknown empty-layer policy"):
        effpath.features(net, effpath.profile(net, x[:50], labels[:50]), x[:1], empty_layer="zero")


def test_bad_files_are_refused(net, mnist, tmp_path):
    x, labels = mnist
    with pytest.raises(effpath.EffpathError, match="nope.onnx"):
        effpath.load(tmp_path / "nope.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"\x08\x07junk")
    with pytest.raises(effpath.EffpathError, match="ONNX decode error"):
        effpath.load(tmp_path / "junk.onnx")
    with pytest.raises(effpath.EffpathError):
        effpath.ClassPaths.from_bytes(b"not a class-path file")
    with pytest.raises(effpath.EffpathError):
        effpath.Path.from_bytes(b"\x00" * 64)
    with pytest.raises(effpath.EffpathError, match="unknown model|shipped"):
        effpath.shipped("vgg")
    other = effpath.shipped("resnet-small-fashion")
    cp = effpath.profile(net, x[:50], labels[:50])
    with pytest.raises(effpath.EffpathError, match="fingerprint|another network|model"):
        effpath.ClassPaths.from_bytes(cp.to_bytes(), other)
    with pytest.raises(effpath.EffpathError):
        effpath.features(other, cp, np.zeros((1, 1, 28, 28), dtype=np.float32))
    a = effpath.profile(net, x[:50], labels[:50], theta=0.3)
    with pytest.raises(effpath.EffpathError, match="options"):
        a.merge(cp)


def test_from_torch_without_torch_says_what_to_do(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match="effpath.from_torch needs PyTorch"):
        effpath.from_torch(object(), None)


def test_from_torch_exports_and_loads_a_module():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU6(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(4 * 13 * 13, 10),
    )
    model.train()
    example = torch.rand(1, 1, 28, 28)
    for dynamo in (False, None):
        net = effpath.from_torch(model, example, dynamo=dynamo)
        assert model.training  # the module's mode is restored
        x = torch.rand(3, 1, 28, 28)
        with torch.no_grad():
            want = model.eval()(x).numpy()
        model.train()
        np.testing.assert_allclose(net.predict(x.numpy()), want, rtol=1e-4, atol=1e-5)
