//! Writing the binary format.

use std::io::{self, Write};

use sha2::{Digest, Sha256};

use super::{CHUNK_WORDS, FORMAT_VERSION, MAGIC};
use crate::bits;
use crate::error::Result;
use crate::kind::ElementKind;
use crate::path::Path;
use crate::space::PathSpace;

struct HashWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> HashWriter<W> {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.hasher.update(bytes);
        self.inner.write_all(bytes)
    }
}

pub(super) fn encode<'a, W: Write>(
    space: &PathSpace,
    content: u32,
    paths: impl ExactSizeIterator<Item = (u32, &'a Path)>,
    w: W,
) -> Result<()> {
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
    head.extend_from_slice(&(paths.len() as u64).to_le_bytes());
    let mut out = HashWriter {
        inner: w,
        hasher: Sha256::new(),
    };
    out.put(&head)?;
    let mut buf = Vec::with_capacity(CHUNK_WORDS * 8);
    for (label, path) in paths {
        buf.extend_from_slice(&label.to_le_bytes());
        for set in path.layers.iter().flat_map(|l| l.sets.iter()) {
            let dense = set.to_bits();
            for word in bits::masked_words(&dense) {
                buf.extend_from_slice(&word.to_le_bytes());
                if buf.len() >= CHUNK_WORDS * 8 {
                    out.put(&buf)?;
                    buf.clear();
                }
            }
        }
    }
    out.put(&buf)?;
    let digest = out.hasher.finalize();
    out.inner.write_all(&digest)?;
    out.inner.flush()?;
    Ok(())
}
