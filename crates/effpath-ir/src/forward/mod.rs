//! The forward pass: evaluates every node over a batch and records every tensor, in
//! inference mode (batch norm uses its running statistics) or training mode (batch norm
//! normalises with the statistics of the batch, which the activations remember for the
//! backward pass and for updating the running statistics).

mod activation;
mod broadcast;
mod conv;
mod dilated;
mod elementwise;
mod external;
pub(crate) mod gemm;
mod pool;
mod slice;

pub(crate) use activation::channel_layout;
pub(crate) use conv::im2col;
pub(crate) use slice::interior;

use ndarray::{Array2, ArrayD, Axis, IxDyn};

use crate::error::{GraphIssue, IrError, NonFiniteTensor, Result};
use crate::graph::{Network, ValueId};
use crate::op::Op;

/// How a forward pass treats batch normalisation (every other op behaves the same in both
/// modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// Batch norm normalises with its running statistics (`mean`, `var`): the network is a
    /// fixed function of each sample. What [`Network::forward`] and [`Network::predict`] do.
    #[default]
    Inference,
    /// Batch norm normalises each channel with the mean and biased variance of the batch
    /// (over the batch and spatial axes), as when training (PyTorch's `model.train()`); the
    /// running statistics are not read. See [`Network::forward_train`].
    Train,
}

/// The statistics a training-mode batch norm used for one batch, per channel, in `f64`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BatchStats {
    /// Batch mean.
    pub(crate) mean: Vec<f64>,
    /// Biased batch variance (divided by `count`).
    pub(crate) var: Vec<f64>,
    /// `1 / sqrt(var + epsilon)`.
    pub(crate) inv_std: Vec<f64>,
    /// Elements per channel: batch size × spatial size.
    pub(crate) count: usize,
}

/// Every tensor of one forward pass, batch axis first: the input, then each node's output
/// (so a Conv2d's pre-activation output and the following Relu's post-activation output are
/// both kept). A training-mode pass ([`Network::forward_train`]) also keeps the batch
/// statistics of every batch norm, which [`Network::backward`] and
/// [`Network::update_batch_norm_stats`] use.
#[derive(Debug, Clone)]
pub struct Activations {
    values: Vec<ArrayD<f32>>,
    logits: ValueId,
    mode: Mode,
    /// Per node (training mode only; empty in inference mode): the batch statistics of a
    /// batch norm, `None` for other ops.
    batch_stats: Vec<Option<BatchStats>>,
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

    /// The mode of the forward pass that produced these activations.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// For a training-mode pass, the per-channel batch mean and *biased* batch variance that
    /// the batch norm at node `node` (index into [`Network::nodes`]) normalised with; `None`
    /// for other nodes and for inference-mode activations.
    pub fn batch_norm_stats(&self, node: usize) -> Option<(&[f64], &[f64])> {
        self.batch_stats(node)
            .map(|s| (s.mean.as_slice(), s.var.as_slice()))
    }

    pub(crate) fn batch_stats(&self, node: usize) -> Option<&BatchStats> {
        self.batch_stats.get(node).and_then(Option::as_ref)
    }
}

fn flatten_batch(a: &ArrayD<f32>) -> Array2<f32> {
    let b = a.shape()[0];
    let n = a.len() / b.max(1);
    let v: Vec<f32> = a.iter().copied().collect();
    Array2::from_shape_vec((b, n), v).expect("element count is batch × per-sample size")
}

/// Index of the largest value — the predicted class of a row of logits (the first on ties,
/// as `numpy.argmax`; NaN never wins; 0 for an empty input).
///
/// ```
/// assert_eq!(effpath_ir::argmax([0.1, 3.0, 3.0, -1.0]), 1);
/// ```
pub fn argmax(values: impl IntoIterator<Item = f32>) -> usize {
    let mut best = (0, f32::NEG_INFINITY);
    for (i, v) in values.into_iter().enumerate() {
        if v > best.1 {
            best = (i, v);
        }
    }
    best.0
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
                tensor: NonFiniteTensor::Input,
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
        self.forward_with(input, Mode::Inference)
    }

    /// Runs the network in training mode: like [`Network::forward`], except that every batch
    /// norm normalises each channel with the mean and biased variance of this batch (over the
    /// batch and spatial axes, accumulated in `f64`) instead of its running statistics. The
    /// activations remember those statistics, so [`Network::backward`] on them computes the
    /// exact training-mode gradient (through the batch statistics) and
    /// [`Network::update_batch_norm_stats`] can update the running statistics. Without batch
    /// norms the result is identical to [`Network::forward`].
    ///
    /// ```
    /// use effpath_ir::{Mode, ValueId, zoo};
    /// use ndarray::{ArrayD, Axis, IxDyn};
    /// let net = zoo::resnet_small(0, [1, 28, 28], 10)?;
    /// let x = ArrayD::<f32>::from_shape_fn(IxDyn(&[2, 1, 28, 28]), |i| (i[2] * i[3]) as f32 / 784.0);
    /// let acts = net.forward_train(&x)?;
    /// assert_eq!(acts.mode(), Mode::Train);
    /// let bn = net.nodes().iter().position(|n| n.op.kind() == "BatchNorm").expect("a batch norm");
    /// let (mean, var) = acts.batch_norm_stats(bn).expect("training-mode statistics");
    /// assert_eq!((mean.len(), var.len()), (16, 16));
    /// // With gamma 1 and beta 0, each output channel has batch mean 0.
    /// let y = acts.get(ValueId(bn + 1)).index_axis(Axis(1), 3).to_owned();
    /// assert!(y.mean().expect("not empty").abs() < 1e-5);
    /// # Ok::<(), effpath_ir::IrError>(())
    /// ```
    pub fn forward_train(&self, input: &ArrayD<f32>) -> Result<Activations> {
        self.forward_with(input, Mode::Train)
    }

    /// Runs the network in the given [`Mode`]: [`Network::forward`] for
    /// [`Mode::Inference`], [`Network::forward_train`] for [`Mode::Train`].
    pub fn forward_with(&self, input: &ArrayD<f32>, mode: Mode) -> Result<Activations> {
        let mut values = Vec::with_capacity(self.nodes().len() + 1);
        values.push(self.batch_input(input)?);
        let mut batch_stats = Vec::new();
        if mode == Mode::Train {
            batch_stats.resize(self.nodes().len(), None);
        }
        for (i, node) in self.nodes().iter().enumerate() {
            let ins: Vec<&ArrayD<f32>> = node.inputs.iter().map(|v| &values[v.0]).collect();
            let out = match (&node.op, mode) {
                (Op::BatchNorm(b), Mode::Train) => {
                    let (y, stats) = elementwise::batch_norm_train(b, ins[0]);
                    batch_stats[i] = Some(stats);
                    y
                }
                _ => eval(&node.op, &ins, self.shape(ValueId(i + 1))),
            };
            values.push(out);
        }
        Ok(Activations {
            values,
            logits: self.logits(),
            mode,
            batch_stats,
        })
    }

    /// Updates the running statistics of every batch norm from the batch statistics of a
    /// training-mode pass ([`Network::forward_train`]), with PyTorch's convention:
    /// `running_mean ← (1 − m)·running_mean + m·batch_mean` and
    /// `running_var ← (1 − m)·running_var + m·batch_var_unbiased`, where the unbiased variance
    /// divides by `count − 1` (`count` = batch size × spatial size; the biased variance is used
    /// when `count` is 1). PyTorch's default momentum is `m = 0.1`. Computed in `f64`.
    ///
    /// Inference-mode activations carry no batch statistics: nothing changes. Errors
    /// ([`IrError::Graph`]) when `momentum` is not in `[0, 1]` or `acts` comes from a network
    /// with a different number of nodes or channels.
    ///
    /// ```
    /// let mut net = effpath_ir::zoo::resnet_small(0, [1, 8, 8], 3)?;
    /// let x = ndarray::ArrayD::<f32>::from_shape_fn(ndarray::IxDyn(&[4, 1, 8, 8]), |i| i[2] as f32);
    /// let acts = net.forward_train(&x)?;
    /// net.update_batch_norm_stats(&acts, 0.1)?;
    /// let bn = net.nodes().iter().position(|n| n.op.kind() == "BatchNorm").expect("a batch norm");
    /// let batch_mean = acts.batch_norm_stats(bn).expect("training-mode statistics").0[0];
    /// let (mean, _) = net.batch_norm_stats_mut(bn).expect("a batch norm");
    /// assert!((mean[0] as f64 - 0.1 * batch_mean).abs() < 1e-6);
    /// # Ok::<(), effpath_ir::IrError>(())
    /// ```
    pub fn update_batch_norm_stats(&mut self, acts: &Activations, momentum: f32) -> Result<()> {
        if !(0.0..=1.0).contains(&momentum) {
            return Err(GraphIssue::Momentum { momentum }.into());
        }
        if acts.mode != Mode::Train {
            return Ok(());
        }
        if acts.batch_stats.len() != self.nodes().len() {
            return Err(GraphIssue::BatchStatsCount {
                expected: self.nodes().len(),
                got: acts.batch_stats.len(),
            }
            .into());
        }
        let m = momentum as f64;
        for (i, stats) in acts.batch_stats.iter().enumerate() {
            let Some(stats) = stats else { continue };
            let name = self.nodes()[i].name.clone();
            let Some((mut mean, mut var)) = self.batch_norm_stats_mut(i) else {
                return Err(GraphIssue::BatchStatsNode { node: name }.into());
            };
            if mean.len() != stats.mean.len() {
                return Err(GraphIssue::BatchStatsChannels {
                    node: name,
                    expected: mean.len(),
                    got: stats.mean.len(),
                }
                .into());
            }
            let unbias = if stats.count > 1 {
                stats.count as f64 / (stats.count - 1) as f64
            } else {
                1.0
            };
            for c in 0..mean.len() {
                mean[c] = ((1.0 - m) * mean[c] as f64 + m * stats.mean[c]) as f32;
                var[c] = ((1.0 - m) * var[c] as f64 + m * stats.var[c] * unbias) as f32;
            }
        }
        Ok(())
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
            let shape = self.shape(ValueId(i + 1));
            let first = node.inputs[0];
            // The first input's buffer is reused when this node is its last reader.
            let last_reader = remaining[first.0] == 1 && !node.inputs[1..].contains(&first);
            let out = if last_reader && reuses_input(&node.op) {
                let x = values[first.0].take().expect("a live input is computed");
                let rest: Vec<&ArrayD<f32>> = node.inputs[1..]
                    .iter()
                    .filter_map(|v| values[v.0].as_ref())
                    .collect();
                eval_in_place(&node.op, x, &rest, shape)
            } else {
                let ins: Vec<&ArrayD<f32>> = node
                    .inputs
                    .iter()
                    .filter_map(|v| values[v.0].as_ref())
                    .collect();
                eval(&node.op, &ins, shape)
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
            .ok_or(GraphIssue::NotComputed { value: logits.0 })?;
        if !out.is_standard_layout() {
            return Ok(flatten_batch(&out));
        }
        let b = out.shape()[0];
        let n = out.len() / b.max(1);
        Ok(out
            .into_shape_with_order((b, n))
            .expect("element count is batch × per-sample size"))
    }
}

/// Evaluates one op on batched, validated inputs; `out` is the per-sample output shape.
fn eval(op: &Op, ins: &[&ArrayD<f32>], out: &[usize]) -> ArrayD<f32> {
    let batch = ins[0].shape()[0];
    let mut out_shape = vec![batch];
    out_shape.extend_from_slice(out);
    match op {
        Op::Dense(d) => conv::dense(d, ins[0]),
        Op::Conv2d(c) if c.dilation != [1, 1] => dilated::conv2d(c, ins[0], out),
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
        Op::Activation(a) => activation::activation(a, ins[0]),
        Op::Binary(b) => broadcast::binary(*b, ins[0], ins[1], &out_shape),
        Op::Slice(s) => slice::slice(s, ins[0]),
        Op::Pad(p) => slice::pad(p, ins[0], &out_shape),
    }
}

/// Whether [`eval_in_place`] reuses the buffer of the op's first input.
fn reuses_input(op: &Op) -> bool {
    match op {
        Op::Relu | Op::BatchNorm(_) | Op::Flatten | Op::Reshape(_) | Op::Add => true,
        Op::Dense(_)
        | Op::Conv2d(_)
        | Op::MaxPool2d(_)
        | Op::AvgPool2d(_)
        | Op::GlobalAvgPool
        | Op::Lrn(_)
        | Op::Transpose(_)
        | Op::Concat(_)
        | Op::Softmax
        | Op::LogSoftmax
        | Op::Activation(_)
        | Op::Binary(_)
        | Op::Slice(_)
        | Op::Pad(_) => false,
    }
}

/// [`eval`] for an op whose first input `x` is read by nobody else: the ops of
/// [`reuses_input`] work in `x`'s buffer; `rest` are the other inputs.
fn eval_in_place(op: &Op, mut x: ArrayD<f32>, rest: &[&ArrayD<f32>], out: &[usize]) -> ArrayD<f32> {
    match op {
        Op::Relu => {
            x.mapv_inplace(|v| v.max(0.0));
            x
        }
        Op::BatchNorm(b) => elementwise::batch_norm_in_place(b, x),
        Op::Flatten | Op::Reshape(_) => {
            let mut shape = vec![x.shape()[0]];
            shape.extend_from_slice(out);
            if x.is_standard_layout() {
                x.into_shape_with_order(IxDyn(&shape))
                    .expect("reshape sizes were validated")
            } else {
                reshape(&x, &shape)
            }
        }
        Op::Add => {
            for r in rest {
                x += *r;
            }
            x
        }
        Op::Dense(_)
        | Op::Conv2d(_)
        | Op::MaxPool2d(_)
        | Op::AvgPool2d(_)
        | Op::GlobalAvgPool
        | Op::Lrn(_)
        | Op::Transpose(_)
        | Op::Concat(_)
        | Op::Softmax
        | Op::LogSoftmax
        | Op::Activation(_)
        | Op::Binary(_)
        | Op::Slice(_)
        | Op::Pad(_) => {
            let mut ins = vec![&x];
            ins.extend_from_slice(rest);
            eval(op, &ins, out)
        }
    }
}

fn reshape(a: &ArrayD<f32>, shape: &[usize]) -> ArrayD<f32> {
    a.as_standard_layout()
        .into_owned()
        .into_shape_with_order(IxDyn(shape))
        .expect("reshape sizes were validated")
}
