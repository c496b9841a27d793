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
    /// The graph itself is malformed (dangling input, cycle, no output, duplicate names), or
    /// a value given with it does not belong to it.
    #[error("invalid graph: {0}")]
    Graph(#[from] GraphIssue),
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
    /// Labelled images do not fit the network ([`Network::check_labelled`](crate::Network::check_labelled)).
    #[error(transparent)]
    Fit(#[from] FitIssue),
    /// A value (weight or input) is NaN or infinite.
    #[error("{what}: non-finite value at flat index {index}")]
    NonFinite {
        /// Which tensor.
        what: String,
        /// First offending index.
        index: usize,
    },
    /// The protobuf bytes of an ONNX file could not be decoded.
    #[error(
        "ONNX decode error: {}{message}: {source}",
        .file.as_deref().map_or(String::new(), |f| format!("{f}: "))
    )]
    OnnxDecode {
        /// The file the bytes were read from (`None` for bytes in memory).
        file: Option<String>,
        /// The protobuf message that was being decoded (`ModelProto`, `TensorProto`).
        message: &'static str,
        /// The protobuf decoder's error.
        #[source]
        source: prost::DecodeError,
    },
    /// The decoded ONNX model has no graph.
    #[error("ONNX decode error: the model has no graph")]
    OnnxNoGraph,
    /// An ONNX metadata entry effpath reads has a value of the wrong form.
    #[error("ONNX decode error: metadata {key}: `{value}` is not `{expected}`")]
    OnnxMetadata {
        /// The metadata key.
        key: &'static str,
        /// The value found.
        value: String,
        /// The form the value must have.
        expected: &'static str,
    },
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

/// What is wrong with a graph, or with a value given to it (the payload of [`IrError::Graph`]).
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum GraphIssue {
    /// The output value of [`Network::new`](crate::Network::new) is not one of its values.
    #[error("output value {value} does not exist ({nodes} nodes)")]
    NoOutput {
        /// The requested output value.
        value: usize,
        /// Number of nodes.
        nodes: usize,
    },
    /// A value index beyond the network's values.
    #[error("value {value} does not exist ({values} values)")]
    NoValue {
        /// The requested value.
        value: usize,
        /// Number of values (the input and one per node).
        values: usize,
    },
    /// The input shape has no elements, or so many that their count overflows.
    #[error("input shape {shape:?} is empty or overflows")]
    EmptyInput {
        /// The per-sample input shape.
        shape: Vec<usize>,
    },
    /// Two nodes have the same name.
    #[error("duplicate node name `{name}`")]
    DuplicateName {
        /// The name.
        name: String,
    },
    /// A node reads a value produced after it (a cycle) or by no node.
    #[error(
        "node `{node}` reads value {value} which is not produced before it (cycle or dangling input)"
    )]
    Dangling {
        /// The node.
        node: String,
        /// The value it reads.
        value: usize,
    },
    /// An input normalisation with a non-finite mean or a non-positive std.
    #[error("input normalisation mean {mean}, std {std}: need a finite mean and std > 0")]
    Normalization {
        /// The mean.
        mean: f32,
        /// The standard deviation.
        std: f32,
    },
    /// A batch-norm momentum outside `[0, 1]`.
    #[error("batch-norm momentum {momentum} must be in [0, 1]")]
    Momentum {
        /// The momentum given.
        momentum: f32,
    },
    /// Activations with another number of tensors than the network has values (activations
    /// of another network).
    #[error(
        "activations hold {got} tensors but the network has {expected} values (activations of another network?)"
    )]
    ActivationCount {
        /// The network's value count.
        expected: usize,
        /// The activations' tensor count.
        got: usize,
    },
    /// Activations with batch statistics of another number of nodes (activations of another
    /// network).
    #[error(
        "activations hold batch statistics of {got} nodes but the network has {expected} (activations of another network?)"
    )]
    BatchStatsCount {
        /// The network's node count.
        expected: usize,
        /// The activations' count.
        got: usize,
    },
    /// Activations with batch statistics for a node that is not a batch norm.
    #[error(
        "activations hold batch statistics for node `{node}`, which is not a batch norm (activations of another network?)"
    )]
    BatchStatsNode {
        /// The node.
        node: String,
    },
    /// Activations with batch statistics of another channel count than the batch norm's.
    #[error(
        "batch norm `{node}` has {expected} channels but the activations have {got} (activations of another network?)"
    )]
    BatchStatsChannels {
        /// The batch norm.
        node: String,
        /// Its channel count.
        expected: usize,
        /// The activations' channel count.
        got: usize,
    },
    /// A model of the zoo was asked for with an empty input or no class.
    #[error(
        "{model} needs a non-empty input (got {input:?}) and at least one class (got {classes})"
    )]
    EmptyModel {
        /// The zoo function.
        model: &'static str,
        /// The input shape given.
        input: Vec<usize>,
        /// The class count given.
        classes: usize,
    },
    /// A value that a pass must have computed was not (never for a validated network).
    #[error("value {value} (the logits) was not computed")]
    NotComputed {
        /// The value.
        value: usize,
    },
    /// An imported graph has more nodes than the import limit.
    #[error("{nodes} nodes exceed the import limit of {limit}")]
    TooManyNodes {
        /// The graph's node count.
        nodes: usize,
        /// The limit.
        limit: usize,
    },
    /// Every input of an imported graph is an initializer.
    #[error("the graph has no input without an initializer")]
    NoInput,
    /// The output of an imported graph is a constant.
    #[error("graph output `{output}` is a constant, not computed from the input")]
    ConstantOutput {
        /// The output's name.
        output: String,
    },
    /// No node of an imported graph produces its output.
    #[error("graph output `{output}` is not produced by any node")]
    UnproducedOutput {
        /// The output's name.
        output: String,
    },
}

/// How labelled images do not fit a network (the result of
/// [`Network::check_labelled`](crate::Network::check_labelled)).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum FitIssue {
    /// The images' shape is not the network's input shape.
    #[error("the images are {got:?} but the network expects {expected:?}")]
    ImageShape {
        /// The network's per-sample input shape.
        expected: Vec<usize>,
        /// The images' per-sample shape.
        got: Vec<usize>,
    },
    /// Not one label per image.
    #[error("{labels} labels for {images} images")]
    LabelCount {
        /// Number of images.
        images: usize,
        /// Number of labels.
        labels: usize,
    },
    /// A label that is not a class of the network.
    #[error("label {label} of image {index} is not a class of the network ({classes} classes)")]
    Label {
        /// Index of the image in its data set.
        index: usize,
        /// The label.
        label: usize,
        /// The network's class count.
        classes: usize,
    },
}

/// Result alias of this crate.
pub type Result<T, E = IrError> = std::result::Result<T, E>;
