//! Reading the legacy format version 1: every set as `⌈size/64⌉` dense words, one SHA-256 at
//! the end of the file. Loaded sets take the representation that fits their count
//! ([`ElementSet::from_bits`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::CHUNK_WORDS;
use super::source::{Input, Source, check_label};
use crate::bits::Bits;
use crate::elements::ElementSet;
use crate::error::{AlgebraError, FilePart, Result};
use crate::kind::ElementKind;
use crate::path::{LayerPath, Path};
use crate::space::PathSpace;

/// `n_bits` bits as `⌈n_bits/64⌉` words. For byte slices the size was checked against the
/// input already; for streams memory grows only as data arrives.
fn bitset<R: Input>(
    src: &mut Source<R>,
    n_bits: usize,
    what: impl Fn() -> FilePart,
) -> Result<Bits> {
    let n_words = n_bits.div_ceil(64);
    let capacity = if src.len.is_some() {
        n_words
    } else {
        n_words.min(CHUNK_WORDS)
    };
    let mut words = Vec::with_capacity(capacity);
    let mut buf = vec![0u8; n_words.min(CHUNK_WORDS) * 8];
    while words.len() < n_words {
        let take = (n_words - words.len()).min(CHUNK_WORDS) * 8;
        src.fill(&mut buf[..take], &what)?;
        words.extend(
            buf[..take]
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default())),
        );
    }
    let mut b = Bits::from_vec(words);
    b.truncate(n_bits);
    Ok(b)
}

/// For byte slices: the declared size of the rest must equal the bytes present — checked
/// before anything is allocated.
fn check_declared_size<R>(src: &Source<R>, space: &PathSpace, n_paths: u64) -> Result<()> {
    let Some(len) = src.len else { return Ok(()) };
    // ≤ 2^24 paths × (4 + 2^16 layers × 3 × 2^37 bytes) + 32: fits in u128.
    let words: u128 = space
        .layers()
        .iter()
        .flat_map(|l| ElementKind::ALL.map(|k| l.size(k).div_ceil(64) as u128))
        .sum();
    let path_bytes = 4 + 8 * words;
    let rest = u128::from(n_paths) * path_bytes + 32;
    let available = u128::from(len - src.offset);
    if rest > available {
        let what = FilePart::Paths {
            paths: n_paths,
            // ≤ 2^16 layers × 3 × 2^34 words: fits.
            path_bytes: u64::try_from(path_bytes).unwrap_or(u64::MAX),
            at: src.offset,
            present: len - src.offset,
        };
        return Err(AlgebraError::Truncated { what, offset: len });
    }
    if rest < available {
        return Err(AlgebraError::TrailingBytes {
            offset: src.offset + rest as u64,
            count: (available - rest) as u64,
        });
    }
    Ok(())
}

/// The decoded words of one path, checked for zero padding after the checksum (so that a
/// corrupted file is reported as such), then held in the representation that fits.
type RawPath = Vec<[Bits; 3]>;

fn read_path<R: Input>(src: &mut Source<R>, space: &PathSpace, label: u32) -> Result<RawPath> {
    let mut layers = Vec::with_capacity(space.len());
    for (i, l) in space.layers().iter().enumerate() {
        let mut sets: [Bits; 3] = Default::default();
        for k in ElementKind::ALL {
            let what = || FilePart::Bits {
                label,
                layer: i,
                name: l.name().to_owned(),
                kind: k,
            };
            sets[k.index()] = bitset(src, l.size(k), what)?;
        }
        layers.push(sets);
    }
    Ok(layers)
}

fn finish_path(space: &Arc<PathSpace>, label: u32, raw: RawPath) -> Result<Path> {
    let mut layers = Vec::with_capacity(raw.len());
    for (i, sets) in raw.into_iter().enumerate() {
        for k in ElementKind::ALL {
            check_padding(label, i, k, &sets[k.index()])?;
        }
        layers.push(LayerPath {
            sets: sets.map(ElementSet::from_bits),
        });
    }
    Ok(Path::from_parts(Arc::clone(space), layers))
}

/// Padding bits (past the length, in the last stored word) must be zero.
pub(super) fn check_padding(label: u32, layer: usize, kind: ElementKind, set: &Bits) -> Result<()> {
    let used = set.len() % 64;
    if used != 0 && set.as_raw_slice().last().is_some_and(|w| w >> used != 0) {
        return Err(AlgebraError::NonZeroPadding { label, layer, kind });
    }
    Ok(())
}

/// The paths of a v1 file, after its header and path count, through its checksum.
pub(super) fn decode_paths<R: Input>(
    src: &mut Source<R>,
    space: &Arc<PathSpace>,
    content: u32,
    n_paths: u64,
) -> Result<BTreeMap<u32, Path>> {
    check_declared_size(src, space, n_paths)?;
    let mut paths = BTreeMap::new();
    for _ in 0..n_paths {
        let offset = src.offset;
        let label = src.u32("a path label")?;
        check_label(
            paths.last_key_value().map(|(&l, _)| l),
            label,
            content,
            offset,
        )?;
        let path = read_path(src, space, label)?;
        paths.insert(label, path);
    }
    src.verify_checksum()?;
    paths
        .into_iter()
        .map(|(label, raw)| Ok((label, finish_path(space, label, raw)?)))
        .collect()
}
