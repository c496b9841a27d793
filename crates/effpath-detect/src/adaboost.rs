//! AdaBoost with decision stumps (scikit-learn `AdaBoostClassifier` semantics, binary case).
//!
//! Stumps are depth-1 Gini trees fitted to the exact sample weights (no resampling).
//!
//! * **SAMME** (default): stump `m` votes `h_m(x) = ±1` with weight
//!   `α_m = lr · ln((1 − ε_m)/ε_m)`; misclassified samples are re-weighted by `exp(α_m)`.
//!   Score = `σ(2 Σ α_m h_m(x) / Σ α_m)` (σ = logistic), which is scikit-learn's
//!   `predict_proba[:, 1]` for SAMME (version ≥ 1.4) and ranks like the weighted vote
//!   margin.
//! * **SAMME.R** (scikit-learn ≤ 1.5's default, so the original's): stump `m` contributes
//!   `ln p_m(x) − ln(1 − p_m(x))` (leaf class-1 frequency, clipped at machine epsilon);
//!   samples are re-weighted by `exp(−lr/2 · (ln p_true − ln p_other))`. Score = σ of the
//!   mean contribution.
//!
//! Boosting stops early when a stump is perfect (error 0, kept with weight 1) or no better
//! than chance (error ≥ ½, discarded; an error if it is the first stump), as in scikit-learn.

use ndarray::{Array2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::data::{Columns, check_scoring, check_training, sigmoid};
use crate::detector::Detector;
use crate::error::{DetectError, ModelIssue, Result, TrainingIssue};
use crate::options;
use crate::tree::{Criterion, Tree, TreeParams};

/// The boosting variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdaBoostAlgorithm {
    /// Discrete AdaBoost (weighted ±1 votes).
    Samme,
    /// Real AdaBoost (log-ratios of the stumps' class frequencies).
    SammeR,
}

/// Hyper-parameters of [`AdaBoost`]; the default is 50 stumps, learning rate 1, SAMME.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdaBoostOptions {
    /// Maximum number of stumps (default 50).
    pub n_estimators: usize,
    /// Shrinkage of the stump weights (default 1.0; must be > 0).
    pub learning_rate: f64,
    /// SAMME (default) or SAMME.R.
    pub algorithm: AdaBoostAlgorithm,
    /// Seed (only breaks ties between equally good splits via the feature order).
    pub seed: u64,
}

impl Default for AdaBoostOptions {
    fn default() -> Self {
        AdaBoostOptions {
            n_estimators: 50,
            learning_rate: 1.0,
            algorithm: AdaBoostAlgorithm::Samme,
            seed: 0,
        }
    }
}

impl AdaBoostOptions {
    /// Sets the seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    fn validate(&self) -> Result<()> {
        options::at_least_one("n_estimators", self.n_estimators)?;
        options::positive("learning_rate", self.learning_rate)
    }
}

/// A fitted AdaBoost ensemble of stumps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdaBoost {
    options: AdaBoostOptions,
    n_features: usize,
    stumps: Vec<Tree>,
    /// α_m for SAMME; 1 for every stump with SAMME.R.
    stump_weights: Vec<f64>,
}

/// Clips a class frequency away from 0 as scikit-learn does before taking logs.
fn clip(p: f64) -> f64 {
    p.max(f64::EPSILON)
}

impl AdaBoost {
    /// The options the ensemble was trained with.
    pub fn options(&self) -> &AdaBoostOptions {
        &self.options
    }

    /// Number of stumps kept (≤ `n_estimators`; fewer after an early stop).
    pub fn n_stumps(&self) -> usize {
        self.stumps.len()
    }

    /// The stump weights α_m (all 1 for SAMME.R).
    pub fn stump_weights(&self) -> &[f64] {
        &self.stump_weights
    }

    /// Depth of the deepest stump (1, or 0 if a stump could not split).
    pub fn max_depth(&self) -> usize {
        self.stumps.iter().map(Tree::depth).max().unwrap_or(0)
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.stumps.is_empty() || self.stumps.len() != self.stump_weights.len() {
            return Err(DetectError::invalid_model(ModelIssue::Stumps {
                stumps: self.stumps.len(),
                weights: self.stump_weights.len(),
            }));
        }
        if let Some((index, &value)) = self
            .stump_weights
            .iter()
            .enumerate()
            .find(|(_, w)| !w.is_finite())
        {
            return Err(DetectError::invalid_model(ModelIssue::StumpWeight {
                index,
                value,
            }));
        }
        self.stumps
            .iter()
            .try_for_each(|stump| stump.validate(self.n_features))
    }

    /// The contribution of one stump (before weighting) to the logit of the score.
    fn vote(&self, stump: &Tree, value_of: impl Fn(usize) -> f64) -> f64 {
        let p = stump.predict(value_of);
        match self.options.algorithm {
            AdaBoostAlgorithm::Samme => {
                if p > 0.5 {
                    2.0
                } else {
                    -2.0
                }
            }
            AdaBoostAlgorithm::SammeR => clip(p).ln() - clip(1.0 - p).ln(),
        }
    }
}

impl Detector for AdaBoost {
    type Options = AdaBoostOptions;

    fn fit(options: &AdaBoostOptions, x: &Array2<f64>, y: &[bool]) -> Result<Self> {
        options.validate()?;
        let targets = check_training(x, y)?;
        let columns = Columns::new(x);
        let n = columns.n_rows();
        let params = TreeParams {
            criterion: Criterion::Gini,
            max_depth: Some(1),
            max_features: columns.n_features(),
        };
        let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
        let mut weights = vec![1.0 / n as f64; n];
        let mut model = AdaBoost {
            options: options.clone(),
            n_features: x.ncols(),
            stumps: Vec::new(),
            stump_weights: Vec::new(),
        };
        let lr = options.learning_rate;
        for round in 0..options.n_estimators {
            let stump = Tree::fit(&columns, &targets, &weights, params, &mut rng);
            let proba: Vec<f64> = (0..n)
                .map(|i| stump.predict(|f| columns.get(i, f)))
                .collect();
            let wrong: Vec<bool> = (0..n)
                .map(|i| (proba[i] > 0.5) != (targets[i] > 0.5))
                .collect();
            let total: f64 = weights.iter().sum();
            let error = (0..n)
                .filter(|&i| wrong[i])
                .map(|i| weights[i])
                .sum::<f64>()
                / total;
            if error <= 0.0 {
                model.stumps.push(stump);
                model.stump_weights.push(1.0);
                break;
            }
            if error >= 0.5 {
                if model.stumps.is_empty() {
                    return Err(DetectError::training(TrainingIssue::ChanceStump { error }));
                }
                break;
            }
            let last = round + 1 == options.n_estimators;
            let alpha = match options.algorithm {
                AdaBoostAlgorithm::Samme => {
                    let alpha = lr * ((1.0 - error) / error).ln();
                    if !last {
                        for i in (0..n).filter(|&i| wrong[i]) {
                            weights[i] *= alpha.exp();
                        }
                    }
                    alpha
                }
                AdaBoostAlgorithm::SammeR => {
                    if !last {
                        for i in 0..n {
                            let (p_true, p_other) = if targets[i] > 0.5 {
                                (proba[i], 1.0 - proba[i])
                            } else {
                                (1.0 - proba[i], proba[i])
                            };
                            let exponent = -lr * 0.5 * (clip(p_true).ln() - clip(p_other).ln());
                            weights[i] *= exponent.exp();
                        }
                    }
                    1.0
                }
            };
            model.stumps.push(stump);
            model.stump_weights.push(alpha);
            let total: f64 = weights.iter().sum();
            if !(total.is_finite() && total > 0.0) {
                break;
            }
            for w in &mut weights {
                *w /= total;
            }
        }
        Ok(model)
    }

    fn score(&self, x: &Array2<f64>) -> Result<Vec<f64>> {
        check_scoring(x, self.n_features)?;
        let total: f64 = self.stump_weights.iter().sum();
        Ok(x.axis_iter(Axis(0))
            .map(|row| {
                let margin: f64 = self
                    .stumps
                    .iter()
                    .zip(&self.stump_weights)
                    .map(|(stump, alpha)| alpha * self.vote(stump, |f| row[f]))
                    .sum();
                sigmoid(margin / total)
            })
            .collect())
    }

    fn n_features(&self) -> usize {
        self.n_features
    }
}
