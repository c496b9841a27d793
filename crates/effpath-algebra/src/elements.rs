//! [`ElementSet`]: the kept elements of one layer and element kind, in the representation that
//! fits their number — dense `bitvec` words, or a compressed Roaring bitmap
//! ([`roaring::RoaringTreemap`]) when few elements of a large space are kept.
//!
//! The choice is automatic and invisible to every operation: union, intersection, difference,
//! counts, equality and subset tests work on any mix of representations. A set of a space of
//! at most [`SMALL_SPACE_BITS`] elements is always dense. Otherwise a set is built sparse when
//! fewer than 1/32 of the space are kept (a Roaring array container spends 2 bytes per
//! element, so that is at most half of the dense size), turns dense as soon as it grows past
//! that, and turns sparse again only when an operation shrinks it below 1/128 (hysteresis, so
//! that repeated operations do not flip it back and forth). The number of kept elements is
//! cached, so counts are O(1) and an intersection count with a sparse operand costs
//! O(its elements), whatever the size of the space.
//!
//! ```
//! use effpath_algebra::{ElementSet, Representation};
//! let mut a = ElementSet::from_indices(1 << 20, vec![5, 70_000, 3, 5]);
//! assert_eq!((a.count(), a.representation()), (3, Representation::Sparse));
//! let b = ElementSet::full(1 << 20);
//! assert_eq!(a.intersection_count(&b)?, 3);
//! a.union_with(&b)?;
//! assert_eq!((a.count(), a.representation()), (1 << 20, Representation::Dense));
//! assert_eq!(ElementSet::from_indices(100, vec![1]).representation(), Representation::Dense);
//! # Ok::<(), effpath_algebra::AlgebraError>(())
//! ```

use std::fmt;

use roaring::RoaringTreemap;

use crate::bits::{self, Bits, BitsSlice};
use crate::error::{AlgebraError, Result};

/// Spaces of at most this many elements are always held dense (at most 512 bytes).
pub const SMALL_SPACE_BITS: usize = 4096;

/// How an [`ElementSet`] holds its elements (the rules are in the docs of [`ElementSet`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Representation {
    /// One bit per element of the space (`bitvec` words).
    Dense,
    /// The kept indices in a Roaring bitmap.
    Sparse,
}

#[derive(Clone)]
enum Repr {
    /// Normalized (see [`bits::normalize`]): starts at bit 0 of its first word, padding zero.
    Dense(Bits),
    Sparse(RoaringTreemap),
}

/// The kept elements of one element space (a subset of `0..len`), held dense (`bitvec`
/// words) or sparse (a Roaring bitmap) as fits their number: a space of at most
/// [`SMALL_SPACE_BITS`] elements is always dense; otherwise a set is built sparse below 1/32
/// of the space, turns dense as soon as it grows past that, and turns sparse again only when
/// an operation shrinks it below 1/128. Every operation works on any mix of the two.
#[derive(Clone)]
pub struct ElementSet {
    len: usize,
    count: usize,
    repr: Repr,
}

/// Whether a set of `count` elements of a space of `len` is built dense.
fn builds_dense(len: usize, count: usize) -> bool {
    len <= SMALL_SPACE_BITS || count >= len / 32
}

fn dense_zeros(len: usize) -> Bits {
    let mut b = Bits::repeat(false, len);
    bits::normalize(&mut b);
    b
}

impl ElementSet {
    /// The empty subset of `0..len`.
    pub fn empty(len: usize) -> Self {
        let repr = if len <= SMALL_SPACE_BITS {
            Repr::Dense(dense_zeros(len))
        } else {
            Repr::Sparse(RoaringTreemap::new())
        };
        ElementSet {
            len,
            count: 0,
            repr,
        }
    }

    /// All of `0..len` (dense).
    pub fn full(len: usize) -> Self {
        let mut b = Bits::repeat(true, len);
        bits::normalize(&mut b);
        ElementSet {
            len,
            count: len,
            repr: Repr::Dense(b),
        }
    }

    /// The set of the given indices of `0..len` (any order, repeats allowed; the caller
    /// guarantees every index is `< len` — checked in debug builds). Sorts the vector.
    pub fn from_indices(len: usize, mut indices: Vec<usize>) -> Self {
        debug_assert!(indices.iter().all(|&i| i < len));
        crate::radix::sort_dedup(&mut indices, len);
        let count = indices.len();
        let repr = if builds_dense(len, count) {
            let mut b = dense_zeros(len);
            for i in indices {
                b.set(i, true);
            }
            Repr::Dense(b)
        } else {
            let map = RoaringTreemap::from_sorted_iter(indices.into_iter().map(|i| i as u64))
                .unwrap_or_else(|_| unreachable!("the indices were sorted and deduplicated"));
            Repr::Sparse(map)
        };
        ElementSet { len, count, repr }
    }

    /// The set of the ones of a bitset (which may be sliced or truncated); its length is the
    /// space size. Becomes sparse when that fits its count.
    pub fn from_bits(mut b: Bits) -> Self {
        bits::normalize(&mut b);
        let count = bits::count_ones(&b);
        let mut s = ElementSet {
            len: b.len(),
            count,
            repr: Repr::Dense(b),
        };
        s.rebalance(true);
        s
    }

    /// A sparse set read from a file, kept sparse (as the writer held it, so that a file
    /// re-encodes to the same bytes); the caller has checked every index against `len`.
    pub(crate) fn from_treemap(len: usize, map: RoaringTreemap) -> Self {
        ElementSet {
            len,
            count: map.len() as usize,
            repr: Repr::Sparse(map),
        }
    }

    /// A dense set read from a file, kept dense (see [`Self::from_treemap`]); the caller has
    /// checked that the padding bits are zero.
    pub(crate) fn from_dense_bits(mut b: Bits) -> Self {
        bits::normalize(&mut b);
        ElementSet {
            len: b.len(),
            count: bits::count_ones(&b),
            repr: Repr::Dense(b),
        }
    }

    /// Size of the element space (not the number of kept elements: see [`Self::count`]).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Number of kept elements (cached: O(1)).
    pub fn count(&self) -> usize {
        self.count
    }

    /// `true` if nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// How the set is held now.
    pub fn representation(&self) -> Representation {
        match self.repr {
            Repr::Dense(_) => Representation::Dense,
            Repr::Sparse(_) => Representation::Sparse,
        }
    }

    /// The same set held in the given representation (for tests of representation mixes, and
    /// for callers who know their access pattern). Later operations may move it again (the
    /// rules are in the docs of [`ElementSet`]).
    pub fn with_representation(mut self, r: Representation) -> Self {
        self.repr = match (self.repr, r) {
            (Repr::Sparse(m), Representation::Dense) => Repr::Dense(sparse_to_bits(self.len, &m)),
            (Repr::Dense(b), Representation::Sparse) => Repr::Sparse(dense_to_sparse(&b)),
            (repr, _) => repr,
        };
        self
    }

    /// Heap bytes held by the set (dense words, or Roaring's serialized size, which tracks its
    /// in-memory size closely).
    pub fn heap_bytes(&self) -> usize {
        match &self.repr {
            Repr::Dense(b) => b.as_raw_slice().len() * 8,
            Repr::Sparse(m) => m.serialized_size(),
        }
    }

    /// The dense bitset, if the set is dense now.
    pub fn as_bits(&self) -> Option<&BitsSlice> {
        match &self.repr {
            Repr::Dense(b) => Some(b),
            Repr::Sparse(_) => None,
        }
    }

    /// The set as a dense bitset of length [`Self::len`] (a copy).
    pub fn to_bits(&self) -> Bits {
        match &self.repr {
            Repr::Dense(b) => b.clone(),
            Repr::Sparse(m) => sparse_to_bits(self.len, m),
        }
    }

    /// The Roaring treemap, if the set is sparse now.
    pub(crate) fn treemap(&self) -> Option<&RoaringTreemap> {
        match &self.repr {
            Repr::Dense(_) => None,
            Repr::Sparse(m) => Some(m),
        }
    }

    /// Whether index `i` is kept (`false` when out of range).
    pub fn contains(&self, i: usize) -> bool {
        match &self.repr {
            Repr::Dense(b) => b.get(i).is_some_and(|x| *x),
            Repr::Sparse(m) => i < self.len && m.contains(i as u64),
        }
    }

    /// The kept indices, ascending.
    pub fn iter(&self) -> Iter<'_> {
        match &self.repr {
            Repr::Dense(b) => Iter::Dense(DenseOnes::new(b)),
            Repr::Sparse(m) => Iter::Sparse(Box::new(m.iter())),
        }
    }

    fn check_len(&self, other: &ElementSet) -> Result<()> {
        if self.len == other.len {
            Ok(())
        } else {
            Err(AlgebraError::LengthMismatch {
                left: self.len,
                right: other.len,
            })
        }
    }

    /// Sets (`value = true`) or clears index `i` (`< len`, checked by the caller); returns
    /// whether the set changed.
    pub(crate) fn set(&mut self, i: usize, value: bool) -> bool {
        debug_assert!(i < self.len);
        let changed = match &mut self.repr {
            Repr::Dense(b) => b.replace(i, value) != value,
            Repr::Sparse(m) if value => m.insert(i as u64),
            Repr::Sparse(m) => m.remove(i as u64),
        };
        if changed {
            if value {
                self.count += 1;
            } else {
                self.count -= 1;
            }
            self.rebalance(false);
        }
        changed
    }

    /// Adds many indices (each `< len`, checked by the caller); returns whether any was new.
    pub(crate) fn insert_all(&mut self, indices: &[usize]) -> bool {
        let before = self.count;
        if self.is_empty() {
            *self = ElementSet::from_indices(self.len, indices.to_vec());
        } else if let Repr::Dense(b) = &mut self.repr {
            for &i in indices {
                if !b.replace(i, true) {
                    self.count += 1;
                }
            }
        } else {
            let other = ElementSet::from_indices(self.len, indices.to_vec());
            self.combine(&other, Op::Union);
        }
        self.count != before
    }

    /// Drops every element (keeps the representation's allocation when dense).
    pub(crate) fn clear(&mut self) {
        match &mut self.repr {
            Repr::Dense(b) => b.as_raw_mut_slice().fill(0),
            Repr::Sparse(m) => m.clear(),
        }
        self.count = 0;
    }

    /// `self ← self ∪ other`; errors if the spaces differ in size.
    pub fn union_with(&mut self, other: &ElementSet) -> Result<()> {
        self.check_len(other)?;
        self.combine(other, Op::Union);
        Ok(())
    }

    /// `self ← self ∩ other`.
    pub fn intersect_with(&mut self, other: &ElementSet) -> Result<()> {
        self.check_len(other)?;
        self.combine(other, Op::Intersection);
        Ok(())
    }

    /// `self ← self \ other`.
    pub fn difference_with(&mut self, other: &ElementSet) -> Result<()> {
        self.check_len(other)?;
        self.combine(other, Op::Difference);
        Ok(())
    }

    /// `self ← self △ other`.
    pub fn symmetric_difference_with(&mut self, other: &ElementSet) -> Result<()> {
        self.check_len(other)?;
        self.combine(other, Op::SymmetricDifference);
        Ok(())
    }

    /// `(|self|, |other|, |self ∩ other|)`; O(min sparse count) when either is sparse.
    pub fn overlap_counts(&self, other: &ElementSet) -> Result<(usize, usize, usize)> {
        Ok((self.count, other.count, self.intersection_count(other)?))
    }

    /// `|self ∩ other|` without allocating.
    pub fn intersection_count(&self, other: &ElementSet) -> Result<usize> {
        self.check_len(other)?;
        Ok(match (&self.repr, &other.repr) {
            (Repr::Dense(a), Repr::Dense(b)) => bits::intersection_count(a, b)?,
            (Repr::Sparse(a), Repr::Sparse(b)) => a.intersection_len(b) as usize,
            (Repr::Dense(d), Repr::Sparse(s)) | (Repr::Sparse(s), Repr::Dense(d)) => {
                s.iter().filter(|&i| d[i as usize]).count()
            }
        })
    }

    /// `true` if every element of `self` is in `other`.
    pub fn is_subset(&self, other: &ElementSet) -> Result<bool> {
        self.check_len(other)?;
        if self.count > other.count {
            return Ok(false);
        }
        Ok(self.intersection_count(other)? == self.count)
    }

    fn combine(&mut self, other: &ElementSet, op: Op) {
        let repr = std::mem::replace(&mut self.repr, Repr::Sparse(RoaringTreemap::new()));
        self.repr = match (repr, &other.repr) {
            (Repr::Dense(mut a), Repr::Dense(b)) => {
                bits::combine_in_place(&mut a, b, op.word());
                Repr::Dense(a)
            }
            (Repr::Sparse(mut a), Repr::Sparse(b)) => {
                match op {
                    Op::Union => a |= b,
                    Op::Intersection => a &= b,
                    Op::Difference => a -= b,
                    Op::SymmetricDifference => a ^= b,
                }
                Repr::Sparse(a)
            }
            (Repr::Dense(mut d), Repr::Sparse(s)) => match op {
                Op::Union => {
                    s.iter().for_each(|i| d.set(i as usize, true));
                    Repr::Dense(d)
                }
                Op::Intersection => {
                    let mut kept = s.clone();
                    kept.retain(|i| d[i as usize]);
                    Repr::Sparse(kept)
                }
                Op::Difference => {
                    s.iter().for_each(|i| d.set(i as usize, false));
                    Repr::Dense(d)
                }
                Op::SymmetricDifference => {
                    s.iter().for_each(|i| {
                        let v = d[i as usize];
                        d.set(i as usize, !v);
                    });
                    Repr::Dense(d)
                }
            },
            (Repr::Sparse(mut s), Repr::Dense(d)) => match op {
                Op::Union | Op::SymmetricDifference => {
                    let mut out = d.clone();
                    for i in s.iter() {
                        let v = out[i as usize];
                        out.set(i as usize, op == Op::Union || !v);
                    }
                    Repr::Dense(out)
                }
                Op::Intersection => {
                    s.retain(|i| d[i as usize]);
                    Repr::Sparse(s)
                }
                Op::Difference => {
                    s.retain(|i| !d[i as usize]);
                    Repr::Sparse(s)
                }
            },
        };
        self.count = match &self.repr {
            Repr::Dense(b) => bits::count_ones(b),
            Repr::Sparse(m) => m.len() as usize,
        };
        self.rebalance(op != Op::Union);
    }

    /// Moves to the representation that fits the count: dense past 1/32 of the space; back to
    /// sparse below 1/128 only when `shrunk` (after an operation that can remove elements).
    fn rebalance(&mut self, shrunk: bool) {
        if self.len <= SMALL_SPACE_BITS {
            if let Repr::Sparse(m) = &self.repr {
                self.repr = Repr::Dense(sparse_to_bits(self.len, m));
            }
            return;
        }
        match &self.repr {
            Repr::Sparse(m) if self.count >= self.len / 32 => {
                self.repr = Repr::Dense(sparse_to_bits(self.len, m));
            }
            Repr::Dense(b) if shrunk && self.count < self.len / 128 => {
                self.repr = Repr::Sparse(dense_to_sparse(b));
            }
            Repr::Sparse(_) | Repr::Dense(_) => {}
        }
    }
}

fn dense_to_sparse(b: &Bits) -> RoaringTreemap {
    RoaringTreemap::from_sorted_iter(DenseOnes::new(b).map(|i| i as u64))
        .unwrap_or_else(|_| unreachable!("set bits come in ascending order"))
}

fn sparse_to_bits(len: usize, m: &RoaringTreemap) -> Bits {
    let mut b = dense_zeros(len);
    m.iter().for_each(|i| b.set(i as usize, true));
    b
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Intersection,
    Difference,
    SymmetricDifference,
}

impl Op {
    fn word(self) -> fn(u64, u64) -> u64 {
        match self {
            Op::Union => |x, y| x | y,
            Op::Intersection => |x, y| x & y,
            Op::Difference => |x, y| x & !y,
            Op::SymmetricDifference => |x, y| x ^ y,
        }
    }
}

/// The empty set of an empty space.
impl Default for ElementSet {
    fn default() -> Self {
        ElementSet::empty(0)
    }
}

/// Equal when the same elements of equally large spaces are kept, whatever the representation.
impl PartialEq for ElementSet {
    fn eq(&self, other: &ElementSet) -> bool {
        self.len == other.len
            && self.count == other.count
            && self.intersection_count(other).ok() == Some(self.count)
    }
}

impl Eq for ElementSet {}

impl fmt::Debug for ElementSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} ({:?})",
            self.count,
            self.len,
            self.representation()
        )
    }
}

/// Ascending set bits of a normalized dense bitset, word by word.
pub struct DenseOnes<'a> {
    words: &'a [u64],
    index: usize,
    word: u64,
}

impl<'a> DenseOnes<'a> {
    /// `b` is normalized: its raw words hold exactly its bits, padding zero.
    fn new(b: &'a Bits) -> Self {
        let words = b.as_raw_slice();
        DenseOnes {
            words,
            index: 0,
            word: words.first().copied().unwrap_or(0),
        }
    }
}

impl Iterator for DenseOnes<'_> {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        loop {
            if self.word != 0 {
                let bit = self.word.trailing_zeros() as usize;
                self.word &= self.word - 1;
                return Some(self.index * 64 + bit);
            }
            self.index += 1;
            self.word = *self.words.get(self.index)?;
        }
    }
}

/// Iterator over the kept indices of an [`ElementSet`], ascending.
pub enum Iter<'a> {
    /// Over a dense set.
    Dense(DenseOnes<'a>),
    /// Over a sparse set.
    Sparse(Box<roaring::treemap::Iter<'a>>),
}

impl Iterator for Iter<'_> {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        match self {
            Iter::Dense(d) => d.next(),
            Iter::Sparse(s) => s.next().map(|i| i as usize),
        }
    }
}
