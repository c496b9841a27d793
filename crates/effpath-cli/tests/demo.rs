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
    // Operating points: TPR at 1 % and 5 % FPR per detector and attack, in the table,
    // results.json and operating_points.csv.
    assert!(stdout.contains("TPR at 1.00% FPR") && stdout.contains("TPR at 5.00% FPR"));
    for d in aucs {
        assert_eq!(d["target_fprs"], serde_json::json!([0.01, 0.05]));
        let summary = d["operating_summary"].as_array().unwrap();
        assert_eq!(summary.len(), 3, "one entry per attack");
        for per_attack in summary {
            let per_target = per_attack.as_array().unwrap();
            assert_eq!(per_target.len(), 2);
            let tpr: Vec<f64> = per_target
                .iter()
                .map(|o| o["tpr"][0].as_f64().unwrap())
                .collect();
            assert!(tpr.iter().all(|t| (0.0..=1.0).contains(t)), "{tpr:?}");
            assert!(tpr[0] <= tpr[1], "TPR grows with the allowed FPR: {tpr:?}");
        }
        for per_attack in d["operating_points"].as_array().unwrap() {
            for (points, target) in per_attack.as_array().unwrap().iter().zip([0.01, 0.05]) {
                for p in points.as_array().unwrap() {
                    assert!(p["train_fpr"].as_f64().unwrap() <= target + 1e-12, "{p}");
                }
            }
        }
    }
    let ops = std::fs::read_to_string(dir.path().join("operating_points.csv")).unwrap();
    assert_eq!(ops.lines().count(), 1 + 4 * 3 * 2);
    let csv = std::fs::read_to_string(dir.path().join("auc.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 4 * 3);
    let html = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("AUC per attack"));
    assert!(html.contains("TPR at a fixed false-positive rate"));
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
