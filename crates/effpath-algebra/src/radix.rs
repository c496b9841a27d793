//! Sorting the element indices a path is built from: an LSD radix sort over just the bits the
//! space needs (three 11-bit passes for a 4-Gi-element synapse space), linear in the count —
//! a ResNet-50 path builds from about 3 M unsorted synapse indices.

/// Bits per radix digit (2,048 buckets: the counts stay in L1).
const DIGIT: u32 = 11;

/// Below this many indices a comparison sort is faster than the bucket passes.
const MIN_RADIX: usize = 2048;

/// Sorts `indices` (all `< len`) ascending and removes duplicates.
pub(crate) fn sort_dedup(indices: &mut Vec<usize>, len: usize) {
    let bits = usize::BITS - len.saturating_sub(1).leading_zeros();
    if indices.len() < MIN_RADIX || bits > 3 * DIGIT + DIGIT {
        indices.sort_unstable();
    } else {
        let mut from = std::mem::take(indices);
        let mut to = vec![0usize; from.len()];
        let mask = (1usize << DIGIT) - 1;
        let mut shift = 0;
        while shift < bits {
            let mut start = vec![0usize; 1 << DIGIT];
            for &i in &from {
                start[(i >> shift) & mask] += 1;
            }
            let mut acc = 0;
            for s in &mut start {
                let c = *s;
                *s = acc;
                acc += c;
            }
            for &i in &from {
                let d = (i >> shift) & mask;
                to[start[d]] = i;
                start[d] += 1;
            }
            std::mem::swap(&mut from, &mut to);
            shift += DIGIT;
        }
        *indices = from;
    }
    indices.dedup();
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Equal to sort + dedup, for spaces from tiny to 2⁴⁰ and counts on both sides of
        /// the radix threshold.
        #[test]
        fn radix_sort_equals_sort_unstable(
            log_len in 1u32..40,
            seed in proptest::collection::vec(proptest::num::u64::ANY, 1..6000),
        ) {
            let len = 1usize << log_len;
            let mut v: Vec<usize> = seed.iter().map(|&s| (s as usize) % len).collect();
            let mut want = v.clone();
            want.sort_unstable();
            want.dedup();
            sort_dedup(&mut v, len);
            proptest::prop_assert_eq!(v, want);
        }
    }
}
