//! What can be wrong with one ONNX node: the payload of [`IrError::OnnxNode`].
//!
//! Three families: [`AttributeIssue`] (the node's attributes), [`NodeUnsupported`] (a valid
//! node that effpath cannot compute exactly) and the rest of [`NodeIssue`] (malformed inputs,
//! shapes and constants, import limits). Each variant holds the values involved; the messages
//! are those of the importer before the issues were typed.

use thiserror::Error;

use super::IrError;

/// What is wrong with an ONNX node (the payload of [`IrError::OnnxNode`]).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum NodeIssue {
    /// An attribute is malformed, missing or not supported.
    #[error(transparent)]
    Attribute(#[from] AttributeIssue),
    /// The node is valid ONNX that effpath cannot import.
    #[error(transparent)]
    Unsupported(#[from] NodeUnsupported),
    /// The IR op the node maps to was refused by the network builder.
    #[error(transparent)]
    Build(Box<IrError>),
    /// A required input is absent.
    #[error("missing input #{index}{}", .what.map_or(String::new(), |w| format!(" ({w})")))]
    MissingInput {
        /// Input position.
        index: usize,
        /// What the input is for (`weight`, `bias`, …), when known.
        what: Option<&'static str>,
    },
    /// A required operand is neither an attribute nor an input.
    #[error("missing {what}")]
    MissingOperand {
        /// The operand (`starts`, `ends`, `pads`).
        what: &'static str,
    },
    /// An input that must be computed from the network input is a constant.
    #[error(
        "input `{input}` is a constant where effpath needs a tensor computed from the network input"
    )]
    ConstantInput {
        /// The input's name.
        input: String,
    },
    /// An input that must be a constant (a weight) is computed.
    #[error(
        "input `{input}` ({what}) must be a constant initializer: effpath supports fixed weights only"
    )]
    NotConstant {
        /// The input's name.
        input: String,
        /// What the input is for.
        what: &'static str,
    },
    /// An input that no earlier node, initializer or graph input produces.
    #[error(
        "input `{input}` is not produced by an earlier node, an initializer or the graph input"
    )]
    UnknownInput {
        /// The input's name.
        input: String,
    },
    /// An input that is a second graph input.
    #[error(
        "input `{input}` is a second graph input; effpath networks have exactly one input and constant weights"
    )]
    SecondGraphInput {
        /// The input's name.
        input: String,
    },
    /// The wrong number of computed inputs.
    #[error("expects {expected} inputs, got {got}")]
    InputCount {
        /// Inputs expected.
        expected: usize,
        /// Inputs given.
        got: usize,
    },
    /// A constant input that must hold one value holds several.
    #[error("{what} of shape {shape:?} is not a scalar")]
    NotScalar {
        /// The input (`min`, `max`, `slope`, …).
        what: &'static str,
        /// Its shape.
        shape: Vec<usize>,
    },
    /// An integer constant (axes, shape, indices) holds fractional or non-finite floats.
    #[error("expected an integer tensor, got non-integral floats")]
    NotIntegral,
    /// An axis outside the tensor's rank.
    #[error("axis {axis} out of range for rank {rank}")]
    Axis {
        /// The axis given (possibly negative).
        axis: i64,
        /// The tensor's rank.
        rank: usize,
    },
    /// The same axis given twice.
    #[error("repeated axes {axes:?}")]
    RepeatedAxes {
        /// The axes given.
        axes: Vec<i64>,
    },
    /// `Squeeze` of an axis whose size is not 1.
    #[error("cannot squeeze axis {axis} of size {size}")]
    Squeeze {
        /// The axis.
        axis: usize,
        /// Its size.
        size: usize,
    },
    /// A shape whose element count overflows.
    #[error("shape {shape:?} has too many elements")]
    ShapeOverflow {
        /// The shape.
        shape: Vec<usize>,
    },
    /// A `0` (copy) in a reshape target past the input's rank.
    #[error("shape {target:?}: 0 at axis {axis} has no input axis to copy")]
    ReshapeCopy {
        /// The target.
        target: Vec<i64>,
        /// The axis of the `0`.
        axis: usize,
    },
    /// A reshape target with a value below −1 or two −1s.
    #[error("invalid reshape target {target:?}")]
    ReshapeTarget {
        /// The target.
        target: Vec<i64>,
    },
    /// A reshape target that does not hold the input's elements.
    #[error(
        "cannot reshape {from:?}{} to {to:?}",
        .elements.map_or(String::new(), |n| format!(" ({n} elements)"))
    )]
    Reshape {
        /// The input shape.
        from: Vec<usize>,
        /// The target.
        to: Vec<i64>,
        /// The input's element count, when the target has no `-1`.
        elements: Option<usize>,
    },
    /// Constant shapes that do not broadcast.
    #[error(
        "cannot broadcast constant shapes {first:?} and {second:?}{}",
        .to.as_ref().map_or(String::new(), |t| format!(" to {t:?}"))
    )]
    Broadcast {
        /// The first operand's shape.
        first: Vec<usize>,
        /// The second operand's shape.
        second: Vec<usize>,
        /// The broadcast shape, when one was found but could not be applied.
        to: Option<Vec<usize>>,
    },
    /// Integer division of constants by zero.
    #[error("integer division by zero")]
    DivisionByZero,
    /// Integer arithmetic on constants overflows.
    #[error("integer overflow in {op} of constants: {lhs} and {rhs}")]
    IntegerOverflow {
        /// The ONNX op (`Add`, `Sub`, `Mul`, `Div`).
        op: String,
        /// The left operand.
        lhs: i64,
        /// The right operand.
        rhs: i64,
    },
    /// A negative dimension in a shape given as a constant.
    #[error("negative dimension {dim}")]
    NegativeDimension {
        /// The dimension.
        dim: i64,
    },
    /// A `perm` that is not a permutation.
    #[error("perm {perm:?} is not a permutation of {rank} axes")]
    Permutation {
        /// The normalised axes given.
        perm: Vec<usize>,
        /// The tensor's rank.
        rank: usize,
    },
    /// A `Gather` index outside its axis.
    #[error("index {index} out of range for axis of length {len}")]
    GatherIndex {
        /// The index given.
        index: i64,
        /// The axis length.
        len: i64,
    },
    /// A `Constant` node without `value`, `value_float(s)` or `value_int(s)`.
    #[error("Constant without a supported value attribute")]
    NoConstantValue,
    /// Constants that cannot be concatenated.
    #[error("cannot concatenate constants: {source}")]
    Concat {
        /// ndarray's error.
        #[source]
        source: ndarray::ShapeError,
    },
    /// `Slice` operands of different lengths.
    #[error("starts, ends, axes and steps differ in length")]
    SliceLengths,
    /// A `Slice` step of zero.
    #[error("Slice step 0")]
    SliceStepZero,
    /// A `Slice` that selects nothing.
    #[error("Slice of axis {axis} is empty")]
    EmptySlice {
        /// The axis.
        axis: usize,
    },
    /// A negative `Split` size.
    #[error("negative split size {size}")]
    NegativeSplit {
        /// The size given.
        size: i64,
    },
    /// `Split` sizes that do not partition the axis into the node's outputs.
    #[error(
        "split sizes {sizes:?} into {outputs} outputs do not partition axis {axis} of size {size}"
    )]
    SplitPartition {
        /// The sizes.
        sizes: Vec<usize>,
        /// The node's outputs.
        outputs: usize,
        /// The axis.
        axis: usize,
        /// Its size.
        size: usize,
    },
    /// `Pad` with a pads list that is not two per axis.
    #[error("{pads} pads for {axes} axes")]
    PadCount {
        /// Pads given.
        pads: usize,
        /// Axes padded.
        axes: usize,
    },
    /// A ceil-mode pool whose padded input is smaller than its kernel.
    #[error("input {input:?} is smaller than the kernel {kernel:?}")]
    KernelLarger {
        /// The spatial input size.
        input: [usize; 2],
        /// The kernel.
        kernel: [usize; 2],
    },
    /// An option that needs a (C, H, W) input got another shape.
    #[error("{by} needs a (C, H, W) input, got {shape:?}")]
    NotChw {
        /// The option (`auto_pad SAME_UPPER`, `ceil_mode = 1`, …).
        by: &'static str,
        /// The per-sample input shape.
        shape: Vec<usize>,
    },
    /// An output whose rank is above the import limit.
    #[error("output of rank {rank} exceeds the import limit of {limit}")]
    OutputRank {
        /// The rank (batch axis included).
        rank: usize,
        /// The limit.
        limit: usize,
    },
    /// An output whose element count (batch included) overflows.
    #[error("output shape {shape:?} (batch {batch}) has too many elements")]
    OutputSize {
        /// The per-sample shape.
        shape: Vec<usize>,
        /// The batch size.
        batch: usize,
    },
    /// A folded constant whose rank is above the import limit.
    #[error("constant of rank {rank} exceeds the import limit of {limit}")]
    ConstantRank {
        /// The rank.
        rank: usize,
        /// The limit.
        limit: usize,
    },
    /// A folded constant beyond the element limits.
    #[error(
        "a constant of {elements} elements exceeds the import limit ({per_constant} elements per constant, {total} in total, {used} used so far)"
    )]
    ConstantElements {
        /// The constant's elements.
        elements: usize,
        /// The per-constant limit.
        per_constant: usize,
        /// The limit for all constants.
        total: usize,
        /// Elements of earlier constants.
        used: usize,
    },
    /// A constant that would exceed the element budget, refused before it is allocated.
    #[error(
        "{what} of shape {shape:?} exceeds the import limit of {budget} more constant elements"
    )]
    Budget {
        /// Which constant (`the constant`, `the result`, …).
        what: &'static str,
        /// Its shape.
        shape: Vec<usize>,
        /// Elements still allowed.
        budget: usize,
    },
    /// A concatenation of constants that would exceed the element budget.
    #[error(
        "concatenating {parts} constants exceeds the import limit of {budget} more constant elements"
    )]
    ConcatBudget {
        /// Number of constants.
        parts: usize,
        /// Elements still allowed.
        budget: usize,
    },
    /// A step of the importer that cannot fail on checked inputs failed (a bug in effpath).
    #[error("internal error: {step} failed")]
    Internal {
        /// The step.
        step: &'static str,
    },
}

impl From<IrError> for NodeIssue {
    fn from(e: IrError) -> Self {
        NodeIssue::Build(Box::new(e))
    }
}

/// What is wrong with a node's attributes ([`NodeIssue::Attribute`]).
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum AttributeIssue {
    /// An attribute without a name.
    #[error("attribute #{index} has no name")]
    Unnamed {
        /// Its position.
        index: usize,
    },
    /// Two attributes with the same name.
    #[error("attribute `{name}` is given twice")]
    Repeated {
        /// The name.
        name: String,
    },
    /// A reference to a function attribute.
    #[error(
        "attribute `{name}` refers to function attribute `{target}`; attribute references are not supported"
    )]
    Reference {
        /// The attribute.
        name: String,
        /// The function attribute it refers to.
        target: String,
    },
    /// An attribute of another type than the op defines.
    #[error("attribute `{name}` has {}, expected {expected}", attribute_type(*.found))]
    Type {
        /// The attribute.
        name: String,
        /// The `AttributeProto.type` code found (0: none).
        found: i32,
        /// The type expected (`INT`, `INTS`, …).
        expected: &'static str,
    },
    /// A `TENSOR` attribute without a tensor.
    #[error("attribute `{name}` has type TENSOR but no tensor")]
    NoTensor {
        /// The attribute.
        name: String,
    },
    /// A string attribute that is not UTF-8.
    #[error("attribute `{name}` is not UTF-8: {source}")]
    NotUtf8 {
        /// The attribute.
        name: String,
        /// The decoding error.
        #[source]
        source: std::str::Utf8Error,
    },
    /// Attributes that the importer did not read: not supported.
    #[error(
        "unsupported attribute(s): {}",
        .names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
    )]
    Unsupported {
        /// Their names, in node order.
        names: Vec<String>,
    },
    /// A required attribute is absent.
    #[error("missing attribute `{name}`")]
    Missing {
        /// The attribute.
        name: &'static str,
    },
    /// An integer-list attribute of the wrong form.
    #[error("`{name}` = {value:?}: {expected}")]
    Ints {
        /// The attribute.
        name: &'static str,
        /// Its value.
        value: Vec<i64>,
        /// The form it must have.
        expected: &'static str,
    },
    /// An integer attribute below 1.
    #[error("{name} {value} must be ≥ 1")]
    BelowOne {
        /// The attribute.
        name: &'static str,
        /// Its value.
        value: i64,
    },
    /// `kernel_shape` disagrees with the convolution weight.
    #[error("kernel_shape {attribute:?} differs from the weight's {weight:?}")]
    KernelShape {
        /// The attribute.
        attribute: [usize; 2],
        /// The weight's spatial shape.
        weight: [usize; 2],
    },
}

/// The name of an `AttributeProto.type` code, `no type` for 0.
fn attribute_type(code: i32) -> String {
    use crate::onnx::proto::attribute_proto::AttributeType;
    match AttributeType::try_from(code) {
        Ok(AttributeType::Undefined) => "no type".to_owned(),
        Ok(t) => t.as_str_name().to_owned(),
        Err(_) => format!("unknown attribute type {code}"),
    }
}

/// Valid ONNX that effpath cannot import exactly ([`NodeIssue::Unsupported`]).
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum NodeUnsupported {
    /// An operator effpath does not know.
    #[error("unsupported operator `{op}`")]
    Operator {
        /// The op type.
        op: String,
    },
    /// An operator domain other than the default one.
    #[error("operator domain `{domain}` is not supported")]
    Domain {
        /// The domain.
        domain: String,
    },
    /// An `auto_pad` mode other than `NOTSET`, `VALID`, `SAME_UPPER`, `SAME_LOWER`.
    #[error("unsupported auto_pad `{mode}`")]
    AutoPad {
        /// The mode.
        mode: String,
    },
    /// A `Cast` of constants to a type other than float or integer.
    #[error("Cast to data type {to:?} is not supported")]
    Cast {
        /// The `to` attribute (`None` when absent).
        to: Option<i64>,
    },
    /// An op with constant inputs that the importer cannot evaluate.
    #[error("{op} cannot be evaluated on constants")]
    NotFoldable {
        /// The op type.
        op: String,
    },
    /// A convolution that is not 2-D.
    #[error("unsupported: only 2-D convolutions (weight must be 4-D, got rank {rank})")]
    ConvRank {
        /// The weight's rank.
        rank: usize,
    },
    /// A pool that is not 2-D.
    #[error("unsupported: only 2-D pooling (kernel_shape {kernel:?})")]
    PoolRank {
        /// The `kernel_shape` given.
        kernel: Vec<i64>,
    },
    /// Pool dilations other than 1.
    #[error("unsupported: pooling dilations {dilations:?} (only 1 is supported)")]
    PoolDilation {
        /// The dilations.
        dilations: Vec<i64>,
    },
    /// `ceil_mode` with `count_include_pad` and explicit pads.
    #[error(
        "unsupported: ceil_mode = 1 with count_include_pad = 1 and explicit pads (the divisor would count the ceil extension)"
    )]
    CeilIncludePad,
    /// An attribute value effpath does not support (`transA = 1`, `storage_order = 1`, a
    /// batch norm in training mode, …).
    #[error("unsupported: {attribute} = {value}")]
    Flag {
        /// The attribute.
        attribute: &'static str,
        /// Its value.
        value: i64,
    },
    /// An op along, or of, the batch axis (`action` says which: `Slice of`, `padding`, …).
    #[error("unsupported: {action} the batch axis")]
    BatchAxis {
        /// What would touch the batch axis.
        action: &'static str,
    },
    /// A `Transpose` that moves the batch axis.
    #[error("unsupported: perm {perm:?} moves the batch axis")]
    MovesBatchAxis {
        /// The normalised permutation.
        perm: Vec<usize>,
    },
    /// A reshape that changes the batch axis.
    #[error("unsupported: {op} of {from:?} to {to:?} changes the batch axis")]
    ChangesBatchAxis {
        /// The op type (`Reshape`, `Unsqueeze`, `Squeeze`).
        op: String,
        /// The shape, batch axis first.
        from: Vec<usize>,
        /// The target, batch axis first.
        to: Vec<usize>,
    },
    /// A `Flatten` whose axis merges the batch axis with others.
    #[error("unsupported: Flatten axis {axis} of {shape:?} merges the batch axis with other axes")]
    FlattenBatch {
        /// The axis given.
        axis: i64,
        /// The per-sample shape.
        shape: Vec<usize>,
    },
    /// A softmax over something other than all features of each sample.
    #[error(
        "unsupported: {op} over axis {axis} of a rank-{rank} tensor (only over all features of each sample)"
    )]
    SoftmaxAxis {
        /// The op type (`Softmax`, `LogSoftmax`).
        op: String,
        /// The normalised axis.
        axis: usize,
        /// The rank, batch axis included.
        rank: usize,
    },
    /// A reduction over other axes than the spatial ones of NCHW.
    #[error(
        "unsupported: {op} over axes {axes:?} of a rank-{rank} tensor (only the spatial axes [2, 3] of NCHW)"
    )]
    ReduceAxes {
        /// The op type (`ReduceMean`, `ReduceSum`).
        op: String,
        /// The normalised axes.
        axes: Vec<usize>,
        /// The rank, batch axis included.
        rank: usize,
    },
    /// A `Gemm`/`MatMul` weight that is not a matrix.
    #[error("unsupported: weight must be a 2-D matrix (got rank {rank})")]
    MatrixWeight {
        /// The weight's rank.
        rank: usize,
    },
    /// A `Gemm` bias that is neither a scalar nor one per output.
    #[error("unsupported: bias of shape {shape:?} for {outputs} outputs")]
    Bias {
        /// The bias shape.
        shape: Vec<usize>,
        /// The outputs.
        outputs: usize,
    },
    /// A `Sum` of computed tensors of different shapes.
    #[error("unsupported: Sum of tensors of different shapes")]
    SumShapes,
    /// An arithmetic op of several inputs, some of them constants.
    #[error("unsupported: {op} with {inputs} inputs mixing constants")]
    MixedConstants {
        /// The op type.
        op: String,
        /// The inputs.
        inputs: usize,
    },
    /// A constant operand that is not per-channel.
    #[error(
        "unsupported: broadcasting a constant of shape {constant:?} against {shape:?} (only per-channel constants)"
    )]
    ConstantBroadcast {
        /// The constant's shape.
        constant: Vec<usize>,
        /// The computed tensor's per-sample shape.
        shape: Vec<usize>,
    },
    /// A constant divided by a computed tensor.
    #[error("unsupported: dividing a constant by a computed tensor")]
    ConstantDividend,
    /// A `PRelu` slope that is neither shared nor per channel.
    #[error(
        "unsupported: PRelu slope of shape {slope:?} for input {input:?} (only one slope or one per channel)"
    )]
    PreluSlope {
        /// The slope's shape.
        slope: Vec<usize>,
        /// The input's per-sample shape.
        input: Vec<usize>,
    },
    /// A `Gelu` approximation other than `none` and `tanh`.
    #[error("unsupported: Gelu approximate = `{value}`")]
    GeluApproximate {
        /// The attribute's value.
        value: String,
    },
    /// An element-wise op of computed tensors other than Add/Sub/Mul/Div of two.
    #[error("unsupported: {op} of {inputs} computed tensors")]
    ComputedBinary {
        /// The op type.
        op: String,
        /// The inputs.
        inputs: usize,
    },
    /// A `Slice` step below 1 on a computed tensor.
    #[error("unsupported: Slice step {step} (only positive steps)")]
    SliceStep {
        /// The step.
        step: i64,
    },
    /// A `Pad` mode other than `constant`.
    #[error("unsupported: Pad mode `{mode}` (only constant)")]
    PadMode {
        /// The mode.
        mode: String,
    },
    /// Negative pads (cropping).
    #[error("unsupported: negative pads {pads:?}")]
    NegativePads {
        /// The pads.
        pads: Vec<i64>,
    },
    /// `Greater` of two computed tensors.
    #[error("unsupported: Greater of two computed tensors")]
    GreaterComputed,
    /// A `Where` other than PyTorch's softplus threshold.
    #[error(
        "unsupported: Where (only PyTorch's softplus threshold `Where(x > t, x, Softplus(x))`, t ≥ 15)"
    )]
    Where,
    /// An output that another node reads but effpath does not compute.
    #[error("output #{index} `{output}` is used but not supported (training-mode output)")]
    TrainingOutput {
        /// Its position.
        index: usize,
        /// Its name.
        output: String,
    },
}
