//! Reading the parts common to both format versions: the input abstraction, the hashing
//! source, the header (magic, version, content, fingerprint, layer spaces, path count) and
//! the dispatch to the version's decoder ([`super::v1`], [`super::v2`]).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::{CONTENT_PATH, FORMAT_VERSION, FORMAT_VERSION_V1, MAGIC, MAX_PATHS, v1, v2};
use crate::error::{AlgebraError, FilePart, FormatIssue, Result};
use crate::kind::{Fingerprint, LayerKind};
use crate::path::Path;
use crate::space::{LayerSpace, MAX_LAYERS, MAX_NAME_LEN, MAX_RANK, PathSpace};

/// A byte source that can hand out the next `n` bytes, borrowed when it can (byte slices) or
/// read into memory as they arrive (streams).
pub(super) trait Input: Read {
    /// The next `n` bytes; [`io::ErrorKind::UnexpectedEof`] if fewer remain.
    fn next_bytes(&mut self, n: usize) -> io::Result<Cow<'_, [u8]>>;
}

impl Input for &[u8] {
    fn next_bytes(&mut self, n: usize) -> io::Result<Cow<'_, [u8]>> {
        if n > self.len() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let (head, rest) = self.split_at(n);
        *self = rest;
        Ok(Cow::Borrowed(head))
    }
}

/// A stream: bytes are copied out, memory growing only as data arrives.
pub(super) struct Stream<R>(pub(super) R);

impl<R: Read> Read for Stream<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R: Read> Input for Stream<R> {
    fn next_bytes(&mut self, n: usize) -> io::Result<Cow<'_, [u8]>> {
        let mut out = Vec::new();
        (&mut self.0).take(n as u64).read_to_end(&mut out)?;
        if out.len() < n {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(Cow::Owned(out))
    }
}

/// A reader that hashes what it reads, counts the offset and knows, for byte slices, how many
/// bytes remain.
pub(super) struct Source<R> {
    pub(super) inner: R,
    pub(super) hasher: Sha256,
    pub(super) offset: u64,
    /// Total input length, when known (byte slices, seekable readers).
    pub(super) len: Option<u64>,
}

impl<R: Input> Source<R> {
    pub(super) fn new(inner: R, len: Option<u64>) -> Self {
        Source {
            inner,
            hasher: Sha256::new(),
            offset: 0,
            len,
        }
    }

    fn truncated(&self, what: FilePart) -> AlgebraError {
        AlgebraError::Truncated {
            what,
            offset: self.len.unwrap_or(self.offset),
        }
    }

    /// Fill `buf`, hashing it; an early end of input becomes [`AlgebraError::Truncated`]
    /// with the description made by `what` (only on failure).
    pub(super) fn fill(&mut self, buf: &mut [u8], what: impl FnOnce() -> FilePart) -> Result<()> {
        match self.inner.read_exact(buf) {
            Ok(()) => {
                self.hasher.update(&*buf);
                self.offset += buf.len() as u64;
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(self.truncated(what())),
            Err(e) => Err(e.into()),
        }
    }

    /// The next `n` bytes, not hashed (a v2 body, which has its own checksum).
    pub(super) fn bytes(
        &mut self,
        n: u64,
        what: impl FnOnce() -> FilePart,
    ) -> Result<Cow<'_, [u8]>> {
        let Ok(n_usize) = usize::try_from(n) else {
            return Err(self.truncated(what()));
        };
        let end = self.len.unwrap_or(u64::MAX);
        if self.offset.checked_add(n).is_none_or(|e| e > end) {
            return Err(self.truncated(what()));
        }
        match self.inner.next_bytes(n_usize) {
            Ok(b) => {
                self.offset += n;
                Ok(b)
            }
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(AlgebraError::Truncated {
                what: what(),
                offset: self.len.unwrap_or(self.offset),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// The next `N` bytes; `what` describes them if the input ends first.
    pub(super) fn read<const N: usize>(
        &mut self,
        what: impl FnOnce() -> FilePart,
    ) -> Result<[u8; N]> {
        let mut b = [0u8; N];
        self.fill(&mut b, what)?;
        Ok(b)
    }

    pub(super) fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N]> {
        self.read(|| FilePart::Field { what })
    }

    pub(super) fn u8(&mut self, what: &'static str) -> Result<u8> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(super) fn u32(&mut self, what: &'static str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub(super) fn u64(&mut self, what: &'static str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    pub(super) fn malformed(&self, issue: FormatIssue) -> AlgebraError {
        AlgebraError::Malformed {
            offset: self.offset,
            issue,
        }
    }

    /// Reads the stored SHA-256 and compares it with the hash of every byte read so far.
    pub(super) fn verify_checksum(&mut self) -> Result<()> {
        let offset = self.offset;
        let computed = std::mem::take(&mut self.hasher).finalize();
        let stored = self.array::<32>("the checksum")?;
        if stored[..] == computed[..] {
            return Ok(());
        }
        Err(AlgebraError::ChecksumMismatch {
            offset,
            stored: hex(&stored),
            computed: hex(&computed),
        })
    }
}

/// Lower-case hex of a digest.
pub(super) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// What the caller expects of the file.
#[derive(Default, Clone, Copy)]
pub(super) struct Expect<'a> {
    pub(super) fingerprint: Option<Fingerprint>,
    pub(super) space: Option<&'a Arc<PathSpace>>,
}

pub(super) fn too_large(what: &'static str, declared: u64, limit: u64) -> AlgebraError {
    AlgebraError::TooLarge {
        what,
        declared,
        limit,
    }
}

fn read_layer<R: Input>(src: &mut Source<R>, i: usize) -> Result<LayerSpace> {
    let name_len = src.u32("a layer name length")?;
    if name_len as usize > MAX_NAME_LEN {
        return Err(too_large(
            "layer name length",
            name_len.into(),
            MAX_NAME_LEN as u64,
        ));
    }
    let mut name = vec![0u8; name_len as usize];
    src.fill(&mut name, || FilePart::LayerName { layer: i })?;
    let name = String::from_utf8(name)
        .map_err(|_| src.malformed(FormatIssue::LayerNameUtf8 { layer: i }))?;
    let code = src.u8("a layer kind")?;
    let kind = LayerKind::from_code(code)
        .ok_or_else(|| src.malformed(FormatIssue::LayerKindCode { layer: i, code }))?;
    let mut shapes: [Vec<usize>; 3] = Default::default();
    for shape in &mut shapes {
        let rank = src.u8("a shape rank")?;
        if rank as usize > MAX_RANK {
            return Err(too_large("shape rank", rank.into(), MAX_RANK as u64));
        }
        for _ in 0..rank {
            let d = src.u64("a shape dimension")?;
            shape.push(
                usize::try_from(d)
                    .map_err(|_| too_large("shape dimension", d, usize::MAX as u64))?,
            );
        }
    }
    let [n, s, w] = shapes;
    LayerSpace::new(name, kind, n, s, w).map_err(|e| match e {
        AlgebraError::InvalidLayerSpace { name, reason } => {
            src.malformed(FormatIssue::LayerSpace {
                layer: i,
                name,
                issue: reason,
            })
        }
        other => other,
    })
}

/// The header common to both versions: magic, version, content kind, fingerprint, layer
/// spaces and the path count. Returns the version, the space and the path count.
pub(super) fn read_header<R: Input>(
    src: &mut Source<R>,
    content: u32,
    expect: &Expect<'_>,
) -> Result<(u32, Arc<PathSpace>, u64)> {
    let magic = src.array::<8>("the magic bytes")?;
    if magic != MAGIC {
        return Err(AlgebraError::BadMagic {
            found: magic,
            expected: MAGIC,
        });
    }
    let version = src.u32("the format version")?;
    if !(FORMAT_VERSION_V1..=FORMAT_VERSION).contains(&version) {
        return Err(AlgebraError::UnsupportedVersion {
            found: version,
            oldest: FORMAT_VERSION_V1,
            newest: FORMAT_VERSION,
        });
    }
    let found = src.u32("the content kind")?;
    if found != content {
        let expected_name = if content == CONTENT_PATH {
            "a single path"
        } else {
            "a path set"
        };
        return Err(AlgebraError::WrongContent {
            expected: content,
            expected_name,
            found,
        });
    }
    let fingerprint = Fingerprint(src.array("the fingerprint")?);
    if let Some(expected) = expect.fingerprint.filter(|&e| e != fingerprint) {
        return Err(AlgebraError::FingerprintMismatch {
            expected,
            found: fingerprint,
        });
    }
    let n_layers = src.u32("the layer count")?;
    if n_layers as usize > MAX_LAYERS {
        return Err(too_large("layer count", n_layers.into(), MAX_LAYERS as u64));
    }
    let layers = (0..n_layers as usize)
        .map(|i| read_layer(src, i))
        .collect::<Result<Vec<_>>>()?;
    let space = PathSpace::new(fingerprint, layers).map_err(|e| match e {
        AlgebraError::InvalidPathSpace { reason } => {
            src.malformed(FormatIssue::PathSpace { issue: reason })
        }
        other => other,
    })?;
    let space = match expect.space {
        Some(given) => {
            given.check_same(&space)?;
            Arc::clone(given)
        }
        None => Arc::new(space),
    };
    let n_paths = src.u64("the path count")?;
    if n_paths > MAX_PATHS {
        return Err(too_large("path count", n_paths, MAX_PATHS));
    }
    if content == CONTENT_PATH && n_paths != 1 {
        return Err(src.malformed(FormatIssue::PathCount { found: n_paths }));
    }
    Ok((version, space, n_paths))
}

/// Label rules: unique and ascending; 0 in a single-path file.
pub(super) fn check_label(last: Option<u32>, label: u32, content: u32, offset: u64) -> Result<()> {
    let issue = match last {
        Some(last) if last == label => return Err(AlgebraError::DuplicateLabel { label }),
        Some(previous) if previous > label => FormatIssue::LabelOrder { label, previous },
        _ if content == CONTENT_PATH && label != 0 => FormatIssue::PathLabel { found: label },
        _ => return Ok(()),
    };
    Err(AlgebraError::Malformed { offset, issue })
}

/// Reads a whole file of either version.
pub(super) fn decode<R: Input>(
    inner: R,
    len: Option<u64>,
    content: u32,
    expect: Expect<'_>,
) -> Result<(Arc<PathSpace>, BTreeMap<u32, Path>)> {
    let mut src = Source::new(inner, len);
    let (version, space, n_paths) = read_header(&mut src, content, &expect)?;
    let paths = if version == FORMAT_VERSION_V1 {
        v1::decode_paths(&mut src, &space, content, n_paths)?
    } else {
        let index = v2::read_index(&mut src, &space, content, n_paths)?;
        v2::decode_paths(&mut src, &space, &index)?
    };
    Ok((space, paths))
}
