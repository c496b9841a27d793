//! Gradient boosting for the binary log-loss (scikit-learn `GradientBoostingClassifier`
//! semantics, `loss="deviance"`/`"log_loss"`, `subsample=1`).
//!
//! `F_0 = ln(p/(1−p))` with `p` the fraction of adversarial training rows; stage `m` fits a
//! squared-error regression tree of depth `max_depth` to the residuals `r = y − σ(F)`, then
//! replaces each leaf value by the Newton step `Σ r / Σ σ(F)(1 − σ(F))` over the leaf's
//! training rows (0 if the denominator is below 1e-150) and sets `F += lr · tree(x)`.
//! Score = `σ(F(x))` (`predict_proba[:, 1]`). scikit-learn's `friedman_mse` split criterion
//! selects the same splits as the plain squared error used here.

use ndarray::{Array2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::data::{Columns, check_scoring, check_training, sigmoid};
use crate::detector::Detector;
use crate::error::{DetectError, ModelIssue, Result, TrainingIssue};
use crate::options;
use crate::tree::{Criterion, Tree, TreeParams};

/// Hyper-parameters of [`GradientBoosting`]; the default is scikit-learn's (100 trees of
/// depth 3, learning rate 0.1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoostingOptions {
    /// Number of boosting stages (default 100).
    pub n_estimators: usize,
    /// Shrinkage applied to every tree (default 0.1; must be > 0).
    pub learning_rate: f64,
    /// Depth of each regression tree (default 3; at least 1).
    pub max_depth: usize,
    /// Seed (only breaks ties between equally good splits via the feature order).
    pub seed: u64,
}

impl Default for BoostingOptions {
    fn default() -> Self {
        BoostingOptions {
            n_estimators: 100,
            learning_rate: 0.1,
            max_depth: 3,
            seed: 0,
        }
    }
}

impl BoostingOptions {
    /// Sets the seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    fn validate(&self) -> Result<()> {
        options::at_least_one("n_estimators", self.n_estimators)?;
        options::at_least_one("max_depth", self.max_depth)?;
        options::positive("learning_rate", self.learning_rate)
    }
}

/// A fitted gradient-boosting classifier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GradientBoosting {
    options: BoostingOptions,
    n_features: usize,
    /// Initial raw score F_0 (prior log-odds).
    init: f64,
    trees: Vec<Tree>,
}

impl GradientBoosting {
    /// The options the model was trained with.
    pub fn options(&self) -> &BoostingOptions {
        &self.options
    }

    /// The prior log-odds `F_0`.
    pub fn init(&self) -> f64 {
        self.init
    }

    /// Number of trees.
    pub fn n_trees(&self) -> usize {
        self.trees.len()
    }

    /// The raw score `F(x)` (log-odds) for every row.
    pub fn decision_function(&self, x: &Array2<f64>) -> Result<Vec<f64>> {
        check_scoring(x, self.n_features)?;
        let lr = self.options.learning_rate;
        Ok(x.axis_iter(Axis(0))
            .map(|row| {
                self.trees
                    .iter()
                    .fold(self.init, |f, tree| f + lr * tree.predict(|j| row[j]))
            })
            .collect())
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.trees.is_empty() {
            return Err(DetectError::invalid_model(ModelIssue::NoTrees {
                model: "gradient boosting",
            }));
        }
        if !self.init.is_finite() {
            return Err(DetectError::invalid_model(ModelIssue::Prior {
                value: self.init,
            }));
        }
        self.trees
            .iter()
            .try_for_each(|tree| tree.validate(self.n_features))
    }
}

impl Detector for GradientBoosting {
    type Options = BoostingOptions;

    fn fit(options: &BoostingOptions, x: &Array2<f64>, y: &[bool]) -> Result<Self> {
        options.validate()?;
        let targets = check_training(x, y)?;
        let columns = Columns::new(x);
        let n = columns.n_rows();
        let prior = targets.iter().sum::<f64>() / n as f64;
        let init = (prior / (1.0 - prior)).ln();
        let params = TreeParams {
            criterion: Criterion::SquaredError,
            max_depth: Some(options.max_depth),
            max_features: columns.n_features(),
        };
        let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
        let ones = vec![1.0; n];
        let mut raw = vec![init; n];
        let mut trees = Vec::with_capacity(options.n_estimators);
        let mut leaf_of = vec![0; n];
        for _ in 0..options.n_estimators {
            let prob: Vec<f64> = raw.iter().map(|&f| sigmoid(f)).collect();
            let residual: Vec<f64> = targets.iter().zip(&prob).map(|(y, p)| y - p).collect();
            let mut tree = Tree::fit(&columns, &residual, &ones, params, &mut rng);
            // Newton step per leaf.
            let mut numerator = vec![0.0; tree.n_nodes()];
            let mut denominator = vec![0.0; tree.n_nodes()];
            for i in 0..n {
                let leaf = tree.leaf_index(|f| columns.get(i, f));
                leaf_of[i] = leaf;
                numerator[leaf] += residual[i];
                denominator[leaf] += prob[i] * (1.0 - prob[i]);
            }
            let values: Vec<f64> = numerator
                .iter()
                .zip(&denominator)
                .map(|(&num, &den)| if den.abs() < 1e-150 { 0.0 } else { num / den })
                .collect();
            for (leaf, &value) in values.iter().enumerate() {
                tree.set_leaf_value(leaf, value);
            }
            for (f, &leaf) in raw.iter_mut().zip(&leaf_of) {
                *f += options.learning_rate * values[leaf];
            }
            if raw.iter().any(|f| !f.is_finite()) {
                return Err(DetectError::training(TrainingIssue::NonFiniteScore));
            }
            trees.push(tree);
        }
        Ok(GradientBoosting {
            options: options.clone(),
            n_features: x.ncols(),
            init,
            trees,
        })
    }

    fn score(&self, x: &Array2<f64>) -> Result<Vec<f64>> {
        Ok(self
            .decision_function(x)?
            .into_iter()
            .map(sigmoid)
            .collect())
    }

    fn n_features(&self) -> usize {
        self.n_features
    }
}
