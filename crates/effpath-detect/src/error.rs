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
    #[error("invalid option `{option}`: {issue}")]
    InvalidOption {
        /// Name of the option (field name of the options struct).
        option: &'static str,
        /// What is wrong with its value.
        issue: OptionIssue,
    },
    /// Training failed numerically or produced a useless model.
    #[error("training failed: {issue}")]
    Training {
        /// What happened.
        issue: TrainingIssue,
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
    #[error("invalid stored model: {issue}")]
    InvalidModel {
        /// What is wrong.
        issue: ModelIssue,
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
    pub(crate) fn option(option: &'static str, issue: OptionIssue) -> Self {
        DetectError::InvalidOption { option, issue }
    }

    pub(crate) fn invalid_model(issue: ModelIssue) -> Self {
        DetectError::InvalidModel { issue }
    }

    pub(crate) fn training(issue: TrainingIssue) -> Self {
        DetectError::Training { issue }
    }
}

/// The interval a fraction or rate must lie in ([`OptionIssue::Fraction`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Interval {
    /// `(0, 1)`: both ends excluded.
    Open01,
    /// `[0, 1]`: both ends included.
    Closed01,
}

impl std::fmt::Display for Interval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Interval::Open01 => "(0, 1)",
            Interval::Closed01 => "[0, 1]",
        })
    }
}

/// What is wrong with the value of a detector or experiment option (the `issue` of
/// [`DetectError::InvalidOption`]).
#[derive(Debug, Clone, Error)]
#[non_exhaustive]
pub enum OptionIssue {
    /// A count (trees, stumps, depth, iterations, repetitions) is 0.
    #[error("must be at least 1")]
    Zero,
    /// A rate or constant that must be finite and `> 0` is not.
    #[error("must be finite and > 0, got {value}")]
    NotPositive {
        /// The value given.
        value: f64,
    },
    /// A constant that must be finite and `≥ 0` is not.
    #[error("must be finite and ≥ 0, got {value}")]
    Negative {
        /// The value given.
        value: f64,
    },
    /// A value that must be finite is not.
    #[error("must be finite, got {value}")]
    NotFinite {
        /// The value given.
        value: f64,
    },
    /// A fraction outside its interval.
    #[error("must be in {interval}, got {value}")]
    Fraction {
        /// The value given.
        value: f64,
        /// Where it must lie.
        interval: Interval,
    },
    /// A cap on the training rows below 2 (one row of each class is needed).
    #[error("must be at least 2 (one row of each class), got {value}")]
    TooFewRows {
        /// The cap given.
        value: usize,
    },
    /// More rank-1 columns than the rows have.
    #[error("{rank1} rank-1 columns but the rows have only {columns}")]
    Rank1Columns {
        /// The rank-1 column count given.
        rank1: usize,
        /// Columns of the rows.
        columns: usize,
    },
    /// No rank-1 column count, and the rows cannot be split into two halves.
    #[error("not set, and {columns} columns cannot be split into rank-1 and rank-2 halves")]
    OddColumns {
        /// Columns of the rows.
        columns: usize,
    },
    /// A number of last layers that the `[rank-1 × L, rank-2 × L]` rows do not have.
    #[error("{last} of {layers} layers ({columns} columns)")]
    LastLayers {
        /// The number of last layers asked for.
        last: usize,
        /// Layers of the rows (half their columns).
        layers: usize,
        /// Columns of the rows.
        columns: usize,
    },
    /// An experiment without adversarial examples.
    #[error("no adversarial examples")]
    NoAttacks,
    /// An attack's rows have another width than the normal rows.
    #[error("attack `{name}` has {features} features, normal rows have {normal}")]
    AttackFeatures {
        /// The attack's name.
        name: String,
        /// Columns of its rows.
        features: usize,
        /// Columns of the normal rows.
        normal: usize,
    },
    /// A training attack that is not one of the experiment's attacks.
    #[error("unknown attack `{name}`")]
    UnknownAttack {
        /// The name given.
        name: String,
    },
    /// The training rows could not be stacked (never for rows checked to have one width).
    #[error("the training rows cannot be stacked: {source}")]
    Stack {
        /// ndarray's error.
        source: ndarray::ShapeError,
    },
}

/// What is wrong with one node of a stored tree ([`ModelIssue::TreeNode`]).
#[derive(Debug, Clone, Copy, PartialEq, Error)]
#[non_exhaustive]
pub enum NodeFault {
    /// A split on a feature the model does not have.
    #[error("split feature {feature} is not below the {features} features")]
    Feature {
        /// The node's feature.
        feature: usize,
        /// Features of the model.
        features: usize,
    },
    /// A split threshold that is NaN or infinite.
    #[error("split threshold {value} is not finite")]
    Threshold {
        /// The threshold.
        value: f64,
    },
    /// A child that is not after its parent or not in the tree.
    #[error("child {child} is not after the node and within the tree")]
    Child {
        /// The child's node index.
        child: usize,
    },
    /// A leaf value that is NaN or infinite.
    #[error("leaf value {value} is not finite")]
    Leaf {
        /// The value.
        value: f64,
    },
}

/// What is wrong with a stored (deserialised) detector (the `issue` of
/// [`DetectError::InvalidModel`]).
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ModelIssue {
    /// A detector file of another format or version.
    #[error(
        "format `{format}` version {version} (expected `{}` version {})",
        crate::detector::FORMAT,
        crate::detector::VERSION
    )]
    Format {
        /// The file's format tag.
        format: String,
        /// The file's version.
        version: u32,
    },
    /// AdaBoost without stumps, or with another number of weights than stumps.
    #[error(
        "AdaBoost needs at least one stump and one weight per stump ({stumps} stumps, {weights} weights)"
    )]
    Stumps {
        /// Stumps stored.
        stumps: usize,
        /// Stump weights stored.
        weights: usize,
    },
    /// A stump weight that is NaN or infinite.
    #[error("non-finite AdaBoost stump weight {value} (stump {index})")]
    StumpWeight {
        /// The stump.
        index: usize,
        /// Its weight.
        value: f64,
    },
    /// An ensemble of trees without trees.
    #[error("{model} has no trees")]
    NoTrees {
        /// `a random forest`, `gradient boosting`.
        model: &'static str,
    },
    /// A gradient-boosting prior that is NaN or infinite.
    #[error("gradient boosting needs a finite prior, got {value}")]
    Prior {
        /// The prior (initial raw score).
        value: f64,
    },
    /// A linear model (linear, SVM, logistic) without weights or with a non-finite weight or
    /// intercept.
    #[error("{model} needs finite weights and intercept")]
    Affine {
        /// `a linear model`, `an SVM`, `a logistic model`.
        model: &'static str,
    },
    /// More rank-1 columns than weights.
    #[error("{rank1} rank-1 columns but {weights} weights")]
    Rank1Weights {
        /// The rank-1 column count.
        rank1: usize,
        /// The number of weights.
        weights: usize,
    },
    /// Weights of the constrained linear model with the wrong sign.
    #[error("weights violate the joint-similarity sign constraints")]
    SignConstraints,
    /// A tree without nodes.
    #[error("a tree has no nodes")]
    EmptyTree,
    /// A tree node that breaks the tree's rules.
    #[error("tree node {index} of {nodes} is inconsistent: {fault}")]
    TreeNode {
        /// The node's index.
        index: usize,
        /// Nodes of the tree.
        nodes: usize,
        /// Which rule it breaks.
        fault: NodeFault,
    },
}

/// How training failed (the `issue` of [`DetectError::Training`]).
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum TrainingIssue {
    /// AdaBoost's first stump is no better than chance.
    #[error("the first AdaBoost stump is no better than chance (weighted error {error})")]
    ChanceStump {
        /// The stump's weighted error.
        error: f64,
    },
    /// Gradient boosting's raw scores became NaN or infinite.
    #[error("gradient boosting produced a non-finite raw score")]
    NonFiniteScore,
    /// A smartcore solver returned a model with NaN/infinite parameters or the wrong number of
    /// weights.
    #[error("the {solver} solver produced a non-finite or misshapen model")]
    SolverModel {
        /// `SVM` or `logistic`.
        solver: &'static str,
    },
    /// SGD of the linear model diverged.
    #[error("SGD diverged in epoch {epoch}")]
    Diverged {
        /// The epoch (1-based count of epochs run).
        epoch: usize,
    },
}
