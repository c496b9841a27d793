//! The detection protocol (spec §4.5 with the decisions of §7.18): normal examples split once,
//! each attack's examples split the same way, one detector trained on the training splits of
//! all (or some) attacks together, AUC per attack on its test split, repeated with new seeds.

use ndarray::{Array2, Axis};
use serde::{Deserialize, Serialize};

use crate::detector::{Detector, DetectorConfig, DetectorKind, DetectorModel};
use crate::error::{DetectError, Interval, OptionIssue, Result};
use crate::operating::{DEFAULT_TARGET_FPRS, OperatingPoint, operating_point};
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
    /// False-positive rates on the normal training rows at which the TPR is reported
    /// (default [`DEFAULT_TARGET_FPRS`]: 1 % and 5 %).
    #[serde(default = "default_target_fprs")]
    pub target_fprs: Vec<f64>,
}

fn default_target_fprs() -> Vec<f64> {
    DEFAULT_TARGET_FPRS.to_vec()
}

impl Default for ExperimentOptions {
    fn default() -> Self {
        ExperimentOptions {
            detector: DetectorKind::RandomForest,
            train_fraction: 0.1,
            repetitions: 5,
            seed: 0,
            train_attacks: None,
            target_fprs: default_target_fprs(),
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
    /// The target false-positive rates of the operating points.
    pub target_fprs: Vec<f64>,
    /// `operating[attack][target][repetition]`: threshold fixed on the repetition's normal
    /// training rows at `target_fprs[target]`, rates on its test rows.
    pub operating: Vec<Vec<Vec<OperatingPoint>>>,
}

/// Mean and sample standard deviation over repetitions of one operating point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OperatingSummary {
    /// The target false-positive rate (on normal training rows).
    pub target_fpr: f64,
    /// `(mean, std)` TPR on adversarial test rows.
    pub tpr: (f64, f64),
    /// `(mean, std)` realised FPR on normal test rows.
    pub fpr: (f64, f64),
}

impl AucResult {
    /// `(mean, sample std)` of the AUC of each attack.
    pub fn summary(&self) -> Vec<(f64, f64)> {
        self.auc.iter().map(|a| mean_std(a)).collect()
    }

    /// The mean AUC of each attack over the repetitions (the first column of
    /// [`AucResult::summary`]).
    pub fn mean_auc(&self) -> Vec<f64> {
        self.summary().into_iter().map(|(mean, _)| mean).collect()
    }

    /// `[attack][target]`: mean ± std over repetitions of the TPR and the realised FPR.
    pub fn operating_summary(&self) -> Vec<Vec<OperatingSummary>> {
        self.operating
            .iter()
            .map(|per_target| {
                per_target
                    .iter()
                    .zip(&self.target_fprs)
                    .map(|(points, &target_fpr)| {
                        let tpr: Vec<f64> = points.iter().map(|p| p.tpr).collect();
                        let fpr: Vec<f64> = points.iter().map(|p| p.fpr).collect();
                        OperatingSummary {
                            target_fpr,
                            tpr: mean_std(&tpr),
                            fpr: mean_std(&fpr),
                        }
                    })
                    .collect()
            })
            .collect()
    }
}

fn rows(x: &Array2<f64>, idx: &[usize]) -> Array2<f64> {
    x.select(Axis(0), idx)
}

fn check(data: &ExperimentData, options: &ExperimentOptions) -> Result<()> {
    let bad = |name: &'static str, issue: OptionIssue| Err(DetectError::option(name, issue));
    if !(options.train_fraction > 0.0 && options.train_fraction < 1.0) {
        return bad(
            "train_fraction",
            OptionIssue::Fraction {
                value: options.train_fraction,
                interval: Interval::Open01,
            },
        );
    }
    if options.repetitions == 0 {
        return bad("repetitions", OptionIssue::Zero);
    }
    if let Some(&value) = options
        .target_fprs
        .iter()
        .find(|f| !(0.0..=1.0).contains(*f))
    {
        return Err(DetectError::TargetFpr { value });
    }
    if data.attacks.is_empty() {
        return bad("attacks", OptionIssue::NoAttacks);
    }
    let cols = data.normal.ncols();
    if let Some((name, x)) = data.attacks.iter().find(|(_, x)| x.ncols() != cols) {
        return bad(
            "attacks",
            OptionIssue::AttackFeatures {
                name: name.clone(),
                features: x.ncols(),
                normal: cols,
            },
        );
    }
    if let Some(train) = &options.train_attacks
        && let Some(unknown) = train
            .iter()
            .find(|t| !data.attacks.iter().any(|(n, _)| n == *t))
    {
        return bad(
            "train_attacks",
            OptionIssue::UnknownAttack {
                name: unknown.clone(),
            },
        );
    }
    Ok(())
}

/// The train/test split of one repetition: row indices into [`ExperimentData::normal`] and
/// into each attack's matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct RepetitionSplit {
    /// The repetition's seed (`options.seed + repetition`), also the detector's seed.
    pub seed: u64,
    /// Normal rows used for training.
    pub normal_train: Vec<usize>,
    /// Normal rows used for testing.
    pub normal_test: Vec<usize>,
    /// `(train, test)` rows of each attack, in the order of [`ExperimentData::attacks`].
    pub attacks: Vec<(Vec<usize>, Vec<usize>)>,
}

/// The rows a repetition's detector is trained on.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingSet {
    /// Feature rows: first the normal training rows, then the adversarial ones.
    pub x: Array2<f64>,
    /// `true` = adversarial.
    pub labels: Vec<bool>,
    /// The number of leading normal rows of `x` (what thresholds are fixed on).
    pub normal_rows: usize,
}

impl TrainingSet {
    /// The normal training rows (the first [`TrainingSet::normal_rows`] rows of `x`).
    pub fn normal(&self) -> Array2<f64> {
        self.x
            .slice_axis(Axis(0), (0..self.normal_rows).into())
            .to_owned()
    }
}

impl ExperimentData {
    /// The split of repetition `repetition` under `options` (what [`run_experiment`] uses).
    ///
    /// Errors: invalid options (see [`run_experiment`]).
    pub fn split(&self, options: &ExperimentOptions, repetition: usize) -> Result<RepetitionSplit> {
        check(self, options)?;
        let test_fraction = 1.0 - options.train_fraction;
        let seed = options.seed.wrapping_add(repetition as u64);
        let (normal_train, normal_test) = split_indices(self.normal.nrows(), test_fraction, seed)?;
        let attacks = self
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
        Ok(RepetitionSplit {
            seed,
            normal_train,
            normal_test,
            attacks,
        })
    }

    /// The training set of `split`: the normal training rows, then the training rows of
    /// every attack chosen by `options.train_attacks` (all when `None`).
    pub fn training_set(
        &self,
        options: &ExperimentOptions,
        split: &RepetitionSplit,
    ) -> Result<TrainingSet> {
        let mut parts = vec![rows(&self.normal, &split.normal_train)];
        let mut labels = vec![false; split.normal_train.len()];
        for ((name, x), (train, _)) in self.attacks.iter().zip(&split.attacks) {
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
        let x = ndarray::concatenate(Axis(0), &views)
            .map_err(|source| DetectError::option("data", OptionIssue::Stack { source }))?;
        Ok(TrainingSet {
            x,
            labels,
            normal_rows: split.normal_train.len(),
        })
    }
}

/// Runs the protocol and returns AUC and operating points per attack and repetition.
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
/// // TPR at 5 % FPR (threshold fixed on the normal training rows), mean over repetitions.
/// assert!(r.operating_summary()[0][1].tpr.0 > 0.5);
/// # Ok::<(), effpath_detect::DetectError>(())
/// ```
pub fn run_experiment(data: &ExperimentData, options: &ExperimentOptions) -> Result<AucResult> {
    check(data, options)?;
    let n_targets = options.target_fprs.len();
    let mut auc = vec![Vec::with_capacity(options.repetitions); data.attacks.len()];
    let mut operating =
        vec![vec![Vec::with_capacity(options.repetitions); n_targets]; data.attacks.len()];
    let mut roc = Vec::new();
    for rep in 0..options.repetitions {
        let split = data.split(options, rep)?;
        let train = data.training_set(options, &split)?;
        let config: DetectorConfig = options.detector.config(split.seed);
        let model = DetectorModel::fit(&config, &train.x, &train.labels)?;
        let normal_train_scores = model.score(&train.normal())?;
        let normal_scores = model.score(&rows(&data.normal, &split.normal_test))?;
        for (k, ((_, x), (_, test))) in data.attacks.iter().zip(&split.attacks).enumerate() {
            let adversarial_scores = model.score(&rows(x, test))?;
            for (t, &target) in options.target_fprs.iter().enumerate() {
                operating[k][t].push(operating_point(
                    &normal_train_scores,
                    &normal_scores,
                    &adversarial_scores,
                    target,
                )?);
            }
            let mut scores = normal_scores.clone();
            scores.extend(adversarial_scores);
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
        target_fprs: options.target_fprs.clone(),
        operating,
    })
}

/// Keeps the features of the last `n` layers of rows laid out as `[rank-1 × L, rank-2 × L]`.
pub fn last_layers(x: &Array2<f64>, n: usize) -> Result<Array2<f64>> {
    let layers = x.ncols() / 2;
    if !x.ncols().is_multiple_of(2) || n == 0 || n > layers {
        return Err(DetectError::option(
            "last_layers",
            OptionIssue::LastLayers {
                last: n,
                layers,
                columns: x.ncols(),
            },
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
    fn operating_points_use_the_normal_training_rows() {
        let d = data(0.3);
        let opts = ExperimentOptions {
            detector: DetectorKind::Linear,
            repetitions: 2,
            ..ExperimentOptions::default()
        };
        let r = run_experiment(&d, &opts).unwrap();
        assert_eq!(r.target_fprs, vec![0.01, 0.05]);
        assert_eq!(r.operating.len(), 2);
        for per_target in &r.operating {
            assert_eq!(per_target.len(), 2);
            for (points, &target) in per_target.iter().zip(&r.target_fprs) {
                assert_eq!(points.len(), 2);
                for p in points {
                    assert!(p.train_fpr <= target + 1e-12, "{p:?}");
                }
            }
        }
        // The threshold of repetition 0 is the one fixed on that repetition's normal
        // training rows by a detector refitted on the same training set.
        let split = d.split(&opts, 0).unwrap();
        let train = d.training_set(&opts, &split).unwrap();
        assert_eq!(train.normal_rows, split.normal_train.len());
        assert_eq!(
            train.labels.iter().filter(|&&l| !l).count(),
            train.normal_rows
        );
        let model =
            DetectorModel::fit(&opts.detector.config(split.seed), &train.x, &train.labels).unwrap();
        let t = crate::threshold_at_fpr(&model.score(&train.normal()).unwrap(), 0.05).unwrap();
        assert_eq!(r.operating[0][1][0].threshold, t);
        let s = r.operating_summary();
        // Separable attack: TPR at 5 % ≥ at 1 %, and high; indistinguishable one: low.
        assert!(s[0][1].tpr.0 >= s[0][0].tpr.0);
        assert!(s[0][1].tpr.0 > 0.8, "{s:?}");
        assert!(s[1][1].tpr.0 < 0.3, "{s:?}");
        let bad = ExperimentOptions {
            target_fprs: vec![0.05, 1.5],
            ..opts
        };
        assert!(matches!(
            run_experiment(&d, &bad),
            Err(DetectError::TargetFpr { value }) if value == 1.5
        ));
    }

    #[test]
    fn last_layers_selects_both_ranks() {
        let x = Array2::from_shape_fn((2, 6), |(_, j)| j as f64);
        let y = last_layers(&x, 1).unwrap();
        assert_eq!(y.row(0).to_vec(), vec![2.0, 5.0]);
        assert!(last_layers(&x, 4).is_err());
    }
}
