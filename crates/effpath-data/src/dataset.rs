//! [`LabeledImages`]: a set of `u8` grayscale images with their class labels ([`Label`]).

use std::ops::{Bound, RangeBounds};
use std::path::Path;

use ndarray::{Array3, Array4, ArrayView2, ArrayView3, Axis, Slice, Zip};

use crate::error::{DataError, Result};
use crate::idx::{self, IdxOptions};
use crate::normalize::Normalization;

/// A class label: the index of a class, as every effpath API takes it (network outputs,
/// class paths, attacks). IDX label files store one byte per label; they are widened to
/// `Label` once, when read, so a data set of more than 256 classes (ImageNet's 1000) is a
/// set of `Label`s too.
pub type Label = usize;

/// Grayscale images as `u8` with shape `(N, rows, cols)` plus one [`Label`]
/// per image. The two always have the same length.
///
/// ```
/// use effpath_data::{LabeledImages, Normalization};
/// use ndarray::Array3;
///
/// let images = Array3::from_shape_fn((3, 2, 2), |(n, _, _)| (n * 100) as u8);
/// let data = LabeledImages::new(images, vec![0, 1, 2])?;
/// let x = data.to_tensor(1..3, Normalization::None)?;
/// assert_eq!(x.shape(), &[2, 1, 2, 2]);
/// assert_eq!(x[[1, 0, 1, 1]], 200.0 / 255.0);
/// # Ok::<(), effpath_data::DataError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabeledImages {
    images: Array3<u8>,
    labels: Vec<Label>,
}

impl LabeledImages {
    /// Pairs `images` `(N, rows, cols)` with `labels` (length `N`).
    pub fn new(images: Array3<u8>, labels: Vec<Label>) -> Result<Self> {
        Self::paired(images, labels, "images", "labels")
    }

    fn paired(
        images: Array3<u8>,
        labels: Vec<Label>,
        images_input: &str,
        labels_input: &str,
    ) -> Result<Self> {
        if images.len_of(Axis(0)) != labels.len() {
            return Err(DataError::CountMismatch {
                images_input: images_input.to_owned(),
                images: images.len_of(Axis(0)),
                labels_input: labels_input.to_owned(),
                labels: labels.len(),
            });
        }
        Ok(LabeledImages { images, labels })
    }

    /// Decodes an IDX image file and an IDX label file held in memory (each
    /// gzip or plain); `*_input` name them in error messages.
    pub fn from_idx_bytes(
        images: &[u8],
        images_input: &str,
        labels: &[u8],
        labels_input: &str,
        opts: &IdxOptions,
    ) -> Result<Self> {
        let imgs = idx::decode_images(images, images_input, opts)?;
        let labs = idx::decode_labels(labels, labels_input, opts)?;
        Self::paired(imgs, labs, images_input, labels_input)
    }

    /// Reads an IDX image file and an IDX label file (each gzip or plain).
    pub fn from_idx_files(
        images: impl AsRef<Path>,
        labels: impl AsRef<Path>,
        opts: &IdxOptions,
    ) -> Result<Self> {
        let (images, labels) = (images.as_ref(), labels.as_ref());
        let imgs = idx::read_images(images, opts)?;
        let labs = idx::read_labels(labels, opts)?;
        Self::paired(
            imgs,
            labs,
            &images.display().to_string(),
            &labels.display().to_string(),
        )
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Image height in pixels.
    pub fn rows(&self) -> usize {
        self.images.len_of(Axis(1))
    }

    /// Image width in pixels.
    pub fn cols(&self) -> usize {
        self.images.len_of(Axis(2))
    }

    /// All images, shape `(N, rows, cols)`.
    pub fn images(&self) -> ArrayView3<'_, u8> {
        self.images.view()
    }

    /// All labels, one per image.
    pub fn labels(&self) -> &[Label] {
        &self.labels
    }

    /// Image `index`, shape `(rows, cols)`, or `None` if out of range.
    pub fn image(&self, index: usize) -> Option<ArrayView2<'_, u8>> {
        (index < self.len()).then(|| self.images.index_axis(Axis(0), index))
    }

    /// Label of example `index`, or `None` if out of range.
    pub fn label(&self, index: usize) -> Option<Label> {
        self.labels.get(index).copied()
    }

    /// Number of examples per label value: entry `c` counts label `c`; the
    /// vector is as long as the largest label plus one (empty if no examples).
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = Vec::new();
        for &c in &self.labels {
            if counts.len() <= c {
                counts.resize(c + 1, 0);
            }
            counts[c] += 1;
        }
        counts
    }

    /// Splits into the image array and the label vector.
    pub fn into_parts(self) -> (Array3<u8>, Vec<Label>) {
        (self.images, self.labels)
    }

    /// The examples at `indices` (in that order, repeats allowed) as a new set.
    pub fn subset(&self, indices: &[usize]) -> Result<Self> {
        self.check_indices(indices)?;
        let images = self.images.select(Axis(0), indices);
        let labels = indices.iter().map(|&i| self.labels[i]).collect();
        Ok(LabeledImages { images, labels })
    }

    /// The examples in `range` as an `(n, 1, rows, cols)` `f32` tensor: each
    /// pixel becomes `pixel / 255` and is then normalised by `norm`.
    pub fn to_tensor(
        &self,
        range: impl RangeBounds<usize>,
        norm: Normalization,
    ) -> Result<Array4<f32>> {
        let len = self.len();
        let start = match range.start_bound() {
            Bound::Included(&s) => s,
            Bound::Excluded(&s) => s.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&e) => e.saturating_add(1),
            Bound::Excluded(&e) => e,
            Bound::Unbounded => len,
        };
        if start > end || end > len {
            return Err(DataError::RangeOutOfBounds { start, end, len });
        }
        // (`s![]` would need `allow(unsafe_code)`, which the workspace forbids.)
        let src = self.images.slice_axis(Axis(0), Slice::from(start..end));
        let mut out = Array4::<f32>::zeros((end - start, 1, self.rows(), self.cols()));
        Zip::from(out.index_axis_mut(Axis(1), 0))
            .and(&src)
            .for_each(|dst, &p| *dst = pixel_to_f32(p, norm));
        Ok(out)
    }

    /// The examples at `indices` (in that order) as an `(n, 1, rows, cols)`
    /// `f32` tensor, converted as in [`to_tensor`](Self::to_tensor).
    pub fn select_tensor(&self, indices: &[usize], norm: Normalization) -> Result<Array4<f32>> {
        self.check_indices(indices)?;
        let mut out = Array4::<f32>::zeros((indices.len(), 1, self.rows(), self.cols()));
        for (mut dst, &i) in out.outer_iter_mut().zip(indices) {
            let src = self.images.index_axis(Axis(0), i);
            Zip::from(dst.index_axis_mut(Axis(0), 0))
                .and(&src)
                .for_each(|d, &p| *d = pixel_to_f32(p, norm));
        }
        Ok(out)
    }

    fn check_indices(&self, indices: &[usize]) -> Result<()> {
        let len = self.len();
        match indices.iter().find(|&&i| i >= len) {
            Some(&index) => Err(DataError::IndexOutOfRange { index, len }),
            None => Ok(()),
        }
    }
}

#[inline]
fn pixel_to_f32(p: u8, norm: Normalization) -> f32 {
    norm.apply_value(f32::from(p) / 255.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> LabeledImages {
        let images = Array3::from_shape_fn((4, 2, 3), |(n, r, c)| (n * 60 + r * 3 + c) as u8);
        LabeledImages::new(images, vec![3, 1, 3, 0]).expect("consistent")
    }

    #[test]
    fn count_mismatch_is_an_error() {
        let images = Array3::<u8>::zeros((2, 1, 1));
        match LabeledImages::new(images, vec![0]) {
            Err(DataError::CountMismatch { images, labels, .. }) => {
                assert_eq!((images, labels), (2, 1));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn accessors() {
        let d = toy();
        assert_eq!((d.len(), d.rows(), d.cols()), (4, 2, 3));
        assert!(!d.is_empty());
        assert_eq!(d.label(2), Some(3));
        assert_eq!(d.label(4), None);
        assert_eq!(d.image(1).map(|v| v[[1, 2]]), Some(65));
        assert!(d.image(4).is_none());
        assert_eq!(d.class_counts(), vec![1, 1, 0, 2]);
    }

    #[test]
    fn to_tensor_scales_and_normalises() -> Result<()> {
        let d = toy();
        let x = d.to_tensor(.., Normalization::None)?;
        assert_eq!(x.shape(), &[4, 1, 2, 3]);
        assert_eq!(x[[3, 0, 1, 2]], 185.0 / 255.0);
        let x = d.to_tensor(1..=2, Normalization::MNIST)?;
        assert_eq!(x.shape(), &[2, 1, 2, 3]);
        let want = (60.0 / 255.0 - 0.1307) / 0.3081;
        assert!((x[[0, 0, 0, 0]] - want).abs() < 1e-6);
        assert_eq!(
            d.to_tensor(4..4, Normalization::None)?.shape(),
            &[0, 1, 2, 3]
        );
        Ok(())
    }

    #[test]
    fn bad_ranges_and_indices_are_errors() {
        let d = toy();
        #[allow(clippy::reversed_empty_ranges)]
        let reversed = 3..1;
        assert!(matches!(
            d.to_tensor(reversed, Normalization::None),
            Err(DataError::RangeOutOfBounds {
                start: 3,
                end: 1,
                len: 4
            })
        ));
        assert!(matches!(
            d.to_tensor(0..5, Normalization::None),
            Err(DataError::RangeOutOfBounds { .. })
        ));
        assert!(matches!(
            d.to_tensor(0..=usize::MAX, Normalization::None),
            Err(DataError::RangeOutOfBounds { .. })
        ));
        assert!(matches!(
            d.select_tensor(&[0, 9], Normalization::None),
            Err(DataError::IndexOutOfRange { index: 9, len: 4 })
        ));
        assert!(matches!(
            d.subset(&[4]),
            Err(DataError::IndexOutOfRange { index: 4, len: 4 })
        ));
    }

    #[test]
    fn select_matches_subset_and_range() -> Result<()> {
        let d = toy();
        let idx = [2, 0, 2];
        let sel = d.select_tensor(&idx, Normalization::FASHION_MNIST)?;
        let sub = d.subset(&idx)?;
        assert_eq!(sub.labels(), &[3, 3, 3]);
        assert_eq!(sel, sub.to_tensor(.., Normalization::FASHION_MNIST)?);
        let r = d.to_tensor(2..3, Normalization::FASHION_MNIST)?;
        assert_eq!(sel.index_axis(Axis(0), 0), r.index_axis(Axis(0), 0));
        Ok(())
    }
}
