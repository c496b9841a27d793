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
