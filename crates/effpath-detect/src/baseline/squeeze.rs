//! The feature-squeezing baseline (Xu et al., NDSS 2018, "Feature squeezing: detecting
//! adversarial examples in deep neural networks"): an image is flagged when the model's
//! softmax moves far when the image is squeezed. The score is the largest L1 distance
//! between the softmax of the image and of each squeezed version; nothing is trained but the
//! threshold. For MNIST-type data the squeezers are a 1-bit depth reduction and a 2×2 median
//! filter ([`Squeezer::MNIST`]).
//!
//! The squeezers work on pixels in `[0, 1]`, `(N, C, H, W)`, before the model's normalisation,
//! and follow the original code's numpy/scipy definitions: depth reduction rounds half to even
//! (`np.rint`), and the median filter is `scipy.ndimage.median_filter(size = 2, mode =
//! "reflect")` per channel — the window of pixel `(y, x)` is rows `y − 1, y` and columns
//! `x − 1, x`, mirrored at the border (row −1 is row 0), and of its four values the upper
//! middle one (rank 2 of 0…3) is taken.

use ndarray::{Array4, ArrayView2, ArrayView4, Axis};
use serde::{Deserialize, Serialize};

use crate::error::{DetectError, Result};

/// One squeezer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Squeezer {
    /// Reduce each pixel to `bits` bits: `rint(x · (2^bits − 1)) / (2^bits − 1)`.
    BitDepth {
        /// Bits kept (1…8).
        bits: u8,
    },
    /// Median over a `size × size` window (scipy's even-size window: the pixel and its
    /// neighbours above and to the left).
    Median {
        /// Window side (2 for MNIST-type data).
        size: u8,
    },
}

impl Squeezer {
    /// Xu et al.'s squeezers for MNIST: 1-bit depth, 2×2 median.
    pub const MNIST: [Squeezer; 2] = [Squeezer::BitDepth { bits: 1 }, Squeezer::Median { size: 2 }];

    /// The squeezed copy of `images` (`(N, C, H, W)`, every value in `[0, 1]`).
    pub fn apply(&self, images: ArrayView4<f32>) -> Result<Array4<f32>> {
        if let Some((index, &value)) = images
            .iter()
            .enumerate()
            .find(|(_, v)| !(0.0..=1.0).contains(*v))
        {
            return Err(DetectError::PixelRange {
                index,
                value: f64::from(value),
            });
        }
        match *self {
            Squeezer::BitDepth { bits } => {
                if !(1..=8).contains(&bits) {
                    return Err(DetectError::Squeezer {
                        parameter: "bits",
                        value: bits,
                    });
                }
                let levels = f32::from((1u16 << bits) - 1);
                Ok(images.mapv(|x| (x * levels).round_ties_even() / levels))
            }
            Squeezer::Median { size } => {
                if size == 0 {
                    return Err(DetectError::Squeezer {
                        parameter: "size",
                        value: size,
                    });
                }
                Ok(median(images, usize::from(size)))
            }
        }
    }
}

/// scipy's `reflect` boundary: `… 1 0 | 0 1 … n−1 | n−1 n−2 …`.
fn reflect(i: isize, n: usize) -> usize {
    let n = n as isize;
    let period = 2 * n;
    let mut i = i.rem_euclid(period);
    if i >= n {
        i = period - 1 - i;
    }
    i as usize
}

/// The `size × size` median filter of every channel plane (scipy's window placement and rank).
fn median(images: ArrayView4<f32>, size: usize) -> Array4<f32> {
    let (_, _, h, w) = images.dim();
    let mut out = Array4::<f32>::zeros(images.raw_dim());
    // scipy centres a window of `size` at `size / 2`: offsets −size/2 … size − 1 − size/2.
    let before = (size / 2) as isize;
    let rank = size * size / 2;
    let mut window = Vec::with_capacity(size * size);
    for (mut o_img, img) in out.outer_iter_mut().zip(images.outer_iter()) {
        for (mut o_plane, plane) in o_img.outer_iter_mut().zip(img.outer_iter()) {
            for y in 0..h {
                for x in 0..w {
                    window.clear();
                    for dy in 0..size as isize {
                        for dx in 0..size as isize {
                            let yy = reflect(y as isize + dy - before, h);
                            let xx = reflect(x as isize + dx - before, w);
                            window.push(plane[[yy, xx]]);
                        }
                    }
                    window.sort_unstable_by(f32::total_cmp);
                    o_plane[[y, x]] = window[rank];
                }
            }
        }
    }
    out
}

/// The feature-squeezing score of each image: `max_s ‖p − p_s‖₁` over the squeezed
/// versions' probability rows `squeezed[s]` (each `N × classes`, as `probabilities`).
pub fn squeeze_scores(
    probabilities: ArrayView2<f64>,
    squeezed: &[ArrayView2<f64>],
) -> Result<Vec<f64>> {
    for s in squeezed {
        if s.dim() != probabilities.dim() {
            return Err(DetectError::FeatureCount {
                expected: probabilities.ncols(),
                found: s.ncols(),
            });
        }
    }
    Ok(probabilities
        .axis_iter(Axis(0))
        .enumerate()
        .map(|(i, p)| {
            squeezed
                .iter()
                .map(|s| {
                    p.iter()
                        .zip(s.row(i))
                        .map(|(a, b)| (a - b).abs())
                        .sum::<f64>()
                })
                .fold(0.0, f64::max)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array4, array};

    #[test]
    fn one_bit_depth_rounds_half_to_even() {
        let x = Array4::from_shape_vec((1, 1, 1, 5), vec![0.0, 0.49, 0.5, 0.51, 1.0]).unwrap();
        let y = Squeezer::BitDepth { bits: 1 }.apply(x.view()).unwrap();
        assert_eq!(
            y.iter().copied().collect::<Vec<_>>(),
            [0.0, 0.0, 0.0, 1.0, 1.0]
        );
        let y = Squeezer::BitDepth { bits: 2 }.apply(x.view()).unwrap();
        // Levels 0, ⅓, ⅔, 1: 0.49·3 = 1.47 → ⅓; 0.5·3 = 1.5 → 2 (even) → ⅔.
        let want = [0.0, 1.0 / 3.0, 2.0 / 3.0, 2.0 / 3.0, 1.0];
        for (g, w) in y.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{g} vs {w}");
        }
    }

    #[test]
    fn two_by_two_median_matches_scipy_placement() {
        // scipy.ndimage.median_filter(a, size=2, mode="reflect") of
        // [[1, 2, 3], [4, 5, 6], [7, 8, 9]] is [[1, 2, 3], [4, 5, 6], [7, 8, 9]]'s window
        // rows (y−1, y), columns (x−1, x), reflected; by hand:
        // (0,0): {1,1,1,1} → 1   (0,1): {1,2,1,2} → 2   (0,2): {2,3,2,3} → 3
        // (1,0): {1,1,4,4} → 4   (1,1): {1,2,4,5} → 4   (1,2): {2,3,5,6} → 5
        // (2,0): {4,4,7,7} → 7   (2,1): {4,5,7,8} → 7   (2,2): {5,6,8,9} → 8
        let a = array![[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]] / 10.0;
        let x = a.clone().into_shape_with_order((1, 1, 3, 3)).unwrap();
        let y = Squeezer::Median { size: 2 }.apply(x.view()).unwrap();
        let want = [1.0f32, 2.0, 3.0, 4.0, 4.0, 5.0, 7.0, 7.0, 8.0];
        for (g, w) in y.iter().zip(want) {
            assert!((g - w / 10.0).abs() < 1e-7, "{g} vs {w}");
        }
    }

    #[test]
    fn scores_are_the_largest_l1_distance() {
        let p = array![[0.9, 0.1], [0.5, 0.5]];
        let s1 = array![[0.8, 0.2], [0.5, 0.5]];
        let s2 = array![[0.4, 0.6], [0.6, 0.4]];
        let got = squeeze_scores(p.view(), &[s1.view(), s2.view()]).unwrap();
        assert!((got[0] - 1.0).abs() < 1e-12 && (got[1] - 0.2).abs() < 1e-12);
    }

    #[test]
    fn pixels_outside_the_unit_range_are_refused() {
        let x = Array4::from_elem((1, 1, 2, 2), 1.5f32);
        assert!(matches!(
            Squeezer::MNIST[0].apply(x.view()),
            Err(DetectError::PixelRange { index: 0, .. })
        ));
    }
}
