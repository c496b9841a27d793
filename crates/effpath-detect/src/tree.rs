//! A compact CART shared by the random forest, AdaBoost and gradient boosting.
//!
//! Binary splits `x[feature] <= threshold` with the threshold half-way between two
//! consecutive distinct values; weighted samples (weight 0 = not in the sample); the Gini
//! criterion for classification (leaf value = weighted fraction of class 1) or the squared
//! error for regression (leaf value = weighted mean). As in scikit-learn, a node is split
//! whenever it is impure, has at least two samples, is above `max_depth` and has a
//! non-constant feature — even if the best split does not lower the impurity — and the
//! features of a node are examined in a random order until `max_features` non-constant ones
//! have been seen. The best split is the first one (in that order, then by threshold) with the
//! lowest cost.

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::data::Columns;
use crate::error::{DetectError, ModelIssue, NodeFault, Result};

/// What a tree minimises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Criterion {
    /// Weighted Gini impurity of 0/1 labels.
    Gini,
    /// Weighted squared error (variance) of real targets.
    SquaredError,
}

impl Criterion {
    /// Cost of one side of a split with total weight `w` and weighted target sum `s`, up to
    /// terms that do not depend on the split: `w · gini` / `−s²/w`.
    fn cost(self, w: f64, s: f64) -> f64 {
        if w <= 0.0 {
            return 0.0;
        }
        match self {
            Criterion::Gini => s * (w - s) / w,
            Criterion::SquaredError => -s * s / w,
        }
    }
}

/// Growth limits of one tree.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TreeParams {
    pub(crate) criterion: Criterion,
    /// Maximum depth (root = depth 0); `None` = grow until the leaves are pure.
    pub(crate) max_depth: Option<usize>,
    /// Non-constant features examined per node (all of them if ≥ the number of features).
    pub(crate) max_features: usize,
}

/// One node; children always have larger indices than their parent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Node {
    /// Go to `left` if `x[feature] <= threshold`, else to `right`.
    Split {
        feature: usize,
        threshold: f64,
        left: usize,
        right: usize,
    },
    /// A terminal node and its prediction.
    Leaf { value: f64 },
}

/// A fitted tree (nodes in depth-first order, the root first).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Tree {
    nodes: Vec<Node>,
}

/// Weighted sums over a node's samples.
struct Stats {
    w: f64,
    s: f64,
    ss: f64,
}

impl Stats {
    fn of(samples: &[usize], y: &[f64], weights: &[f64]) -> Self {
        let mut stats = Stats {
            w: 0.0,
            s: 0.0,
            ss: 0.0,
        };
        for &i in samples {
            stats.w += weights[i];
            stats.s += weights[i] * y[i];
            stats.ss += weights[i] * y[i] * y[i];
        }
        stats
    }

    fn mean(&self) -> f64 {
        if self.w > 0.0 { self.s / self.w } else { 0.0 }
    }

    fn is_impure(&self, criterion: Criterion) -> bool {
        match criterion {
            Criterion::Gini => self.s > 0.0 && self.s < self.w,
            Criterion::SquaredError => {
                self.w > 0.0 && self.ss / self.w - self.mean() * self.mean() > f64::EPSILON
            }
        }
    }
}

/// Scratch space of one tree fit.
struct Builder<'a, R> {
    columns: &'a Columns,
    y: &'a [f64],
    weights: &'a [f64],
    params: TreeParams,
    rng: &'a mut R,
    features: Vec<usize>,
    sorted: Vec<(f64, usize)>,
}

impl<R: Rng> Builder<'_, R> {
    /// The best `(feature, threshold)` for the node holding `samples`, or `None` if every
    /// feature is constant there.
    fn best_split(&mut self, samples: &[usize], total: &Stats) -> Option<(usize, f64)> {
        let n_features = self.features.len();
        let mut best: Option<(f64, usize, f64)> = None;
        let mut visited = 0;
        for k in 0..n_features {
            if visited >= self.params.max_features {
                break;
            }
            let pick = self.rng.random_range(k..n_features);
            self.features.swap(k, pick);
            let feature = self.features[k];
            let column = self.columns.column(feature);
            self.sorted.clear();
            self.sorted.extend(samples.iter().map(|&i| (column[i], i)));
            self.sorted.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
            let (Some(first), Some(last)) = (self.sorted.first(), self.sorted.last()) else {
                return None;
            };
            if first.0 == last.0 {
                continue;
            }
            visited += 1;
            let (mut w_left, mut s_left) = (0.0, 0.0);
            for pair in self.sorted.windows(2) {
                let ((value, i), (next, _)) = (pair[0], pair[1]);
                w_left += self.weights[i];
                s_left += self.weights[i] * self.y[i];
                if value == next {
                    continue;
                }
                let criterion = self.params.criterion;
                let cost = criterion.cost(w_left, s_left)
                    + criterion.cost(total.w - w_left, total.s - s_left);
                if best.is_none_or(|(best_cost, _, _)| cost < best_cost) {
                    best = Some((cost, feature, midpoint(value, next)));
                }
            }
        }
        best.map(|(_, feature, threshold)| (feature, threshold))
    }
}

/// A threshold strictly between `a < b` that sends `a` left and `b` right.
fn midpoint(a: f64, b: f64) -> f64 {
    let mid = a / 2.0 + b / 2.0;
    if mid >= b || mid < a { a } else { mid }
}

/// Moves the samples satisfying `goes_left` to the front; returns how many there are.
fn partition(samples: &mut [usize], goes_left: impl Fn(usize) -> bool) -> usize {
    let mut n_left = 0;
    for k in 0..samples.len() {
        if goes_left(samples[k]) {
            samples.swap(n_left, k);
            n_left += 1;
        }
    }
    n_left
}

impl Tree {
    /// Fits a tree to targets `y` with sample `weights` (both indexed by row of `columns`;
    /// rows of weight 0 are left out).
    pub(crate) fn fit(
        columns: &Columns,
        y: &[f64],
        weights: &[f64],
        params: TreeParams,
        rng: &mut impl Rng,
    ) -> Tree {
        let mut samples: Vec<usize> = (0..columns.n_rows())
            .filter(|&i| weights[i] > 0.0)
            .collect();
        let mut builder = Builder {
            columns,
            y,
            weights,
            params,
            rng,
            features: (0..columns.n_features()).collect(),
            sorted: Vec::with_capacity(samples.len()),
        };
        let mut nodes = vec![Node::Leaf { value: 0.0 }];
        // (node id, start, end, depth): the node's samples are samples[start..end].
        let mut stack = vec![(0, 0, samples.len(), 0)];
        while let Some((id, start, end, depth)) = stack.pop() {
            let node_samples = &mut samples[start..end];
            let stats = Stats::of(node_samples, y, weights);
            let splittable = node_samples.len() >= 2
                && params.max_depth.is_none_or(|max| depth < max)
                && stats.is_impure(params.criterion);
            let split = if splittable {
                builder.best_split(node_samples, &stats)
            } else {
                None
            };
            let Some((feature, threshold)) = split else {
                nodes[id] = Node::Leaf {
                    value: stats.mean(),
                };
                continue;
            };
            let column = columns.column(feature);
            let n_left = partition(node_samples, |i| column[i] <= threshold);
            let left = nodes.len();
            nodes.push(Node::Leaf { value: 0.0 });
            nodes.push(Node::Leaf { value: 0.0 });
            nodes[id] = Node::Split {
                feature,
                threshold,
                left,
                right: left + 1,
            };
            stack.push((left + 1, start + n_left, end, depth + 1));
            stack.push((left, start, start + n_left, depth + 1));
        }
        Tree { nodes }
    }

    /// Index of the leaf reached by a sample whose feature `f` has the value `value_of(f)`.
    pub(crate) fn leaf_index(&self, value_of: impl Fn(usize) -> f64) -> usize {
        let mut i = 0;
        while let Some(&Node::Split {
            feature,
            threshold,
            left,
            right,
        }) = self.nodes.get(i)
        {
            i = if value_of(feature) <= threshold {
                left
            } else {
                right
            };
        }
        i
    }

    /// The value of the leaf reached by a sample (see [`Tree::leaf_index`]).
    pub(crate) fn predict(&self, value_of: impl Fn(usize) -> f64) -> f64 {
        match self.nodes.get(self.leaf_index(value_of)) {
            Some(&Node::Leaf { value }) => value,
            // Unreachable for a tree built here or validated by `Tree::validate`.
            _ => f64::NAN,
        }
    }

    /// Replaces the value of leaf `leaf` (gradient boosting's Newton step).
    pub(crate) fn set_leaf_value(&mut self, leaf: usize, new_value: f64) {
        if let Some(Node::Leaf { value }) = self.nodes.get_mut(leaf) {
            *value = new_value;
        }
    }

    /// Number of nodes.
    pub(crate) fn n_nodes(&self) -> usize {
        self.nodes.len()
    }

    /// Depth (a single leaf has depth 0).
    pub(crate) fn depth(&self) -> usize {
        let mut depth = vec![0; self.nodes.len()];
        let mut max = 0;
        for (i, node) in self.nodes.iter().enumerate() {
            if let Node::Split { left, right, .. } = *node {
                let child_depth = depth[i] + 1;
                for child in [left, right] {
                    if let Some(d) = depth.get_mut(child) {
                        *d = child_depth;
                        max = max.max(child_depth);
                    }
                }
            }
        }
        max
    }

    /// Checks a deserialised tree: at least one node, children after their parent and in
    /// range, features in range, finite numbers.
    pub(crate) fn validate(&self, n_features: usize) -> Result<()> {
        if self.nodes.is_empty() {
            return Err(DetectError::invalid_model(ModelIssue::EmptyTree));
        }
        let n = self.nodes.len();
        for (i, node) in self.nodes.iter().enumerate() {
            let fault = match *node {
                Node::Split { feature, .. } if feature >= n_features => Some(NodeFault::Feature {
                    feature,
                    features: n_features,
                }),
                Node::Split { threshold, .. } if !threshold.is_finite() => {
                    Some(NodeFault::Threshold { value: threshold })
                }
                Node::Split { left, right, .. } => [left, right]
                    .into_iter()
                    .find(|c| !(i + 1..n).contains(c))
                    .map(|child| NodeFault::Child { child }),
                Node::Leaf { value } => (!value.is_finite()).then_some(NodeFault::Leaf { value }),
            };
            if let Some(fault) = fault {
                return Err(DetectError::invalid_model(ModelIssue::TreeNode {
                    index: i,
                    nodes: n,
                    fault,
                }));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "tree_tests.rs"]
mod tests;
