//! The LID baseline (Ma et al., ICLR 2018, "Characterizing adversarial subspaces using local
//! intrinsic dimensionality"): per layer, the maximum-likelihood estimate of the local
//! intrinsic dimensionality of an image's activations among a mini-batch of normal images,
//!
//! `LID(x) = −( (1/k) Σ_{i=1..k} log(r_i(x) / r_k(x)) )⁻¹`,
//!
//! with `r_i` the Euclidean distance to the `i`-th nearest neighbour in the batch. The
//! per-layer estimates are the feature row of the image; a detector on those rows (logistic
//! regression in Ma et al.) combines them.
//!
//! A query that is itself one of the batch's points (a normal image scored against its own
//! mini-batch) does not count itself as a neighbour. (The original code drops the nearest
//! neighbour of every query, also of adversarial ones that are not in the batch; here only the
//! point itself is left out.)

use ndarray::{Array2, ArrayView2};

use super::mahalanobis::check_finite;
use crate::error::{DetectError, Result};

/// The estimate when the `k` neighbours are all at the same distance (the formula's limit,
/// `+∞`, kept finite so that a detector can still read the row).
pub const LID_DEGENERATE: f64 = 1e12;

/// LID estimation: `k` nearest neighbours (Ma et al. use 20 with mini-batches of 100).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lid {
    k: usize,
}

impl Lid {
    /// The neighbours Ma et al. use.
    pub const DEFAULT_K: usize = 20;

    /// LID from `k ≥ 1` nearest neighbours.
    pub fn new(k: usize) -> Result<Self> {
        if k == 0 {
            return Err(DetectError::TooFewNeighbours {
                needed: 1,
                found: 0,
            });
        }
        Ok(Lid { k })
    }

    /// The estimate of one query from its distances to the batch (the query itself already
    /// left out).
    pub fn estimate(&self, distances: &mut [f64]) -> Result<f64> {
        if distances.len() < self.k {
            return Err(DetectError::TooFewNeighbours {
                needed: self.k,
                found: distances.len(),
            });
        }
        let k = self.k;
        distances.select_nth_unstable_by(k - 1, f64::total_cmp);
        let nearest = &mut distances[..k];
        let rk = nearest.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if rk <= 0.0 {
            // Every neighbour coincides with the query: no scale to measure a dimension on.
            return Ok(LID_DEGENERATE);
        }
        // Zero distances (duplicates of the query) are floored so that their log stays finite.
        let floor = rk * 1e-12;
        let sum: f64 = nearest.iter().map(|&r| (r.max(floor) / rk).ln()).sum();
        if sum >= 0.0 {
            return Ok(LID_DEGENERATE);
        }
        Ok((-(k as f64) / sum).min(LID_DEGENERATE))
    }

    /// The LID of every query row of `queries` within the reference batch `batch` (rows are
    /// points; same widths). `self_index[i] = Some(j)` says query `i` is batch row `j`, which
    /// is then not its own neighbour.
    pub fn batch(
        &self,
        batch: ArrayView2<f64>,
        queries: ArrayView2<f64>,
        self_index: &[Option<usize>],
    ) -> Result<Vec<f64>> {
        if batch.ncols() != queries.ncols() {
            return Err(DetectError::FeatureCount {
                expected: batch.ncols(),
                found: queries.ncols(),
            });
        }
        if self_index.len() != queries.nrows() {
            return Err(DetectError::LabelCount {
                rows: queries.nrows(),
                labels: self_index.len(),
            });
        }
        check_finite(batch)?;
        check_finite(queries)?;
        // Squared distances |q|² + |b|² − 2 q·b, all pairs in one matrix product (clamped at
        // 0 against cancellation).
        let qb = queries.dot(&batch.t());
        let norm2 =
            |m: ArrayView2<f64>| -> Vec<f64> { m.rows().into_iter().map(|r| r.dot(&r)).collect() };
        let (qn, bn) = (norm2(queries), norm2(batch));
        let mut d = Vec::with_capacity(batch.nrows());
        qb.rows()
            .into_iter()
            .zip(self_index)
            .zip(&qn)
            .map(|((row, own), &q2)| {
                d.clear();
                d.extend(
                    row.iter()
                        .zip(&bn)
                        .enumerate()
                        .filter(|(j, _)| Some(*j) != *own)
                        .map(|(_, (&qb, &b2))| (q2 + b2 - 2.0 * qb).max(0.0).sqrt()),
                );
                self.estimate(&mut d)
            })
            .collect()
    }

    /// Per-layer LID features (`queries × layers`): `batch[l]` and `queries[l]` are layer
    /// `l`'s activations (flattened, one row per image) of the normal mini-batch and of the
    /// images to describe.
    pub fn features(
        &self,
        batch: &[Array2<f64>],
        queries: &[Array2<f64>],
        self_index: &[Option<usize>],
    ) -> Result<Array2<f64>> {
        if batch.len() != queries.len() {
            return Err(DetectError::LayerCount {
                expected: batch.len(),
                found: queries.len(),
            });
        }
        let mut out = Array2::<f64>::zeros((self_index.len(), batch.len()));
        for (l, (b, q)) in batch.iter().zip(queries).enumerate() {
            let lid = self.batch(b.view(), q.view(), self_index)?;
            out.column_mut(l).assign(&ndarray::Array1::from(lid));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn hand_computed_estimate() {
        // Distances 1, 2, 4 with k = 3: mean log(r_i / r_k) = (ln ¼ + ln ½ + 0) / 3 = −ln 2,
        // so LID = 1 / ln 2.
        let lid = Lid::new(3).unwrap();
        let got = lid.estimate(&mut [4.0, 1.0, 9.0, 2.0]).unwrap();
        assert!((got - 1.0 / 2f64.ln()).abs() < 1e-12, "{got}");
    }

    /// The mean LID of 50 central points among 2,000 uniform random points of the unit cube
    /// of dimension `dim`, embedded in 5-D by a fixed rotation-free padding with zeros.
    fn mean_lid_of_uniform(dim: usize) -> f64 {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let points =
            Array2::from_shape_fn(
                (2000, 5),
                |(_, j)| {
                    if j < dim { rng.random::<f64>() } else { 0.0 }
                },
            );
        // Queries: the points nearest the centre, so that the neighbourhoods stay inside.
        let mut by_centre: Vec<usize> = (0..2000).collect();
        let centre_dist = |i: usize| {
            (0..dim)
                .map(|j| (points[[i, j]] - 0.5).powi(2))
                .sum::<f64>()
        };
        by_centre.sort_by(|&a, &b| centre_dist(a).total_cmp(&centre_dist(b)));
        let lid = Lid::new(20).unwrap();
        let chosen = &by_centre[..50];
        let q = points.select(ndarray::Axis(0), chosen);
        let own: Vec<Option<usize>> = chosen.iter().map(|&i| Some(i)).collect();
        let v = lid.batch(points.view(), q.view(), &own).unwrap();
        v.iter().sum::<f64>() / v.len() as f64
    }

    #[test]
    fn uniform_points_on_a_line_and_a_plane_have_dimensions_one_and_two() {
        let line = mean_lid_of_uniform(1);
        let plane = mean_lid_of_uniform(2);
        let cube = mean_lid_of_uniform(3);
        assert!((line - 1.0).abs() < 0.25, "line {line}");
        assert!((plane - 2.0).abs() < 0.5, "plane {plane}");
        assert!(line < plane && plane < cube, "{line} {plane} {cube}");
    }

    #[test]
    fn the_query_is_not_its_own_neighbour_and_errors_are_typed() {
        let batch = array![[0.0], [1.0], [2.0], [4.0]];
        let lid = Lid::new(3).unwrap();
        // Query = batch row 0: neighbours at 1, 2, 4 (as in the hand-computed case).
        let got = lid.batch(
            batch.view(),
            batch.select(ndarray::Axis(0), &[0]).view(),
            &[Some(0)],
        );
        assert!((got.unwrap()[0] - 1.0 / 2f64.ln()).abs() < 1e-12);
        // As an outside query it would see itself at distance 0 (floored, finite).
        let outside = lid
            .batch(
                batch.view(),
                batch.select(ndarray::Axis(0), &[0]).view(),
                &[None],
            )
            .unwrap()[0];
        assert!(outside.is_finite() && outside > 0.0);
        assert!(matches!(
            Lid::new(4).unwrap().batch(
                batch.view(),
                batch.select(ndarray::Axis(0), &[0]).view(),
                &[Some(0)]
            ),
            Err(DetectError::TooFewNeighbours {
                needed: 4,
                found: 3
            })
        ));
        assert_eq!(
            Lid::new(2).unwrap().estimate(&mut [0.0, 0.0]).unwrap(),
            LID_DEGENERATE
        );
    }
}
