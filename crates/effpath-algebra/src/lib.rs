//! Bitset path algebra for effpath: per-layer neuron / synapse / weight sets of effective
//! paths (Qiu et al., CVPR 2019), their union, intersection and difference, density, Jaccard
//! (IoU) and image–class similarity, and a checked binary file format.
//!
//! The crate knows only abstract layer spaces, not networks: a [`PathSpace`] lists, per traced
//! layer, the sizes (and shapes) of its neuron, synapse (compact encoding, spec §1.5) and
//! weight spaces, plus an opaque network [`Fingerprint`]. A [`Path`] is one bitset per layer
//! and element space, each held dense or compressed as its count suits ([`ElementSet`]).
//! Paths of different spaces never mix silently:
//! [`AlgebraError::SpaceMismatch`].
//!
//! | module | contents |
//! |---|---|
//! | `kind` | [`Fingerprint`], [`ElementKind`], [`LayerKind`], [`LayerSelection`] |
//! | `space` | [`LayerSpace`], [`PathSpace`], size caps ([`MAX_SPACE_BITS`], …) |
//! | `elements` | [`ElementSet`]: one layer's kept elements, dense (`bitvec`) or compressed (Roaring), chosen by count |
//! | `radix` | the linear-time sort of the unsorted indices a set is built from |
//! | `path` | [`Path`], [`LayerPath`], [`ElementCounts`] — construction, insertion, counts |
//! | `ops` | union / intersection / difference / symmetric difference, in place and by value; [`Path::union_all`] |
//! | `metrics` | density, Jaccard, similarity per layer and aggregated; [`Overlap`] |
//! | `set` | [`PathSet`] (labelled class paths), [`PathCounts`] (per-element counts) |
//! | [`format`](mod@format) | binary format v2 (v1 still read): layout, constants, `to_bytes` / `from_bytes` / `load_checked`; [`PathSetReader`] reads one label of a path-set file |
//! | [`bits`] | word-level popcounts on `bitvec` slices that mask dirty tails |
//! | `error` | [`AlgebraError`] |
//! | `strategies` (feature `proptest`) | proptest strategies for random spaces and paths, for property tests of code built on paths |
//!
//! ```
//! use std::sync::Arc;
//! use effpath_algebra::{ElementKind, LayerSelection, LayerSpace, Path, PathSet, PathSpace};
//!
//! // A tiny network: conv (1→2 channels, 3×3 kernel, 4×4 output), 2×2 max pool, dense 8→3.
//! let space = Arc::new(PathSpace::new([42; 32], vec![
//!     LayerSpace::conv2d("conv", 1, 2, 1, [3, 3], [4, 4])?,
//!     LayerSpace::max_pool2d("pool", 2, [2, 2], [2, 2])?,
//!     LayerSpace::dense("fc", 8, 3)?,
//! ])?);
//!
//! // An image path S and a class path P.
//! let mut image = Path::empty(&space);
//! image.insert_many(2, ElementKind::Synapse, &[0, 5, 9])?;
//! let mut class = Path::empty(&space);
//! class.insert_many(2, ElementKind::Synapse, &[0, 5, 20])?;
//!
//! // |S ∩ P| / |S| over the weighted layers; Jaccard |S ∩ P| / |S ∪ P|.
//! let sim = image.similarity(&class, ElementKind::Synapse, LayerSelection::Weighted)?;
//! assert_eq!(sim, Some(2.0 / 3.0));
//! assert_eq!(image.jaccard(&class, ElementKind::Synapse, LayerSelection::All)?, Some(0.5));
//! assert_eq!(image.similarity_layer(&class, 0, ElementKind::Synapse)?, None); // empty layer
//!
//! // Union and density (Σ kept / Σ all).
//! let both = image.union(&class)?;
//! assert_eq!(both.density(ElementKind::Synapse, LayerSelection::Weighted), Some(4.0 / (288.0 + 24.0)));
//!
//! // Class paths to bytes and back; a file of another network is refused.
//! let set = PathSet::from_paths(&space, [(7, class)])?;
//! let bytes = set.to_bytes();
//! assert_eq!(PathSet::load_checked(&bytes, [42; 32])?, set);
//! assert!(PathSet::load_checked(&bytes, [0; 32]).is_err());
//! # Ok::<(), effpath_algebra::AlgebraError>(())
//! ```

pub mod bits;
mod elements;
mod error;
pub mod format;
mod kind;
mod metrics;
mod ops;
mod path;
mod radix;
mod set;
mod space;
#[cfg(feature = "proptest")]
pub mod strategies;

pub use elements::{DenseOnes, ElementSet, Iter, Representation, SMALL_SPACE_BITS};
pub use error::{
    AlgebraError, BodyPart, FilePart, FormatIssue, IndexField, LayerSpaceIssue, PathSpaceIssue,
    Result, SpaceDifference, SparseDefect,
};
pub use format::PathSetReader;
pub use kind::{ElementKind, Fingerprint, LayerKind, LayerSelection};
pub use metrics::Overlap;
pub use path::{ElementCounts, LayerPath, Path};
pub use set::{PathCounts, PathSet};
pub use space::{LayerSpace, MAX_LAYERS, MAX_NAME_LEN, MAX_RANK, MAX_SPACE_BITS, PathSpace};
