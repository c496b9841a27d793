//! The linear "joint similarity" detector: a linear score trained by SGD on the hinge loss
//! with elastic-net regularisation, reproducing scikit-learn's `SGDClassifier` algorithm
//! (`loss="hinge"`, `penalty="elasticnet"`, `learning_rate="optimal"`).
//!
//! # Score and sign convention
//!
//! `score(x) = Σ_j w_j x_j + b`; higher = more likely adversarial (labels: adversarial +1,
//! normal −1, as in the original).
//!
//! With `nonnegative = true` the features are read as `[rank-1 similarities (L columns),
//! rank-2 similarities (the remaining columns)]` and the weights are constrained to
//! `w_j = −ω_j ≤ 0` on the rank-1 columns and `w_j = +ω'_j ≥ 0` on the others, so that
//!
//! `score(x) = b − J(x)`, with `J(x) = Σ_l ω_l x_l − Σ_l ω'_l x_{L+l}`, ω, ω' ≥ 0
//!
//! is the paper's joint similarity taken with a minus sign: an image is flagged as adversarial
//! when its joint similarity falls below the learned threshold `b`. Low rank-1 similarity and
//! high rank-2 similarity raise the score. [`LinearModel::joint_weights`] returns (ω, ω').
//!
//! # Algorithm (per sample, in a seeded random order every epoch)
//!
//! `η_t = 1 / (α (t₀ + t − 1))` with `t₀ = 1 / (η₀ α)`, `η₀ = √(1/√α)` (scikit-learn's
//! "optimal" schedule and its heuristic for t₀); `w ← w · max(0, 1 − (1 − ρ) η α)`
//! (L2 part); if `y (w·x + b) ≤ 1`: `w ← w + η y x`, `b ← b + η y` (when fitting the
//! intercept); then the cumulative truncated-gradient L1 step of Tsuruoka et al. with
//! penalty `ρ η α` (as scikit-learn's `l1penalty`); finally, with `nonnegative`, the weights
//! are projected onto their sign constraints. An epoch's summed hinge loss that does not
//! improve on the best by `tol · n` for `n_iter_no_change` consecutive epochs stops training.
//!
//! # Differences from the original
//!
//! * The shuffling RNG is ChaCha8, not scikit-learn's, so weights differ in detail.
//! * [`LinearOptions::default`] is the paper's joint similarity: sign-constrained weights and
//!   a fitted intercept. [`LinearOptions::original`] is the original's configuration
//!   (unconstrained, no intercept; a normal row then scores exactly 0 when all its features
//!   are 0, and the decision threshold is fixed at 0).
//! * The projection does not correct the L1 bookkeeping (clipped weights stay at 0 until a
//!   gradient step moves them back into the feasible half-line).

use ndarray::{Array2, Axis};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::data::{check_scoring, check_training};
use crate::detector::Detector;
use crate::error::{DetectError, Interval, ModelIssue, OptionIssue, Result, TrainingIssue};
use crate::options;

/// Hyper-parameters of [`LinearModel`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinearOptions {
    /// Regularisation strength α (default 1e-4; > 0).
    pub alpha: f64,
    /// Elastic-net mixing ρ ∈ [0, 1]: 1 = pure L1, 0 = pure L2 (default 0.5).
    pub l1_ratio: f64,
    /// Maximum number of epochs (default 10,000).
    pub max_iter: usize,
    /// Stopping tolerance on the summed epoch loss (default `Some(1e-4)`; `None` = run all
    /// `max_iter` epochs).
    pub tol: Option<f64>,
    /// Epochs without improvement before stopping (default 5).
    pub n_iter_no_change: usize,
    /// Learn the offset `b` (default `true`; the original used `false`).
    pub fit_intercept: bool,
    /// Constrain the weights to the joint-similarity signs (default `true`).
    pub nonnegative: bool,
    /// Number L of leading rank-1 columns for `nonnegative`; `None` (default) = half of the
    /// columns (the `[rank-1, rank-2]` layout with two ranks).
    pub rank1_features: Option<usize>,
    /// Visit the rows in a new random order every epoch (default `true`); `false` visits
    /// them in their given order (reproduces scikit-learn's `shuffle=False` exactly).
    pub shuffle: bool,
    /// Seed of the per-epoch shuffling.
    pub seed: u64,
}

impl Default for LinearOptions {
    /// The paper's joint similarity ([`LinearOptions::joint_similarity`]).
    fn default() -> Self {
        LinearOptions::joint_similarity()
    }
}

impl LinearOptions {
    /// The paper's joint similarity: ω, ω' ≥ 0, a fitted threshold, rank-1 columns = the
    /// first half.
    pub fn joint_similarity() -> Self {
        LinearOptions {
            alpha: 1e-4,
            l1_ratio: 0.5,
            max_iter: 10_000,
            tol: Some(1e-4),
            n_iter_no_change: 5,
            fit_intercept: true,
            nonnegative: true,
            rank1_features: None,
            shuffle: true,
            seed: 0,
        }
    }

    /// The original's `SGDClassifier(loss="hinge", penalty="elasticnet", l1_ratio=0.5,
    /// fit_intercept=False, max_iter=10000, tol=1e-4)`: unconstrained, no intercept.
    pub fn original() -> Self {
        LinearOptions {
            fit_intercept: false,
            nonnegative: false,
            ..LinearOptions::joint_similarity()
        }
    }

    /// Sets the seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    fn validate(&self) -> Result<()> {
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            return Err(DetectError::option(
                "alpha",
                OptionIssue::NotPositive { value: self.alpha },
            ));
        }
        if !(0.0..=1.0).contains(&self.l1_ratio) {
            return Err(DetectError::option(
                "l1_ratio",
                OptionIssue::Fraction {
                    value: self.l1_ratio,
                    interval: Interval::Closed01,
                },
            ));
        }
        options::at_least_one("max_iter", self.max_iter)?;
        options::at_least_one("n_iter_no_change", self.n_iter_no_change)?;
        if let Some(tol) = self.tol
            && !tol.is_finite()
        {
            return Err(DetectError::option(
                "tol",
                OptionIssue::NotFinite { value: tol },
            ));
        }
        Ok(())
    }

    /// The number of rank-1 columns for `n_features` columns (only with `nonnegative`).
    fn resolve_rank1(&self, n_features: usize) -> Result<Option<usize>> {
        if !self.nonnegative {
            return Ok(None);
        }
        match self.rank1_features {
            Some(l) if l <= n_features => Ok(Some(l)),
            Some(l) => Err(DetectError::option(
                "rank1_features",
                OptionIssue::Rank1Columns {
                    rank1: l,
                    columns: n_features,
                },
            )),
            None if n_features.is_multiple_of(2) => Ok(Some(n_features / 2)),
            None => Err(DetectError::option(
                "rank1_features",
                OptionIssue::OddColumns {
                    columns: n_features,
                },
            )),
        }
    }
}

/// A fitted linear detector (see the [module documentation](self) for the sign convention).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinearModel {
    options: LinearOptions,
    weights: Vec<f64>,
    intercept: f64,
    /// L, the number of sign-constrained rank-1 columns (with `nonnegative` only).
    rank1_features: Option<usize>,
    epochs: usize,
}

impl LinearModel {
    /// The options the model was trained with.
    pub fn options(&self) -> &LinearOptions {
        &self.options
    }

    /// The weights `w` of `score = w·x + b`.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The intercept `b` (0 when not fitted).
    pub fn intercept(&self) -> f64 {
        self.intercept
    }

    /// Number of epochs run (≤ `max_iter`).
    pub fn epochs(&self) -> usize {
        self.epochs
    }

    /// `(ω, ω')` of the joint similarity `J = Σ ω_l x_l − Σ ω'_l x_{L+l}` (so that
    /// `score = b − J`), or `None` for an unconstrained model.
    pub fn joint_weights(&self) -> Option<(Vec<f64>, Vec<f64>)> {
        let l = self.rank1_features?;
        let (rank1, rest) = self.weights.split_at(l.min(self.weights.len()));
        Some((rank1.iter().map(|w| -w).collect(), rest.to_vec()))
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.weights.is_empty()
            || self.weights.iter().any(|w| !w.is_finite())
            || !self.intercept.is_finite()
        {
            return Err(DetectError::invalid_model(ModelIssue::Affine {
                model: "a linear model",
            }));
        }
        if let Some(l) = self.rank1_features {
            if l > self.weights.len() {
                return Err(DetectError::invalid_model(ModelIssue::Rank1Weights {
                    rank1: l,
                    weights: self.weights.len(),
                }));
            }
            let (rank1, rest) = self.weights.split_at(l);
            if rank1.iter().any(|&w| w > 0.0) || rest.iter().any(|&w| w < 0.0) {
                return Err(DetectError::invalid_model(ModelIssue::SignConstraints));
            }
        }
        Ok(())
    }
}

/// Projects `w` onto `w[..l] ≤ 0`, `w[l..] ≥ 0`.
fn project(weights: &mut [f64], rank1: usize) {
    for (j, w) in weights.iter_mut().enumerate() {
        *w = if j < rank1 { w.min(0.0) } else { w.max(0.0) };
    }
}

impl Detector for LinearModel {
    type Options = LinearOptions;

    fn fit(options: &LinearOptions, x: &Array2<f64>, y: &[bool]) -> Result<Self> {
        options.validate()?;
        check_training(x, y)?;
        let (n, d) = x.dim();
        let rank1_features = options.resolve_rank1(d)?;
        let rows: Vec<f64> = x.iter().copied().collect(); // row-major copy
        let alpha = options.alpha;
        let rho = options.l1_ratio;
        // scikit-learn's heuristic: η₀ = typw / max(1, −dloss(−typw, 1)) with dloss = −1.
        let typw = (1.0 / alpha.sqrt()).sqrt();
        let optimal_init = 1.0 / (typw * alpha);

        let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
        let mut order: Vec<usize> = (0..n).collect();
        let (mut w, mut b) = (vec![0.0; d], 0.0);
        let (mut u, mut q) = (0.0, vec![0.0; d]);
        let mut t = 1.0;
        let (mut best_loss, mut no_improvement) = (f64::INFINITY, 0);
        let mut epochs = 0;
        for _ in 0..options.max_iter {
            epochs += 1;
            if options.shuffle {
                order.shuffle(&mut rng);
            }
            let mut sum_loss = 0.0;
            for &i in &order {
                let xi = &rows[i * d..(i + 1) * d];
                let yi = if y[i] { 1.0 } else { -1.0 };
                let p: f64 = w.iter().zip(xi).map(|(w, x)| w * x).sum::<f64>() + b;
                let eta = 1.0 / (alpha * (optimal_init + t - 1.0));
                let margin = yi * p;
                sum_loss += (1.0 - margin).max(0.0);
                let scale = (1.0 - (1.0 - rho) * eta * alpha).max(0.0);
                w.iter_mut().for_each(|w| *w *= scale);
                if margin <= 1.0 {
                    let update = eta * yi;
                    w.iter_mut().zip(xi).for_each(|(w, x)| *w += update * x);
                    if options.fit_intercept {
                        b += update;
                    }
                }
                if rho > 0.0 {
                    u += rho * eta * alpha;
                    for (wj, qj) in w.iter_mut().zip(&mut q) {
                        let before = *wj;
                        if before > 0.0 {
                            *wj = (before - (u + *qj)).max(0.0);
                        } else if before < 0.0 {
                            *wj = (before + (u - *qj)).min(0.0);
                        }
                        *qj += *wj - before;
                    }
                }
                if let Some(l) = rank1_features {
                    project(&mut w, l);
                }
                t += 1.0;
            }
            if !(b.is_finite() && w.iter().all(|w| w.is_finite())) {
                return Err(DetectError::training(TrainingIssue::Diverged {
                    epoch: epochs,
                }));
            }
            if let Some(tol) = options.tol {
                if sum_loss > best_loss - tol * n as f64 {
                    no_improvement += 1;
                } else {
                    no_improvement = 0;
                }
                if sum_loss < best_loss {
                    best_loss = sum_loss;
                }
                if no_improvement >= options.n_iter_no_change {
                    break;
                }
            }
        }
        Ok(LinearModel {
            options: options.clone(),
            weights: w,
            intercept: b,
            rank1_features,
            epochs,
        })
    }

    fn score(&self, x: &Array2<f64>) -> Result<Vec<f64>> {
        check_scoring(x, self.weights.len())?;
        Ok(x.axis_iter(Axis(0))
            .map(|row| {
                let dot: f64 = row.iter().zip(&self.weights).map(|(x, w)| x * w).sum();
                dot + self.intercept
            })
            .collect())
    }

    fn n_features(&self) -> usize {
        self.weights.len()
    }
}
