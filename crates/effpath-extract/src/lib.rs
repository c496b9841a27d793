//! # effpath-extract — effective paths of deep neural networks
//!
//! Implements per-image effective-path extraction (Qiu et al., CVPR 2019; the behaviour
//! described in effpath's `effective-path-spec.md` §1): starting from a logit, every kept
//! neuron of a weighted layer keeps the smallest set of its largest signed input×weight
//! products whose sum reaches θ × the sum of all its products (sign-flipped when the neuron's
//! output is negative); max pools keep every maximal input; average pools rank their inputs;
//! skip connections keep the larger summand; element-wise ops pass neurons through. The result
//! is a [`Path`](effpath_algebra::Path): per traced layer, bitsets of neurons, synapses and
//! weights.
//!
//! ```
//! use effpath_algebra::{ElementKind, LayerSelection};
//! let net = effpath_ir::zoo::lenet5(0);
//! let x = ndarray::ArrayD::from_elem(ndarray::IxDyn(&[1, 28, 28]), 0.3f32);
//! let path = effpath_extract::extract_path(&net, &x, 0.5)?;
//! let d = path.density(ElementKind::Synapse, LayerSelection::Weighted).unwrap();
//! assert!(d > 0.0 && d < 1.0);
//! # Ok::<(), effpath_extract::ExtractError>(())
//! ```
//!
//! Modules: `select` (the θ selection primitive), `rules` (per-op backward rules), `space`
//! ([`NetworkSpace`]: which nodes are traced layers), `extractor` ([`Extractor`], options,
//! batches), `profile` ([`ClassPaths`]: per-class unions over training images; [`Profiler`]:
//! streaming), `resume` ([`ResumableProfiler`]: chunked profiling of a `u8` data set with
//! checkpoints that an interrupted run resumes from), `shard` ([`Shard`]: one of N parts of
//! a data set, for distributed profiling), `cdrp` (the CDRP baseline, Wang et al. 2018:
//! per-image channel gates, [`cdrp::Cdrp`]), `mask` (weight masks from
//! paths: [`mask::mask_weights`], [`mask::magnitude_mask`], [`mask::drop_weights`]), `classfile`
//! (the class-path file: [`ClassPaths::save`] / [`ClassPaths::load`]), `checksum` ([`fnv1a`],
//! its header checksum), `error`.

pub mod cdrp;
mod checksum;
mod classfile;
mod error;
mod extractor;
mod features;
mod kernels;
pub mod mask;
mod profile;
mod resume;
mod rules;
mod select;
mod shard;
mod space;
mod state;

pub use checksum::{Fnv1a, fnv1a};
pub use classfile::{CLASS_FILE_MAGIC, CLASS_FILE_VERSION, MAX_CLASSES};
/// A class label (the one label type of effpath, defined in `effpath-data`).
pub use effpath_data::Label;
pub use error::{ClassFileIssue, ExtractError, Mismatch, OptionIssue, Result};
pub use extractor::{
    CheckedExtractOptions, ExtractOptions, Extraction, Extractor, Seed, extract_path,
};
pub use features::{EmptyLayer, FeatureOptions, FeatureRow, PathFeatures};
pub use profile::{ACTIVATION_BUDGET, ClassPaths, ProfileOptions, Profiler};
pub use resume::{
    CHECKPOINT_FORMAT, CHECKPOINT_MANIFEST, CHECKPOINT_VERSION, Checkpoint, CheckpointManifest,
    ChunkRejection, ManifestField, ProfileEvent, ProfileRun, ResumableProfiler,
};
pub use select::ThresholdBase;
pub use shard::Shard;
pub use space::NetworkSpace;
