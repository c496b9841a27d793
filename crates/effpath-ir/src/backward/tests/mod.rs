//! Finite-difference checks of the backward pass: per op (`ops`) and on whole networks
//! (`nets`). The loss is `L = Σ r ⊙ value(at)` with a fixed random `r`, accumulated in `f64`;
//! central differences perturb one input or parameter element at a time. `train_mode` checks
//! training-mode batch norm (forward, backward through the batch statistics, running-stat
//! updates).

mod nets;
mod ops;
mod ops_ext;
mod train_mode;

use ndarray::{ArrayD, IxDyn};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::forward::Mode;
use crate::graph::{Network, ValueId};
use crate::op::Op;

pub(super) fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// Uniform random tensor in `lo..hi`.
pub(super) fn uniform(shape: &[usize], lo: f32, hi: f32, rng: &mut ChaCha8Rng) -> ArrayD<f32> {
    ArrayD::from_shape_fn(IxDyn(shape), |_| rng.random_range(lo..hi))
}

/// A tensor whose values are a random permutation of `(k − n/2 + ½)·spacing`: no two values
/// within `spacing` of each other (no max-pool ties) and none within `spacing/2` of 0 (no
/// ReLU kinks), so central differences with `eps < spacing/2` cross no kink.
pub(super) fn distinct(shape: &[usize], spacing: f32, rng: &mut ChaCha8Rng) -> ArrayD<f32> {
    let n: usize = shape.iter().product();
    let mut v: Vec<f32> = (0..n)
        .map(|k| (k as f32 - n as f32 / 2.0 + 0.5) * spacing)
        .collect();
    v.shuffle(rng);
    ArrayD::from_shape_vec(IxDyn(shape), v).expect("n elements")
}

/// The trainable parameter tensors of an op as mutable flat slices, in [`super::ParamGrad`]
/// order (weight, bias / gamma, beta).
fn param_slices_mut(op: &mut Op) -> Vec<&mut [f32]> {
    let mut out: Vec<&mut [f32]> = Vec::new();
    match op {
        Op::Dense(d) => {
            out.push(d.weight.as_slice_mut().expect("standard layout"));
            out.extend(
                d.bias
                    .as_mut()
                    .map(|b| b.as_slice_mut().expect("contiguous")),
            );
        }
        Op::Conv2d(c) => {
            out.push(c.weight.as_slice_mut().expect("standard layout"));
            out.extend(
                c.bias
                    .as_mut()
                    .map(|b| b.as_slice_mut().expect("contiguous")),
            );
        }
        Op::BatchNorm(b) => {
            out.push(b.gamma.as_slice_mut().expect("contiguous"));
            out.push(b.beta.as_slice_mut().expect("contiguous"));
        }
        _ => {}
    }
    out
}

/// How a check samples coordinates and compares.
#[derive(Clone, Copy)]
pub(super) struct Check {
    /// Finite-difference step.
    pub eps: f32,
    /// Allowed error: `tol · (|analytic| + max |analytic| over the tensor)` (+ 1e-5).
    pub tol: f64,
    /// At most this many coordinates per tensor (all when the tensor is smaller).
    pub max_coords: usize,
    /// Accept the best of several estimates: central and one-sided differences with steps
    /// `eps` and `eps/4`. For networks that are piecewise linear in each single coordinate
    /// (ReLU, max pool, conv, dense, BN, …) a one-sided difference is exact between kinks,
    /// and a kink (ReLU sign change, max-pool switch) within the step usually lies on one
    /// side only, or beyond the smaller step; a single central difference would mix two
    /// slopes. A wrong gradient still has to miss all six estimates.
    pub one_sided: bool,
}

impl Default for Check {
    fn default() -> Self {
        Check {
            eps: 1e-2,
            tol: 1e-2,
            max_coords: 1000,
            one_sided: false,
        }
    }
}

fn loss(net: &Network, x: &ArrayD<f32>, r: &ArrayD<f32>, at: ValueId, mode: Mode) -> f64 {
    let acts = net.forward_with(x, mode).expect("forward of a valid input");
    acts.get(at)
        .iter()
        .zip(r.iter())
        .map(|(&a, &b)| a as f64 * b as f64)
        .sum()
}

fn coords(n: usize, max: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut all: Vec<usize> = (0..n).collect();
    if n > max {
        all.shuffle(rng);
        all.truncate(max);
    }
    all
}

/// Compares analytic gradient entries with finite differences on sampled coordinates;
/// `shifted(j, δ)` is the loss with coordinate `j` moved by `δ`, `base` the unshifted loss.
/// Returns the number of coordinates checked; panics naming `what` on a mismatch.
fn compare(
    what: &str,
    analytic: &[f32],
    chk: Check,
    base: f64,
    rng: &mut ChaCha8Rng,
    mut shifted: impl FnMut(usize, f32) -> f64,
) -> usize {
    let scale = analytic.iter().fold(0f64, |m, &v| m.max(v.abs() as f64));
    let picked = coords(analytic.len(), chk.max_coords, rng);
    let mut worst = 0f64;
    for &j in &picked {
        let an = analytic[j] as f64;
        let mut estimates = Vec::with_capacity(6);
        for step in [chk.eps, chk.eps / 4.0] {
            let (lp, lm, e) = (shifted(j, step), shifted(j, -step), step as f64);
            estimates.push((lp - lm) / (2.0 * e));
            if !chk.one_sided {
                break;
            }
            estimates.extend([(lp - base) / e, (base - lm) / e]);
        }
        let err = estimates
            .iter()
            .fold(f64::INFINITY, |m, &v| m.min((an - v).abs()));
        let bound = chk.tol * (an.abs() + scale) + 1e-5;
        assert!(
            err <= bound,
            "{what}[{j}]: analytic {an:.6e} vs finite differences {estimates:.5?} (scale {scale:.3e})"
        );
        worst = worst.max(err / bound);
    }
    eprintln!(
        "{what}: {} coords, worst error/bound {worst:.3}",
        picked.len()
    );
    picked.len()
}

/// Checks `backward` (input and every parameter gradient) and `backward_input` of `net` at
/// value `at` against finite differences of `Σ r ⊙ value(at)`.
pub(super) fn check_gradients(net: &Network, x: &ArrayD<f32>, at: ValueId, chk: Check, seed: u64) {
    check_gradients_in(net, x, at, chk, seed, Mode::Inference);
}

/// [`check_gradients`] with the forward passes (analytic and finite-difference) run in `mode`.
pub(super) fn check_gradients_in(
    net: &Network,
    x: &ArrayD<f32>,
    at: ValueId,
    chk: Check,
    seed: u64,
    mode: Mode,
) {
    let mut rng = rng(seed);
    let acts = net.forward_with(x, mode).expect("forward of a valid input");
    assert_eq!(acts.mode(), mode);
    let r = uniform(acts.get(at).shape(), -1.0, 1.0, &mut rng);
    let grads = net.backward(&acts, &r, at).expect("backward");
    let fast = net.backward_input(&acts, &r, at).expect("backward_input");
    assert_eq!(&fast, grads.input(), "backward_input differs from backward");
    assert_eq!(grads.input().shape(), x.shape());
    let base = loss(net, x, &r, at, mode);
    let gin = grads.input().as_standard_layout();
    let gin = gin.as_slice().expect("standard layout");
    let mut checked = compare("input", gin, chk, base, &mut rng, |j, delta| {
        let mut xp = x.clone();
        xp.as_slice_mut().expect("standard layout")[j] += delta;
        loss(net, &xp, &r, at, mode)
    });
    for (i, node) in net.nodes().iter().enumerate() {
        let expected = node.op.parameter_count() > 0;
        let Some(pg) = grads.param(i) else {
            assert!(!expected, "node {} has no parameter gradient", node.name);
            continue;
        };
        for (t, tensor) in pg.tensors().into_iter().enumerate() {
            let tensor = tensor.as_standard_layout();
            let what = format!("{}.param{t}", node.name);
            let an = tensor.as_slice().expect("standard layout");
            checked += compare(&what, an, chk, base, &mut rng, |j, delta| {
                let mut p = net.clone();
                param_slices_mut(&mut p.nodes_mut()[i].op)[t][j] += delta;
                loss(&p, x, &r, at, mode)
            });
        }
    }
    assert!(checked > 0);
}
