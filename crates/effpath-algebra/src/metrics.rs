//! Density, Jaccard (IoU) and image–class similarity (spec §3.3–3.5), per layer and
//! aggregated over a [`LayerSelection`].
//!
//! Conventions (all ratios are `Option<f64>`, `None` meaning 0/0):
//!
//! * **density** = kept / all. `None` when the element space is empty (e.g. the weights of a
//!   pooling layer). Aggregated = Σ kept / Σ all over the selected layers (size-weighted, not
//!   a mean of per-layer densities).
//! * **Jaccard** = |A∩B| / |A∪B|. `None` when both sets are empty — the caller decides
//!   (the original's compact aggregate used 0; a self-similarity matrix uses 1).
//!   Aggregated = Σ|A∩B| / Σ|A∪B|.
//! * **similarity** of an image path S to a class path P = |S∩P| / |S| (image side, spec
//!   §7.14). `None` when |S| = 0: the original drops such samples. Aggregated = Σ|S∩P| / Σ|S|.
//!
//! All counts are word-level popcounts; no metric allocates a bitset.

use std::iter::Sum;
use std::ops::{Add, AddAssign};

use crate::error::Result;
use crate::kind::{ElementKind, LayerSelection};
use crate::path::{LayerPath, Path};

fn ratio(num: usize, den: usize) -> Option<f64> {
    (den != 0).then(|| num as f64 / den as f64)
}

/// Sizes of two sets and of their intersection — everything the pairwise metrics need.
/// Additive, so per-layer overlaps sum to the aggregated one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Overlap {
    /// |A| (the image path, for [`Overlap::similarity`]).
    pub left: usize,
    /// |B| (the class path, for [`Overlap::similarity`]).
    pub right: usize,
    /// |A ∩ B|.
    pub intersection: usize,
}

impl Overlap {
    /// |A ∪ B| = |A| + |B| − |A ∩ B|.
    pub fn union(&self) -> usize {
        (self.left + self.right).saturating_sub(self.intersection)
    }

    /// |A ∩ B| / |A ∪ B|; `None` when both sets are empty.
    pub fn jaccard(&self) -> Option<f64> {
        ratio(self.intersection, self.union())
    }

    /// |A ∩ B| / |A| (fraction of the left set inside the right one); `None` when A is empty.
    pub fn similarity(&self) -> Option<f64> {
        ratio(self.intersection, self.left)
    }
}

impl Add for Overlap {
    type Output = Overlap;
    fn add(self, o: Overlap) -> Overlap {
        Overlap {
            left: self.left + o.left,
            right: self.right + o.right,
            intersection: self.intersection + o.intersection,
        }
    }
}

impl AddAssign for Overlap {
    fn add_assign(&mut self, o: Overlap) {
        *self = *self + o;
    }
}

impl Sum for Overlap {
    fn sum<I: Iterator<Item = Overlap>>(iter: I) -> Self {
        iter.fold(Overlap::default(), Add::add)
    }
}

impl LayerPath {
    /// Kept / all of one element space; `None` if the space is empty.
    pub fn density(&self, kind: ElementKind) -> Option<f64> {
        ratio(self.count(kind), self.set(kind).len())
    }
}

impl Path {
    /// Aggregated density Σ kept / Σ all over the selected layers (spec §3.3); `None` if the
    /// selected spaces are all empty.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use effpath_algebra::{ElementKind, LayerSelection, LayerSpace, Path, PathSpace};
    /// let space = Arc::new(PathSpace::new([0; 32], vec![
    ///     LayerSpace::dense("fc1", 4, 2)?, // 8 synapses
    ///     LayerSpace::max_pool2d("pool", 1, [2, 2], [1, 1])?, // 4 synapses
    /// ])?);
    /// let mut p = Path::empty(&space);
    /// p.insert_synapse(0, 3)?;
    /// p.insert_synapse(1, 0)?;
    /// p.insert_synapse(1, 1)?;
    /// assert_eq!(p.density(ElementKind::Synapse, LayerSelection::All), Some(3.0 / 12.0));
    /// assert_eq!(p.density(ElementKind::Synapse, LayerSelection::Weighted), Some(1.0 / 8.0));
    /// assert_eq!(p.layers()[1].density(ElementKind::Weight), None);
    /// # Ok::<(), effpath_algebra::AlgebraError>(())
    /// ```
    pub fn density(&self, kind: ElementKind, selection: LayerSelection) -> Option<f64> {
        ratio(
            self.count(kind, selection),
            self.space.total(kind, selection),
        )
    }

    /// Per-layer densities of the selected layers, as `(layer index, density)`.
    pub fn density_per_layer(
        &self,
        kind: ElementKind,
        selection: LayerSelection,
    ) -> Vec<(usize, Option<f64>)> {
        self.space
            .selected(selection)
            .map(|i| (i, self.layers[i].density(kind)))
            .collect()
    }

    /// |self|, |other| and |self ∩ other| in one layer and element space.
    pub fn overlap_layer(&self, other: &Path, layer: usize, kind: ElementKind) -> Result<Overlap> {
        self.check_same_space(other)?;
        let (a, b) = (self.layer(layer)?.set(kind), other.layer(layer)?.set(kind));
        let (left, right, intersection) = a.overlap_counts(b)?;
        Ok(Overlap {
            left,
            right,
            intersection,
        })
    }

    /// Per-layer overlaps of the selected layers, as `(layer index, overlap)`.
    pub fn overlap_per_layer(
        &self,
        other: &Path,
        kind: ElementKind,
        selection: LayerSelection,
    ) -> Result<Vec<(usize, Overlap)>> {
        self.check_same_space(other)?;
        self.space
            .selected(selection)
            .map(|i| Ok((i, self.overlap_layer(other, i, kind)?)))
            .collect()
    }

    /// Overlap summed over the selected layers.
    pub fn overlap(
        &self,
        other: &Path,
        kind: ElementKind,
        selection: LayerSelection,
    ) -> Result<Overlap> {
        Ok(self
            .overlap_per_layer(other, kind, selection)?
            .into_iter()
            .map(|(_, o)| o)
            .sum())
    }

    /// Jaccard index |A∩B| / |A∪B| of one layer; `None` if both are empty there.
    pub fn jaccard_layer(
        &self,
        other: &Path,
        layer: usize,
        kind: ElementKind,
    ) -> Result<Option<f64>> {
        Ok(self.overlap_layer(other, layer, kind)?.jaccard())
    }

    /// Aggregated Jaccard Σ|A∩B| / Σ|A∪B| over the selected layers (spec §3.4); `None` if
    /// both paths are empty there.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use effpath_algebra::{ElementKind, LayerSelection, LayerSpace, Path, PathSpace};
    /// let space = Arc::new(PathSpace::new([0; 32], vec![LayerSpace::dense("fc", 4, 2)?])?);
    /// let (mut a, mut b) = (Path::empty(&space), Path::empty(&space));
    /// a.insert_many(0, ElementKind::Synapse, &[0, 1, 2])?;
    /// b.insert_many(0, ElementKind::Synapse, &[1, 2, 3])?;
    /// assert_eq!(a.jaccard(&b, ElementKind::Synapse, LayerSelection::All)?, Some(0.5));
    /// assert_eq!(a.jaccard(&b, ElementKind::Neuron, LayerSelection::All)?, None);
    /// # Ok::<(), effpath_algebra::AlgebraError>(())
    /// ```
    pub fn jaccard(
        &self,
        other: &Path,
        kind: ElementKind,
        selection: LayerSelection,
    ) -> Result<Option<f64>> {
        Ok(self.overlap(other, kind, selection)?.jaccard())
    }

    /// Per-layer Jaccard indices of the selected layers.
    pub fn jaccard_per_layer(
        &self,
        other: &Path,
        kind: ElementKind,
        selection: LayerSelection,
    ) -> Result<Vec<(usize, Option<f64>)>> {
        Ok(self
            .overlap_per_layer(other, kind, selection)?
            .into_iter()
            .map(|(i, o)| (i, o.jaccard()))
            .collect())
    }

    /// Similarity of this (image) path S to a class path P in one layer: |S∩P| / |S|;
    /// `None` when S is empty there.
    pub fn similarity_layer(
        &self,
        class_path: &Path,
        layer: usize,
        kind: ElementKind,
    ) -> Result<Option<f64>> {
        Ok(self.overlap_layer(class_path, layer, kind)?.similarity())
    }

    /// Aggregated similarity Σ|S∩P| / Σ|S| over the selected layers (spec §3.5).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use effpath_algebra::{ElementKind, LayerSelection, LayerSpace, Path, PathSpace};
    /// let space = Arc::new(PathSpace::new([0; 32], vec![LayerSpace::dense("fc", 4, 2)?])?);
    /// let (mut image, mut class) = (Path::empty(&space), Path::empty(&space));
    /// image.insert_many(0, ElementKind::Synapse, &[0, 5])?;
    /// class.insert_many(0, ElementKind::Synapse, &[0, 1, 2, 3])?;
    /// assert_eq!(image.similarity(&class, ElementKind::Synapse, LayerSelection::Weighted)?, Some(0.5));
    /// # Ok::<(), effpath_algebra::AlgebraError>(())
    /// ```
    pub fn similarity(
        &self,
        class_path: &Path,
        kind: ElementKind,
        selection: LayerSelection,
    ) -> Result<Option<f64>> {
        Ok(self.overlap(class_path, kind, selection)?.similarity())
    }

    /// Per-layer similarities of the selected layers (the detector features of spec §4.4 with
    /// `LayerSelection::Weighted` and `ElementKind::Synapse`).
    pub fn similarity_per_layer(
        &self,
        class_path: &Path,
        kind: ElementKind,
        selection: LayerSelection,
    ) -> Result<Vec<(usize, Option<f64>)>> {
        Ok(self
            .overlap_per_layer(class_path, kind, selection)?
            .into_iter()
            .map(|(i, o)| (i, o.similarity()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::space::{LayerSpace, PathSpace};

    /// LeNet's traced layers (spec §1.5 table; conv1, pool1, conv2, pool2, fc1, fc2, fc3).
    fn lenet() -> Arc<PathSpace> {
        Arc::new(
            PathSpace::new(
                [9; 32],
                vec![
                    LayerSpace::conv2d("conv1", 1, 6, 1, [5, 5], [24, 24]).unwrap(),
                    LayerSpace::max_pool2d("pool1", 6, [2, 2], [12, 12]).unwrap(),
                    LayerSpace::conv2d("conv2", 6, 16, 1, [5, 5], [8, 8]).unwrap(),
                    LayerSpace::max_pool2d("pool2", 16, [2, 2], [4, 4]).unwrap(),
                    LayerSpace::dense("fc1", 256, 120).unwrap(),
                    LayerSpace::dense("fc2", 120, 84).unwrap(),
                    LayerSpace::dense("fc3", 84, 10).unwrap(),
                ],
            )
            .unwrap(),
        )
    }

    #[test]
    fn lenet_spaces_match_the_spec_table() {
        let s = lenet();
        let sizes: Vec<_> = s
            .layers()
            .iter()
            .map(|l| (l.neurons(), l.synapses(), l.weights()))
            .collect();
        assert_eq!(
            sizes,
            vec![
                (3456, 86_400, 150),
                (864, 3456, 0),
                (1024, 153_600, 2400),
                (256, 1024, 0),
                (120, 30_720, 30_720),
                (84, 10_080, 10_080),
                (10, 840, 840),
            ]
        );
        assert_eq!(s.total(ElementKind::Weight, LayerSelection::All), 44_190); // spec §5
        assert_eq!(s.total(ElementKind::Synapse, LayerSelection::All), 286_120);
        assert_eq!(
            s.total(ElementKind::Synapse, LayerSelection::Weighted),
            281_640
        );
        assert_eq!(s.total(ElementKind::Neuron, LayerSelection::Weighted), 4694);
    }

    /// Hand-computed densities on LeNet: keep the first k elements of each space.
    #[test]
    fn lenet_worked_density_example() {
        let s = lenet();
        let mut p = Path::empty(&s);
        // synapses kept: conv1 1 %, pool1 all, conv2 1 %, pool2 all, fc* 10 %
        let kept_syn = [864, 3456, 1536, 1024, 3072, 1008, 84];
        // weights kept: 10 % of every weighted layer
        let kept_w = [15, 0, 240, 0, 3072, 1008, 84];
        for (l, (&ks, &kw)) in kept_syn.iter().zip(&kept_w).enumerate() {
            p.insert_many(l, ElementKind::Synapse, &(0..ks).collect::<Vec<_>>())
                .unwrap();
            p.insert_many(l, ElementKind::Weight, &(0..kw).collect::<Vec<_>>())
                .unwrap();
        }
        p.insert_neuron(6, 7).unwrap();
        assert_eq!(
            p.density(ElementKind::Synapse, LayerSelection::All),
            Some(11_044.0 / 286_120.0)
        );
        assert_eq!(
            p.density(ElementKind::Synapse, LayerSelection::Weighted),
            Some(6564.0 / 281_640.0)
        );
        assert_eq!(
            p.density(ElementKind::Weight, LayerSelection::All),
            Some(0.1)
        ); // 4419 / 44190
        assert_eq!(
            p.density(ElementKind::Neuron, LayerSelection::Weighted),
            Some(1.0 / 4694.0)
        );
        let per_layer = p.density_per_layer(ElementKind::Weight, LayerSelection::All);
        assert_eq!(per_layer[0], (0, Some(0.1)));
        assert_eq!(per_layer[1], (1, None));
        assert_eq!(
            p.density_per_layer(ElementKind::Synapse, LayerSelection::Weighted)[2],
            (4, Some(0.1))
        );
        assert_eq!(p.layers()[1].density(ElementKind::Synapse), Some(1.0));
    }

    #[test]
    fn jaccard_and_similarity_by_hand() {
        let s = lenet();
        let (mut img, mut class) = (Path::empty(&s), Path::empty(&s));
        img.insert_many(0, ElementKind::Synapse, &[1, 2, 3, 4])
            .unwrap();
        img.insert_many(1, ElementKind::Synapse, &[0, 1]).unwrap();
        class
            .insert_many(0, ElementKind::Synapse, &[3, 4, 5, 6, 7, 8])
            .unwrap();
        class.insert_many(1, ElementKind::Synapse, &[0, 1]).unwrap();
        // layer 0: |S|=4 |P|=6 |S∩P|=2 |S∪P|=8; layer 1: 2, 2, 2, 2
        assert_eq!(
            img.jaccard_layer(&class, 0, ElementKind::Synapse).unwrap(),
            Some(0.25)
        );
        assert_eq!(
            img.similarity_layer(&class, 0, ElementKind::Synapse)
                .unwrap(),
            Some(0.5)
        );
        assert_eq!(
            img.similarity_layer(&class, 1, ElementKind::Synapse)
                .unwrap(),
            Some(1.0)
        );
        assert_eq!(
            img.similarity_layer(&class, 2, ElementKind::Synapse)
                .unwrap(),
            None
        );
        assert_eq!(
            img.jaccard(&class, ElementKind::Synapse, LayerSelection::All)
                .unwrap(),
            Some(0.4)
        );
        assert_eq!(
            img.jaccard(&class, ElementKind::Synapse, LayerSelection::Weighted)
                .unwrap(),
            Some(0.25)
        );
        assert_eq!(
            img.similarity(&class, ElementKind::Synapse, LayerSelection::All)
                .unwrap(),
            Some(4.0 / 6.0)
        );
        let feats = img
            .similarity_per_layer(&class, ElementKind::Synapse, LayerSelection::Weighted)
            .unwrap();
        assert_eq!(
            feats.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            vec![0, 2, 4, 5, 6]
        );
        assert_eq!(feats[0].1, Some(0.5));
        assert!(feats[1..].iter().all(|(_, v)| v.is_none()));
        let o = img
            .overlap(&class, ElementKind::Synapse, LayerSelection::All)
            .unwrap();
        assert_eq!(
            o,
            Overlap {
                left: 6,
                right: 8,
                intersection: 4
            }
        );
        assert_eq!(o.union(), 10);
        let jl = img
            .jaccard_per_layer(&class, ElementKind::Synapse, LayerSelection::All)
            .unwrap();
        assert_eq!(jl[1], (1, Some(1.0)));
        assert_eq!(jl[2], (2, None));
    }
}
