//! A builder for hand-made networks: add ops one at a time, get shape errors immediately.

use crate::error::Result;
use crate::graph::{Network, Node, ValueId, shape_error};
use crate::op::{AvgPool2d, BatchNorm, Conv2d, Dense, Lrn, Op, Window2d};
use crate::shape;

/// Builds a [`Network`] op by op, checking shapes as it goes.
///
/// ```
/// use effpath_ir::{NetworkBuilder, Conv2d, Window2d};
/// use ndarray::{Array2, Array4};
/// let mut b = NetworkBuilder::new(vec![1, 8, 8]);
/// let x = b.input();
/// let c = b.conv2d(x, Conv2d::new(Array4::zeros((4, 1, 3, 3)), None))?;
/// let r = b.relu(c)?;
/// let p = b.max_pool(r, Window2d::new([2, 2], [2, 2]))?;
/// let f = b.flatten(p)?;
/// let y = b.dense(f, Array2::zeros((10, 36)), None)?;
/// let net = b.finish(y)?;
/// assert_eq!(net.shape(y), &[10]);
/// # Ok::<(), effpath_ir::IrError>(())
/// ```
#[derive(Debug, Clone)]
pub struct NetworkBuilder {
    input_name: String,
    shapes: Vec<Vec<usize>>,
    nodes: Vec<Node>,
}

impl NetworkBuilder {
    /// Starts a network whose input has the given per-sample shape.
    pub fn new(input_shape: Vec<usize>) -> Self {
        NetworkBuilder {
            input_name: "input".into(),
            shapes: vec![input_shape],
            nodes: Vec::new(),
        }
    }

    /// Names the input tensor (default `input`).
    pub fn with_input_name(mut self, name: impl Into<String>) -> Self {
        self.input_name = name.into();
        self
    }

    /// The network input.
    pub fn input(&self) -> ValueId {
        ValueId::INPUT
    }

    /// Per-sample shape of a value added so far.
    pub fn shape(&self, v: ValueId) -> Option<&[usize]> {
        self.shapes.get(v.0).map(Vec::as_slice)
    }

    /// Adds a node with an automatic name (`<kind>_<index>`).
    pub fn push(&mut self, op: Op, inputs: &[ValueId]) -> Result<ValueId> {
        let name = format!("{}_{}", op.kind().to_lowercase(), self.nodes.len());
        self.push_named(name, op, inputs)
    }

    /// Adds a named node; checks its input ids and shapes.
    pub fn push_named(
        &mut self,
        name: impl Into<String>,
        op: Op,
        inputs: &[ValueId],
    ) -> Result<ValueId> {
        let node = Node {
            name: name.into(),
            op,
            inputs: inputs.to_vec(),
        };
        let mut ins = Vec::with_capacity(inputs.len());
        for v in inputs {
            match self.shapes.get(v.0) {
                Some(s) => ins.push(s.as_slice()),
                None => {
                    return Err(shape_error(
                        &node,
                        shape::OpIssue::Invalid(crate::ShapeIssue::MissingInput { value: v.0 }),
                    ));
                }
            }
        }
        let out = shape::infer(&node.op, &ins).map_err(|e| shape_error(&node, e))?;
        self.shapes.push(out);
        self.nodes.push(node);
        Ok(ValueId(self.nodes.len()))
    }

    /// Dense layer with weight `(out, in)`.
    pub fn dense(
        &mut self,
        x: ValueId,
        weight: ndarray::Array2<f32>,
        bias: Option<ndarray::Array1<f32>>,
    ) -> Result<ValueId> {
        self.push(Op::Dense(Dense { weight, bias }), &[x])
    }

    /// Convolution.
    pub fn conv2d(&mut self, x: ValueId, conv: Conv2d) -> Result<ValueId> {
        self.push(Op::Conv2d(conv), &[x])
    }

    /// ReLU.
    pub fn relu(&mut self, x: ValueId) -> Result<ValueId> {
        self.push(Op::Relu, &[x])
    }

    /// Max pooling.
    pub fn max_pool(&mut self, x: ValueId, window: Window2d) -> Result<ValueId> {
        self.push(Op::MaxPool2d(window), &[x])
    }

    /// Average pooling.
    pub fn avg_pool(
        &mut self,
        x: ValueId,
        window: Window2d,
        count_include_pad: bool,
    ) -> Result<ValueId> {
        self.push(
            Op::AvgPool2d(AvgPool2d {
                window,
                count_include_pad,
            }),
            &[x],
        )
    }

    /// Global average pooling `(C, H, W) → (C, 1, 1)`.
    pub fn global_avg_pool(&mut self, x: ValueId) -> Result<ValueId> {
        self.push(Op::GlobalAvgPool, &[x])
    }

    /// Flatten to one axis.
    pub fn flatten(&mut self, x: ValueId) -> Result<ValueId> {
        self.push(Op::Flatten, &[x])
    }

    /// Element-wise sum (skip connection).
    pub fn add(&mut self, xs: &[ValueId]) -> Result<ValueId> {
        self.push(Op::Add, xs)
    }

    /// Batch normalisation.
    pub fn batch_norm(&mut self, x: ValueId, bn: BatchNorm) -> Result<ValueId> {
        self.push(Op::BatchNorm(bn), &[x])
    }

    /// Local response normalisation.
    pub fn lrn(&mut self, x: ValueId, lrn: Lrn) -> Result<ValueId> {
        self.push(Op::Lrn(lrn), &[x])
    }

    /// Concatenation along a per-sample axis.
    pub fn concat(&mut self, xs: &[ValueId], axis: usize) -> Result<ValueId> {
        self.push(Op::Concat(axis), xs)
    }

    /// Softmax over the per-sample tensor.
    pub fn softmax(&mut self, x: ValueId) -> Result<ValueId> {
        self.push(Op::Softmax, &[x])
    }

    /// The node producing `v` (for import-time pattern fusion), `None` for the input.
    pub(crate) fn node(&self, v: ValueId) -> Option<&Node> {
        v.producer().and_then(|i| self.nodes.get(i))
    }

    /// The op producing `v` (for import-time fusion of constant scale/shift into it).
    pub(crate) fn op_mut(&mut self, v: ValueId) -> Option<&mut Op> {
        v.producer()
            .and_then(|i| self.nodes.get_mut(i))
            .map(|n| &mut n.op)
    }

    /// Validates the whole graph and returns the network with `output` as its output.
    pub fn finish(self, output: ValueId) -> Result<Network> {
        let input_shape = self.shapes.into_iter().next().unwrap_or_default();
        Network::new(self.input_name, input_shape, self.nodes, output)
    }
}
