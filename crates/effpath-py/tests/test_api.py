"""The Python API agrees with the `effpath` command line on the same inputs: paths bit for bit,
class paths byte for byte, features to 1e-12, guard verdicts exactly."""

from __future__ import annotations

import json

import numpy as np
import pytest

import effpath
from conftest import read_features_csv


@pytest.mark.parametrize(
    "index, theta, rank, last_layers",
    [(0, 0.5, 1, None), (7, 0.3, 1, None), (11, 0.5, 2, None), (19, 0.7, 1, 2)],
)
def test_paths_equal_the_cli_bit_for_bit(run, net, mnist, tmp_path, index, theta, rank, last_layers):
    x, _ = mnist
    file = tmp_path / "path.bin"
    args = ["extract", "lenet5-mnist", "--dataset", "mnist-test", "--index", index,
            "--theta", theta, "--rank", rank, "--out", file]
    if last_layers is not None:
        args += ["--last-layers", last_layers]
    run(*args)
    path = effpath.extract_path(net, x[index], theta=theta, rank=rank, last_layers=last_layers)
    assert path.to_bytes() == file.read_bytes()
    assert effpath.Path.load(file) == path
    assert path.seed_class == (path.predicted if rank == 1 else path.seed_class)
    assert path.predicted == int(np.argmax(net.predict(x[index])))


def test_path_layers_expose_counts_densities_and_kept_indices(net, mnist):
    x, _ = mnist
    path = effpath.extract_path(net, x[0])
    names = [layer.name for layer in path.layers]
    assert names == ["conv1", "pool1", "conv2", "pool2", "fc1", "fc2", "fc3"]
    total_kept = 0
    for layer in path.layers:
        for kind in ("neuron", "synapse", "weight"):
            kept = layer.kept(kind)
            assert kept.dtype == np.uint64
            assert len(kept) == layer.count(kind)
            assert np.all(np.diff(kept.astype(np.int64)) > 0)
            if len(kept):
                assert kept[-1] < layer.size(kind) == int(np.prod(layer.shape(kind)))
        total_kept += layer.count("synapse")
        assert layer.density("synapse") == layer.count("synapse") / layer.size("synapse")
    assert path.count("synapse") == total_kept
    assert 0 < path.density("synapse", "weighted") < 1
    assert path.layer("fc3").count("neuron") == 1  # the path starts from one logit
    assert path.layer(6).name == "fc3"
    with pytest.raises(IndexError):
        path.layer("nope")
    batch = effpath.extract_path(net, x[:3])
    assert isinstance(batch, list) and len(batch) == 3 and batch[0] == path
    assert path.jaccard(path) == 1.0


def test_class_paths_equal_the_cli_byte_for_byte(run, net, mnist, tmp_path):
    x, labels = mnist
    file = tmp_path / "cp.bin"
    run("profile", "lenet5-mnist", "--dataset", "mnist-test", "--limit", 600, "-q",
        "--theta", 0.4, "--out", file)
    cp = effpath.profile(net, x[:600], labels[:600], theta=0.4)
    assert cp.to_bytes() == file.read_bytes()
    assert effpath.ClassPaths.load(file, net) == cp
    # Streaming in uneven batches, and two merged halves, give the same bytes.
    streamed = effpath.Profiler(net, theta=0.4)
    for a, b in [(0, 1), (1, 250), (250, 600)]:
        streamed.add(x[a:b], labels[a:b])
    assert streamed.images_seen == 600
    assert streamed.finish().to_bytes() == cp.to_bytes()
    left = effpath.profile(net, x[:300], labels[:300], theta=0.4)
    left.merge(effpath.profile(net, x[300:600], labels[300:600], theta=0.4))
    assert left.to_bytes() == cp.to_bytes()
    # The per-class cap counts across batches, as the CLI's --per-class does.
    run("profile", "lenet5-mnist", "--dataset", "mnist-test", "--limit", 600, "-q",
        "--per-class", 7, "--out", tmp_path / "cap.bin")
    capped = effpath.Profiler(net, per_class=7, batch_size=64)
    for a in range(0, 600, 50):
        capped.add(x[a:a + 50], labels[a:a + 50])
    assert capped.finish().to_bytes() == (tmp_path / "cap.bin").read_bytes()
    assert capped.finish().images_per_class == [7] * 10


def test_class_path_metrics(net, mnist, tmp_path):
    x, labels = mnist
    cp = effpath.profile(net, x[:400], labels[:400])
    assert cp.classes == 10 and sum(cp.images_per_class) <= 400 and cp.theta == 0.5
    j = cp.jaccard("synapse", "weighted")
    assert j.shape == (10, 10) and j.dtype == np.float64
    np.testing.assert_array_equal(j, j.T)
    np.testing.assert_array_equal(np.diag(j), np.ones(10))
    assert np.all((j > 0) & (j <= 1))
    d = cp.density("synapse", "weighted")
    assert len(d) == 10 and all(0 < v < 1 for v in d)
    assert cp.class_path(3).density("synapse", "weighted") == d[3]
    assert cp.overall().count("synapse") >= max(cp.class_path(c).count("synapse") for c in range(10))
    cp.save(tmp_path / "cp.bin")
    assert effpath.ClassPaths.from_bytes((tmp_path / "cp.bin").read_bytes(), net) == cp


def test_features_equal_the_cli_to_1e12(run, net, mnist, tmp_path):
    x, labels = mnist
    cp_file, csv = tmp_path / "cp.bin", tmp_path / "f.csv"
    run("profile", "lenet5-mnist", "--dataset", "mnist-test", "--limit", 800, "-q", "--out", cp_file)
    run("features", "lenet5-mnist", "--classpaths", cp_file, "--dataset", "mnist-test",
        "--limit", 120, "-q", "--empty-layer", "one", "--out", csv)
    cp = effpath.ClassPaths.load(cp_file, net)
    f = effpath.features(net, cp, x[:120], empty_layer="one")
    want = read_features_csv(csv)
    assert f.shape == want.shape == (120, 10)
    np.testing.assert_allclose(f, want, rtol=0, atol=1e-12)
    assert effpath.feature_names(net, cp)[0] == "rank1/conv1"
    assert effpath.features(net, cp, x[:5], last_layers=2).shape == (5, 4)


def test_guard_agrees_with_cli_detect(run, net, mnist, tmp_path):
    x, _ = mnist
    p = tmp_path
    rng = np.random.default_rng(7)
    np.save(p / "noise.npy", rng.random((150, 1, 28, 28), dtype=np.float32))
    run("profile", "lenet5-mnist", "--dataset", "mnist-train", "--per-class", 100, "-q", "--out", p / "cp.bin")
    run("features", "lenet5-mnist", "--classpaths", p / "cp.bin", "--dataset", "mnist-test",
        "--limit", 300, "-q", "--out", p / "f0.csv")
    run("features", "lenet5-mnist", "--classpaths", p / "cp.bin", "--input", p / "noise.npy",
        "-q", "--out", p / "f1.csv")
    run("fit-detector", "--normal", p / "f0.csv", "--adversarial", p / "f1.csv", "--model",
        "linear", "--out", p / "det.json")
    verdicts = json.loads(run("detect", "lenet5-mnist", "--classpaths", p / "cp.bin", "--detector",
                              p / "det.json", "--json", "--dataset", "mnist-test", "--limit", 200))
    guard = effpath.Guard(net, effpath.ClassPaths.load(p / "cp.bin", net), p / "det.json")
    predicted, score, flagged = guard.check(x[:200])
    images = verdicts["images"]
    assert [i["predicted"] for i in images] == predicted.tolist()
    assert [i["flagged"] for i in images] == flagged.tolist()
    want = np.array([np.nan if i["score"] is None else i["score"] for i in images])
    np.testing.assert_allclose(score, want, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(guard.score(x[:200]), score)
    assert flagged.sum() < 200 / 5
    assert guard.feature_names == effpath.feature_names(net, effpath.ClassPaths.load(p / "cp.bin"))


def test_predict_and_model_properties(net, mnist):
    x, _ = mnist
    logits = net.predict(x[:4])
    assert logits.shape == (4, 10) and logits.dtype == np.float32
    np.testing.assert_array_equal(net.predict(x[0]), logits[:1])
    np.testing.assert_array_equal(net.predict(x[:4], threads=1), logits)
    assert effpath.from_bytes(net.to_bytes()).fingerprint == net.fingerprint
    assert net.input_shape == [1, 28, 28] and net.classes == 10
    assert net.normalization is not None
