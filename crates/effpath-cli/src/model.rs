//! The shared "load a model" logic: the positional MODEL argument and `--random-weights`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use effpath::ir::zoo;
use effpath::models::Shipped;
use effpath::{Network, onnx};

/// The special MODEL value naming the built-in (untrained) LeNet-5.
pub const BUILTIN_LENET5: &str = "lenet5";

/// Seed of the built-in LeNet-5's weights.
const LENET5_SEED: u64 = 0;

/// Which model to load, shared by every command that needs one.
#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// An .onnx file, a shipped model — `lenet5-mnist` (LeNet-5 trained on MNIST, 98.3 %) or
    /// `resnet-small-fashion` (a small ResNet trained on Fashion-MNIST) — or `lenet5` (the
    /// built-in untrained LeNet-5, seed 0)
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,

    /// Replace every weight with seeded random values (He-normal weights, small biases)
    #[arg(long, value_name = "SEED")]
    pub random_weights: Option<u64>,
}

/// A loaded network and how to name it in output.
#[derive(Debug)]
pub struct LoadedModel {
    /// The network, with random weights if asked for.
    pub net: Network,
    /// `lenet5` or the file path, as given.
    pub name: String,
}

impl ModelArgs {
    /// Loads the model: the built-in LeNet-5 or an ONNX file, then `--random-weights`.
    pub fn load(&self) -> Result<LoadedModel> {
        let name = self.model.display().to_string();
        let net = if self.model.as_os_str() == BUILTIN_LENET5 {
            zoo::lenet5(LENET5_SEED)
        } else if let Some(shipped) = shipped(&self.model) {
            shipped.load()?
        } else {
            load_onnx(&self.model)?
        };
        let net = match self.random_weights {
            Some(seed) => net.with_random_weights(seed),
            None => net,
        };
        Ok(LoadedModel { net, name })
    }
}

/// The shipped model `model` names, if it names one (a file of that name is not looked for).
pub fn shipped(model: &Path) -> Option<Shipped> {
    model.to_str().and_then(|s| s.parse().ok())
}

/// Reads an ONNX file, with a hint when the path is not a file at all.
fn load_onnx(path: &Path) -> Result<Network> {
    let meta = std::fs::metadata(path).with_context(|| {
        format!(
            "cannot read model {} (MODEL is an .onnx file or `{BUILTIN_LENET5}`)",
            path.display()
        )
    })?;
    if !meta.is_file() {
        bail!("model {} is not a file", path.display());
    }
    onnx::load(path).with_context(|| format!("cannot load model {}", path.display()))
}
