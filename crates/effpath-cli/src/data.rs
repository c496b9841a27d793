//! Shared image-input logic: the embedded datasets, IDX files and the check that images fit
//! the model's input.

use anyhow::{Result, bail};
use clap::ValueEnum;
use effpath::{LabeledImages, Mnist, Network, Split};

/// A dataset compiled into effpath, usable instead of IDX files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Dataset {
    /// The embedded MNIST subset's training split (7,996 digits)
    MnistTrain,
    /// The embedded MNIST subset's test split (2,004 digits)
    MnistTest,
}

impl Dataset {
    /// Decodes the embedded images and labels.
    pub fn load(self) -> Result<LabeledImages> {
        let split = match self {
            Dataset::MnistTrain => Split::Train,
            Dataset::MnistTest => Split::Test,
        };
        Ok(Mnist::embedded(split)?)
    }

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Dataset::MnistTrain => "mnist-train",
            Dataset::MnistTest => "mnist-test",
        }
    }
}

/// Checks that `rows`×`cols` grayscale images, fed as `(1, rows, cols)`, fit the model input.
pub fn check_image_shape(net: &Network, rows: usize, cols: usize) -> Result<()> {
    let expected = net.input_shape();
    if expected != [1, rows, cols] {
        bail!(
            "the images are 1×{rows}×{cols} (grayscale) but the model expects input {}",
            crate::output::shape(expected)
        );
    }
    Ok(())
}
