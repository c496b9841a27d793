//! `.npz` archives (NumPy's `np.savez` format: a zip of `.npy` files, stored uncompressed) of
//! `f32`, `i64` and `u8` arrays, via the `ndarray-npy` crate.
//!
//! Writing goes through [`write_atomic_with`], so no half-written archive is ever left at
//! the destination. Write errors are reported as [`DataError::NpyWrite`], read errors as
//! [`DataError::NpyRead`] (or [`DataError::Io`] when the file cannot be opened).

use std::path::Path;

use ndarray::{ArrayD, ArrayViewD};
use ndarray_npy::{NpzReader, NpzWriter};

use crate::atomic::write_atomic_with;
use crate::error::{DataError, Result};
use crate::npy::NpyElement;

/// One array of an `.npz` archive, borrowed: `f32`, `i64` or `u8`, any rank.
///
/// Built with `From` from an [`ArrayViewD`] of one of those element types.
#[derive(Debug, Clone)]
pub enum NpzArray<'a> {
    /// A `float32` array.
    F32(ArrayViewD<'a, f32>),
    /// An `int64` array.
    I64(ArrayViewD<'a, i64>),
    /// A `uint8` array.
    U8(ArrayViewD<'a, u8>),
}

impl<'a> From<ArrayViewD<'a, f32>> for NpzArray<'a> {
    fn from(a: ArrayViewD<'a, f32>) -> Self {
        NpzArray::F32(a)
    }
}

impl<'a> From<ArrayViewD<'a, i64>> for NpzArray<'a> {
    fn from(a: ArrayViewD<'a, i64>) -> Self {
        NpzArray::I64(a)
    }
}

impl<'a> From<ArrayViewD<'a, u8>> for NpzArray<'a> {
    fn from(a: ArrayViewD<'a, u8>) -> Self {
        NpzArray::U8(a)
    }
}

/// Atomically writes `arrays` to `path` as an uncompressed `.npz` archive; each array is
/// stored as `NAME.npy`, so `numpy.load(path)[NAME]` reads it back.
///
/// ```
/// use effpath_data::{NpzArray, read_npz, write_npz};
/// use ndarray::{ArrayD, IxDyn};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.npz");
/// let x = ArrayD::<f32>::from_elem(IxDyn(&[2, 3]), 0.5);
/// let i = ArrayD::<i64>::from_elem(IxDyn(&[2]), 7);
/// write_npz(&path, &[("x", x.view().into()), ("i", i.view().into())])?;
/// assert_eq!(read_npz::<f32>(&path, "x")?, x);
/// assert_eq!(read_npz::<i64>(&path, "i")?, i);
/// assert!(read_npz::<i64>(&path, "x").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_npz(path: impl AsRef<Path>, arrays: &[(&str, NpzArray<'_>)]) -> Result<()> {
    let path = path.as_ref();
    let error = |e: Box<dyn std::error::Error + Send + Sync>| DataError::NpyWrite {
        path: path.to_owned(),
        source: e,
    };
    write_atomic_with(path, |w| {
        let mut npz = NpzWriter::new(w);
        for (name, array) in arrays {
            let name = name.to_string();
            let added = match array {
                NpzArray::F32(a) => npz.add_array(name, a),
                NpzArray::I64(a) => npz.add_array(name, a),
                NpzArray::U8(a) => npz.add_array(name, a),
            };
            added.map_err(|e| error(Box::new(e)))?;
        }
        npz.finish().map_err(|e| error(Box::new(e)))?;
        Ok(())
    })
}

/// Reads the array `name` (element type `T`, any rank) from the `.npz` archive at `path`.
pub fn read_npz<T: NpyElement>(path: impl AsRef<Path>, name: &str) -> Result<ArrayD<T>> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|source| DataError::io(path, source))?;
    let error = |e: Box<dyn std::error::Error + Send + Sync>| DataError::NpyRead {
        input: format!("{}[{name}]", path.display()),
        source: e,
    };
    let mut npz = NpzReader::new(file).map_err(|e| error(Box::new(e)))?;
    npz.by_name(name).map_err(|e| error(Box::new(e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::IxDyn;

    #[test]
    fn round_trips_every_element_type() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.npz");
        let f = ArrayD::from_shape_fn(IxDyn(&[2, 1, 3, 3]), |d| d[2] as f32 * 0.25);
        let i = ArrayD::from_shape_fn(IxDyn(&[4]), |d| d[0] as i64 - 1);
        let u = ArrayD::from_shape_fn(IxDyn(&[3]), |d| d[0] as u8);
        write_npz(
            &path,
            &[
                ("f", f.view().into()),
                ("i", i.view().into()),
                ("u", u.view().into()),
            ],
        )
        .expect("write");
        assert_eq!(read_npz::<f32>(&path, "f").expect("f"), f);
        assert_eq!(read_npz::<i64>(&path, "i").expect("i"), i);
        assert_eq!(read_npz::<u8>(&path, "u").expect("u"), u);
        assert!(read_npz::<f32>(&path, "missing").is_err());
        assert!(read_npz::<f32>(dir.path().join("none.npz"), "f").is_err());
    }

    #[test]
    fn duplicate_names_fail_and_leave_no_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("d.npz");
        let a = ArrayD::<f32>::zeros(IxDyn(&[2]));
        let r = write_npz(&path, &[("a", a.view().into()), ("a", a.view().into())]);
        assert!(r.is_err());
        assert!(!path.exists());
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
    }
}
