//! The field's standard detectors on a network, as feature rows beside the path features:
//! [`BaselineKind`] names them, [`BaselineSet::features`] computes their rows for normal and
//! adversarial images, and any [`crate::DetectorKind`] (logistic regression in the papers)
//! turns the rows into scores.
//!
//! Layer features are the outputs of the network's weighted layers (Conv2d, Dense), the
//! layers the path features are measured on: channel means of a convolution's output and a
//! dense layer's output as it is for [`BaselineKind::Mahalanobis`]; the whole flattened
//! output for [`BaselineKind::Lid`]. Images are `[0, 1]` pixels `(N, C, H, W)`, normalised for
//! the model by the given [`Normalization`].

use std::fmt;
use std::str::FromStr;

use effpath_detect::baseline::{Lid, Mahalanobis, Squeezer, squeeze_scores};
use effpath_ir::ValueId;
use ndarray::{Array2, Array4, ArrayD, Axis, Ix2};
use serde::{Deserialize, Serialize};

use effpath_data::Normalization;
use effpath_detect::DetectError;

use crate::{Network, Result};

/// Images per forward pass when layer features are collected.
const CHUNK: usize = 128;
/// Normal images per LID reference mini-batch (Ma et al.).
pub const LID_BATCH: usize = 100;

/// A baseline detector family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BaselineKind {
    /// Lee et al. 2018: per weighted layer, the largest negative Mahalanobis distance to a
    /// class mean under a shared covariance.
    Mahalanobis,
    /// Ma et al. 2018: per weighted layer, the local intrinsic dimensionality among normal
    /// images (k = 20 in mini-batches of 100).
    Lid,
    /// Xu et al. 2018: the largest softmax L1 change under 1-bit depth and 2×2 median
    /// squeezing.
    FeatureSqueezing,
}

impl BaselineKind {
    /// Every baseline, in report order.
    pub const ALL: [BaselineKind; 3] = [
        BaselineKind::Mahalanobis,
        BaselineKind::Lid,
        BaselineKind::FeatureSqueezing,
    ];

    /// The command-line and report name.
    pub fn name(self) -> &'static str {
        match self {
            BaselineKind::Mahalanobis => "mahalanobis",
            BaselineKind::Lid => "lid",
            BaselineKind::FeatureSqueezing => "feature-squeezing",
        }
    }
}

impl fmt::Display for BaselineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BaselineKind {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self> {
        BaselineKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| crate::Error::UnknownBaseline {
                name: s.to_owned(),
                known: BaselineKind::ALL.map(BaselineKind::name).to_vec(),
            })
    }
}

/// How a weighted layer's output becomes a feature vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reduce {
    /// Channel means of `(C, H, W)` outputs; flat outputs as they are.
    ChannelMeans,
    /// Every value.
    Flatten,
}

/// The outputs of the weighted layers of `net`.
fn weighted_values(net: &Network) -> Vec<ValueId> {
    net.weighted_nodes()
        .into_iter()
        .map(|i| ValueId(i + 1))
        .collect()
}

/// `x` in model inputs: a copy normalised by `norm`.
fn model_input(x: &Array4<f32>, norm: Normalization) -> ArrayD<f32> {
    let mut x = x.clone();
    norm.apply(&mut x);
    x.into_dyn()
}

/// One feature matrix per weighted layer (rows = images of `pixels`), and each image's
/// predicted class from the same forward pass.
fn layer_features(
    net: &Network,
    pixels: &Array4<f32>,
    norm: Normalization,
    reduce: Reduce,
) -> Result<(Vec<Array2<f64>>, Vec<usize>)> {
    let values = weighted_values(net);
    let mut parts: Vec<Vec<Array2<f64>>> = vec![Vec::new(); values.len()];
    let mut predicted = Vec::with_capacity(pixels.len_of(Axis(0)));
    for start in (0..pixels.len_of(Axis(0))).step_by(CHUNK) {
        let end = (start + CHUNK).min(pixels.len_of(Axis(0)));
        let chunk = pixels.slice_axis(Axis(0), (start..end).into()).to_owned();
        let acts = net.forward(&model_input(&chunk, norm))?;
        predicted.extend(
            acts.logits()
                .rows()
                .into_iter()
                .map(|row| effpath_ir::argmax(row.iter().copied())),
        );
        for (part, &v) in parts.iter_mut().zip(&values) {
            let a = acts.get(v);
            let n = a.len_of(Axis(0));
            let m = match (reduce, a.ndim()) {
                (Reduce::ChannelMeans, 4) => a
                    .mean_axis(Axis(3))
                    .and_then(|m| m.mean_axis(Axis(2)))
                    .map(|m| m.mapv(f64::from))
                    .ok_or(DetectError::NoFeatures)?,
                _ => a
                    .to_shape((n, a.len() / n.max(1)))
                    .map_err(|_| DetectError::NoFeatures)?
                    .mapv(f64::from)
                    .into_dyn(),
            };
            part.push(
                m.into_dimensionality::<Ix2>()
                    .map_err(|_| DetectError::NoFeatures)?,
            );
        }
    }
    let layers = parts
        .into_iter()
        .map(|p| {
            let views: Vec<_> = p.iter().map(|m| m.view()).collect();
            Ok(ndarray::concatenate(Axis(0), &views).map_err(|_| DetectError::NoFeatures)?)
        })
        .collect::<Result<_>>()?;
    Ok((layers, predicted))
}

/// Softmax probabilities of `pixels` in `f64`.
fn probabilities(net: &Network, pixels: &Array4<f32>, norm: Normalization) -> Result<Array2<f64>> {
    let logits = net.predict(&model_input(pixels, norm))?;
    let mut p = logits.mapv(f64::from);
    for mut row in p.rows_mut() {
        let max = row.fold(f64::NEG_INFINITY, |m, &v| m.max(v));
        row.mapv_inplace(|v| (v - max).exp());
        let sum = row.sum();
        row.mapv_inplace(|v| v / sum);
    }
    Ok(p)
}

/// A network and the images a baseline is fitted on and measured against.
#[derive(Debug, Clone, Copy)]
pub struct BaselineSet<'a> {
    /// The network.
    pub network: &'a Network,
    /// Its input normalisation.
    pub normalization: Normalization,
    /// Training pixels and labels ([`BaselineKind::Mahalanobis`] fits its Gaussians on the
    /// correctly classified ones).
    pub train: (&'a Array4<f32>, &'a [usize]),
    /// Normal test pixels: the normal rows, and the reference mini-batches of
    /// [`BaselineKind::Lid`].
    pub normal: &'a Array4<f32>,
}

impl BaselineSet<'_> {
    /// The feature rows of `kind` for the normal images and for each image set of `attacks`
    /// (in order). Mahalanobis and LID rows have one column per weighted layer, feature
    /// squeezing one column.
    pub fn features(
        &self,
        kind: BaselineKind,
        attacks: &[&Array4<f32>],
    ) -> Result<(Array2<f64>, Vec<Array2<f64>>)> {
        let (net, norm) = (self.network, self.normalization);
        match kind {
            BaselineKind::Mahalanobis => {
                let (pixels, labels) = self.train;
                let (all, predicted) = layer_features(net, pixels, norm, Reduce::ChannelMeans)?;
                let correct: Vec<usize> = (0..labels.len().min(predicted.len()))
                    .filter(|&i| predicted[i] == labels[i])
                    .collect();
                let fit_labels: Vec<usize> = correct.iter().map(|&i| labels[i]).collect();
                let train: Vec<Array2<f64>> =
                    all.iter().map(|m| m.select(Axis(0), &correct)).collect();
                let model = Mahalanobis::fit(&train, &fit_labels, net.num_classes())?;
                let score = |x: &Array4<f32>| -> Result<Array2<f64>> {
                    Ok(model.score(&layer_features(net, x, norm, Reduce::ChannelMeans)?.0)?)
                };
                Ok((
                    score(self.normal)?,
                    attacks.iter().map(|a| score(a)).collect::<Result<_>>()?,
                ))
            }
            BaselineKind::Lid => {
                let lid = Lid::new(Lid::DEFAULT_K)?;
                let (reference, _) = layer_features(net, self.normal, norm, Reduce::Flatten)?;
                let batches = reference_batches(self.normal.len_of(Axis(0)), Lid::DEFAULT_K);
                let rows = |queries: &[Array2<f64>], own: bool| -> Result<Array2<f64>> {
                    let n = queries.first().map_or(0, |q| q.nrows());
                    let mut out = Array2::<f64>::zeros((n, queries.len()));
                    for (b, range) in batches.iter().enumerate() {
                        // Normal images are scored in their own batch (themselves left out);
                        // the others go round-robin over the batches.
                        let members: Vec<usize> = if own {
                            range.clone().collect()
                        } else {
                            (b..n).step_by(batches.len()).collect()
                        };
                        let own_index: Vec<Option<usize>> = members
                            .iter()
                            .map(|&i| own.then(|| i - range.start))
                            .collect();
                        for (l, q) in queries.iter().enumerate() {
                            let batch = reference[l].slice_axis(Axis(0), range.clone().into());
                            let query = q.select(Axis(0), &members);
                            let lid_values = lid.batch(batch, query.view(), &own_index)?;
                            for (&i, v) in members.iter().zip(lid_values) {
                                out[[i, l]] = v;
                            }
                        }
                    }
                    Ok(out)
                };
                let normal = rows(&reference, true)?;
                let attacked = attacks
                    .iter()
                    .map(|a| rows(&layer_features(net, a, norm, Reduce::Flatten)?.0, false))
                    .collect::<Result<_>>()?;
                Ok((normal, attacked))
            }
            BaselineKind::FeatureSqueezing => {
                let score = |x: &Array4<f32>| -> Result<Array2<f64>> {
                    let p = probabilities(net, x, norm)?;
                    let squeezed = Squeezer::MNIST
                        .iter()
                        .map(|s| probabilities(net, &s.apply(x.view())?, norm))
                        .collect::<Result<Vec<_>>>()?;
                    let views: Vec<_> = squeezed.iter().map(|s| s.view()).collect();
                    let s = squeeze_scores(p.view(), &views)?;
                    Ok(Array2::from_shape_vec((s.len(), 1), s)
                        .map_err(|_| DetectError::NoFeatures)?)
                };
                Ok((
                    score(self.normal)?,
                    attacks.iter().map(|a| score(a)).collect::<Result<_>>()?,
                ))
            }
        }
    }
}

/// The LID reference mini-batches of `n` normal images: consecutive runs of [`LID_BATCH`],
/// the last merged into the one before when it has no more than `k` images (each query needs
/// `k` neighbours besides itself).
fn reference_batches(n: usize, k: usize) -> Vec<std::ops::Range<usize>> {
    let mut out: Vec<std::ops::Range<usize>> = (0..n)
        .step_by(LID_BATCH)
        .map(|s| s..(s + LID_BATCH).min(n))
        .collect();
    if out.len() > 1 && out.last().is_some_and(|r| r.len() <= k) {
        let last = out.pop().map_or(n, |r| r.end);
        if let Some(prev) = out.last_mut() {
            prev.end = last;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in BaselineKind::ALL {
            assert_eq!(k.name().parse::<BaselineKind>().unwrap(), k);
        }
        assert!("lof".parse::<BaselineKind>().is_err());
    }

    #[test]
    fn reference_batches_give_every_query_enough_neighbours() {
        assert_eq!(reference_batches(250, 20), vec![0..100, 100..200, 200..250]);
        assert_eq!(reference_batches(215, 20), vec![0..100, 100..215]);
        assert_eq!(reference_batches(30, 20), vec![0..30]);
    }
}
