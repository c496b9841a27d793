//! The backward pass: reverse-mode vector–Jacobian products of every op, with respect to the
//! network input and to the trainable parameters, over a batch.
//!
//! The driver walks the nodes in reverse topological order from the value the loss is
//! defined on, handing each node the gradient of its output and accumulating the gradients of
//! its inputs (a value read by several nodes — a skip connection — sums them). Kernels live in
//! `conv` (Dense, Conv2d), `pool` and `elementwise`, mirroring `forward`.

mod activation;
mod conv;
mod dilated;
mod elementwise;
mod pool;
#[cfg(test)]
mod tests;

use ndarray::{Array1, Array2, Array4, ArrayD, ArrayViewD, Axis, IxDyn, Slice};

use crate::error::{GraphIssue, IrError, Result, ShapeIssue};
use crate::forward::{Activations, BatchStats};
use crate::graph::{Network, ValueId};
use crate::op::Op;

/// Gradient of a loss with respect to the parameters of one node, summed over the batch.
/// Shapes equal those of the parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamGrad {
    /// Gradient of a [`crate::Dense`] layer.
    Dense {
        /// `d loss / d weight`, `(out, in)`.
        weight: Array2<f32>,
        /// `d loss / d bias`, `(out)`, when the layer has a bias.
        bias: Option<Array1<f32>>,
    },
    /// Gradient of a [`crate::Conv2d`] layer.
    Conv2d {
        /// `d loss / d weight`, `(C_out, C_in / groups, kh, kw)`.
        weight: Array4<f32>,
        /// `d loss / d bias`, `(C_out)`, when the layer has a bias.
        bias: Option<Array1<f32>>,
    },
    /// Gradient of a [`crate::BatchNorm`] (the running mean and variance are not trained).
    BatchNorm {
        /// `d loss / d gamma`, `(C)`.
        gamma: Array1<f32>,
        /// `d loss / d beta`, `(C)`.
        beta: Array1<f32>,
    },
}

impl ParamGrad {
    /// Zero gradients for the parameters of `op`, or `None` when it has none.
    fn zeros(op: &Op) -> Option<ParamGrad> {
        let bias = |b: &Option<Array1<f32>>| b.as_ref().map(|b| Array1::zeros(b.len()));
        match op {
            Op::Dense(d) => Some(ParamGrad::Dense {
                weight: Array2::zeros(d.weight.raw_dim()),
                bias: bias(&d.bias),
            }),
            Op::Conv2d(c) => Some(ParamGrad::Conv2d {
                weight: Array4::zeros(c.weight.raw_dim()),
                bias: bias(&c.bias),
            }),
            Op::BatchNorm(b) => Some(ParamGrad::BatchNorm {
                gamma: Array1::zeros(b.gamma.len()),
                beta: Array1::zeros(b.beta.len()),
            }),
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
            | Op::Pad(_) => None,
        }
    }

    /// The gradient tensors in parameter order: weight then bias, or gamma then beta.
    pub fn tensors(&self) -> Vec<ArrayViewD<'_, f32>> {
        match self {
            ParamGrad::Dense { weight, bias } => {
                let mut v = vec![weight.view().into_dyn()];
                v.extend(bias.iter().map(|b| b.view().into_dyn()));
                v
            }
            ParamGrad::Conv2d { weight, bias } => {
                let mut v = vec![weight.view().into_dyn()];
                v.extend(bias.iter().map(|b| b.view().into_dyn()));
                v
            }
            ParamGrad::BatchNorm { gamma, beta } => {
                vec![gamma.view().into_dyn(), beta.view().into_dyn()]
            }
        }
    }
}

/// The result of [`Network::backward`]: the gradient of a scalar loss with respect to the
/// network input (per sample) and to every trainable parameter (summed over the batch).
#[derive(Debug, Clone)]
pub struct Gradients {
    input: ArrayD<f32>,
    params: Vec<Option<ParamGrad>>,
}

impl Gradients {
    /// `d loss / d input`, shape `(batch, per-sample input shape…)`.
    pub fn input(&self) -> &ArrayD<f32> {
        &self.input
    }

    /// Takes the input gradient out.
    pub fn into_input(self) -> ArrayD<f32> {
        self.input
    }

    /// Parameter gradient of node `node` (index into [`Network::nodes`]); `None` for ops
    /// without parameters. Nodes that do not influence the loss get zeros.
    pub fn param(&self, node: usize) -> Option<&ParamGrad> {
        self.params.get(node).and_then(Option::as_ref)
    }

    /// Parameter gradients of all nodes, indexed like [`Network::nodes`].
    pub fn params(&self) -> &[Option<ParamGrad>] {
        &self.params
    }
}

impl Network {
    /// Reverse-mode gradients of a scalar loss, given the activations of a forward pass and
    /// `grad_output = d loss / d value(at)` of shape `(batch, per-sample shape of at…)`
    /// (usually `at` is [`Network::logits`] or [`Network::output`]).
    ///
    /// Returns the gradient with respect to the input (per sample) and to every parameter
    /// (summed over the batch). Ops after `at`, or not feeding it, get zero parameter
    /// gradients. Max pooling sends each window's gradient to the *first* maximum in
    /// row-major window order; ReLU passes no gradient where its input is ≤ 0.
    ///
    /// Batch norm follows the mode of `acts`: for inference-mode activations it is the fixed
    /// per-channel affine map of its running statistics; for training-mode activations
    /// ([`Network::forward_train`]) the gradient also flows through the batch mean and
    /// variance: with `x̂ = (x − μ_B)/σ_B`, per channel,
    /// `dx = gamma/σ_B · (g − mean(g) − x̂·mean(g·x̂))`, `dgamma = Σ g·x̂`, `dbeta = Σ g`
    /// (means and sums over the batch and the positions, in `f64`).
    ///
    /// Errors: [`IrError::Graph`] when `at` is not a value of this network or `acts` has a
    /// different number of tensors; [`IrError::Shape`] when a tensor of `acts` does not have
    /// this network's shapes (activations of another network) or `grad_output` does not have
    /// the shape of `at` with the activations' batch size.
    ///
    /// ```
    /// use ndarray::{Array2, ArrayD, IxDyn};
    /// let net = effpath_ir::zoo::lenet5(1);
    /// let x = ArrayD::<f32>::from_elem(IxDyn(&[2, 1, 28, 28]), 0.5);
    /// let acts = net.forward(&x)?;
    /// // Loss = logit 3 of sample 0 + logit 7 of sample 1.
    /// let mut g = Array2::<f32>::zeros((2, 10));
    /// g[[0, 3]] = 1.0;
    /// g[[1, 7]] = 1.0;
    /// let grads = net.backward(&acts, &g.into_dyn(), net.logits())?;
    /// assert_eq!(grads.input().shape(), &[2, 1, 28, 28]);
    /// let fc3 = net.nodes().len() - 1;
    /// let Some(effpath_ir::ParamGrad::Dense { bias: Some(db), .. }) = grads.param(fc3) else {
    ///     panic!("fc3 is a dense layer with a bias");
    /// };
    /// assert_eq!(db[3], 1.0); // d logit / d bias
    /// # Ok::<(), effpath_ir::IrError>(())
    /// ```
    pub fn backward(
        &self,
        acts: &Activations,
        grad_output: &ArrayD<f32>,
        at: ValueId,
    ) -> Result<Gradients> {
        self.run_backward(acts, grad_output, at, Wanted::All)
    }

    /// Like [`Network::backward`] but computes the parameter gradients of the nodes in
    /// `nodes` only ([`Gradients::param`] is `None` for every other node): the cheap path when
    /// a few parameters are optimised and the rest stay fixed (CDRP's gates).
    pub fn backward_params_of(
        &self,
        acts: &Activations,
        grad_output: &ArrayD<f32>,
        at: ValueId,
        nodes: &[usize],
    ) -> Result<Gradients> {
        self.run_backward(acts, grad_output, at, Wanted::Of(nodes))
    }

    /// Like [`Network::backward`] but computes only `d loss / d input` (no parameter
    /// gradients, so no convolution weight GEMMs): the fast path for attacks.
    pub fn backward_input(
        &self,
        acts: &Activations,
        grad_output: &ArrayD<f32>,
        at: ValueId,
    ) -> Result<ArrayD<f32>> {
        Ok(self
            .run_backward(acts, grad_output, at, Wanted::None)?
            .input)
    }

    /// `d loss / d input` for a loss defined on the logits: runs the forward pass, calls
    /// `grad_fn(logits)` (logits `(batch, classes)`) for `d loss / d logits` of the same
    /// shape, and runs [`Network::backward_input`]. The result has the shape of `input`
    /// (with or without the batch axis, like the input given).
    ///
    /// ```
    /// use effpath_ir::softmax_cross_entropy;
    /// let net = effpath_ir::zoo::lenet5(3);
    /// let x = ndarray::ArrayD::<f32>::from_elem(ndarray::IxDyn(&[4, 1, 28, 28]), 0.2);
    /// let labels = [0, 1, 2, 3];
    /// let dx = net.input_gradient(&x, |z| Ok(softmax_cross_entropy(z, &labels)?.1))?;
    /// assert_eq!(dx.shape(), x.shape());
    /// // One FGSM step.
    /// let x_adv = &x + &dx.mapv(|g| 0.1 * g.signum());
    /// # let _ = x_adv;
    /// # Ok::<(), effpath_ir::IrError>(())
    /// ```
    pub fn input_gradient<F>(&self, input: &ArrayD<f32>, grad_fn: F) -> Result<ArrayD<f32>>
    where
        F: FnOnce(&Array2<f32>) -> Result<Array2<f32>>,
    {
        let acts = self.forward(input)?;
        let logits = acts.logits();
        let g = grad_fn(&logits)?;
        let at = self.logits();
        if g.dim() != logits.dim() {
            return Err(self.grad_shape_error(at, g.shape(), logits.shape()));
        }
        let mut shape = vec![logits.nrows()];
        shape.extend_from_slice(self.shape(at));
        let g = g
            .as_standard_layout()
            .into_owned()
            .into_shape_with_order(IxDyn(&shape))
            .expect("logits hold batch × num_classes elements");
        let dx = self.run_backward(&acts, &g, at, Wanted::None)?.input;
        if input.shape() == self.input_shape() {
            return Ok(dx.index_axis_move(Axis(0), 0));
        }
        Ok(dx)
    }

    /// Node name and op kind of the producer of `v` (the input name and `Input` for the
    /// network input), for errors.
    fn value_label(&self, v: ValueId) -> (String, &'static str) {
        match self.producer(v) {
            Some(n) => (n.name.clone(), n.op.kind()),
            None => (self.input_name().to_string(), "Input"),
        }
    }

    fn grad_shape_error(&self, at: ValueId, got: &[usize], expected: &[usize]) -> IrError {
        let (node, op) = self.value_label(at);
        IrError::Shape {
            node,
            op,
            issue: Box::new(ShapeIssue::Gradient {
                got: got.to_vec(),
                expected: expected.to_vec(),
            }),
        }
    }

    /// Checks that `acts` has this network's value count and shapes; returns the batch size.
    fn check_activations(&self, acts: &Activations) -> Result<usize> {
        let values = acts.values();
        if values.len() != self.shapes().len() {
            return Err(GraphIssue::ActivationCount {
                expected: self.shapes().len(),
                got: values.len(),
            }
            .into());
        }
        let batch = values[0].shape().first().copied().unwrap_or(0);
        for (v, (a, s)) in values.iter().zip(self.shapes()).enumerate() {
            if a.ndim() != s.len() + 1 || a.shape()[0] != batch || &a.shape()[1..] != s {
                let mut expected = vec![batch];
                expected.extend_from_slice(s);
                let (node, op) = self.value_label(ValueId(v));
                return Err(IrError::Shape {
                    node,
                    op,
                    issue: Box::new(ShapeIssue::ActivationTensor {
                        got: a.shape().to_vec(),
                        expected,
                    }),
                });
            }
        }
        Ok(batch)
    }

    fn run_backward(
        &self,
        acts: &Activations,
        grad_output: &ArrayD<f32>,
        at: ValueId,
        wanted: Wanted<'_>,
    ) -> Result<Gradients> {
        self.run_backward_seeds(acts, &[(at, grad_output)], wanted)
    }

    /// Like [`Network::backward_input`] for a loss on several values at once: `seeds` pairs
    /// values with `d loss / d value` (each of that value's shape with the activations'
    /// batch size); gradients of seeds on the same value add up. The gradient of a loss
    /// `Σ_l f_l(value_l)` in one backward pass — e.g. an attack matching the activations of
    /// several layers.
    pub fn backward_input_seeded(
        &self,
        acts: &Activations,
        seeds: &[(ValueId, &ArrayD<f32>)],
    ) -> Result<ArrayD<f32>> {
        Ok(self.run_backward_seeds(acts, seeds, Wanted::None)?.input)
    }

    fn run_backward_seeds(
        &self,
        acts: &Activations,
        seeds: &[(ValueId, &ArrayD<f32>)],
        wanted: Wanted<'_>,
    ) -> Result<Gradients> {
        let batch = self.check_activations(acts)?;
        let top = seeds.iter().map(|(v, _)| v.0).max().unwrap_or(0);
        let mut grads: Vec<Option<ArrayD<f32>>> = vec![None; top + 1];
        for &(at, grad_output) in seeds {
            if at.0 >= self.shapes().len() {
                return Err(GraphIssue::NoValue {
                    value: at.0,
                    values: self.shapes().len(),
                }
                .into());
            }
            let mut expected = vec![batch];
            expected.extend_from_slice(self.shape(at));
            if grad_output.shape() != expected.as_slice() {
                return Err(self.grad_shape_error(at, grad_output.shape(), &expected));
            }
            match &mut grads[at.0] {
                Some(acc) => *acc += grad_output,
                slot @ None => *slot = Some(grad_output.as_standard_layout().into_owned()),
            }
        }
        let at = ValueId(top);
        let mut params: Vec<Option<ParamGrad>> = vec![None; self.nodes().len()];
        for i in (0..at.0).rev() {
            let Some(g) = grads[i + 1].take() else {
                continue;
            };
            let node = &self.nodes()[i];
            let ins: Vec<&ArrayD<f32>> = node.inputs.iter().map(|v| acts.get(*v)).collect();
            let (dins, dp) = node_vjp(
                &node.op,
                &ins,
                acts.get(ValueId(i + 1)),
                acts.batch_stats(i),
                g,
                wanted.wants(i),
            );
            params[i] = dp;
            for (v, d) in node.inputs.iter().zip(dins) {
                match &mut grads[v.0] {
                    Some(acc) => *acc += &d,
                    slot @ None => *slot = Some(d),
                }
            }
        }
        for (i, (p, node)) in params.iter_mut().zip(self.nodes()).enumerate() {
            if wanted.wants(i) && p.is_none() {
                *p = ParamGrad::zeros(&node.op);
            }
        }
        let input = grads[0]
            .take()
            .unwrap_or_else(|| ArrayD::zeros(acts.get(ValueId::INPUT).raw_dim()));
        Ok(Gradients { input, params })
    }
}

/// Which nodes' parameter gradients a backward pass computes.
#[derive(Debug, Clone, Copy)]
enum Wanted<'a> {
    /// None (input gradients only).
    None,
    /// Every node's.
    All,
    /// The nodes listed.
    Of(&'a [usize]),
}

impl Wanted<'_> {
    fn wants(self, node: usize) -> bool {
        match self {
            Wanted::None => false,
            Wanted::All => true,
            Wanted::Of(nodes) => nodes.contains(&node),
        }
    }
}

/// Vector–Jacobian product of one node: the gradients of its inputs (in input order, all in
/// standard layout) and, if asked, of its parameters. `ins`/`out` are the forward tensors,
/// `stats` the batch statistics of a training-mode batch norm, `g` the (standard-layout)
/// gradient of the output.
fn node_vjp(
    op: &Op,
    ins: &[&ArrayD<f32>],
    out: &ArrayD<f32>,
    stats: Option<&BatchStats>,
    g: ArrayD<f32>,
    want_params: bool,
) -> (Vec<ArrayD<f32>>, Option<ParamGrad>) {
    let one = |d: ArrayD<f32>| (vec![d], None);
    match op {
        Op::Dense(d) => {
            let (dx, p) = conv::dense(d, ins[0], &g, want_params);
            (vec![dx], p)
        }
        Op::Conv2d(c) if c.dilation != [1, 1] => {
            let (dx, p) = dilated::conv2d(c, ins[0], &g, want_params);
            (vec![dx], p)
        }
        Op::Conv2d(c) => {
            let (dx, p) = conv::conv2d(c, ins[0], &g, want_params);
            (vec![dx], p)
        }
        Op::MaxPool2d(w) => one(pool::max_pool(w, ins[0], &g)),
        Op::AvgPool2d(a) => one(pool::avg_pool(a, ins[0], &g)),
        Op::GlobalAvgPool => one(pool::global_avg_pool(ins[0], &g)),
        Op::Relu => one(elementwise::relu(ins[0], &g)),
        Op::Lrn(l) => one(elementwise::lrn(l, ins[0], &g)),
        Op::Flatten | Op::Reshape(_) => one(g
            .into_shape_with_order(ins[0].raw_dim())
            .expect("reshape sizes were validated")),
        Op::Transpose(perm) => {
            // Output axis `i + 1` is input axis `perm[i] + 1`; invert the permutation.
            let mut inv = vec![0; perm.len() + 1];
            for (i, &p) in perm.iter().enumerate() {
                inv[p + 1] = i + 1;
            }
            one(g
                .permuted_axes(IxDyn(&inv))
                .as_standard_layout()
                .into_owned())
        }
        Op::Add => {
            let mut d: Vec<ArrayD<f32>> = (1..ins.len()).map(|_| g.clone()).collect();
            d.push(g);
            (d, None)
        }
        Op::BatchNorm(b) => {
            let (dx, p) = match stats {
                Some(stats) => elementwise::batch_norm_train(b, stats, ins[0], g, want_params),
                None => elementwise::batch_norm(b, ins[0], g, want_params),
            };
            (vec![dx], p)
        }
        Op::Concat(axis) => {
            let mut start = 0;
            let parts = ins
                .iter()
                .map(|x| {
                    let len = x.shape()[axis + 1];
                    let part = g
                        .slice_axis(Axis(axis + 1), Slice::from(start..start + len))
                        .as_standard_layout()
                        .into_owned();
                    start += len;
                    part
                })
                .collect();
            (parts, None)
        }
        Op::Softmax => one(elementwise::softmax(out, g)),
        Op::LogSoftmax => one(elementwise::log_softmax(out, g)),
        Op::Activation(a) => one(activation::activation(a, ins[0], g)),
        Op::Binary(b) => (activation::binary(*b, ins[0], ins[1], g), None),
        Op::Slice(s) => one(activation::slice(s, ins[0], &g)),
        Op::Pad(p) => one(activation::pad(p, ins[0], &g)),
    }
}
