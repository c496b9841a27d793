//! Backward kernels of the pools over `(B, C, H, W)`, one rayon task per (sample, channel)
//! plane.

use std::ops::Range;

use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;

use crate::op::{AvgPool2d, Window2d};

/// For every plane, calls `scatter(x_plane, w, rows, cols, g, dx_plane)` once per output
/// position with the window's valid input rows/cols and that position's output gradient.
fn scatter_planes(
    win: &Window2d,
    x: &ArrayD<f32>,
    g: &ArrayD<f32>,
    scatter: impl Fn(&[f32], usize, Range<usize>, Range<usize>, f32, &mut [f32]) + Sync,
) -> ArrayD<f32> {
    let (b, c, h, w) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
    let (oh, ow) = (g.shape()[2], g.shape()[3]);
    let x = x.as_standard_layout();
    let xs = x.as_slice().expect("standard layout");
    let gs = g.as_slice().expect("gradients are in standard layout");
    let mut dx = vec![0f32; b * c * h * w];
    // As in the forward pass: split planes across threads only in chunks worth the hand-off.
    let per_plane = (oh * ow * win.kernel[0] * win.kernel[1]).max(1);
    let min_planes = (1 << 15) / per_plane + 1;
    dx.par_chunks_mut(h * w)
        .zip(xs.par_chunks(h * w))
        .zip(gs.par_chunks(oh * ow))
        .with_min_len(min_planes)
        .for_each(|((dplane, plane), gplane)| {
            for oy in 0..oh {
                let rows = win.input_range(0, oy, h);
                for ox in 0..ow {
                    let cols = win.input_range(1, ox, w);
                    scatter(plane, w, rows.clone(), cols, gplane[oy * ow + ox], dplane);
                }
            }
        });
    ArrayD::from_shape_vec(IxDyn(&[b, c, h, w]), dx).expect("pool input size")
}

/// Max pooling: each window's gradient goes to its maximum; on ties, to the *first* maximum
/// in row-major window order (padded positions never win).
pub(super) fn max_pool(win: &Window2d, x: &ArrayD<f32>, g: &ArrayD<f32>) -> ArrayD<f32> {
    scatter_planes(win, x, g, |plane, w, rows, cols, gv, dplane| {
        let mut best = rows.start * w + cols.start;
        let mut m = f32::NEG_INFINITY;
        for r in rows {
            let start = r * w + cols.start;
            for (i, &v) in plane[start..r * w + cols.end].iter().enumerate() {
                if v > m {
                    m = v;
                    best = start + i;
                }
            }
        }
        dplane[best] += gv;
    })
}

/// Average pooling: each window's gradient divided by `kh·kw` (`count_include_pad`) or by
/// the number of non-padding inputs, spread over the window's inputs.
pub(super) fn avg_pool(a: &AvgPool2d, x: &ArrayD<f32>, g: &ArrayD<f32>) -> ArrayD<f32> {
    let full = (a.window.kernel[0] * a.window.kernel[1]) as f64;
    scatter_planes(&a.window, x, g, |_, w, rows, cols, gv, dplane| {
        let count = (rows.len() * cols.len()) as f64;
        let div = if a.count_include_pad { full } else { count };
        let share = (gv as f64 / div) as f32;
        for r in rows {
            dplane[r * w + cols.start..r * w + cols.end]
                .iter_mut()
                .for_each(|d| *d += share);
        }
    })
}

/// Global average pooling: `dx = g / (H·W)` broadcast over each plane.
pub(super) fn global_avg_pool(x: &ArrayD<f32>, g: &ArrayD<f32>) -> ArrayD<f32> {
    let hw = x.shape()[2] * x.shape()[3];
    let gs = g.as_slice().expect("gradients are in standard layout");
    let mut dx = vec![0f32; x.len()];
    for (dplane, &gv) in dx.chunks_mut(hw).zip(gs) {
        dplane.fill((gv as f64 / hw as f64) as f32);
    }
    ArrayD::from_shape_vec(x.raw_dim(), dx).expect("global pool input size")
}
