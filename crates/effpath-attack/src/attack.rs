//! The [`Attack`] trait, progress reporting and the bookkeeping every attack shares:
//! input validation, the choice of images to attack, and the final success re-check.

use effpath_data::Label;
use ndarray::{Array2, Array3, Array4, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::classifier::Classifier;
use crate::error::{AttackError, InputIssue, Result};
use crate::result::{AttackResult, Distortion};

/// Receives progress: `advance(n)` is called when `n` more images are finished (attacked or
/// skipped), so the counts of one run add up to the number of images given.
pub trait Progress {
    /// `images` more images are finished.
    fn advance(&self, images: u64);
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn advance(&self, _images: u64) {}
}

impl<F: Fn(u64)> Progress for F {
    fn advance(&self, images: u64) {
        self(images)
    }
}

/// An adversarial attack on a [`Classifier`], working on `(N, C, H, W)` batches of pixels in
/// `[0, 1]` and returning one [`AttackResult`] per image, in input order.
///
/// Only correctly classified images are attacked (and, when `targets` is given, only those
/// whose label differs from their target); the others are returned unattacked with
/// `success == false`. Runs are deterministic: the same inputs and `seed` give the same
/// results.
pub trait Attack {
    /// A short name (`"fgsm"`, `"cw-l2"`, …).
    fn name(&self) -> &'static str;

    /// Runs the attack on `run`'s images, reporting finished images to its `progress`.
    ///
    /// Errors on shapes that do not match the model, pixel values outside `[0, 1]`, labels
    /// or targets that are not classes of the model, hyper-parameters that do not fit the
    /// model (a class not below its class count), or a targeted run of an untargeted-only
    /// attack. The hyper-parameters themselves were validated once, by
    /// [`ParamGuard::check`](crate::ParamGuard::check).
    fn run_with_progress(&self, run: &AttackRun<'_>) -> Result<Vec<AttackResult>>;

    /// [`Attack::run_with_progress`] without progress reporting.
    fn run(
        &self,
        clf: &Classifier<'_>,
        images: &Array4<f32>,
        labels: &[Label],
        targets: Option<&[usize]>,
        seed: u64,
    ) -> Result<Vec<AttackResult>> {
        self.run_with_progress(&AttackRun {
            clf,
            images,
            labels,
            targets,
            seed,
            progress: &NoProgress,
        })
    }
}

/// The inputs of one attack run ([`Attack::run_with_progress`]).
///
/// ```
/// use effpath_attack::{Attack, AttackRun, Classifier, Fgsm, ParamGuard};
/// let net = effpath_ir::zoo::lenet5(0);
/// let clf = Classifier::new(&net, effpath_data::Normalization::MNIST)?;
/// let images = ndarray::Array4::<f32>::from_elem((2, 1, 28, 28), 0.5);
/// let done = std::cell::Cell::new(0);
/// let progress = |n: u64| done.set(done.get() + n);
/// let run = AttackRun { targets: None, seed: 7, progress: &progress, ..AttackRun::new(&clf, &images, &[3, 5]) };
/// let results = Fgsm::default().check()?.run_with_progress(&run)?;
/// assert_eq!((results.len(), done.get()), (2, 2));
/// # Ok::<(), effpath_attack::AttackError>(())
/// ```
#[derive(Clone, Copy)]
pub struct AttackRun<'a> {
    /// The model attacked.
    pub clf: &'a Classifier<'a>,
    /// The images `(N, C, H, W)`, pixels in `[0, 1]`.
    pub images: &'a Array4<f32>,
    /// One label per image.
    pub labels: &'a [usize],
    /// One target class per image: makes the attack targeted (success then requires the
    /// adversarial prediction to equal the target).
    pub targets: Option<&'a [usize]>,
    /// Seed of every random choice.
    pub seed: u64,
    /// Receives the finished images.
    pub progress: &'a dyn Progress,
}

impl<'a> AttackRun<'a> {
    /// An untargeted run of seed 0 without progress reporting.
    pub fn new(clf: &'a Classifier<'a>, images: &'a Array4<f32>, labels: &'a [usize]) -> Self {
        AttackRun {
            clf,
            images,
            labels,
            targets: None,
            seed: 0,
            progress: &NoProgress,
        }
    }
}

impl std::fmt::Debug for AttackRun<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttackRun")
            .field("images", &self.images.dim())
            .field("labels", &self.labels.len())
            .field("targets", &self.targets.map(<[usize]>::len))
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

/// One random target per image, uniform over the classes other than its label, drawn from
/// a per-image random stream of `seed` (the same image index and seed always give the same
/// target). The original drew one target per run; per image is the documented deviation
/// (spec §7.22).
///
/// ```
/// let t = effpath_attack::random_targets(&[0, 1, 2, 3], 10, 7);
/// assert!(t.iter().zip([0, 1, 2, 3]).all(|(&t, l)| t != l && t < 10));
/// assert_eq!(t, effpath_attack::random_targets(&[0, 1, 2, 3], 10, 7));
/// ```
pub fn random_targets(labels: &[Label], num_classes: usize, seed: u64) -> Vec<usize> {
    labels
        .iter()
        .enumerate()
        .map(|(i, &label)| {
            if num_classes < 2 {
                return 0;
            }
            let mut rng = image_rng(seed ^ 0x7461_7267_6574, i);
            let t = rng.random_range(0..num_classes - 1);
            if t >= label { t + 1 } else { t }
        })
        .collect()
}

/// The random stream of image `index` for `seed`.
pub(crate) fn image_rng(seed: u64, index: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index as u64);
    rng
}

/// What counts as adversarial for one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Goal {
    /// True label.
    pub label: Label,
    /// Target class of a targeted attack.
    pub target: Option<usize>,
}

impl Goal {
    /// Whether prediction `pred` is adversarial (misclassified, or the target).
    pub fn reached(&self, pred: usize) -> bool {
        match self.target {
            Some(t) => pred == t && pred != self.label,
            None => pred != self.label,
        }
    }

    /// The class whose cross-entropy the attack ascends (the label) or descends (the target),
    /// and the sign of the ascent: `(class, +1)` untargeted, `(target, −1)` targeted.
    pub fn loss_class(&self) -> (usize, f32) {
        match self.target {
            Some(t) => (t, -1.0),
            None => (self.label, 1.0),
        }
    }
}

/// The validated inputs of one run and the images chosen for attack.
#[derive(Debug)]
pub(crate) struct Batch<'x> {
    pub images: &'x Array4<f32>,
    pub goals: Vec<Goal>,
    pub predictions: Vec<usize>,
    /// Indices of the images to attack (correctly classified, label ≠ target).
    pub active: Vec<usize>,
}

impl<'x> Batch<'x> {
    /// Validates the inputs, classifies the images, and reports the skipped ones as done.
    pub fn new(run: &AttackRun<'x>) -> Result<Self> {
        let AttackRun {
            clf,
            images,
            labels,
            targets,
            progress,
            ..
        } = *run;
        let n = images.len_of(Axis(0));
        clf.network()
            .check_labelled(images.shape(), labels, 0)
            .map_err(InputIssue::Fit)?;
        if let Some(t) = targets {
            if t.len() != n {
                return Err(InputIssue::TargetCount {
                    images: n,
                    targets: t.len(),
                }
                .into());
            }
            let classes = clf.num_classes();
            if let Some(index) = t.iter().position(|&t| t >= classes) {
                return Err(InputIssue::Target {
                    index,
                    target: t[index],
                    classes,
                }
                .into());
            }
        }
        if let Some(index) = images.iter().position(|v| !(0.0..=1.0).contains(v)) {
            return Err(InputIssue::Pixel {
                index,
                value: images.iter().nth(index).copied().unwrap_or(f32::NAN),
            }
            .into());
        }
        let predictions = if n == 0 {
            Vec::new()
        } else {
            clf.predict(images)?
        };
        let goals: Vec<Goal> = (0..n)
            .map(|i| Goal {
                label: labels[i],
                target: targets.map(|t| t[i]),
            })
            .collect();
        let active: Vec<usize> = (0..n)
            .filter(|&i| {
                predictions[i] == goals[i].label && goals[i].target != Some(goals[i].label)
            })
            .collect();
        progress.advance((n - active.len()) as u64);
        Ok(Batch {
            images,
            goals,
            predictions,
            active,
        })
    }

    /// The active images as one batch.
    pub fn active_images(&self) -> Array4<f32> {
        self.images.select(Axis(0), &self.active)
    }

    /// The goals of the active images.
    pub fn active_goals(&self) -> Vec<Goal> {
        self.active.iter().map(|&i| self.goals[i]).collect()
    }

    /// Builds the results from one candidate per *active* image (`None` = the attack found
    /// nothing) and its iteration count, re-checking every candidate with the classifier.
    pub fn finish(
        self,
        clf: &Classifier<'_>,
        candidates: Vec<Option<Array3<f32>>>,
        iterations: Vec<usize>,
    ) -> Result<Vec<AttackResult>> {
        let n = self.images.len_of(Axis(0));
        let mut adv: Vec<Array3<f32>> = (0..n)
            .map(|i| self.images.index_axis(Axis(0), i).to_owned())
            .collect();
        let mut iters = vec![0; n];
        let mut proposed = vec![false; n];
        for ((&i, cand), it) in self.active.iter().zip(candidates).zip(iterations) {
            iters[i] = it;
            if let Some(mut c) = cand {
                c.mapv_inplace(|v| v.clamp(0.0, 1.0));
                adv[i] = c;
                proposed[i] = true;
            }
        }
        let idx: Vec<usize> = (0..n).filter(|&i| proposed[i]).collect();
        let mut adv_pred = self.predictions.clone();
        if !idx.is_empty() {
            let views: Vec<_> = idx.iter().map(|&i| adv[i].view()).collect();
            let stacked =
                ndarray::stack(Axis(0), &views).map_err(AttackError::shape("candidates"))?;
            for (&i, p) in idx.iter().zip(clf.predict(&stacked)?) {
                adv_pred[i] = p;
            }
        }
        let mut results = Vec::with_capacity(n);
        for (i, image) in adv.into_iter().enumerate() {
            let source = self.images.index_axis(Axis(0), i);
            let goal = self.goals[i];
            let distortion = Distortion::between(source, image.view()).unwrap_or_default();
            let success = proposed[i]
                && self.predictions[i] == goal.label
                && goal.reached(adv_pred[i])
                && distortion.l0 > 0;
            let (image, distortion, pred) = if success {
                (image, distortion, adv_pred[i])
            } else {
                (
                    source.to_owned(),
                    Distortion::default(),
                    self.predictions[i],
                )
            };
            results.push(AttackResult {
                index: i,
                label: goal.label,
                original_prediction: self.predictions[i],
                adversarial_prediction: pred,
                target: goal.target,
                success,
                adversarial: image,
                distortion,
                iterations: iters[i],
            });
        }
        Ok(results)
    }
}

/// `d CE(class_i) / d logits` per row, *not* averaged over the batch (so a row's gradient does
/// not depend on the batch it is in), times `sign_i`.
pub(crate) fn ce_grad(logits: &Array2<f32>, classes: &[(usize, f32)]) -> Array2<f32> {
    let mut g = Array2::<f32>::zeros(logits.raw_dim());
    for ((row, mut out), &(class, sign)) in logits.outer_iter().zip(g.outer_iter_mut()).zip(classes)
    {
        let m = row
            .iter()
            .fold(f64::NEG_INFINITY, |a, &v| a.max(f64::from(v)));
        let z: f64 = row.iter().map(|&v| (f64::from(v) - m).exp()).sum();
        for (j, (o, &v)) in out.iter_mut().zip(row).enumerate() {
            let p = (f64::from(v) - m).exp() / z;
            let onehot = if j == class { 1.0 } else { 0.0 };
            *o = (sign as f64 * (p - onehot)) as f32;
        }
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ce_grad_matches_the_averaged_loss_gradient() {
        let z =
            Array2::from_shape_vec((2, 3), vec![1.0f32, -2.0, 0.5, 3.0, 3.0, -1.0]).expect("shape");
        let g = ce_grad(&z, &[(2, 1.0), (0, -1.0)]);
        let (_, mean) = effpath_ir::softmax_cross_entropy(&z, &[2, 0]).expect("loss");
        for j in 0..3 {
            assert!((g[[0, j]] - 2.0 * mean[[0, j]]).abs() < 1e-6);
            assert!((g[[1, j]] + 2.0 * mean[[1, j]]).abs() < 1e-6);
        }
    }

    #[test]
    fn goals_and_targets() {
        let untargeted = Goal {
            label: 3,
            target: None,
        };
        assert!(untargeted.reached(4) && !untargeted.reached(3));
        assert_eq!(untargeted.loss_class(), (3, 1.0));
        let targeted = Goal {
            label: 3,
            target: Some(5),
        };
        assert!(targeted.reached(5) && !targeted.reached(4) && !targeted.reached(3));
        assert_eq!(targeted.loss_class(), (5, -1.0));
        let labels: Vec<usize> = (0..1000).map(|i| i % 10).collect();
        let t = random_targets(&labels, 10, 9);
        assert!(t.iter().zip(&labels).all(|(t, l)| t != l && *t < 10));
        for c in 0..10 {
            assert!(
                t.iter().filter(|&&x| x == c).count() > 60,
                "class {c} is drawn"
            );
        }
    }
}
