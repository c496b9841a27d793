//! The forward pass: evaluates every node over a batch and records every tensor.

mod conv;
mod elementwise;
mod pool;

pub(crate) use conv::im2col;
pub(crate) use pool::window_range;

use ndarray::{Array2, ArrayD, Axis, IxDyn};

use crate::error::{IrError, Result};
use crate::graph::{Network, ValueId};
use crate::op::Op;

/// Every tensor of one forward pass, batch axis first: the input, then each node's output
/// (so a Conv2d's pre-activation output and the following Relu's post-activation output are
/// both kept).
#[derive(Debug, Clone)]
pub struct Activations {
    values: Vec<ArrayD<f32>>,
    logits: ValueId,
}

impl Activations {
    /// The tensor of a value, shape `(batch, per-sample shape…)`.
    pub fn get(&self, v: ValueId) -> &ArrayD<f32> {
        &self.values[v.0]
    }

    /// All tensors, indexed by `ValueId.0`.
    pub fn values(&self) -> &[ArrayD<f32>] {
        &self.values
    }

    /// Batch size.
    pub fn batch_size(&self) -> usize {
        self.values[0].shape()[0]
    }

    /// The logits as `(batch, classes)`.
    pub fn logits(&self) -> Array2<f32> {
        flatten_batch(&self.values[self.logits.0])
    }
}

fn flatten_batch(a: &ArrayD<f32>) -> Array2<f32> {
    let b = a.shape()[0];
    let n = a.len() / b.max(1);
    let v: Vec<f32> = a.iter().copied().collect();
    Array2::from_shape_vec((b, n), v).expect("element count is batch × per-sample size")
}

impl Network {
    /// Brings an input of per-sample shape or `(batch, per-sample shape)` to a standard-layout
    /// batch, checking the shape and that every value is finite.
    fn batch_input(&self, input: &ArrayD<f32>) -> Result<ArrayD<f32>> {
        let expected = self.input_shape();
        let batched = if input.shape() == expected {
            input.view().insert_axis(Axis(0)).to_owned()
        } else if input.ndim() == expected.len() + 1
            && &input.shape()[1..] == expected
            && input.shape()[0] > 0
        {
            input.as_standard_layout().into_owned()
        } else {
            return Err(IrError::InputShape {
                expected: expected.to_vec(),
                got: input.shape().to_vec(),
            });
        };
        if let Some(index) = batched.iter().position(|x| !x.is_finite()) {
            return Err(IrError::NonFinite {
                what: "network input".into(),
                index,
            });
        }
        Ok(batched)
    }

    /// Runs the network on `input` (per-sample shape, or with a leading batch axis) and keeps
    /// every tensor.
    ///
    /// ```
    /// let net = effpath_ir::zoo::lenet5(7);
    /// let x = ndarray::ArrayD::<f32>::zeros(ndarray::IxDyn(&[2, 1, 28, 28]));
    /// let acts = net.forward(&x)?;
    /// assert_eq!(acts.logits().dim(), (2, 10));
    /// # Ok::<(), effpath_ir::IrError>(())
    /// ```
    pub fn forward(&self, input: &ArrayD<f32>) -> Result<Activations> {
        let mut values = Vec::with_capacity(self.nodes().len() + 1);
        values.push(self.batch_input(input)?);
        for (i, node) in self.nodes().iter().enumerate() {
            let ins: Vec<&ArrayD<f32>> = node.inputs.iter().map(|v| &values[v.0]).collect();
            let out = eval(&node.op, &ins, self.shape(ValueId(i + 1)));
            values.push(out);
        }
        Ok(Activations {
            values,
            logits: self.logits(),
        })
    }

    /// Runs the network and returns only the logits `(batch, classes)`, freeing each
    /// intermediate tensor as soon as its last reader has run (much less memory than
    /// [`Network::forward`]).
    pub fn predict(&self, input: &ArrayD<f32>) -> Result<Array2<f32>> {
        let logits = self.logits();
        let mut remaining: Vec<usize> = self.consumers().iter().map(Vec::len).collect();
        remaining[logits.0] += 1;
        let mut values: Vec<Option<ArrayD<f32>>> = vec![None; self.nodes().len() + 1];
        values[0] = Some(self.batch_input(input)?);
        for (i, node) in self.nodes().iter().enumerate().take(logits.0) {
            let out = {
                let ins: Vec<&ArrayD<f32>> = node
                    .inputs
                    .iter()
                    .filter_map(|v| values[v.0].as_ref())
                    .collect();
                eval(&node.op, &ins, self.shape(ValueId(i + 1)))
            };
            values[i + 1] = Some(out);
            let mut seen = Vec::new();
            for v in &node.inputs {
                if !seen.contains(v) {
                    seen.push(*v);
                    remaining[v.0] -= 1;
                    if remaining[v.0] == 0 {
                        values[v.0] = None;
                    }
                }
            }
        }
        let out = values[logits.0]
            .take()
            .ok_or_else(|| IrError::Graph("logits were not computed".into()))?;
        Ok(flatten_batch(&out))
    }
}

/// Evaluates one op on batched, validated inputs; `out` is the per-sample output shape.
fn eval(op: &Op, ins: &[&ArrayD<f32>], out: &[usize]) -> ArrayD<f32> {
    let batch = ins[0].shape()[0];
    let mut out_shape = vec![batch];
    out_shape.extend_from_slice(out);
    match op {
        Op::Dense(d) => conv::dense(d, ins[0]),
        Op::Conv2d(c) => conv::conv2d(c, ins[0], out),
        Op::MaxPool2d(w) => pool::max_pool(w, ins[0], out),
        Op::AvgPool2d(a) => pool::avg_pool(a, ins[0], out),
        Op::GlobalAvgPool => pool::global_avg_pool(ins[0]),
        Op::Relu => ins[0].mapv(|x| x.max(0.0)),
        Op::Lrn(l) => elementwise::lrn(l, ins[0]),
        Op::Flatten | Op::Reshape(_) => reshape(ins[0], &out_shape),
        Op::Transpose(perm) => {
            let mut axes = vec![0];
            axes.extend(perm.iter().map(|p| p + 1));
            ins[0]
                .view()
                .permuted_axes(IxDyn(&axes))
                .as_standard_layout()
                .into_owned()
        }
        Op::Add => elementwise::add(ins),
        Op::BatchNorm(b) => elementwise::batch_norm(b, ins[0]),
        Op::Concat(axis) => {
            let views: Vec<_> = ins.iter().map(|a| a.view()).collect();
            ndarray::concatenate(Axis(axis + 1), &views).expect("concat shapes were validated")
        }
        Op::Softmax => elementwise::softmax(ins[0], false),
        Op::LogSoftmax => elementwise::softmax(ins[0], true),
    }
}

fn reshape(a: &ArrayD<f32>, shape: &[usize]) -> ArrayD<f32> {
    let data: Vec<f32> = a.as_standard_layout().iter().copied().collect();
    ArrayD::from_shape_vec(IxDyn(shape), data).expect("reshape sizes were validated")
}
