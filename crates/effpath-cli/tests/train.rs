//! `effpath train` writes a reproducible model that records its normalisation, and commands
//! reading images use that normalisation by default.

#![allow(clippy::unwrap_used)]

mod common;
use common::effpath;

fn accuracy(model: &str, extra: &[&str]) -> f64 {
    let mut args = vec![
        "eval",
        model,
        "--dataset",
        "mnist-test",
        "--limit",
        "300",
        "--json",
        "-q",
    ];
    args.extend_from_slice(extra);
    let out = effpath(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["accuracy"].as_f64().unwrap()
}

#[test]
fn train_is_reproducible_and_records_the_normalisation() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.onnx");
    let b = dir.path().join("b.onnx");
    for path in [&a, &b] {
        let out = effpath(&[
            "train",
            "--epochs",
            "1",
            "--seed",
            "3",
            "-q",
            "--out",
            path.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("epoch   1"));
    }
    assert_eq!(
        std::fs::read(&a).unwrap(),
        std::fs::read(&b).unwrap(),
        "same seed, same model file"
    );
    let net = effpath::onnx::load(&a).unwrap();
    assert_eq!(net.input_normalization(), Some([0.1307, 0.3081]));
    let model = a.to_str().unwrap();
    let default = accuracy(model, &[]);
    assert!(
        default > 0.9,
        "one epoch should reach 90% on MNIST, got {default}"
    );
    assert_eq!(default, accuracy(model, &["--normalize", "mnist"]));
    assert!(accuracy(model, &["--normalize", "none"]) < default);
}

#[test]
fn shipped_model_is_available_by_name() {
    assert!(accuracy("lenet5-mnist", &[]) > 0.97);
}

#[test]
fn train_rejects_bad_arguments() {
    for args in [
        vec![
            "train",
            "--data",
            "/nonexistent/dir",
            "--normalize",
            "mnist",
            "--out",
            "/tmp/x.onnx",
        ],
        vec![
            "train",
            "--data",
            "/nonexistent/dir",
            "--out",
            "/tmp/x.onnx",
        ],
        vec!["train", "--lr", "-1", "--out", "/tmp/x.onnx"],
        vec!["train", "--schedule", "step:0:0.1", "--out", "/tmp/x.onnx"],
    ] {
        let out = effpath(&args);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with("error:") && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
    let out = effpath(&["train", "--schedule", "linear", "--out", "/tmp/x.onnx"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn resnet_small_trains_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.onnx");
    let data = dir.path().join("mnist");
    std::fs::create_dir_all(&data).unwrap();
    // A 600-image IDX directory cut from the embedded MNIST keeps this test fast.
    let train = effpath::data::Mnist::embedded_train()
        .unwrap()
        .subset(&(0..600).collect::<Vec<_>>())
        .unwrap();
    let test = effpath::data::Mnist::embedded_test()
        .unwrap()
        .subset(&(0..200).collect::<Vec<_>>())
        .unwrap();
    for (set, stem) in [(&train, "train"), (&test, "t10k")] {
        let (n, rows, cols) = set.images().dim();
        let mut img = vec![0, 0, 8, 3];
        for d in [n, rows, cols] {
            img.extend_from_slice(&(d as u32).to_be_bytes());
        }
        img.extend(set.images().iter());
        std::fs::write(data.join(format!("{stem}-images-idx3-ubyte")), img).unwrap();
        let mut lab = vec![0, 0, 8, 1];
        lab.extend_from_slice(&(n as u32).to_be_bytes());
        lab.extend(
            set.labels()
                .iter()
                .map(|&l| u8::try_from(l).expect("IDX labels are bytes")),
        );
        std::fs::write(data.join(format!("{stem}-labels-idx1-ubyte")), lab).unwrap();
    }
    let out = effpath(&[
        "train",
        "--arch",
        "resnet-small",
        "--data",
        data.to_str().unwrap(),
        "--normalize",
        "mnist",
        "--epochs",
        "1",
        "--batch-size",
        "32",
        "--lr",
        "0.05",
        "-q",
        "--out",
        path.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let net = effpath::onnx::load(&path).unwrap();
    assert!(
        net.nodes()
            .iter()
            .any(|n| matches!(n.op, effpath::ir::Op::BatchNorm(_)))
    );
    assert!(
        net.nodes()
            .iter()
            .any(|n| matches!(n.op, effpath::ir::Op::Add))
    );
}
