//! ROC curve and AUC: hand-computed cases and the Mann–Whitney identity.

use effpath_detect::{DetectError, auc, roc_auc, roc_curve};
use proptest::prelude::*;

const F: bool = false;
const T: bool = true;

#[test]
fn perfect_reversed_and_tied() {
    let labels = [F, F, T, T];
    assert_eq!(roc_auc(&[0.1, 0.2, 0.8, 0.9], &labels).expect("auc"), 1.0);
    assert_eq!(roc_auc(&[0.9, 0.8, 0.2, 0.1], &labels).expect("auc"), 0.0);
    assert_eq!(roc_auc(&[0.5; 4], &labels).expect("auc"), 0.5);
    let tied = roc_curve(&[0.5; 4], &labels).expect("roc");
    assert_eq!(tied.fpr(), &[0.0, 1.0]);
    assert_eq!(tied.tpr(), &[0.0, 1.0]);
    assert_eq!(tied.thresholds(), &[f64::INFINITY, 0.5]);
}

#[test]
fn scikit_learn_documentation_example() {
    // sklearn.metrics.roc_curve docs: y = [1, 1, 2, 2], scores = [0.1, 0.4, 0.35, 0.8].
    let roc = roc_curve(&[0.1, 0.4, 0.35, 0.8], &[F, F, T, T]).expect("roc");
    assert_eq!(roc.fpr(), &[0.0, 0.0, 0.5, 0.5, 1.0]);
    assert_eq!(roc.tpr(), &[0.0, 0.5, 0.5, 1.0, 1.0]);
    assert_eq!(roc.thresholds(), &[f64::INFINITY, 0.8, 0.4, 0.35, 0.1]);
    assert_eq!(roc.len(), 5);
    assert!((auc(&roc) - 0.75).abs() < 1e-15);
    assert_eq!(roc.auc(), auc(&roc));
}

#[test]
fn ties_form_one_step() {
    // Positives {0.5, 0.9}, negatives {0.5, 0.2}. Pairs: (0.9 > 0.5), (0.9 > 0.2),
    // (0.5 > 0.2) count 1, (0.5 = 0.5) counts ½ → 3.5 / 4.
    let roc = roc_curve(&[0.5, 0.5, 0.2, 0.9], &[T, F, F, T]).expect("roc");
    assert_eq!(roc.fpr(), &[0.0, 0.0, 0.5, 1.0]);
    assert_eq!(roc.tpr(), &[0.0, 0.5, 1.0, 1.0]);
    assert_eq!(roc.thresholds(), &[f64::INFINITY, 0.9, 0.5, 0.2]);
    assert_eq!(roc.auc(), 0.875);
    // −0.0 and 0.0 are the same score.
    assert_eq!(roc_auc(&[-0.0, 0.0], &[T, F]).expect("auc"), 0.5);
}

#[test]
fn input_errors() {
    assert!(matches!(
        roc_curve(&[0.1, 0.2], &[T, T]),
        Err(DetectError::MissingClass {
            positives: 2,
            negatives: 0
        })
    ));
    assert!(matches!(
        roc_curve(&[0.1, 0.2], &[F, F]),
        Err(DetectError::MissingClass {
            positives: 0,
            negatives: 2
        })
    ));
    assert!(matches!(
        roc_curve(&[], &[]),
        Err(DetectError::MissingClass { .. })
    ));
    assert!(matches!(
        roc_curve(&[0.1, 0.2, 0.3], &[T, F]),
        Err(DetectError::LabelCount { rows: 3, labels: 2 })
    ));
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert!(matches!(
            roc_curve(&[0.1, bad], &[T, F]),
            Err(DetectError::NonFiniteScore { index: 1, .. })
        ));
    }
}

/// AUC by counting pairs: P(score₊ > score₋) + ½ P(score₊ = score₋).
fn mann_whitney(scores: &[f64], labels: &[bool]) -> f64 {
    let (mut wins, mut pairs) = (0.0, 0.0);
    for (i, &si) in scores.iter().enumerate() {
        for (j, &sj) in scores.iter().enumerate() {
            if labels[i] && !labels[j] {
                pairs += 1.0;
                if si > sj {
                    wins += 1.0;
                } else if si == sj {
                    wins += 0.5;
                }
            }
        }
    }
    wins / pairs
}

proptest! {
    #[test]
    fn auc_is_the_mann_whitney_statistic(
        rows in prop::collection::vec((0u8..12, any::<bool>()), 2..80),
    ) {
        // Few distinct scores, so ties are frequent.
        let scores: Vec<f64> = rows.iter().map(|&(s, _)| f64::from(s) / 4.0 - 1.0).collect();
        let labels: Vec<bool> = rows.iter().map(|&(_, l)| l).collect();
        let positives = labels.iter().filter(|&&l| l).count();
        prop_assume!(positives > 0 && positives < labels.len());
        let roc = roc_curve(&scores, &labels).expect("roc");
        prop_assert!((roc.auc() - mann_whitney(&scores, &labels)).abs() < 1e-12);
        // Curve shape: (0,0) → (1,1), monotone, one point per distinct score + 1.
        let mut distinct = scores.clone();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        prop_assert_eq!(roc.len(), distinct.len() + 1);
        prop_assert_eq!((roc.fpr()[0], roc.tpr()[0]), (0.0, 0.0));
        prop_assert_eq!((roc.fpr()[roc.len() - 1], roc.tpr()[roc.len() - 1]), (1.0, 1.0));
        prop_assert!(roc.fpr().windows(2).all(|w| w[0] <= w[1]));
        prop_assert!(roc.tpr().windows(2).all(|w| w[0] <= w[1]));
        prop_assert!(roc.thresholds().windows(2).all(|w| w[0] > w[1]));
    }

    #[test]
    fn auc_of_continuous_scores(
        rows in prop::collection::vec((-1e6f64..1e6, any::<bool>()), 2..60),
    ) {
        let scores: Vec<f64> = rows.iter().map(|&(s, _)| s).collect();
        let labels: Vec<bool> = rows.iter().map(|&(_, l)| l).collect();
        let positives = labels.iter().filter(|&&l| l).count();
        prop_assume!(positives > 0 && positives < labels.len());
        let auc = roc_auc(&scores, &labels).expect("auc");
        prop_assert!((auc - mann_whitney(&scores, &labels)).abs() < 1e-12);
        // Negating the scores mirrors the AUC.
        let negated: Vec<f64> = scores.iter().map(|s| -s).collect();
        prop_assert!((roc_auc(&negated, &labels).expect("auc") - (1.0 - auc)).abs() < 1e-12);
    }
}
