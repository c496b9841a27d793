//! Set operations on paths: union, intersection, difference, symmetric difference — in place
//! and by value — all word-level, and all checked for a common [`PathSpace`].

use std::borrow::Borrow;
use std::sync::Arc;

use crate::elements::ElementSet;
use crate::error::Result;
use crate::path::Path;
use crate::space::PathSpace;

impl Path {
    /// `Ok` if `other` lives in the same path space (same `Arc`, or equal fingerprint and
    /// layers), else [`AlgebraError::SpaceMismatch`](crate::AlgebraError::SpaceMismatch).
    pub fn check_same_space(&self, other: &Path) -> Result<()> {
        check_spaces(&self.space, &other.space)
    }

    fn combine_with(
        &mut self,
        other: &Path,
        op: impl Fn(&mut ElementSet, &ElementSet) -> Result<()>,
    ) -> Result<()> {
        self.check_same_space(other)?;
        for (a, b) in self.layers.iter_mut().zip(&other.layers) {
            for (x, y) in a.sets.iter_mut().zip(&b.sets) {
                op(x, y)?;
            }
        }
        Ok(())
    }

    /// `self ← self ∪ other`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use effpath_algebra::{LayerSpace, Path, PathSpace};
    /// let space = Arc::new(PathSpace::new([0; 32], vec![LayerSpace::dense("fc", 2, 2)?])?);
    /// let (mut a, mut b) = (Path::empty(&space), Path::empty(&space));
    /// a.insert_neuron(0, 0)?;
    /// b.insert_neuron(0, 1)?;
    /// a.union_with(&b)?;
    /// assert_eq!(a.counts().neurons, 2);
    /// # Ok::<(), effpath_algebra::AlgebraError>(())
    /// ```
    pub fn union_with(&mut self, other: &Path) -> Result<()> {
        self.combine_with(other, ElementSet::union_with)
    }

    /// `self ← self ∩ other`.
    pub fn intersect_with(&mut self, other: &Path) -> Result<()> {
        self.combine_with(other, ElementSet::intersect_with)
    }

    /// `self ← self \ other` (elements of `self` not in `other`).
    pub fn difference_with(&mut self, other: &Path) -> Result<()> {
        self.combine_with(other, ElementSet::difference_with)
    }

    /// `self ← self △ other` (elements in exactly one of the two).
    pub fn symmetric_difference_with(&mut self, other: &Path) -> Result<()> {
        self.combine_with(other, ElementSet::symmetric_difference_with)
    }

    /// `self ∪ other` as a new path.
    pub fn union(&self, other: &Path) -> Result<Path> {
        let mut out = self.clone_checked(other)?;
        out.union_with(other)?;
        Ok(out)
    }

    /// `self ∩ other` as a new path.
    pub fn intersection(&self, other: &Path) -> Result<Path> {
        let mut out = self.clone_checked(other)?;
        out.intersect_with(other)?;
        Ok(out)
    }

    /// `self \ other` as a new path.
    pub fn difference(&self, other: &Path) -> Result<Path> {
        let mut out = self.clone_checked(other)?;
        out.difference_with(other)?;
        Ok(out)
    }

    /// `self △ other` as a new path.
    pub fn symmetric_difference(&self, other: &Path) -> Result<Path> {
        let mut out = self.clone_checked(other)?;
        out.symmetric_difference_with(other)?;
        Ok(out)
    }

    /// Check before cloning, so that a mismatch costs no allocation.
    fn clone_checked(&self, other: &Path) -> Result<Path> {
        self.check_same_space(other)?;
        Ok(self.clone())
    }

    /// `true` if every element kept by `self` is kept by `other`.
    pub fn is_subset(&self, other: &Path) -> Result<bool> {
        self.check_same_space(other)?;
        for (a, b) in self.layers.iter().zip(&other.layers) {
            for (x, y) in a.sets.iter().zip(&b.sets) {
                if !x.is_subset(y)? {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Union of many paths of `space` (e.g. the per-image paths of a class, or all class
    /// paths → the network-level path). One accumulator, one word-level pass per path; the
    /// empty union is the empty path. Paths may be given by value or by reference.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use effpath_algebra::{LayerSpace, Path, PathSpace};
    /// let space = Arc::new(PathSpace::new([0; 32], vec![LayerSpace::dense("fc", 4, 4)?])?);
    /// let mut paths = Vec::new();
    /// for i in 0..4 {
    ///     let mut p = Path::empty(&space);
    ///     p.insert_neuron(0, i)?;
    ///     paths.push(p);
    /// }
    /// assert_eq!(Path::union_all(&space, &paths)?, {
    ///     let mut all = Path::empty(&space);
    ///     all.insert_many(0, effpath_algebra::ElementKind::Neuron, &[0, 1, 2, 3])?;
    ///     all
    /// });
    /// # Ok::<(), effpath_algebra::AlgebraError>(())
    /// ```
    pub fn union_all<I>(space: &Arc<PathSpace>, paths: I) -> Result<Path>
    where
        I: IntoIterator,
        I::Item: Borrow<Path>,
    {
        let mut acc = Path::empty(space);
        for p in paths {
            acc.union_with(p.borrow())?;
        }
        Ok(acc)
    }

    /// Intersection of many paths of `space`; the empty intersection is the full path.
    pub fn intersection_all<I>(space: &Arc<PathSpace>, paths: I) -> Result<Path>
    where
        I: IntoIterator,
        I::Item: Borrow<Path>,
    {
        let mut acc = Path::full(space);
        for p in paths {
            acc.intersect_with(p.borrow())?;
        }
        Ok(acc)
    }
}

/// Cheap pointer check first, then a full comparison.
pub(crate) fn check_spaces(a: &Arc<PathSpace>, b: &Arc<PathSpace>) -> Result<()> {
    if Arc::ptr_eq(a, b) {
        Ok(())
    } else {
        a.check_same(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AlgebraError;
    use crate::kind::ElementKind;
    use crate::space::LayerSpace;

    fn space(fp: u8, n_out: usize) -> Arc<PathSpace> {
        Arc::new(
            PathSpace::new(
                [fp; 32],
                vec![
                    LayerSpace::dense("fc1", 70, n_out).unwrap(),
                    LayerSpace::max_pool2d("p", 1, [2, 2], [3, 3]).unwrap(),
                ],
            )
            .unwrap(),
        )
    }

    fn path(s: &Arc<PathSpace>, syn: &[usize]) -> Path {
        let mut p = Path::empty(s);
        p.insert_many(0, ElementKind::Synapse, syn).unwrap();
        p
    }

    #[test]
    fn basic_set_operations() {
        let s = space(1, 3);
        let a = path(&s, &[0, 64, 100, 209]);
        let b = path(&s, &[64, 100, 150]);
        let ones = |p: &Path| {
            p.layer(0)
                .unwrap()
                .iter_ones(ElementKind::Synapse)
                .collect::<Vec<_>>()
        };
        assert_eq!(ones(&a.union(&b).unwrap()), vec![0, 64, 100, 150, 209]);
        assert_eq!(ones(&a.intersection(&b).unwrap()), vec![64, 100]);
        assert_eq!(ones(&a.difference(&b).unwrap()), vec![0, 209]);
        assert_eq!(
            ones(&a.symmetric_difference(&b).unwrap()),
            vec![0, 150, 209]
        );
        assert!(a.intersection(&b).unwrap().is_subset(&a).unwrap());
        assert!(!a.is_subset(&b).unwrap());
        assert_eq!(
            Path::intersection_all(&s, [&a, &b]).unwrap(),
            a.intersection(&b).unwrap()
        );
        assert_eq!(
            Path::intersection_all(&s, Vec::<Path>::new()).unwrap(),
            Path::full(&s)
        );
        assert_eq!(
            Path::union_all(&s, vec![a.clone(), b.clone()]).unwrap(),
            a.union(&b).unwrap()
        );
    }

    #[test]
    fn equal_spaces_in_different_arcs_are_compatible() {
        let (s1, s2) = (space(1, 3), space(1, 3));
        let mut a = path(&s1, &[1]);
        a.union_with(&path(&s2, &[2])).unwrap();
        assert_eq!(a.counts().synapses, 2);
    }

    #[test]
    fn different_spaces_are_a_typed_error() {
        let a = path(&space(1, 3), &[1]);
        for other in [space(2, 3), space(1, 4)] {
            let b = Path::empty(&other);
            assert!(matches!(
                a.union(&b),
                Err(AlgebraError::SpaceMismatch { .. })
            ));
            let mut c = a.clone();
            assert!(c.intersect_with(&b).is_err());
            assert_eq!(c, a, "a failed operation leaves the path unchanged");
            assert!(Path::union_all(&space(1, 3), [&a, &b]).is_err());
        }
    }

    #[test]
    fn full_minus_itself_is_empty_and_padding_stays_clean() {
        let s = space(1, 3);
        let mut f = Path::full(&s);
        let comp = Path::full(&s).difference(&path(&s, &[5])).unwrap();
        assert_eq!(comp.counts().synapses, 209 + 36);
        f.symmetric_difference_with(&Path::full(&s)).unwrap();
        assert!(f.is_empty());
        for set in comp
            .layers
            .iter()
            .chain(Path::full(&s).layers.iter())
            .flat_map(|l| l.sets.iter())
        {
            let bits = set.to_bits();
            if bits.len() % 64 != 0 {
                let last = *bits.as_raw_slice().last().unwrap();
                assert_eq!(last >> (bits.len() % 64), 0);
            }
        }
    }
}
