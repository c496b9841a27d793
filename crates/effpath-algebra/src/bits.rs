//! Word-level counting helpers on `bitvec` slices.
//!
//! `bitvec` has no intersection-popcount, and the bits of its storage words past the slice
//! length (or before its start, for sliced views) are unspecified. These helpers zip the
//! storage words of two slices and mask the partial words, so they never allocate, never loop
//! per bit, and are correct for any length and any alignment:
//!
//! * fast path — both slices start at bit 0 of a word (every [`Bits`] held by a
//!   [`Path`](crate::Path) does): zip the whole words, then the masked last words;
//! * general path — sliced views starting mid-word: 64-bit chunks loaded with
//!   `BitField::load_le` (still word-level, somewhat slower).
//!
//! ```
//! use effpath_algebra::bits::{self, Bits};
//! let mut a = Bits::repeat(true, 100);
//! a.truncate(70); // storage bits 70..128 stay set: "dirty tail"
//! let b = Bits::repeat(true, 70);
//! assert_eq!(bits::intersection_count(&a, &b)?, 70);
//! assert_eq!(bits::intersection_count(&a[3..], &b[..67])?, 67); // unaligned view
//! # Ok::<(), effpath_algebra::AlgebraError>(())
//! ```

use bitvec::domain::Domain;
use bitvec::field::BitField;
use bitvec::order::Lsb0;
use bitvec::slice::BitSlice;
use bitvec::vec::BitVec;

use crate::error::{AlgebraError, Result};

/// The owned bitset type of a path element space: `u64` words, least significant bit first.
pub type Bits = BitVec<u64, Lsb0>;
/// The borrowed bitset type (a view into [`Bits`] or a sub-range of it).
pub type BitsSlice = BitSlice<u64, Lsb0>;

/// Whole words and the masked partial last word (0 if none) of a slice that starts at bit 0
/// of its first storage word; `None` for views starting mid-word.
fn aligned_words(bits: &BitsSlice) -> Option<(&[u64], u64)> {
    match bits.domain() {
        Domain::Region {
            head: None,
            body,
            tail,
        } => Some((body, tail.map_or(0, |t| t.load_value()))),
        _ => None,
    }
}

/// Call `f` on every pair of corresponding 64-bit words of two equally long slices, with
/// the padding of partial words zeroed (masked, or zero-extended by `load_le`).
fn zip_words(a: &BitsSlice, b: &BitsSlice, mut f: impl FnMut(u64, u64)) -> Result<()> {
    if a.len() != b.len() {
        return Err(AlgebraError::LengthMismatch {
            left: a.len(),
            right: b.len(),
        });
    }
    if let (Some((wa, ta)), Some((wb, tb))) = (aligned_words(a), aligned_words(b)) {
        wa.iter().zip(wb).for_each(|(&x, &y)| f(x, y));
        f(ta, tb);
    } else {
        a.chunks(64)
            .zip(b.chunks(64))
            .for_each(|(x, y)| f(x.load_le::<u64>(), y.load_le::<u64>()));
    }
    Ok(())
}

/// Popcount of `op(a_word, b_word)` over both slices; `op(0, 0)` must be 0.
fn fold_pair(a: &BitsSlice, b: &BitsSlice, op: impl Fn(u64, u64) -> u64) -> Result<usize> {
    let mut n = 0usize;
    zip_words(a, b, |x, y| n += op(x, y).count_ones() as usize)?;
    Ok(n)
}

/// `(|a|, |b|, |a ∩ b|)` in a single pass over both slices.
pub fn overlap_counts(a: &BitsSlice, b: &BitsSlice) -> Result<(usize, usize, usize)> {
    let (mut na, mut nb, mut ni) = (0usize, 0usize, 0usize);
    zip_words(a, b, |x, y| {
        na += x.count_ones() as usize;
        nb += y.count_ones() as usize;
        ni += (x & y).count_ones() as usize;
    })?;
    Ok((na, nb, ni))
}

/// Number of set bits (word-level, tail-safe, any alignment).
pub fn count_ones(bits: &BitsSlice) -> usize {
    match aligned_words(bits) {
        Some((body, tail)) => {
            body.iter().map(|w| w.count_ones() as usize).sum::<usize>() + tail.count_ones() as usize
        }
        None => bits
            .chunks(64)
            .map(|c| c.load_le::<u64>().count_ones() as usize)
            .sum(),
    }
}

/// `|a ∩ b|` without allocating; [`AlgebraError::LengthMismatch`] if the lengths differ.
pub fn intersection_count(a: &BitsSlice, b: &BitsSlice) -> Result<usize> {
    fold_pair(a, b, |x, y| x & y)
}

/// `|a ∪ b|` without allocating.
pub fn union_count(a: &BitsSlice, b: &BitsSlice) -> Result<usize> {
    fold_pair(a, b, |x, y| x | y)
}

/// `|a \ b|` without allocating.
pub fn difference_count(a: &BitsSlice, b: &BitsSlice) -> Result<usize> {
    fold_pair(a, b, |x, y| x & !y)
}

/// `|a △ b|` (symmetric difference) without allocating.
pub fn symmetric_difference_count(a: &BitsSlice, b: &BitsSlice) -> Result<usize> {
    fold_pair(a, b, |x, y| x ^ y)
}

/// `true` if every bit set in `a` is set in `b` (bits past the length are ignored).
pub fn is_subset(a: &BitsSlice, b: &BitsSlice) -> Result<bool> {
    Ok(difference_count(a, b)? == 0)
}

/// `true` if both slices hold the same bits (bits past the length are ignored).
pub fn bits_equal(a: &BitsSlice, b: &BitsSlice) -> Result<bool> {
    Ok(symmetric_difference_count(a, b)? == 0)
}

/// Make an owned bitset start at bit 0 of its first word and zero its padding bits — the
/// invariant of every bitset stored in a path (it makes `as_raw_slice` word `i` hold bits
/// `64·i .. 64·i + 64`).
pub(crate) fn normalize(bits: &mut Bits) {
    bits.force_align();
    bits.set_uninitialized(false);
}

/// `dst = op(dst, src)` word by word, then re-zero the padding of `dst`. Both must be
/// normalized and of equal length (checked by the callers).
pub(crate) fn combine_in_place(dst: &mut Bits, src: &Bits, op: impl Fn(u64, u64) -> u64) {
    debug_assert_eq!(dst.len(), src.len());
    debug_assert!(aligned_words(dst).is_some() && aligned_words(src).is_some());
    for (d, &s) in dst.as_raw_mut_slice().iter_mut().zip(src.as_raw_slice()) {
        *d = op(*d, s);
    }
    dst.set_uninitialized(false);
}

/// The `⌈len/64⌉` storage words of a normalized bitset with padding bits masked to zero.
pub(crate) fn masked_words(bits: &BitsSlice) -> impl Iterator<Item = u64> + '_ {
    let (body, tail) = aligned_words(bits).unwrap_or((&[], 0));
    debug_assert!(aligned_words(bits).is_some());
    let tail = (!bits.len().is_multiple_of(64)).then_some(tail);
    body.iter().copied().chain(tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &BitsSlice, b: &BitsSlice) -> usize {
        a.iter().zip(b.iter()).filter(|(x, y)| **x && **y).count()
    }

    #[test]
    fn dirty_tails_are_masked() {
        let mut a = Bits::repeat(true, 200);
        a.truncate(130);
        assert_eq!(
            a.as_raw_slice()[2] >> 2,
            u64::MAX >> 2,
            "bitvec left the tail dirty"
        );
        let b = Bits::repeat(true, 130);
        assert_eq!(intersection_count(&a, &b).unwrap(), 130);
        assert_eq!(count_ones(&a), 130);
        assert_eq!(difference_count(&a, &b).unwrap(), 0);
    }

    #[test]
    fn unaligned_views_match_the_naive_count() {
        let mut a = Bits::repeat(false, 300);
        let mut b = Bits::repeat(false, 300);
        for i in (0..300).step_by(3) {
            a.set(i, true);
        }
        for i in (0..300).step_by(5) {
            b.set(i, true);
        }
        for (lo_a, lo_b, len) in [
            (0, 0, 300),
            (1, 7, 200),
            (63, 64, 129),
            (5, 0, 64),
            (10, 10, 0),
            (2, 3, 17),
        ] {
            let (x, y) = (&a[lo_a..lo_a + len], &b[lo_b..lo_b + len]);
            assert_eq!(
                intersection_count(x, y).unwrap(),
                naive(x, y),
                "{lo_a} {lo_b} {len}"
            );
            assert_eq!(count_ones(x), x.iter().filter(|b| **b).count());
        }
        assert!(matches!(
            intersection_count(&a[1..], &b),
            Err(AlgebraError::LengthMismatch {
                left: 299,
                right: 300
            })
        ));
    }

    #[test]
    fn normalize_aligns_and_cleans() {
        let src = Bits::repeat(true, 100);
        let mut v = Bits::from_bitslice(&src[5..90]);
        normalize(&mut v);
        assert_eq!(v.len(), 85);
        assert!(aligned_words(&v).is_some());
        let words: Vec<u64> = masked_words(&v).collect();
        assert_eq!(words, vec![u64::MAX, (1u64 << 21) - 1]);
        assert_eq!(v.as_raw_slice()[1], (1u64 << 21) - 1);
    }

    #[test]
    fn combine_in_place_is_word_level_and_clean() {
        let mut a = Bits::repeat(false, 70);
        let mut b = Bits::repeat(true, 100);
        b.truncate(70);
        combine_in_place(&mut a, &b, |x, y| x | y);
        assert_eq!(a.as_raw_slice()[1], (1 << 6) - 1);
        assert_eq!(count_ones(&a), 70);
    }
}
