//! Shared fixtures: the trained LeNet-5 and correctly classified MNIST test images.

use effpath_attack::Classifier;
use effpath_data::{Mnist, Normalization};
use effpath_ir::Network;
use ndarray::{Array4, Axis};

/// The trained LeNet-5 (98.3 % on the embedded MNIST test split; MNIST-normalised input).
pub fn lenet() -> Network {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/lenet-mnist.onnx");
    effpath_ir::onnx::load(path).expect("the test model loads")
}

/// The classifier of `net` with MNIST normalisation.
pub fn classifier(net: &Network) -> Classifier<'_> {
    Classifier::new(net, Normalization::MNIST).expect("LeNet input is (1, 28, 28)")
}

/// The first `per_class` correctly classified test images of each class, in test order of
/// their positions: `(pixels in [0, 1], labels)`.
pub fn correct_images(clf: &Classifier<'_>, per_class: usize) -> (Array4<f32>, Vec<usize>) {
    let test = Mnist::embedded_test().expect("embedded MNIST");
    let n = 400.min(test.len());
    let x = test.to_tensor(0..n, Normalization::None).expect("tensor");
    let preds = clf.predict(&x).expect("predict");
    let mut count = [0usize; 10];
    let mut picked = Vec::new();
    for (i, &p) in preds.iter().enumerate() {
        let l = test.labels()[i];
        if l == p && count[l] < per_class {
            count[l] += 1;
            picked.push(i);
        }
    }
    let labels = picked.iter().map(|&i| test.labels()[i]).collect();
    (x.select(Axis(0), &picked), labels)
}
