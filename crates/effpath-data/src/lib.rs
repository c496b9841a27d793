//! effpath-data: datasets for effpath — IDX (MNIST, Fashion-MNIST) and `.npy`
//! input/output, normalisation presets, and atomic file writing.
//!
//! | module | contents |
//! | --- | --- |
//! | [`embedded`] | [`Embedded`]: the datasets compiled in (MNIST and Fashion-MNIST subsets) |
//! | [`mnist`] | MNIST constants and the embedded subset's splits; loading MNIST-layout directories |
//! | [`idx`] | the IDX reader (gzip or plain, sizes checked before allocating) |
//! | [`dataset`] | [`LabeledImages`]: `u8` images + [`Label`]s → `f32` `(N, 1, H, W)` tensors |
//! | [`normalize`] | [`Normalization`]: none / mean-std, MNIST and Fashion-MNIST presets |
//! | [`npy`] | `.npy` read/write of `f32`, `i64`, `u8` arrays of any rank |
//! | [`npz`] | `.npz` archives (zip of `.npy`) of those arrays: atomic write, read by name |
//! | [`archive`] | the `effpath attack` archive: array names, [`read_adversarial_npz`] (successful examples, original indices) |
//! | [`atomic`] | [`write_atomic`]: temp file + rename, never a half-written file |
//! | [`error`] | [`DataError`], the one error type |
//!
//! ```
//! use effpath_data::{Mnist, Normalization};
//!
//! let train = Mnist::embedded_train()?; // compiled in: no file needed
//! let test = Mnist::embedded_test()?;
//! assert_eq!((train.len(), test.len()), (7_996, 2_004));
//! assert!(train.labels().iter().all(|&label| label < 10));
//!
//! let batch = train.to_tensor(0..32, Normalization::MNIST)?;
//! assert_eq!(batch.shape(), &[32, 1, 28, 28]);
//! # Ok::<(), effpath_data::DataError>(())
//! ```

pub mod archive;
pub mod atomic;
pub mod dataset;
pub mod embedded;
pub mod error;
pub mod idx;
pub mod mnist;
pub mod normalize;
pub mod npy;
pub mod npz;

pub use archive::{AdversarialExamples, read_adversarial_npz};
pub use atomic::{write_atomic, write_atomic_with};
pub use dataset::{Label, LabeledImages};
pub use embedded::Embedded;
pub use error::{DataError, NormalizationField, NormalizationIssue, NpyHeaderIssue, Result};
pub use idx::{IdxOptions, decode_images, decode_labels, read_images, read_labels};
pub use mnist::{Mnist, Split, load_idx_dir};
pub use normalize::Normalization;
pub use npy::{NpyElement, decode_npy, encode_npy, read_npy, write_npy};
pub use npz::{NpzArray, read_npz, write_npz};
