//! Forward kernels of Slice and constant Pad.

use ndarray::{ArrayD, Axis, IxDyn, SliceInfoElem};

use crate::op::{Pad, Slice};

/// The strided slice of a batched tensor (per-sample axis `s.axis` is batched axis `+ 1`).
pub(super) fn slice(s: &Slice, x: &ArrayD<f32>) -> ArrayD<f32> {
    let end = s.start + (s.len - 1) * s.step + 1;
    x.slice_axis(
        Axis(s.axis + 1),
        ndarray::Slice::new(s.start as isize, Some(end as isize), s.step as isize),
    )
    .as_standard_layout()
    .into_owned()
}

/// The region of a padded batched tensor that holds the input, as slice elements.
pub(crate) fn interior(p: &Pad, in_shape: &[usize]) -> Vec<SliceInfoElem> {
    std::iter::once(SliceInfoElem::from(..))
        .chain(
            in_shape[1..]
                .iter()
                .zip(&p.begin)
                .map(|(&d, &b)| SliceInfoElem::from(b as isize..(b + d) as isize)),
        )
        .collect()
}

/// Constant padding of a batched tensor to the batched output shape `out`.
pub(super) fn pad(p: &Pad, x: &ArrayD<f32>, out: &[usize]) -> ArrayD<f32> {
    let mut y = ArrayD::from_elem(IxDyn(out), p.value);
    y.slice_mut(interior(p, x.shape()).as_slice()).assign(x);
    y
}
