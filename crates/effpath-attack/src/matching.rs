//! Activation matching: the adaptive attack of the original effective-path work against its
//! own detector. An image is pushed, within an L2 budget, until the activations of the
//! network's last weighted layers resemble those of a natural image of the target class — so
//! that its effective path, which those activations decide, looks like that class's path
//! while the prediction becomes the target.

use effpath_ir::ValueId;
use ndarray::{Array3, Array4, ArrayD, Axis, Zip};

use crate::pgd::{budget_search, descend};
use serde::{Deserialize, Serialize};

use crate::attack::{Attack, AttackRun, Batch, Goal, random_targets};
use crate::classifier::Classifier;
use crate::error::Result;
use crate::params::{Checked, ParamGuard, check_count, check_positive};
use crate::result::AttackResult;

/// Images attacked together.
const CHUNK: usize = 64;

/// How the distance between an image's activations and the guide's is measured, per layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatchLoss {
    /// `‖a − g‖² / ‖g‖²`.
    #[default]
    L2,
    /// `1 − cos(a, g)`.
    Cosine,
}

/// L2 PGD towards the activations of a guide image, with a binary search on the budget.
///
/// Targeted: each image gets a target class (random per image when none is given), and its
/// *guide* is the first image of the same batch labelled and classified as the target. The
/// loss is the sum over the last `layers` weighted layers (Conv2d, Dense outputs; `0` = all
/// of them) of [`MatchLoss`]; each PGD step moves `2.5·ε/steps` along the normalised
/// gradient, then projects onto the L2 ball of radius `ε` around the image and onto
/// `[0, 1]`. An iterate classified as the target is a success at budget `ε`. The budget
/// starts at `max_epsilon` and is halved towards the smallest success over `binary_steps`
/// bisections; the adversarial image kept is the one found at the smallest successful budget
/// (the last successful iterate of that run). Deterministic: no random start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivationMatching {
    /// Weighted layers matched, counted from the last (`0` = all).
    pub layers: usize,
    /// The per-layer distance.
    pub loss: MatchLoss,
    /// Largest L2 budget in pixel units (5.0).
    pub max_epsilon: f32,
    /// Bisections of the budget after the first run at `max_epsilon` (6; `0` = the fixed
    /// budget `max_epsilon`).
    pub binary_steps: usize,
    /// PGD steps per budget (40).
    pub steps: usize,
}

impl Default for ActivationMatching {
    fn default() -> Self {
        ActivationMatching {
            layers: 0,
            loss: MatchLoss::L2,
            max_epsilon: 5.0,
            binary_steps: 6,
            steps: 40,
        }
    }
}

impl ActivationMatching {
    /// The same attack at the fixed budget `epsilon` (no search).
    pub fn at_budget(&self, epsilon: f32) -> Self {
        ActivationMatching {
            max_epsilon: epsilon,
            binary_steps: 0,
            ..self.clone()
        }
    }

    /// The values matched: outputs of the last `layers` weighted nodes.
    fn values(&self, clf: &Classifier<'_>) -> Vec<ValueId> {
        let weighted = clf.network().weighted_nodes();
        let n = if self.layers == 0 {
            weighted.len()
        } else {
            self.layers.min(weighted.len())
        };
        weighted[weighted.len() - n..]
            .iter()
            .map(|&i| ValueId(i + 1))
            .collect()
    }
}

impl ParamGuard for ActivationMatching {
    fn check_ref(&self) -> Result<&Self> {
        check_count("steps", self.steps)?;
        check_positive("max_epsilon", self.max_epsilon, false)?;
        Ok(self)
    }
}

impl Attack for Checked<ActivationMatching> {
    fn name(&self) -> &'static str {
        "activation-matching"
    }

    fn run_with_progress(&self, run: &AttackRun<'_>) -> Result<Vec<AttackResult>> {
        let clf = run.clf;
        let drawn;
        let targets = match run.targets {
            Some(t) => t,
            None => {
                drawn = random_targets(run.labels, clf.num_classes(), run.seed);
                &drawn
            }
        };
        let batch = Batch::new(&AttackRun {
            targets: Some(targets),
            ..*run
        })?;
        // The guide of class c: the first image labelled and classified c.
        let guide_of = |c: usize| {
            (0..run.labels.len()).find(|&j| run.labels[j] == c && batch.predictions[j] == c)
        };
        let values = self.values(clf);
        let x = batch.active_images();
        let goals = batch.active_goals();
        let mut cands = Vec::with_capacity(goals.len());
        let mut iters = Vec::with_capacity(goals.len());
        for start in (0..goals.len()).step_by(CHUNK) {
            let end = (start + CHUNK).min(goals.len());
            let idx: Vec<usize> = (start..end)
                .filter(|&i| goals[i].target.and_then(guide_of).is_some())
                .collect();
            let mut found: Vec<Option<Array3<f32>>> = vec![None; end - start];
            if !idx.is_empty() {
                let guides: Vec<usize> = idx
                    .iter()
                    .filter_map(|&i| goals[i].target.and_then(guide_of))
                    .collect();
                let xc = x.select(Axis(0), &idx);
                let gacts = clf.forward(&run.images.select(Axis(0), &guides))?;
                let target_acts: Vec<ArrayD<f32>> = values
                    .iter()
                    .map(|&v| gacts.activations().get(v).clone())
                    .collect();
                let sub_goals: Vec<Goal> = idx.iter().map(|&i| goals[i]).collect();
                let chunk = Chunk {
                    clf,
                    x0: &xc,
                    goals: &sub_goals,
                    values: &values,
                    target: &target_acts,
                };
                for (k, adv) in self.search(&chunk)?.into_iter().enumerate() {
                    found[idx[k] - start] = adv;
                }
            }
            let rounds = (self.binary_steps + 1) * self.steps;
            for f in found {
                iters.push(rounds);
                cands.push(f);
            }
            run.progress.advance((end - start) as u64);
        }
        batch.finish(clf, cands, iters)
    }
}

/// The images of one chunk, their goals, the values matched and the guides' activations of
/// those values (one tensor per value, rows in image order).
struct Chunk<'c> {
    clf: &'c Classifier<'c>,
    x0: &'c Array4<f32>,
    goals: &'c [Goal],
    values: &'c [ValueId],
    target: &'c [ArrayD<f32>],
}

impl ActivationMatching {
    /// The binary search on the budget for a chunk: the adversarial image at the smallest
    /// successful budget of each image.
    fn search(&self, c: &Chunk<'_>) -> Result<Vec<Option<Array3<f32>>>> {
        budget_search(
            c.goals.len(),
            self.max_epsilon,
            self.binary_steps,
            |alive, eps| {
                let sub_goals: Vec<Goal> = alive.iter().map(|&i| c.goals[i]).collect();
                let sub_target: Vec<ArrayD<f32>> =
                    c.target.iter().map(|t| t.select(Axis(0), alive)).collect();
                let sub_x = c.x0.select(Axis(0), alive);
                let sub = Chunk {
                    x0: &sub_x,
                    goals: &sub_goals,
                    target: &sub_target,
                    ..*c
                };
                self.pgd(&sub, eps)
            },
        )
    }

    /// PGD at per-image budgets `eps`: the last iterate of each image classified as its
    /// target, if any.
    fn pgd(&self, c: &Chunk<'_>, eps: &[f32]) -> Result<Vec<Option<Array3<f32>>>> {
        let Chunk {
            clf,
            x0,
            goals,
            values,
            target,
        } = *c;
        let n = goals.len();
        let mut x = x0.clone();
        let mut found: Vec<Option<Array3<f32>>> = vec![None; n];
        for step in 0..=self.steps {
            let fwd = clf.forward(&x)?;
            for (i, p) in fwd.predictions().into_iter().enumerate() {
                if step > 0 && goals[i].reached(p) {
                    found[i] = Some(x.index_axis(Axis(0), i).to_owned());
                }
            }
            if step == self.steps {
                break;
            }
            let grads: Vec<ArrayD<f32>> = values
                .iter()
                .zip(target)
                .map(|(&v, t)| loss_gradient(self.loss, fwd.activations().get(v), t))
                .collect();
            let seeds: Vec<(ValueId, &ArrayD<f32>)> =
                values.iter().copied().zip(grads.iter()).collect();
            let g = fwd.backward_seeded(&seeds)?;
            descend(&mut x, x0, &g, eps, self.steps);
        }
        Ok(found)
    }
}

/// `d loss / d a` of the per-image matching loss between activations `a` and guides `t`
/// (same shape, batch first).
fn loss_gradient(loss: MatchLoss, a: &ArrayD<f32>, t: &ArrayD<f32>) -> ArrayD<f32> {
    let mut g = ArrayD::<f32>::zeros(a.raw_dim());
    for ((mut gi, ai), ti) in g.outer_iter_mut().zip(a.outer_iter()).zip(t.outer_iter()) {
        let dot = |u: &ndarray::ArrayViewD<f32>, v: &ndarray::ArrayViewD<f32>| -> f64 {
            u.iter()
                .zip(v)
                .map(|(a, b)| f64::from(*a) * f64::from(*b))
                .sum()
        };
        let (tt, aa) = (dot(&ti, &ti), dot(&ai, &ai));
        match loss {
            MatchLoss::L2 => {
                let c = (2.0 / (tt + 1e-12)) as f32;
                Zip::from(&mut gi)
                    .and(&ai)
                    .and(&ti)
                    .for_each(|g, &a, &t| *g = c * (a - t));
            }
            MatchLoss::Cosine => {
                // d(1 − a·t/(|a||t|))/da = −t/(|a||t|) + (a·t)·a/(|a|³|t|)
                let (na, nt) = (aa.sqrt().max(1e-12), tt.sqrt().max(1e-12));
                let at = dot(&ai, &ti);
                let (ct, ca) = ((-1.0 / (na * nt)) as f32, (at / (na * na * na * nt)) as f32);
                Zip::from(&mut gi)
                    .and(&ai)
                    .and(&ti)
                    .for_each(|g, &a, &t| *g = ct * t + ca * a);
            }
        }
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::IxDyn;

    /// The analytic gradients agree with central differences of the losses.
    #[test]
    fn loss_gradients_match_finite_differences() {
        let a = ArrayD::from_shape_fn(IxDyn(&[2, 3]), |i| (i[0] * 3 + i[1]) as f32 * 0.3 - 0.7);
        let t = ArrayD::from_shape_fn(IxDyn(&[2, 3]), |i| 1.0 - (i[0] + 2 * i[1]) as f32 * 0.4);
        let value = |loss: MatchLoss, a: &ArrayD<f32>, row: usize| -> f64 {
            let (ar, tr) = (a.index_axis(Axis(0), row), t.index_axis(Axis(0), row));
            let dot = |u: &ndarray::ArrayViewD<f32>, v: &ndarray::ArrayViewD<f32>| -> f64 {
                u.iter()
                    .zip(v)
                    .map(|(a, b)| f64::from(*a) * f64::from(*b))
                    .sum()
            };
            match loss {
                MatchLoss::L2 => {
                    let d: f64 = ar
                        .iter()
                        .zip(&tr)
                        .map(|(a, b)| f64::from(a - b).powi(2))
                        .sum();
                    d / dot(&tr, &tr)
                }
                MatchLoss::Cosine => {
                    1.0 - dot(&ar, &tr) / (dot(&ar, &ar).sqrt() * dot(&tr, &tr).sqrt())
                }
            }
        };
        for loss in [MatchLoss::L2, MatchLoss::Cosine] {
            let g = loss_gradient(loss, &a, &t);
            for row in 0..2 {
                for col in 0..3 {
                    let h = 1e-3f32;
                    let (mut up, mut down) = (a.clone(), a.clone());
                    up[[row, col]] += h;
                    down[[row, col]] -= h;
                    let fd =
                        (value(loss, &up, row) - value(loss, &down, row)) / (2.0 * f64::from(h));
                    let got = f64::from(g[[row, col]]);
                    assert!(
                        (fd - got).abs() < 1e-3 * (1.0 + fd.abs()),
                        "{loss:?} [{row},{col}]: {got} vs {fd}"
                    );
                }
            }
        }
    }
}
