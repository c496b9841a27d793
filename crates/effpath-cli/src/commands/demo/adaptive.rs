//! Attacks that know the detector: activation matching (L2 PGD towards the last layers'
//! activations of an image of a random target class) at a grid of fixed budgets, against
//! the report's linear detector at its 5 %-FPR threshold.

use anyhow::Result;
use effpath::attack::{
    ActivationMatching, Attack, AttackRun, Classifier, NoProgress, random_targets,
};
use effpath::guard::Guard;
use effpath::ndarray::{Array4, Axis, stack};
use effpath::{Normalization, roc_auc};

use crate::report::{EvasionCurve, EvasionPoint};

/// The budgets (L2, pixel units) of the default run and of `--fast`: multiples of the plain
/// C&W attack's median L2 on the same model when it ran (so that the curves of models of
/// very different robustness are comparable), else a fixed grid.
pub fn budgets(fast: bool, cw_median_l2: Option<f64>) -> Vec<f32> {
    let multiples: &[f32] = if fast {
        &[0.5, 1.0, 2.0, 4.0]
    } else {
        &[0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0]
    };
    let unit = cw_median_l2.map_or(1.0, |m| m as f32);
    multiples.iter().map(|k| k * unit).collect()
}

/// Scores of `pixels` under `guard` (`None` where a similarity is undefined: flagged).
fn verdicts(
    guard: &Guard<'_>,
    pixels: &Array4<f32>,
    norm: Normalization,
) -> Result<Vec<(Option<f64>, bool)>> {
    let mut x = pixels.clone();
    norm.apply(&mut x);
    Ok(guard
        .check(&x.into_dyn())?
        .into_iter()
        .map(|v| (v.score, v.flagged))
        .collect())
}

/// One evasion curve per number of matched layers in `layer_counts` (`0` = all): at each
/// budget, how many of `images` the attack turns into the target class, how many of those
/// the guard does not flag, and the guard's AUC on the successful ones against `normal`.
#[allow(clippy::too_many_arguments)]
pub fn evasion(
    clf: &Classifier<'_>,
    guard: &Guard<'_>,
    norm: Normalization,
    normal: &Array4<f32>,
    (images, labels): (&Array4<f32>, &[usize]),
    budgets: &[f32],
    layer_counts: &[usize],
    seed: u64,
) -> Result<Vec<EvasionCurve>> {
    let normal_scores: Vec<f64> = verdicts(guard, normal, norm)?
        .into_iter()
        .filter_map(|(s, _)| s)
        .collect();
    let targets = random_targets(labels, clf.num_classes(), seed);
    let weighted = clf.network().weighted_nodes().len();
    let mut curves = Vec::new();
    for &layers in layer_counts {
        let mut points = Vec::new();
        for &eps in budgets {
            let attack = ActivationMatching {
                layers,
                ..ActivationMatching::default()
            }
            .at_budget(eps);
            let results = attack.run_with_progress(&AttackRun {
                clf,
                images,
                labels,
                targets: Some(&targets),
                seed,
                progress: &NoProgress,
            })?;
            let attacked = results.iter().filter(|r| r.source_correct()).count();
            let ok: Vec<_> = results
                .iter()
                .filter(|r| r.success)
                .map(|r| r.adversarial.view())
                .collect();
            let (mut evaded, mut auc) = (0, None);
            if !ok.is_empty() {
                let v = verdicts(guard, &stack(Axis(0), &ok)?, norm)?;
                evaded = v.iter().filter(|(_, flagged)| !flagged).count();
                let adv: Vec<f64> = v.iter().filter_map(|(s, _)| *s).collect();
                if !adv.is_empty() && !normal_scores.is_empty() {
                    let scores: Vec<f64> = normal_scores.iter().chain(&adv).copied().collect();
                    let truth: Vec<bool> = (0..scores.len())
                        .map(|i| i >= normal_scores.len())
                        .collect();
                    auc = Some(roc_auc(&scores, &truth)?);
                }
            }
            points.push(EvasionPoint {
                epsilon: f64::from(eps),
                attacked,
                fooled: ok.len(),
                evaded,
                auc,
            });
        }
        curves.push(EvasionCurve {
            layers: if layers == 0 { weighted } else { layers },
            points,
        });
    }
    Ok(curves)
}
