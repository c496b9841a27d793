//! Reading format version 2: the index after the header, then one self-checked body per path,
//! each set tagged dense (words) or sparse (a Roaring treemap's portable serialization).

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::Arc;

use roaring::RoaringTreemap;
use sha2::{Digest, Sha256};

use super::source::{Input, Source, check_label, hex, too_large};
use super::v1::check_padding;
use super::{INDEX_ENTRY_BYTES, TAG_DENSE, TAG_SPARSE};
use crate::bits::Bits;
use crate::elements::ElementSet;
use crate::error::{
    AlgebraError, BodyPart, FilePart, FormatIssue, IndexField, Result, SparseDefect,
};
use crate::kind::ElementKind;
use crate::path::{LayerPath, Path};
use crate::space::PathSpace;

/// Bytes of a body besides its sets: the label and the SHA-256.
const BODY_OVERHEAD: u64 = 4 + 32;

/// One index entry: where the body of a label is.
#[derive(Debug, Clone, Copy)]
pub(super) struct Entry {
    pub(super) label: u32,
    /// From the start of the path file.
    pub(super) offset: u64,
    /// Including the body's checksum.
    pub(super) len: u64,
}

/// Largest serialized Roaring treemap of a subset of `0..size`: 8 bytes of partition count;
/// per 2^32-element partition 4 bytes of key and 8 of bitmap header; per 2^16-element container
/// 4 bytes of description, 4 of offset, at most 1 of run flags and at most 2 + 4 · 32768 bytes
/// of data (a run container of alternating runs).
fn max_blob_len(size: usize) -> u128 {
    let size = size as u128;
    8 + 12 * size.div_ceil(1 << 32) + (4 + 4 + 1 + 2 + 4 * 32768) * size.div_ceil(1 << 16)
}

/// Largest body of a path of `space` (the cap on declared body lengths).
pub(super) fn max_body_len(space: &PathSpace) -> u128 {
    let sets: u128 = space
        .layers()
        .iter()
        .flat_map(|l| ElementKind::ALL.map(|k| l.size(k)))
        .map(|size| 1 + (8 * size.div_ceil(64) as u128).max(8 + max_blob_len(size)))
        .sum();
    u128::from(BODY_OVERHEAD) + sets
}

/// Reads the index and the header checksum after the path count, then checks the entries:
/// ascending labels, bodies contiguous from the end of the header checksum to the end of the
/// input (when its length is known).
pub(super) fn read_index<R: Input>(
    src: &mut Source<R>,
    space: &PathSpace,
    content: u32,
    n_paths: u64,
) -> Result<Vec<Entry>> {
    let index_at = src.offset;
    // n_paths ≤ 2^24: no overflow.
    let index_len = n_paths * INDEX_ENTRY_BYTES + 32;
    if let Some(len) = src.len {
        let available = len - src.offset;
        if index_len > available {
            let what = FilePart::Index {
                paths: n_paths,
                declared: index_len,
                at: index_at,
                present: available,
            };
            return Err(AlgebraError::Truncated { what, offset: len });
        }
    }
    let capacity = if src.len.is_some() {
        n_paths
    } else {
        n_paths.min(4096)
    };
    let mut entries = Vec::with_capacity(capacity as usize);
    for i in 0..n_paths {
        let what = |field| move || FilePart::IndexEntry { entry: i, field };
        entries.push(Entry {
            label: u32::from_le_bytes(src.read(what(IndexField::Label))?),
            offset: u64::from_le_bytes(src.read(what(IndexField::BodyOffset))?),
            len: u64::from_le_bytes(src.read(what(IndexField::BodyLength))?),
        });
    }
    src.verify_checksum()?;
    let cap = max_body_len(space);
    let mut next = src.offset;
    let mut last = None;
    for (i, e) in entries.iter().enumerate() {
        let at = index_at + i as u64 * INDEX_ENTRY_BYTES;
        check_label(last, e.label, content, at)?;
        last = Some(e.label);
        let malformed = |issue| AlgebraError::Malformed { offset: at, issue };
        if e.offset != next {
            return Err(malformed(FormatIssue::BodyOffset {
                label: e.label,
                found: e.offset,
                expected: next,
            }));
        }
        if e.len < BODY_OVERHEAD {
            return Err(malformed(FormatIssue::BodyTooShort {
                label: e.label,
                len: e.len,
            }));
        }
        if u128::from(e.len) > cap {
            let limit = u64::try_from(cap).unwrap_or(u64::MAX);
            return Err(too_large("path body length", e.len, limit));
        }
        next = next
            .checked_add(e.len)
            .ok_or_else(|| malformed(FormatIssue::BodyEndOverflow { label: e.label }))?;
    }
    if let Some(len) = src.len {
        if next > len {
            let what = FilePart::Bodies {
                paths: n_paths,
                end: next,
                present: len,
            };
            return Err(AlgebraError::Truncated { what, offset: len });
        }
        if next < len {
            return Err(AlgebraError::TrailingBytes {
                offset: next,
                count: len - next,
            });
        }
    }
    Ok(entries)
}

/// Reads every body after the index.
pub(super) fn decode_paths<R: Input>(
    src: &mut Source<R>,
    space: &Arc<PathSpace>,
    index: &[Entry],
) -> Result<BTreeMap<u32, Path>> {
    let mut paths = BTreeMap::new();
    for e in index {
        let what = || FilePart::Body { label: e.label };
        let bytes = src.bytes(e.len, what)?;
        paths.insert(e.label, parse_body(&bytes, e.offset, space, e.label)?);
    }
    Ok(paths)
}

/// A cursor over a body whose checksum has been verified.
struct Body<'a> {
    data: &'a [u8],
    pos: usize,
    /// File offset of `data[0]`.
    at: u64,
    label: u32,
}

impl<'a> Body<'a> {
    fn offset(&self) -> u64 {
        self.at + self.pos as u64
    }

    fn take(&mut self, n: u64, part: BodyPart) -> Result<&'a [u8]> {
        let left = self.data.len() - self.pos;
        match usize::try_from(n) {
            Ok(n) if n <= left => {
                let out = &self.data[self.pos..self.pos + n];
                self.pos += n;
                Ok(out)
            }
            _ => Err(AlgebraError::Malformed {
                offset: self.offset(),
                issue: FormatIssue::BodyOverrun {
                    label: self.label,
                    part,
                    needs: n,
                    left,
                },
            }),
        }
    }

    fn array<const N: usize>(&mut self, part: BodyPart) -> Result<[u8; N]> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N as u64, part)?);
        Ok(out)
    }
}

/// Checks the body's checksum, then decodes its sets (`at`: the body's file offset).
pub(super) fn parse_body(
    bytes: &[u8],
    at: u64,
    space: &Arc<PathSpace>,
    label: u32,
) -> Result<Path> {
    let split = bytes.len().saturating_sub(32);
    let (data, stored) = bytes.split_at(split);
    let computed = Sha256::digest(data);
    if stored != &computed[..] {
        return Err(AlgebraError::BodyChecksumMismatch {
            label,
            offset: at + split as u64,
            stored: hex(stored),
            computed: hex(&computed),
        });
    }
    let mut body = Body {
        data,
        pos: 0,
        at,
        label,
    };
    let found = u32::from_le_bytes(body.array(BodyPart::Label)?);
    if found != label {
        return Err(AlgebraError::Malformed {
            offset: at,
            issue: FormatIssue::BodyLabel {
                found,
                expected: label,
            },
        });
    }
    let mut layers = Vec::with_capacity(space.len());
    for (i, l) in space.layers().iter().enumerate() {
        let mut sets: [ElementSet; 3] = Default::default();
        for k in ElementKind::ALL {
            sets[k.index()] = read_set(&mut body, i, k, l.size(k))?;
        }
        layers.push(LayerPath { sets });
    }
    let unused = body.data.len() - body.pos;
    if unused != 0 {
        return Err(AlgebraError::Malformed {
            offset: body.offset(),
            issue: FormatIssue::UnusedBodyBytes {
                label,
                count: unused,
            },
        });
    }
    Ok(Path::from_parts(Arc::clone(space), layers))
}

fn read_set(
    body: &mut Body<'_>,
    layer: usize,
    kind: ElementKind,
    size: usize,
) -> Result<ElementSet> {
    let at = body.offset();
    let [tag] = body.array::<1>(BodyPart::SetTag { layer, kind })?;
    match tag {
        TAG_DENSE => {
            let n_words = size.div_ceil(64);
            let raw = body.take(8 * n_words as u64, BodyPart::Words { layer, kind })?;
            let words = raw
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
                .collect();
            let mut b = Bits::from_vec(words);
            b.truncate(size);
            check_padding(body.label, layer, kind, &b)?;
            Ok(ElementSet::from_dense_bits(b))
        }
        TAG_SPARSE => {
            let blob_len = u64::from_le_bytes(body.array(BodyPart::BlobLength { layer, kind })?);
            let blob_at = body.offset();
            let blob = body.take(blob_len, BodyPart::Blob { layer, kind })?;
            let map = decode_blob(blob, size).map_err(|defect| AlgebraError::BadSparseSet {
                label: body.label,
                layer,
                kind,
                offset: blob_at,
                defect,
            })?;
            Ok(ElementSet::from_treemap(size, map))
        }
        tag => Err(AlgebraError::Malformed {
            offset: at,
            issue: FormatIssue::SetTag { layer, kind, tag },
        }),
    }
}

/// Checks that re-serializing gives exactly the stored bytes.
struct Compare<'a> {
    rest: &'a [u8],
    same: bool,
}

impl Write for Compare<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.rest.strip_prefix(buf) {
            Some(rest) if self.same => self.rest = rest,
            _ => self.same = false,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A Roaring treemap from its portable serialization, with every element `< size`, no empty
/// partition, and `blob` exactly its canonical serialization.
pub(super) fn decode_blob(blob: &[u8], size: usize) -> Result<RoaringTreemap, SparseDefect> {
    let mut r = blob;
    let map = RoaringTreemap::deserialize_from(&mut r).map_err(|e| SparseDefect::Roaring {
        kind: e.kind(),
        detail: e.to_string(),
    })?;
    if !r.is_empty() {
        return Err(SparseDefect::LengthMismatch {
            declared: blob.len() as u64,
            consumed: (blob.len() - r.len()) as u64,
        });
    }
    if let Some((high, _)) = map.bitmaps().find(|(_, b)| b.is_empty()) {
        return Err(SparseDefect::EmptyPartition { high });
    }
    if let Some(max) = map.max().filter(|&m| m >= size as u64) {
        return Err(SparseDefect::OutOfRange { max, size });
    }
    let mut cmp = Compare {
        rest: blob,
        same: map.serialized_size() == blob.len(),
    };
    if cmp.same {
        map.serialize_into(&mut cmp)
            .map_err(|_| SparseDefect::NotCanonical)?;
    }
    if !(cmp.same && cmp.rest.is_empty()) {
        return Err(SparseDefect::NotCanonical);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(map: &RoaringTreemap) -> Vec<u8> {
        let mut out = Vec::new();
        map.serialize_into(&mut out).unwrap();
        out
    }

    #[test]
    fn blobs_are_checked() {
        let map: RoaringTreemap = [3u64, 70_000, 1 << 33].into_iter().collect();
        let good = blob(&map);
        assert_eq!(decode_blob(&good, (1 << 33) + 1).unwrap(), map);
        assert_eq!(
            decode_blob(&good, 1 << 33),
            Err(SparseDefect::OutOfRange {
                max: 1 << 33,
                size: 1 << 33
            })
        );
        let mut long = good.clone();
        long.push(0);
        assert!(matches!(
            decode_blob(&long, usize::MAX),
            Err(SparseDefect::LengthMismatch { consumed, .. }) if consumed == good.len() as u64
        ));
        assert!(matches!(
            decode_blob(&good[..good.len() - 1], usize::MAX),
            Err(SparseDefect::Roaring {
                kind: io::ErrorKind::UnexpectedEof,
                ..
            })
        ));
        assert!(matches!(
            decode_blob(
                &[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4],
                usize::MAX
            ),
            Err(SparseDefect::Roaring { .. })
        ));
        // An empty partition: count 1, key 5, an empty bitmap (no-run cookie, 0 containers).
        let mut empty = 1u64.to_le_bytes().to_vec();
        empty.extend(5u32.to_le_bytes());
        empty.extend(12346u32.to_le_bytes());
        empty.extend(0u32.to_le_bytes());
        assert_eq!(
            decode_blob(&empty, usize::MAX),
            Err(SparseDefect::EmptyPartition { high: 5 })
        );
        // The same partition twice: decodes (the second replaces the first), not canonical.
        let one: RoaringTreemap = [7u64].into_iter().collect();
        let mut twice = 2u64.to_le_bytes().to_vec();
        for _ in 0..2 {
            twice.extend_from_slice(&blob(&one)[8..]);
        }
        assert_eq!(decode_blob(&twice, 100), Err(SparseDefect::NotCanonical));
        // An unused container offset changed: decodes, not canonical.
        let mut offsets = good.clone();
        let at = 8 + 4 + 8 + 2 * 4; // count, key, cookie + size, two descriptions
        offsets[at] ^= 1;
        assert_eq!(
            decode_blob(&offsets, usize::MAX),
            Err(SparseDefect::NotCanonical)
        );
    }

    #[test]
    fn caps_cover_the_largest_blobs() {
        // Alternating runs: the largest container.
        let mut map: RoaringTreemap = (0..1u64 << 16).step_by(2).collect();
        map.optimize();
        map.insert_range(1 << 17..(1 << 17) + 4000);
        map.optimize();
        let full: RoaringTreemap = (0..1u64 << 18).collect();
        for m in [&map, &full] {
            assert!(m.serialized_size() as u128 <= max_blob_len(1 << 18));
        }
    }
}
