//! Operating points: the true-positive rate a detector reaches when its threshold is fixed
//! to allow a given false-positive rate on *normal training* rows.
//!
//! The ROC curve and its AUC ([`crate::roc`]) summarise every threshold at once; a deployed
//! detector uses one. Here the threshold is chosen without looking at test rows: it is the
//! most permissive threshold that flags at most a fraction `target_fpr` of the normal rows
//! the detector was trained on ([`threshold_at_fpr`]). The rates are then measured on
//! held-out rows: the TPR on adversarial test rows and the realised FPR on normal test rows
//! (which can exceed the target when the detector scores its own training rows lower than
//! unseen ones).
//!
//! A row is flagged (called adversarial) when its score is **at or above** the threshold,
//! as in [`crate::roc::Roc`] and the guard's detector files.

use serde::{Deserialize, Serialize};

use crate::error::{DetectError, Result};

/// The target false-positive rates reported by default: 1 % and 5 %.
pub const DEFAULT_TARGET_FPRS: [f64; 2] = [0.01, 0.05];

/// A detector's rates at one threshold fixed on normal training rows.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct OperatingPoint {
    /// The false-positive rate allowed on the normal training rows.
    pub target_fpr: f64,
    /// The threshold: rows scoring at or above it are flagged.
    pub threshold: f64,
    /// Fraction of the normal training rows flagged (≤ `target_fpr`).
    pub train_fpr: f64,
    /// Fraction of the adversarial test rows flagged.
    pub tpr: f64,
    /// Fraction of the normal test rows flagged (the realised FPR).
    pub fpr: f64,
}

fn check_scores(scores: &[f64], what: &'static str) -> Result<()> {
    if scores.is_empty() {
        return Err(DetectError::NoScores { what });
    }
    if let Some((index, &value)) = scores.iter().enumerate().find(|(_, s)| !s.is_finite()) {
        return Err(DetectError::NonFiniteScore { index, value });
    }
    Ok(())
}

fn check_fpr(target_fpr: f64) -> Result<()> {
    if (0.0..=1.0).contains(&target_fpr) {
        Ok(())
    } else {
        Err(DetectError::TargetFpr { value: target_fpr })
    }
}

/// The fraction of `scores` at or above `threshold`.
pub fn flagged_fraction(scores: &[f64], threshold: f64) -> f64 {
    if scores.is_empty() {
        return 0.0;
    }
    scores.iter().filter(|&&s| s >= threshold).count() as f64 / scores.len() as f64
}

/// The smallest threshold that flags at most `⌊target_fpr · n⌋` of the `n` normal scores
/// (flagged = score ≥ threshold).
///
/// With the scores sorted in decreasing order `s₀ ≥ s₁ ≥ …` and `k = ⌊target_fpr · n⌋`, it
/// is the next `f64` above `s_k`: every score strictly above `s_k` (at most `k` of them) is
/// flagged, `s_k` and everything tied with or below it is not. When `k = n` (target 1) it
/// is the smallest score, flagging every row.
///
/// Errors: no scores, a non-finite score, `target_fpr` outside [0, 1].
///
/// ```
/// use effpath_detect::threshold_at_fpr;
/// // Ten normal scores 0.0, 0.1, …, 0.9: 10 % may be flagged, so only 0.9 is.
/// let normal: Vec<f64> = (0..10).map(|i| f64::from(i) / 10.0).collect();
/// let t = threshold_at_fpr(&normal, 0.1)?;
/// assert!(t > 0.8 && t <= 0.9);
/// # Ok::<(), effpath_detect::DetectError>(())
/// ```
pub fn threshold_at_fpr(normal_scores: &[f64], target_fpr: f64) -> Result<f64> {
    check_fpr(target_fpr)?;
    check_scores(normal_scores, "normal training")?;
    let mut sorted = normal_scores.to_vec();
    sorted.sort_unstable_by(|a, b| b.total_cmp(a));
    let n = sorted.len();
    // The tolerance keeps products such as 0.07 · 100 = 7.000000000000001 at 7.
    let k = ((target_fpr * n as f64 + 1e-9).floor() as usize).min(n);
    match sorted.get(k) {
        Some(s) => Ok(s.next_up()),
        // k = n: everything may be flagged.
        None => Ok(sorted[n - 1]),
    }
}

/// The operating point at `target_fpr`: threshold from `normal_train` scores
/// ([`threshold_at_fpr`]), TPR on `adversarial_test`, realised FPR on `normal_test`.
///
/// Errors: an empty score list, a non-finite score, `target_fpr` outside [0, 1].
///
/// ```
/// use effpath_detect::operating_point;
/// let train = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
/// let p = operating_point(&train, &[0.2, 0.95], &[0.5, 0.99, 2.0], 0.1)?;
/// // Threshold just above 0.9: one of two normal test rows, two of three adversarial rows.
/// assert_eq!((p.train_fpr, p.fpr), (0.1, 0.5));
/// assert!((p.tpr - 2.0 / 3.0).abs() < 1e-12);
/// # Ok::<(), effpath_detect::DetectError>(())
/// ```
pub fn operating_point(
    normal_train: &[f64],
    normal_test: &[f64],
    adversarial_test: &[f64],
    target_fpr: f64,
) -> Result<OperatingPoint> {
    let threshold = threshold_at_fpr(normal_train, target_fpr)?;
    check_scores(normal_test, "normal test")?;
    check_scores(adversarial_test, "adversarial test")?;
    Ok(OperatingPoint {
        target_fpr,
        threshold,
        train_fpr: flagged_fraction(normal_train, threshold),
        tpr: flagged_fraction(adversarial_test, threshold),
        fpr: flagged_fraction(normal_test, threshold),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hand_worked_example() {
        // 20 normal training scores 0.00, 0.05, …, 0.95. At 5 % one may be flagged
        // (k = 1): the threshold is just above the second largest, 0.90, so only 0.95 is.
        // At 1 %, k = 0: the threshold is just above 0.95 and nothing is flagged.
        let train: Vec<f64> = (0..20).map(|i| f64::from(i) * 0.05).collect();
        let normal_test = [0.1, 0.5, 0.92, 0.97];
        let adversarial_test = [0.3, 0.91, 0.93, 0.96, 1.5];
        let p5 = operating_point(&train, &normal_test, &adversarial_test, 0.05).unwrap();
        assert_eq!(p5.threshold, train[18].next_up());
        assert_eq!(p5.train_fpr, 0.05);
        assert_eq!(p5.fpr, 0.5); // 0.92 and 0.97
        assert_eq!(p5.tpr, 0.8); // all but 0.3
        let p1 = operating_point(&train, &normal_test, &adversarial_test, 0.01).unwrap();
        assert_eq!(p1.threshold, train[19].next_up());
        assert_eq!(p1.train_fpr, 0.0);
        assert_eq!(p1.fpr, 0.25); // 0.97
        assert_eq!(p1.tpr, 0.4); // 0.96 and 1.5
    }

    #[test]
    fn ties_are_never_split() {
        // Five tied top scores: flagging any of them flags all five (25 % > 5 %).
        let mut train = vec![1.0; 5];
        train.extend((0..15).map(f64::from).map(|v| v / 100.0));
        let t = threshold_at_fpr(&train, 0.05).unwrap();
        assert!(t > 1.0);
        assert_eq!(flagged_fraction(&train, t), 0.0);
        let t = threshold_at_fpr(&train, 0.25).unwrap();
        assert_eq!(flagged_fraction(&train, t), 0.25);
    }

    #[test]
    fn target_one_flags_everything_and_bad_input_is_refused() {
        let train = [0.3, 0.1, 0.2];
        assert_eq!(threshold_at_fpr(&train, 1.0).unwrap(), 0.1);
        assert!(matches!(
            threshold_at_fpr(&train, 1.5),
            Err(DetectError::TargetFpr { .. })
        ));
        assert!(matches!(
            threshold_at_fpr(&train, f64::NAN),
            Err(DetectError::TargetFpr { .. })
        ));
        assert!(matches!(
            threshold_at_fpr(&[], 0.05),
            Err(DetectError::NoScores { .. })
        ));
        assert!(matches!(
            threshold_at_fpr(&[0.1, f64::INFINITY], 0.05),
            Err(DetectError::NonFiniteScore { index: 1, .. })
        ));
        assert!(matches!(
            operating_point(&train, &[0.1], &[], 0.05),
            Err(DetectError::NoScores {
                what: "adversarial test"
            })
        ));
    }

    proptest! {
        #[test]
        fn rates_are_monotone_in_the_target_and_train_fpr_is_bounded(
            train in prop::collection::vec(-5.0f64..5.0, 1..60),
            normal in prop::collection::vec(-5.0f64..5.0, 1..60),
            adversarial in prop::collection::vec(-5.0f64..5.0, 1..60),
            a in 0.0f64..=1.0,
            b in 0.0f64..=1.0,
        ) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let p = operating_point(&train, &normal, &adversarial, lo).unwrap();
            let q = operating_point(&train, &normal, &adversarial, hi).unwrap();
            prop_assert!(p.train_fpr <= lo + 1e-12);
            prop_assert!(q.train_fpr <= hi + 1e-12);
            prop_assert!(p.threshold >= q.threshold);
            prop_assert!(p.tpr <= q.tpr);
            prop_assert!(p.fpr <= q.fpr);
            // Most permissive: lowering the threshold to the next score below would exceed
            // the target on the training rows.
            let below = train.iter().copied().filter(|&s| s < q.threshold).fold(f64::NEG_INFINITY, f64::max);
            if below.is_finite() {
                prop_assert!(flagged_fraction(&train, below) > hi);
            }
        }
    }
}
