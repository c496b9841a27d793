//! # effpath — effective paths of deep neural networks
//!
//! effpath extracts the *effective path* of an input through a trained network — the
//! neurons, synapses and weights that contribute most to its prediction — and uses the
//! similarity between an image's path and the aggregated path of its predicted class to
//! detect adversarial inputs (Qiu et al., *Adversarial Defense Through Network Profiling
//! Based Path Extraction*, CVPR 2019).
//!
//! This crate is the public face of the workspace. At the top are the names an embedder
//! needs to load a network, extract paths, profile classes and flag adversarial inputs:
//!
//! | name | what |
//! |---|---|
//! | [`Network`], [`onnx`] | the network IR (a validated DAG of ops over NCHW `f32` tensors) and ONNX import/export |
//! | [`extract_path`], [`Extractor`], [`ExtractOptions`] | the effective path of an input |
//! | [`Path`] | a bitset path with union, density, Jaccard and similarity |
//! | [`ClassPaths`] | the per-class paths of a network (profiling) and their checked file |
//! | [`PathFeatures`] | detection features of an image against the class paths |
//! | [`Detector`], [`DetectorKind`], [`DetectorModel`] | the detectors trained on those features |
//! | [`Guard`] | a network, its class paths and a trained detector, checked to belong together |
//! | [`Error`], [`Result`] | one error type wrapping those of the crates |
//!
//! Everything else is under a module path:
//!
//! | module | what |
//! |---|---|
//! | [`ir`] (`effpath-ir`) | [`ir::NetworkBuilder`], [`ir::Op`], [`ir::ValueId`], [`ir::Activations`], [`ir::Fingerprint`], the model [`ir::zoo`], [`ir::IrError`] |
//! | [`data`] (`effpath-data`) | [`data::Mnist`], [`data::LabeledImages`], [`data::Normalization`], the embedded datasets, IDX readers, `.npy`/`.npz` read/write, [`data::write_atomic`], [`data::DataError`] |
//! | [`algebra`] (`effpath-algebra`) | [`algebra::PathSpace`], [`algebra::PathSet`], [`algebra::ElementKind`], [`algebra::LayerSelection`], the checked binary path format |
//! | [`extract`] (`effpath-extract`) | [`extract::Seed`], [`extract::ProfileOptions`], [`extract::FeatureOptions`], resumable profiling, [`extract::ExtractError`] |
//! | [`training`] (`effpath-train`) | [`training::TrainConfig`], [`training::Schedule`], [`training::train`]: SGD training of the shipped models |
//! | [`detect`] (`effpath-detect`) | the detector implementations, [`detect::roc_auc`], operating points |
//! | [`attack`] (`effpath-attack`) | FGSM, BIM, DeepFool, JSMA, C&W L2, random noise, adversarial patch and the white-box attack in `[0, 1]` pixel space ([`attack::Attack`], [`attack::Classifier`]) |
//! | [`baselines`] | the standard detectors (Mahalanobis, LID, feature squeezing) as feature rows beside the path features |
//! | [`guard`] | [`Guard`] and its detector file |
//! | [`ensemble`] | [`ensemble::GuardEnsemble`]: several guards of one network flagging an image when any does |
//! | [`defence`] | [`defence::GuardDefence`]: a guard as the target of the white-box attack |
//! | [`models`] | trained networks shipped with effpath ([`models::Shipped`]) |
//! | [`study`] | the paper's analyses beyond detection: masking to a path vs magnitude pruning, density growth, class hierarchy, per-layer density |
//! | [`ndarray`] | the `ndarray` version tensors passed to a [`Network`] must come from |
//!
//! ```
//! use effpath::algebra::{ElementKind, LayerSelection};
//! use effpath::data::{Mnist, Normalization};
//! use effpath::ir::zoo;
//! use effpath::ndarray::{ArrayD, IxDyn};
//! use effpath::onnx;
//!
//! // The built-in (untrained) LeNet-5, saved to ONNX bytes and read back.
//! let net = onnx::from_bytes(&onnx::to_bytes(&zoo::lenet5(0)))?;
//! assert_eq!(net.input_shape(), &[1, 28, 28]);
//! assert_eq!(net.fingerprint(), zoo::lenet5(0).fingerprint());
//!
//! // Classify the first 4 digits of the embedded MNIST test split.
//! let x = Mnist::embedded_test()?.to_tensor(0..4, Normalization::MNIST)?;
//! let logits = net.predict(&x.into_dyn())?;
//! assert_eq!(logits.dim(), (4, 10));
//!
//! // The effective path of the first digit, and its synapse density.
//! let x0 = Mnist::embedded_test()?.to_tensor(0..1, Normalization::MNIST)?.into_dyn();
//! let path = effpath::extract_path(&net, &x0, 0.5)?;
//! let d = path.density(ElementKind::Synapse, LayerSelection::Weighted);
//! assert!(d.is_some_and(|d| d > 0.0 && d < 1.0));
//!
//! // A single sample may omit the batch axis.
//! let one = net.predict(&ArrayD::zeros(IxDyn(&[1, 28, 28])))?;
//! assert_eq!(one.dim(), (1, 10));
//! # Ok::<(), effpath::Error>(())
//! ```

pub mod baselines;
pub mod defence;
pub mod ensemble;
pub mod guard;
pub mod models;
pub mod study;

pub use effpath_algebra as algebra;
pub use effpath_attack as attack;
pub use effpath_data as data;
pub use effpath_detect as detect;
pub use effpath_extract as extract;
pub use effpath_ir as ir;
pub use effpath_train as training;
pub use ndarray;

pub use effpath_algebra::Path;
pub use effpath_detect::{Detector, DetectorKind, DetectorModel};
pub use effpath_extract::{ClassPaths, ExtractOptions, Extractor, PathFeatures, extract_path};
pub use effpath_ir::{Network, onnx};
pub use guard::Guard;

use effpath_algebra::AlgebraError;
use effpath_attack::AttackError;
use effpath_data::DataError;
use effpath_detect::DetectError;
use effpath_extract::ExtractError;
use effpath_ir::{Fingerprint, IrError};
use effpath_train::TrainError;

/// Any error of the effpath crates, for embedders that want a single error type.
///
/// Each variant is transparent: it displays as, and has the same source as, the wrapped
/// error. `?` converts every crate error into it.
///
/// ```
/// fn load(path: &str) -> effpath::Result<effpath::Network> {
///     Ok(effpath::onnx::load(path)?)
/// }
/// assert!(matches!(load("/nonexistent.onnx"), Err(effpath::Error::Ir(_))));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Building, running, importing or exporting a network failed.
    #[error(transparent)]
    Ir(#[from] IrError),
    /// Reading, decoding or writing data failed.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A path operation or path file failed.
    #[error(transparent)]
    Algebra(#[from] AlgebraError),
    /// Extraction or profiling failed.
    #[error(transparent)]
    Extract(#[from] ExtractError),
    /// Training failed.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// A detector failed.
    #[error(transparent)]
    Detect(#[from] DetectError),
    /// An adversarial attack failed.
    #[error(transparent)]
    Attack(#[from] AttackError),
    /// A name that is not one of the shipped models ([`models::Shipped`]).
    #[error("unknown shipped model {name:?} (known: {})", known.join(", "))]
    UnknownModel {
        /// The name given.
        name: String,
        /// The shipped models' names.
        known: Vec<&'static str>,
    },
    /// A name that is not one of the baselines ([`baselines::BaselineKind`]).
    #[error("unknown baseline {name:?} (known: {})", known.join(", "))]
    UnknownBaseline {
        /// The name given.
        name: String,
        /// The baselines' names.
        known: Vec<&'static str>,
    },
    /// A detector file could not be encoded as JSON (never for a valid detector).
    #[error("guard: cannot encode: {source}")]
    GuardEncode {
        /// The encoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// A detector file is not JSON of a detector file.
    #[error("guard: {file}: not a detector file: {source}")]
    GuardJson {
        /// The file (or the name of the bytes) read.
        file: String,
        /// The decoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// A detector file of another format or version.
    #[error(
        "guard: {file}: format {format} version {version} (expected {} version {})",
        guard::FORMAT,
        guard::VERSION
    )]
    GuardFormat {
        /// The file read.
        file: String,
        /// Its format tag.
        format: String,
        /// Its version.
        version: u32,
    },
    /// A detector file whose detector is inconsistent ([`DetectorModel::validate`]).
    #[error("guard: {file}: {source}")]
    GuardDetector {
        /// The file read.
        file: String,
        /// What is wrong with the detector.
        #[source]
        source: DetectError,
    },
    /// A detector trained for another network.
    #[error("guard: the detector was trained for model {detector} but this model is {model}")]
    GuardModel {
        /// Fingerprint recorded in the detector file.
        detector: Fingerprint,
        /// Fingerprint of the network given.
        model: Fingerprint,
    },
    /// A detector trained on other features than the class paths give.
    #[error("guard: the detector expects features {expected:?} but these class paths give {got:?}")]
    GuardFeatures {
        /// The feature names recorded in the detector file.
        expected: Vec<String>,
        /// The feature names of the class paths given.
        got: Vec<String>,
    },
    /// A layer the guard's features compare is not a traced layer of its network (never for
    /// features made by [`PathFeatures`]).
    #[error("guard: feature layer {layer} is not a traced layer of the network")]
    GuardLayer {
        /// The path-space layer index.
        layer: usize,
    },
    /// A guard ensemble needs at least one guard.
    #[error("a guard ensemble needs at least one guard")]
    EmptyEnsemble,
}

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The library example of the workspace README, compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

/// The top-level names as one glob import: `use effpath::prelude::*;`.
pub mod prelude {
    #[doc(no_inline)]
    pub use crate::{
        ClassPaths, Detector, DetectorKind, DetectorModel, Error, ExtractOptions, Extractor, Guard,
        Network, Path, PathFeatures, Result, extract_path, onnx,
    };
}
