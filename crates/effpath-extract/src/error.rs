//! The one error type of `effpath-extract`.

use thiserror::Error;

/// Everything that can go wrong while extracting or aggregating paths.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ExtractError {
    /// A name that is not one of the [`EmptyLayer`](crate::EmptyLayer) policies.
    #[error("unknown empty-layer policy {name:?} (known: {})", known.join(", "))]
    UnknownEmptyLayer {
        /// The name given.
        name: String,
        /// The policies' names.
        known: Vec<&'static str>,
    },
    /// θ must lie in (0, 1].
    #[error("theta must be in (0, 1], got {0}")]
    Theta(f64),
    /// A rank-k seed with k = 0 or k larger than the number of classes.
    #[error("seed rank {rank} is out of range for {classes} classes (rank 1 = the prediction)")]
    SeedRank {
        /// Requested rank.
        rank: usize,
        /// Number of classes.
        classes: usize,
    },
    /// An explicit seed class that the network does not have.
    #[error("seed class {class} is out of range for {classes} classes")]
    SeedClass {
        /// Requested class.
        class: usize,
        /// Number of classes.
        classes: usize,
    },
    /// `last_layers` = 0 would extract nothing.
    #[error("last_layers must be at least 1")]
    LastLayers,
    /// A sample index beyond the batch.
    #[error("sample {index} is out of range for a batch of {batch}")]
    Sample {
        /// Requested sample.
        index: usize,
        /// Batch size.
        batch: usize,
    },
    /// Non-finite activations: a path through NaN values means nothing.
    #[error("non-finite activation in `{tensor}` at flat index {index} (sample {sample})")]
    NonFinite {
        /// Tensor (node) name.
        tensor: String,
        /// Sample in the batch.
        sample: usize,
        /// First offending per-sample index.
        index: usize,
    },
    /// Images and labels of different lengths, or a label outside the classes.
    #[error("labels: {0}")]
    Labels(String),
    /// Two class-path sets that cannot be merged (other options or class count).
    #[error("class paths cannot be merged: {0}")]
    Mismatch(String),
    /// The bytes do not start with the class-path file magic.
    #[error("not an effpath class-path file: magic bytes {found:02x?}, expected {expected:02x?}")]
    ClassFileMagic {
        /// The first 8 bytes read.
        found: [u8; 8],
        /// The expected magic.
        expected: [u8; 8],
    },
    /// The class-path file's format version is not the one this build reads.
    #[error(
        "class-path file format version {found} is {} than the version this build reads ({supported})",
        if .found > .supported { "newer" } else { "older" }
    )]
    ClassFileVersion {
        /// Version found in the file.
        found: u32,
        /// The only version this build reads.
        supported: u32,
    },
    /// The class-path file ends before its header does.
    #[error("class-path file truncated at byte {offset} while reading {what}")]
    ClassFileTruncated {
        /// What was being read.
        what: &'static str,
        /// Byte offset where more data was needed.
        offset: u64,
    },
    /// A class-path file header field has an impossible value, or the header checksum fails.
    #[error("malformed class-path file at byte {offset}: {what}")]
    ClassFile {
        /// Byte offset of the field.
        offset: u64,
        /// What is wrong.
        what: String,
    },
    /// Reading or writing a file failed.
    #[error(transparent)]
    Data(#[from] effpath_data::DataError),
    /// The network could not be run.
    #[error(transparent)]
    Ir(#[from] effpath_ir::IrError),
    /// A path operation failed.
    #[error(transparent)]
    Algebra(#[from] effpath_algebra::AlgebraError),
}

/// Result alias of this crate.
pub type Result<T, E = ExtractError> = std::result::Result<T, E>;
