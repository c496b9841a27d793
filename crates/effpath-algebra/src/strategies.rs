//! proptest strategies for paths (feature `proptest`), so that code built on effpath can
//! property-test itself on random paths: [`path_in`] draws paths over a given space,
//! [`path_space`] draws spaces, [`space_with_paths`] both.
//!
//! Each layer's element sets are drawn *sparse* (a few indices) or *dense* (each index with
//! probability ½), sizes around 64-bit word boundaries are over-represented, and the
//! representation of each path (dense `bitvec` words or compressed) is drawn too, so a
//! property sees every mix the algebra can hold.
//!
//! ```
//! use effpath_algebra::strategies::space_with_paths;
//! use effpath_algebra::{ElementKind, LayerSelection};
//! use proptest::prelude::*;
//!
//! proptest!(|((_space, paths) in space_with_paths(2))| {
//!     let (a, b) = (&paths[0], &paths[1]);
//!     let u = a.union(b).expect("same space");
//!     for k in ElementKind::ALL {
//!         let n = |p: &effpath_algebra::Path| p.count(k, LayerSelection::All);
//!         prop_assert!(n(&u) >= n(a).max(n(b)));
//!     }
//! });
//! ```

use std::collections::BTreeSet;
use std::sync::Arc;

use proptest::prelude::*;

use crate::{ElementKind, LayerKind, LayerSpace, Path, PathSpace, Representation};

const KINDS: [LayerKind; 5] = [
    LayerKind::Dense,
    LayerKind::Conv2d,
    LayerKind::MaxPool2d,
    LayerKind::AvgPool2d,
    LayerKind::GlobalAvgPool,
];

/// Element counts of a layer, with word boundaries over-represented.
fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        0..300usize,
        Just(1usize),
        Just(63),
        Just(64),
        Just(65),
        Just(128),
        Just(191),
        Just(4097),
        Just(70_000)
    ]
}

/// Spaces of 1–4 flat layers of any kind (weights only for weighted kinds), fingerprint
/// all ones.
pub fn path_space() -> BoxedStrategy<Arc<PathSpace>> {
    prop::collection::vec((0..KINDS.len(), size(), size(), size()), 1..5)
        .prop_map(|layers| {
            let layers = layers
                .into_iter()
                .enumerate()
                .map(|(i, (k, n, s, w))| {
                    let kind = KINDS[k];
                    let w = if kind.is_weighted() { w } else { 0 };
                    LayerSpace::flat(format!("l{i}"), kind, n, s, w).expect("sizes in range")
                })
                .collect();
            Arc::new(PathSpace::new([1; 32], layers).expect("unique layer names"))
        })
        .boxed()
}

/// A subset of `0..size`: sparse (at most 12 indices) or dense (each index with
/// probability ½).
pub fn subset(size: usize) -> BoxedStrategy<BTreeSet<usize>> {
    if size == 0 {
        return Just(BTreeSet::new()).boxed();
    }
    prop_oneof![
        prop::collection::btree_set(0..size, 0..=size.min(12)),
        prop::collection::vec(any::<bool>(), size).prop_map(|v| v
            .iter()
            .enumerate()
            .filter(|(_, b)| **b)
            .map(|(i, _)| i)
            .collect()),
    ]
    .boxed()
}

/// Paths over `space`: every layer's neurons, synapses and weights a random subset, in a
/// random representation.
pub fn path_in(space: Arc<PathSpace>) -> BoxedStrategy<Path> {
    let sets: Vec<_> = space
        .layers()
        .iter()
        .map(|l| {
            (
                subset(l.neurons()),
                subset(l.synapses()),
                subset(l.weights()),
            )
        })
        .collect();
    let representation = prop_oneof![Just(Representation::Dense), Just(Representation::Sparse)];
    (sets, representation)
        .prop_map(move |(sets, r)| {
            let mut p = Path::empty(&space);
            for (l, (n, s, w)) in sets.into_iter().enumerate() {
                for (kind, idx) in [
                    (ElementKind::Neuron, n),
                    (ElementKind::Synapse, s),
                    (ElementKind::Weight, w),
                ] {
                    let idx: Vec<usize> = idx.into_iter().collect();
                    p.insert_many(l, kind, &idx)
                        .expect("indices below the layer's sizes");
                }
            }
            p.with_representation(r)
        })
        .boxed()
}

/// A random space and `n` paths over it.
pub fn space_with_paths(n: usize) -> BoxedStrategy<(Arc<PathSpace>, Vec<Path>)> {
    path_space()
        .prop_flat_map(move |s| (Just(s.clone()), prop::collection::vec(path_in(s), n..=n)))
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    /// The strategies draw both representations, and both nearly empty and about half-full
    /// sets, all inside their space.
    #[test]
    fn draws_cover_representations_and_densities() {
        let mut runner = TestRunner::deterministic();
        let (mut dense, mut sparse, mut full, mut few) = (0, 0, 0, 0);
        for _ in 0..64 {
            let (space, paths) = space_with_paths(2)
                .new_tree(&mut runner)
                .expect("a draw")
                .current();
            for p in &paths {
                assert_eq!(p.space(), &space);
                let l = &p.layers()[0];
                match l.set(ElementKind::Synapse).representation() {
                    Representation::Dense => dense += 1,
                    Representation::Sparse => sparse += 1,
                }
                let size = space.layers()[0].synapses();
                let n = l.set(ElementKind::Synapse).count();
                assert!(n <= size);
                if size >= 64 && 3 * n >= size {
                    full += 1;
                } else if size >= 64 && n <= 12 {
                    few += 1;
                }
            }
        }
        assert!(dense > 0 && sparse > 0, "{dense} dense, {sparse} sparse");
        assert!(full > 0 && few > 0, "{full} half-full, {few} nearly empty");
    }
}
