//! Compact binary format for a [`Path`] or a [`PathSet`].
//!
//! All integers are little-endian. Layout (version 1):
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic [`MAGIC`] = `b"EFPATH\0\x01"` |
//! | 4 | format version `u32` = [`FORMAT_VERSION`] |
//! | 4 | content `u32`: [`CONTENT_PATH`] (1) or [`CONTENT_PATH_SET`] (2) |
//! | 32 | network fingerprint |
//! | 4 | layer count `u32` (≤ [`MAX_LAYERS`](crate::MAX_LAYERS)) |
//! | per layer | name length `u32` (≤ [`MAX_NAME_LEN`](crate::MAX_NAME_LEN)), UTF-8 name, kind `u8` ([`LayerKind::code`](crate::LayerKind::code)), then for neurons, synapses, weights: rank `u8` (≤ [`MAX_RANK`](crate::MAX_RANK)) and `rank` × `u64` dimensions (rank 0 = absent space) |
//! | 8 | path count `u64` (exactly 1 for a path file; ≤ [`MAX_PATHS`]) |
//! | per path | label `u32` (0 in a path file; strictly ascending in a set file), then per layer, for neurons, synapses, weights: `⌈size/64⌉` × `u64` words, bit `i` of the space = bit `i % 64` of word `i / 64`, padding bits zero |
//! | 32 | SHA-256 of every preceding byte |
//!
//! Loading checks, in order: magic, version (older and newer are both refused, naming both
//! versions), content kind, optional expected fingerprint or space, header caps, the declared
//! data size against the bytes available (for byte slices, before any allocation; readers
//! allocate only as data actually arrives), the checksum, then that padding bits are zero.
//! Every failure is a typed [`AlgebraError`](crate::AlgebraError); no input makes the reader
//! panic.

mod decode;
mod encode;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::Arc;

use crate::error::Result;
use crate::kind::Fingerprint;
use crate::path::Path;
use crate::set::PathSet;
use crate::space::PathSpace;
use decode::{Expect, decode};
use encode::encode;

/// The first 8 bytes of every path file.
pub const MAGIC: [u8; 8] = *b"EFPATH\0\x01";
/// The format version written and read by this build.
pub const FORMAT_VERSION: u32 = 1;
/// Content code of a single-path file.
pub const CONTENT_PATH: u32 = 1;
/// Content code of a path-set file.
pub const CONTENT_PATH_SET: u32 = 2;
/// Largest number of paths in a set file.
pub const MAX_PATHS: u64 = 1 << 24;
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

    /// Read a path file from a stream. Reads exactly up to the checksum (trailing data is
    /// left unread); memory grows only as data arrives. Wrap unbuffered readers in a
    /// `BufReader`.
    pub fn read_from<R: Read>(r: R) -> Result<Path> {
        decode(r, None, CONTENT_PATH, Expect::default()).map(|(_, p)| single(p))
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

    /// Read a path-set file from a stream (see [`Path::read_from`]).
    pub fn read_from<R: Read>(r: R) -> Result<PathSet> {
        decode(r, None, CONTENT_PATH_SET, Expect::default())
            .map(|(s, p)| PathSet::from_checked(s, p))
    }
}
