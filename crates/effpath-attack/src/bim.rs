//! BIM: foolbox 1.3.2's `IterativeGradientSignAttack` (iterative FGSM with an ε search).

use ndarray::{Array3, Array4, Axis, Zip};

use crate::attack::{Attack, AttackRun, Batch, Goal, ce_grad};
use crate::classifier::Classifier;
use crate::error::Result;
use crate::fgsm::sign;
use crate::params::{Checked, ParamGuard, check_count, check_positive};
use crate::result::AttackResult;

/// Images attacked together.
const CHUNK: usize = 128;

/// Basic iterative method as foolbox 1.3.2's `IterativeGradientSignAttack`.
///
/// For each per-step size `ε = (max_epsilon / steps)·e/epsilons`, `e = 1…epsilons`, the
/// attack starts from the source and takes `steps` steps `x ← clip(x + ε·sign(∇ CE), 0, 1)`
/// (the gradient of the label's cross-entropy, ascended; of the target's, descended, when
/// targeted). There is no projection onto an ε-ball: only the `[0, 1]` clip. Every iterate
/// is checked, and, as foolbox does, the search never stops early: the adversarial iterate
/// with the smallest L2 distance over all `epsilons × steps` iterates is kept.
///
/// `iterations` is the position of the kept iterate in the search order
/// (`(e − 1)·steps + step`, 1-based; `epsilons × steps` on failure).
///
/// [`Bim::default`] is the untargeted setting of the original (100 step sizes up to a total
/// of 1, 10 steps); [`Bim::targeted`] its targeted one (one step size, total 0.1, 10 steps).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bim {
    /// Number of step sizes tried (100).
    pub epsilons: usize,
    /// Largest total budget `steps × ε` in pixel units (1.0).
    pub max_epsilon: f32,
    /// Steps per step size (10).
    pub steps: usize,
}

impl Default for Bim {
    fn default() -> Self {
        Bim {
            epsilons: 100,
            max_epsilon: 1.0,
            steps: 10,
        }
    }
}

impl Bim {
    /// The original's targeted iterative FGSM: one step size, `max_epsilon` 0.1, 10 steps
    /// (so 10 steps of 0.01).
    pub fn targeted() -> Self {
        Bim {
            epsilons: 1,
            max_epsilon: 0.1,
            steps: 10,
        }
    }
}

impl ParamGuard for Bim {
    fn check_ref(&self) -> Result<&Self> {
        check_count("epsilons", self.epsilons)?;
        check_count("steps", self.steps)?;
        check_positive("max_epsilon", self.max_epsilon, false)?;
        Ok(self)
    }
}

impl Attack for Checked<Bim> {
    fn name(&self) -> &'static str {
        "bim"
    }

    fn run_with_progress(&self, run: &AttackRun<'_>) -> Result<Vec<AttackResult>> {
        let AttackRun { clf, progress, .. } = *run;
        let batch = Batch::new(run)?;
        let x = batch.active_images();
        let goals = batch.active_goals();
        let mut cands = Vec::with_capacity(goals.len());
        let mut iters = Vec::with_capacity(goals.len());
        for start in (0..goals.len()).step_by(CHUNK) {
            let end = (start + CHUNK).min(goals.len());
            let xc = x.slice_axis(Axis(0), (start..end).into()).to_owned();
            for (c, it) in self.chunk(clf, &xc, &goals[start..end])? {
                cands.push(c);
                iters.push(it);
            }
            progress.advance((end - start) as u64);
        }
        batch.finish(clf, cands, iters)
    }
}

impl Bim {
    fn chunk(
        &self,
        clf: &Classifier<'_>,
        x0: &Array4<f32>,
        goals: &[Goal],
    ) -> Result<Vec<(Option<Array3<f32>>, usize)>> {
        let n = goals.len();
        let classes: Vec<(usize, f32)> = goals.iter().map(Goal::loss_class).collect();
        let grad = |x: &Array4<f32>| clf.gradient(x, |z| Ok(ce_grad(z, &classes)));
        let (_, g0) = grad(x0)?;
        let mut best: Vec<Option<(f64, Array3<f32>, usize)>> = vec![None; n];
        let mut record = |x: &Array4<f32>, preds: &[usize], position: usize| {
            for (i, b) in best.iter_mut().enumerate() {
                if !goals[i].reached(preds[i]) {
                    continue;
                }
                let xi = x.index_axis(Axis(0), i);
                let d2: f64 = Zip::from(&xi)
                    .and(x0.index_axis(Axis(0), i))
                    .fold(0.0, |acc, &a, &b| acc + f64::from(a - b).powi(2));
                if b.as_ref().is_none_or(|(best_d2, _, _)| d2 < *best_d2) {
                    *b = Some((d2, xi.to_owned(), position));
                }
            }
        };
        let per_step = f64::from(self.max_epsilon) / self.steps as f64;
        for e in 1..=self.epsilons {
            let eps = (per_step * e as f64 / self.epsilons as f64) as f32;
            let mut x = x0.clone();
            let mut g = g0.clone();
            for s in 1..=self.steps {
                Zip::from(&mut x)
                    .and(&g)
                    .for_each(|x, &g| *x = (*x + eps * sign(g)).clamp(0.0, 1.0));
                let position = (e - 1) * self.steps + s;
                if s < self.steps {
                    let (logits, next) = grad(&x)?;
                    record(&x, &crate::classifier::argmax_rows(&logits), position);
                    g = next;
                } else {
                    record(&x, &clf.predict(&x)?, position);
                }
            }
        }
        let total = self.epsilons * self.steps;
        Ok(best
            .into_iter()
            .map(|b| match b {
                Some((_, img, pos)) => (Some(img), pos),
                None => (None, total),
            })
            .collect())
    }
}
