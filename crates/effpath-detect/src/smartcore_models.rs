//! Two detectors trained by `smartcore` 0.7: a linear support-vector classifier
//! ([`Svm`], smartcore's `SVC`, LaSVM solver) and L2-regularised logistic regression
//! ([`Logistic`], smartcore's `LogisticRegression`, L-BFGS). See `docs/decisions.md`
//! (decision 24) for why these two use smartcore and the trees do not.
//!
//! Both fitted models are affine, `f(x) = w·x + b`, and are stored as `(w, b)` so they
//! serialise like the other detectors and score without smartcore:
//!
//! * **SVM** — the score is the SVC decision function (signed margin; adversarial = +1).
//!   smartcore's fitted `SVC` keeps its support vectors private and borrows its training
//!   matrix and parameters, so it cannot be stored; with the linear kernel its decision
//!   function is `b + Σᵢ αᵢ ⟨svᵢ, x⟩`, and `(w, b)` are read back from it exactly (to
//!   rounding) by evaluating it at the origin (`b`) and at each unit vector (`b + w_j`).
//! * **logistic** — the score is the probability of "adversarial", `σ(w·x + b)`, with
//!   smartcore's coefficients and intercept.
//!
//! smartcore's errors are boxed as the source of [`DetectError::Solver`], so its types do
//! not leak into this crate's API.

use ndarray::{Array1, Array2, Axis};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use smartcore::linear::logistic_regression::{LogisticRegression, LogisticRegressionParameters};
use smartcore::svm::Kernels;
use smartcore::svm::svc::{SVC, SVCParameters};

use crate::data::{check_scoring, check_training, sigmoid};
use crate::detector::Detector;
use crate::error::{DetectError, ModelIssue, OptionIssue, Result, TrainingIssue};
use crate::options;

/// Hyper-parameters of [`Svm`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SvmOptions {
    /// Regularisation parameter C (> 0; default 1).
    pub c: f64,
    /// Passes of the LaSVM solver over the training rows (≥ 1; default 2, smartcore's).
    pub epochs: usize,
    /// Stopping tolerance of the solver (> 0; default 1e-3).
    pub tol: f64,
    /// At most this many training rows are used (default `Some(5000)`): larger training
    /// sets are subsampled per class, proportionally, by a seeded shuffle. The solver's
    /// time grows faster than linearly with the rows (see decision 24); `None` = all rows.
    pub max_train_rows: Option<usize>,
    /// Seed of the solver's shuffling and of the subsampling.
    pub seed: u64,
}

impl Default for SvmOptions {
    fn default() -> Self {
        SvmOptions {
            c: 1.0,
            epochs: 2,
            tol: 1e-3,
            max_train_rows: Some(5000),
            seed: 0,
        }
    }
}

impl SvmOptions {
    /// Sets the seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    fn validate(&self) -> Result<()> {
        options::positive("c", self.c)?;
        options::at_least_one("epochs", self.epochs)?;
        options::positive("tol", self.tol)?;
        if let Some(value) = self.max_train_rows.filter(|&m| m < 2) {
            return Err(DetectError::option(
                "max_train_rows",
                OptionIssue::TooFewRows { value },
            ));
        }
        Ok(())
    }
}

/// Hyper-parameters of [`Logistic`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogisticOptions {
    /// L2 penalty α of `Σ log-loss + α/2 ‖w‖²` (≥ 0; default 1, scikit-learn's `C = 1`).
    pub alpha: f64,
}

impl Default for LogisticOptions {
    fn default() -> Self {
        LogisticOptions { alpha: 1.0 }
    }
}

impl LogisticOptions {
    fn validate(&self) -> Result<()> {
        if !(self.alpha.is_finite() && self.alpha >= 0.0) {
            return Err(DetectError::option(
                "alpha",
                OptionIssue::Negative { value: self.alpha },
            ));
        }
        Ok(())
    }
}

/// `w·x + b` for each row.
fn affine(x: &Array2<f64>, weights: &[f64], intercept: f64) -> Vec<f64> {
    x.axis_iter(Axis(0))
        .map(|row| row.iter().zip(weights).map(|(x, w)| x * w).sum::<f64>() + intercept)
        .collect()
}

fn validate_affine(weights: &[f64], intercept: f64, model: &'static str) -> Result<()> {
    if weights.is_empty() || weights.iter().any(|w| !w.is_finite()) || !intercept.is_finite() {
        return Err(DetectError::invalid_model(ModelIssue::Affine { model }));
    }
    Ok(())
}

fn solver_error(model: &'static str) -> impl Fn(smartcore::error::Failed) -> DetectError {
    move |e| DetectError::Solver {
        model,
        source: Box::new(e),
    }
}

/// Row indices used for training: all, or a seeded per-class proportional subsample of
/// `max` rows (each class keeps at least one row), in increasing order.
fn subsample(y: &[bool], max: Option<usize>, seed: u64) -> Vec<usize> {
    let n = y.len();
    let Some(max) = max.filter(|&m| m < n) else {
        return (0..n).collect();
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut keep = Vec::with_capacity(max);
    let positives = y.iter().filter(|&&l| l).count();
    let take_pos = ((positives as f64 * max as f64 / n as f64).round() as usize)
        .clamp(1, max - 1)
        .min(positives);
    for (label, take) in [(true, take_pos), (false, max - take_pos)] {
        let mut rows: Vec<usize> = (0..n).filter(|&i| y[i] == label).collect();
        rows.shuffle(&mut rng);
        keep.extend(rows.into_iter().take(take));
    }
    keep.sort_unstable();
    keep
}

/// A linear support-vector classifier (smartcore `SVC`, linear kernel), stored as `(w, b)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Svm {
    options: SvmOptions,
    weights: Vec<f64>,
    intercept: f64,
    /// Training rows actually used (after `max_train_rows`).
    train_rows: usize,
}

impl Svm {
    /// The options the model was trained with.
    pub fn options(&self) -> &SvmOptions {
        &self.options
    }

    /// `w` of the decision function `w·x + b`.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// `b` of the decision function.
    pub fn intercept(&self) -> f64 {
        self.intercept
    }

    /// The number of training rows the solver saw (≤ `max_train_rows`).
    pub fn train_rows(&self) -> usize {
        self.train_rows
    }

    pub(crate) fn validate(&self) -> Result<()> {
        validate_affine(&self.weights, self.intercept, "an SVM")
    }
}

impl Detector for Svm {
    type Options = SvmOptions;

    fn fit(options: &SvmOptions, x: &Array2<f64>, y: &[bool]) -> Result<Self> {
        options.validate()?;
        check_training(x, y)?;
        let mut rows = subsample(y, options.max_train_rows, options.seed);
        let train_rows = rows.len();
        // smartcore 0.7's SVC solver copies a row as `row.take(n_rows)`, truncating the
        // support vectors when there are fewer rows than features (and then panicking in
        // the decision function). With fewer rows than features the training set is
        // repeated whole until it has at least as many rows as features.
        let d = x.ncols();
        if train_rows < d {
            let copies = d.div_ceil(train_rows);
            rows = rows.repeat(copies);
        }
        let xs = x.select(Axis(0), &rows);
        let ys: Array1<i32> = rows.iter().map(|&i| if y[i] { 1 } else { -1 }).collect();
        let params: SVCParameters<f64, i32, Array2<f64>, Array1<i32>> = SVCParameters::default()
            .with_c(options.c)
            .with_epoch(options.epochs)
            .with_tol(options.tol)
            .with_kernel(Kernels::linear())
            .with_seed(Some(options.seed));
        let svc = SVC::fit(&xs, &ys, &params).map_err(solver_error("svm"))?;
        // The decision function at the origin and at each unit vector: b, b + w_j.
        let probe = Array2::from_shape_fn((d + 1, d), |(r, c)| f64::from(u8::from(r == c + 1)));
        let f = svc.decision_function(&probe).map_err(solver_error("svm"))?;
        let intercept = f[0];
        let weights: Vec<f64> = f[1..].iter().map(|v| v - intercept).collect();
        let model = Svm {
            options: options.clone(),
            weights,
            intercept,
            train_rows,
        };
        model
            .validate()
            .map_err(|_| DetectError::training(TrainingIssue::SolverModel { solver: "SVM" }))?;
        Ok(model)
    }

    fn score(&self, x: &Array2<f64>) -> Result<Vec<f64>> {
        check_scoring(x, self.weights.len())?;
        Ok(affine(x, &self.weights, self.intercept))
    }

    fn n_features(&self) -> usize {
        self.weights.len()
    }
}

/// Logistic regression (smartcore, L-BFGS), stored as `(w, b)`; scores are probabilities.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Logistic {
    options: LogisticOptions,
    weights: Vec<f64>,
    intercept: f64,
}

impl Logistic {
    /// The options the model was trained with.
    pub fn options(&self) -> &LogisticOptions {
        &self.options
    }

    /// `w` of the log-odds `w·x + b`.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// `b` of the log-odds.
    pub fn intercept(&self) -> f64 {
        self.intercept
    }

    pub(crate) fn validate(&self) -> Result<()> {
        validate_affine(&self.weights, self.intercept, "a logistic model")
    }
}

impl Detector for Logistic {
    type Options = LogisticOptions;

    fn fit(options: &LogisticOptions, x: &Array2<f64>, y: &[bool]) -> Result<Self> {
        options.validate()?;
        check_training(x, y)?;
        // Labels 0/1: smartcore sorts the classes, so the model's positive class is 1.
        let ys: Array1<i32> = y.iter().map(|&l| i32::from(l)).collect();
        let params = LogisticRegressionParameters::default().with_alpha(options.alpha);
        let xs = x.to_owned();
        let lr = LogisticRegression::fit(&xs, &ys, params).map_err(solver_error("logistic"))?;
        let weights: Vec<f64> = lr.coefficients().iter().copied().collect();
        let intercept = lr.intercept().iter().copied().next().unwrap_or(f64::NAN);
        let model = Logistic {
            options: options.clone(),
            weights,
            intercept,
        };
        if model.weights.len() != x.ncols() || model.validate().is_err() {
            return Err(DetectError::training(TrainingIssue::SolverModel {
                solver: "logistic",
            }));
        }
        Ok(model)
    }

    fn score(&self, x: &Array2<f64>) -> Result<Vec<f64>> {
        check_scoring(x, self.weights.len())?;
        Ok(affine(x, &self.weights, self.intercept)
            .into_iter()
            .map(sigmoid)
            .collect())
    }

    fn n_features(&self) -> usize {
        self.weights.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roc_auc;
    use rand_distr::{Distribution, Normal};

    /// Two Gaussian blobs in 6 dimensions, means 0.8 (normal) and 0.6 (adversarial), σ 0.08.
    fn blobs(n: usize, seed: u64) -> (Array2<f64>, Vec<bool>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let noise = Normal::new(0.0, 0.08).expect("normal");
        let y: Vec<bool> = (0..n).map(|i| i % 2 == 1).collect();
        let x = Array2::from_shape_fn((n, 6), |(i, _)| {
            (if y[i] { 0.6 } else { 0.8 }) + noise.sample(&mut rng)
        });
        (x, y)
    }

    #[test]
    fn svm_separates_blobs_deterministically_and_matches_smartcore() {
        let (x, y) = blobs(400, 1);
        let (xt, yt) = blobs(400, 2);
        let opts = SvmOptions::default().with_seed(3);
        let m = Svm::fit(&opts, &x, &y).expect("fit");
        let auc = roc_auc(&m.score(&xt).expect("score"), &yt).expect("auc");
        assert!(auc > 0.95, "AUC {auc}");
        assert_eq!(m, Svm::fit(&opts, &x, &y).expect("refit"), "deterministic");
        // (w, b) reproduce smartcore's own decision function on held-out rows.
        let ys: Array1<i32> = y.iter().map(|&l| if l { 1 } else { -1 }).collect();
        let params: SVCParameters<f64, i32, Array2<f64>, Array1<i32>> = SVCParameters::default()
            .with_c(opts.c)
            .with_epoch(opts.epochs)
            .with_tol(opts.tol)
            .with_kernel(Kernels::linear())
            .with_seed(Some(opts.seed));
        let svc = SVC::fit(&x, &ys, &params).expect("svc");
        let reference = svc.decision_function(&xt).expect("decision");
        for (a, b) in m.score(&xt).expect("score").iter().zip(&reference) {
            assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{a} vs {b}");
        }
        assert_eq!(m.train_rows(), 400);
    }

    #[test]
    fn svm_fits_fewer_rows_than_features() {
        // 6 rows, 10 features: smartcore alone would truncate its support vectors.
        let x = Array2::from_shape_fn((6, 10), |(i, j)| {
            (if i < 3 { 0.8 } else { 0.4 }) + 0.01 * ((i * 7 + j) % 5) as f64
        });
        let y = [false, false, false, true, true, true];
        let m = Svm::fit(&SvmOptions::default(), &x, &y).expect("fit");
        assert_eq!(m.train_rows(), 6);
        let s = m.score(&x).expect("score");
        assert!(s[3..].iter().all(|a| s[..3].iter().all(|n| a > n)), "{s:?}");
    }

    #[test]
    fn svm_subsamples_large_training_sets_per_class() {
        let (x, y) = blobs(600, 4);
        let opts = SvmOptions {
            max_train_rows: Some(100),
            ..SvmOptions::default()
        };
        let m = Svm::fit(&opts, &x, &y).expect("fit");
        assert_eq!(m.train_rows(), 100);
        let (xt, yt) = blobs(400, 5);
        assert!(roc_auc(&m.score(&xt).expect("score"), &yt).expect("auc") > 0.95);
        let keep = subsample(&y, Some(100), 0);
        assert_eq!(keep.len(), 100);
        assert_eq!(keep.iter().filter(|&&i| y[i]).count(), 50);
        assert!(keep.windows(2).all(|w| w[0] < w[1]));
        // A rare class keeps at least one row.
        let mut rare = vec![false; 1000];
        rare[7] = true;
        assert!(subsample(&rare, Some(10), 0).contains(&7));
    }

    #[test]
    fn logistic_separates_blobs_with_probabilities() {
        let (x, y) = blobs(400, 6);
        let (xt, yt) = blobs(400, 7);
        let m = Logistic::fit(&LogisticOptions::default(), &x, &y).expect("fit");
        let scores = m.score(&xt).expect("score");
        assert!(scores.iter().all(|p| (0.0..=1.0).contains(p)));
        let auc = roc_auc(&scores, &yt).expect("auc");
        assert!(auc > 0.95, "AUC {auc}");
        // Adversarial rows (low features) get the higher probability.
        assert!(m.weights().iter().all(|&w| w < 0.0), "{:?}", m.weights());
        assert_eq!(
            m,
            Logistic::fit(&LogisticOptions::default(), &x, &y).expect("refit")
        );
    }

    #[test]
    fn bad_options_and_inputs_are_errors() {
        let (x, y) = blobs(20, 8);
        for bad in [
            SvmOptions {
                c: 0.0,
                ..SvmOptions::default()
            },
            SvmOptions {
                epochs: 0,
                ..SvmOptions::default()
            },
            SvmOptions {
                max_train_rows: Some(1),
                ..SvmOptions::default()
            },
        ] {
            assert!(matches!(
                Svm::fit(&bad, &x, &y),
                Err(DetectError::InvalidOption { .. })
            ));
        }
        assert!(matches!(
            Logistic::fit(&LogisticOptions { alpha: -1.0 }, &x, &y),
            Err(DetectError::InvalidOption { .. })
        ));
        assert!(matches!(
            Svm::fit(&SvmOptions::default(), &x, &[false; 20]),
            Err(DetectError::MissingClass { .. })
        ));
        let m = Logistic::fit(&LogisticOptions::default(), &x, &y).expect("fit");
        assert!(matches!(
            m.score(&Array2::zeros((2, 3))),
            Err(DetectError::FeatureCount { .. })
        ));
    }
}
