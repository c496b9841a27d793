//! Each detector on data with a known answer, determinism per seed, input errors.

mod common;

use common::Data;
use effpath_detect::{
    AdaBoost, AdaBoostAlgorithm, AdaBoostOptions, BoostingOptions, DetectError, Detector,
    DetectorConfig, DetectorKind, DetectorModel, ForestOptions, GradientBoosting, LinearModel,
    LinearOptions, OptionIssue, RandomForest, roc_auc,
};
use ndarray::{Array2, array};

/// Fits `config` on the first `n_train` rows and returns the AUC on the others.
fn held_out_auc(config: &DetectorConfig, data: &Data, n_train: usize) -> f64 {
    let (train, test) = data.split(n_train);
    let model = DetectorModel::fit(config, &train.x, &train.y).expect("fit");
    let scores = model.score(&test.x).expect("score");
    assert_eq!(scores.len(), test.y.len());
    assert!(scores.iter().all(|s| s.is_finite()));
    roc_auc(&scores, &test.y).expect("auc")
}

fn tree_configs(seed: u64) -> Vec<DetectorConfig> {
    vec![
        DetectorKind::RandomForest.config(seed),
        DetectorKind::AdaBoost.config(seed),
        DetectorConfig::AdaBoost(AdaBoostOptions {
            algorithm: AdaBoostAlgorithm::SammeR,
            ..AdaBoostOptions::default()
        }),
        DetectorKind::GradientBoosting.config(seed),
    ]
}

#[test]
fn every_model_learns_a_threshold() {
    let data = common::threshold(1_500, 5, 1);
    let mut configs = tree_configs(3);
    configs.push(DetectorConfig::Linear(
        LinearOptions::original().with_seed(3),
    ));
    configs.push(DetectorConfig::Linear(LinearOptions {
        nonnegative: false,
        ..LinearOptions::default()
    }));
    for config in configs {
        let auc = held_out_auc(&config, &data, 500);
        assert!(auc >= 0.95, "{config:?}: AUC {auc}");
    }
}

#[test]
fn trees_learn_xor_where_additive_models_cannot() {
    let data = common::xor(2_000, 4, 2);
    for kind in [DetectorKind::RandomForest, DetectorKind::GradientBoosting] {
        let auc = held_out_auc(&kind.config(5), &data, 1_000);
        assert!(auc >= 0.95, "{kind}: AUC {auc}");
    }
    // A linear score and a sum of single-feature stumps are additive: no XOR.
    let linear = DetectorConfig::Linear(LinearOptions::original());
    for config in [linear, DetectorKind::AdaBoost.config(5)] {
        let auc = held_out_auc(&config, &data, 1_000);
        assert!((auc - 0.5).abs() < 0.1, "{:?}: AUC {auc}", config.kind());
    }
}

#[test]
fn noise_labels_give_chance_auc() {
    let data = common::noise(4_000, 6, 3);
    let mut configs = tree_configs(7);
    configs.push(DetectorConfig::Linear(LinearOptions::original()));
    for config in configs {
        let auc = held_out_auc(&config, &data, 2_000);
        assert!((auc - 0.5).abs() < 0.05, "{:?}: AUC {auc}", config.kind());
    }
}

#[test]
fn joint_similarity_model_is_sign_constrained_and_separates() {
    let layers = 5;
    let data = common::joint_similarity(2_000, layers, 4);
    let (train, test) = data.split(400);
    let model =
        LinearModel::fit(&LinearOptions::default().with_seed(9), &train.x, &train.y).expect("fit");
    let (omega, omega_prime) = model.joint_weights().expect("constrained model");
    assert_eq!((omega.len(), omega_prime.len()), (layers, layers));
    assert!(omega.iter().chain(&omega_prime).all(|&w| w >= 0.0));
    assert!(omega.iter().any(|&w| w > 0.0), "ω = {omega:?}");
    // score = b − (Σ ω x_r1 − Σ ω' x_r2)
    let row = test.x.row(0);
    let joint: f64 = (0..layers)
        .map(|l| omega[l] * row[l] - omega_prime[l] * row[layers + l])
        .sum();
    let score = model.score(&test.x).expect("score");
    assert!((score[0] - (model.intercept() - joint)).abs() < 1e-12);
    let auc = roc_auc(&score, &test.y).expect("auc");
    assert!(auc > 0.95, "AUC {auc}");
    assert!(model.epochs() < 10_000, "no early stop: {}", model.epochs());
}

#[test]
fn projection_keeps_weights_feasible_even_against_the_data() {
    // Here adversarial rows have HIGH rank-1 similarity: the constrained model cannot use
    // rank-1 columns with the "wrong" sign and must leave them at 0.
    let data = common::joint_similarity(600, 3, 5);
    let flipped: Vec<bool> = data.y.iter().map(|&a| !a).collect();
    let model = LinearModel::fit(&LinearOptions::default(), &data.x, &flipped).expect("fit");
    let (omega, omega_prime) = model.joint_weights().expect("constrained");
    assert!(omega.iter().chain(&omega_prime).all(|&w| w >= 0.0));
    assert!(model.weights()[..3].iter().all(|&w| w <= 0.0));
}

#[test]
fn linear_layout_options() {
    let data = common::threshold(40, 3, 6);
    let err = LinearModel::fit(&LinearOptions::default(), &data.x, &data.y).unwrap_err();
    assert!(matches!(
        err,
        DetectError::InvalidOption {
            option: "rank1_features",
            issue: OptionIssue::OddColumns { columns: 3 },
        }
    ));
    assert!(
        err.to_string().contains("3 columns cannot be split"),
        "{err}"
    );
    let options = LinearOptions {
        rank1_features: Some(1),
        ..LinearOptions::default()
    };
    let model = LinearModel::fit(&options, &data.x, &data.y).expect("fit");
    let (omega, omega_prime) = model.joint_weights().expect("constrained");
    assert_eq!((omega.len(), omega_prime.len()), (1, 2));
    let unconstrained =
        LinearModel::fit(&LinearOptions::original(), &data.x, &data.y).expect("fit");
    assert!(unconstrained.joint_weights().is_none());
    assert_eq!(unconstrained.intercept(), 0.0);
}

#[test]
fn same_seed_same_model_other_seed_other_forest() {
    let data = common::noise(300, 5, 8);
    for kind in DetectorKind::ALL {
        let config = match kind {
            DetectorKind::Linear => DetectorConfig::Linear(LinearOptions::original().with_seed(11)),
            _ => kind.config(11),
        };
        let a = DetectorModel::fit(&config, &data.x, &data.y).expect("fit");
        let b = DetectorModel::fit(&config, &data.x, &data.y).expect("fit");
        assert_eq!(a, b, "{kind}");
        assert_eq!(
            a.score(&data.x).expect("score"),
            b.score(&data.x).expect("score")
        );
    }
    let a = RandomForest::fit(&ForestOptions::default().with_seed(1), &data.x, &data.y);
    let b = RandomForest::fit(&ForestOptions::default().with_seed(2), &data.x, &data.y);
    assert_ne!(a.expect("fit"), b.expect("fit"));
    let a = LinearModel::fit(&LinearOptions::original().with_seed(1), &data.x, &data.y);
    let b = LinearModel::fit(&LinearOptions::original().with_seed(2), &data.x, &data.y);
    assert_ne!(a.expect("fit").weights(), b.expect("fit").weights());
}

#[test]
fn forest_scores_are_tree_vote_fractions() {
    let data = common::threshold(200, 3, 9);
    let options = ForestOptions {
        n_trees: 8,
        ..ForestOptions::default()
    };
    let model = RandomForest::fit(&options, &data.x, &data.y).expect("fit");
    assert_eq!(model.n_trees(), 8);
    // Unlimited depth, distinct rows: every leaf is pure, so a score is k/8.
    for s in model.score(&data.x).expect("score") {
        assert!(((s * 8.0).round() - s * 8.0).abs() < 1e-12, "{s}");
    }
    // Without bootstrap and with all features every tree fits the training set exactly.
    let exact = ForestOptions {
        n_trees: 3,
        bootstrap: false,
        max_features: effpath_detect::MaxFeatures::All,
        ..ForestOptions::default()
    };
    let model = RandomForest::fit(&exact, &data.x, &data.y).expect("fit");
    let scores = model.score(&data.x).expect("score");
    for (s, &label) in scores.iter().zip(&data.y) {
        assert_eq!(*s, if label { 1.0 } else { 0.0 });
    }
}

#[test]
fn adaboost_uses_depth_one_stumps_and_stops_on_a_perfect_stump() {
    let data = common::threshold(300, 4, 10);
    let model = AdaBoost::fit(&AdaBoostOptions::default(), &data.x, &data.y).expect("fit");
    // Feature 0 separates perfectly: the first stump has error 0 and boosting stops.
    assert_eq!(model.n_stumps(), 1);
    assert_eq!(model.max_depth(), 1);
    let noisy = common::noise(300, 4, 10);
    let model = AdaBoost::fit(&AdaBoostOptions::default(), &noisy.x, &noisy.y).expect("fit");
    assert_eq!(model.max_depth(), 1);
    assert!(model.n_stumps() > 1 && model.n_stumps() <= 50);
    assert!(model.stump_weights().iter().all(|&a| a > 0.0));
}

#[test]
fn gradient_boosting_prior_and_probabilities() {
    let data = common::threshold(400, 3, 12);
    let positives = data.y.iter().filter(|&&y| y).count() as f64;
    let p = positives / 400.0;
    let options = BoostingOptions {
        n_estimators: 20,
        ..BoostingOptions::default()
    };
    let model = GradientBoosting::fit(&options, &data.x, &data.y).expect("fit");
    assert!((model.init() - (p / (1.0 - p)).ln()).abs() < 1e-12);
    assert_eq!(model.n_trees(), 20);
    let scores = model.score(&data.x).expect("score");
    assert!(scores.iter().all(|&s| s > 0.0 && s < 1.0));
}

fn all_configs() -> Vec<DetectorConfig> {
    let mut configs: Vec<DetectorConfig> = DetectorKind::ALL.iter().map(|k| k.config(0)).collect();
    configs.push(DetectorConfig::Linear(LinearOptions::original()));
    configs
}

#[test]
fn training_errors_are_errors_not_panics() {
    let x = array![[0.1, 0.2], [0.3, 0.4], [0.5, 0.6], [0.7, 0.8]];
    for config in all_configs() {
        let kind = config.kind();
        let fit = |x: &Array2<f64>, y: &[bool]| DetectorModel::fit(&config, x, y);
        let empty = Array2::<f64>::zeros((0, 2));
        assert!(
            matches!(fit(&empty, &[]), Err(DetectError::EmptyTrainingSet)),
            "{kind}"
        );
        assert!(
            matches!(
                fit(&x, &[true; 4]),
                Err(DetectError::MissingClass {
                    positives: 4,
                    negatives: 0
                })
            ),
            "{kind}"
        );
        assert!(
            matches!(
                fit(&x, &[false; 4]),
                Err(DetectError::MissingClass { positives: 0, .. })
            ),
            "{kind}"
        );
        assert!(
            matches!(
                fit(&x, &[true, false]),
                Err(DetectError::LabelCount { rows: 4, labels: 2 })
            ),
            "{kind}"
        );
        let no_columns = Array2::<f64>::zeros((2, 0));
        assert!(matches!(
            fit(&no_columns, &[true, false]),
            Err(DetectError::NoFeatures)
        ));
        for bad in [f64::NAN, f64::INFINITY] {
            let mut x_bad = x.clone();
            x_bad[[2, 1]] = bad;
            let err = fit(&x_bad, &[true, false, true, false]).unwrap_err();
            assert!(
                matches!(
                    err,
                    DetectError::NonFiniteFeature {
                        row: 2,
                        column: 1,
                        ..
                    }
                ),
                "{kind}: {err}"
            );
        }
    }
}

#[test]
fn scoring_errors_are_errors_not_panics() {
    let x = array![[0.1, 0.9], [0.3, 0.7], [0.5, 0.4], [0.7, 0.2]];
    let y = [false, false, true, true];
    for config in all_configs() {
        let model = DetectorModel::fit(&config, &x, &y).expect("fit");
        assert_eq!(model.n_features(), 2);
        let err = model.score(&array![[0.1, 0.2, 0.3]]).unwrap_err();
        assert!(
            matches!(
                err,
                DetectError::FeatureCount {
                    expected: 2,
                    found: 3
                }
            ),
            "{err}"
        );
        let err = model.score(&array![[0.1, f64::NAN]]).unwrap_err();
        assert!(matches!(
            err,
            DetectError::NonFiniteFeature {
                row: 0,
                column: 1,
                ..
            }
        ));
        assert_eq!(
            model.score(&Array2::zeros((0, 2))).expect("empty"),
            Vec::<f64>::new()
        );
    }
}

#[test]
fn invalid_options_are_rejected() {
    let data = common::threshold(20, 2, 13);
    let bad = [
        DetectorConfig::Linear(LinearOptions {
            alpha: 0.0,
            ..LinearOptions::original()
        }),
        DetectorConfig::Linear(LinearOptions {
            l1_ratio: 1.5,
            ..LinearOptions::original()
        }),
        DetectorConfig::RandomForest(ForestOptions {
            n_trees: 0,
            ..ForestOptions::default()
        }),
        DetectorConfig::AdaBoost(AdaBoostOptions {
            learning_rate: f64::NAN,
            ..AdaBoostOptions::default()
        }),
        DetectorConfig::GradientBoosting(BoostingOptions {
            max_depth: 0,
            ..BoostingOptions::default()
        }),
    ];
    for config in bad {
        let err = DetectorModel::fit(&config, &data.x, &data.y).unwrap_err();
        assert!(matches!(err, DetectError::InvalidOption { .. }), "{err}");
    }
}

#[test]
fn kinds_parse_and_print() {
    for kind in DetectorKind::ALL {
        assert_eq!(
            kind.to_string().parse::<DetectorKind>().expect("parse"),
            kind
        );
        assert_eq!(kind.config(3).kind(), kind);
    }
    assert_eq!(
        "gradient-boosting".parse::<DetectorKind>().ok(),
        Some(DetectorKind::GradientBoosting)
    );
    assert_eq!("svm".parse::<DetectorKind>().ok(), Some(DetectorKind::Svm));
    assert_eq!(
        "logistic".parse::<DetectorKind>().ok(),
        Some(DetectorKind::Logistic)
    );
    let err = "knn".parse::<DetectorKind>().unwrap_err();
    assert!(matches!(err, DetectError::UnknownKind { ref name } if name == "knn"));
}

#[test]
fn forest_does_not_depend_on_the_thread_count() {
    let data = common::noise(400, 6, 14);
    let options = ForestOptions::default().with_seed(5);
    let parallel = RandomForest::fit(&options, &data.x, &data.y).expect("fit");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    let serial = pool
        .install(|| RandomForest::fit(&options, &data.x, &data.y))
        .expect("fit");
    assert_eq!(parallel, serial);
}
