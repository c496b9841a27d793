//! The detection protocol (spec §4.5 with the decisions of §7.18): normal examples split once,
//! each attack's examples split the same way, one detector trained on the training splits of
//! all (or some) attacks together, AUC per attack on its test split, repeated with new seeds.

use ndarray::{Array2, Axis};
use serde::{Deserialize, Serialize};

use crate::detector::{Detector, DetectorConfig, DetectorKind, DetectorModel};
use crate::error::{DetectError, Result};
use crate::roc::{Roc, roc_auc, roc_curve};
use crate::split::{mean_std, split_indices};

/// Feature rows of normal examples and of each attack's adversarial examples.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentData {
    /// Normal (correctly classified, unmodified) examples.
    pub normal: Array2<f64>,
    /// `(attack name, adversarial examples)`.
    pub attacks: Vec<(String, Array2<f64>)>,
}

/// How an experiment is run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentOptions {
    /// Which detector is trained (its seed is replaced per repetition).
    pub detector: DetectorKind,
    /// Fraction of every set used for training (the original: 0.1).
    pub train_fraction: f64,
    /// Number of repetitions with fresh splits and detector seeds.
    pub repetitions: usize,
    /// Base seed; repetition `r` uses `seed + r`.
    pub seed: u64,
    /// Attacks whose training splits train the detector (`None` = all); every attack is
    /// evaluated (the paper's generalisation experiment).
    pub train_attacks: Option<Vec<String>>,
}

impl Default for ExperimentOptions {
    fn default() -> Self {
        ExperimentOptions {
            detector: DetectorKind::RandomForest,
            train_fraction: 0.1,
            repetitions: 5,
            seed: 0,
            train_attacks: None,
        }
    }
}

/// AUC per attack over repetitions, plus the ROC curve of each attack in the first repetition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AucResult {
    /// The detector used.
    pub detector: DetectorKind,
    /// Attack names, in the order of the data.
    pub attacks: Vec<String>,
    /// `auc[attack][repetition]`.
    pub auc: Vec<Vec<f64>>,
    /// `(fpr, tpr)` points per attack, first repetition.
    pub roc: Vec<(Vec<f64>, Vec<f64>)>,
}

impl AucResult {
    /// `(mean, sample std)` of the AUC of each attack.
    pub fn summary(&self) -> Vec<(f64, f64)> {
        self.auc.iter().map(|a| mean_std(a)).collect()
    }
}

fn rows(x: &Array2<f64>, idx: &[usize]) -> Array2<f64> {
    x.select(Axis(0), idx)
}

fn check(data: &ExperimentData, options: &ExperimentOptions) -> Result<()> {
    let bad = |name: &'static str, message: String| Err(DetectError::option(name, message));
    if !(options.train_fraction > 0.0 && options.train_fraction < 1.0) {
        return bad(
            "train_fraction",
            format!("{} must be in (0, 1)", options.train_fraction),
        );
    }
    if options.repetitions == 0 {
        return bad("repetitions", "must be ≥ 1".into());
    }
    if data.attacks.is_empty() {
        return bad("attacks", "no adversarial examples".into());
    }
    let cols = data.normal.ncols();
    if let Some((name, x)) = data.attacks.iter().find(|(_, x)| x.ncols() != cols) {
        return bad(
            "attacks",
            format!(
                "attack `{name}` has {} features, normal rows have {cols}",
                x.ncols()
            ),
        );
    }
    if let Some(train) = &options.train_attacks
        && let Some(unknown) = train
            .iter()
            .find(|t| !data.attacks.iter().any(|(n, _)| n == *t))
    {
        return bad("train_attacks", format!("unknown attack `{unknown}`"));
    }
    Ok(())
}

/// Runs the protocol and returns AUC per attack and repetition.
///
/// ```
/// use effpath_detect::{DetectorKind, ExperimentData, ExperimentOptions, run_experiment};
/// use ndarray::Array2;
/// // Normal rows have high similarity, adversarial rows low.
/// let normal = Array2::from_shape_fn((200, 4), |(i, j)| 0.8 + 0.1 * (((i * 7 + j * 3) % 10) as f64 / 10.0));
/// let adv = Array2::from_shape_fn((100, 4), |(i, j)| 0.5 + 0.2 * (((i * 5 + j) % 10) as f64 / 10.0));
/// let data = ExperimentData { normal, attacks: vec![("fgsm".into(), adv)] };
/// let opts = ExperimentOptions { detector: DetectorKind::Linear, repetitions: 2, ..ExperimentOptions::default() };
/// let r = run_experiment(&data, &opts)?;
/// assert!(r.summary()[0].0 > 0.95);
/// # Ok::<(), effpath_detect::DetectError>(())
/// ```
pub fn run_experiment(data: &ExperimentData, options: &ExperimentOptions) -> Result<AucResult> {
    check(data, options)?;
    let test_fraction = 1.0 - options.train_fraction;
    let mut auc = vec![Vec::with_capacity(options.repetitions); data.attacks.len()];
    let mut roc = Vec::new();
    for rep in 0..options.repetitions {
        let seed = options.seed.wrapping_add(rep as u64);
        let (n_train, n_test) = split_indices(data.normal.nrows(), test_fraction, seed)?;
        let splits: Vec<(Vec<usize>, Vec<usize>)> = data
            .attacks
            .iter()
            .enumerate()
            .map(|(k, (_, x))| {
                split_indices(
                    x.nrows(),
                    test_fraction,
                    seed.wrapping_mul(31).wrapping_add(k as u64 + 1),
                )
            })
            .collect::<Result<_>>()?;
        // Training set: normal train split + the train splits of the chosen attacks.
        let mut parts = vec![rows(&data.normal, &n_train)];
        let mut labels = vec![false; n_train.len()];
        for ((name, x), (train, _)) in data.attacks.iter().zip(&splits) {
            if options
                .train_attacks
                .as_ref()
                .is_none_or(|t| t.contains(name))
            {
                parts.push(rows(x, train));
                labels.extend(std::iter::repeat_n(true, train.len()));
            }
        }
        let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
        let x_train = ndarray::concatenate(Axis(0), &views)
            .map_err(|e| DetectError::option("data", e.to_string()))?;
        let config: DetectorConfig = options.detector.config(seed);
        let model = DetectorModel::fit(&config, &x_train, &labels)?;
        let normal_scores = model.score(&rows(&data.normal, &n_test))?;
        for (k, ((_, x), (_, test))) in data.attacks.iter().zip(&splits).enumerate() {
            let mut scores = normal_scores.clone();
            scores.extend(model.score(&rows(x, test))?);
            let mut y = vec![false; normal_scores.len()];
            y.extend(std::iter::repeat_n(true, test.len()));
            auc[k].push(roc_auc(&scores, &y)?);
            if rep == 0 {
                let r: Roc = roc_curve(&scores, &y)?;
                roc.push((r.fpr().to_vec(), r.tpr().to_vec()));
            }
        }
    }
    Ok(AucResult {
        detector: options.detector,
        attacks: data.attacks.iter().map(|(n, _)| n.clone()).collect(),
        auc,
        roc,
    })
}

/// Keeps the features of the last `n` layers of rows laid out as `[rank-1 × L, rank-2 × L]`.
pub fn last_layers(x: &Array2<f64>, n: usize) -> Result<Array2<f64>> {
    let layers = x.ncols() / 2;
    if !x.ncols().is_multiple_of(2) || n == 0 || n > layers {
        return Err(DetectError::option(
            "last_layers",
            format!("{n} of {layers} layers ({} columns)", x.ncols()),
        ));
    }
    let cols: Vec<usize> = (layers - n..layers)
        .chain(2 * layers - n..2 * layers)
        .collect();
    Ok(x.select(Axis(1), &cols))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn data(shift: f64) -> ExperimentData {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut gen_rows = |n: usize, mean: f64| {
            Array2::from_shape_fn((n, 6), |_| mean + rng.random_range(-0.1..0.1))
        };
        let normal = gen_rows(300, 0.8);
        let easy = gen_rows(150, 0.8 - shift);
        let same = gen_rows(150, 0.8);
        ExperimentData {
            normal,
            attacks: vec![("easy".into(), easy), ("indistinguishable".into(), same)],
        }
    }

    #[test]
    fn separable_attack_is_detected_and_identical_one_is_not() {
        for kind in DetectorKind::ALL {
            let opts = ExperimentOptions {
                detector: kind,
                repetitions: 3,
                ..ExperimentOptions::default()
            };
            let r = run_experiment(&data(0.3), &opts).unwrap();
            let s = r.summary();
            assert!(s[0].0 > 0.95, "{kind}: {s:?}");
            assert!((s[1].0 - 0.5).abs() < 0.15, "{kind}: {s:?}");
            assert_eq!(r.auc[0].len(), 3);
            assert_eq!(r.roc.len(), 2);
            assert_eq!(
                r,
                run_experiment(&data(0.3), &opts).unwrap(),
                "deterministic"
            );
        }
    }

    #[test]
    fn generalisation_and_bad_options() {
        let opts = ExperimentOptions {
            detector: DetectorKind::Linear,
            repetitions: 1,
            train_attacks: Some(vec!["easy".into()]),
            ..ExperimentOptions::default()
        };
        assert!(run_experiment(&data(0.3), &opts).unwrap().summary()[0].0 > 0.95);
        let bad = ExperimentOptions {
            train_attacks: Some(vec!["nope".into()]),
            ..opts.clone()
        };
        assert!(run_experiment(&data(0.3), &bad).is_err());
        assert!(
            run_experiment(
                &data(0.3),
                &ExperimentOptions {
                    train_fraction: 1.0,
                    ..opts.clone()
                }
            )
            .is_err()
        );
        assert!(
            run_experiment(
                &data(0.3),
                &ExperimentOptions {
                    repetitions: 0,
                    ..opts
                }
            )
            .is_err()
        );
    }

    #[test]
    fn last_layers_selects_both_ranks() {
        let x = Array2::from_shape_fn((2, 6), |(_, j)| j as f64);
        let y = last_layers(&x, 1).unwrap();
        assert_eq!(y.row(0).to_vec(), vec![2.0, 5.0]);
        assert!(last_layers(&x, 4).is_err());
    }
}
