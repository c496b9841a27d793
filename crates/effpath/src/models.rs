//! Trained models shipped with effpath: a family ([`Shipped::ALL`], [`FromStr`]) so that the
//! CLI, the demo and reports name them one way. Each records its input normalisation in the
//! ONNX metadata, and `models/README.md` says how to reproduce it with `effpath train`.

use std::fmt;
use std::str::FromStr;

use effpath_data::Embedded;

use crate::{Error, Network, Result, onnx};

/// The ONNX bytes of [`lenet5_mnist`].
pub const LENET5_MNIST_ONNX: &[u8] = include_bytes!("../models/lenet5-mnist.onnx");

/// The ONNX bytes of [`resnet_small_fashion`].
pub const RESNET_SMALL_FASHION_ONNX: &[u8] = include_bytes!("../models/resnet-small-fashion.onnx");

/// A trained model shipped with effpath.
///
/// ```
/// use effpath::models::Shipped;
/// let m: Shipped = "resnet-small-fashion".parse()?;
/// assert_eq!(m.dataset(), effpath::data::Embedded::FashionMnist);
/// let net = m.load()?;
/// assert_eq!(net.input_normalization(), Some([0.286, 0.353]));
/// assert!(matches!("vgg".parse::<Shipped>(), Err(effpath::Error::UnknownModel { .. })));
/// # Ok::<(), effpath::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shipped {
    /// The paper's LeNet-5 trained on the embedded MNIST subset ([`lenet5_mnist`]).
    Lenet5Mnist,
    /// The small residual network trained on Fashion-MNIST ([`resnet_small_fashion`]).
    ResnetSmallFashion,
}

impl Shipped {
    /// Every shipped model.
    pub const ALL: [Shipped; 2] = [Shipped::Lenet5Mnist, Shipped::ResnetSmallFashion];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Shipped::Lenet5Mnist => "lenet5-mnist",
            Shipped::ResnetSmallFashion => "resnet-small-fashion",
        }
    }

    /// The model's ONNX bytes.
    pub fn onnx_bytes(self) -> &'static [u8] {
        match self {
            Shipped::Lenet5Mnist => LENET5_MNIST_ONNX,
            Shipped::ResnetSmallFashion => RESNET_SMALL_FASHION_ONNX,
        }
    }

    /// The embedded dataset the model was trained for (its test split is the model's).
    pub fn dataset(self) -> Embedded {
        match self {
            Shipped::Lenet5Mnist => Embedded::Mnist,
            Shipped::ResnetSmallFashion => Embedded::FashionMnist,
        }
    }

    /// The shipped model for `dataset`.
    pub fn for_dataset(dataset: Embedded) -> Shipped {
        match dataset {
            Embedded::Mnist => Shipped::Lenet5Mnist,
            Embedded::FashionMnist => Shipped::ResnetSmallFashion,
        }
    }

    /// Decodes the network.
    pub fn load(self) -> Result<Network> {
        Ok(onnx::from_bytes(self.onnx_bytes())?)
    }
}

impl fmt::Display for Shipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Shipped {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Shipped::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| Error::UnknownModel {
                name: s.to_owned(),
                known: Shipped::ALL.map(Shipped::name).to_vec(),
            })
    }
}

/// The paper's LeNet-5 trained on the embedded MNIST subset (98.30 % test accuracy on its
/// 2,004 test digits). It expects MNIST-normalised input, `(pixel/255 − 0.1307) / 0.3081`,
/// which is recorded in the model (`Network::input_normalization`).
///
/// Reproduce it bit for bit with
/// `effpath train --arch lenet5 --data mnist --epochs 20 --seed 0 --out lenet5-mnist.onnx`
/// (lr 0.03 cosine, momentum 0.9, weight decay 1e-4, batch 64, ±2-pixel shifts).
///
/// ```
/// let net = effpath::models::lenet5_mnist()?;
/// assert_eq!(net.input_normalization(), Some([0.1307, 0.3081]));
/// let test = effpath::data::Mnist::embedded_test()?;
/// let x = test.to_tensor(0..100, effpath::data::Normalization::MNIST)?.into_dyn();
/// let logits = net.predict(&x)?;
/// let correct = logits.rows().into_iter().zip(test.labels())
///     .filter(|(r, l)| r.iter().enumerate().fold(0, |b, (i, v)| if *v > r[b] { i } else { b }) == **l)
///     .count();
/// assert!(correct >= 95);
/// # Ok::<(), effpath::Error>(())
/// ```
pub fn lenet5_mnist() -> Result<Network> {
    Shipped::Lenet5Mnist.load()
}

/// The small residual network of [`zoo::resnet_small`](crate::ir::zoo::resnet_small) (77,754
/// parameters) trained on the full Fashion-MNIST training set (60,000 images). It expects
/// Fashion-MNIST-normalised input, `(pixel/255 − 0.286) / 0.353`, recorded in the model.
/// Accuracy and the `effpath train` command that reproduces it: `models/README.md`.
pub fn resnet_small_fashion() -> Result<Network> {
    Shipped::ResnetSmallFashion.load()
}
