//! `effpath demo` on a few images: the pipeline runs end to end and writes its report.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

mod common;

/// Runs `effpath demo -q --out DIR` with `args`, which must succeed; returns its stdout and
/// `results.json`.
fn demo(args: &[&str], dir: &Path) -> (String, serde_json::Value) {
    let mut all = vec!["demo", "-q", "--out", common::s(dir)];
    all.extend_from_slice(args);
    let stdout = common::ok(&all);
    let results =
        serde_json::from_slice(&std::fs::read(dir.join("results.json")).unwrap()).unwrap();
    (stdout, results)
}

#[test]
fn demo_writes_a_complete_report() {
    let dir = tempfile::tempdir().unwrap();
    let (stdout, results) = demo(
        &[
            "--per-class",
            "4",
            "--repetitions",
            "2",
            "--attacks",
            "fgsm,deepfool,random-noise",
        ],
        dir.path(),
    );
    for attack in ["fgsm", "deepfool", "random-noise"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(attack) && l.contains('±')),
            "no AUC row for {attack}:\n{stdout}"
        );
    }
    assert_eq!(results["normal_images"], 40);
    // Stage timings: one line each on stdout and a `stages` list in results.json.
    let stages = results["stages"].as_array().unwrap();
    let names: Vec<&str> = stages.iter().map(|s| s["name"].as_str().unwrap()).collect();
    for name in [
        "profile",
        "fgsm",
        "deepfool",
        "random-noise",
        "features",
        "detector-linear",
        "detector-random-forest",
        "detector-adaboost",
        "detector-gradient-boosting",
        "detector-svm",
        "detector-logistic",
        "detector-files",
        "sweep-theta",
        "baseline-mahalanobis",
        "baseline-lid",
        "baseline-feature-squeezing",
        "adaptive-attack",
        "hardening",
        "guard-overhead",
        "report",
    ] {
        assert!(names.contains(&name), "no stage {name}: {names:?}");
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with("stage") && l.split_whitespace().nth(1) == Some(name)),
            "no stage line for {name}:\n{stdout}"
        );
    }
    assert_eq!(names.last(), Some(&"report"));
    let sum: f64 = stages.iter().map(|s| s["seconds"].as_f64().unwrap()).sum();
    assert!(stages.iter().all(|s| s["seconds"].as_f64().unwrap() >= 0.0));
    assert!(sum <= results["seconds"].as_f64().unwrap() + 1e-9, "{sum}");
    let aucs = results["auc"].as_array().unwrap();
    assert_eq!(aucs.len(), 9, "one entry per path detector and baseline");
    let families: Vec<(&str, &str)> = aucs
        .iter()
        .map(|d| {
            (
                d["detector"].as_str().unwrap(),
                d["family"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        &families[6..],
        [
            ("mahalanobis", "baseline"),
            ("lid", "baseline"),
            ("feature-squeezing", "baseline")
        ]
    );
    assert!(families[..6].iter().all(|(_, f)| *f == "path"));
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
    assert_eq!(ops.lines().count(), 1 + 9 * 3 * 2);
    let csv = std::fs::read_to_string(dir.path().join("auc.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 9 * 3);
    assert!(
        csv.lines()
            .any(|l| l.starts_with("feature-squeezing,fgsm,"))
    );
    let html = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("AUC per attack"));
    assert!(html.contains("TPR at a fixed false-positive rate"));
    // The adaptive attacks: activation matching of the last layer and of all layers, and the
    // white-box attack; each point's counts consistent, evasion.csv with one row per point,
    // the 50 % budget stated.
    let evasion = results["evasion"].as_array().unwrap();
    let attacks: Vec<&str> = evasion
        .iter()
        .map(|c| c["attack"].as_str().unwrap())
        .collect();
    assert_eq!(
        attacks,
        [
            "activation-matching",
            "activation-matching",
            "white-box",
            "white-box-vs-ensemble"
        ]
    );
    assert_eq!(evasion[0]["layers"], 1);
    // The white-box attack's successes were checked against the real detector at every
    // step: the guard (or the hardened ensemble), re-run on them, flags none.
    for c in &evasion[2..] {
        for p in c["points"].as_array().unwrap() {
            assert_eq!(p["evaded"], p["fooled"], "{p}");
        }
    }
    // The hardening is compared at an equal share of flagged normal images, with a clean AUC
    // per attack for both guards.
    let h = &results["hardening"];
    assert_eq!(h["thetas"], serde_json::json!([0.3, 0.5, 0.7]));
    let (single, ensemble) = (
        h["single_fpr"].as_f64().unwrap(),
        h["ensemble_fpr"].as_f64().unwrap(),
    );
    assert!(ensemble <= single + 1e-12, "{h}");
    assert!(!h["rows"].as_array().unwrap().is_empty());
    for r in h["rows"].as_array().unwrap() {
        for k in ["single_auc", "ensemble_auc"] {
            let a = r[k].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&a), "{r}");
        }
    }
    assert!(stdout.contains("hardening: linear guards"));
    for c in evasion {
        for p in c["points"].as_array().unwrap() {
            let n = |k: &str| p[k].as_u64().unwrap();
            assert!(
                n("evaded") <= n("fooled") && n("fooled") <= n("attacked"),
                "{p}"
            );
            assert!(n("attacked") > 0);
        }
    }
    let ecsv = std::fs::read_to_string(dir.path().join("evasion.csv")).unwrap();
    let points: usize = evasion
        .iter()
        .map(|c| c["points"].as_array().unwrap().len())
        .sum();
    assert_eq!(ecsv.lines().count(), 1 + points);
    assert!(html.contains("Attacks that know the detector"));
    assert!(stdout.contains("evasion reaches 50 %"));
    // Each attack's best path detector against the best baseline, said plainly.
    assert!(html.contains("Effective paths against the baselines"));
    assert!(stdout.contains("best path detector vs best baseline"));
    assert!(html.contains("Stage timings") && html.contains("<td>detector-svm</td>"));
    // The guard's measured cost for n = 1…5 (LeNet's weighted layers): in results.json,
    // guard_cost.csv and the report. (Which n is cheaper is a timing, measured by the guard
    // benchmark, not asserted here: under load the order can flip.)
    let costs = results["guard_cost"].as_array().unwrap();
    assert_eq!(costs.len(), 5);
    for (k, c) in costs.iter().enumerate() {
        assert_eq!(c["layers"], k + 1);
        let (g, f) = (
            c["guard_ms"].as_f64().unwrap(),
            c["forward_ms"].as_f64().unwrap(),
        );
        assert!(g > 0.0 && f > 0.0, "{c}");
        assert!((c["ratio"].as_f64().unwrap() - g / f).abs() < 1e-9, "{c}");
    }
    let gcsv = std::fs::read_to_string(dir.path().join("guard_cost.csv")).unwrap();
    assert_eq!(gcsv.lines().count(), 1 + 5);
    assert!(html.contains("The guard's cost"));
    // The targets section judges the target attacks that ran (fgsm and deepfool here).
    let targets = results["targets"].as_array().unwrap();
    let names: Vec<&str> = targets
        .iter()
        .map(|t| t["attack"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["fgsm", "deepfool"]);
    assert!(html.contains("<h2>Targets</h2>"));
    let sweeps = std::fs::read_to_string(dir.path().join("sweeps.csv")).unwrap();
    for sweep in [
        "sweep_overhead",
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
        "sweep_overhead",
        "roc_linear",
        "roc_random-forest",
        "roc_svm",
        "roc_logistic",
        "similarity_distribution",
        "layer_similarity",
        "class_jaccard",
    ] {
        let png = std::fs::read(dir.path().join(format!("{stem}.png"))).unwrap();
        assert_eq!(&png[..4], b"\x89PNG", "{stem}.png");
        assert!(dir.path().join(format!("{stem}.svg")).exists());
    }
}

/// The `effpath detect` command lines given in `index.html` (`<code class="cmd">`).
fn html_commands(html: &str, class: &str) -> Vec<Vec<String>> {
    html.split(&format!("<code class=\"{class}\">"))
        .skip(1)
        .filter_map(|rest| rest.split("</code>").next())
        .map(|c| {
            c.replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&")
                .split_whitespace()
                .map(String::from)
                .collect()
        })
        .collect()
}

/// The demo's report folder holds `classpaths.bin` and one detector per kind, usable by
/// `effpath detect` exactly as `index.html` says.
#[test]
fn demo_detector_files_work_with_detect() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_effpath"))
        .args([
            "demo",
            "--per-class",
            "3",
            "--repetitions",
            "1",
            "--attacks",
            "fgsm,random-noise",
            "-q",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cp = dir.path().join("classpaths.bin");
    // The class paths load for the shipped model (fingerprint checked) and hold 10 classes.
    let net = effpath::models::lenet5_mnist().unwrap();
    let paths = effpath::ClassPaths::load_for(&cp, &net).unwrap();
    assert_eq!(paths.classes(), 10);
    let html = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    let commands = html_commands(&html, "cmd");
    assert_eq!(commands.len(), 3, "{commands:?}");
    // The first command is runnable as written (with the test binary for `effpath`).
    let first = &commands[0];
    assert_eq!(first[..2], ["effpath".to_string(), "detect".to_string()]);
    let run = Command::new(env!("CARGO_BIN_EXE_effpath"))
        .args(&first[1..])
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{first:?}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(v["images"].as_array().unwrap().len(), 100);
    // The attack command, then detect on its archive, run as written in a scratch folder.
    let work = tempfile::tempdir().unwrap();
    let attack = &html_commands(&html, "attack")[0];
    let on_archive = &commands[2];
    assert!(on_archive.ends_with(&["--input".to_string(), "adv.npz".to_string()]));
    for c in [attack, on_archive] {
        let run = Command::new(env!("CARGO_BIN_EXE_effpath"))
            .args(&c[1..])
            .current_dir(work.path())
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{c:?}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    for kind in [
        "linear",
        "random-forest",
        "adaboost",
        "gradient-boosting",
        "svm",
        "logistic",
    ] {
        let det = dir.path().join(format!("detector-{kind}.json"));
        assert!(html.contains(&format!("detector-{kind}.json")), "{kind}");
        let file = effpath::guard::DetectorFile::load(&det).unwrap();
        assert_eq!(file.detector.kind().name(), kind);
        let run = Command::new(env!("CARGO_BIN_EXE_effpath"))
            .args(["detect", "lenet5-mnist", "--classpaths"])
            .arg(&cp)
            .arg("--detector")
            .arg(&det)
            .args(["--dataset", "mnist-test", "--limit", "20", "--json"])
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{kind}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
        assert_eq!(v["threshold"].as_f64().unwrap(), file.threshold, "{kind}");
        let images = v["images"].as_array().unwrap();
        assert_eq!(images.len(), 20);
        for i in images {
            let flagged = i["flagged"].as_bool().unwrap();
            match i["score"].as_f64() {
                Some(s) => assert_eq!(flagged, s >= file.threshold, "{kind}: {i}"),
                None => assert!(flagged, "{kind}: {i}"),
            }
        }
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

/// `--data fashion-mnist` runs the whole method on the shipped small ResNet and the embedded
/// Fashion-MNIST subset, with the same report; a shipped model of the other dataset is
/// refused before any work.
#[test]
fn demo_runs_on_fashion_mnist() {
    let dir = tempfile::tempdir().unwrap();
    let (_, results) = demo(
        &[
            "--data",
            "fashion-mnist",
            "--per-class",
            "3",
            "--repetitions",
            "1",
            "--profile-images",
            "300",
            "--attacks",
            "fgsm,random-noise",
        ],
        dir.path(),
    );
    assert_eq!(results["data"], "fashion-mnist");
    assert_eq!(results["model"], "resnet-small-fashion");
    assert_eq!(results["normal_images"], 30);
    // The small ResNet has 10 weighted layers (stem, 2 × 3 block convs, 2 projections, fc);
    // with --empty-layer one (the Fashion default) no row is dropped for an empty branch.
    assert_eq!(results["features"].as_array().unwrap().len(), 2 * 10);
    assert_eq!(results["guard_cost"].as_array().unwrap().len(), 10);
    for (set, dropped) in results["dropped_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d[0].as_str().unwrap(), d[1].as_u64().unwrap()))
    {
        assert_eq!(dropped, 0, "{set}");
    }
    let html = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    assert!(
        html.contains("fashion-mnist-test"),
        "detect commands use the Fashion test split"
    );
    assert!(dir.path().join("detector-linear.json").exists());

    let out = Command::new(env!("CARGO_BIN_EXE_effpath"))
        .args([
            "demo",
            "--data",
            "mnist",
            "--model",
            "resnet-small-fashion",
            "-q",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("trained on fashion-mnist, not on --data mnist"),
        "{err}"
    );
}
