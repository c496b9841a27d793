//! `features` and `detect` read the `.npz` archive of `effpath attack`: only its successful
//! examples, rows carrying their original dataset index; a malformed archive is a one-line
//! error.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Output;

use effpath::data::{Mnist, Normalization, NpzArray, archive, write_npz};
use effpath::ndarray::{ArrayD, Axis, IxDyn};

mod common;
use common::{effpath, ok};

/// `(index, label)` of the data rows of a feature CSV.
fn csv_rows(path: &Path) -> Vec<(usize, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(2)
        .map(|l| {
            let mut cells = l.split(',');
            let index = cells.next().unwrap().parse().unwrap();
            (index, cells.next().unwrap().to_string())
        })
        .collect()
}

/// An archive in `effpath attack`'s layout over test digits `picked`, with the given
/// success flags (pixels are the unmodified digits: only the bookkeeping matters here).
fn synthetic_archive(path: &Path, picked: &[usize], success: &[u8], skip: &[&str]) {
    let test = Mnist::embedded_test().unwrap();
    let x = test
        .to_tensor(.., Normalization::None)
        .unwrap()
        .select(Axis(0), picked)
        .into_dyn();
    let n = picked.len();
    let index = ArrayD::from_shape_fn(IxDyn(&[n]), |d| picked[d[0]] as i64);
    let label = ArrayD::from_shape_fn(IxDyn(&[n]), |d| test.labels()[picked[d[0]]] as i64);
    let success = ArrayD::from_shape_vec(IxDyn(&[n]), success.to_vec()).unwrap();
    let arrays: Vec<(&str, NpzArray<'_>)> = vec![
        (archive::ADV, x.view().into()),
        (archive::INDEX, index.view().into()),
        (archive::LABEL, label.view().into()),
        (archive::SUCCESS, success.view().into()),
    ]
    .into_iter()
    .filter(|(name, _)| !skip.contains(name))
    .collect();
    write_npz(path, &arrays).unwrap();
}

#[test]
fn npz_archives_feed_features_and_detect_with_original_indices() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let cp = p("cp.bin");
    ok(&[
        "profile",
        "lenet5-mnist",
        "--dataset",
        "mnist-train",
        "--per-class",
        "30",
        "-q",
        "--out",
        &cp,
    ]);
    // A real archive: every row of `features` is a successful example, by its dataset index.
    ok(&[
        "attack",
        "lenet5-mnist",
        "--attack",
        "fgsm",
        "--dataset",
        "mnist-test",
        "--per-class",
        "3",
        "-q",
        "--out",
        &p("fgsm.npz"),
    ]);
    let index = effpath::data::read_npz::<i64>(p("fgsm.npz"), "index").unwrap();
    let success = effpath::data::read_npz::<u8>(p("fgsm.npz"), "success").unwrap();
    let expected: Vec<usize> = index
        .iter()
        .zip(&success)
        .filter(|(_, s)| **s == 1)
        .map(|(i, _)| *i as usize)
        .collect();
    assert!(!expected.is_empty());
    ok(&[
        "features",
        "lenet5-mnist",
        "--classpaths",
        &cp,
        "--input",
        &p("fgsm.npz"),
        "-q",
        "--out",
        &p("f_fgsm.csv"),
    ]);
    let rows = csv_rows(Path::new(&p("f_fgsm.csv")));
    assert_eq!(
        rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        expected,
        "original indices of the successful examples"
    );

    // A synthetic archive with known failures: rows 1 and 3 failed and are left out.
    let picked = [5, 17, 250, 1033, 1999];
    synthetic_archive(Path::new(&p("syn.npz")), &picked, &[1, 0, 1, 0, 1], &[]);
    ok(&[
        "features",
        "lenet5-mnist",
        "--classpaths",
        &cp,
        "--input",
        &p("syn.npz"),
        "-q",
        "--out",
        &p("f_syn.csv"),
    ]);
    let test = Mnist::embedded_test().unwrap();
    let rows = csv_rows(Path::new(&p("f_syn.csv")));
    let want: Vec<(usize, String)> = [5, 250, 1999]
        .iter()
        .map(|&i| (i, test.labels()[i].to_string()))
        .collect();
    assert_eq!(rows, want, "index and label columns");

    // detect on the same archive: one line per successful example, by original index.
    ok(&[
        "features",
        "lenet5-mnist",
        "--classpaths",
        &cp,
        "--dataset",
        "mnist-test",
        "--limit",
        "100",
        "-q",
        "--out",
        &p("f0.csv"),
    ]);
    ok(&[
        "fit-detector",
        "--normal",
        &p("f0.csv"),
        "--adversarial",
        &p("f_fgsm.csv"),
        "--model",
        "linear",
        "--out",
        &p("det.json"),
    ]);
    let out = ok(&[
        "detect",
        "lenet5-mnist",
        "--classpaths",
        &cp,
        "--detector",
        &p("det.json"),
        "--input",
        &p("syn.npz"),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let indices: Vec<u64> = v["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indices, vec![5, 250, 1999]);
    // The table output carries the same indices.
    let table = ok(&[
        "detect",
        "lenet5-mnist",
        "--classpaths",
        &cp,
        "--detector",
        &p("det.json"),
        "--input",
        &p("syn.npz"),
    ]);
    let first: Vec<&str> = table
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .take(3)
        .collect();
    assert_eq!(first, ["5", "250", "1999"], "{table}");
}

#[test]
fn malformed_archives_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let cp = p("cp.bin");
    ok(&[
        "profile",
        "lenet5-mnist",
        "--dataset",
        "mnist-train",
        "--per-class",
        "5",
        "-q",
        "--out",
        &cp,
    ]);
    let features = |input: &str| {
        effpath(&[
            "features",
            "lenet5-mnist",
            "--classpaths",
            &cp,
            "--input",
            input,
            "-q",
            "--out",
            &p("f.csv"),
        ])
    };
    let check = |out: Output, needle: &str| {
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with("error:") && err.trim_end().lines().count() == 1,
            "{err}"
        );
        assert!(err.contains(needle), "expected {needle:?} in {err}");
        assert!(!err.contains("panicked"), "{err}");
    };
    synthetic_archive(
        Path::new(&p("nosuccess.npz")),
        &[1, 2],
        &[1, 1],
        &["success"],
    );
    check(features(&p("nosuccess.npz")), "missing array(s) success");
    synthetic_archive(Path::new(&p("none.npz")), &[1, 2], &[0, 0], &[]);
    check(
        features(&p("none.npz")),
        "no successful adversarial examples (2 attempted)",
    );
    std::fs::write(p("junk.npz"), b"not a zip").unwrap();
    check(features(&p("junk.npz")), "junk.npz");
    assert!(!Path::new(&p("f.csv")).exists());
}
