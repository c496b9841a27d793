//! Backward kernels of the element-wise and normalisation ops: ReLU, BatchNorm, LRN,
//! Softmax, LogSoftmax.

use ndarray::{Array1, ArrayD, Zip};
use rayon::prelude::*;

use super::ParamGrad;
use crate::forward::BatchStats;
use crate::op::{BatchNorm, Lrn};

/// ReLU: `dx = g` where `x > 0`, else 0 (the kink at 0 gets gradient 0).
pub(super) fn relu(x: &ArrayD<f32>, g: &ArrayD<f32>) -> ArrayD<f32> {
    Zip::from(g)
        .and(x)
        .map_collect(|&g, &x| if x > 0.0 { g } else { 0.0 })
        .as_standard_layout()
        .into_owned()
}

/// Inference batch norm `y = x·scale_c + shift_c` over `(B, C, …)`: `dx = g·scale_c`,
/// `dgamma_c = Σ g·x̂` with `x̂ = (x − mean_c)/sqrt(var_c + ε)`, `dbeta_c = Σ g` (sums over
/// the batch and the positions, in `f64`).
pub(super) fn batch_norm(
    b: &BatchNorm,
    x: &ArrayD<f32>,
    mut g: ArrayD<f32>,
    want_params: bool,
) -> (ArrayD<f32>, Option<ParamGrad>) {
    let (scale, _) = b.affine();
    let c = scale.len();
    let inner: usize = x.shape()[2..].iter().product();
    let mut dgamma = vec![0f64; c];
    let mut dbeta = vec![0f64; c];
    if want_params {
        let x = x.as_standard_layout();
        let xs = x.as_slice().expect("standard layout");
        let gs = g.as_slice().expect("gradients are in standard layout");
        for (i, (gc, xc)) in gs.chunks(inner).zip(xs.chunks(inner)).enumerate() {
            let ch = i % c;
            let mean = b.mean[ch] as f64;
            let inv_std = 1.0 / (b.var[ch] as f64 + b.epsilon as f64).sqrt();
            for (&gv, &xv) in gc.iter().zip(xc) {
                dgamma[ch] += gv as f64 * (xv as f64 - mean) * inv_std;
                dbeta[ch] += gv as f64;
            }
        }
    }
    let gs = g.as_slice_mut().expect("gradients are in standard layout");
    for (i, gc) in gs.chunks_mut(inner).enumerate() {
        let s = scale[i % c];
        gc.iter_mut().for_each(|v| *v *= s);
    }
    let to32 = |v: Vec<f64>| v.into_iter().map(|a| a as f32).collect::<Array1<f32>>();
    let params = want_params.then(|| ParamGrad::BatchNorm {
        gamma: to32(dgamma),
        beta: to32(dbeta),
    });
    (g, params)
}

/// Training-mode batch norm over `(B, C, …)`, with the batch statistics of the forward pass:
/// per channel, with `x̂ = (x − μ)·inv_std` and `M` = batch size × positions,
/// `dgamma = Σ g·x̂`, `dbeta = Σ g`, `dx = gamma·inv_std·(g − dbeta/M − x̂·dgamma/M)`
/// (sums in `f64`).
pub(super) fn batch_norm_train(
    b: &BatchNorm,
    stats: &BatchStats,
    x: &ArrayD<f32>,
    mut g: ArrayD<f32>,
    want_params: bool,
) -> (ArrayD<f32>, Option<ParamGrad>) {
    let c = b.gamma.len();
    let inner: usize = x.shape()[2..].iter().product();
    let x = x.as_standard_layout();
    let xs = x.as_slice().expect("standard layout");
    let (mean, inv_std) = (&stats.mean, &stats.inv_std);
    let mut dgamma = vec![0f64; c];
    let mut dbeta = vec![0f64; c];
    {
        let gs = g.as_slice().expect("gradients are in standard layout");
        for (i, (gc, xc)) in gs.chunks(inner).zip(xs.chunks(inner)).enumerate() {
            let ch = i % c;
            let (m, s) = (mean[ch], inv_std[ch]);
            let (mut dg, mut db) = (0f64, 0f64);
            for (&gv, &xv) in gc.iter().zip(xc) {
                dg += gv as f64 * (xv as f64 - m) * s;
                db += gv as f64;
            }
            dgamma[ch] += dg;
            dbeta[ch] += db;
        }
    }
    let count = (x.len() / c.max(1)).max(1) as f64;
    let gs = g.as_slice_mut().expect("gradients are in standard layout");
    for (i, (gc, xc)) in gs.chunks_mut(inner).zip(xs.chunks(inner)).enumerate() {
        let ch = i % c;
        let (m, s) = (mean[ch], inv_std[ch]);
        let k = b.gamma[ch] as f64 * s;
        let (mg, mgx) = (dbeta[ch] / count, dgamma[ch] / count);
        for (gv, &xv) in gc.iter_mut().zip(xc) {
            let xhat = (xv as f64 - m) * s;
            *gv = (k * (*gv as f64 - mg - xhat * mgx)) as f32;
        }
    }
    let to32 = |v: Vec<f64>| v.into_iter().map(|a| a as f32).collect::<Array1<f32>>();
    let params = want_params.then(|| ParamGrad::BatchNorm {
        gamma: to32(dgamma),
        beta: to32(dbeta),
    });
    (g, params)
}

/// Cross-channel LRN backward, in `f64`. With `D_c = bias + α/size · Σ_{k∈N(c)} x_k²` and
/// `y_c = x_c · D_c^(−β)`, where `N(c) = c−lo ..= c+hi` (clipped; `lo = ⌊(size−1)/2⌋`,
/// `hi = size−1−lo`):
///
/// `dx_j = g_j · D_j^(−β) − (2αβ/size) · x_j · Σ_{c : j∈N(c)} g_c · x_c · D_c^(−β−1)`,
///
/// and `j ∈ N(c)` ⇔ `c ∈ j−hi ..= j+lo`.
pub(super) fn lrn(l: &Lrn, x: &ArrayD<f32>, g: &ArrayD<f32>) -> ArrayD<f32> {
    let x = x.as_standard_layout();
    let c = x.shape()[1];
    let inner: usize = x.shape()[2..].iter().product();
    let per_sample = c * inner;
    let xs = x.as_slice().expect("standard layout");
    let gs = g.as_slice().expect("gradients are in standard layout");
    let lo = (l.size - 1) / 2;
    let hi = l.size - 1 - lo;
    let (alpha, beta) = (l.alpha as f64 / l.size as f64, l.beta as f64);
    let mut dx = vec![0f32; xs.len()];
    dx.par_chunks_mut(per_sample)
        .zip(xs.par_chunks(per_sample))
        .zip(gs.par_chunks(per_sample))
        .for_each(|((dxn, xn), gn)| {
            // den[c·inner + p] = D_c; t[c·inner + p] = g_c · x_c · D_c^(−β−1).
            let mut den = vec![l.bias as f64; per_sample];
            for ch in 0..c {
                for k in ch.saturating_sub(lo)..=(ch + hi).min(c - 1) {
                    let src = &xn[k * inner..(k + 1) * inner];
                    for (d, &v) in den[ch * inner..(ch + 1) * inner].iter_mut().zip(src) {
                        *d += alpha * (v as f64) * (v as f64);
                    }
                }
            }
            let t: Vec<f64> = (0..per_sample)
                .map(|i| gn[i] as f64 * xn[i] as f64 * den[i].powf(-beta - 1.0))
                .collect();
            for j in 0..c {
                let from = j.saturating_sub(hi);
                let to = (j + lo).min(c - 1);
                for p in 0..inner {
                    let i = j * inner + p;
                    let s: f64 = (from..=to).map(|ch| t[ch * inner + p]).sum();
                    let v =
                        gn[i] as f64 * den[i].powf(-beta) - 2.0 * alpha * beta * xn[i] as f64 * s;
                    dxn[i] = v as f32;
                }
            }
        });
    ArrayD::from_shape_vec(x.raw_dim(), dx).expect("lrn input size")
}

/// Softmax over each sample's whole tensor, from its output `y`: `dx = y ⊙ (g − ⟨g, y⟩)`.
pub(super) fn softmax(y: &ArrayD<f32>, mut g: ArrayD<f32>) -> ArrayD<f32> {
    let y = y.as_standard_layout();
    let ys = y.as_slice().expect("standard layout");
    let n = ys.len() / g.shape()[0].max(1);
    let gs = g.as_slice_mut().expect("gradients are in standard layout");
    for (gc, yc) in gs.chunks_mut(n).zip(ys.chunks(n)) {
        let dot: f64 = gc.iter().zip(yc).map(|(&a, &b)| a as f64 * b as f64).sum();
        for (gv, &yv) in gc.iter_mut().zip(yc) {
            *gv = (yv as f64 * (*gv as f64 - dot)) as f32;
        }
    }
    g
}

/// Log-softmax over each sample's whole tensor, from its output `y`:
/// `dx = g − exp(y) · Σ g`.
pub(super) fn log_softmax(y: &ArrayD<f32>, mut g: ArrayD<f32>) -> ArrayD<f32> {
    let y = y.as_standard_layout();
    let ys = y.as_slice().expect("standard layout");
    let n = ys.len() / g.shape()[0].max(1);
    let gs = g.as_slice_mut().expect("gradients are in standard layout");
    for (gc, yc) in gs.chunks_mut(n).zip(ys.chunks(n)) {
        let total: f64 = gc.iter().map(|&a| a as f64).sum();
        for (gv, &yv) in gc.iter_mut().zip(yc) {
            *gv = (*gv as f64 - (yv as f64).exp() * total) as f32;
        }
    }
    g
}
