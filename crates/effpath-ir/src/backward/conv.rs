//! Backward kernels of Dense and Conv2d: GEMMs for `dx` and `dW`, col2im for convolutions,
//! rayon across the batch with per-thread weight-gradient accumulators.

use ndarray::{Array1, Array2, Array4, ArrayD, IxDyn};
use rayon::prelude::*;

use super::ParamGrad;
use crate::forward::gemm::{self, Beta, Bias, Mat};
use crate::forward::im2col;
use crate::op::{Conv2d, Dense, Window2d};

/// Per-channel sums of `g` viewed as `(B, C, inner)`, accumulated in `f64`.
fn channel_sums(g: &[f32], channels: usize, inner: usize) -> Array1<f32> {
    let mut acc = vec![0f64; channels];
    for (i, chunk) in g.chunks(inner).enumerate() {
        acc[i % channels] += chunk.iter().map(|&v| v as f64).sum::<f64>();
    }
    acc.into_iter().map(|v| v as f32).collect()
}

/// Dense `y = x·Wᵀ + b` over `(B, in)`: `dx = g·W`, `dW = gᵀ·x`, `db = Σ_batch g`.
pub(super) fn dense(
    d: &Dense,
    x: &ArrayD<f32>,
    g: &ArrayD<f32>,
    want_params: bool,
) -> (ArrayD<f32>, Option<ParamGrad>) {
    let (out, inp) = d.weight.dim();
    let b = g.shape()[0];
    let gs = g.as_slice().expect("gradients are in standard layout");
    let g2 = Mat::row_major(gs, b, out, out);
    let weight = d.weight.as_standard_layout();
    let ws = weight.as_slice().expect("standard layout");
    let mut dx = vec![0f32; b * inp];
    let w2 = Mat::row_major(ws, out, inp, inp);
    gemm::gemm(&mut dx, g2, w2, Beta::Replace, Bias::None, true);
    let dx = Array2::from_shape_vec((b, inp), dx).expect("dense input gradient size");
    let params = want_params.then(|| {
        let x = x.as_standard_layout();
        let xs = x.as_slice().expect("standard layout");
        let mut dw = vec![0f32; out * inp];
        let x2 = Mat::row_major(xs, b, inp, inp);
        gemm::gemm(&mut dw, g2.t(), x2, Beta::Replace, Bias::None, true);
        ParamGrad::Dense {
            weight: Array2::from_shape_vec((out, inp), dw).expect("weight gradient size"),
            bias: d.bias.as_ref().map(|_| channel_sums(gs, out, 1)),
        }
    });
    (dx.into_dyn(), params)
}

/// Scatter-adds the column matrix `(cin·kh·kw, oh·ow)` back into channels `c0..c0+cin` of
/// one sample: the adjoint of [`im2col`].
fn col2im(
    dcols: &[f32],
    c0: usize,
    cin: usize,
    hw: [usize; 2],
    win: &Window2d,
    out: [usize; 2],
    dx: &mut [f32],
) {
    let [h, w] = hw;
    let [oh, ow] = out;
    let [kh, kw] = win.kernel;
    let sw = win.stride[1];
    let mut row = 0;
    for c in c0..c0 + cin {
        let plane = &mut dx[c * h * w..(c + 1) * h * w];
        for ki in 0..kh {
            for kj in 0..kw {
                let src = &dcols[row * oh * ow..(row + 1) * oh * ow];
                row += 1;
                // Output columns `lo..hi` land inside the input (the same clipping as im2col).
                let std::ops::Range { start: lo, end: hi } = win.output_span(1, kj, w, ow);
                let Some(first) = win.input_index(1, lo, kj, w).filter(|_| lo < hi) else {
                    continue;
                };
                for oy in 0..oh {
                    let Some(iy) = win.input_index(0, oy, ki, h) else {
                        continue;
                    };
                    let line = &mut plane[iy * w..(iy + 1) * w];
                    let vals = &src[oy * ow + lo..oy * ow + hi];
                    if sw == 1 {
                        let dst = &mut line[first..first + vals.len()];
                        dst.iter_mut().zip(vals).for_each(|(d, &v)| *d += v);
                    } else {
                        for (d, &v) in line[first..].iter_mut().step_by(sw).zip(vals) {
                            *d += v;
                        }
                    }
                }
            }
        }
    }
}

/// Per-thread buffers of the convolution backward pass.
struct Scratch {
    cols: Vec<f32>,
    dcols: Vec<f32>,
    /// Weight gradient `(C_out, k)` accumulated over this thread's samples (empty if unused).
    dw: Vec<f32>,
}

/// Grouped, strided, padded convolution backward over `(B, C_in, H, W)`:
/// `dx = col2im(W_gᵀ·g)`, `dW_g = Σ_n g·cols_gᵀ`, `db = Σ g`.
pub(super) fn conv2d(
    c: &Conv2d,
    x: &ArrayD<f32>,
    g: &ArrayD<f32>,
    want_params: bool,
) -> (ArrayD<f32>, Option<ParamGrad>) {
    let (b, cin, h, w) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
    let (cout, cin_g, kh, kw) = c.weight.dim();
    let (oh, ow) = (g.shape()[2], g.shape()[3]);
    let (groups, cout_g, k, p) = (c.groups, cout / c.groups, cin_g * kh * kw, oh * ow);
    let x = x.as_standard_layout();
    let xs = x.as_slice().expect("standard layout");
    let gs = g.as_slice().expect("gradients are in standard layout");
    let weight = c.weight.as_standard_layout();
    let ws = weight.as_slice().expect("standard layout");
    let direct = kh == 1
        && kw == 1
        && c.window.stride == [1, 1]
        && c.window.pads_begin == [0, 0]
        && c.window.pads_end == [0, 0];
    let scratch = || Scratch {
        cols: if direct || !want_params {
            Vec::new()
        } else {
            vec![0f32; k * p]
        },
        dcols: if direct {
            Vec::new()
        } else {
            vec![0f32; k * p]
        },
        dw: if want_params {
            vec![0f32; cout * k]
        } else {
            Vec::new()
        },
    };
    let sample = |n: usize, dxn: &mut [f32], s: &mut Scratch| {
        let xn = &xs[n * cin * h * w..(n + 1) * cin * h * w];
        for gi in 0..groups {
            let gng = Mat::row_major(&gs[(n * cout + gi * cout_g) * p..], cout_g, p, p);
            let wgt = Mat::row_major(&ws[gi * cout_g * k..], cout_g, k, k).t();
            let chans = gi * cin_g * h * w..(gi + 1) * cin_g * h * w;
            if direct {
                // 1×1 conv: a group's channels are (k, oh·ow).
                gemm::gemm(
                    &mut dxn[chans.clone()],
                    wgt,
                    gng,
                    Beta::Replace,
                    Bias::None,
                    false,
                );
            } else {
                gemm::gemm(&mut s.dcols, wgt, gng, Beta::Replace, Bias::None, false);
                col2im(
                    &s.dcols,
                    gi * cin_g,
                    cin_g,
                    [h, w],
                    &c.window,
                    [oh, ow],
                    dxn,
                );
            }
            if want_params {
                let cols: &[f32] = if direct {
                    &xn[chans]
                } else {
                    im2col(
                        xn,
                        gi * cin_g,
                        cin_g,
                        [h, w],
                        &c.window,
                        [oh, ow],
                        &mut s.cols,
                    );
                    &s.cols
                };
                let colt = Mat::row_major(cols, k, p, p).t();
                let dwg = &mut s.dw[gi * cout_g * k..(gi + 1) * cout_g * k];
                gemm::gemm(dwg, gng, colt, Beta::Add, Bias::None, false);
            }
        }
    };
    let mut dx = vec![0f32; b * cin * h * w];
    // Samples are split into a fixed number of contiguous blocks (independent of the thread
    // count) and the per-block weight gradients are summed in block order, so the result is
    // bit-identical whatever rayon's scheduling: training is reproducible per seed.
    const BLOCKS: usize = 8;
    let per_block = b.div_ceil(BLOCKS).max(1);
    let block_dws: Vec<Vec<f32>> = dx
        .par_chunks_mut(per_block * cin * h * w)
        .enumerate()
        .map(|(bi, block)| {
            let mut s = scratch();
            for (j, dxn) in block.chunks_mut(cin * h * w).enumerate() {
                sample(bi * per_block + j, dxn, &mut s);
            }
            s.dw
        })
        .collect();
    let mut dw = vec![0f32; cout * k];
    for bd in &block_dws {
        dw.iter_mut().zip(bd).for_each(|(x, y)| *x += y);
    }
    let dx = ArrayD::from_shape_vec(IxDyn(&[b, cin, h, w]), dx).expect("conv input size");
    let params = want_params.then(|| ParamGrad::Conv2d {
        weight: Array4::from_shape_vec((cout, cin_g, kh, kw), dw)
            .expect("weight gradient has the weight's size"),
        bias: c.bias.as_ref().map(|_| channel_sums(gs, cout, p)),
    });
    (dx, params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// col2im is the adjoint of im2col: ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ for any geometry,
        /// including padding wider than the kernel (rows that never touch the input).
        #[test]
        fn col2im_is_the_adjoint_of_im2col(
            cin in 1usize..3, h in 1usize..7, w in 1usize..7,
            kh in 1usize..4, kw in 1usize..4, sh in 1usize..4, sw in 1usize..4,
            pads in proptest::array::uniform4(0usize..4), seed in 0u32..1000,
        ) {
            let mut win = Window2d::new([kh, kw], [sh, sw]);
            win.pads_begin = [pads[0], pads[1]];
            win.pads_end = [pads[2], pads[3]];
            let Some([oh, ow]) = win.output_size([h, w]) else {
                return Ok(());
            };
            let val = |i: usize, salt: u32| {
                let hash = (i as u32).wrapping_mul(2654435761) ^ seed ^ salt;
                (hash % 97) as f32 / 48.0 - 1.0
            };
            let x: Vec<f32> = (0..cin * h * w).map(|i| val(i, 1)).collect();
            let c: Vec<f32> = (0..cin * kh * kw * oh * ow).map(|i| val(i, 2)).collect();
            let mut cols = vec![0f32; c.len()];
            im2col(&x, 0, cin, [h, w], &win, [oh, ow], &mut cols);
            let mut dx = vec![0f32; x.len()];
            col2im(&c, 0, cin, [h, w], &win, [oh, ow], &mut dx);
            let lhs: f64 = cols.iter().zip(&c).map(|(&a, &b)| a as f64 * b as f64).sum();
            let rhs: f64 = x.iter().zip(&dx).map(|(&a, &b)| a as f64 * b as f64).sum();
            prop_assert!((lhs - rhs).abs() < 1e-4 * (1.0 + lhs.abs()), "{lhs} vs {rhs}");
        }
    }
}
