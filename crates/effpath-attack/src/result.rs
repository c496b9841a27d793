//! [`AttackResult`], [`Distortion`] and the [`Summary`] of a run.

use effpath_data::Label;
use ndarray::{Array3, ArrayView3, Zip};

/// Two pixel values closer than this are "unchanged" for [`Distortion::l0`].
pub const L0_TOLERANCE: f32 = 1e-6;

/// Size of a perturbation `adversarial − original`, in `[0, 1]` pixel units.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Distortion {
    /// Number of changed tensor elements (`|Δ| > L0_TOLERANCE`, 1e-6). Elements are per-channel
    /// pixel values, so for grayscale images this is the number of changed pixels.
    pub l0: usize,
    /// Euclidean norm `sqrt(Σ Δ²)` over all elements.
    pub l2: f32,
    /// Largest absolute change `max |Δ|`.
    pub linf: f32,
}

impl Distortion {
    /// The distortion between two images of the same shape (`None` when the shapes differ).
    ///
    /// ```
    /// use effpath_attack::Distortion;
    /// use ndarray::array;
    /// let a = array![[[0.0f32, 0.5], [1.0, 0.25]]];
    /// let b = array![[[0.3f32, 0.5], [0.6, 0.25]]];
    /// let d = Distortion::between(a.view(), b.view()).unwrap();
    /// assert_eq!(d.l0, 2);
    /// assert!((d.l2 - 0.5).abs() < 1e-6); // sqrt(0.3² + 0.4²)
    /// assert!((d.linf - 0.4).abs() < 1e-6);
    /// ```
    pub fn between(
        original: ArrayView3<'_, f32>,
        adversarial: ArrayView3<'_, f32>,
    ) -> Option<Self> {
        if original.dim() != adversarial.dim() {
            return None;
        }
        let (mut l0, mut sq, mut linf) = (0usize, 0f64, 0f32);
        Zip::from(&original).and(&adversarial).for_each(|&a, &b| {
            let d = (b - a).abs();
            if d > L0_TOLERANCE {
                l0 += 1;
            }
            sq += f64::from(d) * f64::from(d);
            linf = linf.max(d);
        });
        Some(Distortion {
            l0,
            l2: sq.sqrt() as f32,
            linf,
        })
    }
}

/// The outcome of attacking one image.
///
/// `success` is decided by running the classifier on the returned `adversarial` image: the
/// source was correctly classified, the adversarial prediction differs from the label, it
/// equals `target` for a targeted attack, and the image differs from the source. When the
/// attack failed (or was not run because the source is misclassified or its label is the
/// target), `adversarial` is a copy of the source image, `distortion` is zero and
/// `adversarial_prediction` is the prediction of that copy.
#[derive(Debug, Clone, PartialEq)]
pub struct AttackResult {
    /// Position of the source image in the batch given to the attack.
    pub index: usize,
    /// True label of the source.
    pub label: Label,
    /// Prediction on the source image.
    pub original_prediction: usize,
    /// Prediction on `adversarial`.
    pub adversarial_prediction: usize,
    /// Target class of a targeted attack.
    pub target: Option<usize>,
    /// Whether `adversarial` is a valid adversarial example (see the type's docs).
    pub success: bool,
    /// The adversarial image `(C, H, W)` in `[0, 1]` (the source on failure).
    pub adversarial: Array3<f32>,
    /// Perturbation size (zero on failure).
    pub distortion: Distortion,
    /// The attack's main-loop count for this image; each attack documents what it counts
    /// (ε candidates, gradient steps, optimiser iterations, draws). 0 when not attacked.
    pub iterations: usize,
}

impl AttackResult {
    /// Whether the source image was correctly classified (only those are attacked).
    pub fn source_correct(&self) -> bool {
        self.original_prediction == self.label
    }
}

/// Aggregate statistics of a run: success rate over the attacked (correctly classified)
/// images and distortion statistics over the successful ones.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Summary {
    /// Images given.
    pub images: usize,
    /// Images attacked: correctly classified and, for targeted runs, label ≠ target.
    pub attacked: usize,
    /// Successful adversarial examples.
    pub successes: usize,
    /// Mean and median of L0 over successes.
    pub l0: Stat,
    /// Mean and median of L2 over successes.
    pub l2: Stat,
    /// Mean and median of L∞ over successes.
    pub linf: Stat,
    /// Mean iterations over attacked images.
    pub mean_iterations: f64,
}

/// Mean and median of a sample (both NaN when it is empty).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Stat {
    /// Arithmetic mean.
    pub mean: f64,
    /// Median (mean of the two middle values for an even count).
    pub median: f64,
}

impl Stat {
    /// Mean and median of `values`.
    pub fn of(values: &[f64]) -> Stat {
        if values.is_empty() {
            return Stat {
                mean: f64::NAN,
                median: f64::NAN,
            };
        }
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Stat {
            mean: v.iter().sum::<f64>() / n as f64,
            median,
        }
    }
}

impl Summary {
    /// Summarises `results`.
    pub fn of(results: &[AttackResult]) -> Summary {
        let attacked: Vec<&AttackResult> = results
            .iter()
            .filter(|r| r.source_correct() && r.target != Some(r.label))
            .collect();
        let ok: Vec<&AttackResult> = results.iter().filter(|r| r.success).collect();
        let stat = |f: fn(&Distortion) -> f64| {
            Stat::of(&ok.iter().map(|r| f(&r.distortion)).collect::<Vec<_>>())
        };
        let iters: usize = attacked.iter().map(|r| r.iterations).sum();
        Summary {
            images: results.len(),
            attacked: attacked.len(),
            successes: ok.len(),
            l0: stat(|d| d.l0 as f64),
            l2: stat(|d| f64::from(d.l2)),
            linf: stat(|d| f64::from(d.linf)),
            mean_iterations: if attacked.is_empty() {
                f64::NAN
            } else {
                iters as f64 / attacked.len() as f64
            },
        }
    }

    /// `successes / attacked` (NaN when nothing was attacked).
    pub fn success_rate(&self) -> f64 {
        if self.attacked == 0 {
            f64::NAN
        } else {
            self.successes as f64 / self.attacked as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    #[test]
    fn distortion_norms_on_hand_made_images() {
        let a = Array3::<f32>::zeros((1, 2, 3));
        let mut b = a.clone();
        b[[0, 0, 0]] = 1.0;
        b[[0, 1, 2]] = -0.5; // negative change counts by its magnitude
        b[[0, 0, 1]] = 5e-7; // below the L0 tolerance, but still part of L2
        let d = Distortion::between(a.view(), b.view()).expect("same shape");
        assert_eq!(d.l0, 2);
        assert!((d.l2 - (1.25f32 + 2.5e-13).sqrt()).abs() < 1e-6);
        assert_eq!(d.linf, 1.0);
        assert_eq!(
            Distortion::between(a.view(), a.view()),
            Some(Distortion::default())
        );
        let other = Array3::<f32>::zeros((1, 3, 2));
        assert_eq!(Distortion::between(a.view(), other.view()), None);
        // Multi-channel: L0 counts elements (channel values), not spatial positions.
        let c = Array3::<f32>::zeros((3, 1, 1));
        let d = Distortion::between(c.view(), Array3::from_elem((3, 1, 1), 0.1).view());
        assert_eq!(d.map(|d| d.l0), Some(3));
    }

    #[test]
    fn stats_and_summary() {
        let s = Stat::of(&[3.0, 1.0, 2.0, 10.0]);
        assert_eq!((s.mean, s.median), (4.0, 2.5));
        assert_eq!(Stat::of(&[2.0, 1.0, 7.0]).median, 2.0);
        assert!(Stat::of(&[]).mean.is_nan());
        let base = AttackResult {
            index: 0,
            label: 1,
            original_prediction: 1,
            adversarial_prediction: 2,
            target: None,
            success: true,
            adversarial: Array3::zeros((1, 1, 1)),
            distortion: Distortion {
                l0: 1,
                l2: 0.5,
                linf: 0.5,
            },
            iterations: 4,
        };
        let failed = AttackResult {
            success: false,
            adversarial_prediction: 1,
            distortion: Distortion::default(),
            iterations: 2,
            ..base.clone()
        };
        let skipped = AttackResult {
            original_prediction: 3,
            success: false,
            iterations: 0,
            ..failed.clone()
        };
        let s = Summary::of(&[base, failed, skipped]);
        assert_eq!((s.images, s.attacked, s.successes), (3, 2, 1));
        assert_eq!(s.success_rate(), 0.5);
        assert_eq!(s.l2.mean, 0.5);
        assert_eq!(s.mean_iterations, 3.0);
    }
}
