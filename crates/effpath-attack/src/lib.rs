//! # effpath-attack — adversarial attacks for effpath
//!
//! The attacks the original effective-path work evaluated against (foolbox 1.3.2 settings,
//! spec §4.2), on a [`Classifier`] (a network plus its input normalisation) in `[0, 1]`
//! pixel space: every attack takes an `(N, C, H, W)` batch of pixels in `[0, 1]` and labels,
//! keeps its images in `[0, 1]`, and returns one [`AttackResult`] per image, its success
//! re-checked by running the classifier on the returned image. Only correctly classified
//! images are attacked. Runs are seeded and deterministic.
//!
//! | module | attack |
//! | --- | --- |
//! | `fgsm` | [`Fgsm`]: FGSM with the smallest successful step of 1000 in (0, 1] |
//! | `bim` | [`Bim`]: iterative FGSM, 100 step sizes × 10 steps, smallest-L2 iterate |
//! | `deepfool` | [`DeepFool`]: L2 DeepFool over the 10 most likely classes |
//! | `jsma` | [`Jsma`]: saliency map attack (fast map, θ = 0.1, ≤ 7 changes per pixel) |
//! | `cw` | [`CarliniWagnerL2`]: Carlini–Wagner L2 (9 binary-search steps, Adam) |
//! | `noise` | [`RandomNoise`]: uniform-noise "unrecognizable" images |
//! | `patch` | [`AdversarialPatch`] → [`TrainedPatch`]: a universal targeted patch |
//! | `matching` | [`ActivationMatching`]: the adaptive attack, L2 PGD towards a target image's last-layer activations |
//! | `whitebox` | [`WhiteBox`]: L2 PGD on classifier and detector together, against a [`Defence`] (BPDA on its score) |
//!
//! [`AttackKind`] names every attack (`ALL`, `FromStr`) and [`AttackConfig`] holds one with
//! its hyper-parameters (serde-tagged by kind; `with_param` sets one by name, type-checked).
//! An attack's struct holds its unchecked hyper-parameters; [`ParamGuard::check`] validates
//! them once into a [`Checked`] attack, the one that runs (`params`).
//!
//! Shared pieces: `classifier` ([`Classifier`], pixel-space logits and gradients), `adam`
//! (the optimiser of C&W and the patch), `pgd` (L2 PGD steps and the budget search of the
//! adaptive attacks), `attack`
//! (the [`Attack`] trait, [`Progress`], [`random_targets`]), `result` ([`AttackResult`],
//! [`Distortion`], [`Summary`]) and `error` ([`AttackError`]).
//!
//! ```
//! use effpath_attack::{Attack, Classifier, Fgsm, ParamGuard, Summary};
//! use effpath_data::{Mnist, Normalization};
//!
//! // A LeNet-5 (here the zoo's untrained one; use a trained model in practice).
//! let net = effpath_ir::zoo::lenet5(0);
//! let clf = Classifier::new(&net, Normalization::MNIST)?;
//! let test = Mnist::embedded_test()?;
//! let x = test.to_tensor(0..4, Normalization::None)?; // pixels in [0, 1]
//! let labels = &test.labels()[..4];
//!
//! let results = Fgsm::default().check()?.run(&clf, &x, &labels, None, 0)?;
//! for r in &results {
//!     assert!(r.adversarial.iter().all(|&v| (0.0..=1.0).contains(&v)));
//!     if r.success {
//!         assert_ne!(r.adversarial_prediction, r.label);
//!     }
//! }
//! let summary = Summary::of(&results);
//! assert_eq!(summary.images, 4);
//! # Ok::<(), effpath_attack::AttackError>(())
//! ```

mod adam;
mod attack;
mod bim;
mod classifier;
mod cw;
mod deepfool;
mod error;
mod fgsm;
mod jsma;
mod matching;
mod noise;
mod params;
mod patch;
mod pgd;
mod registry;
mod result;
mod whitebox;

pub use attack::{Attack, AttackRun, NoProgress, Progress, random_targets};
pub use bim::Bim;
pub use classifier::{Classifier, Forward};
pub use cw::CarliniWagnerL2;
pub use deepfool::DeepFool;
/// A class label (the one label type of effpath, defined in `effpath-data`).
pub use effpath_data::Label;
pub use error::{AttackError, InputIssue, ModelIssue, ParamIssue, Result};
pub use fgsm::Fgsm;
pub use jsma::Jsma;
pub use matching::{ActivationMatching, MatchLoss};
pub use noise::RandomNoise;
pub use params::{Checked, ParamGuard};
pub use patch::{AdversarialPatch, TrainedPatch};
pub use registry::{AttackConfig, AttackKind};
pub use result::{AttackResult, Distortion, L0_TOLERANCE, Stat, Summary};
pub use whitebox::{Assessment, Defence, DefenceAttack, DefenceError, WhiteBox};
