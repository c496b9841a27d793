//! JSON save/load: identical scores after a round trip, malformed files are errors.

mod common;

use effpath_detect::{
    AdaBoostAlgorithm, AdaBoostOptions, DetectError, Detector, DetectorConfig, DetectorKind,
    DetectorModel, LinearOptions, ModelIssue, NodeFault,
};

fn configs() -> Vec<DetectorConfig> {
    let mut configs: Vec<DetectorConfig> = DetectorKind::ALL.iter().map(|k| k.config(21)).collect();
    configs.push(DetectorConfig::Linear(LinearOptions::original()));
    configs.push(DetectorConfig::AdaBoost(AdaBoostOptions {
        algorithm: AdaBoostAlgorithm::SammeR,
        ..AdaBoostOptions::default()
    }));
    configs
}

#[test]
fn save_load_round_trip_gives_identical_scores() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = common::joint_similarity(500, 4, 30);
    let probe = common::joint_similarity(200, 4, 31);
    for (i, config) in configs().into_iter().enumerate() {
        let model = DetectorModel::fit(&config, &data.x, &data.y).expect("fit");
        let path = dir.path().join(format!("model-{i}.json"));
        model.save_json(&path).expect("save");
        // Saving again replaces the file atomically and leaves no temporary file.
        model.save_json(&path).expect("save again");
        let loaded = DetectorModel::load_json(&path).expect("load");
        assert_eq!(loaded, model, "{}", config.kind());
        assert_eq!(loaded.kind(), config.kind());
        let expected = model.score(&probe.x).expect("score");
        assert_eq!(loaded.score(&probe.x).expect("score"), expected);
        let from_string = DetectorModel::from_json(&model.to_json().expect("json"));
        assert_eq!(from_string.expect("parse"), model);
    }
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), configs().len(), "{names:?}");
}

#[test]
fn stored_document_is_tagged() {
    let data = common::threshold(50, 2, 32);
    let model = DetectorModel::fit(&DetectorKind::GradientBoosting.config(0), &data.x, &data.y)
        .expect("fit");
    let value: serde_json::Value =
        serde_json::from_str(&model.to_json().expect("json")).expect("valid JSON");
    assert_eq!(value["format"], "effpath-detector");
    assert_eq!(value["version"], 1);
    assert_eq!(value["detector"]["kind"], "gradient-boosting");
}

/// The error of decoding `json` with field `field` of the first tree's root split set to
/// `value`.
fn with_split(json: &str, field: &str, value: u64) -> DetectError {
    let mut doc: serde_json::Value = serde_json::from_str(json).expect("json");
    doc["detector"]["model"]["trees"][0][0]["split"][field] = value.into();
    DetectorModel::from_json(&doc.to_string()).expect_err("a corrupted model is refused")
}

#[test]
fn malformed_models_are_errors() {
    let data = common::threshold(60, 2, 33);
    let model =
        DetectorModel::fit(&DetectorKind::RandomForest.config(0), &data.x, &data.y).expect("fit");
    let json = model.to_json().expect("json");

    let wrong_version = json.replacen("\"version\":1", "\"version\":2", 1);
    let err = DetectorModel::from_json(&wrong_version).unwrap_err();
    assert!(
        matches!(
            &err,
            DetectError::InvalidModel {
                issue: ModelIssue::Format { version: 2, .. }
            }
        ),
        "{err}"
    );
    // A child link pointing back to the root would loop forever: rejected.
    let err = with_split(&json, "left", 0);
    assert!(
        matches!(
            err,
            DetectError::InvalidModel {
                issue: ModelIssue::TreeNode {
                    index: 0,
                    fault: NodeFault::Child { child: 0 },
                    ..
                }
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("tree node 0 of"), "{err}");
    // A feature index beyond the row length.
    let err = with_split(&json, "feature", 7);
    assert!(
        matches!(
            err,
            DetectError::InvalidModel {
                issue: ModelIssue::TreeNode {
                    fault: NodeFault::Feature {
                        feature: 7,
                        features: 2
                    },
                    ..
                }
            }
        ),
        "{err}"
    );
    assert!(matches!(
        DetectorModel::from_json("{"),
        Err(DetectError::Json { .. })
    ));
    assert!(matches!(
        DetectorModel::from_json("[]"),
        Err(DetectError::Json { .. })
    ));

    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.json");
    assert!(matches!(
        DetectorModel::load_json(&missing),
        Err(DetectError::Io { .. })
    ));
    let no_dir = dir.path().join("no/such/dir/model.json");
    assert!(model.save_json(&no_dir).is_err());
}

#[test]
fn linear_sign_constraints_are_checked_on_load() {
    let data = common::joint_similarity(300, 2, 34);
    let model = DetectorModel::fit(&DetectorKind::Linear.config(0), &data.x, &data.y).expect("fit");
    let mut value: serde_json::Value =
        serde_json::from_str(&model.to_json().expect("json")).expect("json");
    value["detector"]["model"]["weights"][0] = 1.5.into(); // a rank-1 weight must be ≤ 0
    assert!(matches!(
        DetectorModel::from_json(&value.to_string()),
        Err(DetectError::InvalidModel {
            issue: ModelIssue::SignConstraints
        })
    ));
}
