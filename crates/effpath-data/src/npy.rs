//! `.npy` input/output of `f32`, `i64` and `u8` arrays of any rank, via the
//! `ndarray-npy` crate.
//!
//! Reading checks the header (magic, version, header length), the element type
//! and the declared size against the bytes present before allocating, so a
//! corrupt or mistyped file is an error, never a panic or a huge allocation.
//! Writing goes through [`write_atomic_with`], so no half-written file is ever
//! left at the destination.

use std::path::Path;

use ndarray::{ArrayBase, ArrayD, Data, Dimension};
use ndarray_npy::npy::header::Header;
use ndarray_npy::{ReadNpyExt, WriteNpyExt};

use crate::atomic::write_atomic_with;
use crate::error::{DataError, NpyHeaderIssue, Result};

mod sealed {
    /// Supertrait that closes [`NpyElement`](super::NpyElement) to this crate.
    pub trait Sealed: ndarray_npy::ReadableElement + ndarray_npy::WritableElement {}
    impl Sealed for f32 {}
    impl Sealed for i64 {}
    impl Sealed for u8 {}
}

/// Element types this module reads and writes: `f32`, `i64` and `u8`.
pub trait NpyElement: sealed::Sealed + Copy {
    /// The accepted `.npy` descriptors, as shown in errors (e.g. `"<f4 or >f4"`).
    const EXPECTED: &'static str;
    /// Size of one element in bytes.
    const SIZE: usize;
    /// Whether the header descriptor `descr` holds this type.
    fn accepts(descr: &str) -> bool;
}

impl NpyElement for f32 {
    const EXPECTED: &'static str = "<f4 or >f4";
    const SIZE: usize = 4;
    fn accepts(descr: &str) -> bool {
        matches!(descr, "<f4" | ">f4")
    }
}

impl NpyElement for i64 {
    const EXPECTED: &'static str = "<i8 or >i8";
    const SIZE: usize = 8;
    fn accepts(descr: &str) -> bool {
        matches!(descr, "<i8" | ">i8")
    }
}

impl NpyElement for u8 {
    const EXPECTED: &'static str = "|u1";
    const SIZE: usize = 1;
    fn accepts(descr: &str) -> bool {
        matches!(descr, "|u1" | "u1" | "B")
    }
}

/// Reads a `.npy` file of element type `T` and any rank.
///
/// ```
/// use effpath_data::{read_npy, write_npy};
/// use ndarray::{ArrayD, IxDyn};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.npy");
/// let a = ArrayD::<f32>::from_elem(IxDyn(&[2, 3, 4]), 0.5);
/// write_npy(&path, &a)?;
/// assert_eq!(read_npy::<f32>(&path)?, a);
/// // The wrong element type is an error, not a panic.
/// assert!(read_npy::<i64>(&path).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_npy<T: NpyElement>(path: impl AsRef<Path>) -> Result<ArrayD<T>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| DataError::io(path, source))?;
    decode_npy(&bytes, &path.display().to_string())
}

/// Decodes `.npy` bytes of element type `T`; `input` names them in errors.
pub fn decode_npy<T: NpyElement>(bytes: &[u8], input: &str) -> Result<ArrayD<T>> {
    let header_end = check_preamble(bytes, input)?;
    let mut rest = bytes;
    let header = Header::from_reader(&mut rest).map_err(|e| DataError::NpyRead {
        input: input.to_owned(),
        source: Box::new(e),
    })?;
    let descr = header.type_descriptor.as_string();
    if !descr.is_some_and(|d| T::accepts(d)) {
        return Err(DataError::NpyDtype {
            input: input.to_owned(),
            expected: T::EXPECTED,
            got: descr
                .cloned()
                .unwrap_or_else(|| header.type_descriptor.to_string()),
        });
    }
    let declared = header
        .shape
        .iter()
        .try_fold(T::SIZE, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| DataError::SizeOverflow {
            input: input.to_owned(),
            dims: header.shape.iter().map(|&d| d as u64).collect(),
        })?;
    let offset = header_end as u64;
    if rest.len() < declared {
        return Err(DataError::Truncated {
            input: input.to_owned(),
            offset,
            what: "array data",
            expected: declared as u64,
            got: rest.len() as u64,
        });
    }
    if rest.len() > declared {
        return Err(DataError::TrailingBytes {
            input: input.to_owned(),
            offset: offset + declared as u64,
            extra: (rest.len() - declared) as u64,
        });
    }
    ArrayD::<T>::read_npy(bytes).map_err(|e| DataError::NpyRead {
        input: input.to_owned(),
        source: Box::new(e),
    })
}

/// Atomically writes `array` (element type `T`, any rank) to `path` as `.npy`.
pub fn write_npy<T, S, D>(path: impl AsRef<Path>, array: &ArrayBase<S, D>) -> Result<()>
where
    T: NpyElement,
    S: Data<Elem = T>,
    D: Dimension,
{
    let path = path.as_ref();
    write_atomic_with(path, |w| {
        array.write_npy(w).map_err(|e| DataError::NpyWrite {
            path: path.to_owned(),
            source: Box::new(e),
        })
    })
}

/// Encodes `array` (element type `T`, any rank) as `.npy` bytes.
pub fn encode_npy<T, S, D>(array: &ArrayBase<S, D>) -> Result<Vec<u8>>
where
    T: NpyElement,
    S: Data<Elem = T>,
    D: Dimension,
{
    let mut out = Vec::new();
    array.write_npy(&mut out).map_err(|e| DataError::NpyWrite {
        path: "<memory>".into(),
        source: Box::new(e),
    })?;
    Ok(out)
}

/// Checks the fixed part of a `.npy` header (magic, version, header length)
/// and that the whole header is present; returns the offset where data starts.
fn check_preamble(bytes: &[u8], input: &str) -> Result<usize> {
    const MAGIC: &[u8; 6] = b"\x93NUMPY";
    let bad = |offset: u64, issue| DataError::NpyHeader {
        input: input.to_owned(),
        offset,
        issue,
    };
    let short = |offset: usize, what, expected: usize| DataError::Truncated {
        input: input.to_owned(),
        offset: offset as u64,
        what,
        expected: expected as u64,
        got: bytes.len().saturating_sub(offset) as u64,
    };
    let Some(head) = bytes.first_chunk::<8>() else {
        return Err(short(0, "npy magic and version", 8));
    };
    if let Some(found) = head.first_chunk::<6>().filter(|&found| found != MAGIC) {
        return Err(bad(0, NpyHeaderIssue::Magic { found: *found }));
    }
    let (len_field, start): (usize, usize) = match head[6] {
        1 => (2, 10),
        2 | 3 => (4, 12),
        v => {
            return Err(bad(
                6,
                NpyHeaderIssue::Version {
                    major: v,
                    minor: head[7],
                },
            ));
        }
    };
    let Some(len_bytes) = bytes.get(8..8 + len_field) else {
        return Err(short(8, "npy header length", len_field));
    };
    let header_len = len_bytes
        .iter()
        .rev()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    match start.checked_add(header_len) {
        Some(end) if end <= bytes.len() => Ok(end),
        _ => Err(short(start, "npy header", header_len)),
    }
}

#[cfg(test)]
#[path = "npy_tests.rs"]
mod tests;
