//! [`Path`]: per layer, one bitset of kept neurons, synapses and weights.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign};
use std::sync::Arc;

use crate::bits::Bits;
use crate::elements::{ElementSet, Iter, Representation};
use crate::error::{AlgebraError, Result};
use crate::kind::{ElementKind, LayerSelection};
use crate::space::{LayerSpace, PathSpace};

/// Number of kept elements of each kind (of one layer, or summed over layers).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ElementCounts {
    /// Kept neurons.
    pub neurons: usize,
    /// Kept synapses.
    pub synapses: usize,
    /// Kept weights.
    pub weights: usize,
}

impl ElementCounts {
    /// The count of one element kind.
    pub fn get(&self, kind: ElementKind) -> usize {
        match kind {
            ElementKind::Neuron => self.neurons,
            ElementKind::Synapse => self.synapses,
            ElementKind::Weight => self.weights,
        }
    }
}

impl Add for ElementCounts {
    type Output = ElementCounts;
    fn add(self, o: ElementCounts) -> ElementCounts {
        ElementCounts {
            neurons: self.neurons + o.neurons,
            synapses: self.synapses + o.synapses,
            weights: self.weights + o.weights,
        }
    }
}

impl AddAssign for ElementCounts {
    fn add_assign(&mut self, o: ElementCounts) {
        *self = *self + o;
    }
}

impl Sum for ElementCounts {
    fn sum<I: Iterator<Item = ElementCounts>>(iter: I) -> Self {
        iter.fold(ElementCounts::default(), Add::add)
    }
}

/// The kept elements of one layer: an [`ElementSet`] per element space, each exactly as large
/// as the space. Obtained from a [`Path`]; cannot be resized.
#[derive(Clone, PartialEq, Eq)]
pub struct LayerPath {
    /// Indexed by [`ElementKind::index`].
    pub(crate) sets: [ElementSet; 3],
}

impl LayerPath {
    pub(crate) fn new(space: &LayerSpace, value: bool) -> Self {
        LayerPath {
            sets: ElementKind::ALL.map(|k| {
                if value {
                    ElementSet::full(space.size(k))
                } else {
                    ElementSet::empty(space.size(k))
                }
            }),
        }
    }

    /// The kept elements of one element space.
    pub fn set(&self, kind: ElementKind) -> &ElementSet {
        &self.sets[kind.index()]
    }

    /// The kept neurons.
    pub fn neurons(&self) -> &ElementSet {
        self.set(ElementKind::Neuron)
    }

    /// The kept synapses.
    pub fn synapses(&self) -> &ElementSet {
        self.set(ElementKind::Synapse)
    }

    /// The kept weights.
    pub fn weights(&self) -> &ElementSet {
        self.set(ElementKind::Weight)
    }

    /// Number of kept elements of one kind (O(1)).
    pub fn count(&self, kind: ElementKind) -> usize {
        self.set(kind).count()
    }

    /// Kept elements of every kind.
    pub fn counts(&self) -> ElementCounts {
        ElementCounts {
            neurons: self.count(ElementKind::Neuron),
            synapses: self.count(ElementKind::Synapse),
            weights: self.count(ElementKind::Weight),
        }
    }

    /// Whether an element is kept (`false` for out-of-range indices).
    pub fn contains(&self, kind: ElementKind, index: usize) -> bool {
        self.set(kind).contains(index)
    }

    /// Indices of the kept elements of one kind, ascending.
    pub fn iter_ones(&self, kind: ElementKind) -> Iter<'_> {
        self.set(kind).iter()
    }

    /// `true` if nothing is kept in this layer.
    pub fn is_empty(&self) -> bool {
        self.sets.iter().all(ElementSet::is_empty)
    }

    /// Heap bytes held by this layer's sets.
    pub fn heap_bytes(&self) -> usize {
        self.sets.iter().map(ElementSet::heap_bytes).sum()
    }
}

impl fmt::Debug for LayerPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [n, s, w] = &self.sets;
        write!(
            f,
            "LayerPath {{ neurons: {}/{}, synapses: {}/{}, weights: {}/{} }}",
            n.count(),
            n.len(),
            s.count(),
            s.len(),
            w.count(),
            w.len()
        )
    }
}

/// An effective path (or a union of paths): a subset of every element space of a
/// [`PathSpace`].
///
/// ```
/// use std::sync::Arc;
/// use effpath_algebra::{ElementKind, LayerSpace, Path, PathSpace};
/// let space = Arc::new(PathSpace::new([0; 32], vec![LayerSpace::dense("fc", 4, 3)?])?);
/// let mut p = Path::empty(&space);
/// assert!(p.insert_synapse(0, 11)?);
/// assert!(p.insert_many(0, ElementKind::Neuron, &[0, 2])?);
/// assert_eq!(p.counts().neurons, 2);
/// assert!(p.insert_weight(0, 12).is_err()); // 3 × 4 weights
/// # Ok::<(), effpath_algebra::AlgebraError>(())
/// ```
#[derive(Clone)]
pub struct Path {
    pub(crate) space: Arc<PathSpace>,
    pub(crate) layers: Vec<LayerPath>,
}

impl Path {
    /// The empty path over a space.
    pub fn empty(space: &Arc<PathSpace>) -> Self {
        Path {
            space: Arc::clone(space),
            layers: space
                .layers()
                .iter()
                .map(|l| LayerPath::new(l, false))
                .collect(),
        }
    }

    /// The path keeping every element of the space (density 1 everywhere).
    pub fn full(space: &Arc<PathSpace>) -> Self {
        Path {
            space: Arc::clone(space),
            layers: space
                .layers()
                .iter()
                .map(|l| LayerPath::new(l, true))
                .collect(),
        }
    }

    /// The space this path lives in.
    pub fn space(&self) -> &Arc<PathSpace> {
        &self.space
    }

    /// The per-layer sets, in the order of the space's layers.
    pub fn layers(&self) -> &[LayerPath] {
        &self.layers
    }

    /// One layer, or [`AlgebraError::LayerOutOfRange`].
    pub fn layer(&self, layer: usize) -> Result<&LayerPath> {
        self.layers.get(layer).ok_or(AlgebraError::LayerOutOfRange {
            layer,
            layers: self.layers.len(),
        })
    }

    fn check_index(&self, layer: usize, kind: ElementKind, index: usize) -> Result<()> {
        let space = self.space.layer(layer)?;
        if index < space.size(kind) {
            Ok(())
        } else {
            Err(AlgebraError::IndexOutOfRange {
                layer,
                name: space.name().to_owned(),
                kind,
                index,
                size: space.size(kind),
            })
        }
    }

    /// [`AlgebraError::BitLength`] unless `found` is the size of the layer's `kind` space.
    fn check_len(&self, layer: usize, kind: ElementKind, found: usize) -> Result<()> {
        let space = self.space.layer(layer)?;
        if found == space.size(kind) {
            Ok(())
        } else {
            Err(AlgebraError::BitLength {
                layer,
                name: space.name().to_owned(),
                kind,
                expected: space.size(kind),
                found,
            })
        }
    }

    fn set_bit(
        &mut self,
        layer: usize,
        kind: ElementKind,
        index: usize,
        value: bool,
    ) -> Result<bool> {
        self.check_index(layer, kind, index)?;
        Ok(self.layers[layer].sets[kind.index()].set(index, value))
    }

    /// Keep an element; returns `true` if it was not kept before. Errors on an out-of-range
    /// layer or index (the path is unchanged then).
    pub fn insert(&mut self, layer: usize, kind: ElementKind, index: usize) -> Result<bool> {
        self.set_bit(layer, kind, index, true)
    }

    /// Keep a neuron; see [`Path::insert`].
    pub fn insert_neuron(&mut self, layer: usize, index: usize) -> Result<bool> {
        self.insert(layer, ElementKind::Neuron, index)
    }

    /// Keep a synapse; see [`Path::insert`].
    pub fn insert_synapse(&mut self, layer: usize, index: usize) -> Result<bool> {
        self.insert(layer, ElementKind::Synapse, index)
    }

    /// Keep a weight; see [`Path::insert`].
    pub fn insert_weight(&mut self, layer: usize, index: usize) -> Result<bool> {
        self.insert(layer, ElementKind::Weight, index)
    }

    /// Keep many elements of one layer and kind. All indices are checked first: on error
    /// nothing is inserted. Returns `true` if at least one element was new.
    pub fn insert_many(
        &mut self,
        layer: usize,
        kind: ElementKind,
        indices: &[usize],
    ) -> Result<bool> {
        if let Some(&max) = indices.iter().max() {
            self.check_index(layer, kind, max)?;
        } else {
            self.space.layer(layer)?;
        }
        Ok(self.layers[layer].sets[kind.index()].insert_all(indices))
    }

    /// The set [`Path::insert_many`] would add for `indices`, built without touching the path
    /// (so that the sets of several layers can be built in parallel and then added with
    /// [`Path::insert_set`]). Errors on an out-of-range layer or index.
    pub fn build_set(
        &self,
        layer: usize,
        kind: ElementKind,
        indices: Vec<usize>,
    ) -> Result<ElementSet> {
        if let Some(&max) = indices.iter().max() {
            self.check_index(layer, kind, max)?;
        }
        let size = self.space.layer(layer)?.size(kind);
        Ok(ElementSet::from_indices(size, indices))
    }

    /// Keeps every element of `set` (a set over this layer's `kind` space, as
    /// [`Path::build_set`] makes; [`AlgebraError::BitLength`] otherwise). Returns `true` if at
    /// least one element was new.
    pub fn insert_set(&mut self, layer: usize, kind: ElementKind, set: ElementSet) -> Result<bool> {
        self.check_len(layer, kind, set.len())?;
        let mine = &mut self.layers[layer].sets[kind.index()];
        let before = mine.count();
        if mine.is_empty() {
            *mine = set;
        } else {
            mine.union_with(&set)?;
        }
        Ok(mine.count() != before)
    }

    /// Drop an element; returns `true` if it was kept before.
    pub fn remove(&mut self, layer: usize, kind: ElementKind, index: usize) -> Result<bool> {
        self.set_bit(layer, kind, index, false)
    }

    /// Whether an element is kept; errors on an out-of-range layer or index.
    pub fn contains(&self, layer: usize, kind: ElementKind, index: usize) -> Result<bool> {
        self.check_index(layer, kind, index)?;
        Ok(self.layers[layer].sets[kind.index()].contains(index))
    }

    /// The kept elements of one layer and kind.
    pub fn set(&self, layer: usize, kind: ElementKind) -> Result<&ElementSet> {
        Ok(self.layer(layer)?.set(kind))
    }

    /// Replace the kept elements of one layer and kind by the ones of a bitset. The bitset
    /// must be exactly as long as the element space ([`AlgebraError::BitLength`] otherwise);
    /// it may come from slicing or truncation. The set takes the representation that fits.
    pub fn set_bits(&mut self, layer: usize, kind: ElementKind, bits: Bits) -> Result<()> {
        self.check_len(layer, kind, bits.len())?;
        self.layers[layer].sets[kind.index()] = ElementSet::from_bits(bits);
        Ok(())
    }

    /// Drop every element.
    pub fn clear(&mut self) {
        for set in self.layers.iter_mut().flat_map(|l| l.sets.iter_mut()) {
            set.clear();
        }
    }

    /// `true` if no element of any layer is kept.
    pub fn is_empty(&self) -> bool {
        self.layers.iter().all(LayerPath::is_empty)
    }

    /// Kept elements of one kind, summed over the selected layers.
    pub fn count(&self, kind: ElementKind, selection: LayerSelection) -> usize {
        self.space
            .selected(selection)
            .map(|i| self.layers[i].count(kind))
            .sum()
    }

    /// Kept elements of every kind, summed over all layers.
    pub fn counts(&self) -> ElementCounts {
        self.layers.iter().map(LayerPath::counts).sum()
    }

    /// The same path with every set held in the given representation (see
    /// [`ElementSet::with_representation`]).
    pub fn with_representation(mut self, r: Representation) -> Self {
        for l in &mut self.layers {
            l.sets = std::mem::take(&mut l.sets).map(|s| s.with_representation(r));
        }
        self
    }

    /// Heap bytes held by the path's sets (its memory, apart from O(layers) bookkeeping).
    pub fn heap_bytes(&self) -> usize {
        self.layers.iter().map(LayerPath::heap_bytes).sum()
    }

    /// Assemble a path from already validated, normalized layer sets.
    pub(crate) fn from_parts(space: Arc<PathSpace>, layers: Vec<LayerPath>) -> Self {
        debug_assert_eq!(space.len(), layers.len());
        Path { space, layers }
    }
}

/// Equal when the spaces are equal and the same elements are kept.
impl PartialEq for Path {
    fn eq(&self, other: &Path) -> bool {
        (Arc::ptr_eq(&self.space, &other.space) || self.space == other.space)
            && self.layers == other.layers
    }
}

impl Eq for Path {}

impl fmt::Debug for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        m.entry(&"fingerprint", &self.space.fingerprint());
        for (l, s) in self.layers.iter().zip(self.space.layers()) {
            m.entry(&s.name(), l);
        }
        m.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kind::LayerKind;

    fn space() -> Arc<PathSpace> {
        Arc::new(
            PathSpace::new(
                [3; 32],
                vec![
                    LayerSpace::conv2d("c", 1, 2, 1, [3, 3], [4, 4]).unwrap(),
                    LayerSpace::max_pool2d("p", 2, [2, 2], [2, 2]).unwrap(),
                    LayerSpace::dense("fc", 8, 10).unwrap(),
                ],
            )
            .unwrap(),
        )
    }

    #[test]
    fn built_sets_insert_as_insert_many_does() {
        let s = space();
        let (mut a, mut b) = (Path::empty(&s), Path::empty(&s));
        for batch in [vec![5usize, 1, 5, 287], vec![1, 2, 3]] {
            a.insert_many(0, ElementKind::Synapse, &batch).unwrap();
            let set = b.build_set(0, ElementKind::Synapse, batch).unwrap();
            b.insert_set(0, ElementKind::Synapse, set).unwrap();
        }
        assert_eq!(
            a.iter_ones_of(0, ElementKind::Synapse),
            b.iter_ones_of(0, ElementKind::Synapse)
        );
        assert_eq!(b.count(ElementKind::Synapse, LayerSelection::All), 5);
        assert!(matches!(
            b.build_set(0, ElementKind::Synapse, vec![288]),
            Err(AlgebraError::IndexOutOfRange { index: 288, .. })
        ));
        let other = b.build_set(2, ElementKind::Synapse, vec![0]).unwrap();
        assert!(matches!(
            b.insert_set(0, ElementKind::Synapse, other),
            Err(AlgebraError::BitLength { .. })
        ));
    }

    impl Path {
        fn iter_ones_of(&self, layer: usize, kind: ElementKind) -> Vec<usize> {
            self.layers[layer].iter_ones(kind).collect()
        }
    }

    #[test]
    fn insert_contains_remove() {
        let s = space();
        let mut p = Path::empty(&s);
        assert!(p.is_empty());
        assert!(p.insert(0, ElementKind::Synapse, 287).unwrap());
        assert!(!p.insert(0, ElementKind::Synapse, 287).unwrap());
        assert!(p.contains(0, ElementKind::Synapse, 287).unwrap());
        assert!(p.layer(0).unwrap().contains(ElementKind::Synapse, 287));
        assert!(!p.layer(0).unwrap().contains(ElementKind::Synapse, 288));
        assert!(p.remove(0, ElementKind::Synapse, 287).unwrap());
        assert!(p.is_empty());
    }

    #[test]
    fn out_of_range_is_a_typed_error() {
        let s = space();
        let mut p = Path::empty(&s);
        let e = p.insert(1, ElementKind::Weight, 0).unwrap_err();
        assert!(matches!(
            e,
            AlgebraError::IndexOutOfRange {
                layer: 1,
                kind: ElementKind::Weight,
                index: 0,
                size: 0,
                ..
            }
        ));
        assert!(e.to_string().contains("`p`"), "{e}");
        assert!(matches!(
            p.insert(3, ElementKind::Neuron, 0),
            Err(AlgebraError::LayerOutOfRange {
                layer: 3,
                layers: 3
            })
        ));
        assert!(p.insert_many(2, ElementKind::Neuron, &[1, 2, 10]).is_err());
        assert!(p.is_empty(), "insert_many is all-or-nothing");
        assert!(
            p.insert_many(2, ElementKind::Neuron, &[1, 2, 9, 2])
                .unwrap()
        );
        assert_eq!(p.iter_ones_for_test(), vec![1, 2, 9]);
        assert!(p.insert_many(5, ElementKind::Neuron, &[]).is_err());
    }

    impl Path {
        fn iter_ones_for_test(&self) -> Vec<usize> {
            self.layers[2].iter_ones(ElementKind::Neuron).collect()
        }
    }

    #[test]
    fn set_bits_normalizes_sliced_and_truncated_bitsets() {
        let s = space();
        let mut p = Path::empty(&s);
        let src = Bits::repeat(true, 200);
        p.set_bits(0, ElementKind::Synapse, Bits::from_bitslice(&src[7..100]))
            .unwrap_err();
        let mut sliced = Bits::from_bitslice(&src[7..7 + 180]);
        sliced.resize(288, false);
        p.set_bits(0, ElementKind::Synapse, sliced).unwrap();
        assert_eq!(p.layer(0).unwrap().count(ElementKind::Synapse), 180);
        let mut t = Bits::repeat(true, 100);
        t.truncate(80);
        p.set_bits(2, ElementKind::Synapse, t).unwrap();
        assert_eq!(
            p.counts(),
            ElementCounts {
                neurons: 0,
                synapses: 260,
                weights: 0
            }
        );
        assert_eq!(
            p.layer(2).unwrap().sets[1].to_bits().as_raw_slice()[1],
            (1 << 16) - 1
        );
        let e = p
            .set_bits(1, ElementKind::Weight, Bits::repeat(false, 1))
            .unwrap_err();
        assert!(matches!(
            e,
            AlgebraError::BitLength {
                expected: 0,
                found: 1,
                ..
            }
        ));
    }

    #[test]
    fn counts_and_selection() {
        let s = space();
        let p = Path::full(&s);
        assert_eq!(
            p.count(ElementKind::Synapse, LayerSelection::All),
            288 + 32 + 80
        );
        assert_eq!(
            p.count(ElementKind::Synapse, LayerSelection::Weighted),
            288 + 80
        );
        assert_eq!(p.counts().weights, 18 + 80);
        assert!(s.layers()[1].kind() == LayerKind::MaxPool2d);
        let mut q = p.clone();
        q.clear();
        assert!(q.is_empty());
        assert_ne!(p, q);
        assert_eq!(q, Path::empty(&s));
        assert!(format!("{p:?}").contains("synapses: 32/32"));
    }

    #[test]
    fn paths_can_cross_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Path>();
        assert_send_sync::<Arc<PathSpace>>();
    }

    #[test]
    fn insert_many_edits_in_bulk() {
        let s = space();
        let mut p = Path::empty(&s);
        let idx: Vec<usize> = (10..20).collect();
        p.insert_many(2, ElementKind::Weight, &idx).unwrap();
        assert_eq!(p.layer(2).unwrap().count(ElementKind::Weight), 10);
        assert!(p.set(9, ElementKind::Weight).is_err());
    }
}
