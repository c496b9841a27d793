//! Real PyTorch exports (`tests/data/pytorch`, made by `make_fixtures.py`): every fixture
//! imports and reproduces PyTorch's logits (max |diff| ≤ 1e-4 · max |logit|), and survives
//! an export/import round trip.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use effpath_ir::onnx;
use ndarray::{ArrayD, IxDyn};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pytorch")
}

/// Every `<family>.<exporter>.onnx` fixture.
fn fixtures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "onnx"))
        .collect();
    v.sort();
    v
}

/// The input batch and PyTorch's logits stored beside a fixture.
fn io(model: &Path, input: &[usize], classes: usize) -> (ArrayD<f32>, Vec<f32>) {
    let bytes = std::fs::read(model.with_extension("bin")).unwrap();
    let floats: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let per: usize = input.iter().product();
    let batch = floats.len() / (per + classes);
    assert_eq!(batch * (per + classes), floats.len(), "{}", model.display());
    let mut shape = vec![batch];
    shape.extend_from_slice(input);
    let x = ArrayD::from_shape_vec(IxDyn(&shape), floats[..batch * per].to_vec()).unwrap();
    (x, floats[batch * per..].to_vec())
}

fn max_rel_diff(got: &[f32], want: &[f32]) -> f32 {
    let scale = want
        .iter()
        .fold(0f32, |m, v| m.max(v.abs()))
        .max(f32::MIN_POSITIVE);
    got.iter()
        .zip(want)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()))
        / scale
}

#[test]
fn every_family_and_exporter_reproduces_pytorch_logits() {
    let all = fixtures();
    assert!(all.len() >= 12, "{} fixtures", all.len());
    for family in [
        "mobilenet",
        "efficientnet",
        "shufflenet",
        "googlenet",
        "mlp",
        "dilated",
    ] {
        for exporter in ["legacy17", "dynamo"] {
            assert!(
                all.iter().any(|p| p.file_name().unwrap().to_string_lossy()
                    == format!("{family}.{exporter}.onnx")),
                "missing fixture {family}.{exporter}"
            );
        }
    }
    let mut failures = Vec::new();
    for path in &all {
        let net = match onnx::load(path) {
            Ok(n) => n,
            Err(e) => {
                failures.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        let classes: usize = net.shape(net.output()).iter().product();
        let (x, want) = io(path, net.input_shape(), classes);
        // The output itself (after a final LogSoftmax, as PyTorch returns it).
        let acts = net.forward(&x).unwrap();
        let got = acts.get(net.output()).as_standard_layout().into_owned();
        let d = max_rel_diff(got.as_slice().unwrap(), &want);
        if d > 1e-4 {
            failures.push(format!(
                "{}: max relative logit difference {d}",
                path.display()
            ));
        }
        // Export and re-import: same function.
        let back = onnx::from_bytes(&onnx::to_bytes(&net)).unwrap();
        assert_eq!(back.fingerprint(), net.fingerprint(), "{}", path.display());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
