//! Adversarial patch (Brown et al. 2017): a universal, targeted patch trained on training
//! images and pasted at a random place on each attacked image.

use ndarray::{Array3, Array4, ArrayView3, ArrayViewMut3, Axis, Slice};
use rand::Rng;

use crate::adam::Adam;
use crate::attack::{Attack, AttackRun, Batch, ce_grad, image_rng};
use crate::classifier::Classifier;
use crate::error::{AttackError, InputIssue, ParamIssue, Result};
use crate::params::{Checked, ParamGuard, check_count, check_positive};
use crate::result::AttackResult;

/// How to train an adversarial patch.
///
/// The patch is a `(C, s, s)` square whose area is `scale` of the image area
/// (`s = round(sqrt(scale·H·W))`, at least 1 and at most `min(H, W)`). Training minimises
/// the cross-entropy of `target_class` (i.e. maximises its expected log-probability) over
/// random training images and uniformly random placements (no rotation or rescaling: the
/// spec's runs used none for the LeNet setting), with Adam, clipping the patch to `[0, 1]`
/// after each step. The patch starts as uniform noise. The original trained its patches
/// only for AlexNet (8000 steps, lr 1, target "toaster", scales 0.1–0.5, "Patch" = 0.3);
/// the defaults here are sized for MNIST-scale models.
///
/// Checked ([`ParamGuard::check`]), [`Checked::train`](Checked#method.train) returns a
/// [`TrainedPatch`], which is the [`Attack`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdversarialPatch {
    /// Patch area as a fraction of the image area (0.3, the spec's "Patch").
    pub scale: f32,
    /// The class the patch pushes every image to (8: on the MNIST LeNet the class a universal
    /// patch reaches most easily, ~89 % success at scale 0.3 against 20–65 % for most others).
    pub target_class: usize,
    /// Training steps (1000).
    pub steps: usize,
    /// Training images per step (32).
    pub batch_size: usize,
    /// Adam learning rate in pixel units (0.01).
    pub learning_rate: f32,
}

impl Default for AdversarialPatch {
    fn default() -> Self {
        AdversarialPatch {
            scale: 0.3,
            target_class: 8,
            steps: 1000,
            batch_size: 32,
            learning_rate: 0.01,
        }
    }
}

impl AdversarialPatch {
    /// Side length of the patch for `h × w` images.
    pub fn side(&self, h: usize, w: usize) -> usize {
        let s = (f64::from(self.scale) * (h * w) as f64).sqrt().round() as usize;
        s.clamp(1, h.min(w).max(1))
    }
}

impl ParamGuard for AdversarialPatch {
    fn check_ref(&self) -> Result<&Self> {
        check_count("steps", self.steps)?;
        check_count("batch_size", self.batch_size)?;
        check_positive("learning_rate", self.learning_rate, false)?;
        if !(self.scale > 0.0 && self.scale <= 1.0) {
            return Err(AttackError::param(
                "scale",
                ParamIssue::NotFraction { value: self.scale },
            ));
        }
        Ok(self)
    }
}

impl Checked<AdversarialPatch> {
    /// Trains the patch on `train` `(N, C, H, W)` pixel images in `[0, 1]` (labels are not
    /// needed), seeded. Errors on a `target_class` that is not a class of the model.
    pub fn train(
        &self,
        clf: &Classifier<'_>,
        train: &Array4<f32>,
        seed: u64,
    ) -> Result<TrainedPatch> {
        let k = clf.num_classes();
        if self.target_class >= k {
            return Err(AttackError::param(
                "target_class",
                ParamIssue::NotBelowClasses {
                    value: self.target_class,
                    classes: k,
                },
            ));
        }
        let (n, c, h, w) = train.dim();
        if n == 0 || [c, h, w] != clf.input_shape() {
            return Err(InputIssue::TrainingShape {
                expected: clf.input_shape(),
                got: train.dim(),
            }
            .into());
        }
        if train.iter().any(|v| !(0.0..=1.0).contains(v)) {
            return Err(InputIssue::TrainingPixels.into());
        }
        let s = self.side(h, w);
        let mut rng = image_rng(seed, usize::MAX);
        let mut patch = Array3::from_shape_simple_fn((c, s, s), || rng.random::<f32>());
        let mut adam = Adam::new(patch.dim(), self.learning_rate);
        let classes = vec![(self.target_class, 1.0); self.batch_size];
        for _ in 0..self.steps {
            let mut x = Array4::<f32>::zeros((self.batch_size, c, h, w));
            let mut places = Vec::with_capacity(self.batch_size);
            for (b, mut xb) in x.outer_iter_mut().enumerate() {
                let src = rng.random_range(0..n);
                xb.assign(&train.index_axis(Axis(0), src));
                let (top, left) = (rng.random_range(0..=h - s), rng.random_range(0..=w - s));
                paste(xb.view_mut(), patch.view(), top, left);
                places.push((b, top, left));
            }
            let (_, g) = clf.gradient(&x, |z| Ok(ce_grad(z, &classes)))?;
            let mut grad = Array3::<f32>::zeros(patch.raw_dim());
            for &(b, top, left) in &places {
                grad += &window(g.index_axis(Axis(0), b), top, left, s);
            }
            adam.step(&mut patch, grad.view(), |p, step: f32| {
                *p = (*p - step).clamp(0.0, 1.0);
            });
        }
        Ok(TrainedPatch {
            patch,
            target_class: self.target_class,
        })
    }
}

/// A trained adversarial patch: the targeted [`Attack`] that pastes it at a uniformly random
/// place (from each image's random stream of the seed) on every attacked image.
///
/// Success means the prediction becomes `target_class`; images whose label is the target are
/// not attacked. The `targets` given to `run` must be absent or all equal `target_class`.
/// `iterations` is 1 for every attacked image.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainedPatch {
    /// The patch `(C, s, s)`, values in `[0, 1]`.
    pub patch: Array3<f32>,
    /// The class it pushes images to.
    pub target_class: usize,
}

impl TrainedPatch {
    /// `image` with the patch pasted with its top-left corner at `(top, left)` (`None` when
    /// it does not fit or the channel counts differ).
    pub fn apply(
        &self,
        image: ArrayView3<'_, f32>,
        top: usize,
        left: usize,
    ) -> Option<Array3<f32>> {
        let (c, h, w) = image.dim();
        let (pc, s, _) = self.patch.dim();
        if pc != c || top + s > h || left + s > w {
            return None;
        }
        let mut out = image.to_owned();
        paste(out.view_mut(), self.patch.view(), top, left);
        Some(out)
    }
}

impl Attack for TrainedPatch {
    fn name(&self) -> &'static str {
        "patch"
    }

    fn run_with_progress(&self, run: &AttackRun<'_>) -> Result<Vec<AttackResult>> {
        let AttackRun {
            clf,
            images,
            labels,
            targets,
            seed,
            progress,
        } = *run;
        if let Some(t) = targets
            && t.iter().any(|&t| t != self.target_class)
        {
            return Err(InputIssue::PatchTarget {
                class: self.target_class,
            }
            .into());
        }
        let all = vec![self.target_class; labels.len()];
        let batch = Batch::new(&AttackRun {
            targets: Some(&all),
            ..*run
        })?;
        let (_, _, h, w) = images.dim();
        let s = self.patch.dim().1;
        if s > h.min(w) {
            return Err(InputIssue::PatchSize {
                side: s,
                height: h,
                width: w,
            }
            .into());
        }
        let mut cands = Vec::with_capacity(batch.active.len());
        for &i in &batch.active {
            let mut rng = image_rng(seed, i);
            let (top, left) = (rng.random_range(0..=h - s), rng.random_range(0..=w - s));
            cands.push(self.apply(images.index_axis(Axis(0), i), top, left));
            progress.advance(1);
        }
        let iters = vec![1; cands.len()];
        batch.finish(clf, cands, iters)
    }
}

/// Writes `patch` into `image` at `(top, left)`.
fn paste(image: ArrayViewMut3<'_, f32>, patch: ArrayView3<'_, f32>, top: usize, left: usize) {
    let s = patch.dim().1;
    image
        .slice_axis_move(Axis(1), Slice::from(top..top + s))
        .slice_axis_move(Axis(2), Slice::from(left..left + s))
        .assign(&patch);
}

/// The `s × s` window of `g` at `(top, left)`.
fn window(g: ArrayView3<'_, f32>, top: usize, left: usize, s: usize) -> ArrayView3<'_, f32> {
    g.slice_axis_move(Axis(1), Slice::from(top..top + s))
        .slice_axis_move(Axis(2), Slice::from(left..left + s))
}
