//! End-to-end tests of the path commands of the `effpath` binary: `extract`, `profile`,
//! `merge`, `similarity` and `density` — file contents, agreement with the library run
//! in-process, byte-identical sharded profiles and one-line errors.

use std::path::Path;

use effpath::algebra::{AlgebraError, ElementKind};
use effpath::data::{Mnist, Normalization};
use effpath::extract::{CLASS_FILE_MAGIC, ExtractError, Seed};
use effpath::ir::zoo;
use effpath::{ClassPaths, ExtractOptions, Extractor, extract_path};
use serde_json::Value;

mod common;
use common::{effpath, fails, ok, s};

/// PNG files start with these bytes.
const PNG_MAGIC: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("the JSON file exists");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON ({e}): {text}"))
}

fn uint(v: &Value) -> usize {
    v.as_u64().unwrap_or_else(|| panic!("not an integer: {v}")) as usize
}

#[test]
fn extract_writes_per_layer_json_equal_to_the_library() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let x = Mnist::embedded_test()
        .and_then(|m| m.to_tensor(0..1, Normalization::MNIST))
        .expect("embedded MNIST")
        .into_dyn();
    let net = zoo::lenet5(0);
    for rank in [1usize, 2] {
        let json = dir.path().join(format!("rank{rank}.json"));
        let text = ok(&[
            "extract",
            "lenet5",
            "--dataset",
            "mnist-test",
            "--index",
            "0",
            "--normalize",
            "mnist",
            "--rank",
            &rank.to_string(),
            "--json",
            s(&json),
        ]);
        assert!(text.contains("synapse density:"), "{text}");
        assert!(text.contains("conv1") && text.contains("maxpool"), "{text}");
        let v = read_json(&json);
        assert_eq!(v["model_fingerprint"], net.fingerprint().to_string());
        assert_eq!(v["theta"].as_f64(), Some(0.5));
        assert_eq!(uint(&v["rank"]), rank);
        for phase in ["load", "forward", "extract"] {
            assert!(
                v["timing_s"][phase].as_f64().is_some_and(|t| t >= 0.0),
                "{v}"
            );
        }
        let layers = v["layers"].as_array().expect("a layer array");
        let names: Vec<&str> = layers.iter().filter_map(|l| l["name"].as_str()).collect();
        assert_eq!(
            names,
            ["conv1", "pool1", "conv2", "pool2", "fc1", "fc2", "fc3"]
        );
        let ops: Vec<&str> = layers.iter().filter_map(|l| l["op"].as_str()).collect();
        assert_eq!(
            ops,
            [
                "conv", "maxpool", "conv", "maxpool", "dense", "dense", "dense"
            ]
        );
        let edge_spaces: Vec<usize> = layers.iter().map(|l| uint(&l["edge_space"])).collect();
        assert_eq!(
            edge_spaces,
            [86_400, 3456, 153_600, 1024, 30_720, 10_080, 840]
        );

        let options = ExtractOptions::default().with_seed(Seed::Rank(rank));
        let want = Extractor::new(&net, options)
            .and_then(|e| e.extract(&x))
            .expect("in-process extraction");
        assert_eq!(uint(&v["predicted"]), want.predicted);
        assert_eq!(uint(&v["seed"]), want.seed_class);
        assert_eq!(uint(&v["seed"]) == uint(&v["predicted"]), rank == 1, "{v}");
        if rank == 1 {
            let path = extract_path(&net, &x, 0.5).expect("extract_path");
            assert_eq!(path, want.path);
        }
        for (l, (got, kept)) in layers.iter().zip(want.path.layers()).enumerate() {
            assert!(uint(&got["points"]) <= uint(&got["point_space"]), "{got}");
            let space = &want.path.space().layers()[l];
            for (key, kind) in [
                ("points", ElementKind::Neuron),
                ("edges", ElementKind::Synapse),
                ("weights", ElementKind::Weight),
            ] {
                assert_eq!(uint(&got[key]), kept.count(kind), "layer {l} {key}");
            }
            assert_eq!(uint(&got["point_space"]), space.neurons());
            assert_eq!(uint(&got["weight_space"]), space.weights());
        }
    }
}

#[test]
fn extract_out_writes_the_path_file_of_the_library() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("path.bin");
    ok(&[
        "extract",
        "lenet5",
        "--dataset",
        "mnist-test",
        "--index",
        "3",
        "--normalize",
        "mnist",
        "--theta",
        "0.3",
        "--out",
        s(&file),
    ]);
    let x = Mnist::embedded_test()
        .and_then(|m| m.to_tensor(3..4, Normalization::MNIST))
        .expect("embedded MNIST")
        .into_dyn();
    let want = extract_path(&zoo::lenet5(0), &x, 0.3).expect("in-process extraction");
    let bytes = std::fs::read(&file).expect("the path file exists");
    assert_eq!(bytes, want.to_bytes());
    let got = effpath::algebra::Path::from_bytes(&bytes).expect("the path file reads back");
    assert_eq!(got, want);
}

#[test]
fn profile_then_similarity_and_density_write_their_files() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let p = |name: &str| dir.path().join(name);
    let text = ok(&[
        "profile",
        "lenet5",
        "--dataset",
        "mnist-train",
        "--normalize",
        "mnist",
        "--per-class",
        "5",
        "--out",
        s(&p("cp.bin")),
        "--quiet",
    ]);
    assert!(text.contains("overall synapse density"), "{text}");
    let bytes = std::fs::read(p("cp.bin")).expect("the class-path file");
    assert_eq!(bytes[..8], CLASS_FILE_MAGIC);
    let fp = zoo::lenet5(0).fingerprint().0.into();
    let cp = ClassPaths::load(p("cp.bin"), Some(fp)).expect("loads with the right model");
    assert_eq!(cp.classes(), 10);
    assert!(cp.images_per_class().iter().all(|&n| n <= 5));
    assert!(cp.images_per_class().iter().sum::<usize>() > 0);
    assert_eq!(cp.options().theta, 0.5);

    let text = ok(&[
        "similarity",
        s(&p("cp.bin")),
        "--csv",
        s(&p("sim.csv")),
        "--png",
        s(&p("sim.png")),
        "--svg",
        s(&p("sim.svg")),
    ]);
    assert!(text.contains("mean off-diagonal Jaccard"), "{text}");
    let csv = std::fs::read_to_string(p("sim.csv")).expect("the CSV file");
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 11, "{csv}");
    assert_eq!(rows[0], "class,0,1,2,3,4,5,6,7,8,9");
    assert!(rows.iter().all(|r| r.split(',').count() == 11), "{csv}");
    let png = std::fs::read(p("sim.png")).expect("the PNG file");
    assert_eq!(png[..8], PNG_MAGIC);
    let svg = std::fs::read_to_string(p("sim.svg")).expect("the SVG file");
    assert!(
        svg.starts_with("<svg") && svg.contains("Jaccard"),
        "{}",
        &svg[..100]
    );

    let text = ok(&["density", s(&p("cp.bin")), "--png", s(&p("density.png"))]);
    assert!(
        text.contains("overall") && text.contains("total (weighted)"),
        "{text}"
    );
    let png = std::fs::read(p("density.png")).expect("the PNG file");
    assert_eq!(png[..8], PNG_MAGIC);
    let v: Value = serde_json::from_str(&ok(&["density", s(&p("cp.bin")), "--json"]))
        .expect("density --json prints JSON");
    assert_eq!(v["layers"].as_array().map(Vec::len), Some(7));
    assert_eq!(v["overall"]["layers"].as_array().map(Vec::len), Some(7));
    assert_eq!(
        v["per_class"].as_array().map(Vec::len),
        Some(cp.path_set().len())
    );
    assert!(
        v["overall"]["layers"][1]["weight"].is_null(),
        "pools have no weights"
    );
    let overall = cp.overall();
    let want = overall.density(
        ElementKind::Synapse,
        effpath::algebra::LayerSelection::Weighted,
    );
    assert_eq!(v["overall"]["total_weighted"]["synapse"].as_f64(), want);
}

#[test]
fn merged_shards_equal_the_unsharded_profile_byte_for_byte() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let p = |name: &str| dir.path().join(name);
    let profile = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "profile",
            "lenet5",
            "--dataset",
            "mnist-train",
            "--normalize",
            "mnist",
            "--quiet",
            "--out",
        ];
        let out = p(out);
        args.push(s(&out));
        args.extend(extra);
        ok(&args)
    };
    profile("whole.bin", &["--limit", "200"]);
    profile(
        "a.bin",
        &["--limit", "200", "--shard", "0/2", "--batch-size", "64"],
    );
    let text = profile("b.bin", &["--limit", "200", "--shard", "1/2"]);
    assert!(text.contains("images 100..200"), "{text}");
    ok(&[
        "merge",
        s(&p("a.bin")),
        s(&p("b.bin")),
        "--out",
        s(&p("merged.bin")),
    ]);
    let whole = std::fs::read(p("whole.bin")).expect("whole.bin");
    let merged = std::fs::read(p("merged.bin")).expect("merged.bin");
    assert!(
        whole == merged,
        "merged shards differ from the unsharded profile"
    );
    let a = ClassPaths::load(p("a.bin"), None).expect("a.bin");
    let b = ClassPaths::load(p("b.bin"), None).expect("b.bin");
    let total = |c: &ClassPaths| c.images_per_class().iter().sum::<usize>();
    assert_eq!(
        total(&a) + total(&b),
        total(&ClassPaths::from_bytes(&whole, None).expect("whole"))
    );

    // Another model, or other options: refused, naming the file.
    profile("other.bin", &["--random-weights", "1", "--limit", "50"]);
    let err = fails(&[
        "merge",
        s(&p("a.bin")),
        s(&p("other.bin")),
        "--out",
        s(&p("x.bin")),
    ]);
    assert!(
        err.contains("other.bin") && err.contains("another model"),
        "{err}"
    );
    profile("theta.bin", &["--theta", "0.3", "--limit", "50"]);
    let err = fails(&[
        "merge",
        s(&p("a.bin")),
        s(&p("theta.bin")),
        "--out",
        s(&p("x.bin")),
    ]);
    assert!(err.contains("theta.bin") && err.contains("theta"), "{err}");
    assert!(!p("x.bin").exists());

    // A file of another model needs no model to compare its classes ...
    let text = ok(&[
        "similarity",
        s(&p("other.bin")),
        "--kind",
        "neuron",
        "--layers",
        "weighted",
    ]);
    assert!(text.contains("neurons, weighted layers"), "{text}");
    // ... but the library refuses it for the built-in LeNet-5.
    let fp = zoo::lenet5(0).fingerprint().0.into();
    let err = ClassPaths::load(p("other.bin"), Some(fp)).expect_err("another model");
    assert!(
        matches!(
            err,
            ExtractError::Algebra(AlgebraError::FingerprintMismatch { .. })
        ),
        "{err}"
    );
    assert!(ClassPaths::load(p("whole.bin"), Some(fp)).is_ok());
}

#[test]
fn bad_path_command_inputs_are_one_line_errors() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let p = |name: &str| dir.path().join(name);
    std::fs::write(p("junk.bin"), b"EFCLASS\x01\x01\0\0\0\0\0").expect("write");
    let err = fails(&["similarity", s(&p("junk.bin"))]);
    assert!(
        err.contains("junk.bin") && err.contains("truncated"),
        "{err}"
    );
    let err = fails(&["density", s(&p("missing.bin"))]);
    assert!(err.contains("missing.bin"), "{err}");
    let err = fails(&["similarity", s(&p("junk.bin")), "--png", s(&p("x.jpg"))]);
    assert!(err.contains("--png") && err.contains(".png"), "{err}");
    let err = fails(&[
        "extract",
        "lenet5",
        "--dataset",
        "mnist-test",
        "--index",
        "0",
        "--theta",
        "1.5",
    ]);
    assert!(err.contains("theta"), "{err}");
    let err = fails(&[
        "extract",
        "lenet5",
        "--dataset",
        "mnist-test",
        "--index",
        "0",
        "--rank",
        "11",
    ]);
    assert!(err.contains("rank 11"), "{err}");
    let err = fails(&[
        "profile",
        "lenet5",
        "--dataset",
        "mnist-train",
        "--limit",
        "1",
        "--shard",
        "0/2",
        "--out",
        s(&p("empty.bin")),
    ]);
    assert!(err.contains("no images"), "{err}");
    let usage = effpath(&[
        "profile",
        "lenet5",
        "--dataset",
        "mnist-train",
        "--shard",
        "2/2",
        "--out",
        s(&p("x.bin")),
    ]);
    assert_eq!(usage.status.code(), Some(2));
    let usage = effpath(&["merge", "--out", s(&p("x.bin"))]);
    assert_eq!(usage.status.code(), Some(2));
}
