//! DeepFool (L2), as foolbox 1.3.2's `DeepFoolAttack` with `p = 2`.

use ndarray::{Array2, Array3, Axis, Zip};

use crate::attack::{Attack, AttackRun, Batch};
use crate::error::{InputIssue, Result};
use crate::params::{Checked, ParamGuard, check_count, check_positive};
use crate::result::AttackResult;

/// DeepFool, L2 version, as in foolbox 1.3.2.
///
/// The candidate classes are the `subsample` classes with the largest logits on the source
/// (the label among them). At each step, for every candidate `k` whose logit is still below
/// the label's, the linearised distance to the boundary is `|z_k − z_l| / ‖∇(z_k − z_l)‖`; the
/// closest `k` gives the step `|z_k − z_l| / ‖w‖² · w` with `w = ∇(z_k − z_l)`, applied as
/// `x ← clip(x + (1 + overshoot)·step, 0, 1)`. The attack stops as soon as the prediction
/// leaves the label, after at most `steps` steps (plus a final check).
///
/// foolbox applies the overshoot to every step with a factor 1.05, so the default
/// `overshoot` is 0.05 (the DeepFool paper's 0.02 is accumulated differently).
/// Untargeted only. `iterations` counts the steps taken.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeepFool {
    /// Maximum number of steps (100).
    pub steps: usize,
    /// Number of most likely classes considered (10).
    pub subsample: usize,
    /// Each step is multiplied by `1 + overshoot` (0.05).
    pub overshoot: f32,
}

impl Default for DeepFool {
    fn default() -> Self {
        DeepFool {
            steps: 100,
            subsample: 10,
            overshoot: 0.05,
        }
    }
}

/// The closest linearised boundary found for one image in one step.
#[derive(Debug, Clone)]
struct Step {
    /// `|z_k − z_l| / ‖w‖`.
    dist: f64,
    /// `|z_k − z_l|`.
    df: f32,
    /// `‖w‖`.
    norm: f64,
    /// `w = ∇(z_k − z_l)`.
    w: Array3<f32>,
}

impl ParamGuard for DeepFool {
    fn check_ref(&self) -> Result<&Self> {
        check_count("steps", self.steps)?;
        check_count("subsample", self.subsample)?;
        check_positive("overshoot", self.overshoot, true)?;
        Ok(self)
    }
}

impl Attack for Checked<DeepFool> {
    fn name(&self) -> &'static str {
        "deepfool"
    }

    fn run_with_progress(&self, run: &AttackRun<'_>) -> Result<Vec<AttackResult>> {
        let AttackRun {
            clf,
            targets,
            progress,
            ..
        } = *run;
        if targets.is_some() {
            return Err(InputIssue::Untargeted { attack: "DeepFool" }.into());
        }
        let batch = Batch::new(run)?;
        let mut x = batch.active_images();
        let goals = batch.active_goals();
        let n = goals.len();
        let k = clf.num_classes();
        if n == 0 {
            return batch.finish(clf, Vec::new(), Vec::new());
        }
        // Candidate classes: the top `subsample` logits on the source (stable order).
        let candidates: Vec<Vec<usize>> = clf
            .logits(&x)?
            .outer_iter()
            .map(|row| {
                let mut order: Vec<usize> = (0..k).collect();
                order.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
                order.truncate(self.subsample);
                order
            })
            .collect();
        let mut done: Vec<Option<bool>> = vec![None; n];
        let mut iters = vec![0usize; n];
        for step in 0..=self.steps {
            let active: Vec<usize> = (0..n).filter(|&i| done[i].is_none()).collect();
            if active.is_empty() {
                break;
            }
            let xa = x.select(Axis(0), &active);
            let fwd = clf.forward(&xa)?;
            let z = fwd.logits().clone();
            let preds = fwd.predictions();
            // Residual candidates per active image (logit below the label's).
            let mut residual: Vec<Vec<usize>> = Vec::with_capacity(active.len());
            for (a, &i) in active.iter().enumerate() {
                let l = goals[i].label;
                if preds[a] != l {
                    done[i] = Some(true);
                    progress.advance(1);
                    residual.push(Vec::new());
                    continue;
                }
                let r: Vec<usize> = candidates[i]
                    .iter()
                    .copied()
                    .filter(|&c| z[[a, c]] < z[[a, l]])
                    .collect();
                if step == self.steps || r.is_empty() {
                    done[i] = Some(false);
                    progress.advance(1);
                    residual.push(Vec::new());
                    continue;
                }
                residual.push(r);
            }
            let passes = residual.iter().map(Vec::len).max().unwrap_or(0);
            let mut best: Vec<Option<Step>> = vec![None; active.len()];
            for p in 0..passes {
                let mut dl = Array2::<f32>::zeros(z.raw_dim());
                for (a, r) in residual.iter().enumerate() {
                    if let Some(&c) = r.get(p) {
                        dl[[a, c]] += 1.0;
                        dl[[a, goals[active[a]].label]] -= 1.0;
                    }
                }
                let w = fwd.backward(&dl)?;
                for (a, r) in residual.iter().enumerate() {
                    let Some(&c) = r.get(p) else { continue };
                    let wa = w.index_axis(Axis(0), a);
                    let norm = wa.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt();
                    let df = (z[[a, c]] - z[[a, goals[active[a]].label]]).abs();
                    let dist = f64::from(df) / (norm + 1e-8);
                    if best[a].as_ref().is_none_or(|b| dist < b.dist) {
                        best[a] = Some(Step {
                            dist,
                            df,
                            norm,
                            w: wa.to_owned(),
                        });
                    }
                }
            }
            for (a, b) in best.into_iter().enumerate() {
                let Some(Step { df, norm, w, .. }) = b else {
                    continue;
                };
                let i = active[a];
                let scale = (f64::from(df) / (norm + 1e-8).powi(2)) as f32 * (1.0 + self.overshoot);
                let mut xi = x.index_axis_mut(Axis(0), i);
                Zip::from(&mut xi)
                    .and(&w)
                    .for_each(|x, &w| *x = (*x + scale * w).clamp(0.0, 1.0));
                iters[i] += 1;
            }
        }
        let cands = (0..n)
            .map(|i| (done[i] == Some(true)).then(|| x.index_axis(Axis(0), i).to_owned()))
            .collect();
        batch.finish(clf, cands, iters)
    }
}
