//! The one error type of `effpath-algebra`.

use thiserror::Error;

use crate::kind::{ElementKind, Fingerprint, LayerKind};
use crate::space::{LayerSpace, MAX_LAYERS, MAX_NAME_LEN, MAX_RANK, MAX_SPACE_BITS};

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
        detail: SpaceDifference,
    },
    /// A layer space description is inconsistent (e.g. a pooling layer with weights).
    #[error("invalid layer space `{name}`: {reason}")]
    InvalidLayerSpace {
        /// Layer name (its first 40 characters when the name is too long).
        name: String,
        /// What is wrong.
        reason: LayerSpaceIssue,
    },
    /// A path space is inconsistent (e.g. two layers with the same name).
    #[error("invalid path space: {reason}")]
    InvalidPathSpace {
        /// What is wrong.
        reason: PathSpaceIssue,
    },
    /// The bytes do not start with the effpath magic.
    #[error("not an effpath path file: magic bytes {found:02x?}, expected {expected:02x?}")]
    BadMagic {
        /// The first bytes that were read.
        found: [u8; 8],
        /// The expected magic.
        expected: [u8; 8],
    },
    /// The file's format version is not one this build reads.
    #[error(
        "path file format version {found} is {} than the versions this build reads ({oldest} to {newest})",
        if .found > .newest { "newer" } else { "older" }
    )]
    UnsupportedVersion {
        /// Version found in the file.
        found: u32,
        /// The oldest version this build reads.
        oldest: u32,
        /// The newest version this build reads (and the one it writes).
        newest: u32,
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
        what: FilePart,
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
    #[error("malformed path file at byte {offset}: {issue}")]
    Malformed {
        /// Byte offset of the field.
        offset: u64,
        /// What is wrong.
        issue: FormatIssue,
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
    /// The SHA-256 of one path's body (format v2) does not match its bytes.
    #[error(
        "path file: the body of the path with label {label} is corrupted (checksum at byte {offset}: stored {stored}, computed {computed})"
    )]
    BodyChecksumMismatch {
        /// Label of the path.
        label: u32,
        /// Byte offset of the stored checksum.
        offset: u64,
        /// Stored checksum (hex).
        stored: String,
        /// Checksum of the body bytes (hex).
        computed: String,
    },
    /// A stored compressed (Roaring) set is invalid (format v2).
    #[error(
        "path with label {label}, layer {layer}: the compressed {kind} set at byte {offset} {defect}"
    )]
    BadSparseSet {
        /// Label of the path (0 for a single path file).
        label: u32,
        /// Layer index.
        layer: usize,
        /// Which element space.
        kind: ElementKind,
        /// Byte offset of the Roaring blob.
        offset: u64,
        /// What is wrong with it.
        defect: SparseDefect,
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

/// What was being read when a path file ended (the payload of [`AlgebraError::Truncated`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum FilePart {
    /// A fixed-size field of the header or of a path (e.g. "the magic bytes", "a path label").
    #[error("{what}")]
    Field {
        /// The field.
        what: &'static str,
    },
    /// The name of a layer space in the header.
    #[error("the name of layer {layer}")]
    LayerName {
        /// Layer index.
        layer: usize,
    },
    /// A field of an index entry (format v2).
    #[error("the {field} of index entry {entry}")]
    IndexEntry {
        /// Index of the entry.
        entry: u64,
        /// Which of its fields.
        field: IndexField,
    },
    /// The index (format v2) is longer than the bytes after the header.
    #[error(
        "the index of {paths} path(s): {declared} bytes declared after byte {at}, {present} present"
    )]
    Index {
        /// Number of paths declared.
        paths: u64,
        /// Bytes of the index and its checksum.
        declared: u64,
        /// Offset where the index starts.
        at: u64,
        /// Bytes present from there.
        present: u64,
    },
    /// The paths (format v1) are longer than the bytes after the header.
    #[error(
        "{paths} path(s): {} bytes declared after byte {at}, {present} present",
        declared_v1(.paths, .path_bytes)
    )]
    Paths {
        /// Number of paths declared.
        paths: u64,
        /// Bytes of one path (its label and sets); the paths and the checksum take
        /// `paths × path_bytes + 32` bytes.
        path_bytes: u64,
        /// Offset where the paths start.
        at: u64,
        /// Bytes present from there.
        present: u64,
    },
    /// The bodies (format v2) end past the end of the input.
    #[error("{paths} path bodies: up to byte {end} declared, {present} present")]
    Bodies {
        /// Number of paths declared.
        paths: u64,
        /// Offset where the index says the last body ends.
        end: u64,
        /// Length of the input.
        present: u64,
    },
    /// The body of one path (format v2).
    #[error("the body of the path with label {label}")]
    Body {
        /// Label of the path.
        label: u32,
    },
    /// The body of one path, read on its own after the index was checked: the input shrank
    /// in between.
    #[error("the body of the path with label {label} (the input shrank)")]
    ShrunkBody {
        /// Label of the path.
        label: u32,
    },
    /// The bits of one set of a path (format v1).
    #[error("path {label}, layer {layer} (`{name}`), {kind} bits")]
    Bits {
        /// Label of the path.
        label: u32,
        /// Layer index.
        layer: usize,
        /// Layer name (data, not a message).
        name: String,
        /// Which element space.
        kind: ElementKind,
    },
}

/// The bytes declared by [`FilePart::Paths`] (a `u128`: kept out of the enum, whose alignment
/// it would double).
fn declared_v1(paths: &u64, path_bytes: &u64) -> u128 {
    u128::from(*paths) * u128::from(*path_bytes) + 32
}

/// A field of a format-v2 index entry ([`FilePart::IndexEntry`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexField {
    /// The label of the path.
    Label,
    /// Where its body starts.
    BodyOffset,
    /// The length of its body.
    BodyLength,
}

impl std::fmt::Display for IndexField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            IndexField::Label => "label",
            IndexField::BodyOffset => "body offset",
            IndexField::BodyLength => "body length",
        })
    }
}

/// A part of a format-v2 path body ([`FormatIssue::BodyOverrun`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum BodyPart {
    /// The label at the start of the body.
    #[error("the body label")]
    Label,
    /// The tag of a set (dense or sparse).
    #[error("layer {layer}, {kind} set tag")]
    SetTag {
        /// Layer index.
        layer: usize,
        /// Which element space.
        kind: ElementKind,
    },
    /// The words of a dense set.
    #[error("layer {layer}, {kind} words")]
    Words {
        /// Layer index.
        layer: usize,
        /// Which element space.
        kind: ElementKind,
    },
    /// The length of a sparse set's Roaring blob.
    #[error("layer {layer}, {kind} blob length")]
    BlobLength {
        /// Layer index.
        layer: usize,
        /// Which element space.
        kind: ElementKind,
    },
    /// A sparse set's Roaring blob.
    #[error("layer {layer}, {kind} Roaring blob")]
    Blob {
        /// Layer index.
        layer: usize,
        /// Which element space.
        kind: ElementKind,
    },
}

/// What is wrong with a path file field (the payload of [`AlgebraError::Malformed`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum FormatIssue {
    /// A layer name that is not UTF-8.
    #[error("layer {layer}: name is not UTF-8")]
    LayerNameUtf8 {
        /// Layer index.
        layer: usize,
    },
    /// A layer kind code that is not one of [`LayerKind`]'s.
    #[error("layer {layer}: unknown layer kind code {code}")]
    LayerKindCode {
        /// Layer index.
        layer: usize,
        /// The stored code.
        code: u8,
    },
    /// A stored layer space that [`LayerSpace::new`] refuses.
    #[error("layer {layer}: invalid layer space `{name}`: {issue}")]
    LayerSpace {
        /// Layer index.
        layer: usize,
        /// Layer name (its first 40 characters when the name is too long).
        name: String,
        /// What is wrong with it.
        issue: LayerSpaceIssue,
    },
    /// Stored layer spaces that do not make a path space.
    #[error("invalid path space: {issue}")]
    PathSpace {
        /// What is wrong with it.
        issue: PathSpaceIssue,
    },
    /// A single-path file whose path count is not 1.
    #[error("a path file holds exactly 1 path, found {found}")]
    PathCount {
        /// The stored path count.
        found: u64,
    },
    /// A label smaller than the one before it (labels are stored ascending).
    #[error("label {label} after {previous}: not ascending")]
    LabelOrder {
        /// The label.
        label: u32,
        /// The label before it.
        previous: u32,
    },
    /// A single-path file whose path has a label other than 0.
    #[error("a path file has label 0, found {found}")]
    PathLabel {
        /// The stored label.
        found: u32,
    },
    /// An index entry whose body does not start where the previous one ends (format v2).
    #[error(
        "the body of label {label} is at byte {found}, expected {expected} (bodies follow the index in order)"
    )]
    BodyOffset {
        /// Label of the entry.
        label: u32,
        /// The stored body offset.
        found: u64,
        /// Where the previous body ends.
        expected: u64,
    },
    /// An index entry whose body is too short for its label and checksum (format v2).
    #[error("the body of label {label} has {len} bytes, less than its label and checksum")]
    BodyTooShort {
        /// Label of the entry.
        label: u32,
        /// The stored body length.
        len: u64,
    },
    /// An index entry whose body ends past 2^64 (format v2).
    #[error("the body of label {label} ends past 2^64")]
    BodyEndOverflow {
        /// Label of the entry.
        label: u32,
    },
    /// A part of a body that runs past the end of the body (format v2).
    #[error("{part} needs {needs} bytes, the body of label {label} has {left} left")]
    BodyOverrun {
        /// Label of the body.
        label: u32,
        /// The part being read.
        part: BodyPart,
        /// Bytes the part needs.
        needs: u64,
        /// Bytes left in the body.
        left: usize,
    },
    /// A body that holds another label than its index entry (format v2).
    #[error("the body holds label {found}, the index says {expected}")]
    BodyLabel {
        /// The label in the body.
        found: u32,
        /// The label in the index.
        expected: u32,
    },
    /// Bytes left over at the end of a body (format v2).
    #[error("{count} unused bytes at the end of the body of label {label}")]
    UnusedBodyBytes {
        /// Label of the body.
        label: u32,
        /// Number of bytes left over.
        count: usize,
    },
    /// A set tag that is neither dense nor sparse (format v2).
    #[error(
        "layer {layer}, {kind}: unknown set tag {tag} ({} = dense, {} = sparse)",
        crate::format::TAG_DENSE,
        crate::format::TAG_SPARSE
    )]
    SetTag {
        /// Layer index.
        layer: usize,
        /// Which element space.
        kind: ElementKind,
        /// The stored tag.
        tag: u8,
    },
}

/// What is wrong with a stored Roaring blob ([`AlgebraError::BadSparseSet`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SparseDefect {
    /// `RoaringTreemap::deserialize_from` refused the bytes.
    #[error("is not a valid Roaring treemap ({kind:?}: {detail})")]
    Roaring {
        /// The I/O error kind reported by the Roaring reader.
        kind: std::io::ErrorKind,
        /// Its message.
        detail: String,
    },
    /// The blob's declared length is not what the Roaring reader consumed.
    #[error("declares {declared} bytes, but the Roaring treemap in it takes {consumed}")]
    LengthMismatch {
        /// Declared blob length.
        declared: u64,
        /// Bytes consumed by the Roaring reader.
        consumed: u64,
    },
    /// An element is not smaller than the space size.
    #[error("holds element {max}, beyond the space size {size}")]
    OutOfRange {
        /// The largest element.
        max: u64,
        /// Size of the element space.
        size: usize,
    },
    /// The treemap holds an empty 32-bit partition (no writer produces one).
    #[error("holds an empty partition (high bits {high})")]
    EmptyPartition {
        /// The high 32 bits of the partition.
        high: u32,
    },
    /// The blob decodes, but is not the serialization of what it decodes to (unused offsets,
    /// wrong run-container counts, a repeated partition, …): every file has one encoding.
    #[error("is not in canonical form (re-serializing it gives other bytes)")]
    NotCanonical,
}

/// How two path spaces differ (the payload of [`AlgebraError::SpaceMismatch`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SpaceDifference {
    /// The network fingerprints differ.
    #[error("the network fingerprints differ")]
    Fingerprint,
    /// The spaces have different layer counts.
    #[error("{left} layers vs {right} layers")]
    LayerCount {
        /// Layers of the left space.
        left: usize,
        /// Layers of the right space.
        right: usize,
    },
    /// A layer differs.
    #[error("layer {index} differs: {left:?} vs {right:?}")]
    Layer {
        /// Index of the first differing layer.
        index: usize,
        /// That layer in the left space.
        left: Box<LayerSpace>,
        /// That layer in the right space.
        right: Box<LayerSpace>,
    },
}

/// What is wrong with a layer space description (the payload of
/// [`AlgebraError::InvalidLayerSpace`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LayerSpaceIssue {
    /// The name is longer than [`MAX_NAME_LEN`] bytes.
    #[error("name is longer than {MAX_NAME_LEN} bytes ({len} bytes)")]
    NameTooLong {
        /// The name's length in bytes.
        len: usize,
    },
    /// A shape with more than [`MAX_RANK`] dimensions.
    #[error("{kind} shape {shape:?} has more than {MAX_RANK} dimensions")]
    TooManyDimensions {
        /// The element space.
        kind: ElementKind,
        /// The shape.
        shape: Vec<usize>,
    },
    /// A shape with more than [`MAX_SPACE_BITS`] elements (or whose size overflows).
    #[error("{kind} shape {shape:?} has more than {MAX_SPACE_BITS} elements")]
    TooManyElements {
        /// The element space.
        kind: ElementKind,
        /// The shape.
        shape: Vec<usize>,
    },
    /// A layer kind without weights given a non-empty weight shape.
    #[error("a {kind:?} layer has no weights, got weight shape {weight_shape:?}")]
    UnexpectedWeights {
        /// The layer kind.
        kind: LayerKind,
        /// The weight shape given.
        weight_shape: Vec<usize>,
    },
    /// A convolution whose group count does not divide its channel counts.
    #[error("groups {groups} must divide c_in {c_in} and c_out {c_out}")]
    Groups {
        /// The group count.
        groups: usize,
        /// Input channels.
        c_in: usize,
        /// Output channels.
        c_out: usize,
    },
}

/// What is wrong with a path space (the payload of [`AlgebraError::InvalidPathSpace`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PathSpaceIssue {
    /// More than [`MAX_LAYERS`] layers.
    #[error("{layers} layers, at most {MAX_LAYERS} are supported")]
    TooManyLayers {
        /// The layer count given.
        layers: usize,
    },
    /// Two layers with the same name.
    #[error("layer name `{name}` is used twice")]
    DuplicateName {
        /// The name (data, not a message).
        name: String,
    },
}

/// `Result` with [`AlgebraError`] as the default error type.
pub type Result<T, E = AlgebraError> = std::result::Result<T, E>;
