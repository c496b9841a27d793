//! The [`Detector`] trait, the closed set of models ([`DetectorModel`]), their names
//! ([`DetectorKind`]) and hyper-parameters ([`DetectorConfig`]), and JSON storage.

use std::fmt;
use std::io::Write;
use std::path::Path;
use std::str::FromStr;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::adaboost::{AdaBoost, AdaBoostOptions};
use crate::boosting::{BoostingOptions, GradientBoosting};
use crate::error::{DetectError, ModelIssue, Result};
use crate::forest::{ForestOptions, RandomForest};
use crate::linear::{LinearModel, LinearOptions};
use crate::smartcore_models::{Logistic, LogisticOptions, Svm, SvmOptions};

/// A binary detector: trained on feature rows labelled adversarial (`true`) or normal
/// (`false`), it scores rows so that higher = more likely adversarial.
///
/// Fitting is constructor-style (like linfa's `Fit`): the options, including the seed,
/// go in, a trained model comes out. Same options and data → the same model and scores.
pub trait Detector: Sized {
    /// Hyper-parameters, including the seed of every random choice.
    type Options;

    /// Trains a model on the rows of `x` with labels `y` (`true` = adversarial).
    ///
    /// Errors: no rows or columns, `y.len() != x.nrows()`, a non-finite feature, only one
    /// class present, invalid options.
    fn fit(options: &Self::Options, x: &Array2<f64>, y: &[bool]) -> Result<Self>;

    /// One score per row of `x`; higher = more likely adversarial.
    ///
    /// Errors: a row length other than at training time, a non-finite feature.
    fn score(&self, x: &Array2<f64>) -> Result<Vec<f64>>;

    /// The number of features (row length) the model was trained on.
    fn n_features(&self) -> usize;
}

/// The six detector families, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DetectorKind {
    /// `linear`: the joint-similarity linear model ([`LinearModel`]).
    Linear,
    /// `random-forest` ([`RandomForest`]).
    RandomForest,
    /// `adaboost` ([`AdaBoost`]).
    AdaBoost,
    /// `gradient-boosting` ([`GradientBoosting`]).
    GradientBoosting,
    /// `svm`: a linear support-vector classifier, smartcore's SVC ([`Svm`]).
    Svm,
    /// `logistic`: logistic regression, smartcore's ([`Logistic`]).
    Logistic,
}

impl DetectorKind {
    /// All kinds: the original's comparison (linear, rf, ada, gb), then svm and logistic.
    pub const ALL: [DetectorKind; 6] = [
        DetectorKind::Linear,
        DetectorKind::RandomForest,
        DetectorKind::AdaBoost,
        DetectorKind::GradientBoosting,
        DetectorKind::Svm,
        DetectorKind::Logistic,
    ];

    /// The name accepted by [`FromStr`].
    pub fn name(self) -> &'static str {
        match self {
            DetectorKind::Linear => "linear",
            DetectorKind::RandomForest => "random-forest",
            DetectorKind::AdaBoost => "adaboost",
            DetectorKind::GradientBoosting => "gradient-boosting",
            DetectorKind::Svm => "svm",
            DetectorKind::Logistic => "logistic",
        }
    }

    /// The default hyper-parameters of this kind with the given seed.
    pub fn config(self, seed: u64) -> DetectorConfig {
        match self {
            DetectorKind::Linear => {
                DetectorConfig::Linear(LinearOptions::default().with_seed(seed))
            }
            DetectorKind::RandomForest => {
                DetectorConfig::RandomForest(ForestOptions::default().with_seed(seed))
            }
            DetectorKind::AdaBoost => {
                DetectorConfig::AdaBoost(AdaBoostOptions::default().with_seed(seed))
            }
            DetectorKind::GradientBoosting => {
                DetectorConfig::GradientBoosting(BoostingOptions::default().with_seed(seed))
            }
            DetectorKind::Svm => DetectorConfig::Svm(SvmOptions::default().with_seed(seed)),
            // L-BFGS from zero has no random choice: the seed is not needed.
            DetectorKind::Logistic => DetectorConfig::Logistic(LogisticOptions::default()),
        }
    }
}

impl fmt::Display for DetectorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DetectorKind {
    type Err = DetectError;

    /// Parses `linear`, `random-forest`, `adaboost`, `gradient-boosting`, `svm` or
    /// `logistic`.
    fn from_str(s: &str) -> Result<Self> {
        DetectorKind::ALL
            .into_iter()
            .find(|kind| kind.name() == s)
            .ok_or_else(|| DetectError::UnknownKind { name: s.to_owned() })
    }
}

/// Hyper-parameters of any detector: what [`DetectorModel::fit`] takes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "options")]
pub enum DetectorConfig {
    /// Options of the linear model.
    Linear(LinearOptions),
    /// Options of the random forest.
    RandomForest(ForestOptions),
    /// Options of AdaBoost.
    AdaBoost(AdaBoostOptions),
    /// Options of gradient boosting.
    GradientBoosting(BoostingOptions),
    /// Options of the SVM.
    Svm(SvmOptions),
    /// Options of logistic regression.
    Logistic(LogisticOptions),
}

impl DetectorConfig {
    /// The kind these options belong to.
    pub fn kind(&self) -> DetectorKind {
        match self {
            DetectorConfig::Linear(_) => DetectorKind::Linear,
            DetectorConfig::RandomForest(_) => DetectorKind::RandomForest,
            DetectorConfig::AdaBoost(_) => DetectorKind::AdaBoost,
            DetectorConfig::GradientBoosting(_) => DetectorKind::GradientBoosting,
            DetectorConfig::Svm(_) => DetectorKind::Svm,
            DetectorConfig::Logistic(_) => DetectorKind::Logistic,
        }
    }
}

/// A trained detector of any kind; serialisable, so it can be stored with
/// [`DetectorModel::save_json`] and restored with [`DetectorModel::load_json`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "model")]
pub enum DetectorModel {
    /// A linear (joint-similarity) model.
    Linear(LinearModel),
    /// A random forest.
    RandomForest(RandomForest),
    /// An AdaBoost ensemble.
    AdaBoost(AdaBoost),
    /// A gradient-boosting ensemble.
    GradientBoosting(GradientBoosting),
    /// A linear SVM.
    Svm(Svm),
    /// A logistic-regression model.
    Logistic(Logistic),
}

/// Tag and version written around a stored model.
pub(crate) const FORMAT: &str = "effpath-detector";
pub(crate) const VERSION: u32 = 1;
/// The "path" reported for errors on in-memory JSON strings.
const IN_MEMORY: &str = "<string>";

#[derive(Serialize)]
struct EnvelopeRef<'a> {
    format: &'a str,
    version: u32,
    detector: &'a DetectorModel,
}

#[derive(Deserialize)]
struct Envelope {
    format: String,
    version: u32,
    detector: DetectorModel,
}

impl DetectorModel {
    /// The kind of the model.
    pub fn kind(&self) -> DetectorKind {
        match self {
            DetectorModel::Linear(_) => DetectorKind::Linear,
            DetectorModel::RandomForest(_) => DetectorKind::RandomForest,
            DetectorModel::AdaBoost(_) => DetectorKind::AdaBoost,
            DetectorModel::GradientBoosting(_) => DetectorKind::GradientBoosting,
            DetectorModel::Svm(_) => DetectorKind::Svm,
            DetectorModel::Logistic(_) => DetectorKind::Logistic,
        }
    }

    /// The model as a JSON document (`{"format": "effpath-detector", "version": 1,
    /// "detector": {"kind": …, "model": …}}`); every number parses back bit-identically.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(&self.envelope()).map_err(|source| DetectError::Json {
            path: IN_MEMORY.into(),
            source,
        })
    }

    /// Reads a model written by [`DetectorModel::to_json`], checking its format tag,
    /// version and internal consistency.
    pub fn from_json(json: &str) -> Result<Self> {
        Self::parse(json, Path::new(IN_MEMORY))
    }

    /// Writes the model to `path` as JSON, atomically (temporary file + rename).
    pub fn save_json(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        effpath_data::write_atomic_with(path, |writer| {
            serde_json::to_writer(&mut *writer, &self.envelope()).map_err(|source| {
                DetectError::Json {
                    path: path.to_owned(),
                    source,
                }
            })?;
            writer.flush().map_err(|source| DetectError::Io {
                path: path.to_owned(),
                source,
            })
        })
    }

    /// Reads a model stored by [`DetectorModel::save_json`].
    pub fn load_json(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let json = std::fs::read_to_string(path).map_err(|source| DetectError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&json, path)
    }

    fn envelope(&self) -> EnvelopeRef<'_> {
        EnvelopeRef {
            format: FORMAT,
            version: VERSION,
            detector: self,
        }
    }

    fn parse(json: &str, path: &Path) -> Result<Self> {
        let envelope: Envelope =
            serde_json::from_str(json).map_err(|source| DetectError::Json {
                path: path.to_owned(),
                source,
            })?;
        if envelope.format != FORMAT || envelope.version != VERSION {
            return Err(DetectError::invalid_model(ModelIssue::Format {
                format: envelope.format,
                version: envelope.version,
            }));
        }
        let model = envelope.detector;
        model.validate()?;
        Ok(model)
    }

    /// Checks a deserialised model's internal consistency (tree wiring, feature indices,
    /// finite numbers, matching lengths). [`DetectorModel::from_json`] and
    /// [`DetectorModel::load_json`] do this; call it on a model deserialised by other means
    /// (e.g. embedded in another serde document) before scoring with it.
    pub fn validate(&self) -> Result<()> {
        match self {
            DetectorModel::Linear(m) => m.validate(),
            DetectorModel::RandomForest(m) => m.validate(),
            DetectorModel::AdaBoost(m) => m.validate(),
            DetectorModel::GradientBoosting(m) => m.validate(),
            DetectorModel::Svm(m) => m.validate(),
            DetectorModel::Logistic(m) => m.validate(),
        }
    }
}

impl Detector for DetectorModel {
    type Options = DetectorConfig;

    fn fit(options: &DetectorConfig, x: &Array2<f64>, y: &[bool]) -> Result<Self> {
        Ok(match options {
            DetectorConfig::Linear(o) => DetectorModel::Linear(LinearModel::fit(o, x, y)?),
            DetectorConfig::RandomForest(o) => {
                DetectorModel::RandomForest(RandomForest::fit(o, x, y)?)
            }
            DetectorConfig::AdaBoost(o) => DetectorModel::AdaBoost(AdaBoost::fit(o, x, y)?),
            DetectorConfig::GradientBoosting(o) => {
                DetectorModel::GradientBoosting(GradientBoosting::fit(o, x, y)?)
            }
            DetectorConfig::Svm(o) => DetectorModel::Svm(Svm::fit(o, x, y)?),
            DetectorConfig::Logistic(o) => DetectorModel::Logistic(Logistic::fit(o, x, y)?),
        })
    }

    fn score(&self, x: &Array2<f64>) -> Result<Vec<f64>> {
        match self {
            DetectorModel::Linear(m) => m.score(x),
            DetectorModel::RandomForest(m) => m.score(x),
            DetectorModel::AdaBoost(m) => m.score(x),
            DetectorModel::GradientBoosting(m) => m.score(x),
            DetectorModel::Svm(m) => m.score(x),
            DetectorModel::Logistic(m) => m.score(x),
        }
    }

    fn n_features(&self) -> usize {
        match self {
            DetectorModel::Linear(m) => m.n_features(),
            DetectorModel::RandomForest(m) => m.n_features(),
            DetectorModel::AdaBoost(m) => m.n_features(),
            DetectorModel::GradientBoosting(m) => m.n_features(),
            DetectorModel::Svm(m) => m.n_features(),
            DetectorModel::Logistic(m) => m.n_features(),
        }
    }
}
