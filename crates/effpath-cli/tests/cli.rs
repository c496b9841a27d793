//! End-to-end tests of the `effpath` binary: output contents, JSON shapes, agreement with
//! the library run in-process, and one-line errors (never a panic) on bad input.

use std::path::{Path, PathBuf};

use effpath::data::{Mnist, Normalization, write_npy};
use effpath::ir::zoo;
use effpath::ndarray::{Array3, Array4, ArrayD, Axis, IxDyn};
use effpath::onnx;
use proptest::prelude::*;
use serde_json::Value;

mod common;
use common::{effpath, failure, ok, s};

const ALEXNET: &str = "../effpath-ir/tests/data/onnx-conformance/light/light_bvlc_alexnet.onnx";
const MNIST_DIR: &str = "../effpath-data/data/mnist";

fn manifest_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Runs a command that must succeed with `--json`; returns the parsed output.
fn json(args: &[&str]) -> Value {
    let stdout = ok(args);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("bad JSON ({e}): {stdout}"))
}

/// Runs a command that must fail with exit code 1, one `error:` line and nothing on stdout;
/// returns that line.
fn fails(args: &[&str]) -> String {
    let out = failure(args);
    assert!(out.stdout.is_empty(), "stdout: {:?}", out.stdout);
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// An IDX image file (plain) of `n` images `rows`×`cols` with pixel `f(image, flat index)`.
fn idx_images(n: usize, rows: usize, cols: usize, f: impl Fn(usize, usize) -> u8) -> Vec<u8> {
    let mut bytes = vec![0, 0, 8, 3];
    for d in [n, rows, cols] {
        bytes.extend((d as u32).to_be_bytes());
    }
    for i in 0..n {
        bytes.extend((0..rows * cols).map(|p| f(i, p)));
    }
    bytes
}

/// An IDX label file (plain).
fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, 8, 1];
    bytes.extend((labels.len() as u32).to_be_bytes());
    bytes.extend(labels);
    bytes
}

fn logits_of(v: &Value) -> Vec<f64> {
    v["logits"]
        .as_array()
        .expect("logits array")
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
}

/// Checks a `predict --json` output against logits computed in-process.
fn check_prediction(v: &Value, want: &[f32]) {
    let obj = v.as_object().expect("an object");
    assert_eq!(obj.len(), 2, "exactly logits and top5: {v}");
    let got = logits_of(v);
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!((g - *w as f64).abs() <= 1e-5, "{got:?} vs {want:?}");
    }
    let top5 = v["top5"].as_array().expect("top5 array");
    assert_eq!(top5.len(), 5);
    let mut seen = Vec::new();
    for pair in top5.windows(2) {
        assert!(
            pair[0]["logit"].as_f64() >= pair[1]["logit"].as_f64(),
            "{v}"
        );
    }
    for entry in top5 {
        let class = entry["class"].as_u64().expect("class") as usize;
        assert!((entry["logit"].as_f64().expect("logit") - got[class]).abs() < 1e-12);
        assert!(!seen.contains(&class));
        seen.push(class);
    }
    let best = got.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(top5[0]["logit"].as_f64(), Some(best));
}

#[test]
fn inspect_lenet5_lists_nodes_parameters_and_fingerprint() {
    let text = ok(&["inspect", "lenet5"]);
    // conv, relu, pool ×2, flatten, then dense+relu ×2 and the logits layer: 12 nodes.
    assert!(text.contains("12 nodes"), "{text}");
    for name in [
        "conv1", "pool2", "flatten", "fc1", "relu4", "fc3", "Conv2d", "Dense",
    ] {
        assert!(text.contains(name), "{name} missing: {text}");
    }
    assert!(text.contains("parameters: 44,426"), "{text}");
    assert!(text.contains("MACs per sample: 286,120"), "{text}");
    assert!(text.contains("1×28×28"), "{text}");
    assert!(text.contains("classes: 10"), "{text}");
    let fp = text
        .lines()
        .find_map(|l| l.strip_prefix("fingerprint: "))
        .expect("a fingerprint line");
    assert_eq!(fp.len(), 64);
    assert!(fp.chars().all(|c| c.is_ascii_hexdigit()), "{fp}");
    assert_eq!(fp, zoo::lenet5(0).fingerprint().to_string());
}

#[test]
fn inspect_json_matches_the_network() {
    let v = json(&["inspect", "lenet5", "--json"]);
    let net = zoo::lenet5(0);
    let layers = v["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), net.nodes().len());
    assert_eq!(v["parameters"], 44_426);
    assert_eq!(v["num_classes"], 10);
    assert_eq!(v["input_shape"], serde_json::json!([1, 28, 28]));
    assert_eq!(v["fingerprint"], net.fingerprint().to_string());
    let params: u64 = layers.iter().filter_map(|l| l["parameters"].as_u64()).sum();
    assert_eq!(params, 44_426);
    let macs: u64 = layers.iter().filter_map(|l| l["macs"].as_u64()).sum();
    assert_eq!(v["macs"].as_u64(), Some(macs));
    assert_eq!(layers[0]["name"], "conv1");
    assert_eq!(layers[0]["op"], "Conv2d");
    assert_eq!(layers[0]["inputs"], serde_json::json!([0]));
    assert_eq!(layers[0]["output_shape"], serde_json::json!([6, 24, 24]));
    assert_eq!(layers[11]["inputs"], serde_json::json!([11]));
}

#[test]
fn random_weights_change_the_fingerprint() {
    let base = json(&["inspect", "lenet5", "--json"]);
    let random = json(&["inspect", "lenet5", "--random-weights", "7", "--json"]);
    assert_ne!(base["fingerprint"], random["fingerprint"]);
    let want = zoo::lenet5(0).with_random_weights(7).fingerprint();
    assert_eq!(random["fingerprint"], want.to_string());
    assert_eq!(base["parameters"], random["parameters"]);
}

#[test]
fn inspect_onnx_file_keeps_the_fingerprint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("lenet.onnx");
    onnx::save(&zoo::lenet5(0), &path).expect("save");
    let from_file = json(&["inspect", s(&path), "--json"]);
    let builtin = json(&["inspect", "lenet5", "--json"]);
    assert_eq!(from_file["fingerprint"], builtin["fingerprint"]);
    assert_eq!(from_file["layers"].as_array().map(Vec::len), Some(12));
}

#[test]
fn inspect_real_alexnet_onnx() {
    let path = manifest_path(ALEXNET);
    let text = ok(&["inspect", s(&path)]);
    for want in [
        "Conv2d",
        "Lrn",
        "MaxPool2d",
        "Dense",
        "Softmax",
        "3×224×224",
    ] {
        assert!(text.contains(want), "{want} missing: {text}");
    }
    assert!(text.contains("classes: 1000"), "{text}");
    let v = json(&["inspect", s(&path), "--json"]);
    let ops: Vec<&str> = v["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .filter_map(|l| l["op"].as_str())
        .collect();
    assert_eq!(ops.iter().filter(|&&op| op == "Conv2d").count(), 5);
    assert_eq!(ops.iter().filter(|&&op| op == "Lrn").count(), 2);
}

#[test]
fn predict_npy_matches_in_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    let net = zoo::lenet5(0);
    // Model inputs outside [0, 1]: read as given with --normalized.
    let x = ArrayD::from_shape_fn(IxDyn(&[1, 28, 28]), |d| {
        ((d[1] * 28 + d[2]) % 17) as f32 / 8.0
    });
    let want = net.predict(&x).expect("predict");
    let want: Vec<f32> = want.iter().copied().collect();
    // Both (C,H,W) and (1,C,H,W) are accepted.
    for (name, array) in [
        ("chw.npy", x.clone()),
        ("nchw.npy", x.clone().insert_axis(Axis(0))),
    ] {
        let path = dir.path().join(name);
        write_npy(&path, &array).expect("write npy");
        let args = ["predict", "lenet5", "--input", s(&path), "--normalized"];
        check_prediction(&json(&[&args[..], &["--json"]].concat()), &want);
        let text = ok(&args);
        assert!(text.contains("rank") && text.contains("logit"), "{text}");
        assert_eq!(text.lines().count(), 2 + 1 + 5, "{text}");
        // Without --normalized, --input holds [0, 1] pixels: these values are refused.
        let line = fails(&["predict", "lenet5", "--input", s(&path)]);
        assert!(
            line.contains("outside [0, 1]") && line.contains("--normalized"),
            "{line}"
        );
    }
}

/// `--input` is [0, 1] pixels in every command, normalised by the model's recorded
/// normalisation (or `--normalize`); `--normalized` takes model inputs as given. The same
/// digit as pixels and as manually normalised values gives the same prediction and path;
/// the same file read both ways does not.
#[test]
fn input_is_pixels_unless_normalized() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = |name: &str| dir.path().join(name);
    let test = Mnist::embedded_test().expect("embedded MNIST");
    let pixels = test.to_tensor(0..1, Normalization::None).expect("tensor");
    let normalized = test.to_tensor(0..1, Normalization::MNIST).expect("tensor");
    write_npy(&p("pixels.npy"), &pixels).expect("write");
    write_npy(&p("normalized.npy"), &normalized).expect("write");
    let model = "lenet5-mnist"; // records the MNIST normalisation
    let predict = |extra: &[&str]| json(&[&["predict", model, "--json"][..], extra].concat());
    let from_pixels = predict(&["--input", s(&p("pixels.npy"))]);
    let from_normalized = predict(&["--input", s(&p("normalized.npy")), "--normalized"]);
    let from_dataset = predict(&["--dataset", "mnist-test", "--index", "0"]);
    let explicit = predict(&["--input", s(&p("pixels.npy")), "--normalize", "mnist"]);
    for other in [&from_normalized, &from_dataset, &explicit] {
        check_prediction(
            other,
            &logits_of(&from_pixels)
                .iter()
                .map(|&v| v as f32)
                .collect::<Vec<_>>(),
        );
        assert_eq!(other["top5"], from_pixels["top5"]);
    }
    // The same pixels taken as model inputs are another input.
    let as_given = predict(&["--input", s(&p("pixels.npy")), "--normalized"]);
    let differ = logits_of(&as_given)
        .iter()
        .zip(logits_of(&from_pixels))
        .any(|(a, b)| (a - b).abs() > 1e-3);
    assert!(differ, "{as_given} vs {from_pixels}");

    // extract: the same path JSON (timings aside) both ways.
    let extract = |name: &str, extra: &[&str]| {
        let out = p(name);
        ok(&[&["extract", model, "--json", s(&out)][..], extra].concat());
        let text = std::fs::read_to_string(&out).expect("the JSON file");
        let mut v: Value = serde_json::from_str(&text).expect("JSON");
        v.as_object_mut().expect("an object").remove("timing_s");
        v
    };
    let a = extract("a.json", &["--input", s(&p("pixels.npy"))]);
    let b = extract(
        "b.json",
        &["--input", s(&p("normalized.npy")), "--normalized"],
    );
    let c = extract("c.json", &["--dataset", "mnist-test", "--index", "0"]);
    assert_eq!(a, b);
    assert_eq!(a, c);
    let d = extract("d.json", &["--input", s(&p("pixels.npy")), "--normalized"]);
    assert_ne!(a["layers"], d["layers"]);

    // The flag is the same in every command with --input, and means the same.
    for cmd in ["predict", "extract", "features", "detect"] {
        let help = ok(&[cmd, "--help"]);
        assert!(
            help.contains("--normalized") && help.contains("already normalised for the model"),
            "{cmd}: {help}"
        );
    }
    // --normalized needs --input and contradicts --normalize (usage errors).
    for args in [
        &[
            "predict",
            model,
            "--dataset",
            "mnist-test",
            "--index",
            "0",
            "--normalized",
        ][..],
        &[
            "predict",
            model,
            "--input",
            s(&p("pixels.npy")),
            "--normalized",
            "--normalize",
            "mnist",
        ],
    ] {
        assert_eq!(effpath(args).status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn predict_idx_and_dataset_match_in_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("images.idx");
    let bytes = idx_images(3, 28, 28, |i, p| ((i * 31 + p * 7) % 256) as u8);
    std::fs::write(&path, bytes).expect("write idx");
    let net = zoo::lenet5(0).with_random_weights(3);
    let x = Array4::from_shape_fn((1, 1, 28, 28), |(_, _, r, c)| {
        Normalization::MNIST.apply_value(((2 * 31 + (r * 28 + c) * 7) % 256) as f32 / 255.0)
    });
    let want: Vec<f32> = net
        .predict(&x.into_dyn())
        .expect("predict")
        .iter()
        .copied()
        .collect();
    let v = json(&[
        "predict",
        "lenet5",
        "--random-weights",
        "3",
        "--images",
        s(&path),
        "--index",
        "2",
        "--normalize",
        "mnist",
        "--json",
    ]);
    check_prediction(&v, &want);

    let test = Mnist::embedded_test().expect("embedded MNIST");
    let x = test.to_tensor(5..6, Normalization::None).expect("tensor");
    let net = zoo::lenet5(0);
    let want: Vec<f32> = net
        .predict(&x.into_dyn())
        .expect("predict")
        .iter()
        .copied()
        .collect();
    let args = [
        "predict",
        "lenet5",
        "--dataset",
        "mnist-test",
        "--index",
        "5",
    ];
    check_prediction(&json(&[&args[..], &["--json"]].concat()), &want);
    let label = test.label(5).expect("label");
    assert!(ok(&args).contains(&format!("(label {label})")));
}

#[test]
fn eval_embedded_mnist_with_limit() {
    let v = json(&[
        "eval",
        "lenet5",
        "--dataset",
        "mnist-test",
        "--limit",
        "200",
        "--json",
    ]);
    let obj = v.as_object().expect("object");
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["accuracy", "confusion", "n", "per_class"]);
    assert_eq!(v["n"], 200);
    let accuracy = v["accuracy"].as_f64().expect("accuracy");
    assert!((0.0..=1.0).contains(&accuracy), "{accuracy}");
    let confusion: Vec<Vec<u64>> = serde_json::from_value(v["confusion"].clone()).expect("matrix");
    assert_eq!(confusion.len(), 10);
    assert!(confusion.iter().all(|row| row.len() == 10));
    assert_eq!(confusion.iter().flatten().sum::<u64>(), 200);
    let trace: u64 = (0..10).map(|c| confusion[c][c]).sum();
    assert!((accuracy - trace as f64 / 200.0).abs() < 1e-12);
    assert_eq!(v["per_class"].as_array().map(Vec::len), Some(10));

    // The same 200 digits from the IDX files on disk, in odd-sized batches, agree.
    let dir = manifest_path(MNIST_DIR);
    let from_files = json(&[
        "eval",
        "lenet5",
        "--images",
        s(&dir.join("t10k-images-idx3-ubyte.gz")),
        "--labels",
        s(&dir.join("t10k-labels-idx1-ubyte.gz")),
        "--limit",
        "200",
        "--batch-size",
        "7",
        "--json",
    ]);
    assert_eq!(from_files, v);

    let text = ok(&[
        "eval",
        "lenet5",
        "--dataset",
        "mnist-test",
        "--limit",
        "50",
        "-q",
    ]);
    for want in [
        "accuracy:",
        "per-class accuracy",
        "confusion matrix",
        "50 images",
    ] {
        assert!(text.contains(want), "{want} missing: {text}");
    }
}

#[test]
fn bad_models_are_one_line_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.onnx");
    let line = fails(&["inspect", s(&missing)]);
    assert!(line.contains("missing.onnx"), "{line}");
    let corrupt = dir.path().join("corrupt.onnx");
    std::fs::write(&corrupt, b"\x08\x07this is not a protobuf model\xff\xff").expect("write");
    for cmd in ["inspect", "predict", "eval"] {
        let mut args = vec![cmd, s(&corrupt)];
        match cmd {
            "predict" => args.extend(["--dataset", "mnist-test", "--index", "0"]),
            "eval" => args.extend(["--dataset", "mnist-test"]),
            _ => {}
        }
        let line = fails(&args);
        assert!(line.contains("corrupt.onnx"), "{line}");
    }
    fails(&["inspect", s(dir.path())]);
}

#[test]
fn bad_inputs_are_one_line_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wrong = dir.path().join("wrong.npy");
    write_npy(&wrong, &Array3::<f32>::zeros((3, 28, 28))).expect("write");
    let line = fails(&["predict", "lenet5", "--input", s(&wrong)]);
    assert!(
        line.contains("3×28×28") && line.contains("1×28×28"),
        "{line}"
    );
    let batch = dir.path().join("batch.npy");
    write_npy(&batch, &Array4::<f32>::zeros((2, 1, 28, 28))).expect("write");
    fails(&["predict", "lenet5", "--input", s(&batch)]);
    let ints = dir.path().join("ints.npy");
    write_npy(&ints, &ArrayD::<i64>::zeros(IxDyn(&[1, 28, 28]))).expect("write");
    fails(&["predict", "lenet5", "--input", s(&ints)]);
    let nan = dir.path().join("nan.npy");
    write_npy(
        &nan,
        &ArrayD::<f32>::from_elem(IxDyn(&[1, 28, 28]), f32::NAN),
    )
    .expect("write");
    fails(&["predict", "lenet5", "--input", s(&nan)]);
    let line = fails(&["predict", "lenet5", "--input", s(&nan), "--normalized"]);
    assert!(line.contains("not finite"), "{line}");

    let images = dir.path().join("images.idx");
    std::fs::write(&images, idx_images(2, 28, 28, |_, _| 9)).expect("write");
    let args = ["predict", "lenet5", "--images", s(&images)];
    let line = fails(&[&args[..], &["--index", "2"]].concat());
    assert!(
        line.contains("out of range") && line.contains("2 images"),
        "{line}"
    );
    let line = fails(&[
        "predict",
        "lenet5",
        "--dataset",
        "mnist-test",
        "--index",
        "99999",
    ]);
    assert!(line.contains("out of range"), "{line}");

    // Images of the wrong size, labels the model does not have, counts that disagree.
    let small = dir.path().join("small.idx");
    std::fs::write(&small, idx_images(2, 5, 5, |_, _| 0)).expect("write");
    let labels = dir.path().join("labels.idx");
    std::fs::write(&labels, idx_labels(&[1, 2])).expect("write");
    let bad_labels = dir.path().join("bad-labels.idx");
    std::fs::write(&bad_labels, idx_labels(&[1, 12])).expect("write");
    let short_labels = dir.path().join("short-labels.idx");
    std::fs::write(&short_labels, idx_labels(&[1])).expect("write");
    let eval = |imgs: &Path, labs: &Path| {
        fails(&["eval", "lenet5", "--images", s(imgs), "--labels", s(labs)])
    };
    assert!(eval(&small, &labels).contains("1×5×5"));
    assert!(eval(&images, &bad_labels).contains("label 12"));
    eval(&images, &short_labels);
    eval(&labels, &labels);
}

#[test]
fn usage_errors_exit_with_2() {
    for args in [
        &["predict", "lenet5"][..],
        &["predict", "lenet5", "--images", "x.idx"],
        &["predict", "lenet5", "--input", "x.npy", "--index", "0"],
        &["eval", "lenet5"],
        &[
            "eval",
            "lenet5",
            "--dataset",
            "mnist-test",
            "--batch-size",
            "0",
        ],
        &[
            "eval",
            "lenet5",
            "--dataset",
            "mnist-test",
            "--normalize",
            "0.5,0",
        ],
        &["inspect"],
        &["frobnicate"],
    ] {
        let out = effpath(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    }
    assert!(effpath(&["--help"]).status.success());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Arbitrary bytes as a model or an input never crash the tool.
    #[test]
    fn arbitrary_files_are_errors_not_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("fuzz.bin");
        std::fs::write(&path, &bytes).expect("write");
        fails(&["inspect", s(&path)]);
        fails(&["predict", "lenet5", "--input", s(&path)]);
        let args = ["predict", "lenet5", "--images", s(&path)];
        fails(&[&args[..], &["--index", "0"]].concat());
    }
}
