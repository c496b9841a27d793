//! Forward kernel of dilated convolutions (dilation > 1; dilation 1 runs the im2col kernel).

use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;

use crate::op::Conv2d;

/// Direct convolution with dilation over a batched `(B, C_in, H, W)` input, accumulated in
/// `f64`; `out` is the per-sample output shape `(C_out, OH, OW)`.
pub(crate) fn conv2d(c: &Conv2d, x: &ArrayD<f32>, out: &[usize]) -> ArrayD<f32> {
    let x = x.as_standard_layout();
    let xs = x.as_slice().expect("standard layout");
    let (b, cin, h, w) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
    let (cout, cin_g, kh, kw) = c.weight.dim();
    let (oh, ow) = (out[1], out[2]);
    let cout_g = cout / c.groups;
    let weight = c.weight.as_standard_layout();
    let wt = weight.as_slice().expect("standard layout");
    let win = &c.window;
    let [dh, dw] = c.dilation;
    let mut y = vec![0f32; b * cout * oh * ow];
    y.par_chunks_mut(oh * ow)
        .enumerate()
        .for_each(|(plane, yp)| {
            let (n, oc) = (plane / cout, plane % cout);
            let g = oc / cout_g;
            let bias = c.bias.as_ref().map_or(0.0, |b| b[oc] as f64);
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut acc = bias;
                    for ic in 0..cin_g {
                        let xp = &xs[(n * cin + g * cin_g + ic) * h * w..][..h * w];
                        for ki in 0..kh {
                            let iy = (oy * win.stride[0] + ki * dh) as isize
                                - win.pads_begin[0] as isize;
                            if iy < 0 || iy >= h as isize {
                                continue;
                            }
                            for kj in 0..kw {
                                let ix = (ox * win.stride[1] + kj * dw) as isize
                                    - win.pads_begin[1] as isize;
                                if ix < 0 || ix >= w as isize {
                                    continue;
                                }
                                let wv = wt[((oc * cin_g + ic) * kh + ki) * kw + kj];
                                acc += wv as f64 * xp[iy as usize * w + ix as usize] as f64;
                            }
                        }
                    }
                    yp[oy * ow + ox] = acc as f32;
                }
            }
        });
    ArrayD::from_shape_vec(IxDyn(&[b, cout, oh, ow]), y).expect("output size")
}
