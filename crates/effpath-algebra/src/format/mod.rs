//! Compact binary format for a [`Path`] or a [`PathSet`].
//!
//! All integers are little-endian. This build writes version 2 and reads versions 1 and 2.
//!
//! # Version 2
//!
//! A header and an index (label → where that path's body is), checked by their own SHA-256,
//! then one body per path, each checked by its own SHA-256 — so that one path of a path-set
//! file can be read and verified without reading the others ([`PathSetReader`]). Each set is
//! stored as the path held it: dense words, or compressed (a Roaring treemap, a few bytes per
//! kept element), and is loaded back in the same representation (a file re-encodes to the
//! same bytes).
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic [`MAGIC`] = `b"EFPATH\0\x01"` |
//! | 4 | format version `u32` = [`FORMAT_VERSION`] = 2 |
//! | 4 | content `u32`: [`CONTENT_PATH`] (1) or [`CONTENT_PATH_SET`] (2) |
//! | 32 | network fingerprint |
//! | 4 | layer count `u32` (≤ [`MAX_LAYERS`](crate::MAX_LAYERS)) |
//! | per layer | name length `u32` (≤ [`MAX_NAME_LEN`](crate::MAX_NAME_LEN)), UTF-8 name, kind `u8` ([`LayerKind::code`](crate::LayerKind::code)), then for neurons, synapses, weights: rank `u8` (≤ [`MAX_RANK`](crate::MAX_RANK)) and `rank` × `u64` dimensions (rank 0 = absent space) |
//! | 8 | path count `u64` N (exactly 1 for a path file; ≤ [`MAX_PATHS`]) |
//! | 20 × N | index, one entry per path ([`INDEX_ENTRY_BYTES`]): label `u32` (0 in a path file; strictly ascending in a set file), body offset `u64` (from the first byte of the file), body length `u64` (including its checksum) |
//! | 32 | SHA-256 of every preceding byte (header and index) |
//! | per path | its body (below); bodies follow the index in index order without gaps, the last one ending the file |
//!
//! A body:
//!
//! | bytes | field |
//! |---|---|
//! | 4 | label `u32` (the index entry's) |
//! | per layer, for neurons, synapses, weights | tag `u8`, then: [`TAG_DENSE`] (0): `⌈size/64⌉` × `u64` words, bit `i` of the space = bit `i % 64` of word `i / 64`, padding bits zero; [`TAG_SPARSE`] (1): blob length `u64`, then the Roaring treemap's portable serialization ([`roaring::RoaringTreemap::serialize_into`]: partition count `u64`, then per partition its high 32 bits `u32` and a 32-bit Roaring bitmap in the standard portable format), in canonical form (exactly what `serialize_into` writes for the treemap it decodes to: no empty partition, ascending partitions), every element `< size` |
//! | 32 | SHA-256 of the body's preceding bytes |
//!
//! # Version 1 (legacy, read only)
//!
//! The same header up to and including the path count, then no index: per path, label `u32`
//! and, per layer, for neurons, synapses, weights, `⌈size/64⌉` × `u64` dense words (as the
//! dense sets of v2, without a tag); then one SHA-256 of every preceding byte. Loaded sets take
//! the representation that fits their count ([`ElementSet::from_bits`](crate::ElementSet::from_bits)).
//!
//! # Checks
//!
//! Loading checks, in order: magic, version (1 or 2; others are refused naming the version
//! found and those supported), content kind, optional expected fingerprint or space, header
//! caps, then for v2 the index size against the bytes available (byte slices and seekable
//! readers, before allocating), the header checksum, the index (label order, bodies contiguous,
//! each body length at most the largest body of the space, the bodies exactly filling the
//! input), then per body its checksum, its label, each set's tag and length against the bytes
//! left in the body, zero padding bits (dense), and for compressed sets that the Roaring
//! reader accepts the blob, consumes exactly its declared length, that it has no empty
//! partition, every element is `< size` (its maximum) and the blob is canonical. For v1:
//! the declared data size against the bytes available, the checksum, then the padding bits.
//! Streamed reads allocate only as data arrives. Every failure is a typed
//! [`AlgebraError`](crate::AlgebraError); no input makes the reader panic.

mod encode;
mod reader;
mod source;
mod v1;
mod v2;

use std::collections::BTreeMap;
use std::io::{Read, Seek, Write};
use std::sync::Arc;

use crate::error::Result;
use crate::kind::Fingerprint;
use crate::path::Path;
use crate::set::PathSet;
use crate::space::PathSpace;
use encode::encode;
pub use reader::PathSetReader;
use source::{Expect, Stream, decode};

/// The first 8 bytes of every path file.
pub const MAGIC: [u8; 8] = *b"EFPATH\0\x01";
/// The format version written by this build (the newest it reads).
pub const FORMAT_VERSION: u32 = 2;
/// The legacy format version 1 (dense words only, no index), still read.
pub const FORMAT_VERSION_V1: u32 = 1;
/// Content code of a single-path file.
pub const CONTENT_PATH: u32 = 1;
/// Content code of a path-set file.
pub const CONTENT_PATH_SET: u32 = 2;
/// Largest number of paths in a set file.
pub const MAX_PATHS: u64 = 1 << 24;
/// Bytes of one v2 index entry: label `u32`, body offset `u64`, body length `u64`.
pub const INDEX_ENTRY_BYTES: u64 = 20;
/// v2 set tag: dense words follow.
pub const TAG_DENSE: u8 = 0;
/// v2 set tag: a Roaring blob (length `u64`, then the blob) follows.
pub const TAG_SPARSE: u8 = 1;
/// Words read per chunk when streaming bit data.
const CHUNK_WORDS: usize = 8192;

fn single(mut paths: BTreeMap<u32, Path>) -> Path {
    // `decode` with CONTENT_PATH guarantees exactly one path, label 0.
    paths
        .remove(&0)
        .unwrap_or_else(|| unreachable!("a decoded path file holds path 0"))
}

impl Path {
    /// Write the path in the binary format (see the [module docs](crate::format)).
    pub fn write_to<W: Write>(&self, w: W) -> Result<()> {
        encode(&self.space, CONTENT_PATH, std::iter::once((0, self)), w)
    }

    /// The path in the binary format.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use effpath_algebra::{LayerSpace, Path, PathSpace};
    /// let space = Arc::new(PathSpace::new([5; 32], vec![LayerSpace::dense("fc", 3, 2)?])?);
    /// let mut p = Path::empty(&space);
    /// p.insert_synapse(0, 4)?;
    /// let bytes = p.to_bytes();
    /// assert_eq!(Path::from_bytes(&bytes)?, p);
    /// assert!(Path::load_checked(&bytes, [6; 32]).is_err());
    /// assert!(Path::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    /// # Ok::<(), effpath_algebra::AlgebraError>(())
    /// ```
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out)
            .unwrap_or_else(|_| unreachable!("writing to a Vec cannot fail"));
        out
    }

    /// Read a path file from a byte slice (no bytes may follow the checksum).
    pub fn from_bytes(bytes: &[u8]) -> Result<Path> {
        decode(
            bytes,
            Some(bytes.len() as u64),
            CONTENT_PATH,
            Expect::default(),
        )
        .map(|(_, p)| single(p))
    }

    /// Read a path file from a byte slice, refusing files of another network
    /// ([`AlgebraError::FingerprintMismatch`](crate::AlgebraError::FingerprintMismatch)).
    pub fn load_checked(bytes: &[u8], expected: impl Into<Fingerprint>) -> Result<Path> {
        let expect = Expect {
            fingerprint: Some(expected.into()),
            space: None,
        };
        decode(bytes, Some(bytes.len() as u64), CONTENT_PATH, expect).map(|(_, p)| single(p))
    }

    /// Read a path file whose space must equal `space`; the result shares `space`'s `Arc`.
    /// A file of another space is refused with
    /// [`AlgebraError::SpaceMismatch`](crate::AlgebraError::SpaceMismatch).
    pub fn load_in_space(bytes: &[u8], space: &Arc<PathSpace>) -> Result<Path> {
        let expect = Expect {
            fingerprint: None,
            space: Some(space),
        };
        decode(bytes, Some(bytes.len() as u64), CONTENT_PATH, expect).map(|(_, p)| single(p))
    }

    /// Read a path file from a stream. Reads exactly up to the end of the last body (v2) or
    /// the checksum (v1): trailing data is left unread; memory grows only as data arrives
    /// (for v2, one body is held as bytes while it is decoded). Wrap unbuffered readers in a
    /// `BufReader`.
    pub fn read_from<R: Read>(r: R) -> Result<Path> {
        decode(Stream(r), None, CONTENT_PATH, Expect::default()).map(|(_, p)| single(p))
    }
}

impl PathSet {
    /// Write the set in the binary format, paths in ascending label order.
    pub fn write_to<W: Write>(&self, w: W) -> Result<()> {
        let paths: Vec<(u32, &Path)> = self.iter().collect();
        encode(self.space(), CONTENT_PATH_SET, paths.into_iter(), w)
    }

    /// The set in the binary format.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out)
            .unwrap_or_else(|_| unreachable!("writing to a Vec cannot fail"));
        out
    }

    /// Read a path-set file from a byte slice.
    pub fn from_bytes(bytes: &[u8]) -> Result<PathSet> {
        decode(
            bytes,
            Some(bytes.len() as u64),
            CONTENT_PATH_SET,
            Expect::default(),
        )
        .map(|(s, p)| PathSet::from_checked(s, p))
    }

    /// Read a path-set file from a byte slice, refusing files of another network.
    pub fn load_checked(bytes: &[u8], expected: impl Into<Fingerprint>) -> Result<PathSet> {
        let expect = Expect {
            fingerprint: Some(expected.into()),
            space: None,
        };
        decode(bytes, Some(bytes.len() as u64), CONTENT_PATH_SET, expect)
            .map(|(s, p)| PathSet::from_checked(s, p))
    }

    /// Read a path-set file whose space must equal `space`; the result shares its `Arc`.
    pub fn load_in_space(bytes: &[u8], space: &Arc<PathSpace>) -> Result<PathSet> {
        let expect = Expect {
            fingerprint: None,
            space: Some(space),
        };
        decode(bytes, Some(bytes.len() as u64), CONTENT_PATH_SET, expect)
            .map(|(s, p)| PathSet::from_checked(s, p))
    }

    /// Read the path of one label from a path-set file without loading the others (see
    /// [`PathSetReader`], which reads several); `None` if the file has no path for `label`.
    /// With `expected`, a file of another network is refused.
    pub fn read_label<R: Read + Seek>(
        reader: R,
        label: u32,
        expected: Option<Fingerprint>,
    ) -> Result<Option<Path>> {
        let mut r = match expected {
            Some(fp) => PathSetReader::open_checked(reader, fp)?,
            None => PathSetReader::open(reader)?,
        };
        r.read(label)
    }

    /// Read a path-set file from a stream (see [`Path::read_from`]).
    pub fn read_from<R: Read>(r: R) -> Result<PathSet> {
        decode(Stream(r), None, CONTENT_PATH_SET, Expect::default())
            .map(|(s, p)| PathSet::from_checked(s, p))
    }
}
