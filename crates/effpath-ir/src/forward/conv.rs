//! Dense and convolution kernels: tiled GEMMs ([`super::gemm`]) on rayon's pool, im2col for
//! convolutions. A small batch is split inside each sample (im2col by channel, the GEMM by
//! output tile); a large batch is split across samples, each computed on one thread with the
//! same tiles, so both give bit-identical results.

use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;

use super::gemm::{self, Beta, Bias, Mat};
use crate::op::{Conv2d, Dense, Window2d};

/// `(B, in) → (B, out)`: `y[b][o] = w[o]·x[b] + bias[o]`, each a dot product with a fixed
/// summation order (eight lanes over `in`, reduced pairwise), so a sample's output never
/// depends on the batch it is in nor on the thread count (a GEMM picks other kernels for
/// other batch sizes, which rounds differently). Output features are split across rayon;
/// four samples share each weight row while it is in cache.
pub(super) fn dense(d: &Dense, x: &ArrayD<f32>) -> ArrayD<f32> {
    let b = x.shape()[0];
    let (out, inp) = d.weight.dim();
    let x = x.as_standard_layout();
    let xs = x.as_slice().expect("standard layout");
    let w = d.weight.as_standard_layout();
    let ws = w.as_slice().expect("standard layout");
    // Transposed result (out × b), features in chunks worth a hand-off.
    let per_chunk = (1 << 16) / (inp * b).max(1) + 1;
    let mut yt = vec![0f32; out * b];
    yt.par_chunks_mut(per_chunk * b)
        .enumerate()
        .for_each(|(c, chunk)| {
            for (k, ys) in chunk.chunks_mut(b).enumerate() {
                let o = c * per_chunk + k;
                let row = &ws[o * inp..(o + 1) * inp];
                let bias = d.bias.as_ref().map_or(0.0, |v| v[o]);
                let mut s = 0;
                while s + 4 <= b {
                    let r = dot4(row, [0, 1, 2, 3].map(|i| &xs[(s + i) * inp..][..inp]));
                    for i in 0..4 {
                        ys[s + i] = r[i] + bias;
                    }
                    s += 4;
                }
                for (s, y) in ys.iter_mut().enumerate().skip(s) {
                    *y = dot1(row, &xs[s * inp..][..inp]) + bias;
                }
            }
        });
    let mut y = vec![0f32; b * out];
    for (o, col) in yt.chunks(b).enumerate() {
        for (s, &v) in col.iter().enumerate() {
            y[s * out + o] = v;
        }
    }
    ArrayD::from_shape_vec(IxDyn(&[b, out]), y).expect("dense output size")
}

/// One dot product with exactly [`dot4`]'s arithmetic for each of its samples.
fn dot1(w: &[f32], x: &[f32]) -> f32 {
    let mut a = [0f32; 8];
    let n8 = w.len() / 8 * 8;
    for (wv, xv) in w[..n8].chunks_exact(8).zip(x[..n8].chunks_exact(8)) {
        for l in 0..8 {
            a[l] += wv[l] * xv[l];
        }
    }
    let v = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    w[n8..]
        .iter()
        .zip(&x[n8..])
        .fold(v, |t, (&a, &b)| t + a * b)
}

/// Four dot products of `w` with `xs[i]`, each in eight lanes reduced pairwise (the same
/// arithmetic for every sample, whichever of the four slots it is in).
fn dot4(w: &[f32], xs: [&[f32]; 4]) -> [f32; 4] {
    let mut acc = [[0f32; 8]; 4];
    let n8 = w.len() / 8 * 8;
    for j in (0..n8).step_by(8) {
        let wv = &w[j..j + 8];
        for (a, x) in acc.iter_mut().zip(&xs) {
            let xv = &x[j..j + 8];
            for l in 0..8 {
                a[l] += wv[l] * xv[l];
            }
        }
    }
    let mut out = [0f32; 4];
    for ((o, a), x) in out.iter_mut().zip(&acc).zip(&xs) {
        let v = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
        *o = w[n8..]
            .iter()
            .zip(&x[n8..])
            .fold(v, |t, (&a, &b)| t + a * b);
    }
    out
}

/// Writes the im2col matrix `(cin·kh·kw, oh·ow)` of channels `c0..c0+cin` of one sample
/// (every entry: padding positions get 0).
#[allow(clippy::too_many_arguments)]
pub(crate) fn im2col(
    x: &[f32],
    c0: usize,
    cin: usize,
    hw: [usize; 2],
    win: &Window2d,
    out: [usize; 2],
    cols: &mut [f32],
) {
    let [h, w] = hw;
    let [oh, ow] = out;
    let [kh, kw] = win.kernel;
    let sw = win.stride[1];
    let mut row = 0;
    for c in c0..c0 + cin {
        let plane = &x[c * h * w..(c + 1) * h * w];
        for ki in 0..kh {
            for kj in 0..kw {
                let dst = &mut cols[row * oh * ow..(row + 1) * oh * ow];
                row += 1;
                // Output columns `lo..hi` read inside the input.
                let std::ops::Range { start: lo, end: hi } = win.output_span(1, kj, w, ow);
                for oy in 0..oh {
                    let line = &mut dst[oy * ow..(oy + 1) * ow];
                    let Some(iy) = win.input_index(0, oy, ki, h) else {
                        line.fill(0.0);
                        continue;
                    };
                    let src = &plane[iy * w..(iy + 1) * w];
                    line[..lo].fill(0.0);
                    line[hi..].fill(0.0);
                    let Some(first) = win.input_index(1, lo, kj, w).filter(|_| lo < hi) else {
                        continue;
                    };
                    if sw == 1 {
                        line[lo..hi].copy_from_slice(&src[first..first + (hi - lo)]);
                    } else {
                        for (v, &s) in line[lo..hi].iter_mut().zip(src[first..].iter().step_by(sw))
                        {
                            *v = s;
                        }
                    }
                }
            }
        }
    }
}

/// im2col elements below which one task gathers all channels of a sample.
const IM2COL_TASK: usize = 1 << 15;

/// Grouped 2-D convolution `(B, C_in, H, W) → (B, C_out, OH, OW)`.
pub(super) fn conv2d(c: &Conv2d, x: &ArrayD<f32>, out_shape: &[usize]) -> ArrayD<f32> {
    let (b, cin, h, w) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
    let (cout, cin_g, kh, kw) = c.weight.dim();
    let (oh, ow) = (out_shape[1], out_shape[2]);
    let (cout_g, k, p) = (cout / c.groups, cin_g * kh * kw, oh * ow);
    let x = x.as_standard_layout();
    let xs = x.as_slice().expect("standard layout");
    let weight = c.weight.as_standard_layout();
    let ws = weight.as_slice().expect("standard layout");
    let bias = c
        .bias
        .as_ref()
        .map(|v| v.as_slice().expect("an owned vector is contiguous"));
    let direct = kh == 1
        && kw == 1
        && c.window.stride == [1, 1]
        && c.window.pads_begin == [0, 0]
        && c.window.pads_end == [0, 0];
    let (per_in, per_out) = (cin * h * w, cout * p);
    let cols_len = if direct { 0 } else { cin * kh * kw * p };
    // One sample: im2col of every channel (rows `c·kh·kw + ki·kw + kj`), then one GEMM per
    // group `W_g (cout_g × k) · cols_g (k × p)`.
    let sample = |xn: &[f32], o: &mut [f32], cols: &mut [f32], parallel: bool| {
        if !direct {
            let rows = kh * kw * p;
            if parallel {
                let chans = IM2COL_TASK.div_ceil(rows).max(1);
                cols.par_chunks_mut(rows * chans)
                    .enumerate()
                    .for_each(|(i, chunk)| {
                        let c0 = i * chans;
                        let n = chans.min(cin - c0);
                        im2col(xn, c0, n, [h, w], &c.window, [oh, ow], chunk);
                    });
            } else {
                im2col(xn, 0, cin, [h, w], &c.window, [oh, ow], cols);
            }
        }
        for (g, og) in o.chunks_mut(cout_g * p).enumerate() {
            let rhs = if direct {
                Mat::row_major(&xn[g * cin_g * h * w..], k, p, p)
            } else {
                Mat::row_major(&cols[g * k * p..], k, p, p)
            };
            let lhs = Mat::row_major(&ws[g * cout_g * k..], cout_g, k, k);
            let bias = bias.map_or(Bias::None, |v| Bias::Rows(&v[g * cout_g..(g + 1) * cout_g]));
            gemm::gemm(og, lhs, rhs, Beta::Replace, bias, parallel);
        }
    };
    let mut out = vec![0f32; b * per_out];
    let threads = rayon::current_num_threads();
    if b >= threads && (b % threads == 0 || b >= 4 * threads) {
        out.par_chunks_mut(per_out)
            .zip(xs.par_chunks(per_in))
            .for_each(|(o, xn)| gemm::with_cols(cols_len, |cols| sample(xn, o, cols, false)));
    } else {
        gemm::with_cols(cols_len, |cols| {
            for (o, xn) in out.chunks_mut(per_out).zip(xs.chunks(per_in)) {
                sample(xn, o, cols, true);
            }
        });
    }
    ArrayD::from_shape_vec(IxDyn(&[b, cout, oh, ow]), out).expect("conv output size")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array4};

    /// Naive direct convolution used as the reference for the im2col kernel.
    fn reference(c: &Conv2d, x: &ArrayD<f32>, oh: usize, ow: usize) -> ArrayD<f32> {
        let (b, cin, h, w) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
        let (cout, cin_g, kh, kw) = c.weight.dim();
        let cout_g = cout / c.groups;
        let mut y = ArrayD::zeros(IxDyn(&[b, cout, oh, ow]));
        for n in 0..b {
            for oc in 0..cout {
                let g = oc / cout_g;
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut acc = c.bias.as_ref().map_or(0.0, |bb| bb[oc] as f64);
                        for ic in 0..cin_g {
                            for ki in 0..kh {
                                for kj in 0..kw {
                                    let iy = (oy * c.window.stride[0] + ki) as isize
                                        - c.window.pads_begin[0] as isize;
                                    let ix = (ox * c.window.stride[1] + kj) as isize
                                        - c.window.pads_begin[1] as isize;
                                    if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w
                                    {
                                        acc += c.weight[[oc, ic, ki, kj]] as f64
                                            * x[[n, g * cin_g + ic, iy as usize, ix as usize]]
                                                as f64;
                                    }
                                }
                            }
                        }
                        y[[n, oc, oy, ox]] = acc as f32;
                    }
                }
            }
        }
        let _ = cin;
        y
    }

    fn arr4(shape: (usize, usize, usize, usize), seed: u32) -> Array4<f32> {
        Array4::from_shape_fn(shape, |(a, b, c, d)| {
            let v = (a * 131 + b * 31 + c * 7 + d * 3) as u32 ^ seed;
            (v % 17) as f32 / 8.0 - 1.0
        })
    }

    #[test]
    fn im2col_matches_naive_gather() {
        let x: Vec<f32> = (0..3 * 5 * 7).map(|v| v as f32 + 1.0).collect();
        for kernel in [[1, 1], [2, 3], [3, 3], [5, 4]] {
            for stride in [[1, 1], [2, 1], [1, 3], [3, 2]] {
                for pads in [[0, 0, 0, 0], [1, 1, 1, 1], [2, 0, 1, 3], [0, 4, 0, 4]] {
                    let win = Window2d {
                        kernel,
                        stride,
                        pads_begin: [pads[0], pads[1]],
                        pads_end: [pads[2], pads[3]],
                    };
                    let Some([oh, ow]) = win.output_size([5, 7]) else {
                        continue;
                    };
                    let k = 2 * kernel[0] * kernel[1];
                    let mut cols = vec![f32::NAN; k * oh * ow];
                    im2col(&x, 1, 2, [5, 7], &win, [oh, ow], &mut cols);
                    let mut row = 0;
                    for c in 1..3 {
                        for ki in 0..kernel[0] {
                            for kj in 0..kernel[1] {
                                for oy in 0..oh {
                                    for ox in 0..ow {
                                        let iy = (oy * stride[0] + ki) as isize - pads[0] as isize;
                                        let ix = (ox * stride[1] + kj) as isize - pads[1] as isize;
                                        let want = if (0..5).contains(&iy) && (0..7).contains(&ix) {
                                            x[c * 35 + iy as usize * 7 + ix as usize]
                                        } else {
                                            0.0
                                        };
                                        let got = cols[row * oh * ow + oy * ow + ox];
                                        assert_eq!(got, want, "{win:?} c{c} k{ki},{kj} o{oy},{ox}");
                                    }
                                }
                                row += 1;
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn im2col_conv_matches_naive_reference() {
        for &(groups, stride, pads, k) in &[
            (1, [1, 1], [0, 0, 0, 0], 3),
            (2, [2, 1], [1, 0, 2, 1], 3),
            (4, [1, 2], [1, 1, 1, 1], 2),
            (1, [1, 1], [0; 4], 1),
        ] {
            let mut c = Conv2d::new(
                arr4((8, 4 / groups, k, k), 5),
                Some(Array1::from_shape_fn(8, |i| i as f32 * 0.1)),
            )
            .with_groups(groups)
            .with_stride(stride);
            c.window.pads_begin = [pads[0], pads[1]];
            c.window.pads_end = [pads[2], pads[3]];
            let x = arr4((3, 4, 7, 6), 9).into_dyn();
            let [oh, ow] = c.window.output_size([7, 6]).unwrap();
            let got = conv2d(&c, &x, &[8, oh, ow]);
            let want = reference(&c, &x, oh, ow);
            let err = (&got - &want).mapv(f32::abs).fold(0.0f32, |a, &b| a.max(b));
            assert!(
                err < 1e-4,
                "groups {groups} stride {stride:?} pads {pads:?}: max err {err}"
            );
        }
    }

    /// Conv and dense outputs are bit-identical on 1 and 2 threads, for a batch split inside
    /// each sample and a batch split across samples (several tiles in each direction).
    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let mut c = Conv2d::new(
            arr4((80, 16, 3, 3), 3),
            Some(Array1::from_shape_fn(80, |i| i as f32 * 0.01)),
        );
        c.window.pads_begin = [1, 0];
        c.window.pads_end = [0, 1];
        let d = Dense {
            weight: ndarray::Array2::from_shape_fn((600, 300), |(i, j)| {
                ((i * 7 + j * 3) % 23) as f32 / 11.0 - 1.0
            }),
            bias: Some(Array1::from_shape_fn(600, |i| i as f32 * 0.1)),
        };
        let run = |threads: usize, batch: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a thread pool");
            pool.install(|| {
                let x = arr4((batch, 16, 24, 24), 11).into_dyn();
                let [oh, ow] = c.window.output_size([24, 24]).expect("fits");
                let y = conv2d(&c, &x, &[80, oh, ow]);
                let xd = arr4((batch, 3, 10, 10), 4).into_dyn();
                (y, dense(&d, &xd))
            })
        };
        for batch in [1, 3, 4] {
            let (conv1, dense1) = run(1, batch);
            let (conv2, dense2) = run(2, batch);
            let bits = |a: &ArrayD<f32>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&conv1), bits(&conv2), "conv, batch {batch}");
            assert_eq!(bits(&dense1), bits(&dense2), "dense, batch {batch}");
            // Each sample's result does not depend on the batch either.
            let (single, _) = run(2, 1);
            let first = conv1
                .index_axis(ndarray::Axis(0), 0)
                .to_owned()
                .insert_axis(ndarray::Axis(0));
            assert_eq!(bits(&single), bits(&first), "conv, batch {batch}, sample 0");
        }
    }
}

#[cfg(test)]
mod dense_tests {
    use super::*;
    use ndarray::{Array1, Array2};

    /// A sample's dense output is the same bits in every batch size (the extractor's
    /// "a path does not depend on its batch" rests on it) and close to the f64 reference.
    #[test]
    fn dense_is_batch_invariant_and_accurate() {
        for (inp, out) in [(4usize, 4usize), (13, 3), (100, 50), (1030, 9)] {
            let weight = Array2::from_shape_fn((out, inp), |(i, j)| {
                ((i * 31 + j * 17) % 23) as f32 / 7.0 - 1.3
            });
            let d = Dense {
                weight,
                bias: Some(Array1::from_shape_fn(out, |i| i as f32 * 0.1)),
            };
            let rows = |bs: usize| {
                let x = ArrayD::from_shape_fn(IxDyn(&[bs, inp]), |i| {
                    ((i[1] * 13 + i[0] * 7) % 19) as f32 / 3.3 - 2.0
                });
                dense(&d, &x)
            };
            let one = rows(1);
            for bs in [2, 3, 4, 5, 8, 9, 64] {
                let y = rows(bs);
                let first: Vec<f32> = y.iter().take(out).copied().collect();
                let alone: Vec<f32> = one.iter().copied().collect();
                assert_eq!(first, alone, "{inp}×{out}, batch {bs}");
                for s in 0..bs {
                    for o in 0..out {
                        let want: f64 = (0..inp)
                            .map(|k| {
                                d.weight[[o, k]] as f64
                                    * (((k * 13 + s * 7) % 19) as f32 / 3.3 - 2.0) as f64
                            })
                            .sum::<f64>()
                            + o as f64 * 0.1;
                        let got = y[[s, o]] as f64;
                        assert!(
                            (got - want).abs() <= 1e-4 * want.abs().max(1.0),
                            "{got} vs {want}"
                        );
                    }
                }
            }
        }
    }
}
