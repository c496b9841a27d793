//! [`PathSet`]: labelled paths over one space (e.g. the class paths of a network), and
//! [`PathCounts`]: per-element counts of merged paths (spec §7.13).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::elements::ElementSet;
use crate::error::{AlgebraError, Result};
use crate::kind::ElementKind;
use crate::ops::check_spaces;
use crate::path::{LayerPath, Path};
use crate::space::PathSpace;

/// Paths keyed by a `u32` label (a class id), all over one [`PathSpace`], iterated in
/// ascending label order. Serializable as one file (see the [`format`](crate::format) docs).
///
/// ```
/// use std::sync::Arc;
/// use effpath_algebra::{LayerSpace, Path, PathSet, PathSpace};
/// let space = Arc::new(PathSpace::new([0; 32], vec![LayerSpace::dense("fc", 3, 2)?])?);
/// let mut classes = PathSet::new(&space);
/// for label in [2, 0] {
///     let mut p = Path::empty(&space);
///     p.insert_neuron(0, label as usize / 2)?;
///     classes.insert(label, p)?;
/// }
/// assert_eq!(classes.labels().collect::<Vec<_>>(), vec![0, 2]);
/// assert_eq!(classes.union_all().counts().neurons, 2);
/// # Ok::<(), effpath_algebra::AlgebraError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathSet {
    space: Arc<PathSpace>,
    paths: BTreeMap<u32, Path>,
}

impl PathSet {
    /// An empty set over a space.
    pub fn new(space: &Arc<PathSpace>) -> Self {
        PathSet {
            space: Arc::clone(space),
            paths: BTreeMap::new(),
        }
    }

    /// A set from `(label, path)` pairs; errors on a repeated label or a path of another space.
    pub fn from_paths(
        space: &Arc<PathSpace>,
        paths: impl IntoIterator<Item = (u32, Path)>,
    ) -> Result<Self> {
        let mut set = PathSet::new(space);
        for (label, path) in paths {
            if set.paths.contains_key(&label) {
                return Err(AlgebraError::DuplicateLabel { label });
            }
            set.insert(label, path)?;
        }
        Ok(set)
    }

    /// The common space.
    pub fn space(&self) -> &Arc<PathSpace> {
        &self.space
    }

    /// Insert or replace the path of a label (returns the previous one). Errors with
    /// [`AlgebraError::SpaceMismatch`] if the path lives in another space.
    pub fn insert(&mut self, label: u32, mut path: Path) -> Result<Option<Path>> {
        check_spaces(&self.space, &path.space)?;
        path.space = Arc::clone(&self.space);
        Ok(self.paths.insert(label, path))
    }

    /// The path of a label.
    pub fn get(&self, label: u32) -> Option<&Path> {
        self.paths.get(&label)
    }

    /// Remove and return the path of a label.
    pub fn remove(&mut self, label: u32) -> Option<Path> {
        self.paths.remove(&label)
    }

    /// Number of labelled paths.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    /// `true` if there are no paths.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// Labels, ascending.
    pub fn labels(&self) -> impl Iterator<Item = u32> + '_ {
        self.paths.keys().copied()
    }

    /// `(label, path)` pairs, ascending by label.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Path)> + '_ {
        self.paths.iter().map(|(&l, p)| (l, p))
    }

    /// Union of all paths (the network-level path of spec §3.3).
    pub fn union_all(&self) -> Path {
        let mut acc = Path::empty(&self.space);
        for p in self.paths.values() {
            for (a, b) in acc.layers.iter_mut().zip(&p.layers) {
                for (x, y) in a.sets.iter_mut().zip(&b.sets) {
                    x.union_with(y)
                        .unwrap_or_else(|_| unreachable!("paths of one set share its space"));
                }
            }
        }
        acc
    }

    pub(crate) fn from_checked(space: Arc<PathSpace>, paths: BTreeMap<u32, Path>) -> Self {
        PathSet { space, paths }
    }
}

/// Per-element `u32` counts of how many merged paths kept each element (spec §3.1 "sparse
/// with counts", §7.13), for frequency-filtered class paths. Counts saturate at `u32::MAX`.
/// Memory: 4 bytes per element of the space (32× a bitset).
///
/// ```
/// use std::sync::Arc;
/// use effpath_algebra::{ElementKind, LayerSpace, Path, PathCounts, PathSpace};
/// let space = Arc::new(PathSpace::new([0; 32], vec![LayerSpace::dense("fc", 2, 2)?])?);
/// let mut counts = PathCounts::new(&space);
/// for idx in [[0, 1], [1, 2], [1, 3]] {
///     let mut p = Path::empty(&space);
///     p.insert_many(0, ElementKind::Synapse, &idx)?;
///     counts.add(&p)?;
/// }
/// assert_eq!(counts.counts(0, ElementKind::Synapse)?, &[1, 3, 1, 1]);
/// assert_eq!(counts.at_least(2).counts().synapses, 1);
/// # Ok::<(), effpath_algebra::AlgebraError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathCounts {
    space: Arc<PathSpace>,
    layers: Vec<[Vec<u32>; 3]>,
    paths: u64,
}

impl PathCounts {
    /// All-zero counts over a space.
    pub fn new(space: &Arc<PathSpace>) -> Self {
        let layers = space
            .layers()
            .iter()
            .map(|l| ElementKind::ALL.map(|k| vec![0u32; l.size(k)]))
            .collect();
        PathCounts {
            space: Arc::clone(space),
            layers,
            paths: 0,
        }
    }

    /// The space.
    pub fn space(&self) -> &Arc<PathSpace> {
        &self.space
    }

    /// Number of paths added (merged counts included).
    pub fn paths(&self) -> u64 {
        self.paths
    }

    /// Count one more path (visits set bits word by word).
    pub fn add(&mut self, path: &Path) -> Result<()> {
        check_spaces(&self.space, &path.space)?;
        for (counts, layer) in self.layers.iter_mut().zip(&path.layers) {
            for (c, set) in counts.iter_mut().zip(&layer.sets) {
                for i in set.iter() {
                    c[i] = c[i].saturating_add(1);
                }
            }
        }
        self.paths += 1;
        Ok(())
    }

    /// Add another count table of the same space.
    pub fn merge(&mut self, other: &PathCounts) -> Result<()> {
        check_spaces(&self.space, &other.space)?;
        for (a, b) in self
            .layers
            .iter_mut()
            .flatten()
            .zip(other.layers.iter().flatten())
        {
            a.iter_mut()
                .zip(b)
                .for_each(|(x, &y)| *x = x.saturating_add(y));
        }
        self.paths += other.paths;
        Ok(())
    }

    /// The counts of one layer and element kind (indexed like the bitset).
    pub fn counts(&self, layer: usize, kind: ElementKind) -> Result<&[u32]> {
        let layers = self.layers.len();
        Ok(&self
            .layers
            .get(layer)
            .ok_or(AlgebraError::LayerOutOfRange { layer, layers })?[kind.index()])
    }

    /// The path of elements counted at least `min` times (`at_least(1)` = the union;
    /// the original's "count > f" filter is `at_least(f + 1)`).
    pub fn at_least(&self, min: u32) -> Path {
        let layers = self
            .layers
            .iter()
            .map(|counts| LayerPath {
                sets: counts.each_ref().map(|c| {
                    let kept = (0..c.len()).filter(|&i| c[i] >= min).collect();
                    ElementSet::from_indices(c.len(), kept)
                }),
            })
            .collect();
        Path::from_parts(Arc::clone(&self.space), layers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::LayerSpace;

    fn space(fp: u8) -> Arc<PathSpace> {
        Arc::new(PathSpace::new([fp; 32], vec![LayerSpace::dense("fc", 10, 13).unwrap()]).unwrap())
    }

    #[test]
    fn set_checks_spaces_and_labels() {
        let s = space(1);
        let p = Path::full(&s);
        assert!(PathSet::from_paths(&s, [(1, p.clone()), (1, p.clone())]).is_err());
        let mut set = PathSet::from_paths(&s, [(4, p.clone())]).unwrap();
        assert!(matches!(
            set.insert(5, Path::empty(&space(2))),
            Err(AlgebraError::SpaceMismatch { .. })
        ));
        assert_eq!(set.insert(4, Path::empty(&space(1))).unwrap(), Some(p));
        assert!(Arc::ptr_eq(set.get(4).unwrap().space(), set.space()));
        assert_eq!(set.len(), 1);
        assert!(set.remove(4).is_some() && set.is_empty());
    }

    #[test]
    fn counts_threshold_and_merge() {
        let s = space(1);
        let mut c = PathCounts::new(&s);
        let mut a = Path::empty(&s);
        a.insert_many(0, ElementKind::Synapse, &[0, 63, 64, 129])
            .unwrap();
        let mut b = Path::empty(&s);
        b.insert_many(0, ElementKind::Synapse, &[63, 129]).unwrap();
        c.add(&a).unwrap();
        c.add(&b).unwrap();
        let mut d = c.clone();
        d.merge(&c).unwrap();
        assert_eq!(d.paths(), 4);
        assert_eq!(d.counts(0, ElementKind::Synapse).unwrap()[129], 4);
        assert_eq!(c.at_least(1), a);
        assert_eq!(c.at_least(2), b);
        assert!(c.at_least(3).is_empty());
        assert_eq!(c.at_least(0), Path::full(&s));
        assert!(c.add(&Path::empty(&space(2))).is_err());
        assert!(c.counts(1, ElementKind::Neuron).is_err());
    }
}
