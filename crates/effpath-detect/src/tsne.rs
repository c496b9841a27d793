//! Exact t-SNE (van der Maaten & Hinton, 2008) of feature rows into the plane, to look at
//! how normal and adversarial rows separate (the paper's Fig. 15).
//!
//! Written here rather than taken from the `bhtsne` crate: that crate draws its initial
//! embedding from an unseeded thread RNG and panics on a perplexity too large for the data,
//! while effpath's results are seeded and bad input is an error. The exact gradient is
//! O(n²) per iteration, fine for the few thousand rows of a detection experiment, and runs
//! sequentially so the embedding does not depend on the thread count.

use ndarray::{Array2, ArrayView2};
use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::{DetectError, Result};

/// Options of [`tsne`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TsneOptions {
    /// Effective number of neighbours (5–50 usual).
    pub perplexity: f64,
    /// Gradient-descent iterations (the first 250 with early exaggeration 12).
    pub iterations: usize,
    /// Seed of the initial embedding.
    pub seed: u64,
}

impl Default for TsneOptions {
    fn default() -> Self {
        TsneOptions {
            perplexity: 30.0,
            iterations: 1000,
            seed: 0,
        }
    }
}

/// Row-wise conditional probabilities `p_{j|i}` with the bandwidth that gives each row the
/// perplexity `perplexity` (binary search on the precision β).
fn conditional(d2: &Array2<f64>, perplexity: f64) -> Array2<f64> {
    let n = d2.nrows();
    let target = perplexity.ln();
    let mut p = Array2::zeros((n, n));
    for i in 0..n {
        let (mut beta, mut lo, mut hi) = (1.0f64, 0.0f64, f64::INFINITY);
        for _ in 0..100 {
            let mut sum = 0.0;
            let mut weighted = 0.0;
            for j in (0..n).filter(|&j| j != i) {
                let e = (-beta * d2[[i, j]]).exp();
                p[[i, j]] = e;
                sum += e;
                weighted += e * d2[[i, j]];
            }
            let sum = sum.max(f64::MIN_POSITIVE);
            let entropy = sum.ln() + beta * weighted / sum;
            for j in 0..n {
                p[[i, j]] /= sum;
            }
            let diff = entropy - target;
            if diff.abs() < 1e-5 {
                break;
            }
            if diff > 0.0 {
                lo = beta;
                beta = if hi.is_finite() {
                    (beta + hi) / 2.0
                } else {
                    beta * 2.0
                };
            } else {
                hi = beta;
                beta = (beta + lo) / 2.0;
            }
        }
    }
    p
}

/// The two-dimensional t-SNE embedding `(n, 2)` of the rows of `x` (Euclidean distances).
///
/// ```
/// use effpath_detect::tsne::{TsneOptions, tsne};
/// // Two well-separated clusters stay apart in the embedding.
/// let x = ndarray::Array2::from_shape_fn((40, 3), |(i, j)| if i < 20 { j as f64 * 0.01 } else { 5.0 + (i % 3) as f64 * 0.01 });
/// let y = tsne(x.view(), &TsneOptions { perplexity: 5.0, iterations: 300, seed: 1 })?;
/// let centre = |r: std::ops::Range<usize>| (r.clone().map(|i| y[[i, 0]]).sum::<f64>() / 20.0, r.map(|i| y[[i, 1]]).sum::<f64>() / 20.0);
/// let (a, b) = (centre(0..20), centre(20..40));
/// assert!(((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt() > 1.0);
/// # Ok::<(), effpath_detect::DetectError>(())
/// ```
pub fn tsne(x: ArrayView2<'_, f64>, options: &TsneOptions) -> Result<Array2<f64>> {
    let n = x.nrows();
    let perplexity = options.perplexity;
    let too_many = perplexity.is_nan() || perplexity <= 0.0 || (n as f64 - 1.0) < 3.0 * perplexity;
    if too_many || options.iterations == 0 {
        return Err(DetectError::Embedding {
            points: n,
            perplexity,
            iterations: options.iterations,
        });
    }
    let d2 = Array2::from_shape_fn((n, n), |(i, j)| {
        x.row(i)
            .iter()
            .zip(x.row(j))
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
    });
    let cond = conditional(&d2, perplexity);
    let p = Array2::from_shape_fn((n, n), |(i, j)| {
        ((cond[[i, j]] + cond[[j, i]]) / (2.0 * n as f64)).max(1e-12)
    });
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    // N(0, 1e-4) by Box–Muller.
    let mut y = Array2::from_shape_fn((n, 2), |_| {
        let (u, v): (f64, f64) = (rng.random::<f64>().max(f64::MIN_POSITIVE), rng.random());
        1e-4 * (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    });
    let mut update = Array2::<f64>::zeros((n, 2));
    let mut gains = Array2::<f64>::ones((n, 2));
    let mut num = Array2::<f64>::zeros((n, n));
    for it in 0..options.iterations {
        let exaggeration = if it < 250 { 12.0 } else { 1.0 };
        let momentum = if it < 250 { 0.5 } else { 0.8 };
        let mut total = 0.0;
        for i in 0..n {
            for j in 0..n {
                let v = if i == j {
                    0.0
                } else {
                    let (dx, dy) = (y[[i, 0]] - y[[j, 0]], y[[i, 1]] - y[[j, 1]]);
                    1.0 / (1.0 + dx * dx + dy * dy)
                };
                num[[i, j]] = v;
                total += v;
            }
        }
        let total = total.max(f64::MIN_POSITIVE);
        for i in 0..n {
            let mut g = [0.0f64; 2];
            for j in (0..n).filter(|&j| j != i) {
                let w = (exaggeration * p[[i, j]] - num[[i, j]] / total) * num[[i, j]];
                g[0] += 4.0 * w * (y[[i, 0]] - y[[j, 0]]);
                g[1] += 4.0 * w * (y[[i, 1]] - y[[j, 1]]);
            }
            for (k, gk) in g.into_iter().enumerate() {
                let gain = &mut gains[[i, k]];
                *gain = if gk.signum() != update[[i, k]].signum() {
                    *gain + 0.2
                } else {
                    (*gain * 0.8).max(0.01)
                };
                update[[i, k]] = momentum * update[[i, k]] - 200.0 * *gain * gk;
            }
        }
        y += &update;
        for k in 0..2 {
            let mean = y.column(k).sum() / n as f64;
            y.column_mut(k).mapv_inplace(|v| v - mean);
        }
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditionals_have_the_asked_perplexity() {
        let x = Array2::from_shape_fn((30, 2), |(i, j)| ((i * 7 + j * 3) % 11) as f64);
        let d2 = Array2::from_shape_fn((30, 30), |(i, j)| {
            (0..2).map(|k| (x[[i, k]] - x[[j, k]]).powi(2)).sum::<f64>()
        });
        let p = conditional(&d2, 5.0);
        for i in 0..30 {
            let row: f64 = p.row(i).sum();
            assert!((row - 1.0).abs() < 1e-9);
            let h: f64 = -p
                .row(i)
                .iter()
                .filter(|&&v| v > 0.0)
                .map(|v| v * v.ln())
                .sum::<f64>();
            assert!(
                (h.exp() - 5.0).abs() < 0.01,
                "row {i}: perplexity {}",
                h.exp()
            );
        }
    }

    #[test]
    fn seeded_and_checked() {
        let x = Array2::from_shape_fn((20, 4), |(i, j)| ((i * 5 + j) % 7) as f64);
        let o = TsneOptions {
            perplexity: 4.0,
            iterations: 50,
            seed: 3,
        };
        assert_eq!(tsne(x.view(), &o).unwrap(), tsne(x.view(), &o).unwrap());
        assert_ne!(
            tsne(x.view(), &o).unwrap(),
            tsne(x.view(), &TsneOptions { seed: 4, ..o }).unwrap()
        );
        for bad in [
            TsneOptions {
                perplexity: 10.0,
                ..o
            },
            TsneOptions {
                perplexity: 0.0,
                ..o
            },
            TsneOptions { iterations: 0, ..o },
        ] {
            assert!(matches!(
                tsne(x.view(), &bad),
                Err(DetectError::Embedding { .. })
            ));
        }
    }
}
