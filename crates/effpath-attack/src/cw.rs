//! Carlini–Wagner L2, as Carlini's `l2_attack.py` (the copy the original used).

use ndarray::{Array2, Array3, Axis, Zip};

use crate::adam::Adam;
use crate::attack::{Attack, AttackRun, Batch, Goal, Progress};
use crate::classifier::argmax;
use crate::error::{AttackError, Result};
use crate::params::{Checked, ParamGuard, check_count, check_positive};
use crate::result::AttackResult;

/// Carlini–Wagner L2 attack, a port of Carlini's `l2_attack.py` with batch size 1 per image.
///
/// The image is parametrised as `x' = (tanh(w + atanh((2x − 1)·0.999999)) + 1) / 2` (the
/// "tanh box" for `[0, 1]`), and Adam (TensorFlow's variant, reset at every binary-search
/// step) minimises `‖x' − x̃‖² + c·f(x')` with `f = max(0, z_y − max_{j≠y} z_j + κ)`
/// (untargeted: push the label `y` below the others) or `max(0, max_{j≠t} z_j − z_t + κ)`
/// (targeted at `t`), `z` the logits and `x̃` the tanh-reconstructed source. The constant `c`
/// starts at `initial_const` and is binary-searched over `binary_search_steps` steps
/// (halved towards the last success, ×10 while nothing succeeded). With `abort_early`, a
/// step ends when the loss has not decreased by 0.01 % over the last `max_iterations / 10`
/// iterations. The successful iterate (prediction with the κ margin adversarial) of smallest
/// L2 over all steps is returned; when none succeeds the attack fails (the reference's
/// all-zero image is never returned).
///
/// `iterations` counts the optimiser iterations over all binary-search steps.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarliniWagnerL2 {
    /// Margin κ by which the adversarial class must win (0).
    pub confidence: f32,
    /// Adam learning rate (0.01).
    pub learning_rate: f32,
    /// Binary-search steps on the constant `c` (9).
    pub binary_search_steps: usize,
    /// Maximum optimiser iterations per binary-search step (10,000).
    pub max_iterations: usize,
    /// Stop a step when the loss stalls (true).
    pub abort_early: bool,
    /// First value of `c` (0.001).
    pub initial_const: f32,
}

impl Default for CarliniWagnerL2 {
    fn default() -> Self {
        CarliniWagnerL2 {
            confidence: 0.0,
            learning_rate: 0.01,
            binary_search_steps: 9,
            max_iterations: 10_000,
            abort_early: true,
            initial_const: 1e-3,
        }
    }
}

/// Per-image optimisation state.
#[derive(Debug)]
struct State {
    goal: Goal,
    timg: Array3<f32>,
    orig: Array3<f32>,
    w: Array3<f32>,
    /// Adam over `w` (TensorFlow's, as the reference uses `tf.train.AdamOptimizer`), in
    /// `f64`.
    adam: Adam,
    c: f64,
    lower: f64,
    upper: f64,
    step: usize,
    iter: usize,
    prev: f64,
    best_l2: f64,
    best_score: Option<usize>,
    o_best_l2: f64,
    o_best: Option<Array3<f32>>,
    iterations: usize,
    done: bool,
}

impl State {
    /// The class the loss is about and whether the attack is targeted.
    fn class(&self) -> (usize, bool) {
        match self.goal.target {
            Some(t) => (t, true),
            None => (self.goal.label, false),
        }
    }

    fn reset_step(&mut self) {
        self.w.fill(0.0);
        self.adam.reset();
        self.iter = 0;
        self.prev = 1e6;
        self.best_l2 = 1e10;
        self.best_score = None;
    }
}

impl ParamGuard for CarliniWagnerL2 {
    fn check_ref(&self) -> Result<&Self> {
        check_count("binary_search_steps", self.binary_search_steps)?;
        check_count("max_iterations", self.max_iterations)?;
        check_positive("learning_rate", self.learning_rate, false)?;
        check_positive("initial_const", self.initial_const, false)?;
        check_positive("confidence", self.confidence, true)?;
        Ok(self)
    }
}

impl Attack for Checked<CarliniWagnerL2> {
    fn name(&self) -> &'static str {
        "cw-l2"
    }

    fn run_with_progress(&self, run: &AttackRun<'_>) -> Result<Vec<AttackResult>> {
        let AttackRun { clf, progress, .. } = *run;
        let batch = Batch::new(run)?;
        let x0 = batch.active_images();
        let mut states: Vec<State> = batch
            .active_goals()
            .into_iter()
            .zip(x0.outer_iter())
            .map(|(goal, x)| {
                let timg = x.mapv(|p| ((p - 0.5) / 0.5 * 0.999_999).atanh());
                let orig = timg.mapv(|t| t.tanh() * 0.5 + 0.5);
                let zeros = Array3::zeros(x.raw_dim());
                let mut s = State {
                    goal,
                    timg,
                    orig,
                    w: zeros.clone(),
                    adam: Adam::new(zeros.dim(), self.learning_rate),
                    c: f64::from(self.initial_const),
                    lower: 0.0,
                    upper: 1e10,
                    step: 0,
                    iter: 0,
                    prev: 1e6,
                    best_l2: 1e10,
                    best_score: None,
                    o_best_l2: 1e10,
                    o_best: None,
                    iterations: 0,
                    done: false,
                };
                s.reset_step();
                s
            })
            .collect();
        let period = (self.max_iterations / 10).max(1);
        let kappa = self.confidence;
        loop {
            let active: Vec<usize> = (0..states.len()).filter(|&i| !states[i].done).collect();
            if active.is_empty() {
                break;
            }
            let newimgs: Vec<Array3<f32>> = active
                .iter()
                .map(|&i| {
                    let s = &states[i];
                    let mut n = s.w.clone();
                    Zip::from(&mut n)
                        .and(&s.timg)
                        .for_each(|n, &t| *n = (*n + t).tanh() * 0.5 + 0.5);
                    n
                })
                .collect();
            let views: Vec<_> = newimgs.iter().map(|n| n.view()).collect();
            let xa = ndarray::stack(Axis(0), &views).map_err(AttackError::shape("images"))?;
            let fwd = clf.forward(&xa)?;
            let z = fwd.logits();
            let mut dlogits = Array2::<f32>::zeros(z.raw_dim());
            let mut update = vec![false; active.len()];
            for (a, &i) in active.iter().enumerate() {
                let s = &mut states[i];
                let row = z.row(a);
                let (y, targeted) = s.class();
                let (other_idx, other) = row.iter().enumerate().filter(|&(j, _)| j != y).fold(
                    (y, f32::NEG_INFINITY),
                    |b, (j, &v)| if v > b.1 { (j, v) } else { b },
                );
                let real = row[y];
                let margin = if targeted {
                    other - real + kappa
                } else {
                    real - other + kappa
                };
                let loss1 = margin.max(0.0);
                let l2: f64 = Zip::from(&newimgs[a])
                    .and(&s.orig)
                    .fold(0.0, |acc, &n, &o| acc + f64::from(n - o).powi(2));
                let loss = l2 + s.c * f64::from(loss1);
                s.iterations += 1;
                if self.abort_early && s.iter.is_multiple_of(period) {
                    if loss > s.prev * 0.9999 {
                        self.end_step(s, progress);
                        continue;
                    }
                    s.prev = loss;
                }
                let mut shifted = row.to_owned();
                shifted[y] += if targeted { -kappa } else { kappa };
                let p = argmax(shifted.iter().copied());
                if (p == y) == targeted {
                    let score = argmax(row.iter().copied());
                    if l2 < s.best_l2 {
                        s.best_l2 = l2;
                        s.best_score = Some(score);
                    }
                    if l2 < s.o_best_l2 {
                        s.o_best_l2 = l2;
                        s.o_best = Some(newimgs[a].clone());
                    }
                }
                if margin > 0.0 {
                    let c = s.c as f32;
                    let (up, down) = if targeted {
                        (other_idx, y)
                    } else {
                        (y, other_idx)
                    };
                    dlogits[[a, up]] += c;
                    dlogits[[a, down]] -= c;
                }
                update[a] = true;
            }
            if !update.iter().any(|&u| u) {
                continue;
            }
            let dpix = fwd.backward(&dlogits)?;
            for (a, &i) in active.iter().enumerate() {
                if !update[a] {
                    continue;
                }
                let s = &mut states[i];
                let grad = Zip::from(&newimgs[a])
                    .and(&s.orig)
                    .and(dpix.index_axis(Axis(0), a))
                    .map_collect(|&n, &o, &dp| {
                        let th = (n - 0.5) * 2.0;
                        f64::from((2.0 * (n - o) + dp) * 0.5 * (1.0 - th * th))
                    });
                s.adam
                    .step(&mut s.w, grad.view(), |w, step: f64| *w -= step as f32);
                s.iter += 1;
                if s.iter >= self.max_iterations {
                    self.end_step(s, progress);
                }
            }
        }
        let mut cands = Vec::with_capacity(states.len());
        let mut iters = Vec::with_capacity(states.len());
        for s in states {
            iters.push(s.iterations);
            cands.push(s.o_best);
        }
        batch.finish(clf, cands, iters)
    }
}

impl CarliniWagnerL2 {
    /// Ends a binary-search step: adjusts `c` as the reference does and starts the next step
    /// (or finishes the image).
    fn end_step(&self, s: &mut State, progress: &dyn Progress) {
        let (y, targeted) = s.class();
        let success = s.best_score.is_some_and(|p| (p == y) == targeted);
        if success {
            s.upper = s.upper.min(s.c);
            if s.upper < 1e9 {
                s.c = (s.lower + s.upper) / 2.0;
            }
        } else {
            s.lower = s.lower.max(s.c);
            if s.upper < 1e9 {
                s.c = (s.lower + s.upper) / 2.0;
            } else {
                s.c *= 10.0;
            }
        }
        s.step += 1;
        if s.step >= self.binary_search_steps {
            s.done = true;
            progress.advance(1);
        } else {
            s.reset_step();
        }
    }
}
