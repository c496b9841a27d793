//! A test-only writer of the legacy format version 1 (the writer of effpath before v2:
//! `git show 6e42408:crates/effpath-algebra/src/format/encode.rs`), to check that v1 files
//! still load.

use effpath_algebra::format::{FORMAT_VERSION_V1, MAGIC};
use effpath_algebra::{ElementKind, Path, PathSpace};
use sha2::{Digest, Sha256};

fn header(space: &PathSpace, content: u32, n_paths: usize) -> Vec<u8> {
    let mut head = Vec::new();
    head.extend_from_slice(&MAGIC);
    head.extend_from_slice(&FORMAT_VERSION_V1.to_le_bytes());
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

/// The v1 bytes of labelled paths of `space` (content 1: one path labelled 0; 2: a set).
pub fn encode_v1<'a>(
    space: &PathSpace,
    content: u32,
    paths: impl IntoIterator<Item = (u32, &'a Path)>,
) -> Vec<u8> {
    let paths: Vec<_> = paths.into_iter().collect();
    let mut out = header(space, content, paths.len());
    for (label, path) in paths {
        out.extend_from_slice(&label.to_le_bytes());
        for l in path.layers() {
            for k in ElementKind::ALL {
                let set = l.set(k);
                let mut words = vec![0u64; set.len().div_ceil(64)];
                for i in set.iter() {
                    words[i / 64] |= 1 << (i % 64);
                }
                words
                    .iter()
                    .for_each(|w| out.extend_from_slice(&w.to_le_bytes()));
            }
        }
    }
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    out
}
