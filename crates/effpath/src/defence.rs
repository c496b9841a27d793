//! The guard as a target: [`GuardDefence`] answers the white-box attack
//! ([`crate::attack::WhiteBox`]) with the real guard's verdict on every iterate and the
//! gradient of a differentiable stand-in for its score.
//!
//! The stand-in (BPDA, Athalye et al. 2018): a path-similarity feature of layer `l` —
//! `|S ∩ P_c| / |S|` over the image path's synapses — is replaced by the share of the layer's
//! output mass that lies on class-path neurons, among the neurons the image's path keeps:
//! `f̃ = Σ_{j ∈ K ∩ N_c} |y_j| / Σ_{j ∈ K} |y_j|`, with `K` the kept neurons of the image's
//! (hard, current) path at `l`, `N_c` the class path's neurons at `l` and `y` the layer's
//! output. The detector's own gradient `∂ score / ∂ f` at the real features is taken by
//! central differences, so every detector kind can be attacked; the chain
//! `Σ_k ∂score/∂f_k · ∂f̃_k/∂y` is the seed on each layer's output.

use std::borrow::Cow;

use effpath_algebra::{ElementKind, Path};
use effpath_attack::{Assessment, Defence, DefenceError, Forward};
use effpath_detect::Detector;
use effpath_extract::NetworkSpace;
use effpath_ir::{Activations, ValueId};
use ndarray::{Array2, ArrayD, Axis};
use rayon::prelude::*;

use crate::Result;
use crate::ensemble::GuardEnsemble;
use crate::guard::Guard;

/// Step of the central differences of the detector's score in feature space (features
/// are similarities in `[0, 1]`).
const FEATURE_STEP: f64 = 1e-3;

/// A [`Guard`] — or a [`GuardEnsemble`] — as the [`Defence`] of a white-box attack. For an
/// ensemble an image is flagged when any member flags it, and the stand-in gradient is the
/// sum of the flagging members' (the attacker has to satisfy all of them).
///
/// ```
/// # fn demo(guard: &effpath::guard::Guard<'_>, clf: &effpath::attack::Classifier<'_>,
/// #         x: &effpath::ndarray::Array4<f32>, labels: &[usize]) -> Result<(), Box<dyn std::error::Error>> {
/// use effpath::attack::{Attack, ParamGuard, WhiteBox};
/// let defence = effpath::defence::GuardDefence::new(guard)?;
/// let results = WhiteBox::default().check()?.against(&defence).run(clf, x, labels, None, 0)?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct GuardDefence<'g> {
    members: Vec<Member<'g>>,
}

/// One guard of a [`GuardDefence`], with the output value of each traced layer its
/// features compare.
#[derive(Debug)]
struct Member<'g> {
    guard: &'g Guard<'g>,
    outputs: Vec<ValueId>,
}

impl<'g> GuardDefence<'g> {
    /// The defence of `guard`.
    pub fn new(guard: &'g Guard<'g>) -> Result<Self> {
        Ok(GuardDefence {
            members: vec![Member::new(guard)?],
        })
    }

    /// The defence of every guard of `ensemble` at once.
    pub fn ensemble(ensemble: &GuardEnsemble<'g>) -> Result<Self> {
        Ok(GuardDefence {
            members: ensemble
                .members()
                .iter()
                .map(|g| Member::new(g))
                .collect::<Result<_>>()?,
        })
    }
}

impl<'g> Member<'g> {
    fn new(guard: &'g Guard<'g>) -> Result<Self> {
        let features = guard.path_features();
        let space = NetworkSpace::new(features.network())?;
        let outputs = features
            .layers()
            .iter()
            .map(|&layer| {
                space
                    .node_of_layer(layer)
                    .map(|node| ValueId(node + 1))
                    .ok_or(crate::Error::GuardLayer { layer })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Member { guard, outputs })
    }

    /// The verdict on sample `n` and `d score / d y` of its stand-in, one gradient per
    /// compared layer (flattened sample slice of the layer's output; `None` when the image
    /// is not flagged, so nothing needs to move).
    fn assess_one(&self, acts: &Activations, n: usize) -> Result<(bool, Vec<Option<Vec<f32>>>)> {
        let features = self.guard.path_features();
        let (row, [e1, e2]) = features.compute_with_paths(acts, n)?;
        let detector = self.guard.detector();
        let flagged = match row.complete() {
            Some(f) => {
                let x = Array2::from_shape_fn((1, f.len()), |(_, c)| f[c]);
                detector.score(&x)?[0] >= self.guard.threshold()
            }
            None => true,
        };
        let layers = features.layers().len();
        if !flagged {
            return Ok((false, vec![None; layers]));
        }
        // Undefined similarities (an empty image path) are read as 1 for the gradient only.
        let f: Vec<f64> = row.values.iter().map(|v| v.unwrap_or(1.0)).collect();
        let dscore = score_gradient(detector, &f)?;
        let classes = [row.predicted, row.runner_up];
        let mut grads: Vec<Option<Vec<f32>>> = vec![None; layers];
        for (k, &ds) in dscore.iter().enumerate() {
            let (rank, li) = (k / layers, k % layers);
            let l = features.layers()[li];
            let Some(class_path) = features.class_paths().class(classes[rank]) else {
                continue;
            };
            let image_path: &Path = [&e1.path, &e2.path][rank];
            // The sample's slice of the layer output, without a copy when it is contiguous
            // (it is, for the forward pass's batch-first tensors).
            let row = acts.get(self.outputs[li]).index_axis(Axis(0), n);
            let y: Cow<[f32]> = match row.as_slice() {
                Some(y) => Cow::Borrowed(y),
                None => Cow::Owned(row.iter().copied().collect()),
            };
            let g = grads[li].get_or_insert_with(|| vec![0.0; y.len()]);
            stand_in_gradient(
                image_path.set(l, ElementKind::Neuron)?,
                class_path.set(l, ElementKind::Neuron)?,
                &y,
                ds,
                g,
            );
        }
        Ok((true, grads))
    }
}

impl Defence for GuardDefence<'_> {
    fn assess(&self, fwd: &Forward<'_>) -> std::result::Result<Assessment, DefenceError> {
        let acts = fwd.activations();
        let n = acts.batch_size();
        let mut flagged = vec![false; n];
        let mut seeds: Vec<(ValueId, ArrayD<f32>)> = Vec::new();
        for m in &self.members {
            let per: Vec<(bool, Vec<Option<Vec<f32>>>)> = (0..n)
                .into_par_iter()
                .map(|i| m.assess_one(acts, i))
                .collect::<Result<_>>()?;
            for (li, &v) in m.outputs.iter().enumerate() {
                let rows: Vec<(usize, &Vec<f32>)> = per
                    .iter()
                    .enumerate()
                    .filter_map(|(i, (_, g))| g[li].as_ref().map(|g| (i, g)))
                    .collect();
                if rows.is_empty() {
                    continue;
                }
                let at = match seeds.iter().position(|(u, _)| *u == v) {
                    Some(k) => k,
                    None => {
                        seeds.push((v, ArrayD::<f32>::zeros(acts.get(v).raw_dim())));
                        seeds.len() - 1
                    }
                };
                for (i, g) in rows {
                    let mut row = seeds[at].1.index_axis_mut(Axis(0), i);
                    row.iter_mut().zip(g).for_each(|(o, &x)| *o += x);
                }
            }
            for (f, (mine, _)) in flagged.iter_mut().zip(&per) {
                *f |= *mine;
            }
        }
        Ok(Assessment { flagged, seeds })
    }
}

/// `∂ score / ∂ f` of `detector` at feature row `f`, by central differences.
fn score_gradient(detector: &effpath_detect::DetectorModel, f: &[f64]) -> Result<Vec<f64>> {
    let d = f.len();
    let x = Array2::from_shape_fn((2 * d, d), |(r, c)| {
        let h = if r / 2 == c { FEATURE_STEP } else { 0.0 };
        if r % 2 == 0 { f[c] + h } else { f[c] - h }
    });
    let s = detector.score(&x)?;
    Ok((0..d)
        .map(|k| (s[2 * k] - s[2 * k + 1]) / (2.0 * FEATURE_STEP))
        .collect())
}

/// Adds `ds · ∂f̃/∂y` to `out`, for `f̃ = Σ_{j∈K∩N}|y_j| / Σ_{j∈K}|y_j|` (`K` = `kept`, `N` =
/// `class`): `∂f̃/∂y_j = sign(y_j)·(1[j∈N]·B − A)/B²` for `j ∈ K`, zero elsewhere.
fn stand_in_gradient(
    kept: &effpath_algebra::ElementSet,
    class: &effpath_algebra::ElementSet,
    y: &[f32],
    ds: f64,
    out: &mut [f32],
) {
    let (mut a, mut b) = (0.0f64, 0.0f64);
    for j in kept.iter() {
        let v = f64::from(y[j]).abs();
        b += v;
        if class.contains(j) {
            a += v;
        }
    }
    if b <= 0.0 {
        return;
    }
    for j in kept.iter() {
        let inside = if class.contains(j) { b } else { 0.0 };
        let sign = if y[j] < 0.0 { -1.0 } else { 1.0 };
        out[j] += (ds * sign * (inside - a) / (b * b)) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use effpath_algebra::ElementSet;

    #[test]
    fn the_stand_in_gradient_matches_finite_differences() {
        let kept = ElementSet::from_indices(5, vec![0, 1, 3, 4]);
        let class = ElementSet::from_indices(5, vec![1, 2, 4]);
        let y = [0.5f32, -1.5, 2.0, 0.25, 1.0];
        let value = |y: &[f32]| {
            let (mut a, mut b) = (0.0, 0.0);
            for j in kept.iter() {
                let v = f64::from(y[j]).abs();
                b += v;
                if class.contains(j) {
                    a += v;
                }
            }
            a / b
        };
        let mut g = vec![0.0f32; 5];
        stand_in_gradient(&kept, &class, &y, 2.0, &mut g);
        for j in 0..5 {
            let h = 1e-3f32;
            let (mut up, mut down) = (y, y);
            up[j] += h;
            down[j] -= h;
            let fd = 2.0 * (value(&up) - value(&down)) / (2.0 * f64::from(h));
            assert!((fd - f64::from(g[j])).abs() < 1e-3, "{j}: {} vs {fd}", g[j]);
        }
        assert_eq!(g[2], 0.0, "a neuron outside the image path does not move");
    }
}
