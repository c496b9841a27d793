//! Random forest (scikit-learn `RandomForestClassifier` semantics): bootstrap samples,
//! Gini trees grown until their leaves are pure, √(features) candidate features per node;
//! score = mean over trees of the leaf's class-1 frequency (`predict_proba[:, 1]`).

use ndarray::{Array2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::{Columns, check_scoring, check_training};
use crate::detector::Detector;
use crate::error::{DetectError, ModelIssue, Result};
use crate::options;
use crate::tree::{Criterion, Tree, TreeParams};

/// How many features each tree node examines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaxFeatures {
    /// `max(1, ⌊√n_features⌋)` (scikit-learn's `"sqrt"` / `"auto"`).
    Sqrt,
    /// `max(1, ⌊log₂ n_features⌋)`.
    Log2,
    /// All features (bagged trees).
    All,
    /// A fixed number (at least 1; more than the feature count means all).
    Count(usize),
}

impl MaxFeatures {
    /// The number of features examined per node for `n_features` features.
    pub fn resolve(self, n_features: usize) -> usize {
        let n = match self {
            MaxFeatures::Sqrt => (n_features as f64).sqrt().floor() as usize,
            MaxFeatures::Log2 => (n_features as f64).log2().floor() as usize,
            MaxFeatures::All => n_features,
            MaxFeatures::Count(count) => count.min(n_features),
        };
        n.max(1)
    }
}

/// Hyper-parameters of [`RandomForest`]; the default is the original's
/// `RandomForestClassifier(n_estimators=100)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForestOptions {
    /// Number of trees (default 100).
    pub n_trees: usize,
    /// Maximum tree depth; `None` (default) grows until the leaves are pure.
    pub max_depth: Option<usize>,
    /// Candidate features per node (default √features).
    pub max_features: MaxFeatures,
    /// Train each tree on a bootstrap sample (default `true`); otherwise on all rows.
    pub bootstrap: bool,
    /// Seed of all random choices; tree `i` uses ChaCha8 stream `i` of this seed.
    pub seed: u64,
}

impl Default for ForestOptions {
    fn default() -> Self {
        ForestOptions {
            n_trees: 100,
            max_depth: None,
            max_features: MaxFeatures::Sqrt,
            bootstrap: true,
            seed: 0,
        }
    }
}

impl ForestOptions {
    /// Sets the seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    fn validate(&self) -> Result<()> {
        options::at_least_one("n_trees", self.n_trees)?;
        if let MaxFeatures::Count(count) = self.max_features {
            options::at_least_one("max_features", count)?;
        }
        Ok(())
    }
}

/// A fitted random forest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RandomForest {
    options: ForestOptions,
    n_features: usize,
    trees: Vec<Tree>,
}

impl RandomForest {
    /// The options the forest was trained with.
    pub fn options(&self) -> &ForestOptions {
        &self.options
    }

    /// Number of trees.
    pub fn n_trees(&self) -> usize {
        self.trees.len()
    }

    /// Total number of tree nodes (a size indicator).
    pub fn n_nodes(&self) -> usize {
        self.trees.iter().map(Tree::n_nodes).sum()
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.trees.is_empty() {
            return Err(DetectError::invalid_model(ModelIssue::NoTrees {
                model: "a random forest",
            }));
        }
        self.trees
            .iter()
            .try_for_each(|tree| tree.validate(self.n_features))
    }
}

impl Detector for RandomForest {
    type Options = ForestOptions;

    fn fit(options: &ForestOptions, x: &Array2<f64>, y: &[bool]) -> Result<Self> {
        options.validate()?;
        let targets = check_training(x, y)?;
        let columns = Columns::new(x);
        let n = columns.n_rows();
        let params = TreeParams {
            criterion: Criterion::Gini,
            max_depth: options.max_depth,
            max_features: options.max_features.resolve(columns.n_features()),
        };
        let trees = (0..options.n_trees)
            .into_par_iter()
            .map(|i| {
                let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
                rng.set_stream(i as u64);
                let weights = if options.bootstrap {
                    let mut counts = vec![0.0; n];
                    for _ in 0..n {
                        counts[rng.random_range(0..n)] += 1.0;
                    }
                    counts
                } else {
                    vec![1.0; n]
                };
                Tree::fit(&columns, &targets, &weights, params, &mut rng)
            })
            .collect();
        Ok(RandomForest {
            options: options.clone(),
            n_features: x.ncols(),
            trees,
        })
    }

    fn score(&self, x: &Array2<f64>) -> Result<Vec<f64>> {
        check_scoring(x, self.n_features)?;
        let n_trees = self.trees.len() as f64;
        Ok(x.axis_iter(Axis(0))
            .map(|row| {
                let sum: f64 = self.trees.iter().map(|t| t.predict(|f| row[f])).sum();
                sum / n_trees
            })
            .collect())
    }

    fn n_features(&self) -> usize {
        self.n_features
    }
}
