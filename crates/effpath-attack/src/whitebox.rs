//! A white-box attack on the whole defence — classifier and detector together (Carlini &
//! Wagner 2017; Tramèr et al. 2020): L2 PGD that, at every step, asks the real detector
//! whether the current image is flagged and follows the gradient of a differentiable
//! stand-in for the detector's score where it is (BPDA: the hard verdict decides, the
//! stand-in only gives the direction).

use effpath_ir::ValueId;
use ndarray::{Array3, Array4, ArrayD, Axis};
use serde::{Deserialize, Serialize};

use crate::attack::{Attack, AttackRun, Batch, Goal, ce_grad};
use crate::classifier::{Classifier, Forward};
use crate::error::{AttackError, Result};
use crate::params::{Checked, ParamGuard, check_count, check_positive};
use crate::pgd::{budget_search, descend, normalised};
use crate::result::AttackResult;

/// Images attacked together.
const CHUNK: usize = 64;

/// What an attack on the whole defence needs from the detector: its real verdict on the
/// images of a forward pass, and the gradient of a differentiable stand-in for its score.
/// `effpath::guard::GuardDefence` implements it for a network's guard (effective paths,
/// class paths and a trained detector).
pub trait Defence: Sync {
    /// The detector's verdicts on the images of `fwd` (a forward pass of the attacked
    /// classifier), with `d score / d value` of its stand-in for values of that pass.
    fn assess(&self, fwd: &Forward<'_>) -> std::result::Result<Assessment, DefenceError>;
}

/// The error of a [`Defence`] (its own error type, boxed).
pub type DefenceError = Box<dyn std::error::Error + Send + Sync>;

/// A [`Defence`]'s answer for one forward pass of `n` images.
#[derive(Debug, Clone, Default)]
pub struct Assessment {
    /// Per image: whether the real (hard) detector flags it.
    pub flagged: Vec<bool>,
    /// `d stand-in score / d value` for values of the forward pass, each `(n, …)` like the
    /// value; images whose score should not move may have zero rows.
    pub seeds: Vec<(ValueId, ArrayD<f32>)>,
}

/// L2 PGD against classifier and detector at once, with a binary search on the budget.
///
/// Each step moves `2.5·ε/steps` along the sum of two L2-normalised directions: the
/// classification loss's (cross-entropy away from the label, or towards the target), while
/// the image is not yet misclassified; and `detector_weight` × the [`Defence`]'s stand-in
/// score's, while the real detector flags the image. It then projects onto the L2 ball of
/// radius `ε` and onto `[0, 1]`. An iterate that is misclassified *and* not flagged by the
/// real detector is a success at budget `ε` (the first such iterate is kept). The budget
/// starts at `max_epsilon` and is bisected `binary_steps` times towards the smallest success.
/// Deterministic: no random start. Untargeted unless targets are given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhiteBox {
    /// Largest L2 budget in pixel units (5.0).
    pub max_epsilon: f32,
    /// Bisections of the budget after the first run (6; `0` = the fixed budget).
    pub binary_steps: usize,
    /// PGD steps per budget (40).
    pub steps: usize,
    /// Weight of the detector's direction against the classifier's (1.0).
    pub detector_weight: f32,
}

impl Default for WhiteBox {
    fn default() -> Self {
        WhiteBox {
            max_epsilon: 5.0,
            binary_steps: 6,
            steps: 40,
            detector_weight: 1.0,
        }
    }
}

impl WhiteBox {
    /// The same attack at the fixed budget `epsilon` (no search).
    pub fn at_budget(&self, epsilon: f32) -> Self {
        WhiteBox {
            max_epsilon: epsilon,
            binary_steps: 0,
            ..self.clone()
        }
    }
}

impl ParamGuard for WhiteBox {
    fn check_ref(&self) -> Result<&Self> {
        check_count("steps", self.steps)?;
        check_positive("max_epsilon", self.max_epsilon, false)?;
        check_positive("detector_weight", self.detector_weight, true)?;
        Ok(self)
    }
}

impl Checked<WhiteBox> {
    /// The attack against `defence`.
    pub fn against<'d>(&self, defence: &'d dyn Defence) -> DefenceAttack<'d> {
        DefenceAttack {
            params: self.clone(),
            defence,
        }
    }
}

/// [`WhiteBox`] against one [`Defence`]: the runnable [`Attack`].
pub struct DefenceAttack<'d> {
    params: Checked<WhiteBox>,
    defence: &'d dyn Defence,
}

impl std::fmt::Debug for DefenceAttack<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DefenceAttack")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl Attack for DefenceAttack<'_> {
    fn name(&self) -> &'static str {
        "white-box"
    }

    fn run_with_progress(&self, run: &AttackRun<'_>) -> Result<Vec<AttackResult>> {
        let p = &self.params;
        let clf = run.clf;
        let batch = Batch::new(run)?;
        let x = batch.active_images();
        let goals = batch.active_goals();
        let mut cands = Vec::with_capacity(goals.len());
        for start in (0..goals.len()).step_by(CHUNK) {
            let end = (start + CHUNK).min(goals.len());
            let idx: Vec<usize> = (start..end).collect();
            let x0 = x.select(Axis(0), &idx);
            let found = budget_search(idx.len(), p.max_epsilon, p.binary_steps, |alive, eps| {
                let sub_goals: Vec<Goal> = alive.iter().map(|&i| goals[start + i]).collect();
                self.pgd(clf, &x0.select(Axis(0), alive), &sub_goals, eps)
            })?;
            cands.extend(found);
            run.progress.advance((end - start) as u64);
        }
        let iters = vec![(p.binary_steps + 1) * p.steps; cands.len()];
        batch.finish(clf, cands, iters)
    }
}

impl DefenceAttack<'_> {
    /// PGD at per-image budgets `eps`: the first iterate of each image that is misclassified
    /// and not flagged, if any.
    fn pgd(
        &self,
        clf: &Classifier<'_>,
        x0: &Array4<f32>,
        goals: &[Goal],
        eps: &[f32],
    ) -> Result<Vec<Option<Array3<f32>>>> {
        let steps = self.params.steps;
        let mut x = x0.clone();
        let mut found: Vec<Option<Array3<f32>>> = vec![None; goals.len()];
        for step in 0..=steps {
            let fwd = clf.forward(&x)?;
            let verdict = self
                .defence
                .assess(&fwd)
                .map_err(|source| AttackError::Defence { source })?;
            check_assessment(&verdict, &fwd, goals.len())?;
            let fooled: Vec<bool> = fwd
                .predictions()
                .into_iter()
                .zip(goals)
                .map(|(p, g)| g.reached(p))
                .collect();
            for i in 0..goals.len() {
                if step > 0 && found[i].is_none() && fooled[i] && !verdict.flagged[i] {
                    found[i] = Some(x.index_axis(Axis(0), i).to_owned());
                }
            }
            if step == steps || found.iter().all(Option::is_some) {
                break;
            }
            let dir = self.direction(&fwd, goals, &fooled, &verdict, &found)?;
            descend(&mut x, x0, &dir, eps, steps);
        }
        Ok(found)
    }

    /// The descent direction of every image: the normalised classification direction while
    /// not fooled, plus `detector_weight` × the normalised stand-in direction while flagged;
    /// zero for images already found.
    fn direction(
        &self,
        fwd: &Forward<'_>,
        goals: &[Goal],
        fooled: &[bool],
        verdict: &Assessment,
        found: &[Option<Array3<f32>>],
    ) -> Result<Array4<f32>> {
        // Ascending `ce_grad(loss_class)` moves towards the goal; descend its negative.
        let classes: Vec<(usize, f32)> = goals
            .iter()
            .map(|g| {
                let (c, s) = g.loss_class();
                (c, -s)
            })
            .collect();
        let cls = normalised(fwd.backward(&ce_grad(fwd.logits(), &classes))?);
        let seeds: Vec<(ValueId, &ArrayD<f32>)> =
            verdict.seeds.iter().map(|(v, g)| (*v, g)).collect();
        let det = if seeds.is_empty() {
            Array4::zeros(cls.raw_dim())
        } else {
            normalised(fwd.backward_seeded(&seeds)?)
        };
        let w = self.params.detector_weight;
        let mut dir = Array4::<f32>::zeros(cls.raw_dim());
        for (i, mut d) in dir.outer_iter_mut().enumerate() {
            if found[i].is_some() {
                continue;
            }
            if !fooled[i] {
                d += &cls.index_axis(Axis(0), i);
            }
            if verdict.flagged[i] {
                d.scaled_add(w, &det.index_axis(Axis(0), i));
            }
        }
        Ok(dir)
    }
}

/// An assessment of `n` images whose seeds are values of the forward pass with its shapes.
fn check_assessment(a: &Assessment, fwd: &Forward<'_>, n: usize) -> Result<()> {
    let bad = |what| AttackError::DefenceAnswer { what };
    if a.flagged.len() != n {
        return Err(bad("one verdict per image"));
    }
    let values = fwd.activations().values();
    for (v, g) in &a.seeds {
        if values.get(v.0).is_none_or(|t| t.shape() != g.shape()) {
            return Err(bad("seeds shaped as values of the forward pass"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Classifier;
    use effpath_data::Normalization;

    /// A defence that flags every image whose pixel mean is above `limit`, with the exact
    /// gradient of its score (the mean) on the input value.
    struct Bright {
        limit: f32,
    }

    impl Defence for Bright {
        fn assess(&self, fwd: &Forward<'_>) -> std::result::Result<Assessment, DefenceError> {
            let x = fwd.activations().get(ValueId(0));
            let per = x.len() / x.shape()[0];
            let flagged = x
                .outer_iter()
                .map(|r| r.iter().sum::<f32>() / per as f32 > self.limit)
                .collect();
            let g = ArrayD::from_elem(x.raw_dim(), 1.0 / per as f32);
            Ok(Assessment {
                flagged,
                seeds: vec![(ValueId(0), g)],
            })
        }
    }

    #[test]
    fn successes_fool_the_classifier_and_pass_the_detector() {
        let net = effpath_ir::zoo::lenet5(3);
        let clf = Classifier::new(&net, Normalization::None).unwrap();
        let x = Array4::from_shape_fn((6, 1, 28, 28), |(n, _, h, w)| {
            ((n * 7 + h * 3 + w) % 11) as f32 / 11.0
        });
        let labels = clf.predict(&x).unwrap();
        let mean = x.mean().unwrap_or(0.0);
        let defence = Bright { limit: mean };
        let attack = WhiteBox {
            steps: 20,
            binary_steps: 2,
            ..WhiteBox::default()
        }
        .check()
        .unwrap();
        let results = attack
            .against(&defence)
            .run(&clf, &x, &labels, None, 0)
            .unwrap();
        assert!(results.iter().any(|r| r.success), "no success at all");
        for r in results.iter().filter(|r| r.success) {
            assert_ne!(r.adversarial_prediction, r.label);
            let m = r.adversarial.iter().sum::<f32>() / r.adversarial.len() as f32;
            assert!(m <= mean, "flagged success: mean {m} > {mean}");
            assert!(r.distortion.l2 <= 5.0 + 1e-3);
        }
        // Deterministic.
        let again = attack
            .against(&defence)
            .run(&clf, &x, &labels, None, 0)
            .unwrap();
        assert_eq!(results, again);
    }

    #[test]
    fn a_defence_answering_for_the_wrong_images_is_an_error() {
        struct Wrong;
        impl Defence for Wrong {
            fn assess(&self, _: &Forward<'_>) -> std::result::Result<Assessment, DefenceError> {
                Ok(Assessment::default())
            }
        }
        let net = effpath_ir::zoo::lenet5(3);
        let clf = Classifier::new(&net, Normalization::None).unwrap();
        let x = Array4::from_elem((1, 1, 28, 28), 0.5f32);
        let labels = clf.predict(&x).unwrap();
        let err = WhiteBox::default()
            .check()
            .unwrap()
            .against(&Wrong)
            .run(&clf, &x, &labels, None, 0);
        assert!(
            matches!(err, Err(AttackError::DefenceAnswer { .. })),
            "{err:?}"
        );
    }
}
