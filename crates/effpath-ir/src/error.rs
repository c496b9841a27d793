//! The one error type of `effpath-ir`.

use thiserror::Error;

/// Everything that can go wrong when building, running, importing or exporting a network.
///
/// Every variant names *where* the problem is (node, op, tensor, file offset) and *what* was
/// expected, so that a user can fix their model without reading effpath's source.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum IrError {
    /// A tensor had a shape the op cannot accept.
    #[error("node `{node}` ({op}): {message}")]
    Shape {
        /// Name of the node.
        node: String,
        /// Op kind.
        op: &'static str,
        /// What was wrong.
        message: String,
    },
    /// An op or attribute value that effpath does not support (e.g. dilation > 1).
    #[error("node `{node}` ({op}): unsupported: {message}")]
    Unsupported {
        /// Name of the node.
        node: String,
        /// Op kind (IR op name or ONNX op type).
        op: String,
        /// What is not supported.
        message: String,
    },
    /// The graph itself is malformed (dangling input, cycle, no output, duplicate names).
    #[error("invalid graph: {0}")]
    Graph(String),
    /// The input given to `forward` does not match the network's input shape.
    #[error(
        "input shape {got:?} does not match the network input {expected:?} (with or without a leading batch dimension)"
    )]
    InputShape {
        /// Expected per-sample shape.
        expected: Vec<usize>,
        /// Shape that was given.
        got: Vec<usize>,
    },
    /// Activations given to [`Activations::from_values`](crate::Activations::from_values) do
    /// not fit the network: wrong number of tensors, or a tensor of the wrong shape.
    #[error(
        "activation tensor {value} has shape {got:?}, expected {expected:?} (batch axis first; {count} tensors expected: the input, then one per node)"
    )]
    ActivationShape {
        /// Index of the value (0 = the input, `i + 1` = the output of node `i`); equal to
        /// `count` when tensors are missing or surplus.
        value: usize,
        /// The shape it must have (empty when the count is wrong).
        expected: Vec<usize>,
        /// The shape it has (empty when the count is wrong).
        got: Vec<usize>,
        /// Number of tensors the network has.
        count: usize,
    },
    /// A value (weight or input) is NaN or infinite.
    #[error("{what}: non-finite value at flat index {index}")]
    NonFinite {
        /// Which tensor.
        what: String,
        /// First offending index.
        index: usize,
    },
    /// The protobuf bytes of an ONNX file could not be decoded.
    #[error("ONNX decode error: {0}")]
    OnnxDecode(String),
    /// An ONNX tensor (initializer, constant, test vector) could not be converted.
    #[error("ONNX tensor `{name}`: {message}")]
    OnnxTensor {
        /// Tensor name.
        name: String,
        /// What was wrong.
        message: String,
    },
    /// An ONNX node could not be imported.
    #[error("ONNX node `{node}` (op {op_type}): {message}")]
    OnnxNode {
        /// Node name (or its first output when unnamed).
        node: String,
        /// ONNX op type.
        op_type: String,
        /// What is missing or wrong.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Result alias of this crate.
pub type Result<T, E = IrError> = std::result::Result<T, E>;
