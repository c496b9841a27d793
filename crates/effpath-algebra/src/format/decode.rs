//! Reading the binary format, with every check of the module docs.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::{CHUNK_WORDS, CONTENT_PATH, FORMAT_VERSION, MAGIC, MAX_PATHS};
use crate::bits::Bits;
use crate::elements::ElementSet;
use crate::error::{AlgebraError, Result};
use crate::kind::{ElementKind, Fingerprint, LayerKind};
use crate::path::{LayerPath, Path};
use crate::space::{LayerSpace, MAX_LAYERS, MAX_NAME_LEN, MAX_RANK, PathSpace};

/// bytes remain.
struct Source<R> {
    inner: R,
    hasher: Sha256,
    offset: u64,
    /// Total input length, when known (byte slices).
    len: Option<u64>,
}

impl<R: Read> Source<R> {
    /// Fill `buf`, hashing it; an early end of input becomes [`AlgebraError::Truncated`]
    /// with the description made by `what` (only on failure).
    fn fill(&mut self, buf: &mut [u8], what: impl FnOnce() -> String) -> Result<()> {
        match self.inner.read_exact(buf) {
            Ok(()) => {
                self.hasher.update(&*buf);
                self.offset += buf.len() as u64;
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(AlgebraError::Truncated {
                what: what(),
                offset: self.len.unwrap_or(self.offset),
            }),
            Err(e) => Err(e.into()),
        }
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let mut b = [0u8; N];
        self.fill(&mut b, || what.to_owned())?;
        Ok(b)
    }

    fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn malformed(&self, reason: String) -> AlgebraError {
        AlgebraError::Malformed {
            offset: self.offset,
            reason,
        }
    }

    /// `n_bits` bits as `⌈n_bits/64⌉` words. For byte slices the size was checked against
    /// the input already; for streams memory grows only as data arrives.
    fn bitset(&mut self, n_bits: usize, what: impl Fn() -> String) -> Result<Bits> {
        let n_words = n_bits.div_ceil(64);
        let capacity = if self.len.is_some() {
            n_words
        } else {
            n_words.min(CHUNK_WORDS)
        };
        let mut words = Vec::with_capacity(capacity);
        let mut buf = vec![0u8; n_words.min(CHUNK_WORDS) * 8];
        while words.len() < n_words {
            let take = (n_words - words.len()).min(CHUNK_WORDS) * 8;
            self.fill(&mut buf[..take], &what)?;
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
}

/// What the caller expects of the file.
#[derive(Default)]
pub(super) struct Expect<'a> {
    pub(super) fingerprint: Option<Fingerprint>,
    pub(super) space: Option<&'a Arc<PathSpace>>,
}

fn too_large(what: &'static str, declared: u64, limit: u64) -> AlgebraError {
    AlgebraError::TooLarge {
        what,
        declared,
        limit,
    }
}

fn read_layer<R: Read>(src: &mut Source<R>, i: usize) -> Result<LayerSpace> {
    let name_len = src.u32("a layer name length")?;
    if name_len as usize > MAX_NAME_LEN {
        return Err(too_large(
            "layer name length",
            name_len.into(),
            MAX_NAME_LEN as u64,
        ));
    }
    let mut name = vec![0u8; name_len as usize];
    src.fill(&mut name, || format!("the name of layer {i}"))?;
    let name = String::from_utf8(name)
        .map_err(|_| src.malformed(format!("layer {i}: name is not UTF-8")))?;
    let code = src.u8("a layer kind")?;
    let kind = LayerKind::from_code(code)
        .ok_or_else(|| src.malformed(format!("layer {i}: unknown layer kind code {code}")))?;
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
    LayerSpace::new(name, kind, n, s, w).map_err(|e| src.malformed(format!("layer {i}: {e}")))
}

/// Magic, version, content kind, fingerprint and layer spaces.
fn read_header<R: Read>(
    src: &mut Source<R>,
    content: u32,
    expect: &Expect<'_>,
) -> Result<Arc<PathSpace>> {
    let magic = src.array::<8>("the magic bytes")?;
    if magic != MAGIC {
        return Err(AlgebraError::BadMagic {
            found: magic,
            expected: MAGIC,
        });
    }
    let version = src.u32("the format version")?;
    if version != FORMAT_VERSION {
        return Err(AlgebraError::UnsupportedVersion {
            found: version,
            supported: FORMAT_VERSION,
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
    let space = PathSpace::new(fingerprint, layers).map_err(|e| src.malformed(e.to_string()))?;
    match expect.space {
        Some(given) => {
            given.check_same(&space)?;
            Ok(Arc::clone(given))
        }
        None => Ok(Arc::new(space)),
    }
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
    let rest = u128::from(n_paths) * (4 + 8 * words) + 32;
    let available = u128::from(len - src.offset);
    if rest > available {
        let what = format!(
            "{n_paths} path(s): {rest} bytes declared after byte {}, {available} present",
            src.offset
        );
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

/// Label rules: unique and ascending; 0 in a single-path file.
fn check_label(last: Option<u32>, label: u32, content: u32, offset: u64) -> Result<()> {
    let reason = match last {
        Some(last) if last == label => return Err(AlgebraError::DuplicateLabel { label }),
        Some(last) if last > label => format!("label {label} after {last}: not ascending"),
        _ if content == CONTENT_PATH && label != 0 => {
            format!("a path file has label 0, found {label}")
        }
        _ => return Ok(()),
    };
    Err(AlgebraError::Malformed { offset, reason })
}

fn read_path<R: Read>(src: &mut Source<R>, space: &Arc<PathSpace>, label: u32) -> Result<RawPath> {
    let mut layers = Vec::with_capacity(space.len());
    for (i, l) in space.layers().iter().enumerate() {
        let mut sets: [Bits; 3] = Default::default();
        for k in ElementKind::ALL {
            let what = || format!("path {label}, layer {i} (`{}`), {k} bits", l.name());
            sets[k.index()] = src.bitset(l.size(k), what)?;
        }
        layers.push(sets);
    }
    Ok(layers)
}

/// The decoded words of one path, checked for zero padding after the checksum (so that a
/// corrupted file is reported as such), then held in the representation that fits.
type RawPath = Vec<[Bits; 3]>;

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

fn verify_checksum<R: Read>(src: &mut Source<R>) -> Result<()> {
    let offset = src.offset;
    let computed = std::mem::take(&mut src.hasher).finalize();
    let stored = src.array::<32>("the checksum")?;
    if stored[..] == computed[..] {
        return Ok(());
    }
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    Err(AlgebraError::ChecksumMismatch {
        offset,
        stored: hex(&stored),
        computed: hex(&computed),
    })
}

fn check_padding(label: u32, layer: usize, kind: ElementKind, set: &Bits) -> Result<()> {
    let used = set.len() % 64;
    if used != 0 && set.as_raw_slice().last().is_some_and(|w| w >> used != 0) {
        return Err(AlgebraError::NonZeroPadding { label, layer, kind });
    }
    Ok(())
}

pub(super) fn decode<R: Read>(
    inner: R,
    len: Option<u64>,
    content: u32,
    expect: Expect<'_>,
) -> Result<(Arc<PathSpace>, BTreeMap<u32, Path>)> {
    let mut src = Source {
        inner,
        hasher: Sha256::new(),
        offset: 0,
        len,
    };
    let space = read_header(&mut src, content, &expect)?;
    let n_paths = src.u64("the path count")?;
    if n_paths > MAX_PATHS {
        return Err(too_large("path count", n_paths, MAX_PATHS));
    }
    if content == CONTENT_PATH && n_paths != 1 {
        return Err(src.malformed(format!("a path file holds exactly 1 path, found {n_paths}")));
    }
    check_declared_size(&src, &space, n_paths)?;
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
        let path = read_path(&mut src, &space, label)?;
        paths.insert(label, path);
    }
    verify_checksum(&mut src)?;
    let paths = paths
        .into_iter()
        .map(|(label, raw)| Ok((label, finish_path(&space, label, raw)?)))
        .collect::<Result<_>>()?;
    Ok((space, paths))
}
