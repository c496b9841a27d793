//! effpath-detect: adversarial-example detectors on effective-path similarity features, and
//! their evaluation by ROC/AUC (spec §4.5).
//!
//! A sample is a row of `f64` features (for the paper: per-layer rank-1 similarities, then
//! rank-2 similarities), labelled `true` when adversarial. Every model implements
//! [`Detector`] (fit with options including a seed; score: higher = more adversarial) and is
//! one variant of the serialisable [`DetectorModel`].
//!
//! | module | contents |
//! | --- | --- |
//! | [`baseline`] | [`Mahalanobis`], [`Lid`], [`Squeezer`]: the standard detectors' features |
//! | [`detector`] | [`Detector`], [`DetectorKind`], [`DetectorConfig`], [`DetectorModel`] (JSON save/load) |
//! | [`linear`] | [`LinearModel`]: the joint-similarity model, SGD hinge + elastic net |
//! | [`forest`] | [`RandomForest`]: bootstrap Gini trees, mean leaf frequency |
//! | [`adaboost`] | [`AdaBoost`]: SAMME / SAMME.R with weighted stumps |
//! | [`boosting`] | [`GradientBoosting`]: binary log-loss, Newton leaves |
//! | [`smartcore_models`] | [`Svm`] (smartcore SVC, linear kernel) and [`Logistic`] (smartcore logistic regression) |
//! | [`roc`] | [`roc_curve`], [`auc`], [`roc_auc`] |
//! | [`operating`] | [`threshold_at_fpr`], [`operating_point`]: TPR at a FPR fixed on normal training rows |
//! | [`split`] | [`split_indices`], [`mean_std`] for repeated experiments |
//! | [`tsne`] | [`tsne::tsne`]: a seeded exact t-SNE of feature rows into the plane |
//! | [`error`] | [`DetectError`], the one error type |
//!
//! ```
//! use effpath_detect::{Detector, DetectorKind, DetectorModel, roc_auc};
//! use ndarray::array;
//!
//! // Two features; adversarial rows have a low first feature.
//! let x = array![[0.9, 0.1], [0.8, 0.3], [0.85, 0.2], [0.7, 0.1],
//!                [0.2, 0.6], [0.3, 0.4], [0.1, 0.5], [0.4, 0.3]];
//! let y = [false, false, false, false, true, true, true, true];
//!
//! let config = "random-forest".parse::<DetectorKind>()?.config(42);
//! let model = DetectorModel::fit(&config, &x, &y)?;
//! let scores = model.score(&x)?;
//! assert_eq!(roc_auc(&scores, &y)?, 1.0);
//!
//! let restored = DetectorModel::from_json(&model.to_json()?)?;
//! assert_eq!(restored.score(&x)?, scores);
//! # Ok::<(), effpath_detect::DetectError>(())
//! ```

pub mod adaboost;
pub mod baseline;
pub mod boosting;
mod data;
pub mod detector;
pub mod error;
mod experiment;
pub mod forest;
pub mod linear;
pub mod operating;
mod options;
pub mod roc;
pub mod smartcore_models;
pub mod split;
mod tree;
pub mod tsne;

pub use adaboost::{AdaBoost, AdaBoostAlgorithm, AdaBoostOptions};
pub use baseline::{Lid, Mahalanobis, Squeezer, squeeze_scores};
pub use boosting::{BoostingOptions, GradientBoosting};
pub use detector::{Detector, DetectorConfig, DetectorKind, DetectorModel};
pub use error::{DetectError, Interval, ModelIssue, NodeFault, OptionIssue, Result, TrainingIssue};
pub use experiment::{
    AucResult, ExperimentData, ExperimentOptions, OperatingSummary, RepetitionSplit, TrainingSet,
    last_layers, run_experiment,
};
pub use forest::{ForestOptions, MaxFeatures, RandomForest};
pub use linear::{LinearModel, LinearOptions};
pub use operating::{
    DEFAULT_TARGET_FPRS, OperatingPoint, flagged_fraction, operating_point, threshold_at_fpr,
};
pub use roc::{Roc, auc, roc_auc, roc_curve};
pub use smartcore_models::{Logistic, LogisticOptions, Svm, SvmOptions};
pub use split::{mean_std, split_indices};
