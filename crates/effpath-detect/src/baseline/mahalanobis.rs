//! The Mahalanobis baseline (Lee et al., NeurIPS 2018, "A simple unified framework for
//! detecting out-of-distribution samples and adversarial attacks"): per layer, class-conditional
//! Gaussians with one shared covariance, fitted on the layer features of correctly classified
//! training images; the layer's score of an image is the largest negative squared Mahalanobis
//! distance to a class mean, `M(x) = max_c −(f(x) − μ_c)ᵀ Σ⁺ (f(x) − μ_c)`.
//!
//! The per-layer scores are the feature row of the image; a detector on those rows (logistic
//! regression in Lee et al.) combines them. The input-preprocessing step of the paper is not
//! part of this model. The shared covariance is the maximum-likelihood one of the
//! class-centred features (sklearn's `EmpiricalCovariance` as the original code uses it), and
//! its pseudo-inverse (`pinvh`) stands for the inverse, so constant features (dead channels)
//! are ignored rather than fatal.

use ndarray::{Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use super::linalg::pinv_symmetric;
use crate::error::{DetectError, Result};

/// One layer's class means (`classes × d`) and shared precision (`d × d`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct GaussianLayer {
    means: Array2<f64>,
    precision: Array2<f64>,
}

impl GaussianLayer {
    fn fit(x: ArrayView2<f64>, labels: &[usize], classes: usize) -> Result<Self> {
        let d = x.ncols();
        let mut means = Array2::<f64>::zeros((classes, d));
        let mut counts = vec![0usize; classes];
        for (row, &c) in x.rows().into_iter().zip(labels) {
            means.row_mut(c).scaled_add(1.0, &row);
            counts[c] += 1;
        }
        for (c, &n) in counts.iter().enumerate() {
            if n == 0 {
                return Err(DetectError::EmptyClass { class: c });
            }
            means.row_mut(c).mapv_inplace(|v| v / n as f64);
        }
        let mut centred = x.to_owned();
        for (mut row, &c) in centred.rows_mut().into_iter().zip(labels) {
            row -= &means.row(c);
        }
        // EmpiricalCovariance(assume_centered=False): the centred rows are centred once more
        // on their own mean (zero up to rounding).
        let mean = centred
            .mean_axis(Axis(0))
            .expect("at least one row (every class has one)");
        centred -= &mean;
        let covariance = centred.t().dot(&centred) / x.nrows() as f64;
        Ok(GaussianLayer {
            means,
            precision: pinv_symmetric(covariance.view()),
        })
    }

    /// `max_c −(x − μ_c)ᵀ P (x − μ_c)` for every row of `x`.
    fn score(&self, x: ArrayView2<f64>) -> Vec<f64> {
        let mut out = vec![f64::NEG_INFINITY; x.nrows()];
        let mut diff = ndarray::Array1::<f64>::zeros(x.ncols());
        for (o, row) in out.iter_mut().zip(x.rows()) {
            for mean in self.means.rows() {
                diff.assign(&row);
                diff -= &mean;
                let m = -diff.dot(&self.precision.dot(&diff));
                if m > *o {
                    *o = m;
                }
            }
        }
        out
    }
}

/// The fitted Mahalanobis baseline: one Gaussian model per layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mahalanobis {
    layers: Vec<GaussianLayer>,
}

impl Mahalanobis {
    /// Fits the class means and the shared covariance of each layer. `layers[l]` holds the
    /// features of layer `l`, one row per training image; `labels[i] < classes` is image
    /// `i`'s class. Every class needs a row.
    pub fn fit(layers: &[Array2<f64>], labels: &[usize], classes: usize) -> Result<Self> {
        if layers.is_empty() {
            return Err(DetectError::NoFeatures);
        }
        for x in layers {
            if x.nrows() == 0 {
                return Err(DetectError::EmptyTrainingSet);
            }
            if x.nrows() != labels.len() {
                return Err(DetectError::LabelCount {
                    rows: x.nrows(),
                    labels: labels.len(),
                });
            }
            check_finite(x.view())?;
        }
        if let Some((row, &label)) = labels.iter().enumerate().find(|(_, l)| **l >= classes) {
            return Err(DetectError::LabelRange {
                row,
                label,
                classes,
            });
        }
        let layers = layers
            .iter()
            .map(|x| GaussianLayer::fit(x.view(), labels, classes))
            .collect::<Result<_>>()?;
        Ok(Mahalanobis { layers })
    }

    /// Number of layers (columns of [`Mahalanobis::score`]).
    pub fn layers(&self) -> usize {
        self.layers.len()
    }

    /// The per-layer scores of each image (`rows × layers`; higher = closer to a class, so
    /// more normal). `layers` as for [`Mahalanobis::fit`], with the same widths.
    pub fn score(&self, layers: &[Array2<f64>]) -> Result<Array2<f64>> {
        if layers.len() != self.layers.len() {
            return Err(DetectError::LayerCount {
                expected: self.layers.len(),
                found: layers.len(),
            });
        }
        let rows = layers.first().map_or(0, |x| x.nrows());
        let mut out = Array2::<f64>::zeros((rows, layers.len()));
        for (l, (model, x)) in self.layers.iter().zip(layers).enumerate() {
            if x.ncols() != model.means.ncols() {
                return Err(DetectError::FeatureCount {
                    expected: model.means.ncols(),
                    found: x.ncols(),
                });
            }
            if x.nrows() != rows {
                return Err(DetectError::LabelCount {
                    rows: x.nrows(),
                    labels: rows,
                });
            }
            check_finite(x.view())?;
            for (i, s) in model.score(x.view()).into_iter().enumerate() {
                out[[i, l]] = s;
            }
        }
        Ok(out)
    }
}

/// Every value of `x` is finite.
pub(crate) fn check_finite(x: ArrayView2<f64>) -> Result<()> {
    match x.indexed_iter().find(|(_, v)| !v.is_finite()) {
        Some(((row, column), &value)) => Err(DetectError::NonFiniteFeature { row, column, value }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn identity_covariance_gives_squared_euclidean_distances() {
        // Two classes at (±1, 0); the class-centred points (±1 around each mean on each axis)
        // have covariance diag(1, 1), so the score is minus the squared distance to the
        // nearest mean.
        let x = array![
            [0.0, 0.0],
            [-2.0, 0.0],
            [-1.0, 1.0],
            [-1.0, -1.0],
            [2.0, 0.0],
            [0.0, 0.0],
            [1.0, 1.0],
            [1.0, -1.0],
        ];
        let labels = [0, 0, 0, 0, 1, 1, 1, 1];
        // Centred on the means (−1, 0) and (1, 0): rows (±1, 0) and (0, ±1), each twice.
        // Covariance = diag(0.5, 0.5) → precision diag(2, 2).
        let m = Mahalanobis::fit(&[x], &labels, 2).unwrap();
        let q = array![[-1.0, 0.0], [1.0, 1.0], [0.0, 3.0]];
        let s = m.score(&[q]).unwrap();
        assert!((s[[0, 0]] - 0.0).abs() < 1e-12);
        assert!((s[[1, 0]] + 2.0).abs() < 1e-12);
        // (0, 3): distance² to either mean is 1 + 9 = 10, × precision 2.
        assert!((s[[2, 0]] + 20.0).abs() < 1e-12);
    }

    #[test]
    fn a_constant_feature_is_ignored() {
        let x = array![[0.0, 5.0], [2.0, 5.0], [10.0, 5.0], [12.0, 5.0]];
        let m = Mahalanobis::fit(&[x], &[0, 0, 1, 1], 2).unwrap();
        // Variance of the first feature around the class means is 1; the second is constant.
        let s = m.score(&[array![[1.0, 100.0], [3.0, 5.0]]]).unwrap();
        assert!((s[[0, 0]] - 0.0).abs() < 1e-9);
        assert!((s[[1, 0]] + 4.0).abs() < 1e-9);
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        let x = array![[0.0], [1.0]];
        assert!(matches!(
            Mahalanobis::fit(std::slice::from_ref(&x), &[0, 2], 2),
            Err(DetectError::LabelRange {
                row: 1,
                label: 2,
                classes: 2
            })
        ));
        assert!(matches!(
            Mahalanobis::fit(std::slice::from_ref(&x), &[0, 0], 2),
            Err(DetectError::EmptyClass { class: 1 })
        ));
        let m = Mahalanobis::fit(std::slice::from_ref(&x), &[0, 1], 2).unwrap();
        assert!(matches!(
            m.score(&[x.clone(), x]),
            Err(DetectError::LayerCount {
                expected: 1,
                found: 2
            })
        ));
        assert!(matches!(
            m.score(&[array![[f64::NAN]]]),
            Err(DetectError::NonFiniteFeature { .. })
        ));
    }
}
