//! # effpath — effective paths of deep neural networks
//!
//! effpath extracts the *effective path* of an input through a trained network — the
//! neurons, synapses and weights that contribute most to its prediction — and uses the
//! similarity between an image's path and the aggregated path of its predicted class to
//! detect adversarial inputs (Qiu et al., *Adversarial Defense Through Network Profiling
//! Based Path Extraction*, CVPR 2019).
//!
//! This crate is the public face of the workspace. It re-exports:
//!
//! * from `effpath-ir` (also reachable as [`ir`]): the network IR — [`Network`] (a validated
//!   DAG of [`Op`]s over NCHW `f32` tensors), [`NetworkBuilder`], [`ValueId`], [`Node`],
//!   [`Activations`], [`Fingerprint`], [`IrError`], the model [`zoo`] and [`onnx`]
//!   import/export;
//! * from `effpath-data` (also reachable as [`data`]): [`Mnist`], [`LabeledImages`],
//!   [`Normalization`], IDX readers, `.npy` read/write, [`write_atomic`] and [`DataError`];
//! * from `effpath-algebra` (also [`algebra`]): [`Path`], [`PathSpace`], [`PathSet`],
//!   [`ElementKind`], [`LayerSelection`] — bitset paths with union, density, Jaccard and
//!   similarity, and their checked binary format;
//! * from `effpath-extract` (also [`extract`]): [`extract_path`], [`Extractor`],
//!   [`ExtractOptions`], [`Seed`], [`ClassPaths`], [`ProfileOptions`];
//! * from `effpath-train` (also [`training`]): [`TrainConfig`], [`Schedule`] and
//!   [`training::train`] — SGD training of the shipped models;
//! * from `effpath-detect` (also [`detect`]): the [`Detector`] trait, [`DetectorKind`],
//!   [`DetectorModel`] and [`roc_auc`];
//! * from `effpath-attack` (also [`attack`]): FGSM, BIM, DeepFool, JSMA, C&W L2, random
//!   noise and adversarial patch attacks in `[0, 1]` pixel space ([`Attack`], [`Classifier`],
//!   [`AttackResult`], [`AttackError`]);
//! * [`baselines`]: the standard detectors (Mahalanobis, LID, feature squeezing) as feature
//!   rows beside the path features ([`baselines::BaselineKind`], [`baselines::BaselineSet`]);
//! * [`guard`]: [`guard::Guard`] — a network, its class paths and a trained detector,
//!   checked to belong together, flagging adversarial inputs at inference time;
//! * [`ensemble`]: [`ensemble::GuardEnsemble`] — several guards of one network (e.g. at
//!   several θ) flagging an image when any does, a hardening that does not retrain;
//! * [`defence`]: [`defence::GuardDefence`] — a guard as the target of the white-box attack
//!   ([`attack::WhiteBox`]): its real verdicts and a differentiable stand-in for its score;
//! * [`models`]: trained networks shipped with effpath ([`models::Shipped`]: the LeNet-5 on
//!   MNIST and a small ResNet on Fashion-MNIST);
//! * [`ndarray`], so that tensors passed to a [`Network`] come from the same version;
//! * [`Error`], one error type wrapping those of the crates.
//!
//! ```
//! use effpath::ndarray::{ArrayD, IxDyn};
//! use effpath::{Mnist, Normalization, onnx, zoo};
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
//! let d = path.density(effpath::ElementKind::Synapse, effpath::LayerSelection::Weighted);
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

pub use effpath_algebra as algebra;
pub use effpath_attack as attack;
pub use effpath_data as data;
pub use effpath_detect as detect;
pub use effpath_extract as extract;
pub use effpath_ir as ir;
pub use effpath_train as training;
pub use ndarray;

pub use effpath_algebra::{AlgebraError, ElementKind, LayerSelection, Path, PathSet, PathSpace};
pub use effpath_attack::{Attack, AttackError, AttackResult, Classifier};
pub use effpath_data::{
    DataError, Embedded, IdxOptions, LabeledImages, Mnist, Normalization, NpyElement, Split,
    decode_npy, encode_npy, read_images, read_labels, read_npy, write_atomic, write_npy,
};
pub use effpath_detect::{DetectError, Detector, DetectorKind, DetectorModel, roc_auc};
pub use effpath_extract::{
    ClassPaths, EmptyLayer, ExtractError, ExtractOptions, Extraction, Extractor, FeatureOptions,
    FeatureRow, PathFeatures, ProfileOptions, Seed, extract_path,
};
pub use effpath_ir::{
    Activations, Fingerprint, IrError, Network, NetworkBuilder, Node, Op, ValueId, onnx, zoo,
};
pub use effpath_train::{Schedule, TrainConfig, TrainError};

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

/// The names most programs need: `use effpath::prelude::*;`.
pub mod prelude {
    pub use crate::{
        ClassPaths, ElementKind, Error, ExtractOptions, Extractor, LabeledImages, LayerSelection,
        Mnist, Network, Normalization, Path, Result, ValueId, extract_path,
    };
}
