//! The validated network graph: nodes in topological order, each producing one value.

use crate::error::ShapeIssue;
use crate::error::{GraphIssue, IrError, Result};
use crate::op::Op;
use crate::shape::{self, OpIssue};

/// Identifies a tensor of a network: `ValueId(0)` is the network input, `ValueId(i + 1)` is
/// the output of node `i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId(pub usize);

impl ValueId {
    /// The network input.
    pub const INPUT: ValueId = ValueId(0);

    /// The node producing this value, or `None` for the network input.
    pub fn producer(self) -> Option<usize> {
        self.0.checked_sub(1)
    }
}

/// One node: an op, its inputs and a (unique) name.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Unique name (from the ONNX file, or given by the builder).
    pub name: String,
    /// The operation.
    pub op: Op,
    /// Input values, in op order.
    pub inputs: Vec<ValueId>,
}

/// A validated directed acyclic graph of ops over NCHW `f32` tensors with one input and one
/// output.
///
/// Invariants checked by [`Network::new`]: every node reads only the input or values of
/// earlier nodes (so the graph is acyclic and `nodes` is a topological order), every node's
/// shapes agree with its op, names are unique, and every node contributes to the output
/// (others are pruned).
///
/// ```
/// use effpath_ir::{Network, Node, Op, ValueId};
/// let relu = Node { name: "relu".into(), op: Op::Relu, inputs: vec![ValueId::INPUT] };
/// let net = Network::new("x", vec![3, 2, 2], vec![relu], ValueId(1))?;
/// assert_eq!(net.shape(ValueId(1)), &[3, 2, 2]);
/// # Ok::<(), effpath_ir::IrError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    input_name: String,
    nodes: Vec<Node>,
    shapes: Vec<Vec<usize>>,
    output: ValueId,
    input_normalization: Option<[f32; 2]>,
}

/// Converts a shape problem of node `node` into the crate error.
pub(crate) fn shape_error(node: &Node, issue: OpIssue) -> IrError {
    match issue {
        OpIssue::Invalid(issue) => IrError::Shape {
            node: node.name.clone(),
            op: node.op.kind(),
            issue: Box::new(issue),
        },
        OpIssue::Unsupported(issue) => IrError::Unsupported {
            node: node.name.clone(),
            op: node.op.kind().to_string(),
            issue: Box::new(issue),
        },
    }
}

impl Network {
    /// Validates and builds a network. `input_shape` is the per-sample shape (no batch axis).
    /// Nodes that do not contribute to `output` are dropped.
    pub fn new(
        input_name: impl Into<String>,
        input_shape: Vec<usize>,
        nodes: Vec<Node>,
        output: ValueId,
    ) -> Result<Network> {
        if output.0 > nodes.len() {
            return Err(GraphIssue::NoOutput {
                value: output.0,
                nodes: nodes.len(),
            }
            .into());
        }
        if shape::numel(&input_shape).is_none_or(|n| n == 0) {
            return Err(GraphIssue::EmptyInput { shape: input_shape }.into());
        }
        let (nodes, output) = prune(nodes, output);
        let mut names = std::collections::HashSet::new();
        let mut shapes = vec![input_shape];
        for (i, node) in nodes.iter().enumerate() {
            if !names.insert(node.name.as_str()) {
                return Err(GraphIssue::DuplicateName {
                    name: node.name.clone(),
                }
                .into());
            }
            if let Some(bad) = node.inputs.iter().find(|v| v.0 > i) {
                return Err(GraphIssue::Dangling {
                    node: node.name.clone(),
                    value: bad.0,
                }
                .into());
            }
            let ins: Vec<&[usize]> = node.inputs.iter().map(|v| shapes[v.0].as_slice()).collect();
            let out = shape::infer(&node.op, &ins).map_err(|e| shape_error(node, e))?;
            if shape::numel(&out).is_none_or(|n| n == 0) {
                return Err(shape_error(
                    node,
                    OpIssue::Invalid(ShapeIssue::EmptyOutput { shape: out }),
                ));
            }
            shapes.push(out);
        }
        Ok(Network {
            input_name: input_name.into(),
            nodes,
            shapes,
            output,
            input_normalization: None,
        })
    }

    /// Records that the network expects pixels in `[0, 1]` mapped to `(x − mean) / std` (as a
    /// PyTorch model trained on normalised data does). Stored in ONNX metadata
    /// (`effpath.input_normalization`) and used by the CLI when no `--normalize` is given.
    /// Errors on a non-finite mean or a non-positive std.
    ///
    /// ```
    /// let net = effpath_ir::zoo::lenet5(0).with_input_normalization(Some([0.1307, 0.3081]))?;
    /// assert_eq!(net.input_normalization(), Some([0.1307, 0.3081]));
    /// # Ok::<(), effpath_ir::IrError>(())
    /// ```
    pub fn with_input_normalization(mut self, mean_std: Option<[f32; 2]>) -> Result<Network> {
        if let Some([mean, std]) = mean_std
            && !(mean.is_finite() && std.is_finite() && std > 0.0)
        {
            return Err(GraphIssue::Normalization { mean, std }.into());
        }
        self.input_normalization = mean_std;
        Ok(self)
    }

    /// The `(mean, std)` input normalisation the network expects, if recorded.
    pub fn input_normalization(&self) -> Option<[f32; 2]> {
        self.input_normalization
    }

    /// Name of the input tensor.
    pub fn input_name(&self) -> &str {
        &self.input_name
    }

    /// Per-sample input shape, e.g. `[1, 28, 28]`.
    pub fn input_shape(&self) -> &[usize] {
        &self.shapes[0]
    }

    /// Nodes in topological (forward) order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The node producing `value`, if it is not the input.
    pub fn producer(&self, value: ValueId) -> Option<&Node> {
        value.producer().and_then(|i| self.nodes.get(i))
    }

    /// Per-sample shape of a value. Panics only on an id not of this network.
    pub fn shape(&self, value: ValueId) -> &[usize] {
        &self.shapes[value.0]
    }

    /// Per-sample shapes of all values (index = `ValueId.0`).
    pub fn shapes(&self) -> &[Vec<usize>] {
        &self.shapes
    }

    /// The output value (possibly a Softmax).
    pub fn output(&self) -> ValueId {
        self.output
    }

    /// The logits: the output with trailing Softmax/LogSoftmax nodes skipped. Paths start here.
    pub fn logits(&self) -> ValueId {
        let mut v = self.output;
        while let Some(node) = self.producer(v) {
            if !node.op.is_output_normalization() {
                break;
            }
            v = node.inputs[0];
        }
        v
    }

    /// Number of output classes (element count of the logits).
    pub fn num_classes(&self) -> usize {
        self.shape(self.logits()).iter().product()
    }

    /// For each value, the nodes that read it (in node order, a node reading a value twice
    /// listed once).
    pub fn consumers(&self) -> Vec<Vec<usize>> {
        let mut out = vec![Vec::new(); self.shapes.len()];
        for (i, node) in self.nodes.iter().enumerate() {
            for v in &node.inputs {
                if out[v.0].last() != Some(&i) {
                    out[v.0].push(i);
                }
            }
        }
        out
    }

    /// Indices of the weighted nodes (Dense, Conv2d) in forward order.
    pub fn weighted_nodes(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].op.is_weighted())
            .collect()
    }

    /// Total trainable parameter count.
    pub fn parameter_count(&self) -> usize {
        self.nodes.iter().map(|n| n.op.parameter_count()).sum()
    }

    /// Multiply–accumulate count of one node for one sample (saturating at `usize::MAX` for
    /// absurd imported geometries).
    pub fn macs(&self, node: usize) -> usize {
        let n = &self.nodes[node];
        let out: usize = self.shapes[node + 1].iter().product();
        match &n.op {
            Op::Dense(d) => d.weight.len(),
            Op::Conv2d(c) => {
                let (_, cin_g, kh, kw) = c.weight.dim();
                out.saturating_mul(cin_g * kh * kw)
            }
            Op::MaxPool2d(w) => out.saturating_mul(w.kernel[0].saturating_mul(w.kernel[1])),
            Op::AvgPool2d(a) => {
                out.saturating_mul(a.window.kernel[0].saturating_mul(a.window.kernel[1]))
            }
            Op::GlobalAvgPool => self.shapes[n.inputs[0].0].iter().product(),
            Op::Relu
            | Op::Lrn(_)
            | Op::Flatten
            | Op::Reshape(_)
            | Op::Transpose(_)
            | Op::Add
            | Op::BatchNorm(_)
            | Op::Concat(_)
            | Op::Softmax
            | Op::LogSoftmax
            | Op::Activation(_)
            | Op::Binary(_)
            | Op::Slice(_)
            | Op::Pad(_) => 0,
        }
    }

    /// Mutable views of the trainable parameters of node `node`, in the order of
    /// `ParamGrad::tensors` (weight then bias, or gamma then beta); empty for ops without
    /// parameters. Views cannot change shapes, so the network stays valid.
    ///
    /// ```
    /// let mut net = effpath_ir::zoo::lenet5(0);
    /// let fc3 = net.nodes().len() - 1;
    /// for mut t in net.parameters_mut(fc3) {
    ///     t.fill(0.0);
    /// }
    /// let x = ndarray::ArrayD::<f32>::ones(ndarray::IxDyn(&[1, 28, 28]));
    /// assert!(net.predict(&x)?.iter().all(|&v| v == 0.0));
    /// # Ok::<(), effpath_ir::IrError>(())
    /// ```
    pub fn parameters_mut(&mut self, node: usize) -> Vec<ndarray::ArrayViewMutD<'_, f32>> {
        let Some(n) = self.nodes.get_mut(node) else {
            return Vec::new();
        };
        match &mut n.op {
            Op::Dense(d) => {
                let mut v = vec![d.weight.view_mut().into_dyn()];
                v.extend(d.bias.iter_mut().map(|b| b.view_mut().into_dyn()));
                v
            }
            Op::Conv2d(c) => {
                let mut v = vec![c.weight.view_mut().into_dyn()];
                v.extend(c.bias.iter_mut().map(|b| b.view_mut().into_dyn()));
                v
            }
            Op::BatchNorm(b) => vec![b.gamma.view_mut().into_dyn(), b.beta.view_mut().into_dyn()],
            Op::MaxPool2d(_)
            | Op::AvgPool2d(_)
            | Op::GlobalAvgPool
            | Op::Relu
            | Op::Lrn(_)
            | Op::Flatten
            | Op::Reshape(_)
            | Op::Transpose(_)
            | Op::Add
            | Op::Concat(_)
            | Op::Softmax
            | Op::LogSoftmax
            | Op::Activation(_)
            | Op::Binary(_)
            | Op::Slice(_)
            | Op::Pad(_) => Vec::new(),
        }
    }

    /// Mutable access to the batch-norm running statistics `(mean, var)` of node `node`
    /// (for training-mode batch norm), `None` if it is not a batch norm.
    pub fn batch_norm_stats_mut(
        &mut self,
        node: usize,
    ) -> Option<(
        ndarray::ArrayViewMut1<'_, f32>,
        ndarray::ArrayViewMut1<'_, f32>,
    )> {
        match self.nodes.get_mut(node).map(|n| &mut n.op) {
            Some(Op::BatchNorm(b)) => Some((b.mean.view_mut(), b.var.view_mut())),
            _ => None,
        }
    }

    /// Replaces the op of node `i` (same kind and shapes), used to swap in new weights.
    pub(crate) fn nodes_mut(&mut self) -> &mut [Node] {
        &mut self.nodes
    }
}

/// Drops nodes that do not contribute to `output`, renumbering value ids.
fn prune(nodes: Vec<Node>, output: ValueId) -> (Vec<Node>, ValueId) {
    let n = nodes.len();
    let mut live = vec![false; n + 1];
    live[0] = true;
    live[output.0] = true;
    for i in (0..n).rev() {
        if live[i + 1] {
            for v in &nodes[i].inputs {
                if v.0 <= n {
                    live[v.0] = true;
                }
            }
        }
    }
    if live.iter().all(|&l| l) {
        return (nodes, output);
    }
    let mut remap = vec![usize::MAX; n + 1];
    remap[0] = 0;
    let mut kept = Vec::new();
    for (i, mut node) in nodes.into_iter().enumerate() {
        if live[i + 1] {
            for v in &mut node.inputs {
                // A dangling id keeps a value > the new node count so validation reports it.
                v.0 = if v.0 <= n && remap[v.0] != usize::MAX {
                    remap[v.0]
                } else {
                    usize::MAX
                };
            }
            kept.push(node);
            remap[i + 1] = kept.len();
        }
    }
    (kept, ValueId(remap[output.0]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relu(name: &str, input: usize) -> Node {
        Node {
            name: name.into(),
            op: Op::Relu,
            inputs: vec![ValueId(input)],
        }
    }

    #[test]
    fn rejects_forward_references_and_bad_output() {
        let err =
            Network::new("x", vec![4], vec![relu("a", 2), relu("b", 1)], ValueId(2)).unwrap_err();
        assert!(err.to_string().contains("node `a` reads value 2"), "{err}");
        assert!(Network::new("x", vec![4], vec![relu("a", 0)], ValueId(5)).is_err());
        assert!(Network::new("x", vec![4], vec![relu("a", 0), relu("a", 1)], ValueId(2)).is_err());
        assert!(Network::new("x", vec![0], vec![relu("a", 0)], ValueId(1)).is_err());
    }

    #[test]
    fn prunes_dead_nodes_and_renumbers() {
        let nodes = vec![relu("dead", 0), relu("a", 0), relu("b", 2)];
        let net = Network::new("x", vec![4], nodes, ValueId(3)).unwrap();
        assert_eq!(net.nodes().len(), 2);
        assert_eq!(net.nodes()[1].inputs, vec![ValueId(1)]);
        assert_eq!(net.output(), ValueId(2));
    }

    #[test]
    fn logits_skip_softmax() {
        let nodes = vec![
            relu("a", 0),
            Node {
                name: "sm".into(),
                op: Op::Softmax,
                inputs: vec![ValueId(1)],
            },
        ];
        let net = Network::new("x", vec![10], nodes, ValueId(2)).unwrap();
        assert_eq!(net.logits(), ValueId(1));
        assert_eq!(net.num_classes(), 10);
        assert_eq!(net.consumers()[1], vec![1]);
    }
}
