//! The adversarial-example archive written by `effpath attack`: an `.npz` with one row per
//! attacked image (`adv` pixels, the image's `index` in its source, `label`, `success`, …),
//! and reading back its **successful** examples with their original indices.
//!
//! The array names are constants here so that the writer and the readers agree.

use std::path::Path;

use ndarray::{ArrayD, Axis};
use ndarray_npy::NpzReader;

use crate::dataset::Label;
use crate::error::{DataError, Result};
use crate::npy::NpyElement;

/// `float32 (N, C, H, W)`: the adversarial pixels in `[0, 1]` (the source image where the
/// attack failed).
pub const ADV: &str = "adv";
/// `int64 (N,)`: index of each attacked image in its source dataset.
pub const INDEX: &str = "index";
/// `int64 (N,)`: true label.
pub const LABEL: &str = "label";
/// `uint8 (N,)`: 1 where the attack succeeded, else 0.
pub const SUCCESS: &str = "success";
/// Arrays [`read_adversarial_npz`] needs.
pub const REQUIRED: [&str; 4] = [ADV, INDEX, LABEL, SUCCESS];

/// The successful adversarial examples of an archive.
#[derive(Debug, Clone, PartialEq)]
pub struct AdversarialExamples {
    /// `(successes, C, H, W)` pixels in `[0, 1]` (as stored; not range-checked here).
    pub images: ArrayD<f32>,
    /// The original (source dataset) index of each example.
    pub indices: Vec<usize>,
    /// The true label of each example.
    pub labels: Vec<Label>,
    /// Rows in the archive (attempted examples, successful or not).
    pub attempted: usize,
}

fn read_array<T: NpyElement>(
    npz: &mut NpzReader<std::fs::File>,
    path: &Path,
    name: &'static str,
) -> Result<ArrayD<T>> {
    npz.by_name(name).map_err(|e| DataError::NpyRead {
        input: format!("{}[{name}]", path.display()),
        source: Box::new(e),
    })
}

/// A 1-D array of `rows` elements, else [`DataError::ArchiveShape`].
fn column<T: NpyElement>(
    array: ArrayD<T>,
    path: &Path,
    name: &'static str,
    rows: usize,
) -> Result<Vec<T>> {
    if array.ndim() != 1 || array.len() != rows {
        return Err(DataError::ArchiveShape {
            input: path.display().to_string(),
            array: name,
            expected: vec![rows],
            got: array.shape().to_vec(),
        });
    }
    Ok(array.iter().copied().collect())
}

/// Non-negative `i64`s as `usize`, else [`DataError::ArchiveValue`].
fn indices(values: &[i64], path: &Path, name: &'static str) -> Result<Vec<usize>> {
    values
        .iter()
        .enumerate()
        .map(|(row, &v)| {
            usize::try_from(v).map_err(|_| DataError::ArchiveValue {
                input: path.display().to_string(),
                array: name,
                row,
                value: v,
            })
        })
        .collect()
}

/// Reads the archive of `effpath attack` at `path` and keeps the rows whose `success` is 1,
/// in archive order, with their `index` and `label`.
///
/// Errors: the file cannot be opened or is not an `.npz`
/// ([`DataError::Io`], [`DataError::NpyRead`]); one of [`REQUIRED`] is missing
/// ([`DataError::ArchiveMissing`], naming every missing array and what the archive holds);
/// an array of the wrong element type ([`DataError::NpyRead`]); `adv` with fewer than two
/// axes, or `index`/`label`/`success` not 1-D with one entry per `adv` row
/// ([`DataError::ArchiveShape`]); a negative index or label, or a `success` value other
/// than 0 or 1 ([`DataError::ArchiveValue`]).
///
/// ```
/// use effpath_data::archive::{self, read_adversarial_npz};
/// use effpath_data::write_npz;
/// use ndarray::{ArrayD, IxDyn};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("adv.npz");
/// let adv = ArrayD::<f32>::from_shape_fn(IxDyn(&[3, 1, 2, 2]), |d| d[0] as f32 / 4.0);
/// let index = ArrayD::from_shape_vec(IxDyn(&[3]), vec![7i64, 12, 40])?;
/// let label = ArrayD::from_shape_vec(IxDyn(&[3]), vec![1i64, 2, 3])?;
/// let success = ArrayD::from_shape_vec(IxDyn(&[3]), vec![1u8, 0, 1])?;
/// write_npz(&path, &[(archive::ADV, adv.view().into()), (archive::INDEX, index.view().into()),
///                    (archive::LABEL, label.view().into()), (archive::SUCCESS, success.view().into())])?;
/// let ok = read_adversarial_npz(&path)?;
/// assert_eq!((ok.indices, ok.labels, ok.attempted), (vec![7, 40], vec![1, 3], 3));
/// assert_eq!(ok.images.shape(), &[2, 1, 2, 2]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_adversarial_npz(path: impl AsRef<Path>) -> Result<AdversarialExamples> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|source| DataError::io(path, source))?;
    let not_npz = |e: ndarray_npy::ReadNpzError| DataError::NpyRead {
        input: path.display().to_string(),
        source: Box::new(e),
    };
    let mut npz = NpzReader::new(file).map_err(not_npz)?;
    let found = npz.names().map_err(not_npz)?;
    let missing: Vec<&'static str> = REQUIRED
        .into_iter()
        .filter(|name| !found.iter().any(|f| f == name))
        .collect();
    if !missing.is_empty() {
        return Err(DataError::ArchiveMissing {
            input: path.display().to_string(),
            missing,
            found,
        });
    }
    let adv = read_array::<f32>(&mut npz, path, ADV)?;
    if adv.ndim() < 2 {
        return Err(DataError::ArchiveShape {
            input: path.display().to_string(),
            array: ADV,
            expected: vec![adv.len(), 1],
            got: adv.shape().to_vec(),
        });
    }
    let rows = adv.shape()[0];
    let index = column(read_array::<i64>(&mut npz, path, INDEX)?, path, INDEX, rows)?;
    let label = column(read_array::<i64>(&mut npz, path, LABEL)?, path, LABEL, rows)?;
    let success = column(
        read_array::<u8>(&mut npz, path, SUCCESS)?,
        path,
        SUCCESS,
        rows,
    )?;
    let index = indices(&index, path, INDEX)?;
    let label = indices(&label, path, LABEL)?;
    if let Some((row, &value)) = success.iter().enumerate().find(|(_, s)| **s > 1) {
        return Err(DataError::ArchiveValue {
            input: path.display().to_string(),
            array: SUCCESS,
            row,
            value: i64::from(value),
        });
    }
    let keep: Vec<usize> = (0..rows).filter(|&r| success[r] == 1).collect();
    Ok(AdversarialExamples {
        images: adv.select(Axis(0), &keep),
        indices: keep.iter().map(|&r| index[r]).collect(),
        labels: keep.iter().map(|&r| label[r]).collect(),
        attempted: rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::npz::{NpzArray, write_npz};
    use ndarray::IxDyn;

    struct Arrays {
        adv: ArrayD<f32>,
        index: ArrayD<i64>,
        label: ArrayD<i64>,
        success: ArrayD<u8>,
    }

    fn arrays(n: usize) -> Arrays {
        Arrays {
            adv: ArrayD::from_shape_fn(IxDyn(&[n, 1, 3, 3]), |d| d[0] as f32 / 10.0),
            index: ArrayD::from_shape_fn(IxDyn(&[n]), |d| 100 + 2 * d[0] as i64),
            label: ArrayD::from_shape_fn(IxDyn(&[n]), |d| (d[0] % 10) as i64),
            success: ArrayD::from_shape_fn(IxDyn(&[n]), |d| u8::from(d[0] % 3 != 1)),
        }
    }

    fn write(path: &Path, a: &Arrays, skip: &[&str]) {
        let all: Vec<(&str, NpzArray<'_>)> = vec![
            (ADV, a.adv.view().into()),
            (INDEX, a.index.view().into()),
            (LABEL, a.label.view().into()),
            (SUCCESS, a.success.view().into()),
        ];
        let kept: Vec<_> = all.into_iter().filter(|(n, _)| !skip.contains(n)).collect();
        write_npz(path, &kept).expect("write");
    }

    #[test]
    fn keeps_successful_rows_with_their_original_indices() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.npz");
        let a = arrays(7);
        write(&path, &a, &[]);
        let ok = read_adversarial_npz(&path).expect("read");
        // Rows 1 and 4 failed (r % 3 == 1).
        assert_eq!(ok.indices, vec![100, 104, 106, 110, 112]);
        assert_eq!(ok.labels, vec![0, 2, 3, 5, 6]);
        assert_eq!(ok.attempted, 7);
        assert_eq!(ok.images.shape(), &[5, 1, 3, 3]);
        assert_eq!(ok.images[[2, 0, 0, 0]], 0.3);
    }

    #[test]
    fn missing_arrays_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.npz");
        write(&path, &arrays(2), &[SUCCESS, INDEX]);
        match read_adversarial_npz(&path) {
            Err(e @ DataError::ArchiveMissing { .. }) => {
                let text = e.to_string();
                assert!(text.contains("index, success"), "{text}");
                assert!(text.contains("adv, label"), "{text}");
            }
            other => panic!("expected ArchiveMissing, got {other:?}"),
        }
    }

    #[test]
    fn bad_shapes_values_and_files_are_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.npz");
        let mut a = arrays(3);
        a.index = ArrayD::zeros(IxDyn(&[2]));
        write(&path, &a, &[]);
        assert!(matches!(
            read_adversarial_npz(&path),
            Err(DataError::ArchiveShape { array: "index", .. })
        ));
        let mut a = arrays(3);
        a.label[[1]] = -1;
        write(&path, &a, &[]);
        assert!(matches!(
            read_adversarial_npz(&path),
            Err(DataError::ArchiveValue {
                array: "label",
                row: 1,
                value: -1,
                ..
            })
        ));
        let mut a = arrays(3);
        a.success[[2]] = 7;
        write(&path, &a, &[]);
        assert!(matches!(
            read_adversarial_npz(&path),
            Err(DataError::ArchiveValue {
                array: "success",
                row: 2,
                ..
            })
        ));
        // A plain .npy (not a zip) and a missing file.
        let npy = dir.path().join("x.npy");
        crate::write_npy(&npy, &arrays(1).adv).expect("npy");
        assert!(matches!(
            read_adversarial_npz(&npy),
            Err(DataError::NpyRead { .. })
        ));
        assert!(matches!(
            read_adversarial_npz(dir.path().join("none.npz")),
            Err(DataError::Io { .. })
        ));
    }
}
