//! A hardening that does not retrain the model: the guard at several θ at once. Each θ gets
//! its own class paths (profiled on the same training images) and linear detector (fitted
//! as the demo's detector files are); the ensemble flags an image when any member does.
//! The members' thresholds share one per-member false-positive rate, chosen so that the
//! ensemble flags the same share of the normal images as the single guard (a comparison at
//! equal false-positive rate). Measured: clean AUC per attack (single guard vs ensemble), realised
//! false-positive rates, the ensemble's cost, and — in the adaptive stage — the white-box
//! attack against it.

use std::time::Instant;

use anyhow::Result;
use effpath::data::Normalization;
use effpath::detect::{ExperimentData, roc_auc, threshold_at_fpr};
use effpath::ensemble::GuardEnsemble;
use effpath::extract::{EmptyLayer, FeatureOptions, ProfileOptions};
use effpath::guard::Guard;
use effpath::ndarray::{Array4, ArrayD};
use effpath::{ClassPaths, DetectorKind, PathFeatures};

use super::adaptive::Target;
use super::{features, fit_detector_file};
use crate::report::{Hardening, HardeningRow};

/// The θ of the ensemble's members.
pub const THETAS: [f64; 3] = [0.3, 0.5, 0.7];

/// The members' class paths and detector files, built from the same images as the demo's.
pub struct Members {
    class_paths: Vec<ClassPaths>,
    files: Vec<effpath::guard::DetectorFile>,
}

/// What the members are built from: the profiling images, the normal test images and
/// each attack's successful examples (pixels), with the demo's settings.
pub struct Inputs<'i> {
    pub net: &'i effpath::Network,
    pub norm: Normalization,
    pub train: (&'i ArrayD<f32>, &'i [usize]),
    pub normal: &'i Array4<f32>,
    pub adversarial: &'i [(String, Array4<f32>)],
    pub empty_layer: EmptyLayer,
    pub seed: u64,
    /// False-positive rate of the members' fitted detector files (replaced by
    /// [`Members::calibrate`]).
    pub fpr: f64,
}

impl Members {
    /// Profiles, computes features and fits one linear detector per θ of [`THETAS`].
    pub fn build(i: &Inputs<'_>) -> Result<Self> {
        let (mut class_paths, mut files) = (Vec::new(), Vec::new());
        for theta in THETAS {
            let popts = ProfileOptions {
                extract: effpath::ExtractOptions::default().with_theta(theta),
                ..ProfileOptions::default()
            };
            let cp = ClassPaths::profile(i.net, i.train.0, i.train.1, &popts, |_, _| {})?;
            let fopts = FeatureOptions {
                extract: *cp.options(),
                empty_layer: i.empty_layer,
                ..FeatureOptions::default()
            };
            let f = PathFeatures::new(i.net, &cp, fopts)?;
            let mut data = ExperimentData {
                normal: features(&f, i.normal, i.norm)?.matrix,
                attacks: Vec::new(),
            };
            for (a, adv) in i.adversarial {
                let m = features(&f, adv, i.norm)?.matrix;
                if m.nrows() >= 10 {
                    data.attacks.push((a.clone(), m));
                }
            }
            // The threshold is set by `calibrate`.
            let (file, _, _) = fit_detector_file(
                i.seed,
                i.net,
                &data,
                (fopts, &f.names()),
                DetectorKind::Linear,
                i.fpr,
            )?;
            files.push(file);
            class_paths.push(cp);
        }
        Ok(Members { class_paths, files })
    }

    /// Sets the members' thresholds at one common per-member false-positive rate `q` on the
    /// normal images `normal` (pixels), the largest `q` at which the ensemble flags at most
    /// `rate` of them (bisection; undefined scores are always flagged). Returns `q`.
    pub fn calibrate(
        &mut self,
        net: &effpath::Network,
        normal: &Array4<f32>,
        norm: Normalization,
        rate: f64,
    ) -> Result<f64> {
        let scores: Vec<Vec<Option<f64>>> = self
            .guards(net)?
            .iter()
            .map(|g| {
                Ok(Target::Guard(g)
                    .verdicts(normal, norm)?
                    .into_iter()
                    .map(|(s, _)| s)
                    .collect())
            })
            .collect::<Result<_>>()?;
        let defined: Vec<Vec<f64>> = scores
            .iter()
            .map(|s| s.iter().flatten().copied().collect())
            .collect();
        let thresholds = |q: f64| -> Result<Vec<f64>> {
            defined
                .iter()
                .map(|d| {
                    Ok(if d.is_empty() {
                        f64::MAX
                    } else {
                        threshold_at_fpr(d, q)?
                    })
                })
                .collect()
        };
        let flagged = |t: &[f64]| -> f64 {
            let n = normal.shape()[0];
            let hit = (0..n)
                .filter(|&i| {
                    scores
                        .iter()
                        .zip(t)
                        .any(|(s, &t)| s[i].is_none_or(|s| s >= t))
                })
                .count();
            hit as f64 / n.max(1) as f64
        };
        let (mut lo, mut hi) = (0.0f64, rate.clamp(0.0, 1.0));
        for _ in 0..30 {
            let mid = 0.5 * (lo + hi);
            if flagged(&thresholds(mid)?) <= rate {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        for (file, t) in self.files.iter_mut().zip(thresholds(lo)?) {
            file.threshold = t;
        }
        Ok(lo)
    }

    /// The member guards.
    pub fn guards<'m>(&'m self, net: &'m effpath::Network) -> Result<Vec<Guard<'m>>> {
        self.class_paths
            .iter()
            .zip(&self.files)
            .map(|(cp, file)| Ok(Guard::new(net, cp, file.clone())?))
            .collect()
    }
}

/// Clean AUC per attack of `single` and `ensemble` on the normal images against each attack's
/// examples, their realised false-positive rates on the normal images, and their cost
/// (`member_fpr`: the members' calibrated rate, for the record).
pub fn compare(
    member_fpr: f64,
    single: &Guard<'_>,
    ensemble: &GuardEnsemble<'_>,
    normal: &Array4<f32>,
    adversarial: &[(String, Array4<f32>)],
    norm: Normalization,
) -> Result<Hardening> {
    let targets = [Target::Guard(single), Target::Ensemble(ensemble)];
    let mut normal_scores = Vec::new();
    let mut fpr = [0.0; 2];
    let mut ms = [0.0; 2];
    for (k, t) in targets.iter().enumerate() {
        let start = Instant::now();
        let v = t.verdicts(normal, norm)?;
        ms[k] = start.elapsed().as_secs_f64() * 1e3 / normal.shape()[0].max(1) as f64;
        fpr[k] = v.iter().filter(|(_, f)| *f).count() as f64 / v.len().max(1) as f64;
        normal_scores.push(v);
    }
    let mut rows = Vec::new();
    for (attack, adv) in adversarial {
        let mut auc = [None; 2];
        for (k, t) in targets.iter().enumerate() {
            let adv_v = t.verdicts(adv, norm)?;
            auc[k] = flagged_auc(&normal_scores[k], &adv_v)?;
        }
        rows.push(HardeningRow {
            attack: attack.clone(),
            single_auc: auc[0],
            ensemble_auc: auc[1],
        });
    }
    Ok(Hardening {
        thetas: THETAS.to_vec(),
        member_fpr,
        rows,
        single_fpr: fpr[0],
        ensemble_fpr: fpr[1],
        single_ms: ms[0],
        ensemble_ms: ms[1],
    })
}

/// ROC AUC of scores on normal vs adversarial images; an undefined score (a flagged image)
/// counts as the highest score.
fn flagged_auc(
    normal: &[(Option<f64>, bool)],
    adversarial: &[(Option<f64>, bool)],
) -> Result<Option<f64>> {
    if normal.is_empty() || adversarial.is_empty() {
        return Ok(None);
    }
    let score = |(s, _): &(Option<f64>, bool)| s.unwrap_or(f64::MAX);
    let scores: Vec<f64> = normal.iter().chain(adversarial).map(score).collect();
    let truth: Vec<bool> = (0..scores.len()).map(|i| i >= normal.len()).collect();
    Ok(Some(roc_auc(&scores, &truth)?))
}
