//! The one error type of `effpath-train`.

use effpath_ir::FitIssue;
use thiserror::Error;

/// What can go wrong while training.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TrainError {
    /// A configuration value out of range.
    #[error("invalid training configuration: {0}")]
    Config(#[from] ConfigIssue),
    /// A data set does not fit the network (image shape, a label outside its classes).
    #[error("training data: the {set} set: {issue}")]
    Unfit {
        /// Which data set.
        set: DataSplit,
        /// How it does not fit.
        #[source]
        issue: FitIssue,
    },
    /// A data set without images.
    #[error("training data: the {set} set is empty")]
    EmptySet {
        /// Which data set.
        set: DataSplit,
    },
    /// The loss became NaN or infinite (learning rate too high?).
    #[error("the loss diverged to {loss} at epoch {epoch}, step {step}; lower the learning rate")]
    Diverged {
        /// Epoch (1-based).
        epoch: usize,
        /// Step within the epoch.
        step: usize,
        /// The loss value.
        loss: f32,
    },
    /// The loss gradient does not have the logits' shape (never for a validated network).
    #[error("the loss gradient does not fit the logits' shape {shape:?}: {source}")]
    GradientShape {
        /// The shape of the logits, batch axis first.
        shape: Vec<usize>,
        /// ndarray's error.
        #[source]
        source: ndarray::ShapeError,
    },
    /// The network failed.
    #[error(transparent)]
    Ir(#[from] effpath_ir::IrError),
    /// The data failed.
    #[error(transparent)]
    Data(#[from] effpath_data::DataError),
}

/// Which data set of a training run (or of an evaluation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataSplit {
    /// The set trained on.
    Training,
    /// The set evaluated after each epoch.
    Test,
    /// A set given to [`evaluate`](crate::evaluate).
    Evaluation,
}

impl std::fmt::Display for DataSplit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DataSplit::Training => "training",
            DataSplit::Test => "test",
            DataSplit::Evaluation => "evaluation",
        })
    }
}

/// Which value of a [`TrainConfig`](crate::TrainConfig) is out of range (the payload of
/// [`TrainError::Config`]).
#[derive(Debug, Clone, Copy, PartialEq, Error)]
#[non_exhaustive]
pub enum ConfigIssue {
    /// No epoch or an empty minibatch.
    #[error("epochs ({epochs}) and batch size ({batch_size}) must be ≥ 1")]
    Counts {
        /// The epochs.
        epochs: usize,
        /// The minibatch size.
        batch_size: usize,
    },
    /// A learning rate that is not positive and finite.
    #[error("learning rate {lr} must be positive")]
    LearningRate {
        /// The rate.
        lr: f32,
    },
    /// A momentum outside `[0, 1)`.
    #[error("momentum {momentum} must be in [0, 1)")]
    Momentum {
        /// The momentum.
        momentum: f32,
    },
    /// A negative or non-finite weight decay.
    #[error("weight decay {weight_decay} must be ≥ 0")]
    WeightDecay {
        /// The weight decay.
        weight_decay: f32,
    },
    /// A batch-norm momentum outside `[0, 1]`.
    #[error("batch-norm momentum {bn_momentum} must be in [0, 1]")]
    BnMomentum {
        /// The batch-norm momentum.
        bn_momentum: f32,
    },
    /// A step schedule that never decays or with a factor outside `(0, 1]`.
    #[error("step schedule every {every} epochs × {gamma}: need every ≥ 1, 0 < gamma ≤ 1")]
    StepSchedule {
        /// Epochs between decays.
        every: usize,
        /// The decay factor.
        gamma: f32,
    },
}

/// Result alias of this crate.
pub type Result<T, E = TrainError> = std::result::Result<T, E>;
