//! Backward kernels of the element-wise activations, broadcasting binary ops, Slice and Pad.

use ndarray::{ArrayD, Axis, IxDyn, Zip};

use crate::forward::{channel_layout, interior};
use crate::op::{Activation, Binary, Pad, Slice};

/// `dx = g·f'(x)`.
pub(super) fn activation(act: &Activation, x: &ArrayD<f32>, mut g: ArrayD<f32>) -> ArrayD<f32> {
    let x = x.as_standard_layout();
    let xs = x.as_slice().expect("standard layout");
    let (c, inner) = channel_layout(x.shape());
    let gs = g.as_slice_mut().expect("gradients are in standard layout");
    for (i, (gc, xc)) in gs.chunks_mut(inner).zip(xs.chunks(inner)).enumerate() {
        let ch = i % c;
        for (gv, &xv) in gc.iter_mut().zip(xc) {
            *gv *= act.derivative(xv, ch);
        }
    }
    g
}

/// Sums a gradient of the broadcast shape back to `shape` (the axes where `shape` is 1).
fn reduce_to(g: ArrayD<f32>, shape: &[usize]) -> ArrayD<f32> {
    if g.shape() == shape {
        return g;
    }
    let mut acc = g;
    for (ax, &d) in shape.iter().enumerate() {
        if d == 1 && acc.shape()[ax] != 1 {
            acc = acc.sum_axis(Axis(ax)).insert_axis(Axis(ax));
        }
    }
    acc.as_standard_layout().into_owned()
}

/// Gradients of `a ∘ b` with respect to `a` and `b` (each summed over its broadcast axes).
pub(super) fn binary(
    op: Binary,
    a: &ArrayD<f32>,
    b: &ArrayD<f32>,
    g: ArrayD<f32>,
) -> Vec<ArrayD<f32>> {
    let dim = IxDyn(g.shape());
    let ab = a.broadcast(dim.clone()).expect("shapes were validated");
    let bb = b.broadcast(dim).expect("shapes were validated");
    let (da, db) = match op {
        Binary::Add => (g.clone(), g),
        Binary::Sub => {
            let neg = g.mapv(|v| -v);
            (g, neg)
        }
        Binary::Mul => (
            Zip::from(&g).and(&bb).map_collect(|&g, &b| g * b),
            Zip::from(&g).and(&ab).map_collect(|&g, &a| g * a),
        ),
        Binary::Div => (
            Zip::from(&g).and(&bb).map_collect(|&g, &b| g / b),
            Zip::from(&g)
                .and(&ab)
                .and(&bb)
                .map_collect(|&g, &a, &b| -g * a / (b * b)),
        ),
    };
    vec![
        reduce_to(da.as_standard_layout().into_owned(), a.shape()),
        reduce_to(db.as_standard_layout().into_owned(), b.shape()),
    ]
}

/// Scatters the gradient of a slice back into zeros of the input's shape.
pub(super) fn slice(s: &Slice, x: &ArrayD<f32>, g: &ArrayD<f32>) -> ArrayD<f32> {
    let mut dx = ArrayD::zeros(x.raw_dim());
    let end = s.start + (s.len - 1) * s.step + 1;
    dx.slice_axis_mut(
        Axis(s.axis + 1),
        ndarray::Slice::new(s.start as isize, Some(end as isize), s.step as isize),
    )
    .assign(g);
    dx
}

/// The interior of the padded gradient.
pub(super) fn pad(p: &Pad, x: &ArrayD<f32>, g: &ArrayD<f32>) -> ArrayD<f32> {
    g.slice(interior(p, x.shape()).as_slice())
        .as_standard_layout()
        .into_owned()
}
