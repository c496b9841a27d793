//! Pooling kernels over `(B, C, H, W)`, one rayon task per (sample, channel) plane.

use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;

use crate::op::{AvgPool2d, Window2d};

/// Runs `f(window values iterator-builder)` for every output position of every plane.
/// `reduce(plane, rows, cols)` gets the valid (clipped) input rows/cols of one window.
fn pool_planes(
    win: &Window2d,
    x: &ArrayD<f32>,
    out_shape: &[usize],
    reduce: impl Fn(&[f32], usize, std::ops::Range<usize>, std::ops::Range<usize>) -> f32 + Sync,
) -> ArrayD<f32> {
    let (b, c, h, w) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
    let (oh, ow) = (out_shape[1], out_shape[2]);
    let x = x.as_standard_layout();
    let xs = x.as_slice().expect("standard layout");
    let mut out = vec![0f32; b * c * oh * ow];
    // Planes are split across threads only in chunks big enough to pay for the hand-off.
    let per_plane = (oh * ow * win.kernel[0] * win.kernel[1]).max(1);
    let min_planes = (1 << 15) / per_plane + 1;
    out.par_chunks_mut(oh * ow)
        .with_min_len(min_planes)
        .enumerate()
        .for_each(|(p, o)| {
            let plane = &xs[p * h * w..(p + 1) * h * w];
            for oy in 0..oh {
                let rows = win.input_range(0, oy, h);
                for ox in 0..ow {
                    let cols = win.input_range(1, ox, w);
                    o[oy * ow + ox] = reduce(plane, w, rows.clone(), cols);
                }
            }
        });
    ArrayD::from_shape_vec(IxDyn(&[b, c, oh, ow]), out).expect("pool output size")
}

/// Max pooling; padded positions never win (every window touches the input, checked at
/// construction). Per output row, the window's input rows are first reduced element-wise
/// into one line (vectorised), then each output takes the maximum of its columns of it.
pub(super) fn max_pool(win: &Window2d, x: &ArrayD<f32>, out_shape: &[usize]) -> ArrayD<f32> {
    let (b, c, h, w) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
    let (oh, ow) = (out_shape[1], out_shape[2]);
    let x = x.as_standard_layout();
    let xs = x.as_slice().expect("standard layout");
    let cols: Vec<_> = (0..ow).map(|ox| win.input_range(1, ox, w)).collect();
    let mut out = vec![0f32; b * c * oh * ow];
    let per_plane = (oh * win.kernel[0] * w).max(1);
    let min_planes = (1 << 15) / per_plane + 1;
    out.par_chunks_mut(oh * ow)
        .with_min_len(min_planes)
        .enumerate()
        .for_each_init(
            || vec![0f32; w],
            |line, (p, o)| {
                let plane = &xs[p * h * w..(p + 1) * h * w];
                for (oy, orow) in o.chunks_mut(ow).enumerate() {
                    let mut rows = win.input_range(0, oy, h);
                    let first = rows.next().expect("every window touches the input");
                    line.copy_from_slice(&plane[first * w..(first + 1) * w]);
                    for r in rows {
                        let src = &plane[r * w..(r + 1) * w];
                        line.iter_mut().zip(src).for_each(|(l, &v)| *l = l.max(v));
                    }
                    for (v, range) in orow.iter_mut().zip(&cols) {
                        *v = line[range.clone()]
                            .iter()
                            .fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                    }
                }
            },
        );
    ArrayD::from_shape_vec(IxDyn(&[b, c, oh, ow]), out).expect("pool output size")
}

/// Average pooling with explicit count-include-pad semantics.
pub(super) fn avg_pool(a: &AvgPool2d, x: &ArrayD<f32>, out: &[usize]) -> ArrayD<f32> {
    let full = (a.window.kernel[0] * a.window.kernel[1]) as f64;
    pool_planes(&a.window, x, out, |plane, w, rows, cols| {
        let mut sum = 0f64;
        let count = (rows.len() * cols.len()) as f64;
        for r in rows {
            sum += plane[r * w + cols.start..r * w + cols.end]
                .iter()
                .map(|&v| v as f64)
                .sum::<f64>();
        }
        let div = if a.count_include_pad { full } else { count };
        (sum / div) as f32
    })
}

/// `(B, C, H, W) → (B, C, 1, 1)` mean, accumulated in `f64`.
pub(super) fn global_avg_pool(x: &ArrayD<f32>) -> ArrayD<f32> {
    let (b, c) = (x.shape()[0], x.shape()[1]);
    let hw = x.shape()[2] * x.shape()[3];
    let x = x.as_standard_layout();
    let xs = x.as_slice().expect("standard layout");
    let out: Vec<f32> = xs
        .chunks(hw)
        .map(|p| (p.iter().map(|&v| v as f64).sum::<f64>() / hw as f64) as f32)
        .collect();
    ArrayD::from_shape_vec(IxDyn(&[b, c, 1, 1]), out).expect("global pool output size")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_and_avg_pool_by_hand() {
        // One 1×3×3 plane, 2×2 window, stride 1, padding 1 at the end only.
        let x = ArrayD::from_shape_vec(
            IxDyn(&[1, 1, 3, 3]),
            vec![1., 2., 3., 4., 5., 6., 7., 8., 9.],
        )
        .unwrap();
        let mut win = Window2d::new([2, 2], [2, 2]);
        win.pads_end = [1, 1];
        let m = max_pool(&win, &x, &[1, 2, 2]);
        assert_eq!(m.iter().copied().collect::<Vec<_>>(), vec![5., 6., 8., 9.]);
        let incl = avg_pool(
            &AvgPool2d {
                window: win.clone(),
                count_include_pad: true,
            },
            &x,
            &[1, 2, 2],
        );
        assert_eq!(
            incl.iter().copied().collect::<Vec<_>>(),
            vec![3.0, 9.0 / 4.0, 15.0 / 4.0, 9.0 / 4.0]
        );
        let excl = avg_pool(
            &AvgPool2d {
                window: win,
                count_include_pad: false,
            },
            &x,
            &[1, 2, 2],
        );
        assert_eq!(
            excl.iter().copied().collect::<Vec<_>>(),
            vec![3.0, 4.5, 7.5, 9.0]
        );
        let g = global_avg_pool(&x);
        assert_eq!(g.shape(), &[1, 1, 1, 1]);
        assert_eq!(g[[0, 0, 0, 0]], 5.0);
    }
}
