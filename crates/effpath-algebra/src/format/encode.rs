//! Writing the binary format (always the current version, 2).

use std::io::{self, BufWriter, Write};

use sha2::{Digest, Sha256};

use super::{CHUNK_WORDS, FORMAT_VERSION, INDEX_ENTRY_BYTES, MAGIC, TAG_DENSE, TAG_SPARSE};
use crate::bits;
use crate::elements::ElementSet;
use crate::error::Result;
use crate::kind::ElementKind;
use crate::path::Path;
use crate::space::PathSpace;

/// Hashes what it writes.
struct HashWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Bytes of one stored set: its tag, then the dense words or the blob length and blob.
fn set_len(set: &ElementSet) -> u64 {
    match set.treemap() {
        Some(map) => 1 + 8 + map.serialized_size() as u64,
        None => 1 + 8 * set.len().div_ceil(64) as u64,
    }
}

/// Bytes of one body: label, sets, checksum.
fn body_len(path: &Path) -> u64 {
    let sets: u64 = path
        .layers
        .iter()
        .flat_map(|l| l.sets.iter())
        .map(set_len)
        .sum();
    4 + sets + 32
}

fn write_set<W: Write>(set: &ElementSet, out: &mut W, buf: &mut Vec<u8>) -> io::Result<()> {
    if let Some(map) = set.treemap() {
        out.write_all(&[TAG_SPARSE])?;
        out.write_all(&(map.serialized_size() as u64).to_le_bytes())?;
        return map.serialize_into(out);
    }
    out.write_all(&[TAG_DENSE])?;
    let dense;
    let words = match set.as_bits() {
        Some(b) => b,
        None => {
            dense = set.to_bits();
            &dense[..]
        }
    };
    for word in bits::masked_words(words) {
        buf.extend_from_slice(&word.to_le_bytes());
        if buf.len() >= CHUNK_WORDS * 8 {
            out.write_all(buf)?;
            buf.clear();
        }
    }
    out.write_all(buf)?;
    buf.clear();
    Ok(())
}

fn header(space: &PathSpace, content: u32, n_paths: usize) -> Vec<u8> {
    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(&MAGIC);
    head.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    head.extend_from_slice(&content.to_le_bytes());
    head.extend_from_slice(&space.fingerprint().0);
    head.extend_from_slice(&(space.len() as u32).to_le_bytes());
    for l in space.layers() {
        head.extend_from_slice(&(l.name().len() as u32).to_le_bytes());
        head.extend_from_slice(l.name().as_bytes());
        head.push(l.kind().code());
        for k in ElementKind::ALL {
            head.push(l.shape(k).len() as u8);
            l.shape(k)
                .iter()
                .for_each(|&d| head.extend_from_slice(&(d as u64).to_le_bytes()));
        }
    }
    head.extend_from_slice(&(n_paths as u64).to_le_bytes());
    head
}

pub(super) fn encode<'a, W: Write>(
    space: &PathSpace,
    content: u32,
    paths: impl ExactSizeIterator<Item = (u32, &'a Path)>,
    w: W,
) -> Result<()> {
    let paths: Vec<(u32, &Path)> = paths.collect();
    let mut head = header(space, content, paths.len());
    let mut offset = (head.len() + 32) as u64 + INDEX_ENTRY_BYTES * paths.len() as u64;
    for &(label, path) in &paths {
        let len = body_len(path);
        head.extend_from_slice(&label.to_le_bytes());
        head.extend_from_slice(&offset.to_le_bytes());
        head.extend_from_slice(&len.to_le_bytes());
        offset += len;
    }
    let digest = Sha256::digest(&head);
    head.extend_from_slice(&digest);
    let mut out = BufWriter::with_capacity(1 << 16, w);
    out.write_all(&head)?;
    let mut buf = Vec::with_capacity(CHUNK_WORDS * 8);
    for (label, path) in paths {
        let mut body = HashWriter {
            inner: &mut out,
            hasher: Sha256::new(),
        };
        body.write_all(&label.to_le_bytes())?;
        for set in path.layers.iter().flat_map(|l| l.sets.iter()) {
            write_set(set, &mut body, &mut buf)?;
        }
        let digest = body.hasher.finalize();
        out.write_all(&digest)?;
    }
    out.flush()?;
    Ok(())
}
