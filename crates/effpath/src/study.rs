//! The paper's analyses beyond detection, on a network and its class paths: masking the
//! network to a path (§2.2) against magnitude pruning at equal density, the density of the
//! union as classes are merged (Fig. 3), the class hierarchy in the class-path Jaccard matrix
//! (App. B), per-layer densities (Figs. 22/23), and class paths at the checkpoints of a
//! training run (App. E.1, Fig. 21). `effpath study` puts them in a report.

use effpath_algebra::{ElementKind, LayerSelection};
use effpath_extract::ClassPaths;
use effpath_extract::mask::{drop_weights, magnitude_mask, mask_weights};
use ndarray::{ArrayD, Axis};
use serde::Serialize;

use crate::{Network, Result};

/// Images per forward pass when accuracy is measured.
const CHUNK: usize = 500;

/// Top-1 accuracy of `net` on model inputs `x` `(N, …)` with `labels`.
pub fn accuracy(net: &Network, x: &ArrayD<f32>, labels: &[usize]) -> Result<f64> {
    net.check_labelled(x.shape(), labels, 0)
        .map_err(effpath_ir::IrError::from)?;
    let n = labels.len();
    let mut correct = 0usize;
    for start in (0..n).step_by(CHUNK) {
        let end = (start + CHUNK).min(n);
        let batch = x.slice_axis(Axis(0), (start..end).into()).to_owned();
        let logits = net.predict(&batch)?;
        correct += logits
            .rows()
            .into_iter()
            .zip(&labels[start..end])
            .filter(|(row, label)| effpath_ir::argmax(row.iter().copied()) == **label)
            .count();
    }
    Ok(if n == 0 {
        0.0
    } else {
        correct as f64 / n as f64
    })
}

/// One point of the masking curve: a fraction of the overall path's weights deactivated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MaskPoint {
    /// Fraction of the path's weights (in every weighted layer) deactivated.
    pub deactivated: f64,
    /// Weight density of the mask over the weighted layers.
    pub weight_density: f64,
    /// Accuracy with only the remaining path weights.
    pub path_accuracy: f64,
    /// Accuracy with the same number of weights per layer chosen by magnitude.
    pub magnitude_accuracy: f64,
}

/// The masking experiment (§2.2).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Masking {
    /// Accuracy of the unmasked network.
    pub full_accuracy: f64,
    /// Point 0 is the overall path itself (nothing deactivated).
    pub points: Vec<MaskPoint>,
}

/// Accuracy on `x`/`labels` of `net` masked to the overall path of `class_paths` (the union of
/// its class paths), with growing `fractions` of the path's weights deactivated (seeded, nested;
/// [`drop_weights`]), each against a magnitude-pruned mask with the same per-layer weight count
/// ([`magnitude_mask`]).
pub fn masking(
    net: &Network,
    class_paths: &ClassPaths,
    x: &ArrayD<f32>,
    labels: &[usize],
    fractions: &[f64],
    seed: u64,
) -> Result<Masking> {
    let overall = class_paths.overall();
    let total = overall
        .space()
        .total(ElementKind::Weight, LayerSelection::Weighted)
        .max(1) as f64;
    let mut points = Vec::with_capacity(fractions.len());
    for &f in fractions {
        let kept = drop_weights(&overall, f, seed)?;
        let magnitude = magnitude_mask(net, &kept)?;
        points.push(MaskPoint {
            deactivated: f,
            weight_density: kept.count(ElementKind::Weight, LayerSelection::Weighted) as f64
                / total,
            path_accuracy: accuracy(&mask_weights(net, &kept)?, x, labels)?,
            magnitude_accuracy: accuracy(&mask_weights(net, &magnitude)?, x, labels)?,
        });
    }
    Ok(Masking {
        full_accuracy: accuracy(net, x, labels)?,
        points,
    })
}

/// The density of the union after `classes` classes were merged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GrowthPoint {
    /// Classes merged so far.
    pub classes: usize,
    /// The class added last.
    pub added: usize,
    /// Synapse density of the union over the weighted layers.
    pub synapse: f64,
    /// Weight density of the union over the weighted layers.
    pub weight: f64,
}

/// Fig. 3: the densities of the union of the class paths as the classes of `order` are merged
/// one by one (classes without a path add nothing).
pub fn density_growth(class_paths: &ClassPaths, order: &[usize]) -> Result<Vec<GrowthPoint>> {
    let mut union = effpath_algebra::Path::empty(class_paths.space());
    let mut out = Vec::with_capacity(order.len());
    for (k, &c) in order.iter().enumerate() {
        if let Some(p) = class_paths.class(c) {
            union.union_with(p)?;
        }
        let density = |kind| union.density(kind, LayerSelection::Weighted).unwrap_or(0.0);
        out.push(GrowthPoint {
            classes: k + 1,
            added: c,
            synapse: density(ElementKind::Synapse),
            weight: density(ElementKind::Weight),
        });
    }
    Ok(out)
}

/// A grouping of the classes and how much path classes share within and across groups.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hierarchy {
    /// `(group name, its classes)`.
    pub groups: Vec<(String, Vec<usize>)>,
    /// The classes in group order (the rows and columns of `jaccard`).
    pub order: Vec<usize>,
    /// Synapse Jaccard similarity of the class paths over the weighted layers, in `order`.
    pub jaccard: Vec<Vec<Option<f64>>>,
    /// Mean Jaccard of pairs of distinct classes in one group.
    pub within: Option<f64>,
    /// Mean Jaccard of pairs of classes in different groups.
    pub between: Option<f64>,
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// App. B: the class-path Jaccard matrix ordered by `groups`, with the mean similarity of
/// pairs within a group and across groups.
pub fn hierarchy(class_paths: &ClassPaths, groups: &[(&str, &[usize])]) -> Result<Hierarchy> {
    let full = class_paths.jaccard_matrix(ElementKind::Synapse, LayerSelection::Weighted)?;
    let order: Vec<usize> = groups.iter().flat_map(|(_, g)| g.iter().copied()).collect();
    let group_of = |c: usize| groups.iter().position(|(_, g)| g.contains(&c));
    let (mut within, mut between) = (Vec::new(), Vec::new());
    for (i, &a) in order.iter().enumerate() {
        for &b in &order[i + 1..] {
            let Some(j) = full.get(a).and_then(|r| r.get(b)).copied().flatten() else {
                continue;
            };
            if group_of(a) == group_of(b) {
                within.push(j);
            } else {
                between.push(j);
            }
        }
    }
    let jaccard = order
        .iter()
        .map(|&a| {
            order
                .iter()
                .map(|&b| full.get(a).and_then(|r| r.get(b)).copied().flatten())
                .collect()
        })
        .collect();
    Ok(Hierarchy {
        groups: groups
            .iter()
            .map(|(n, g)| ((*n).to_owned(), g.to_vec()))
            .collect(),
        order,
        jaccard,
        within: mean(&within),
        between: mean(&between),
    })
}

/// One traced layer's densities.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerDensity {
    /// The node name.
    pub layer: String,
    /// Whether the layer has weights.
    pub weighted: bool,
    /// Neuron, synapse and weight density of the overall path (`None`: no such elements).
    pub overall: [Option<f64>; 3],
    /// Mean synapse density of the class paths.
    pub class_mean_synapse: Option<f64>,
}

/// Figs. 22/23: per traced layer, the densities of the overall path and the mean synapse
/// density of the class paths.
pub fn layer_density(class_paths: &ClassPaths) -> Result<Vec<LayerDensity>> {
    let overall = class_paths.overall();
    let space = class_paths.space();
    let mut out = Vec::with_capacity(space.len());
    for (l, layer) in space.layers().iter().enumerate() {
        let kept = overall.layer(l)?;
        let density = |kind: ElementKind| {
            let size = layer.size(kind);
            (size > 0).then(|| kept.count(kind) as f64 / size as f64)
        };
        let per_class: Vec<f64> = (0..class_paths.classes())
            .filter_map(|c| class_paths.class(c))
            .filter_map(|p| {
                let size = layer.size(ElementKind::Synapse);
                let n = p.layer(l).ok()?.count(ElementKind::Synapse);
                (size > 0).then(|| n as f64 / size as f64)
            })
            .collect();
        out.push(LayerDensity {
            layer: layer.name().to_owned(),
            weighted: layer.kind().is_weighted(),
            overall: ElementKind::ALL.map(density),
            class_mean_synapse: mean(&per_class),
        });
    }
    Ok(out)
}

/// The class paths of a network at one checkpoint of its training.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Phase {
    /// Epochs trained (0 = the initial weights).
    pub epoch: usize,
    /// Test accuracy at this checkpoint.
    pub test_accuracy: f64,
    /// Correctly classified profiled images in the class paths.
    pub images: usize,
    /// Synapse density of the overall path over the weighted layers.
    pub synapse_density: f64,
    /// Weight density of the overall path over the weighted layers.
    pub weight_density: f64,
    /// Minimum, lower quartile, median, upper quartile and maximum of the synapse Jaccard
    /// similarity of pairs of distinct classes (nearest rank; `None` with fewer than two
    /// class paths).
    pub jaccard: Option<[f64; 5]>,
}

/// The five-number summary of `v` (sorted in place), nearest rank.
fn five_numbers(v: &mut [f64]) -> Option<[f64; 5]> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let at = |p: f64| v[(p * (v.len() - 1) as f64).round() as usize];
    Some([at(0.0), at(0.25), at(0.5), at(0.75), at(1.0)])
}

/// One checkpoint: profiles `profile` (model inputs and labels) through `net`.
fn phase(
    net: &Network,
    epoch: usize,
    test_accuracy: f64,
    profile: (&ArrayD<f32>, &[usize]),
    options: &effpath_extract::ProfileOptions,
) -> Result<Phase> {
    let cp = ClassPaths::profile(net, profile.0, profile.1, options, |_, _| {})?;
    let overall = cp.overall();
    let density = |k| overall.density(k, LayerSelection::Weighted).unwrap_or(0.0);
    let m = cp.jaccard_matrix(ElementKind::Synapse, LayerSelection::Weighted)?;
    let mut pairs: Vec<f64> = m
        .iter()
        .enumerate()
        .flat_map(|(a, row)| row.iter().skip(a + 1).filter_map(|j| *j))
        .collect();
    Ok(Phase {
        epoch,
        test_accuracy,
        images: cp.images_per_class().iter().sum(),
        synapse_density: density(ElementKind::Synapse),
        weight_density: density(ElementKind::Weight),
        jaccard: five_numbers(&mut pairs),
    })
}

/// App. E.1: trains `net` (e.g. a freshly initialised zoo network) on `train` with `cfg` and,
/// before training and after every epoch, profiles `profile` (model inputs and labels) into
/// class paths and measures their density and class-wise similarity beside the test
/// accuracy on `test`.
pub fn training_phases(
    mut net: Network,
    (train, test): (&effpath_data::LabeledImages, &effpath_data::LabeledImages),
    cfg: &effpath_train::TrainConfig,
    profile: (&ArrayD<f32>, &[usize]),
    options: &effpath_extract::ProfileOptions,
) -> Result<Vec<Phase>> {
    let initial = effpath_train::evaluate(&net, test, cfg.normalization, 256)?;
    let mut phases = vec![phase(&net, 0, initial, profile, options)];
    effpath_train::train_observed(
        &mut net,
        train,
        Some(test),
        cfg,
        |_| {},
        |stats, net| {
            let accuracy = stats.test_accuracy.unwrap_or(0.0);
            phases.push(phase(net, stats.epoch, accuracy, profile, options));
        },
    )?;
    phases.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use effpath_extract::ProfileOptions;

    fn setup() -> (Network, ClassPaths, ArrayD<f32>, Vec<usize>) {
        let net = crate::models::lenet5_mnist().unwrap();
        let x = effpath_data::Mnist::embedded_test()
            .and_then(|m| m.to_tensor(0..120, effpath_data::Normalization::MNIST))
            .unwrap()
            .into_dyn();
        let labels: Vec<usize> = net
            .predict(&x)
            .unwrap()
            .rows()
            .into_iter()
            .map(|r| effpath_ir::argmax(r.iter().copied()))
            .collect();
        let cp =
            ClassPaths::profile(&net, &x, &labels, &ProfileOptions::default(), |_, _| {}).unwrap();
        (net, cp, x, labels)
    }

    #[test]
    fn masking_to_the_full_path_keeps_accuracy_and_everything_off_breaks_it() {
        let (net, cp, x, labels) = setup();
        let m = masking(&net, &cp, &x, &labels, &[0.0, 1.0], 3).unwrap();
        assert_eq!(m.full_accuracy, 1.0); // labels are the predictions
        assert_eq!(m.points[1].weight_density, 0.0);
        assert!(m.points[0].weight_density > 0.0 && m.points[0].weight_density < 1.0);
        // With no weight left, every image gets the biases' logits: one class for all.
        assert!(m.points[1].path_accuracy < 1.0);
        assert_eq!(m.points[1].path_accuracy, m.points[1].magnitude_accuracy);
    }

    #[test]
    fn growth_is_monotone_and_ends_at_the_overall_path() {
        let (_, cp, _, _) = setup();
        let order: Vec<usize> = (0..cp.classes()).collect();
        let g = density_growth(&cp, &order).unwrap();
        assert_eq!(g.len(), cp.classes());
        for w in g.windows(2) {
            assert!(w[1].synapse >= w[0].synapse && w[1].weight >= w[0].weight);
        }
        let overall = cp.overall();
        let last = g.last().unwrap();
        assert_eq!(
            Some(last.synapse),
            overall.density(ElementKind::Synapse, LayerSelection::Weighted)
        );
    }

    #[test]
    fn hierarchy_splits_pairs_into_within_and_between() {
        let (_, cp, _, _) = setup();
        let with_path: Vec<usize> = (0..cp.classes())
            .filter(|&c| cp.class(c).is_some())
            .collect();
        assert!(with_path.len() >= 3, "{with_path:?}");
        let (a, b) = with_path.split_at(2);
        let h = hierarchy(&cp, &[("first", a), ("rest", b)]).unwrap();
        assert_eq!(h.order, with_path);
        let full = cp
            .jaccard_matrix(ElementKind::Synapse, LayerSelection::Weighted)
            .unwrap();
        let mean_of = |same: bool| {
            let mut v = Vec::new();
            for (i, &x) in with_path.iter().enumerate() {
                for &y in &with_path[i + 1..] {
                    if (a.contains(&x) == a.contains(&y)) == same {
                        v.extend(full[x][y]);
                    }
                }
            }
            mean(&v)
        };
        assert_eq!(h.within, mean_of(true));
        assert_eq!(h.between, mean_of(false));
        assert!(h.between.is_some_and(|v| v > 0.0 && v <= 1.0));
        assert_eq!(h.jaccard[0][0], Some(1.0));
    }

    #[test]
    fn training_phases_profile_every_checkpoint() {
        let data = effpath_data::Mnist::embedded_train().unwrap();
        let train = data.subset(&(0..300).collect::<Vec<_>>()).unwrap();
        let test = effpath_data::Mnist::embedded_test()
            .unwrap()
            .subset(&(0..200).collect::<Vec<_>>())
            .unwrap();
        let x = train
            .to_tensor(0..100, effpath_data::Normalization::MNIST)
            .unwrap()
            .into_dyn();
        let labels = train.labels()[..100].to_vec();
        let cfg = effpath_train::TrainConfig {
            epochs: 2,
            lr: 0.03,
            ..effpath_train::TrainConfig::default()
        };
        let phases = training_phases(
            effpath_ir::zoo::lenet5(0),
            (&train, &test),
            &cfg,
            (&x, &labels),
            &ProfileOptions::default(),
        )
        .unwrap();
        let epochs: Vec<usize> = phases.iter().map(|p| p.epoch).collect();
        assert_eq!(epochs, [0, 1, 2]);
        // Training makes more profiled images correct and the network accurate.
        assert!(phases[2].images > phases[0].images);
        assert!(phases[2].test_accuracy > phases[0].test_accuracy + 0.3);
        let j = phases[2].jaccard.unwrap();
        assert!(j.windows(2).all(|w| w[0] <= w[1]) && j[0] > 0.0 && j[4] <= 1.0);
    }

    #[test]
    fn five_numbers_are_nearest_ranks() {
        assert_eq!(five_numbers(&mut []), None);
        assert_eq!(
            five_numbers(&mut [3.0, 1.0, 2.0, 5.0, 4.0]),
            Some([1.0, 2.0, 3.0, 4.0, 5.0])
        );
    }

    #[test]
    fn layer_densities_match_the_overall_path() {
        let (_, cp, _, _) = setup();
        let d = layer_density(&cp).unwrap();
        assert_eq!(d.len(), cp.space().len());
        assert!(
            d.iter()
                .all(|l| l.overall[1].is_some_and(|v| (0.0..=1.0).contains(&v)))
        );
        assert!(!d[1].weighted && d[1].overall[2].is_none()); // pool1 has no weights
    }
}
