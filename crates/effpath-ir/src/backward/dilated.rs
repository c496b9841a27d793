//! Backward kernel of dilated convolutions (direct loops, sums in `f64`).

use ndarray::{Array1, Array4, ArrayD};

use super::ParamGrad;
use crate::op::Conv2d;

/// `dx`, and `dW`, `db` when asked, of a dilated convolution.
pub(super) fn conv2d(
    c: &Conv2d,
    x: &ArrayD<f32>,
    g: &ArrayD<f32>,
    want_params: bool,
) -> (ArrayD<f32>, Option<ParamGrad>) {
    let x = x.as_standard_layout();
    let xs = x.as_slice().expect("standard layout");
    let gs = g.as_slice().expect("gradients are in standard layout");
    let (b, cin, h, w) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
    let (cout, cin_g, kh, kw) = c.weight.dim();
    let (oh, ow) = (g.shape()[2], g.shape()[3]);
    let cout_g = cout / c.groups;
    let weight = c.weight.as_standard_layout();
    let wt = weight.as_slice().expect("standard layout");
    let win = &c.window;
    let [dh, dw] = c.dilation;
    let mut dx = vec![0f64; xs.len()];
    let mut dwt = vec![0f64; wt.len()];
    let mut dbias = vec![0f64; cout];
    for n in 0..b {
        for oc in 0..cout {
            let grp = oc / cout_g;
            for oy in 0..oh {
                for ox in 0..ow {
                    let gv = gs[((n * cout + oc) * oh + oy) * ow + ox] as f64;
                    dbias[oc] += gv;
                    for ic in 0..cin_g {
                        let plane = (n * cin + grp * cin_g + ic) * h * w;
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
                                let wi = ((oc * cin_g + ic) * kh + ki) * kw + kj;
                                let xi = plane + iy as usize * w + ix as usize;
                                dx[xi] += gv * wt[wi] as f64;
                                dwt[wi] += gv * xs[xi] as f64;
                            }
                        }
                    }
                }
            }
        }
    }
    let dx = ArrayD::from_shape_vec(x.raw_dim(), dx.into_iter().map(|v| v as f32).collect())
        .expect("input size");
    let params = want_params.then(|| ParamGrad::Conv2d {
        weight: Array4::from_shape_vec(
            c.weight.raw_dim(),
            dwt.into_iter().map(|v| v as f32).collect(),
        )
        .expect("weight size"),
        bias: c
            .bias
            .as_ref()
            .map(|_| dbias.iter().map(|&v| v as f32).collect::<Array1<f32>>()),
    });
    (dx, params)
}
