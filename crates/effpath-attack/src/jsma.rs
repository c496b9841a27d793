//! JSMA: foolbox 1.3.2's `SaliencyMapAttack`.

use ndarray::{Array3, Array4, Axis};
use rand::seq::index::sample;

use crate::attack::{Attack, AttackRun, Batch, Goal, ce_grad, image_rng};
use crate::classifier::Classifier;
use crate::error::{AttackError, ParamIssue, Result};
use crate::fgsm::{Direction, StepSearch, sign};
use crate::params::{Checked, ParamGuard, check_count, check_positive};
use crate::result::AttackResult;

/// Jacobian-based saliency map attack as foolbox 1.3.2's `SaliencyMapAttack`.
///
/// Towards a target class `t`, each iteration computes `α = ∇ CE(t) · mask` (pixel
/// gradient of the target's cross-entropy) and picks one element: with `fast` (the
/// original's setting) the saliency map is `−α`, so the element with the largest `α` is
/// chosen; otherwise `β = Σ_l (∇ CE(l)·mask − α)` and the map is `|α|·|β|·sign(α·β)`; the
/// minimum of the map is taken (first on ties). That element moves by `−sign(α)·theta`, is
/// removed from the search domain (mask) when it reaches 0 or 1 or has been changed
/// `max_perturbations_per_pixel` times, and the image is clipped to `[0, 1]`. The attack
/// stops when the image is adversarial (checked before each change), after `max_iter`
/// changes, or when no element can change any more (`α = 0` at the chosen element; foolbox
/// would spin until `max_iter` with the same result).
///
/// Untargeted runs (no `targets`) still need a target: with `num_random_targets == 0`
/// (the original), it is the class predicted on the adversarial found by foolbox's
/// `GradientAttack` (a single-step search along the RMS-normalised gradient, 1000 step
/// sizes up to 1), or one random class when that fails; otherwise `num_random_targets`
/// random classes are tried one after the other, each from the source image. Success is
/// misclassification (untargeted) or the target (targeted). Seeded: the random targets.
/// `iterations` counts the element changes over all targets tried.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Jsma {
    /// Maximum number of element changes per target (2000).
    pub max_iter: usize,
    /// Size of one change, as a fraction of the `[0, 1]` range (0.1).
    pub theta: f32,
    /// An element is changed at most this often (7).
    pub max_perturbations_per_pixel: usize,
    /// Use the fast saliency map (`β = −1`) (true).
    pub fast: bool,
    /// Random targets for untargeted runs; 0 = pick the target with `GradientAttack` (0).
    pub num_random_targets: usize,
}

impl Default for Jsma {
    fn default() -> Self {
        Jsma {
            max_iter: 2000,
            theta: 0.1,
            max_perturbations_per_pixel: 7,
            fast: true,
            num_random_targets: 0,
        }
    }
}

/// Per-image state of the attack.
#[derive(Debug)]
struct State {
    targets: Vec<usize>,
    round: usize,
    x: Array3<f32>,
    mask: Array3<f32>,
    counts: Array3<usize>,
    steps_in_round: usize,
    stuck: bool,
    iterations: usize,
    result: Option<bool>,
}

impl ParamGuard for Jsma {
    fn check_ref(&self) -> Result<&Self> {
        check_count("max_iter", self.max_iter)?;
        check_count(
            "max_perturbations_per_pixel",
            self.max_perturbations_per_pixel,
        )?;
        check_positive("theta", self.theta, false)?;
        Ok(self)
    }
}

impl Attack for Checked<Jsma> {
    fn name(&self) -> &'static str {
        "jsma"
    }

    fn run_with_progress(&self, run: &AttackRun<'_>) -> Result<Vec<AttackResult>> {
        let AttackRun {
            clf,
            seed,
            progress,
            ..
        } = *run;
        let k = clf.num_classes();
        if self.num_random_targets >= k {
            return Err(AttackError::param(
                "num_random_targets",
                ParamIssue::NotBelowClasses {
                    value: self.num_random_targets,
                    classes: k,
                },
            ));
        }
        let batch = Batch::new(run)?;
        let x0 = batch.active_images();
        let goals = batch.active_goals();
        let target_lists = self.targets(clf, &x0, &goals, &batch.active, seed)?;
        let mut states: Vec<State> = target_lists
            .into_iter()
            .enumerate()
            .map(|(i, targets)| State {
                targets,
                round: 0,
                x: x0.index_axis(Axis(0), i).to_owned(),
                mask: Array3::ones(x0.index_axis(Axis(0), i).raw_dim()),
                counts: Array3::zeros(x0.index_axis(Axis(0), i).raw_dim()),
                steps_in_round: 0,
                stuck: false,
                iterations: 0,
                result: None,
            })
            .collect();
        loop {
            // Move on to the next target (or give up) where the current one is exhausted.
            for (i, s) in states.iter_mut().enumerate() {
                if s.result.is_none() && (s.stuck || s.steps_in_round >= self.max_iter) {
                    s.round += 1;
                    if s.round >= s.targets.len() {
                        s.result = Some(false);
                        progress.advance(1);
                    } else {
                        s.x = x0.index_axis(Axis(0), i).to_owned();
                        s.mask.fill(1.0);
                        s.counts.fill(0);
                        s.steps_in_round = 0;
                        s.stuck = false;
                    }
                }
            }
            let active: Vec<usize> = (0..states.len())
                .filter(|&i| states[i].result.is_none())
                .collect();
            if active.is_empty() {
                break;
            }
            let views: Vec<_> = active.iter().map(|&i| states[i].x.view()).collect();
            let xa = ndarray::stack(Axis(0), &views).map_err(AttackError::shape("images"))?;
            let fwd = clf.forward(&xa)?;
            let preds = fwd.predictions();
            let tclass: Vec<(usize, f32)> = active
                .iter()
                .map(|&i| (states[i].targets[states[i].round], 1.0))
                .collect();
            let alpha_raw = fwd.backward(&ce_grad(fwd.logits(), &tclass))?;
            let mut all_grads = Vec::new();
            if !self.fast {
                let rows = active.len();
                for l in 0..k {
                    all_grads.push(fwd.backward(&ce_grad(fwd.logits(), &vec![(l, 1.0); rows]))?);
                }
            }
            for (a, &i) in active.iter().enumerate() {
                let s = &mut states[i];
                if goals[i].reached(preds[a]) {
                    s.result = Some(true);
                    progress.advance(1);
                    continue;
                }
                let alpha = &alpha_raw.index_axis(Axis(0), a) * &s.mask;
                let idx = if self.fast {
                    argmax_flat(alpha.iter().copied())
                } else {
                    let mut beta = Array3::<f32>::zeros(alpha.raw_dim());
                    for g in &all_grads {
                        beta = beta + &(&g.index_axis(Axis(0), a) * &s.mask) - &alpha;
                    }
                    let sal = alpha
                        .iter()
                        .zip(beta.iter())
                        .map(|(&a, &b)| a.abs() * b.abs() * sign(a * b));
                    argmax_flat(sal.map(|v| -v))
                };
                let p_sign = alpha
                    .as_slice()
                    .and_then(|a| a.get(idx))
                    .copied()
                    .map_or(0.0, sign);
                if p_sign == 0.0 {
                    s.stuck = true;
                    continue;
                }
                let (Some(v), Some(m), Some(c)) = (
                    s.x.as_slice_mut().and_then(|x| x.get_mut(idx)),
                    s.mask.as_slice_mut().and_then(|x| x.get_mut(idx)),
                    s.counts.as_slice_mut().and_then(|x| x.get_mut(idx)),
                ) else {
                    s.stuck = true;
                    continue;
                };
                *v += -p_sign * self.theta;
                *c += 1;
                if *v <= 0.0 || *v >= 1.0 || *c >= self.max_perturbations_per_pixel {
                    *m = 0.0;
                }
                *v = v.clamp(0.0, 1.0);
                s.steps_in_round += 1;
                s.iterations += 1;
            }
        }
        let mut cands = Vec::with_capacity(states.len());
        let mut iters = Vec::with_capacity(states.len());
        for s in states {
            iters.push(s.iterations);
            cands.push((s.result == Some(true)).then_some(s.x));
        }
        batch.finish(clf, cands, iters)
    }
}

impl Jsma {
    /// The target classes to try, per active image.
    fn targets(
        &self,
        clf: &Classifier<'_>,
        x0: &Array4<f32>,
        goals: &[Goal],
        sources: &[usize],
        seed: u64,
    ) -> Result<Vec<Vec<usize>>> {
        let k = clf.num_classes();
        let random = |i: usize, count: usize| -> Vec<usize> {
            let mut rng = image_rng(seed, sources[i]);
            let mut t: Vec<usize> = sample(&mut rng, k, count + 1)
                .into_iter()
                .filter(|&c| c != goals[i].label)
                .collect();
            t.truncate(count);
            t
        };
        if self.num_random_targets > 0 {
            return Ok((0..goals.len())
                .map(|i| {
                    goals[i]
                        .target
                        .map_or_else(|| random(i, self.num_random_targets), |t| vec![t])
                })
                .collect());
        }
        let untargeted: Vec<usize> = (0..goals.len())
            .filter(|&i| goals[i].target.is_none())
            .collect();
        let mut lists: Vec<Vec<usize>> = goals
            .iter()
            .map(|g| g.target.into_iter().collect())
            .collect();
        if untargeted.is_empty() {
            return Ok(lists);
        }
        let search = StepSearch {
            direction: Direction::Rms,
            epsilons: 1000,
            max_epsilon: 1.0,
            refine: true,
        };
        let xu = x0.select(Axis(0), &untargeted);
        let gu: Vec<Goal> = untargeted.iter().map(|&i| goals[i]).collect();
        let found = search.run(clf, &xu, &gu, &crate::attack::NoProgress)?;
        let hits: Vec<(usize, Array3<f32>)> = found
            .into_iter()
            .enumerate()
            .filter_map(|(u, (c, _))| c.map(|c| (untargeted[u], c)))
            .collect();
        if !hits.is_empty() {
            let views: Vec<_> = hits.iter().map(|(_, c)| c.view()).collect();
            let stacked = ndarray::stack(Axis(0), &views).map_err(AttackError::shape("images"))?;
            for ((i, _), p) in hits.iter().zip(clf.predict(&stacked)?) {
                lists[*i] = vec![p];
            }
        }
        for &i in &untargeted {
            if lists[i].is_empty() || lists[i][0] == goals[i].label {
                lists[i] = random(i, 1);
            }
        }
        Ok(lists)
    }
}

/// Index of the largest value (first on ties, as `numpy.argmax`).
fn argmax_flat(values: impl Iterator<Item = f32>) -> usize {
    crate::classifier::argmax(values)
}
