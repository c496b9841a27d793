//! Forward kernels of the element-wise activations ([`Activation`]).

use ndarray::ArrayD;

use crate::op::Activation;

/// Channel count and elements per channel of a batched tensor `(B, C, …)` (channel 1 and
/// everything in it for a per-sample scalar).
pub(crate) fn channel_layout(shape: &[usize]) -> (usize, usize) {
    let c = shape.get(1).copied().unwrap_or(1).max(1);
    let inner: usize = shape.iter().skip(2).product();
    (c, inner.max(1))
}

/// `y = f(x)` element-wise.
pub(super) fn activation(act: &Activation, x: &ArrayD<f32>) -> ArrayD<f32> {
    let mut y = x.as_standard_layout().into_owned();
    let (c, inner) = channel_layout(y.shape());
    let ys = y.as_slice_mut().expect("standard layout");
    for (i, chunk) in ys.chunks_mut(inner).enumerate() {
        let ch = i % c;
        chunk.iter_mut().for_each(|v| *v = act.apply(*v, ch));
    }
    y
}
