//! The one error type of `effpath-ir`.

use thiserror::Error;

mod node;

pub use node::{AttributeIssue, NodeIssue, NodeUnsupported};

/// Everything that can go wrong when building, running, importing or exporting a network.
///
/// Every variant names *where* the problem is (node, op, tensor, file offset) and *what* was
/// expected, so that a user can fix their model without reading effpath's source.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum IrError {
    /// A tensor had a shape the op cannot accept, or the op's parameters are inconsistent.
    #[error("node `{node}` ({op}): {issue}")]
    Shape {
        /// Name of the node.
        node: String,
        /// Op kind.
        op: &'static str,
        /// What was wrong (boxed: keeps the error small).
        issue: Box<ShapeIssue>,
    },
    /// An op or attribute value that effpath does not support (e.g. dilation > 1).
    #[error("node `{node}` ({op}): unsupported: {issue}")]
    Unsupported {
        /// Name of the node.
        node: String,
        /// Op kind (IR op name or ONNX op type).
        op: String,
        /// What is not supported (boxed: keeps the error small).
        issue: Box<UnsupportedIssue>,
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
    #[error("{tensor}: non-finite value at flat index {index}")]
    NonFinite {
        /// Which tensor.
        tensor: NonFiniteTensor,
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
    #[error("ONNX tensor `{name}`: {issue}")]
    OnnxTensor {
        /// Tensor name.
        name: String,
        /// What was wrong (boxed: keeps the error small).
        issue: Box<TensorIssue>,
    },
    /// An ONNX node could not be imported.
    #[error("ONNX node `{node}` (op {op_type}): {issue}")]
    OnnxNode {
        /// Node name (or its first output when unnamed).
        node: String,
        /// ONNX op type.
        op_type: String,
        /// What is missing or wrong (boxed: keeps the error small).
        issue: Box<NodeIssue>,
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

/// The tensor of an [`IrError::NonFinite`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum NonFiniteTensor {
    /// The input given to `forward`.
    #[error("network input")]
    Input,
    /// An activation given to [`Activations::from_values`](crate::Activations::from_values).
    #[error("activation tensor {value}")]
    Activation {
        /// Index of the value (0 = the input, `i + 1` = the output of node `i`).
        value: usize,
    },
    /// A parameter of an imported node (a weight, a bias, a batch norm's statistics, or the
    /// scale and shift they fold to).
    #[error("ONNX node `{node}` ({op}) {param}")]
    Parameter {
        /// The node's name.
        node: String,
        /// The IR op kind.
        op: &'static str,
        /// The parameter.
        param: &'static str,
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

/// Why an op cannot be placed on its inputs, or its parameters are inconsistent (the payload
/// of [`IrError::Shape`]). Shapes are per-sample (no batch axis) unless said otherwise.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ShapeIssue {
    /// Another number of inputs than the op takes.
    #[error("expects {}{expected} input(s), got {got}", if *.at_least { "at least " } else { "" })]
    Arity {
        /// The inputs the op takes (its minimum with `at_least`).
        expected: usize,
        /// Whether more inputs are accepted.
        at_least: bool,
        /// The inputs given.
        got: usize,
    },
    /// A node input that is not (yet) a value of the network.
    #[error("input value {value} does not exist yet")]
    MissingInput {
        /// The value index.
        value: usize,
    },
    /// An input that is not `(C, H, W)`.
    #[error("{op} needs a (C, H, W) input, got {got:?}")]
    NotChw {
        /// The op.
        op: &'static str,
        /// The input's shape.
        got: Vec<usize>,
    },
    /// A dense layer's input that is not flat of the weight's input size.
    #[error("weight {weight:?} needs a flat input of {}, got {got:?}", .weight[1])]
    DenseInput {
        /// The weight's shape `(out, in)`.
        weight: [usize; 2],
        /// The input's shape.
        got: Vec<usize>,
    },
    /// A window kernel or stride of 0.
    #[error("kernel {kernel:?} and stride {stride:?} must be ≥ 1")]
    Window {
        /// The kernel.
        kernel: [usize; 2],
        /// The stride.
        stride: [usize; 2],
    },
    /// A convolution dilation of 0.
    #[error("dilation {dilation:?} must be ≥ 1")]
    Dilation {
        /// The dilation.
        dilation: [usize; 2],
    },
    /// A pool's padding that is not smaller than its kernel.
    #[error("padding {begin:?}/{end:?} must be smaller than the kernel {kernel:?}")]
    PoolPadding {
        /// Leading padding per spatial axis.
        begin: [usize; 2],
        /// Trailing padding per spatial axis.
        end: [usize; 2],
        /// The kernel.
        kernel: [usize; 2],
    },
    /// A padded input smaller than the window.
    #[error(
        "input {}×{} with padding {:?}/{:?} is smaller than the kernel {:?}",
        .input[0], .input[1], .window.pads_begin, .window.pads_end, .window.kernel
    )]
    WindowTooLarge {
        /// Input height and width.
        input: [usize; 2],
        /// The (dilated) window (boxed: keeps the error small).
        window: Box<crate::op::Window2d>,
    },
    /// A per-channel parameter (bias, batch-norm statistic) of another length than the
    /// channel count.
    #[error("{what} has {len} entries for {channels} channels")]
    ChannelCount {
        /// The parameter.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The channel count.
        channels: usize,
    },
    /// Convolution groups that do not divide the channels.
    #[error("groups {groups} must divide input channels {inputs} and output channels {outputs}")]
    Groups {
        /// The groups.
        groups: usize,
        /// Input channels.
        inputs: usize,
        /// Output channels.
        outputs: usize,
    },
    /// A convolution weight whose input channels (times the groups) differ from the input's.
    #[error("weight {weight:?} with {groups} group(s) needs {needs} input channels, got {got}")]
    WeightChannels {
        /// The weight's shape `(C_out, C_in/groups, kh, kw)`.
        weight: [usize; 4],
        /// The groups.
        groups: usize,
        /// The input channels the weight needs.
        needs: usize,
        /// The input's channels.
        got: usize,
    },
    /// A window kernel other than the weight's spatial size.
    #[error("window kernel {kernel:?} differs from the weight's {weight:?}")]
    KernelMismatch {
        /// The window's kernel.
        kernel: [usize; 2],
        /// The weight's `(kh, kw)`.
        weight: [usize; 2],
    },
    /// An input without elements along the axes the op reduces or normalises.
    #[error("needs {what}")]
    Empty {
        /// What is missing, e.g. "a channel axis", "a non-empty spatial extent".
        what: &'static str,
    },
    /// A size parameter of 0 (an LRN's size).
    #[error("{what} must be ≥ 1")]
    Zero {
        /// The parameter.
        what: &'static str,
    },
    /// A size that overflows `usize`.
    #[error("{what} overflows")]
    Overflow {
        /// Which size, e.g. "size", "padded size".
        what: &'static str,
    },
    /// A reshape to another element count.
    #[error("cannot reshape {from:?} to {to:?}")]
    Reshape {
        /// The input shape.
        from: Vec<usize>,
        /// The target shape.
        to: Vec<usize>,
    },
    /// Axes that are not a permutation of the input's.
    #[error("{perm:?} is not a permutation of {rank} axes")]
    Permutation {
        /// The permutation given.
        perm: Vec<usize>,
        /// The input rank.
        rank: usize,
    },
    /// An axis beyond the input's rank.
    #[error("axis {axis} out of range for {shape:?}")]
    Axis {
        /// The axis.
        axis: usize,
        /// The input shape.
        shape: Vec<usize>,
    },
    /// A slice reaching beyond its axis (or of step 0).
    #[error("slice start {start} step {step} len {len} does not fit axis {axis} of size {size}")]
    Slice {
        /// First index.
        start: usize,
        /// Step.
        step: usize,
        /// Number of elements.
        len: usize,
        /// The axis.
        axis: usize,
        /// The axis' size.
        size: usize,
    },
    /// Pads of another rank than the input.
    #[error("pads {begin:?}/{end:?} for a rank-{rank} input")]
    PadRank {
        /// Leading pads.
        begin: Vec<usize>,
        /// Trailing pads.
        end: Vec<usize>,
        /// The input rank.
        rank: usize,
    },
    /// A parameter that is NaN or infinite.
    #[error("{what} {value} is not finite")]
    NotFinite {
        /// The parameter, e.g. "padding value", "alpha".
        what: &'static str,
        /// Its value.
        value: f32,
    },
    /// A concatenation input that differs from the first off the concatenation axis.
    #[error("input {got:?} does not match {first:?} off axis {axis}")]
    Concat {
        /// The concatenation axis.
        axis: usize,
        /// The input's shape.
        got: Vec<usize>,
        /// The first input's shape.
        first: Vec<usize>,
    },
    /// Two shapes (of the same rank) that do not broadcast.
    #[error("shapes {a:?} and {b:?} do not broadcast")]
    Broadcast {
        /// The first shape.
        a: Vec<usize>,
        /// The second shape.
        b: Vec<usize>,
    },
    /// An op whose output has no elements.
    #[error("output shape {shape:?} is empty")]
    EmptyOutput {
        /// The output shape.
        shape: Vec<usize>,
    },
    /// Activation parameters out of range.
    #[error(transparent)]
    Activation(#[from] ActivationIssue),
    /// A gradient of another shape than the network's value (batch axis included).
    #[error("gradient of shape {got:?}, expected {expected:?}")]
    Gradient {
        /// The shape given.
        got: Vec<usize>,
        /// The shape expected.
        expected: Vec<usize>,
    },
    /// A recorded activation of another shape than the network's value (batch axis
    /// included).
    #[error("activation of shape {got:?}, expected {expected:?} (activations of another network?)")]
    ActivationTensor {
        /// The shape given.
        got: Vec<usize>,
        /// The shape expected.
        expected: Vec<usize>,
    },
    /// A batch-norm channel whose variance plus epsilon is not positive.
    #[error("variance {variance} + epsilon {epsilon} of channel {channel} is not positive")]
    Variance {
        /// The channel.
        channel: usize,
        /// Its variance.
        variance: f32,
        /// The epsilon.
        epsilon: f32,
    },
    /// Not one label per logit row (or no rows).
    #[error("{labels} labels for a batch of {batch} logits (need one per sample, batch ≥ 1)")]
    LabelCount {
        /// Labels given.
        labels: usize,
        /// Rows of logits.
        batch: usize,
    },
    /// A label that is not a class.
    #[error("label {label} of sample {sample} is not below {classes} classes")]
    Label {
        /// The label.
        label: usize,
        /// Its sample.
        sample: usize,
        /// The class count.
        classes: usize,
    },
}

/// Activation parameters out of range (in [`ShapeIssue::Activation`]).
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ActivationIssue {
    /// A parameter that is NaN or infinite.
    #[error("{what} {value} is not finite")]
    NotFinite {
        /// The parameter ("alpha", "beta", "gamma").
        what: &'static str,
        /// Its value.
        value: f32,
    },
    /// Clip bounds that are not an interval.
    #[error("Clip bounds [{min}, {max}] are not an interval")]
    ClipBounds {
        /// Lower bound.
        min: f32,
        /// Upper bound.
        max: f32,
    },
    /// A PRelu slope that is NaN or infinite.
    #[error("slope {index} is not finite")]
    Slope {
        /// Index of the slope.
        index: usize,
    },
    /// PRelu slopes neither 1 nor one per channel.
    #[error("{slopes} slopes for {} channels (need 1 or one per channel)", .channels.map_or("no".to_string(), |c| c.to_string()))]
    SlopeCount {
        /// Slopes given.
        slopes: usize,
        /// The input's channels (`None`: no channel axis).
        channels: Option<usize>,
    },
}

/// What effpath does not compute (the payload of [`IrError::Unsupported`]).
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum UnsupportedIssue {
    /// Inputs of an op that need identical shapes (or ranks) and do not have them.
    #[error("broadcasting between {first:?} and {other:?} ({})", if *.ranks_differ {
        "per-sample ranks differ: both inputs need a batch axis and the same rank"
    } else {
        "inputs must have identical shapes"
    })]
    Broadcast {
        /// The first input's shape.
        first: Vec<usize>,
        /// The other input's shape.
        other: Vec<usize>,
        /// Whether the ranks differ (else the shapes, of an op without broadcasting).
        ranks_differ: bool,
    },
    /// The ONNX graph input is missing from the graph's inputs.
    #[error("missing")]
    MissingInput,
    /// The ONNX graph input is not a tensor.
    #[error("the input is not a tensor")]
    NotATensor,
    /// An ONNX graph input of another element type than FLOAT.
    #[error("input element type {elem_type} (only FLOAT)")]
    InputType {
        /// The ONNX data type's name.
        elem_type: String,
    },
    /// An ONNX graph input without a batch axis or known shape.
    #[error("the input needs a batch axis and a known shape")]
    InputShapeUnknown,
    /// A symbolic axis other than the batch axis.
    #[error("axis {axis} has no fixed size (only the batch axis may be symbolic)")]
    SymbolicAxis {
        /// The axis (0 = the batch axis).
        axis: usize,
    },
    /// An input whose element count overflows.
    #[error("shape {shape:?} with batch {batch} has too many elements")]
    InputSize {
        /// The per-sample shape.
        shape: Vec<usize>,
        /// The batch size.
        batch: usize,
    },
    /// A rank beyond the import limit.
    #[error("rank {rank} exceeds the import limit of {limit}")]
    Rank {
        /// The rank (batch axis included).
        rank: usize,
        /// The limit.
        limit: usize,
    },
    /// Not exactly one graph output.
    #[error("{outputs} graph outputs (effpath networks have exactly one)")]
    Outputs {
        /// The graph outputs.
        outputs: usize,
    },
}

/// Why an ONNX tensor cannot be converted (the payload of [`IrError::OnnxTensor`]).
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum TensorIssue {
    /// A negative dimension.
    #[error("negative dimension {dim} in dims {dims:?}")]
    NegativeDim {
        /// The dimension.
        dim: i64,
        /// The tensor's dims.
        dims: Vec<i64>,
    },
    /// The element count or byte size of the dims overflows `usize`.
    #[error("{what} of dims {dims:?} overflows")]
    Overflow {
        /// "element count" or "byte size".
        what: &'static str,
        /// The tensor's dims.
        dims: Vec<i64>,
    },
    /// Data stored externally where external data cannot be read (a model in memory).
    #[error(
        "data is stored externally (location {:?}); external data is not supported, save the model with all tensors embedded",
        .location.as_deref().unwrap_or("<unset>")
    )]
    External {
        /// The `location` entry, if any.
        location: Option<String>,
    },
    /// Elements in more than one field.
    #[error("elements are stored in several fields at once: {}", .fields.join(", "))]
    Fields {
        /// The fields holding elements.
        fields: Vec<&'static str>,
    },
    /// No data for a non-empty tensor.
    #[error("has no data, dims {dims:?} need {count} elements")]
    NoData {
        /// The tensor's dims.
        dims: Vec<i64>,
        /// The elements they need.
        count: usize,
    },
    /// `raw_data` of another length than the dims need.
    #[error("raw_data has {bytes} bytes, dims {dims:?} need {count} x {width} = {}", count * width)]
    RawLength {
        /// Bytes present.
        bytes: usize,
        /// The tensor's dims.
        dims: Vec<i64>,
        /// The elements they need.
        count: usize,
        /// Bytes per element.
        width: usize,
    },
    /// A typed field of another length than the dims need.
    #[error("{field} has {len} elements, dims {dims:?} need {count}")]
    FieldLength {
        /// The field.
        field: &'static str,
        /// Its elements.
        len: usize,
        /// The tensor's dims.
        dims: Vec<i64>,
        /// The elements they need.
        count: usize,
    },
    /// An integer outside the range of the declared data type.
    #[error("value {value} is out of range for {data_type}")]
    OutOfRange {
        /// The value.
        value: i128,
        /// The declared data type's name (e.g. `UINT8 (2)`).
        data_type: String,
    },
    /// A data type that cannot be converted to the element type wanted.
    #[error("data type {data_type} cannot be converted to {target}")]
    Conversion {
        /// The data type's name.
        data_type: String,
        /// The element type wanted (`f32`, `i64`).
        target: &'static str,
    },
    /// A data type stored in a field that cannot hold it.
    #[error("data type {data_type} cannot be stored in {field}")]
    Storage {
        /// The data type's name.
        data_type: String,
        /// The field.
        field: &'static str,
    },
    /// Dims that do not fit the elements.
    #[error("dims {dims:?}: {source}")]
    Dims {
        /// The tensor's dims.
        dims: Vec<i64>,
        /// ndarray's error.
        #[source]
        source: ndarray::ShapeError,
    },
    /// External data without a `location` entry.
    #[error("external data without a location")]
    NoLocation,
    /// An external-data entry (`offset`, `length`) that is not a number.
    #[error("external data {key} `{value}` is not a number")]
    ExternalNumber {
        /// The entry's key.
        key: &'static str,
        /// Its value.
        value: String,
    },
    /// An external-data location that is not a plain relative path.
    #[error("external data location `{location}` must be a plain relative path next to the model")]
    ExternalPath {
        /// The location.
        location: String,
    },
    /// An external-data range beyond its file.
    #[error("external data offset {offset} + length {length} exceeds `{location}` ({size} bytes)")]
    ExternalRange {
        /// The offset.
        offset: u64,
        /// The length.
        length: u64,
        /// The file.
        location: String,
        /// The file's size.
        size: u64,
    },
    /// A rank beyond the import limit.
    #[error("rank {rank} exceeds the import limit of {limit}")]
    Rank {
        /// The rank.
        rank: usize,
        /// The limit.
        limit: usize,
    },
    /// More elements than the import limit leaves.
    #[error(
        "{elements} elements exceed the import limit of {limit} elements for all initializers and constants ({used} used so far)"
    )]
    Elements {
        /// The tensor's elements.
        elements: usize,
        /// The limit.
        limit: usize,
        /// Elements used by earlier tensors.
        used: usize,
    },
}
