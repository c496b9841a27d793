//! # effpath-train — training effpath networks
//!
//! Minibatch SGD with momentum and L2 weight decay on the softmax cross-entropy of the
//! logits, with a learning-rate schedule, seeded shuffling (same seed → same model), and a
//! progress callback. Batch norms train on batch statistics and keep PyTorch-style running
//! statistics (momentum [`TrainConfig::bn_momentum`]) for inference. Enough to train the paper's LeNet-5 on MNIST and a small residual
//! network on Fashion-MNIST, so that paths and attacks are studied on real, trained models.
//!
//! ```
//! use effpath_data::{Mnist, Normalization};
//! use effpath_train::{TrainConfig, train};
//! let data = Mnist::embedded_train()?.subset(&(0..256).collect::<Vec<_>>())?;
//! let mut net = effpath_ir::zoo::lenet5(0);
//! let cfg = TrainConfig { epochs: 1, ..TrainConfig::default() };
//! let report = train(&mut net, &data, None, &cfg, |_| {})?;
//! assert_eq!(report.epochs.len(), 1);
//! assert!(report.epochs[0].train_loss.is_finite());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Modules: `config` ([`TrainConfig`], [`Schedule`]), `sgd` (the optimizer), `trainer`
//! ([`train`], [`evaluate`], progress [`Event`]s), `error`.

mod config;
mod error;
mod sgd;
mod trainer;

pub use config::{Schedule, TrainConfig};
pub use error::{ConfigIssue, DataSplit, Result, TrainError};
pub use sgd::Sgd;
pub use trainer::{EpochStats, Event, TrainReport, evaluate, train, train_observed};
