//! The one error type of `effpath-extract`.

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::extractor::ExtractOptions;
use crate::resume::CheckpointManifest;

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
    /// A fraction outside [0, 1] (of a path's weights to deactivate).
    #[error("fraction {value} is not in [0, 1]")]
    Fraction {
        /// The fraction given.
        value: f64,
    },
    /// A shard index that is not below the shard count (`--shard I/N` needs `0 ≤ I < N`).
    #[error("shard {index}/{count} does not exist: the index must be below the count (0 ≤ I < N)")]
    Shard {
        /// The index given.
        index: usize,
        /// The count given.
        count: usize,
    },
    /// A shard written other than as `I/N`.
    #[error("`{text}` is not a shard I/N with 0 ≤ I < N (e.g. 0/4)")]
    ShardSyntax {
        /// The text given.
        text: String,
    },
    /// Extraction options out of their range ([`ExtractOptions::check`]).
    #[error(transparent)]
    Options(#[from] OptionIssue),
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
    /// A CDRP option out of its range.
    #[error("CDRP option {option} = {value} must be {rule}")]
    CdrpOption {
        /// The option.
        option: &'static str,
        /// The value given.
        value: f64,
        /// The range it must lie in.
        rule: &'static str,
    },
    /// CDRP needs a hidden weighted layer to gate (the last one gives the logits).
    #[error(
        "CDRP needs at least two weighted (Dense/Conv2d) layers: the last one gives the logits and is not gated"
    )]
    NoGates,
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
    /// Labelled images that do not fit the network (image shape, label count, a label
    /// outside the classes).
    #[error("labels: {0}")]
    Fit(#[from] effpath_ir::FitIssue),
    /// A class (of a path or a path-set label) that the class paths do not have.
    #[error("labels: class {class} is out of range for {classes} classes")]
    ClassOutOfRange {
        /// The class.
        class: usize,
        /// Number of classes.
        classes: usize,
    },
    /// A class with a path but no image that built it.
    #[error("labels: class {class} has a path but no images")]
    ClassWithoutImages {
        /// The class.
        class: usize,
    },
    /// Prior image counts (see `Profiler::with_prior_counts`) not one per class.
    #[error("labels: {got} prior counts for a network with {expected} classes")]
    PriorCounts {
        /// Number of classes.
        expected: usize,
        /// Number of counts given.
        got: usize,
    },
    /// Two class-path sets that cannot be merged (other options or class count).
    #[error("class paths cannot be merged: {0}")]
    Mismatch(Mismatch),
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
    #[error("malformed class-path file at byte {offset}: {issue}")]
    ClassFile {
        /// Byte offset of the field.
        offset: u64,
        /// What is wrong.
        issue: ClassFileIssue,
    },
    /// The options record of a class-path file holds options that
    /// [`ExtractOptions::check`] refuses.
    #[error("malformed class-path file at byte {offset}: {issue}")]
    ClassFileOptions {
        /// Byte offset of the options record's field.
        offset: u64,
        /// What is wrong with the options.
        issue: OptionIssue,
    },
    /// A profile checkpoint manifest that cannot be read as JSON (or written).
    #[error("{} is not a profile checkpoint manifest ({source}); delete its directory to start over", path.display())]
    CheckpointManifest {
        /// The manifest file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A manifest of some other format in a checkpoint directory.
    #[error("{} is not a profile checkpoint manifest (format {found:?}); delete its directory to start over", path.display())]
    CheckpointFormat {
        /// The manifest file.
        path: PathBuf,
        /// Its `format` field.
        found: String,
    },
    /// A checkpoint manifest of another version, e.g. version 1, which stored the options as
    /// `Debug` strings: the run cannot be resumed and must be started over.
    #[error(
        "{} is a version {found} profile checkpoint; this build resumes only version {supported}: delete its directory to start over",
        path.display()
    )]
    CheckpointVersion {
        /// The manifest file.
        path: PathBuf,
        /// Version found.
        found: u32,
        /// The version this build resumes.
        supported: u32,
    },
    /// The checkpoint directory belongs to another profiling run (another model, data, range
    /// or options): it is left alone.
    #[error("{}", checkpoint_mismatch(dir, found, expected))]
    CheckpointMismatch {
        /// The checkpoint directory.
        dir: PathBuf,
        /// The manifest found there.
        found: Box<CheckpointManifest>,
        /// The manifest of this run.
        expected: Box<CheckpointManifest>,
    },
    /// A checkpoint directory that is neither empty nor holds a manifest.
    #[error("checkpoint directory {} is not empty and has no {}: not a profile checkpoint", dir.display(), crate::resume::CHECKPOINT_MANIFEST)]
    CheckpointNotEmpty {
        /// The directory.
        dir: PathBuf,
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

/// Why two class-path sets cannot be merged (the payload of [`ExtractError::Mismatch`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Mismatch {
    /// They were extracted with different options.
    Options {
        /// The options of the set merged into.
        ours: ExtractOptions,
        /// The options of the set merged in.
        theirs: ExtractOptions,
    },
    /// They have different class counts.
    Classes {
        /// Classes of the set merged into.
        ours: usize,
        /// Classes of the set merged in.
        theirs: usize,
    },
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mismatch::Options { ours: a, theirs: b } => {
                let differences = [
                    (a.theta != b.theta).then(|| format!("theta {} vs {}", a.theta, b.theta)),
                    (a.seed != b.seed).then(|| format!("seed {:?} vs {:?}", a.seed, b.seed)),
                    (a.last_layers != b.last_layers)
                        .then(|| format!("last layers {:?} vs {:?}", a.last_layers, b.last_layers)),
                    (a.threshold_base != b.threshold_base).then(|| {
                        format!(
                            "threshold base {:?} vs {:?}",
                            a.threshold_base, b.threshold_base
                        )
                    }),
                ];
                let differences: Vec<String> = differences.into_iter().flatten().collect();
                write!(f, "extraction options differ: {}", differences.join(", "))
            }
            Mismatch::Classes { ours, theirs } => write!(f, "{ours} classes vs {theirs} classes"),
        }
    }
}

/// The message of [`ExtractError::CheckpointMismatch`]: the first field that differs.
fn checkpoint_mismatch(
    dir: &Path,
    found: &CheckpointManifest,
    expected: &CheckpointManifest,
) -> String {
    let what = match found.difference(expected) {
        Some((field, theirs, mine)) => format!("{field}: {theirs} there, {mine} now"),
        // Unequal manifests differ in some field; kept total all the same.
        None => "a different manifest".to_owned(),
    };
    format!(
        "{} holds the checkpoint of another profiling run ({what}); delete it to start over, \
         or use another checkpoint directory",
        dir.display()
    )
}

/// What is wrong with a class-path file header field (the payload of
/// [`ExtractError::ClassFile`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ClassFileIssue {
    /// The seed value does not fit in a `usize`.
    #[error("seed value {value} is too large")]
    SeedValueTooLarge {
        /// The stored value.
        value: u64,
    },
    /// A rank seed of 0 (ranks start at 1).
    #[error("seed rank 0 (ranks start at 1)")]
    SeedRankZero,
    /// A seed kind code that is neither 0 (rank) nor 1 (class).
    #[error("unknown seed kind {code}")]
    UnknownSeedKind {
        /// The stored code.
        code: u8,
    },
    /// The number of last layers does not fit in a `usize`.
    #[error("last layers {value} is too large")]
    LastLayersTooLarge {
        /// The stored value.
        value: u64,
    },
    /// A threshold base code that is neither 0 (product sum) nor 1 (output).
    #[error("unknown threshold base {code}")]
    UnknownThresholdBase {
        /// The stored code.
        code: u8,
    },
    /// A class count of 0 or above [`MAX_CLASSES`](crate::MAX_CLASSES).
    #[error("{classes} classes (expected 1 to {})", crate::MAX_CLASSES)]
    ClassCount {
        /// The stored class count.
        classes: u32,
    },
    /// A rank seed larger than the number of classes.
    #[error("seed rank {rank} of {classes} classes")]
    SeedRank {
        /// The seed rank.
        rank: usize,
        /// The number of classes.
        classes: usize,
    },
    /// A class seed that is not one of the classes.
    #[error("seed class {class} of {classes} classes")]
    SeedClass {
        /// The seed class.
        class: usize,
        /// The number of classes.
        classes: usize,
    },
    /// An image count that does not fit in a `usize`.
    #[error("image count {count} of class {class} is too large")]
    ImageCountTooLarge {
        /// The class whose count it is.
        class: usize,
        /// The stored count.
        count: u64,
    },
    /// The stored header checksum is not the FNV-1a of the header.
    #[error("header checksum mismatch: stored {stored:016x}, computed {computed:016x}")]
    HeaderChecksum {
        /// The stored checksum.
        stored: u64,
        /// The checksum of the header bytes read.
        computed: u64,
    },
}

/// Result alias of this crate.
pub type Result<T, E = ExtractError> = std::result::Result<T, E>;

/// What is wrong with [`ExtractOptions`] on their own, whatever the network (the payload of
/// [`ExtractError::Options`]; the rules of [`ExtractOptions::check`]).
#[derive(Debug, Clone, Copy, PartialEq, Error)]
#[non_exhaustive]
pub enum OptionIssue {
    /// θ must lie in (0, 1].
    #[error("theta must be in (0, 1], got {0}")]
    Theta(f64),
    /// `last_layers` = 0 would extract nothing.
    #[error("last_layers must be at least 1")]
    LastLayers,
}
