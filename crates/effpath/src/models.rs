//! Trained models shipped with effpath.

use crate::{Network, Result, onnx};

/// The ONNX bytes of [`lenet5_mnist`].
pub const LENET5_MNIST_ONNX: &[u8] = include_bytes!("../models/lenet5-mnist.onnx");

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
/// let test = effpath::Mnist::embedded_test()?;
/// let x = test.to_tensor(0..100, effpath::Normalization::MNIST)?.into_dyn();
/// let logits = net.predict(&x)?;
/// let correct = logits.rows().into_iter().zip(test.labels())
///     .filter(|(r, l)| r.iter().enumerate().fold(0, |b, (i, v)| if *v > r[b] { i } else { b }) == **l as usize)
///     .count();
/// assert!(correct >= 95);
/// # Ok::<(), effpath::Error>(())
/// ```
pub fn lenet5_mnist() -> Result<Network> {
    Ok(onnx::from_bytes(LENET5_MNIST_ONNX)?)
}
