//! ROC curve and area under it, as scikit-learn's `roc_curve(drop_intermediate=False)` +
//! `auc` (trapezoid rule). Positive class = `true` (adversarial).

use crate::error::{DetectError, Result};

/// A receiver operating characteristic curve.
///
/// Point `i` is the classifier "adversarial iff score ≥ `thresholds[i]`". Thresholds run over
/// every distinct score in decreasing order (tied scores form one step), preceded by `+∞`,
/// so the curve starts at (0, 0) and ends at (1, 1); no intermediate point is dropped.
#[derive(Clone, Debug, PartialEq)]
pub struct Roc {
    fpr: Vec<f64>,
    tpr: Vec<f64>,
    thresholds: Vec<f64>,
}

impl Roc {
    /// False-positive rates (normal rows flagged / normal rows), non-decreasing.
    pub fn fpr(&self) -> &[f64] {
        &self.fpr
    }

    /// True-positive rates (adversarial rows flagged / adversarial rows), non-decreasing.
    pub fn tpr(&self) -> &[f64] {
        &self.tpr
    }

    /// Decision thresholds, decreasing; the first is `+∞`.
    pub fn thresholds(&self) -> &[f64] {
        &self.thresholds
    }

    /// Number of points (distinct scores + 1).
    pub fn len(&self) -> usize {
        self.fpr.len()
    }

    /// Always `false`: a curve has at least two points.
    pub fn is_empty(&self) -> bool {
        self.fpr.is_empty()
    }

    /// Area under the curve (trapezoid rule); see [`auc`].
    pub fn auc(&self) -> f64 {
        auc(self)
    }
}

/// The ROC curve of `scores` (higher = more likely adversarial) against `labels`.
///
/// Errors: different lengths, a NaN or infinite score, no positive or no negative label.
pub fn roc_curve(scores: &[f64], labels: &[bool]) -> Result<Roc> {
    if scores.len() != labels.len() {
        return Err(DetectError::LabelCount {
            rows: scores.len(),
            labels: labels.len(),
        });
    }
    if let Some((index, &value)) = scores.iter().enumerate().find(|(_, s)| !s.is_finite()) {
        return Err(DetectError::NonFiniteScore { index, value });
    }
    let positives = labels.iter().filter(|&&l| l).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return Err(DetectError::MissingClass {
            positives,
            negatives,
        });
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_unstable_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut roc = Roc {
        fpr: vec![0.0],
        tpr: vec![0.0],
        thresholds: vec![f64::INFINITY],
    };
    let (mut tp, mut fp) = (0usize, 0usize);
    for (k, &i) in order.iter().enumerate() {
        if labels[i] {
            tp += 1;
        } else {
            fp += 1;
        }
        // Emit a point after the last row of each group of equal scores (0.0 == -0.0).
        let last_of_group = order
            .get(k + 1)
            .is_none_or(|&next| scores[next] != scores[i]);
        if last_of_group {
            roc.fpr.push(fp as f64 / negatives as f64);
            roc.tpr.push(tp as f64 / positives as f64);
            roc.thresholds.push(scores[i]);
        }
    }
    Ok(roc)
}

/// Area under a ROC curve by the trapezoid rule: `Σ (fpr[i+1] − fpr[i])·(tpr[i+1] + tpr[i])/2`.
pub fn auc(roc: &Roc) -> f64 {
    roc.fpr
        .windows(2)
        .zip(roc.tpr.windows(2))
        .map(|(f, t)| (f[1] - f[0]) * (t[1] + t[0]) / 2.0)
        .sum()
}

/// `auc(&roc_curve(scores, labels)?)`: the probability that a random adversarial row scores
/// higher than a random normal one, ties counting ½ (the Mann–Whitney U statistic / n₊n₋).
///
/// ```
/// use effpath_detect::roc_auc;
/// // scikit-learn's documentation example.
/// let auc = roc_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true])?;
/// assert!((auc - 0.75).abs() < 1e-12);
/// # Ok::<(), effpath_detect::DetectError>(())
/// ```
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Result<f64> {
    Ok(auc(&roc_curve(scores, labels)?))
}
