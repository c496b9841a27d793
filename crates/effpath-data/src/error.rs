//! The crate's single error type, [`DataError`].

use std::io;
use std::path::PathBuf;

/// `Result` with [`DataError`] as the default error type.
pub type Result<T, E = DataError> = std::result::Result<T, E>;

/// A boxed error from a lower-level library (kept out of the public API so that
/// its version does not leak into ours).
pub type BoxedError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Every error this crate reports.
///
/// Fields are structured so callers can react programmatically: `input` names
/// the file (its path, displayed) or in-memory source that was being decoded,
/// `offset` is a byte offset into the (decompressed) input, and
/// `expected`/`got` describe what was required versus what was found.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// An operating-system I/O error while reading or writing `path`.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// The input starts with the gzip magic bytes but could not be decompressed.
    #[error("{input}: gzip decompression failed: {source}")]
    Gzip {
        /// The path or name of the input.
        input: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// The IDX magic number is not the one expected for this kind of file.
    #[error(
        "{input}: bad magic number at byte {offset}: expected {expected:#010x}, got {got:#010x}"
    )]
    BadMagic {
        /// The path or name of the input.
        input: String,
        /// Byte offset of the magic number (always 0 for IDX).
        offset: u64,
        /// The magic number required.
        expected: u32,
        /// The magic number found.
        got: u32,
    },

    /// The IDX element-type code is not one this crate reads (only `0x08`, unsigned byte).
    #[error(
        "{input}: unsupported IDX element type {got:#04x} at byte {offset} (expected {expected:#04x}, unsigned byte)"
    )]
    UnsupportedDtype {
        /// The path or name of the input.
        input: String,
        /// Byte offset of the type code.
        offset: u64,
        /// The type code required.
        expected: u8,
        /// The type code found.
        got: u8,
    },

    /// The input ends before the size its header declares.
    #[error(
        "{input}: truncated at byte {offset}: the {what} needs {expected} bytes but only {got} are present"
    )]
    Truncated {
        /// The path or name of the input.
        input: String,
        /// Byte offset where the incomplete part starts.
        offset: u64,
        /// What was being read (e.g. "header", "pixel data").
        what: &'static str,
        /// Bytes declared or required from `offset` on.
        expected: u64,
        /// Bytes actually present from `offset` on.
        got: u64,
    },

    /// Bytes follow the end of the data the header declares.
    #[error("{input}: {extra} unexpected trailing bytes at byte {offset}")]
    TrailingBytes {
        /// The path or name of the input.
        input: String,
        /// Byte offset where the declared data ends.
        offset: u64,
        /// Number of extra bytes found (a lower bound when a compressed stream
        /// was cut off at the configured size cap).
        extra: u64,
    },

    /// The header declares more data than the configured cap allows.
    #[error("{input}: declared data size of {declared} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The path or name of the input.
        input: String,
        /// Declared data size in bytes.
        declared: u64,
        /// The configured cap in bytes.
        limit: u64,
    },

    /// The declared dimensions multiply to more than fits in memory addresses.
    #[error("{input}: declared dimensions {dims:?} overflow when multiplied")]
    SizeOverflow {
        /// The path or name of the input.
        input: String,
        /// The declared dimensions.
        dims: Vec<u64>,
    },

    /// Images and labels disagree on the number of examples.
    #[error("{images_input} has {images} images but {labels_input} has {labels} labels")]
    CountMismatch {
        /// The path or name of the image input.
        images_input: String,
        /// Number of images.
        images: usize,
        /// The path or name of the label input.
        labels_input: String,
        /// Number of labels.
        labels: usize,
    },

    /// A label is not below the configured number of classes.
    #[error(
        "{input}: label {label} at index {index} (byte {offset}) is out of range: expected < {num_classes}"
    )]
    LabelOutOfRange {
        /// The path or name of the input.
        input: String,
        /// Index of the example.
        index: usize,
        /// Byte offset of the label.
        offset: u64,
        /// The label found.
        label: u8,
        /// The configured number of classes.
        num_classes: u16,
    },

    /// An example index is not below the dataset length.
    #[error("index {index} is out of range for a dataset of {len} examples")]
    IndexOutOfRange {
        /// The offending index.
        index: usize,
        /// Number of examples.
        len: usize,
    },

    /// A range is reversed or extends past the dataset length.
    #[error("range {start}..{end} is invalid for a dataset of {len} examples")]
    RangeOutOfBounds {
        /// Start of the range.
        start: usize,
        /// End of the range (exclusive).
        end: usize,
        /// Number of examples.
        len: usize,
    },

    /// A dataset name that is not one of the embedded datasets.
    #[error("unknown embedded dataset {name:?} (known: {})", known.join(", "))]
    UnknownDataset {
        /// The name given.
        name: String,
        /// The names of the embedded datasets.
        known: Vec<&'static str>,
    },

    /// A normalisation specification could not be parsed or is invalid.
    #[error("invalid normalisation {input:?}: {issue}")]
    InvalidNormalization {
        /// The text or values given.
        input: String,
        /// Why it was rejected.
        issue: NormalizationIssue,
    },

    /// A `.npy` header is malformed (bad magic, version or header length).
    #[error("{input}: invalid .npy header at byte {offset}: {issue}")]
    NpyHeader {
        /// The path or name of the input.
        input: String,
        /// Byte offset of the problem.
        offset: u64,
        /// What is wrong.
        issue: NpyHeaderIssue,
    },

    /// A `.npy` file holds a different element type than requested.
    #[error("{input}: .npy element type mismatch: expected {expected}, got {got}")]
    NpyDtype {
        /// The path or name of the input.
        input: String,
        /// The accepted descriptor(s), e.g. `"<f4"`.
        expected: &'static str,
        /// The descriptor found in the header.
        got: String,
    },

    /// A `.npy` file could not be decoded (reported by `ndarray-npy`).
    #[error("{input}: invalid .npy file: {source}")]
    NpyRead {
        /// The path or name of the input.
        input: String,
        /// The underlying error.
        #[source]
        source: BoxedError,
    },

    /// An adversarial-example archive lacks arrays `effpath attack` writes.
    #[error(
        "{input}: not an `effpath attack` archive: missing array(s) {} (it holds: {})",
        missing.join(", "),
        if found.is_empty() { "nothing".to_string() } else { found.join(", ") }
    )]
    ArchiveMissing {
        /// The path of the archive.
        input: String,
        /// The required arrays not found.
        missing: Vec<&'static str>,
        /// The arrays the archive holds.
        found: Vec<String>,
    },

    /// An array of an adversarial-example archive has the wrong shape.
    #[error("{input}: array `{array}` has shape {got:?}, expected {expected:?}")]
    ArchiveShape {
        /// The path of the archive.
        input: String,
        /// The array.
        array: &'static str,
        /// The shape required (for `adv`: at least two axes).
        expected: Vec<usize>,
        /// The shape found.
        got: Vec<usize>,
    },

    /// A value of an adversarial-example archive is out of range (a negative index or
    /// label, a success flag other than 0 or 1).
    #[error("{input}: array `{array}` row {row} holds {value}, which is out of range")]
    ArchiveValue {
        /// The path of the archive.
        input: String,
        /// The array.
        array: &'static str,
        /// The row.
        row: usize,
        /// The value found.
        value: i64,
    },

    /// An array could not be encoded as `.npy`.
    #[error("cannot write .npy to {}: {source}", path.display())]
    NpyWrite {
        /// The destination.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: BoxedError,
    },
}

/// Why a normalisation was rejected (the payload of [`DataError::InvalidNormalization`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum NormalizationIssue {
    /// The text is neither a preset name nor `MEAN,STD`.
    #[error("expected \"none\", \"mnist\", \"fashion-mnist\" or \"MEAN,STD\"")]
    Syntax,
    /// The mean or the std of `MEAN,STD` is not a number.
    #[error("{field} {text:?}: {error}")]
    NotANumber {
        /// Which of the two values.
        field: NormalizationField,
        /// Its text (trimmed).
        text: String,
        /// The float parser's error.
        error: std::num::ParseFloatError,
    },
    /// The mean is NaN or infinite.
    #[error("mean must be finite")]
    MeanNotFinite {
        /// The mean given.
        mean: f32,
    },
    /// The std is NaN, infinite, zero or negative.
    #[error("std must be finite and > 0")]
    StdNotPositive {
        /// The std given.
        std: f32,
    },
}

/// One of the two values of a `MEAN,STD` normalisation ([`NormalizationIssue::NotANumber`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NormalizationField {
    /// The mean subtracted.
    Mean,
    /// The standard deviation divided by.
    Std,
}

impl std::fmt::Display for NormalizationField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NormalizationField::Mean => "mean",
            NormalizationField::Std => "std",
        })
    }
}

/// What is wrong with the fixed part of a `.npy` header (the payload of
/// [`DataError::NpyHeader`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NpyHeaderIssue {
    /// The first six bytes are not the `\x93NUMPY` magic string.
    #[error("missing \\x93NUMPY magic string")]
    Magic {
        /// The first six bytes found.
        found: [u8; 6],
    },
    /// A format version other than 1.0, 2.0 or 3.0 (by major version).
    #[error("unsupported format version {major}.{minor}")]
    Version {
        /// The major version byte.
        major: u8,
        /// The minor version byte.
        minor: u8,
    },
}

impl DataError {
    /// Builds a [`DataError::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            source,
        }
    }
}
