//! `effpath demo` on a few images: the pipeline runs end to end and writes its report.

#![allow(clippy::unwrap_used)]

use std::process::Command;

#[test]
fn demo_writes_a_complete_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_effpath"))
        .args([
            "demo",
            "--per-class",
            "4",
            "--repetitions",
            "2",
            "--attacks",
            "fgsm,deepfool,random-noise",
            "-q",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}\n{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    for attack in ["fgsm", "deepfool", "random-noise"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(attack) && l.contains('±')),
            "no AUC row for {attack}:\n{stdout}"
        );
    }
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("results.json")).unwrap()).unwrap();
    assert_eq!(results["normal_images"], 40);
    let aucs = results["auc"].as_array().unwrap();
    assert_eq!(aucs.len(), 4, "one entry per detector");
    for d in aucs {
        for per_attack in d["auc"].as_array().unwrap() {
            for a in per_attack.as_array().unwrap() {
                let a = a.as_f64().unwrap();
                assert!((0.0..=1.0).contains(&a));
            }
        }
    }
    let csv = std::fs::read_to_string(dir.path().join("auc.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 4 * 3);
    let html = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("AUC per attack"));
    let sweeps = std::fs::read_to_string(dir.path().join("sweeps.csv")).unwrap();
    for sweep in [
        "sweep_layers",
        "sweep_training_size",
        "sweep_generalisation",
        "sweep_theta",
    ] {
        let rows: Vec<&str> = sweeps
            .lines()
            .filter(|l| l.starts_with(&format!("{sweep},")))
            .collect();
        assert!(rows.len() >= 3 * 3, "{sweep}: {} rows", rows.len());
        for r in rows {
            let auc: f64 = r.rsplit(',').next().unwrap().parse().unwrap();
            assert!((0.0..=1.0).contains(&auc), "{r}");
        }
    }
    for stem in [
        "sweep_theta",
        "sweep_layers",
        "roc_linear",
        "roc_random-forest",
        "similarity_distribution",
        "layer_similarity",
        "class_jaccard",
    ] {
        let png = std::fs::read(dir.path().join(format!("{stem}.png"))).unwrap();
        assert_eq!(&png[..4], b"\x89PNG", "{stem}.png");
        assert!(dir.path().join(format!("{stem}.svg")).exists());
    }
}

#[test]
fn demo_rejects_unknown_attacks() {
    let out = Command::new(env!("CARGO_BIN_EXE_effpath"))
        .args(["demo", "--attacks", "fgsm,nope", "-q"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown attack `nope`"));
}
