//! The one error type of `effpath-detect`.

use std::path::PathBuf;

use effpath_data::DataError;
use thiserror::Error;

/// `Result` with [`DetectError`] as the default error type.
pub type Result<T, E = DetectError> = std::result::Result<T, E>;

/// Everything that can go wrong when training, scoring, evaluating or storing a detector.
///
/// Variants carry the numbers involved (row, column, expected and found sizes) so that a
/// caller can report the problem without reading this crate's source.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DetectError {
    /// The training set has no rows.
    #[error("the training set is empty")]
    EmptyTrainingSet,
    /// The feature matrix has no columns.
    #[error("the feature matrix has no columns")]
    NoFeatures,
    /// Training labels or ROC labels contain only one class.
    #[error(
        "both classes are needed, found {positives} adversarial and {negatives} normal samples"
    )]
    MissingClass {
        /// Number of `true` (adversarial) labels.
        positives: usize,
        /// Number of `false` (normal) labels.
        negatives: usize,
    },
    /// The number of labels (or scores) differs from the number of rows (or labels).
    #[error("length mismatch: {rows} rows/scores but {labels} labels")]
    LabelCount {
        /// Number of rows of the feature matrix, or number of scores.
        rows: usize,
        /// Number of labels.
        labels: usize,
    },
    /// Rows to score have another length than the rows the model was trained on.
    #[error("the model was trained on {expected} features, the rows have {found}")]
    FeatureCount {
        /// Number of features seen at training time.
        expected: usize,
        /// Number of columns of the matrix to score.
        found: usize,
    },
    /// A feature value is NaN or infinite.
    #[error("feature value at row {row}, column {column} is not finite ({value})")]
    NonFiniteFeature {
        /// Row index.
        row: usize,
        /// Column index.
        column: usize,
        /// The offending value.
        value: f64,
    },
    /// A score handed to the ROC computation is NaN or infinite.
    #[error("score {index} is not finite ({value})")]
    NonFiniteScore {
        /// Index of the score.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A list of scores needed for an operating point is empty.
    #[error("no {what} scores to set or measure an operating point on")]
    NoScores {
        /// Which scores (`normal training`, `normal test`, `adversarial test`).
        what: &'static str,
    },
    /// A target false-positive rate is not in [0, 1].
    #[error("target false-positive rate {value} is not in [0, 1]")]
    TargetFpr {
        /// The rate given.
        value: f64,
    },
    /// A hyper-parameter is out of its valid range (or does not fit the data).
    #[error("invalid option `{option}`: {reason}")]
    InvalidOption {
        /// Name of the option (field name of the options struct).
        option: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Training failed numerically or produced a useless model.
    #[error("training failed: {reason}")]
    Training {
        /// What happened.
        reason: String,
    },
    /// The smartcore solver behind the `svm` or `logistic` detector failed.
    #[error("the {model} solver failed: {source}")]
    Solver {
        /// `svm` or `logistic`.
        model: &'static str,
        /// smartcore's error, boxed so that its type stays out of this API.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A detector kind name is not one of `linear`, `random-forest`, `adaboost`,
    /// `gradient-boosting`, `svm`, `logistic`.
    #[error(
        "unknown detector kind `{name}` (expected linear, random-forest, adaboost, gradient-boosting, svm or logistic)"
    )]
    UnknownKind {
        /// The name that was given.
        name: String,
    },
    /// A stored model is malformed (wrong format tag or version, inconsistent sizes, tree
    /// links out of range, non-finite parameters).
    #[error("invalid stored model: {reason}")]
    InvalidModel {
        /// What is wrong.
        reason: String,
    },
    /// An I/O error while reading a model file.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A model file is not valid JSON for a detector (or could not be serialised).
    #[error("JSON error on {}: {source}", path.display())]
    Json {
        /// The file involved (`<string>` for in-memory JSON).
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// An error from the atomic file writer of `effpath-data`.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A baseline was given a number of layers (feature matrices) other than it was fitted on.
    #[error("the baseline was fitted on {expected} layers, got {found}")]
    LayerCount {
        /// Layers at fitting time.
        expected: usize,
        /// Layers given.
        found: usize,
    },
    /// A class label is not below the number of classes.
    #[error("label {label} at row {row} is not below the number of classes ({classes})")]
    LabelRange {
        /// Row of the label.
        row: usize,
        /// The label.
        label: usize,
        /// Number of classes.
        classes: usize,
    },
    /// A class has no training row, so its mean is undefined.
    #[error("class {class} has no training row")]
    EmptyClass {
        /// The class.
        class: usize,
    },
    /// A LID reference batch is too small for the number of neighbours.
    #[error("LID needs {needed} reference points besides the query, the batch has {found}")]
    TooFewNeighbours {
        /// Neighbours asked for.
        needed: usize,
        /// Reference points available (not counting the query itself).
        found: usize,
    },
    /// A squeezer's parameter is out of range (bits 1…8, a median window of at least 1).
    #[error("squeezer parameter `{parameter}` = {value} is out of range")]
    Squeezer {
        /// `bits` or `size`.
        parameter: &'static str,
        /// The value given.
        value: u8,
    },
    /// An image batch is not `(N, C, H, W)` with values in `[0, 1]`.
    #[error("squeezer input at flat index {index} is {value}, not a pixel in [0, 1]")]
    PixelRange {
        /// Flat index of the value.
        index: usize,
        /// The value.
        value: f64,
    },
    /// A t-SNE embedding asked of too few points for its perplexity, or with bad options.
    #[error(
        "t-SNE of {points} points with perplexity {perplexity} and {iterations} iterations: need perplexity > 0 and at most (points - 1) / 3, and iterations ≥ 1"
    )]
    Embedding {
        /// Number of points.
        points: usize,
        /// The perplexity asked for.
        perplexity: f64,
        /// The iterations asked for.
        iterations: usize,
    },
}

impl DetectError {
    pub(crate) fn option(option: &'static str, reason: impl Into<String>) -> Self {
        DetectError::InvalidOption {
            option,
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid_model(reason: impl Into<String>) -> Self {
        DetectError::InvalidModel {
            reason: reason.into(),
        }
    }
}
