//! Attacks that know the detector, at a grid of fixed budgets, against the report's linear
//! detector at its 5 %-FPR threshold: activation matching (L2 PGD towards the last layers'
//! activations of an image of a random target class) and the white-box attack on classifier
//! and detector together (L2 PGD checked against the real guard at every step, BPDA through
//! a stand-in for its score).

use anyhow::Result;
use effpath::attack::{
    ActivationMatching, Attack, AttackResult, AttackRun, Classifier, NoProgress, ParamGuard,
    WhiteBox, random_targets,
};
use effpath::data::Normalization;
use effpath::defence::GuardDefence;
use effpath::detect::roc_auc;
use effpath::ensemble::GuardEnsemble;
use effpath::guard::Guard;
use effpath::ndarray::{Array4, Axis, stack};

use crate::report::{Adaptive, EvasionCurve, EvasionPoint};

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

/// What the adaptive attacks are run against: the demo's guard, or a hardened ensemble.
#[derive(Clone, Copy)]
pub enum Target<'t> {
    /// One guard.
    Guard(&'t Guard<'t>),
    /// Guards combined by "flag if any flags".
    Ensemble(&'t GuardEnsemble<'t>),
}

impl<'t> Target<'t> {
    /// Scores and flags of `pixels` (`None` where a similarity is undefined: flagged).
    pub fn verdicts(
        self,
        pixels: &Array4<f32>,
        norm: Normalization,
    ) -> Result<Vec<(Option<f64>, bool)>> {
        let mut x = pixels.clone();
        norm.apply(&mut x);
        let x = x.into_dyn();
        let v = match self {
            Target::Guard(g) => g.check(&x)?,
            Target::Ensemble(e) => e.check(&x)?,
        };
        Ok(v.into_iter().map(|v| (v.score, v.flagged)).collect())
    }

    fn defence(self) -> Result<GuardDefence<'t>> {
        Ok(match self {
            Target::Guard(g) => GuardDefence::new(g)?,
            Target::Ensemble(e) => GuardDefence::ensemble(e)?,
        })
    }

    /// Weighted layers the (first) guard's features compare.
    fn layers(self) -> usize {
        match self {
            Target::Guard(g) => g.path_features().layers().len(),
            Target::Ensemble(e) => e
                .members()
                .first()
                .map_or(0, |g| g.path_features().layers().len()),
        }
    }
}

/// One evasion curve per attack in `attacks` (activation matching of the last `n` layers,
/// `0` = all, or the white-box attack): at each budget, how many of `images` the attack
/// fools (into the target class for activation matching), how many of those the guard does
/// not flag, and the guard's AUC on the fooled ones against `normal`.
#[allow(clippy::too_many_arguments)]
pub fn evasion(
    clf: &Classifier<'_>,
    guard: Target<'_>,
    norm: Normalization,
    normal: &Array4<f32>,
    (images, labels): (&Array4<f32>, &[usize]),
    budgets: &[f32],
    attacks: &[(Adaptive, usize)],
    seed: u64,
) -> Result<Vec<EvasionCurve>> {
    let normal_scores: Vec<f64> = guard
        .verdicts(normal, norm)?
        .into_iter()
        .filter_map(|(s, _)| s)
        .collect();
    let targets = random_targets(labels, clf.num_classes(), seed);
    let weighted = clf.network().weighted_nodes().len();
    let defence = guard.defence()?;
    let mut curves = Vec::new();
    for &(attack, layers) in attacks {
        let mut points = Vec::new();
        for &eps in budgets {
            let run = AttackRun {
                clf,
                images,
                labels,
                targets: None,
                seed,
                progress: &NoProgress,
            };
            let results: Vec<AttackResult> = match attack {
                Adaptive::ActivationMatching => ActivationMatching {
                    layers,
                    ..ActivationMatching::default()
                }
                .at_budget(eps)
                .check()?
                .run_with_progress(&AttackRun {
                    targets: Some(&targets),
                    ..run
                })?,
                Adaptive::WhiteBox | Adaptive::WhiteBoxEnsemble => WhiteBox::default()
                    .at_budget(eps)
                    .check()?
                    .against(&defence)
                    .run_with_progress(&run)?,
            };
            points.push(point(guard, norm, &normal_scores, eps, &results)?);
        }
        curves.push(EvasionCurve {
            attack,
            layers: match attack {
                Adaptive::ActivationMatching if layers > 0 => layers,
                Adaptive::ActivationMatching => weighted,
                Adaptive::WhiteBox | Adaptive::WhiteBoxEnsemble => guard.layers(),
            },
            points,
        });
    }
    Ok(curves)
}

/// One budget's point: the attack's successes re-checked by the guard.
fn point(
    guard: Target<'_>,
    norm: Normalization,
    normal_scores: &[f64],
    eps: f32,
    results: &[AttackResult],
) -> Result<EvasionPoint> {
    let attacked = results.iter().filter(|r| r.source_correct()).count();
    let ok: Vec<_> = results
        .iter()
        .filter(|r| r.success)
        .map(|r| r.adversarial.view())
        .collect();
    let (mut evaded, mut auc) = (0, None);
    if !ok.is_empty() {
        let v = guard.verdicts(&stack(Axis(0), &ok)?, norm)?;
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
    Ok(EvasionPoint {
        epsilon: f64::from(eps),
        attacked,
        fooled: ok.len(),
        evaded,
        auc,
    })
}
