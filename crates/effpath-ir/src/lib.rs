//! # effpath-ir — the network IR of effpath
//!
//! A [`Network`] is a validated DAG of [`Op`]s over NCHW `f32` tensors, built by hand with
//! [`NetworkBuilder`], taken from the [`zoo`], or imported from ONNX ([`onnx`]).
//! [`Network::forward`] runs a batch and records every tensor ([`Activations`]) so the path
//! extractor can read pre- and post-activation values; [`Network::backward`] computes
//! gradients. For training, [`Network::forward_train`] runs batch norms on batch statistics
//! ([`Mode::Train`]), `backward` differentiates through them, and
//! [`Network::update_batch_norm_stats`] updates the running statistics.
//!
//! ```
//! use effpath_ir::zoo;
//! let net = zoo::lenet5(42);
//! let x = ndarray::ArrayD::<f32>::zeros(ndarray::IxDyn(&[1, 28, 28]));
//! let logits = net.predict(&x)?;
//! assert_eq!(logits.dim(), (1, 10));
//! # Ok::<(), effpath_ir::IrError>(())
//! ```
//!
//! Modules: `op` (the op enum and parameters), `shape` (shape inference), `graph`
//! (validation), `fit` (labelled images against a network), `builder`, `forward` (kernels),
//! `fingerprint`, `random` (seeded weights),
//! [`zoo`] (LeNet-5, a small ResNet), [`onnx`] (import/export), `backward` (gradients),
//! `loss`.

mod activation;
mod backward;
mod builder;
mod error;
mod fingerprint;
mod fit;
mod forward;
mod graph;
mod loss;
mod op;
mod random;
mod shape;

pub mod onnx;
pub mod zoo;

pub use backward::{Gradients, ParamGrad};
pub use builder::NetworkBuilder;
pub use error::{
    ActivationIssue, AttributeIssue, FitIssue, GraphIssue, IrError, NodeIssue, NodeUnsupported,
    NonFiniteTensor, Result, ShapeIssue, TensorIssue, UnsupportedIssue,
};
pub use fingerprint::Fingerprint;
pub use forward::{Activations, Mode, argmax};
pub use graph::{Network, Node, ValueId};
pub use loss::softmax_cross_entropy;
pub use op::{
    Activation, AvgPool2d, BatchNorm, Binary, Conv2d, Dense, Lrn, Op, Pad, Slice, Window2d,
};
