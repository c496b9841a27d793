//! ONNX conformance: the `pytorch-converted`, `pytorch-operator` and `light` vectors produced by
//! ONNX itself (copied into `tests/data/onnx-conformance`, Apache-2.0). A supported case must
//! reproduce `output_0.pb` from `input_0.pb`; an unsupported one must fail naming its op.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use effpath_ir::onnx::{self, tensor};
use effpath_ir::{IrError, Network, NodeIssue};
use ndarray::ArrayD;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/onnx-conformance")
}

fn read(path: &Path) -> ArrayD<f32> {
    tensor::tensor_to_f32(&tensor::read_tensor_file(path).unwrap()).unwrap()
}

/// Max violation of |got − want| ≤ atol + rtol·|want| (≤ 0 means within tolerance).
fn check_close(got: &ArrayD<f32>, want: &ArrayD<f32>, rtol: f32, atol: f32) -> Result<(), String> {
    let got = got
        .view()
        .into_shape_with_order(want.len())
        .map_err(|e| e.to_string())?;
    if got.len() != want.len() {
        return Err(format!("{} values, expected {}", got.len(), want.len()));
    }
    for (i, (g, w)) in got.iter().zip(want.iter()).enumerate() {
        let within = (g - w).abs() <= atol + rtol * w.abs();
        if !within {
            return Err(format!("value {i}: got {g}, expected {w}"));
        }
    }
    Ok(())
}

/// How one case ended.
enum Outcome {
    /// Imported and reproduced `output_0.pb`.
    Reproduced,
    /// The import failed.
    Refused(IrError),
    /// It imported but the forward pass failed or gave other values.
    Failed(String),
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Reproduced => f.write_str("reproduced"),
            Outcome::Refused(e) => write!(f, "refused: {e}"),
            Outcome::Failed(msg) => write!(f, "failed: {msg}"),
        }
    }
}

fn run_case(dir: &Path) -> Outcome {
    match onnx::load(dir.join("model.onnx")) {
        Err(e) => Outcome::Refused(e),
        Ok(net) => match reproduce(&net, dir) {
            Ok(()) => Outcome::Reproduced,
            Err(msg) => Outcome::Failed(msg),
        },
    }
}

fn reproduce(net: &Network, dir: &Path) -> Result<(), String> {
    let set = dir.join("test_data_set_0");
    let input = read(&set.join("input_0.pb"));
    let want = read(&set.join("output_0.pb"));
    let acts = net.forward(&input).map_err(|e| format!("forward: {e}"))?;
    let got = acts.get(net.output());
    check_close(got, &want, 1e-3, 1e-5).map_err(|e| format!("MISMATCH {e}"))
}

/// Cases expected to fail, with the ONNX op type of the node the import must refuse (Pad,
/// dilated Conv, LeakyRelu, Sigmoid and Tanh import now).
const UNSUPPORTED: &[(&str, &str)] = &[
    ("test_MaxPool2d_stride_padding_dilation", "MaxPool"),
    ("test_operator_add_broadcast", "Add"),
    ("test_operator_addmm", "Gemm"),
    ("test_operator_basic", "Add"),
    ("test_operator_concat2", "Concat"),
    ("test_operator_maxpool", "MaxPool"),
    ("test_operator_mm", "Gemm"),
    ("test_operator_params", "Add"),
    ("test_operator_reduced_mean", "ReduceMean"),
];

#[test]
fn pytorch_cases_reproduce_or_fail_naming_the_op() {
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for suite in ["pytorch-converted", "pytorch-operator"] {
        let mut dirs: Vec<_> = std::fs::read_dir(data().join(suite))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        dirs.sort();
        for dir in dirs {
            let name = dir.file_name().unwrap().to_string_lossy().to_string();
            let outcome = run_case(&dir);
            let expected_fail = UNSUPPORTED
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, op)| *op);
            // An expected failure is a refusal of a node of the named op, as a typed node
            // issue: a malformed input, an unsupported construct or a refused attribute, never
            // a builder error (which would be effpath mis-mapping a node it accepted).
            match (&outcome, expected_fail) {
                (Outcome::Reproduced, None) => report.push(format!("{name}: reproduced")),
                (Outcome::Refused(e @ IrError::OnnxNode { op_type, issue, .. }), Some(op))
                    if op_type == op && !matches!(**issue, NodeIssue::Build(_)) =>
                {
                    report.push(format!("{name}: rejected: {e}"))
                }
                _ => failures.push(format!(
                    "{name}: {outcome} (expected failure naming: {expected_fail:?})"
                )),
            }
        }
    }
    println!("{}", report.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(report.len() >= 39, "only {} cases found", report.len());
}

/// The `light/` architectures: weights come from `ConstantOfShape`; the input is ONNX's own
/// dummy input, `arange(n).reshape(shape) / n` in float32.
const LIGHT: &[&str] = &[
    "bvlc_alexnet",
    "zfnet512",
    "vgg19",
    "resnet50",
    "squeezenet",
    "inception_v1",
    "inception_v2",
    "densenet121",
    "shufflenet",
];

fn run_light(name: &str) -> Result<(), String> {
    let dir = data().join("light");
    let net = onnx::load(dir.join(format!("light_{name}.onnx"))).map_err(|e| e.to_string())?;
    let want = read(&dir.join(format!("light_{name}_output_0.pb")));
    let n: usize = net.input_shape().iter().product();
    let input = ArrayD::from_shape_fn(ndarray::IxDyn(net.input_shape()), |_| 0.0f32);
    let input = ArrayD::from_shape_vec(
        input.raw_dim(),
        (0..n).map(|i| i as f32 / n as f32).collect(),
    )
    .unwrap();
    let acts = net.forward(&input).map_err(|e| format!("forward: {e}"))?;
    check_close(acts.get(net.output()), &want, 1e-3, 1e-5).map_err(|e| format!("MISMATCH {e}"))
}

#[test]
fn light_architectures_import_and_reproduce() {
    let mut failures = Vec::new();
    for name in LIGHT {
        match run_light(name) {
            Ok(()) => println!("{name}: reproduced"),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
