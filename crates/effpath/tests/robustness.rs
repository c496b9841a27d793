//! Bad inputs across the crates, as seen through the facade: each is a typed error that says
//! what and where — never a panic, a hang or a silently wrong result. (The full table is in
//! `docs/robustness.md`; decoder-specific cases live next to each decoder.)

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use effpath::extract::{ExtractError, FeatureOptions, OptionIssue, ProfileOptions};
use effpath::guard::DetectorFile;
use effpath::ir::{IrError, zoo};
use effpath::ndarray::{Array2, ArrayD, IxDyn};
use effpath::{ClassPaths, Detector, DetectorKind, DetectorModel, ExtractOptions, Extractor};

fn training() -> (Array2<f64>, Vec<bool>) {
    let x = Array2::from_shape_fn((16, 4), |(i, j)| {
        ((i * 5 + j * 3) % 7) as f64 / 7.0 + if i >= 8 { 0.5 } else { 0.0 }
    });
    (x, (0..16).map(|i| i >= 8).collect())
}

fn detector_file(kind: DetectorKind) -> serde_json::Value {
    let (x, y) = training();
    let model = DetectorModel::fit(&kind.config(1), &x, &y).unwrap();
    let file = DetectorFile::new(
        effpath::ir::Fingerprint([0; 32]),
        FeatureOptions::default(),
        (0..4).map(|i| format!("f{i}")).collect(),
        model,
        &x,
        0.05,
    )
    .unwrap();
    serde_json::to_value(&file).unwrap()
}

/// A detector file whose first tree node points back to itself used to load (the detector was
/// deserialised without validation) and then loop forever when scoring.
#[test]
fn a_detector_file_with_a_cyclic_tree_is_refused() {
    let mut v = detector_file(DetectorKind::RandomForest);
    let root = &mut v["detector"]["model"]["trees"][0][0];
    assert!(root.get("split").is_some(), "{root}");
    root["split"]["left"] = 0.into();
    let json = serde_json::to_vec(&v).unwrap();
    let start = Instant::now();
    let err = DetectorFile::from_json(&json, "cyclic.json")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cyclic.json") && err.contains("tree node 0"),
        "{err}"
    );
    assert!(start.elapsed() < Duration::from_secs(1));

    let mut v = detector_file(DetectorKind::RandomForest);
    v["detector"]["model"]["trees"][0][0]["split"]["feature"] = 99.into();
    let json = serde_json::to_vec(&v).unwrap();
    assert!(DetectorFile::from_json(&json, "f.json").is_err());
}

#[test]
fn a_detector_file_of_another_format_or_version_is_refused() {
    let mut v = detector_file(DetectorKind::Linear);
    v["version"] = 2.into();
    let err = DetectorFile::from_json(&serde_json::to_vec(&v).unwrap(), "d.json")
        .unwrap_err()
        .to_string();
    assert!(err.contains("version 2"), "{err}");
    assert!(DetectorFile::from_json(b"{", "d.json").is_err());
}

/// Without any normal row the threshold used to be infinite, which JSON cannot hold (it was
/// written as `null` and did not load back).
#[test]
fn a_detector_file_without_rows_round_trips() {
    let (x, y) = training();
    let model = DetectorModel::fit(&DetectorKind::Linear.config(1), &x, &y).unwrap();
    let file = DetectorFile::new(
        effpath::ir::Fingerprint([0xab; 32]),
        FeatureOptions::default(),
        (0..4).map(|i| format!("f{i}")).collect(),
        model,
        &Array2::zeros((0, 4)),
        0.05,
    )
    .unwrap();
    let dir = std::env::temp_dir().join(format!("effpath-guard-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("d.json");
    file.save(&path).unwrap();
    let back = DetectorFile::load(&path);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(back.unwrap(), file);
}

#[test]
fn non_finite_inputs_are_errors_before_extraction() {
    let net = zoo::lenet5(0);
    let mut x = ArrayD::<f32>::zeros(IxDyn(&[1, 1, 28, 28]));
    x[[0, 0, 3, 4]] = f32::NAN;
    let err = net.forward(&x).unwrap_err();
    assert!(
        matches!(
            err,
            IrError::NonFinite {
                tensor: effpath::ir::NonFiniteTensor::Input,
                index: 88
            }
        ),
        "{err}"
    );
    let ex = Extractor::new(&net, ExtractOptions::default()).unwrap();
    assert!(matches!(
        ex.extract(&x),
        Err(ExtractError::Ir(IrError::NonFinite { .. }))
    ));
    let labels = [0usize];
    let err = ClassPaths::profile(&net, &x, &labels, &ProfileOptions::default(), |_, _| {});
    assert!(err.is_err());
}

#[test]
fn non_finite_activations_are_errors_naming_the_tensor() {
    // Finite weights and input, but an overflowing activation: 1e30 · 1e30.
    let mut net = zoo::lenet5(0);
    for mut t in net.parameters_mut(0) {
        t.fill(1e30);
    }
    let x = ArrayD::<f32>::from_elem(IxDyn(&[1, 1, 28, 28]), 1e30);
    let ex = Extractor::new(&net, ExtractOptions::default()).unwrap();
    match ex.extract(&x) {
        Err(ExtractError::NonFinite { tensor, .. }) => assert!(!tensor.is_empty()),
        other => panic!("expected a non-finite error, got {other:?}"),
    }
}

#[test]
fn theta_outside_zero_one_is_an_error() {
    let net = zoo::lenet5(0);
    for theta in [0.0, -0.5, 1.0000001, f64::NAN, f64::INFINITY] {
        let o = ExtractOptions::default().with_theta(theta);
        assert!(
            matches!(
                Extractor::new(&net, o),
                Err(ExtractError::Options(OptionIssue::Theta(_)))
            ),
            "{theta}"
        );
    }
    assert!(Extractor::new(&net, ExtractOptions::default().with_theta(1.0)).is_ok());
}

#[test]
fn a_class_path_file_of_another_model_is_refused() {
    let net = zoo::lenet5(1);
    let x = ArrayD::from_shape_fn(IxDyn(&[3, 1, 28, 28]), |d| {
        ((d[0] + d[2] * d[3]) % 5) as f32 / 5.0
    });
    let labels: Vec<usize> = net
        .predict(&x)
        .unwrap()
        .rows()
        .into_iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .fold(0, |b, (i, v)| if *v > r[b] { i } else { b })
        })
        .collect();
    let cp = ClassPaths::profile(&net, &x, &labels, &ProfileOptions::default(), |_, _| {}).unwrap();
    let bytes = cp.to_bytes();
    let other = zoo::lenet5(2).fingerprint().0.into();
    let err = ClassPaths::from_bytes(&bytes, Some(other))
        .unwrap_err()
        .to_string();
    assert!(err.contains("fingerprint"), "{err}");
    let mut newer = bytes.clone();
    newer[8] = 2;
    let err = ClassPaths::from_bytes(&newer, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("version"), "{err}");
}
