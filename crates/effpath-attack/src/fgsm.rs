//! FGSM (foolbox 1.3 `GradientSignAttack`) and the single-step ε search it shares with
//! foolbox's `GradientAttack` (used by JSMA to pick a target class).

use ndarray::{Array3, Array4, Axis, Zip};

use crate::attack::{Attack, AttackRun, Batch, Goal, Progress, ce_grad};
use crate::classifier::Classifier;
use crate::error::Result;
use crate::params::{Checked, ParamGuard, check_count, check_positive};
use crate::result::AttackResult;

/// Fast gradient sign method with foolbox 1.3.2's step-size search.
///
/// The gradient `g` of the cross-entropy of the label (untargeted; or of the target,
/// descended, when targeted) is taken once at the source `x`; candidates
/// `clip(x + ε·sign(g), 0, 1)` are tried for `ε = max_epsilon·j/epsilons`, `j = 1, 2, …`,
/// and the first (smallest) adversarial one is kept. With `refine` (foolbox's behaviour),
/// a success within the first 20 candidates is refined by a second sweep of 20 values in
/// `(0, ε]`. `iterations` counts the candidates evaluated.
///
/// ```
/// use effpath_attack::{Attack, Classifier, Fgsm, ParamGuard};
/// # let net = effpath_ir::zoo::lenet5(0);
/// # let clf = Classifier::new(&net, effpath_data::Normalization::MNIST)?;
/// # let x = ndarray::Array4::<f32>::from_elem((1, 1, 28, 28), 0.5);
/// # let labels = clf.predict(&x)?;
/// let results = Fgsm::default().check()?.run(&clf, &x, &labels, None, 0)?;
/// assert_eq!(results.len(), 1);
/// # Ok::<(), effpath_attack::AttackError>(())
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fgsm {
    /// Number of step sizes tried (1000).
    pub epsilons: usize,
    /// Largest step size, in pixel units (1.0: the whole `[0, 1]` range).
    pub max_epsilon: f32,
    /// Refine a success among the first 20 step sizes with 20 finer ones (true).
    pub refine: bool,
}

impl Default for Fgsm {
    fn default() -> Self {
        Fgsm {
            epsilons: 1000,
            max_epsilon: 1.0,
            refine: true,
        }
    }
}

impl ParamGuard for Fgsm {
    fn check_ref(&self) -> Result<&Self> {
        check_count("epsilons", self.epsilons)?;
        check_positive("max_epsilon", self.max_epsilon, false)?;
        Ok(self)
    }
}

impl Attack for Checked<Fgsm> {
    fn name(&self) -> &'static str {
        "fgsm"
    }

    fn run_with_progress(&self, run: &AttackRun<'_>) -> Result<Vec<AttackResult>> {
        let AttackRun { clf, progress, .. } = *run;
        let batch = Batch::new(run)?;
        let search = StepSearch {
            direction: Direction::Sign,
            epsilons: self.epsilons,
            max_epsilon: self.max_epsilon,
            refine: self.refine,
        };
        let found = search.run(clf, &batch.active_images(), &batch.active_goals(), progress)?;
        let (cands, iters) = found.into_iter().unzip();
        batch.finish(clf, cands, iters)
    }
}

/// How the single-step direction is derived from the loss gradient `g`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// `sign(g)` (FGSM), with `sign(0) = 0`.
    Sign,
    /// `g / (sqrt(mean(g²)) + 1e-8)` per image (foolbox `GradientAttack`).
    Rms,
}

/// foolbox's `SingleStepGradientBaseAttack._run`: a linear search over step sizes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StepSearch {
    pub direction: Direction,
    pub epsilons: usize,
    pub max_epsilon: f32,
    pub refine: bool,
}

/// Candidates per image per forward pass, and the largest forward batch.
const BLOCK: usize = 25;
const MAX_BATCH: usize = 1000;
/// foolbox refines a success among the first `REFINE` candidates with `REFINE` finer ones.
const REFINE: usize = 20;

impl StepSearch {
    /// For each image, the first adversarial candidate (if any) and the number of candidates
    /// evaluated. Reports each image to `progress` as it is resolved.
    pub fn run(
        &self,
        clf: &Classifier<'_>,
        x: &Array4<f32>,
        goals: &[Goal],
        progress: &dyn Progress,
    ) -> Result<Vec<(Option<Array3<f32>>, usize)>> {
        let n = x.len_of(Axis(0));
        if n == 0 {
            return Ok(Vec::new());
        }
        let classes: Vec<(usize, f32)> = goals.iter().map(Goal::loss_class).collect();
        let (_, mut d) = clf.gradient(x, |z| Ok(ce_grad(z, &classes)))?;
        match self.direction {
            Direction::Sign => d.mapv_inplace(sign),
            Direction::Rms => {
                for mut di in d.outer_iter_mut() {
                    let rms = (di.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>()
                        / di.len() as f64)
                        .sqrt();
                    let scale = (rms + 1e-8) as f32;
                    di.mapv_inplace(|v| v / scale);
                }
            }
        }
        let all: Vec<usize> = (0..n).collect();
        let eps = |j: usize| (f64::from(self.max_epsilon) * j as f64 / self.epsilons as f64) as f32;
        let first = first_success(clf, x, &d, goals, &all, self.epsilons, eps, Some(progress))?;
        let mut out: Vec<(Option<Array3<f32>>, usize)> = Vec::with_capacity(n);
        let mut refine_idx = Vec::new();
        for (i, f) in first.iter().enumerate() {
            match *f {
                Some(j) => {
                    out.push((Some(candidate(x, &d, i, eps(j + 1))), j + 1));
                    if self.refine && j < REFINE {
                        refine_idx.push(i);
                    }
                }
                None => out.push((None, self.epsilons)),
            }
        }
        for &i in &refine_idx {
            let Some(j) = first[i] else { continue };
            let top = f64::from(eps(j + 1));
            let fine = |k: usize| (top * k as f64 / REFINE as f64) as f32;
            let hit = first_success(clf, x, &d, goals, &[i], REFINE, fine, None)?;
            if let Some(Some(k)) = hit.first() {
                out[i] = (Some(candidate(x, &d, i, fine(k + 1))), j + 1 + k + 1);
            }
        }
        Ok(out)
    }
}

/// `sign` with `sign(0) = 0` (as `numpy.sign`).
pub(crate) fn sign(v: f32) -> f32 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// `clip(x_i + eps·d_i, 0, 1)`.
fn candidate(x: &Array4<f32>, d: &Array4<f32>, i: usize, eps: f32) -> Array3<f32> {
    let mut c = x.index_axis(Axis(0), i).to_owned();
    Zip::from(&mut c)
        .and(d.index_axis(Axis(0), i))
        .for_each(|c, &g| *c = (*c + g * eps).clamp(0.0, 1.0));
    c
}

/// For the images `which` (indices into `x`), the 0-based index `j` of the first adversarial
/// candidate `clip(x + eps(j + 1)·d)`, `j < count`, in the order of `which`'s images.
/// Returns one entry per image of `x` (None for images not in `which` or without success).
#[allow(clippy::too_many_arguments)]
fn first_success(
    clf: &Classifier<'_>,
    x: &Array4<f32>,
    d: &Array4<f32>,
    goals: &[Goal],
    which: &[usize],
    count: usize,
    eps: impl Fn(usize) -> f32,
    progress: Option<&dyn Progress>,
) -> Result<Vec<Option<usize>>> {
    let n = x.len_of(Axis(0));
    let mut found = vec![None; n];
    let mut active: Vec<usize> = which.to_vec();
    let mut next = 0;
    while next < count && !active.is_empty() {
        let block = BLOCK
            .min(count - next)
            .min((MAX_BATCH / active.len()).max(1));
        let views: Vec<Array3<f32>> = active
            .iter()
            .flat_map(|&i| (next..next + block).map(move |j| (i, j)))
            .map(|(i, j)| candidate(x, d, i, eps(j + 1)))
            .collect();
        let views: Vec<_> = views.iter().map(|v| v.view()).collect();
        let stacked =
            ndarray::stack(Axis(0), &views).map_err(crate::AttackError::shape("candidates"))?;
        let preds = clf.predict(&stacked)?;
        let mut still = Vec::with_capacity(active.len());
        for (a, &i) in active.iter().enumerate() {
            let hit = (0..block).find(|&b| goals[i].reached(preds[a * block + b]));
            match hit {
                Some(b) => {
                    found[i] = Some(next + b);
                    if let Some(p) = progress {
                        p.advance(1);
                    }
                }
                None => still.push(i),
            }
        }
        active = still;
        next += block;
    }
    if let Some(p) = progress {
        p.advance(active.len() as u64);
    }
    Ok(found)
}
