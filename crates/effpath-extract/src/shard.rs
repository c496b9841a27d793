//! [`Shard`]: one of N contiguous, near-equal parts of a data set — the unit of distributed
//! profiling (`effpath profile --shard I/N`, a Slurm array task, a Ray task), merged back with
//! [`ClassPaths::merge`](crate::ClassPaths::merge).

use std::ops::Range;
use std::str::FromStr;

use crate::error::{ExtractError, Result};

/// Part `index` of `count` (`0 ≤ index < count`), checked when made.
///
/// ```
/// use effpath_extract::Shard;
/// let parts: Vec<_> = (0..3).map(|i| Shard::new(i, 3).unwrap().range(10)).collect();
/// assert_eq!(parts, [0..3, 3..6, 6..10]);
/// assert_eq!("1/3".parse::<Shard>()?, Shard::new(1, 3)?);
/// assert!("3/3".parse::<Shard>().is_err());
/// # Ok::<(), effpath_extract::ExtractError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "ShardFields")]
pub struct Shard {
    index: usize,
    count: usize,
}

/// The serialised fields of a [`Shard`], checked by [`Shard::new`] when read.
#[derive(serde::Deserialize)]
struct ShardFields {
    index: usize,
    count: usize,
}

impl TryFrom<ShardFields> for Shard {
    type Error = ExtractError;

    fn try_from(f: ShardFields) -> Result<Shard> {
        Shard::new(f.index, f.count)
    }
}

impl Shard {
    /// Part `index` of `count`; errors unless `index < count`.
    pub fn new(index: usize, count: usize) -> Result<Shard> {
        if index >= count {
            return Err(ExtractError::Shard { index, count });
        }
        Ok(Shard { index, count })
    }

    /// Which part (0-based).
    pub fn index(self) -> usize {
        self.index
    }

    /// How many parts.
    pub fn count(self) -> usize {
        self.count
    }

    /// The items of this part of `0..n`: parts are contiguous, cover `0..n` in order, and
    /// their sizes differ by at most one (part `i` starts at `⌊i·n / count⌋`).
    pub fn range(self, n: usize) -> Range<usize> {
        let at = |i: usize| (i as u128 * n as u128 / self.count as u128) as usize;
        at(self.index)..at(self.index + 1)
    }
}

impl FromStr for Shard {
    type Err = ExtractError;

    /// Parses `I/N`, e.g. `0/4`.
    fn from_str(s: &str) -> Result<Shard> {
        let syntax = || ExtractError::ShardSyntax { text: s.to_owned() };
        let (i, n) = s.split_once('/').ok_or_else(syntax)?;
        let index = i.trim().parse().map_err(|_| syntax())?;
        let count = n.trim().parse().map_err(|_| syntax())?;
        Shard::new(index, count)
    }
}

#[cfg(test)]
mod tests {
    use super::Shard;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parts_tile_the_range_and_differ_by_at_most_one(n in 0usize..10_000, count in 1usize..64) {
            let ranges: Vec<_> = (0..count).map(|i| Shard::new(i, count).unwrap().range(n)).collect();
            prop_assert_eq!(ranges[0].start, 0);
            prop_assert_eq!(ranges[count - 1].end, n);
            for w in ranges.windows(2) {
                prop_assert_eq!(w[0].end, w[1].start);
            }
            let (lo, hi) = ranges.iter().map(|r| r.len()).fold((usize::MAX, 0), |(lo, hi), l| (lo.min(l), hi.max(l)));
            prop_assert!(hi - lo <= 1);
        }
    }

    #[test]
    fn bad_specs_are_refused_and_serde_checks() {
        for bad in ["", "1", "a/2", "2/2", "3/3", "0/0", "1/-2", "-1/2", "1/2/3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        let json = serde_json::to_string(&Shard::new(1, 4).unwrap()).unwrap();
        assert_eq!(
            serde_json::from_str::<Shard>(&json).unwrap(),
            Shard::new(1, 4).unwrap()
        );
        assert!(serde_json::from_str::<Shard>(r#"{"index":4,"count":4}"#).is_err());
    }
}
