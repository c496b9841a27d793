//! `effpath study --fast`: every section's files, numbers that hang together, and the
//! Fashion-MNIST class hierarchy.

#![allow(clippy::unwrap_used)]

use serde_json::Value;

mod common;
use common::{ok, s};

fn study(data: &str, extra: &[&str]) -> (tempfile::TempDir, Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("study");
    let mut args = vec!["study", "--data", data, "--fast", "-q", "--out", s(&out)];
    args.extend_from_slice(extra);
    let text = ok(&args);
    assert!(text.contains("masking: full"), "{text}");
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("study.json")).unwrap()).unwrap();
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    for file in ["masking", "growth", "layers"] {
        for ext in ["csv", "png", "svg"] {
            let f = out.join(format!("{file}.{ext}"));
            assert!(f.metadata().is_ok_and(|m| m.len() > 100), "{}", f.display());
        }
    }
    (dir, json, html)
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn mnist_study_writes_every_section_with_consistent_numbers() {
    let (dir, json, html) = study("mnist", &[]);
    assert_eq!(json["model"], "lenet5-mnist");
    assert_eq!(json["train_images"], 1000);
    let points = json["masking"]["points"].as_array().unwrap();
    assert_eq!(points.len(), 4);
    let densities: Vec<f64> = points.iter().map(|p| num(&p["weight_density"])).collect();
    assert!(densities.windows(2).all(|w| w[1] < w[0]), "{densities:?}");
    assert!(densities[0] > 0.0 && densities[0] < 1.0);
    for p in points {
        for key in ["path_accuracy", "magnitude_accuracy"] {
            assert!((0.0..=1.0).contains(&num(&p[key])), "{p}");
        }
    }
    assert!(num(&json["masking"]["full_accuracy"]) > 0.9);
    let growth = json["growth"].as_array().unwrap();
    assert_eq!(growth.len(), 10);
    assert!(
        growth
            .windows(2)
            .all(|w| num(&w[1]["synapse"]) >= num(&w[0]["synapse"]))
    );
    // The union of all classes is the overall path the masking starts from.
    assert_eq!(num(&growth[9]["weight"]), densities[0]);
    let layers = json["layers"].as_array().unwrap();
    let names: Vec<&str> = layers.iter().filter_map(|l| l["layer"].as_str()).collect();
    assert_eq!(
        names,
        ["conv1", "pool1", "conv2", "pool2", "fc1", "fc2", "fc3"]
    );
    assert!(json["hierarchy"].is_null());
    // Weight-based detection: every detector on every attack, both kinds, AUCs that detect.
    let rows = json["detection"]["rows"].as_array().unwrap();
    assert_eq!(rows.len() % 6, 0);
    assert!(rows.len() >= 6 * 4, "{} rows", rows.len());
    for r in rows {
        assert!(num(&r["synapse"]) > 0.6 && num(&r["weight"]) > 0.5, "{r}");
    }
    // Training phases: the initial network, then every epoch of the --fast run (4).
    let phases = json["training"]["phases"].as_array().unwrap();
    let epochs: Vec<u64> = phases.iter().filter_map(|p| p["epoch"].as_u64()).collect();
    assert_eq!(epochs, [0, 1, 2, 3, 4]);
    assert!(num(&phases[4]["test_accuracy"]) > num(&phases[0]["test_accuracy"]) + 0.5);
    assert!(dir.path().join("study/training.csv").is_file());
    // The t-SNE of the synapse features: the normal set first, then the attacks, every point finite.
    let tsne = json["detection"]["tsne"].as_array().unwrap();
    assert_eq!(tsne[0][0], "normal");
    assert!(tsne.len() >= 5);
    for set in tsne {
        let points = set[1].as_array().unwrap();
        assert!(
            !points.is_empty()
                && points
                    .iter()
                    .all(|p| num(&p[0]).is_finite() && num(&p[1]).is_finite())
        );
    }
    assert!(dir.path().join("study/tsne.png").is_file());
    let csv = std::fs::read_to_string(dir.path().join("study/detection.csv")).unwrap();
    assert_eq!(csv.lines().count(), rows.len() + 1);
    // CDRP: a gate vector per image, the same rows side by side (no linear detector), both
    // curves for both methods, and the timing of every method (its ratios are measured, not
    // asserted: `benches/benches/cdrp.rs`).
    let cdrp = &json["detection"]["cdrp"];
    assert_eq!(cdrp["gates"], 6 + 16 + 120 + 84);
    let kept = cdrp["normal_kept"].as_array().unwrap();
    assert!(num(&kept[1]) >= 0.9 * num(&kept[0]), "{kept:?}");
    assert!((0.0..1.0).contains(&num(&cdrp["normal_open"])));
    for r in rows {
        match r["detector"].as_str().unwrap() {
            "linear" => assert!(r["cdrp"].is_null()),
            _ => assert!((0.0..=1.0).contains(&num(&r["cdrp"])), "{r}"),
        }
    }
    let attacks = cdrp["attacks"].as_array().unwrap().len();
    for (key, len) in [("training_size", 5), ("generalisation", attacks)] {
        let curves = cdrp[key].as_array().unwrap();
        assert_eq!(curves.len(), 2);
        assert_eq!(curves[0]["method"], "effective path");
        assert_eq!(curves[1]["method"], "CDRP");
        for c in curves {
            assert_eq!(c["mean"].as_array().unwrap().len(), len, "{key}");
        }
    }
    let t = &cdrp["timing"];
    assert_eq!(t["partial_layers"], 3);
    for key in ["forward", "cdrp", "full", "partial"] {
        assert!(num(&t[key]) > 0.0, "{t}");
    }
    for file in [
        "cdrp_curves.csv",
        "cdrp_timing.csv",
        "cdrp_auc.png",
        "cdrp_training_size.svg",
        "cdrp_generalisation.png",
    ] {
        assert!(dir.path().join("study").join(file).is_file(), "{file}");
    }
    for section in [
        "Masking the network",
        "Density as classes merge",
        "Class hierarchy",
        "Per-layer density",
        "CDRP, the paper's baseline",
        "Extraction time (Table 1)",
    ] {
        assert!(html.contains(section), "{section}");
    }
}

#[test]
fn fashion_study_has_the_class_hierarchy() {
    // The attacks on the residual network take minutes: this run leaves them out.
    let (dir, json, html) = study("fashion-mnist", &["--skip", "detection"]);
    assert!(json["detection"].is_null());
    assert!(html.contains("Skipped in this run"));
    let h = &json["hierarchy"];
    let order: Vec<u64> = h["order"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    assert_eq!(order, [0, 2, 4, 6, 5, 7, 9, 1, 3, 8]);
    assert!((0.0..=1.0).contains(&num(&h["within"])) && (0.0..=1.0).contains(&num(&h["between"])));
    assert_eq!(num(&h["jaccard"][0][0]), 1.0);
    assert!(dir.path().join("study/hierarchy.png").is_file());
    assert!(html.contains("mean synapse Jaccard within groups"));
    assert_eq!(json["training"]["phases"].as_array().unwrap().len(), 3);
}
