//! [`PathSetReader`]: one labelled path of a path-set file at a time.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use super::source::{Expect, Source, Stream, read_header};
use super::v2::{Entry, parse_body};
use super::{CONTENT_PATH_SET, FORMAT_VERSION_V1, v1, v2};
use crate::error::{AlgebraError, FilePart, Result};
use crate::kind::Fingerprint;
use crate::path::Path;
use crate::set::PathSet;
use crate::space::PathSpace;

enum Paths {
    /// Version 2: where each body is.
    Indexed(Vec<Entry>),
    /// Version 1 has no index: the whole file was read (and checked) at opening.
    Loaded(BTreeMap<u32, Path>),
}

/// Reads the paths of a path-set file one label at a time, without loading the others.
///
/// [`open`](Self::open) reads and checks the header and index (format v2: its own SHA-256,
/// labels, that the bodies exactly fill the rest of the input); [`read`](Self::read) then seeks
/// to one body and checks its own SHA-256, so a corrupted body is reported for its label while
/// the other labels still read. The path set starts at the reader's position when opened
/// (e.g. after the header of a containing file) and must end the input. A legacy v1 file has
/// no index: it is read and checked whole at opening.
///
/// ```
/// use std::io::Cursor;
/// use std::sync::Arc;
/// use effpath_algebra::{LayerSpace, Path, PathSet, PathSetReader, PathSpace};
/// let space = Arc::new(PathSpace::new([3; 32], vec![LayerSpace::dense("fc", 4, 2)?])?);
/// let mut p = Path::empty(&space);
/// p.insert_synapse(0, 5)?;
/// let set = PathSet::from_paths(&space, [(1, Path::full(&space)), (4, p.clone())])?;
/// let mut reader = PathSetReader::open_checked(Cursor::new(set.to_bytes()), [3; 32])?;
/// assert_eq!(reader.labels().collect::<Vec<_>>(), vec![1, 4]);
/// assert_eq!(reader.read(4)?, Some(p));
/// assert_eq!(reader.read(2)?, None);
/// # Ok::<(), effpath_algebra::AlgebraError>(())
/// ```
pub struct PathSetReader<R> {
    inner: R,
    base: u64,
    space: Arc<PathSpace>,
    version: u32,
    paths: Paths,
}

impl<R: Read + Seek> PathSetReader<R> {
    /// Opens a path-set file (any network).
    pub fn open(inner: R) -> Result<Self> {
        Self::open_with(inner, Expect::default())
    }

    /// Opens a path-set file, refusing files of another network
    /// ([`AlgebraError::FingerprintMismatch`]).
    pub fn open_checked(inner: R, expected: impl Into<Fingerprint>) -> Result<Self> {
        let expect = Expect {
            fingerprint: Some(expected.into()),
            space: None,
        };
        Self::open_with(inner, expect)
    }

    /// Opens a path-set file whose space must equal `space` (paths read share its `Arc`).
    pub fn open_in_space(inner: R, space: &Arc<PathSpace>) -> Result<Self> {
        let expect = Expect {
            fingerprint: None,
            space: Some(space),
        };
        Self::open_with(inner, expect)
    }

    fn open_with(mut inner: R, expect: Expect<'_>) -> Result<Self> {
        let base = inner.stream_position()?;
        let end = inner.seek(SeekFrom::End(0))?;
        inner.seek(SeekFrom::Start(base))?;
        let mut src = Source::new(Stream(&mut inner), Some(end.saturating_sub(base)));
        let (version, space, n_paths) = read_header(&mut src, CONTENT_PATH_SET, &expect)?;
        let paths = if version == FORMAT_VERSION_V1 {
            Paths::Loaded(v1::decode_paths(
                &mut src,
                &space,
                CONTENT_PATH_SET,
                n_paths,
            )?)
        } else {
            Paths::Indexed(v2::read_index(&mut src, &space, CONTENT_PATH_SET, n_paths)?)
        };
        Ok(PathSetReader {
            inner,
            base,
            space,
            version,
            paths,
        })
    }

    /// The path of `label` (`None` if the file has none), its body checked on its own.
    pub fn read(&mut self, label: u32) -> Result<Option<Path>> {
        let entries = match &self.paths {
            Paths::Loaded(paths) => return Ok(paths.get(&label).cloned()),
            Paths::Indexed(entries) => entries,
        };
        let Ok(i) = entries.binary_search_by_key(&label, |e| e.label) else {
            return Ok(None);
        };
        let e = entries[i];
        self.inner.seek(SeekFrom::Start(self.base + e.offset))?;
        let mut body = Vec::new();
        (&mut self.inner).take(e.len).read_to_end(&mut body)?;
        if (body.len() as u64) < e.len {
            return Err(AlgebraError::Truncated {
                what: FilePart::ShrunkBody { label },
                offset: e.offset + body.len() as u64,
            });
        }
        parse_body(&body, e.offset, &self.space, label).map(Some)
    }

    /// Reads every path (each body checked) into a [`PathSet`].
    pub fn read_all(&mut self) -> Result<PathSet> {
        let labels: Vec<u32> = self.labels().collect();
        let mut paths = BTreeMap::new();
        for label in labels {
            if let Some(p) = self.read(label)? {
                paths.insert(label, p);
            }
        }
        Ok(PathSet::from_checked(Arc::clone(&self.space), paths))
    }
}

impl<R> PathSetReader<R> {
    /// The path space of the file.
    pub fn space(&self) -> &Arc<PathSpace> {
        &self.space
    }

    /// The file's format version (1 or 2).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The labels of the file, ascending.
    pub fn labels(&self) -> Box<dyn Iterator<Item = u32> + '_> {
        match &self.paths {
            Paths::Indexed(entries) => Box::new(entries.iter().map(|e| e.label)),
            Paths::Loaded(paths) => Box::new(paths.keys().copied()),
        }
    }

    /// Number of labelled paths.
    pub fn len(&self) -> usize {
        match &self.paths {
            Paths::Indexed(entries) => entries.len(),
            Paths::Loaded(paths) => paths.len(),
        }
    }

    /// `true` if the file holds no path.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the file holds a path for `label`.
    pub fn contains(&self, label: u32) -> bool {
        match &self.paths {
            Paths::Indexed(entries) => entries.binary_search_by_key(&label, |e| e.label).is_ok(),
            Paths::Loaded(paths) => paths.contains_key(&label),
        }
    }

    /// The underlying reader.
    pub fn into_inner(self) -> R {
        self.inner
    }
}
