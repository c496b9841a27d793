//! The one error type of `effpath-train`.

use thiserror::Error;

/// What can go wrong while training.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TrainError {
    /// A configuration value out of range.
    #[error("invalid training configuration: {0}")]
    Config(String),
    /// The data does not fit the network (image shape, labels, empty set).
    #[error("training data: {0}")]
    Data(String),
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
    /// The network failed.
    #[error(transparent)]
    Ir(#[from] effpath_ir::IrError),
    /// The data failed.
    #[error(transparent)]
    Data2(#[from] effpath_data::DataError),
}

/// Result alias of this crate.
pub type Result<T, E = TrainError> = std::result::Result<T, E>;
