//! Weight masks from paths (the paper's §2.2 masking experiment): a network with every conv and
//! dense weight outside a path zeroed, a static magnitude-pruning mask of the same per-layer
//! density to compare it with, and seeded, nested deactivation of a growing fraction of a path.
//!
//! A mask is a [`Path`] of the network; only its weight sets are read. A weighted layer's weight
//! space has the layout of the layer's parameter (dense `(out, in)`, conv
//! `(C_out, C_in/groups, kh, kw)`), so flat indices are the parameter's row-major indices.

use effpath_algebra::{ElementKind, ElementSet, Path};
use effpath_ir::{Network, Op};
use ndarray::ArrayViewD;

use crate::error::{ExtractError, Result};
use crate::space::NetworkSpace;

/// The weight tensor of a conv or dense node (`None` for other ops).
fn weight_of(op: &Op) -> Option<ArrayViewD<'_, f32>> {
    if let Op::Dense(d) = op {
        return Some(d.weight.view().into_dyn());
    }
    if let Op::Conv2d(c) = op {
        return Some(c.weight.view().into_dyn());
    }
    None
}

/// `(layer, node)` of every weighted traced layer of `net`, after checking that `mask` is a
/// path of it.
fn weighted_layers(net: &Network, mask: &Path) -> Result<Vec<(usize, usize)>> {
    let space = NetworkSpace::new(net)?;
    space.space().check_same(mask.space())?;
    Ok((0..space.space().len())
        .filter(|&l| space.space().layers()[l].kind().is_weighted())
        .filter_map(|l| space.node_of_layer(l).map(|n| (l, n)))
        .collect())
}

/// `net` with every conv and dense weight that `keep` does not hold set to zero; biases, batch
/// norms and every other parameter are unchanged.
///
/// ```
/// use effpath_extract::mask::mask_weights;
/// let net = effpath_ir::zoo::lenet5(0);
/// let x = ndarray::ArrayD::from_elem(ndarray::IxDyn(&[1, 28, 28]), 0.5f32);
/// let path = effpath_extract::extract_path(&net, &x, 1.0)?;
/// let full = effpath_algebra::Path::full(path.space());
/// assert_eq!(mask_weights(&net, &full)?.predict(&x)?, net.predict(&x)?);
/// # Ok::<(), effpath_extract::ExtractError>(())
/// ```
pub fn mask_weights(net: &Network, keep: &Path) -> Result<Network> {
    let layers = weighted_layers(net, keep)?;
    let mut masked = net.clone();
    for (layer, node) in layers {
        let set = keep.layer(layer)?.set(ElementKind::Weight);
        if let Some(mut weight) = masked.parameters_mut(node).into_iter().next() {
            for (i, w) in weight.iter_mut().enumerate() {
                if !set.contains(i) {
                    *w = 0.0;
                }
            }
        }
    }
    Ok(masked)
}

/// Per weighted layer, the weights of largest magnitude, as many as `like` keeps in that layer
/// (ties: the lower index first): a static magnitude-pruning mask of the same per-layer density.
/// Only weight sets are filled.
pub fn magnitude_mask(net: &Network, like: &Path) -> Result<Path> {
    let layers = weighted_layers(net, like)?;
    let mut mask = Path::empty(like.space());
    for (layer, node) in layers {
        let k = like.layer(layer)?.count(ElementKind::Weight);
        let Some(weight) = net.nodes().get(node).and_then(|n| weight_of(&n.op)) else {
            continue;
        };
        let mut order: Vec<(f32, usize)> = weight
            .iter()
            .enumerate()
            .map(|(i, w)| (w.abs(), i))
            .collect();
        order.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let kept = order.into_iter().take(k).map(|(_, i)| i).collect();
        let len = weight.len();
        mask.insert_set(
            layer,
            ElementKind::Weight,
            ElementSet::from_indices(len, kept),
        )?;
    }
    Ok(mask)
}

/// A seeded 64-bit mix of `(seed, layer, index)` (SplitMix64's finaliser).
fn key(seed: u64, layer: usize, index: usize) -> u64 {
    let mut z = seed
        ^ (layer as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ (index as u64).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `keep` with `fraction` ∈ [0, 1] of the weights of every weighted layer deactivated
/// (round(fraction × count) per layer): those with the smallest seeded keys, so that the
/// deactivated sets are nested as the fraction grows and the same for a given seed. Only
/// weight sets are filled.
pub fn drop_weights(keep: &Path, fraction: f64, seed: u64) -> Result<Path> {
    if !(0.0..=1.0).contains(&fraction) {
        return Err(ExtractError::Fraction { value: fraction });
    }
    let mut out = Path::empty(keep.space());
    for (layer, kept) in keep.layers().iter().enumerate() {
        if !keep.space().layers()[layer].kind().is_weighted() {
            continue;
        }
        let set = kept.set(ElementKind::Weight);
        let mut order: Vec<(u64, usize)> = set.iter().map(|i| (key(seed, layer, i), i)).collect();
        let drop = (fraction * order.len() as f64).round() as usize;
        order.sort_unstable();
        let remaining = order.into_iter().skip(drop).map(|(_, i)| i).collect();
        out.insert_set(
            layer,
            ElementKind::Weight,
            ElementSet::from_indices(set.len(), remaining),
        )?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use effpath_algebra::LayerSelection;
    use ndarray::{ArrayD, IxDyn};

    fn setup() -> (Network, Path, ArrayD<f32>) {
        let net = effpath_ir::zoo::lenet5(3);
        let x = ArrayD::from_shape_fn(IxDyn(&[1, 28, 28]), |d| {
            ((d[1] * 3 + d[2]) % 11) as f32 / 11.0
        });
        let path = crate::extract_path(&net, &x, 0.5).unwrap();
        (net, path, x)
    }

    #[test]
    fn masking_zeroes_exactly_the_weights_outside_the_path() {
        let (net, path, _) = setup();
        let masked = mask_weights(&net, &path).unwrap();
        let space = NetworkSpace::new(&net).unwrap();
        let mut kept_nonzero = 0;
        for layer in space.space().selected(LayerSelection::Weighted) {
            let node = space.node_of_layer(layer).unwrap();
            let (a, b) = (
                weight_of(&net.nodes()[node].op).unwrap(),
                weight_of(&masked.nodes()[node].op).unwrap(),
            );
            let set = path.layer(layer).unwrap().set(ElementKind::Weight);
            for (i, (w, m)) in a.iter().zip(b.iter()).enumerate() {
                assert_eq!(
                    *m,
                    if set.contains(i) { *w } else { 0.0 },
                    "layer {layer} weight {i}"
                );
                kept_nonzero += usize::from(set.contains(i) && *w != 0.0);
            }
        }
        assert!(kept_nonzero > 0);
        // Biases are untouched: the masked network differs from the original only in weights.
        assert_eq!(masked.nodes().len(), net.nodes().len());
    }

    #[test]
    fn magnitude_mask_matches_per_layer_counts_and_keeps_the_largest() {
        let (net, path, _) = setup();
        let mask = magnitude_mask(&net, &path).unwrap();
        let space = NetworkSpace::new(&net).unwrap();
        for layer in space.space().selected(LayerSelection::Weighted) {
            let k = path.layer(layer).unwrap().count(ElementKind::Weight);
            let set = mask.layer(layer).unwrap().set(ElementKind::Weight);
            assert_eq!(set.count(), k);
            let w = weight_of(&net.nodes()[space.node_of_layer(layer).unwrap()].op).unwrap();
            let smallest_kept = set
                .iter()
                .map(|i| w.iter().nth(i).unwrap().abs())
                .fold(f32::INFINITY, f32::min);
            let largest_dropped = w
                .iter()
                .enumerate()
                .filter(|(i, _)| !set.contains(*i))
                .map(|(_, v)| v.abs())
                .fold(0.0, f32::max);
            assert!(k == 0 || smallest_kept >= largest_dropped, "layer {layer}");
        }
    }

    #[test]
    fn dropped_fractions_are_nested_seeded_and_exact() {
        let (_, path, _) = setup();
        let a = drop_weights(&path, 0.3, 7).unwrap();
        let b = drop_weights(&path, 0.6, 7).unwrap();
        assert_eq!(a, drop_weights(&path, 0.3, 7).unwrap());
        assert_ne!(a, drop_weights(&path, 0.3, 8).unwrap());
        for (l, layer) in path.layers().iter().enumerate() {
            let n = layer.count(ElementKind::Weight);
            let (sa, sb) = (
                a.layers()[l].set(ElementKind::Weight),
                b.layers()[l].set(ElementKind::Weight),
            );
            assert_eq!(sa.count(), n - (0.3 * n as f64).round() as usize);
            assert!(
                sb.is_subset(sa).unwrap() && sa.is_subset(layer.set(ElementKind::Weight)).unwrap()
            );
        }
        assert_eq!(
            drop_weights(&path, 1.0, 1)
                .unwrap()
                .count(ElementKind::Weight, LayerSelection::All),
            0
        );
        assert!(matches!(
            drop_weights(&path, 1.5, 1),
            Err(ExtractError::Fraction { .. })
        ));
    }

    #[test]
    fn a_mask_of_another_network_is_refused() {
        let (_, path, _) = setup();
        let other = effpath_ir::zoo::lenet5(4);
        assert!(mask_weights(&other, &path).is_err());
        assert!(magnitude_mask(&other, &path).is_err());
    }
}
