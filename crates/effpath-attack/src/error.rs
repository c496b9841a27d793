//! The one error type of `effpath-attack`.

use thiserror::Error;

/// Everything that can go wrong when setting up or running an attack.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AttackError {
    /// Running the network (forward or backward pass) failed.
    #[error(transparent)]
    Ir(#[from] effpath_ir::IrError),
    /// Reading or decoding data failed.
    #[error(transparent)]
    Data(#[from] effpath_data::DataError),
    /// The network cannot be attacked by this crate (e.g. its input is not `(C, H, W)`).
    #[error("unsupported model: {0}")]
    Model(ModelIssue),
    /// The images, labels or targets given do not fit the model or each other.
    #[error("invalid input: {0}")]
    Input(#[from] InputIssue),
    /// A hyper-parameter is out of its range.
    #[error("invalid parameter `{name}`: {problem}")]
    Parameter {
        /// The parameter's name (the field name of the attack struct).
        name: &'static str,
        /// What is wrong with its value.
        problem: ParamIssue,
    },
    /// Arrays an attack builds do not have the shapes it expects (never for a network the
    /// [`Classifier`](crate::Classifier) accepted).
    #[error("internal shape error ({what}): {source}")]
    Shape {
        /// Which arrays.
        what: &'static str,
        /// ndarray's error.
        #[source]
        source: ndarray::ShapeError,
    },
    /// A name that is not one of the attacks ([`crate::AttackKind`]).
    #[error("unknown attack `{name}` (known: {})", known.join(", "))]
    UnknownAttack {
        /// The name given.
        name: String,
        /// The attacks' names.
        known: Vec<&'static str>,
    },
    /// A hyper-parameter name the attack does not have.
    #[error("`{name}` is not a parameter of {attack} (its parameters: {})", known.join(", "))]
    UnknownParameter {
        /// The attack.
        attack: &'static str,
        /// The name given.
        name: String,
        /// The attack's parameter names.
        known: Vec<String>,
    },
    /// A hyper-parameter value of the wrong type (a fraction for a count, text for a number).
    #[error("{attack} parameter `{name}` = `{value}`: {source}")]
    ParameterValue {
        /// The attack.
        attack: &'static str,
        /// The parameter's name.
        name: String,
        /// The value given.
        value: String,
        /// Why it does not fit the parameter's type.
        #[source]
        source: serde_json::Error,
    },
    /// An attack configuration could not be encoded (never for the shipped attacks).
    #[error("{attack}: cannot encode the configuration: {source}")]
    Config {
        /// The attack.
        attack: &'static str,
        /// The encoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// The adversarial patch needs training images and none were given.
    #[error("the patch attack needs training images to learn its patch")]
    PatchTraining,
    /// The white-box attack needs the defence it attacks and none was given.
    #[error("the white-box attack needs a defence (class paths and a detector file) to attack")]
    DefenceMissing,
    /// The defence attacked failed to assess an image.
    #[error("the defence failed: {source}")]
    Defence {
        /// The defence's error.
        #[source]
        source: crate::DefenceError,
    },
    /// The defence attacked answered out of contract (never for effpath's guard).
    #[error("the defence's answer is not {what}")]
    DefenceAnswer {
        /// What the answer should have been.
        what: &'static str,
    },
}

impl AttackError {
    /// A [`AttackError::Parameter`] error.
    pub(crate) fn param(name: &'static str, problem: ParamIssue) -> Self {
        AttackError::Parameter { name, problem }
    }

    /// A [`AttackError::Shape`] error.
    pub(crate) fn shape(what: &'static str) -> impl FnOnce(ndarray::ShapeError) -> Self {
        move |source| AttackError::Shape { what, source }
    }
}

/// Why a network cannot be attacked (the payload of [`AttackError::Model`]).
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ModelIssue {
    /// The per-sample input is not `(C, H, W)`.
    #[error("the input shape {shape:?} is not (C, H, W)")]
    InputRank {
        /// The network's input shape.
        shape: Vec<usize>,
    },
    /// Fewer than two classes: nothing to misclassify as.
    #[error("the network has {classes} output class(es); attacks need at least 2")]
    Classes {
        /// The network's class count.
        classes: usize,
    },
}

/// How the inputs of an attack do not fit the model or each other (the payload of
/// [`AttackError::Input`]).
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum InputIssue {
    /// The images or labels do not fit the network (shape, label count, a label that is not
    /// a class).
    #[error(transparent)]
    Fit(#[from] effpath_ir::FitIssue),
    /// Not one target per image.
    #[error("{targets} targets for {images} images")]
    TargetCount {
        /// Number of images.
        images: usize,
        /// Number of targets.
        targets: usize,
    },
    /// A target that is not a class of the model.
    #[error("target {target} of image {index} is not a class of the model ({classes} classes)")]
    Target {
        /// The image.
        index: usize,
        /// Its target.
        target: usize,
        /// The model's class count.
        classes: usize,
    },
    /// A pixel value outside `[0, 1]` (or NaN).
    #[error("pixel values must be in [0, 1]; flat index {index} holds {value}")]
    Pixel {
        /// Flat index of the first such value.
        index: usize,
        /// The value.
        value: f32,
    },
    /// A targeted run of an attack that is untargeted only.
    #[error("{attack} is untargeted only")]
    Untargeted {
        /// The attack.
        attack: &'static str,
    },
    /// A logit gradient of another shape than the logits.
    #[error("logit gradient of shape {got:?}, expected {expected:?}")]
    LogitGradient {
        /// The logits' shape `(N, classes)`.
        expected: (usize, usize),
        /// The gradient's shape.
        got: (usize, usize),
    },
    /// A target of a patch other than its class.
    #[error("a patch is universal: every target must be its class {class}")]
    PatchTarget {
        /// The patch's class.
        class: usize,
    },
    /// A patch larger than the images.
    #[error("a {side}×{side} patch does not fit {height}×{width} images")]
    PatchSize {
        /// The patch's side.
        side: usize,
        /// The images' height.
        height: usize,
        /// The images' width.
        width: usize,
    },
    /// Patch training images of another shape than the model input, or none.
    #[error("training images of shape {got:?}, expected (N ≥ 1, {expected:?})")]
    TrainingShape {
        /// The model's input shape.
        expected: [usize; 3],
        /// The training images' shape `(N, C, H, W)`.
        got: (usize, usize, usize, usize),
    },
    /// Patch training pixels outside `[0, 1]`.
    #[error("training pixel values must be in [0, 1]")]
    TrainingPixels,
}

/// What is wrong with a hyper-parameter's value (the `problem` of
/// [`AttackError::Parameter`]).
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ParamIssue {
    /// A count of 0.
    #[error("must be at least 1")]
    Zero,
    /// A value that must be finite and positive (or non-negative).
    #[error("{value} is not finite and {}", if *.allow_zero { "≥ 0" } else { "> 0" })]
    NotPositive {
        /// The value.
        value: f32,
        /// Whether 0 is allowed.
        allow_zero: bool,
    },
    /// A fraction outside `(0, 1]`.
    #[error("{value} is not in (0, 1]")]
    NotFraction {
        /// The value.
        value: f32,
    },
    /// A class (or class count) that is not below the model's class count.
    #[error("{value} is not below the {classes} classes")]
    NotBelowClasses {
        /// The value.
        value: usize,
        /// The model's class count.
        classes: usize,
    },
}

/// `Result` with [`AttackError`] as the default error type.
pub type Result<T, E = AttackError> = std::result::Result<T, E>;
