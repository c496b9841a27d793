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
    Model(String),
    /// The images, labels or targets given do not fit the model or each other.
    #[error("invalid input: {0}")]
    Input(String),
    /// A hyper-parameter is out of its range.
    #[error("invalid parameter `{name}`: {message}")]
    Parameter {
        /// The parameter's name (the field name of the attack struct).
        name: &'static str,
        /// What is wrong with its value.
        message: String,
    },
}

impl AttackError {
    /// A [`AttackError::Parameter`] error.
    pub(crate) fn param(name: &'static str, message: impl Into<String>) -> Self {
        AttackError::Parameter {
            name,
            message: message.into(),
        }
    }
}

/// `Result` with [`AttackError`] as the default error type.
pub type Result<T, E = AttackError> = std::result::Result<T, E>;
