//! features → fit-detector → detect on the shipped LeNet: normal digits pass, uniform noise
//! images are flagged; mismatched files are refused.

#![allow(clippy::unwrap_used)]

use std::path::Path;

mod common;
use common::{effpath, ok};

fn noise(path: &Path, n: usize, seed: u64) {
    let mut s = seed;
    let x = effpath::ndarray::Array4::from_shape_fn((n, 1, 28, 28), |_| {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 40) as f32 / (1u64 << 24) as f32
    });
    effpath::data::write_npy(path, &x).unwrap();
}

#[test]
fn detector_pipeline_flags_noise_and_passes_digits() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    ok(&[
        "profile",
        "lenet5-mnist",
        "--dataset",
        "mnist-train",
        "--per-class",
        "100",
        "-q",
        "--out",
        &p("cp.bin"),
    ]);
    noise(Path::new(&p("noise.npy")), 150, 1);
    noise(Path::new(&p("noise2.npy")), 20, 2);
    ok(&[
        "features",
        "lenet5-mnist",
        "--classpaths",
        &p("cp.bin"),
        "--dataset",
        "mnist-test",
        "--limit",
        "300",
        "-q",
        "--out",
        &p("f0.csv"),
    ]);
    ok(&[
        "features",
        "lenet5-mnist",
        "--classpaths",
        &p("cp.bin"),
        "--input",
        &p("noise.npy"),
        "-q",
        "--out",
        &p("f1.csv"),
    ]);
    let csv = std::fs::read_to_string(p("f0.csv")).unwrap();
    assert!(csv.starts_with("# effpath-features {"));
    assert_eq!(csv.lines().count(), 302);
    let fit = ok(&[
        "fit-detector",
        "--normal",
        &p("f0.csv"),
        "--adversarial",
        &p("f1.csv"),
        "--model",
        "linear",
        "--out",
        &p("det.json"),
    ]);
    assert!(fit.contains("training AUC"), "{fit}");
    let (cp, det) = (p("cp.bin"), p("det.json"));
    let json = |input: &[&str]| -> serde_json::Value {
        let mut args = vec![
            "detect",
            "lenet5-mnist",
            "--classpaths",
            &cp,
            "--detector",
            &det,
            "--json",
        ];
        args.extend_from_slice(input);
        serde_json::from_str(&ok(&args)).unwrap()
    };
    let flagged = |v: &serde_json::Value| {
        v["images"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["flagged"] == true)
            .count()
    };
    let digits = json(&["--dataset", "mnist-test", "--limit", "600"]);
    let fresh_noise = json(&["--input", &p("noise2.npy")]);
    // Held-out digits (300..600 were not used for training) mostly pass; fresh noise is caught.
    assert!(
        flagged(&digits) < 600 / 5,
        "{} of 600 digits flagged",
        flagged(&digits)
    );
    assert!(
        flagged(&fresh_noise) >= 18,
        "{} of 20 noise images flagged",
        flagged(&fresh_noise)
    );
    // The white-box attack on this guard: every success it reports fools the classifier
    // and passes the detector when `detect` checks it afresh.
    ok(&[
        "attack",
        "lenet5-mnist",
        "--attack",
        "white-box",
        "--classpaths",
        &cp,
        "--detector",
        &det,
        "--dataset",
        "mnist-test",
        "--per-class",
        "2",
        "--param",
        "steps=10",
        "--param",
        "binary_steps=1",
        "-q",
        "--out",
        &p("wb.npz"),
    ]);
    let success = effpath::data::read_npz::<u8>(Path::new(&p("wb.npz")), "success").unwrap();
    let label = effpath::data::read_npz::<i64>(Path::new(&p("wb.npz")), "label").unwrap();
    let checked = json(&["--input", &p("wb.npz")]);
    let rows = checked["images"].as_array().unwrap();
    assert_eq!(rows.len(), success.len());
    assert!(success.iter().any(|&s| s == 1), "no white-box success");
    for (k, row) in rows.iter().enumerate().filter(|(k, _)| success[*k] == 1) {
        assert_eq!(row["flagged"], false, "success {k} is flagged: {row}");
        assert_ne!(row["predicted"].as_i64(), Some(label[k]), "{row}");
    }
    // Without its defence the white-box attack is refused with one line.
    let out = effpath(&[
        "attack",
        "lenet5-mnist",
        "--attack",
        "white-box",
        "--dataset",
        "mnist-test",
        "--limit",
        "1",
        "--out",
        &p("wb2.npz"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--classpaths") && err.lines().count() == 1,
        "{err}"
    );
    // A detector for another model is refused by `detect`.
    let out = effpath(&[
        "detect",
        "lenet5",
        "--classpaths",
        &p("cp.bin"),
        "--detector",
        &p("det.json"),
        "--dataset",
        "mnist-test",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error:") && !err.contains("panicked"),
        "{err}"
    );
    // Pixel values outside [0, 1] are refused.
    let bad = effpath::ndarray::Array4::<f32>::from_elem((1, 1, 28, 28), 3.0);
    effpath::data::write_npy(p("bad.npy"), &bad).unwrap();
    let out = effpath(&[
        "features",
        "lenet5-mnist",
        "--classpaths",
        &p("cp.bin"),
        "--input",
        &p("bad.npy"),
        "--out",
        &p("x.csv"),
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("outside [0, 1]"));

    // --input is pixels normalised by the model's normalisation; --normalized takes model
    // inputs as given: the same digits both ways give the same feature rows.
    let test = effpath::data::Mnist::embedded_test().unwrap();
    let pixels = test
        .to_tensor(0..8, effpath::data::Normalization::None)
        .unwrap();
    let normalized = test
        .to_tensor(0..8, effpath::data::Normalization::MNIST)
        .unwrap();
    effpath::data::write_npy(p("pixels.npy"), &pixels).unwrap();
    effpath::data::write_npy(p("normalized.npy"), &normalized).unwrap();
    let rows = |name: &str, input: &[&str]| {
        let mut args = vec![
            "features",
            "lenet5-mnist",
            "--classpaths",
            &cp,
            "-q",
            "--out",
        ];
        let out = p(name);
        args.push(&out);
        args.extend_from_slice(input);
        ok(&args);
        let csv = std::fs::read_to_string(&out).unwrap();
        csv.lines()
            .filter(|l| !l.starts_with('#'))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let from_pixels = rows("fp.csv", &["--input", &p("pixels.npy")]);
    let from_normalized = rows("fn.csv", &["--input", &p("normalized.npy"), "--normalized"]);
    assert!(from_pixels.len() > 1, "{from_pixels:?}");
    assert_eq!(from_pixels, from_normalized);
    // An attack archive holds pixels: --normalized is refused for it.
    let out = effpath(&[
        "detect",
        "lenet5-mnist",
        "--classpaths",
        &cp,
        "--detector",
        &det,
        "--input",
        &p("wb.npz"),
        "--normalized",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--normalized"));
}
