//! Element-wise and normalisation kernels: Add, BatchNorm, LRN, Softmax.

use ndarray::{ArrayD, Axis};

use super::BatchStats;
use crate::op::{BatchNorm, Lrn};

/// Sum of same-shape tensors (one pass for the first two).
pub(super) fn add(ins: &[&ArrayD<f32>]) -> ArrayD<f32> {
    let (first, rest) = ins
        .split_first()
        .expect("Add has at least one input (validated)");
    let mut acc = match rest.first() {
        Some(second) => *first + *second,
        None => (*first).to_owned(),
    };
    for x in rest.iter().skip(1) {
        acc += *x;
    }
    acc
}

/// `y = x·scale_c + shift_c` along axis 1 (the channel axis of a batched tensor).
pub(super) fn batch_norm(b: &BatchNorm, x: &ArrayD<f32>) -> ArrayD<f32> {
    batch_norm_in_place(b, x.as_standard_layout().into_owned())
}

/// [`batch_norm`] reusing its input's buffer.
pub(super) fn batch_norm_in_place(b: &BatchNorm, mut y: ArrayD<f32>) -> ArrayD<f32> {
    let (scale, shift) = b.affine();
    for mut sample in y.axis_iter_mut(Axis(0)) {
        for (c, mut chan) in sample.axis_iter_mut(Axis(0)).enumerate() {
            chan.mapv_inplace(|v| v * scale[c] + shift[c]);
        }
    }
    y
}

/// Training-mode batch norm over `(B, C, …)`: per channel, the mean `μ` and biased variance
/// `σ²` of the batch (over the batch and the positions; two passes in `f64`), then
/// `y = (x − μ)/sqrt(σ² + ε)·gamma + beta` (in `f64`, rounded once).
pub(super) fn batch_norm_train(b: &BatchNorm, x: &ArrayD<f32>) -> (ArrayD<f32>, BatchStats) {
    let mut y = x.as_standard_layout().into_owned();
    let c = y.shape()[1];
    let inner: usize = y.shape()[2..].iter().product();
    let count = y.shape()[0] * inner;
    let ys = y.as_slice_mut().expect("standard layout");
    let mut sum = vec![0f64; c];
    for (i, chunk) in ys.chunks(inner).enumerate() {
        sum[i % c] += chunk.iter().map(|&v| v as f64).sum::<f64>();
    }
    let mean: Vec<f64> = sum.iter().map(|s| s / count as f64).collect();
    let mut sq = vec![0f64; c];
    for (i, chunk) in ys.chunks(inner).enumerate() {
        let m = mean[i % c];
        sq[i % c] += chunk.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>();
    }
    let var: Vec<f64> = sq.iter().map(|s| s / count as f64).collect();
    let inv_std: Vec<f64> = var
        .iter()
        .map(|v| 1.0 / (v + b.epsilon as f64).sqrt())
        .collect();
    for (i, chunk) in ys.chunks_mut(inner).enumerate() {
        let ch = i % c;
        let scale = b.gamma[ch] as f64 * inv_std[ch];
        let (m, beta) = (mean[ch], b.beta[ch] as f64);
        chunk
            .iter_mut()
            .for_each(|v| *v = ((*v as f64 - m) * scale + beta) as f32);
    }
    let stats = BatchStats {
        mean,
        var,
        inv_std,
        count,
    };
    (y, stats)
}

/// Cross-channel local response normalisation (ONNX semantics), sums in `f64`.
pub(super) fn lrn(l: &Lrn, x: &ArrayD<f32>) -> ArrayD<f32> {
    let x = x.as_standard_layout();
    let (b, c) = (x.shape()[0], x.shape()[1]);
    let inner: usize = x.shape()[2..].iter().product();
    let xs = x.as_slice().expect("standard layout");
    let lo = (l.size - 1) / 2;
    let hi = l.size - 1 - lo;
    let mut out = vec![0f32; xs.len()];
    for n in 0..b {
        let base = n * c * inner;
        for ch in 0..c {
            let from = ch.saturating_sub(lo);
            let to = (ch + hi).min(c - 1);
            for p in 0..inner {
                let sq: f64 = (from..=to)
                    .map(|k| (xs[base + k * inner + p] as f64).powi(2))
                    .sum();
                let den = (l.bias as f64 + l.alpha as f64 / l.size as f64 * sq).powf(l.beta as f64);
                out[base + ch * inner + p] = (xs[base + ch * inner + p] as f64 / den) as f32;
            }
        }
    }
    ArrayD::from_shape_vec(x.raw_dim(), out).expect("lrn output size")
}

/// Softmax (or log-softmax) over each sample's whole tensor, in `f64`.
pub(super) fn softmax(x: &ArrayD<f32>, log: bool) -> ArrayD<f32> {
    let mut y = x.as_standard_layout().into_owned();
    for mut sample in y.axis_iter_mut(Axis(0)) {
        let m = sample.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as f64;
        let z: f64 = sample.iter().map(|&v| (v as f64 - m).exp()).sum();
        let lz = z.ln();
        sample.mapv_inplace(|v| {
            if log {
                (v as f64 - m - lz) as f32
            } else {
                ((v as f64 - m).exp() / z) as f32
            }
        });
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, IxDyn};

    #[test]
    fn softmax_and_batch_norm_by_hand() {
        let x = ArrayD::from_shape_vec(IxDyn(&[1, 2]), vec![0.0, (2f32).ln()]).unwrap();
        let s = softmax(&x, false);
        assert!((s[[0, 0]] - 1.0 / 3.0).abs() < 1e-6 && (s[[0, 1]] - 2.0 / 3.0).abs() < 1e-6);
        let ls = softmax(&x, true);
        assert!((ls[[0, 1]] - (2.0f32 / 3.0).ln()).abs() < 1e-6);
        let bn = BatchNorm {
            gamma: Array1::from(vec![2.0, 1.0]),
            beta: Array1::from(vec![1.0, 0.0]),
            mean: Array1::from(vec![1.0, 0.0]),
            var: Array1::from(vec![4.0, 1.0]),
            epsilon: 0.0,
        };
        let x = ArrayD::from_shape_vec(IxDyn(&[1, 2, 1, 1]), vec![3.0, -1.0]).unwrap();
        let y = batch_norm(&bn, &x);
        assert_eq!(y.iter().copied().collect::<Vec<_>>(), vec![3.0, -1.0]);
    }

    #[test]
    fn lrn_by_hand() {
        let l = Lrn {
            size: 3,
            alpha: 3.0,
            beta: 1.0,
            bias: 1.0,
        };
        let x = ArrayD::from_shape_vec(IxDyn(&[1, 3, 1, 1]), vec![1.0, 2.0, 3.0]).unwrap();
        let y = lrn(&l, &x);
        // channel 1: sum of squares 1+4+9 = 14, den = 1 + 3/3·14 = 15.
        assert!((y[[0, 1, 0, 0]] - 2.0 / 15.0).abs() < 1e-6);
        // channel 0: 1+4 = 5 → den 6.
        assert!((y[[0, 0, 0, 0]] - 1.0 / 6.0).abs() < 1e-6);
    }
}
