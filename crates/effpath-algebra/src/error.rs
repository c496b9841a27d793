//! The one error type of `effpath-algebra`.

use thiserror::Error;

use crate::kind::{ElementKind, Fingerprint};

/// Everything that can go wrong when building path spaces, combining paths or reading the
/// binary format.
///
/// Every variant says *what* was expected and *where* (layer, element kind, byte offset), so
/// that a caller can report the problem without reading this crate's source.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AlgebraError {
    /// A layer index is not smaller than the number of layers of the path space.
    #[error("layer index {layer} is out of range: the path space has {layers} layers")]
    LayerOutOfRange {
        /// The requested layer index.
        layer: usize,
        /// Number of layers in the space.
        layers: usize,
    },
    /// An element index is not smaller than the size of its element space.
    #[error("layer {layer} (`{name}`): {kind} index {index} is out of range (space size {size})")]
    IndexOutOfRange {
        /// Layer index.
        layer: usize,
        /// Layer name.
        name: String,
        /// Which element space.
        kind: ElementKind,
        /// The offending index.
        index: usize,
        /// Size of the element space.
        size: usize,
    },
    /// A bitset handed to the path has the wrong number of bits for its element space.
    #[error(
        "layer {layer} (`{name}`): a {kind} bitset has {found} bits, the space needs {expected}"
    )]
    BitLength {
        /// Layer index.
        layer: usize,
        /// Layer name.
        name: String,
        /// Which element space.
        kind: ElementKind,
        /// Size of the element space.
        expected: usize,
        /// Length of the given bitset.
        found: usize,
    },
    /// Two bitsets given to a word-level helper have different lengths.
    #[error("bitsets have different lengths: {left} vs {right} bits")]
    LengthMismatch {
        /// Length of the left operand.
        left: usize,
        /// Length of the right operand.
        right: usize,
    },
    /// Two paths (or a path and a container) belong to different path spaces.
    #[error("paths belong to different path spaces (fingerprints {left} and {right}): {detail}")]
    SpaceMismatch {
        /// Fingerprint of the left operand's space.
        left: Fingerprint,
        /// Fingerprint of the right operand's space.
        right: Fingerprint,
        /// The first difference found (fingerprint, layer count, or which layer differs).
        detail: String,
    },
    /// A layer space description is inconsistent (e.g. a pooling layer with weights).
    #[error("invalid layer space `{name}`: {reason}")]
    InvalidLayerSpace {
        /// Layer name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A path space is inconsistent (e.g. two layers with the same name).
    #[error("invalid path space: {reason}")]
    InvalidPathSpace {
        /// What is wrong.
        reason: String,
    },
    /// The bytes do not start with the effpath magic.
    #[error("not an effpath path file: magic bytes {found:02x?}, expected {expected:02x?}")]
    BadMagic {
        /// The first bytes that were read.
        found: [u8; 8],
        /// The expected magic.
        expected: [u8; 8],
    },
    /// The file's format version is not the one this build reads.
    #[error(
        "path file format version {found} is {} than the version this build reads ({supported})",
        if .found > .supported { "newer" } else { "older" }
    )]
    UnsupportedVersion {
        /// Version found in the file.
        found: u32,
        /// The only version this build reads.
        supported: u32,
    },
    /// The file holds another kind of content (a path set instead of a path, or vice versa).
    #[error("the file holds content kind {found}, expected {expected} ({expected_name})")]
    WrongContent {
        /// Content code expected by the caller.
        expected: u32,
        /// Human name of the expected content.
        expected_name: &'static str,
        /// Content code found in the file.
        found: u32,
    },
    /// The input ended before the declared data.
    #[error("path file truncated at byte {offset} while reading {what}")]
    Truncated {
        /// What was being read.
        what: String,
        /// Byte offset where more data was needed.
        offset: u64,
    },
    /// Extra bytes follow the checksum.
    #[error("{count} unexpected bytes after the checksum (which ends at byte {offset})")]
    TrailingBytes {
        /// Offset of the first extra byte.
        offset: u64,
        /// Number of extra bytes.
        count: u64,
    },
    /// A header field has an impossible value.
    #[error("malformed path file at byte {offset}: {reason}")]
    Malformed {
        /// Byte offset of the field.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A declared size exceeds a safety cap of the reader.
    #[error("path file declares {what} = {declared}, above the limit {limit}")]
    TooLarge {
        /// Which quantity.
        what: &'static str,
        /// Declared value.
        declared: u64,
        /// The cap.
        limit: u64,
    },
    /// The SHA-256 checksum stored at the end does not match the content.
    #[error("path file checksum mismatch at byte {offset}: stored {stored}, computed {computed}")]
    ChecksumMismatch {
        /// Byte offset of the stored checksum.
        offset: u64,
        /// Stored checksum (hex).
        stored: String,
        /// Checksum of the bytes read (hex).
        computed: String,
    },
    /// A stored bitset has bits set past its length.
    #[error("path with label {label}, layer {layer}: the {kind} bitset has non-zero padding bits")]
    NonZeroPadding {
        /// Label of the path (0 for a single path file).
        label: u32,
        /// Layer index.
        layer: usize,
        /// Which element space.
        kind: ElementKind,
    },
    /// The file was produced for another network.
    #[error(
        "path file fingerprint {found} does not match the expected network fingerprint {expected}"
    )]
    FingerprintMismatch {
        /// The caller's expected fingerprint.
        expected: Fingerprint,
        /// The fingerprint in the file.
        found: Fingerprint,
    },
    /// A label appears twice in a path set.
    #[error("label {label} appears more than once in the path set")]
    DuplicateLabel {
        /// The repeated label.
        label: u32,
    },
    /// An I/O error other than an unexpected end of input.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// `Result` with [`AlgebraError`] as the default error type.
pub type Result<T, E = AlgebraError> = std::result::Result<T, E>;
