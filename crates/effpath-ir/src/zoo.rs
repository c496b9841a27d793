//! Ready-made networks.

use ndarray::{Array1, Array2, Array4};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::builder::NetworkBuilder;
use crate::graph::Network;
use crate::op::{Conv2d, Window2d};
use crate::random::glorot_uniform;

/// The LeNet-5 of the effective-path paper (spec §5), for 1×28×28 inputs, with seeded
/// Glorot-uniform weights and zero biases (an untrained network; load a trained one from ONNX):
///
/// conv 6@5×5 → ReLU → maxpool 2/2 → conv 16@5×5 → ReLU → maxpool 2/2 → flatten (256) →
/// dense 120 → ReLU → dense 84 → ReLU → dense 10 (logits). 44,190 weights + 236 biases.
///
/// ```
/// let net = effpath_ir::zoo::lenet5(0);
/// assert_eq!(net.parameter_count(), 44_426);
/// assert_eq!(net.num_classes(), 10);
/// ```
pub fn lenet5(seed: u64) -> Network {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut conv = |cout: usize, cin: usize| {
        let mut w = Array4::zeros((cout, cin, 5, 5));
        glorot_uniform(&mut w, cin * 25, cout * 25, &mut rng);
        w
    };
    let (w1, w2) = (conv(6, 1), conv(16, 6));
    let mut dense = |out: usize, inp: usize| {
        let mut w = Array2::zeros((out, inp));
        glorot_uniform(&mut w, inp, out, &mut rng);
        w
    };
    let (d1, d2, d3) = (dense(120, 256), dense(84, 120), dense(10, 84));
    build_lenet5(w1, w2, d1, d2, d3).expect("LeNet-5 shapes are consistent")
}

fn build_lenet5(
    w1: Array4<f32>,
    w2: Array4<f32>,
    d1: Array2<f32>,
    d2: Array2<f32>,
    d3: Array2<f32>,
) -> crate::Result<Network> {
    let mut b = NetworkBuilder::new(vec![1, 28, 28]);
    let pool = Window2d::new([2, 2], [2, 2]);
    let x = b.input();
    let c1 = b.push_named(
        "conv1",
        crate::Op::Conv2d(Conv2d::new(w1, Some(Array1::zeros(6)))),
        &[x],
    )?;
    let r1 = b.push_named("relu1", crate::Op::Relu, &[c1])?;
    let p1 = b.push_named("pool1", crate::Op::MaxPool2d(pool.clone()), &[r1])?;
    let c2 = b.push_named(
        "conv2",
        crate::Op::Conv2d(Conv2d::new(w2, Some(Array1::zeros(16)))),
        &[p1],
    )?;
    let r2 = b.push_named("relu2", crate::Op::Relu, &[c2])?;
    let p2 = b.push_named("pool2", crate::Op::MaxPool2d(pool), &[r2])?;
    let f = b.push_named("flatten", crate::Op::Flatten, &[p2])?;
    let fc = |name: &str, relu: Option<&str>, x, w: Array2<f32>, b: &mut NetworkBuilder| {
        let n = w.nrows();
        let y = b.push_named(
            name,
            crate::Op::Dense(crate::Dense {
                weight: w,
                bias: Some(Array1::zeros(n)),
            }),
            &[x],
        )?;
        match relu {
            Some(r) => b.push_named(r, crate::Op::Relu, &[y]),
            None => Ok(y),
        }
    };
    let h1 = fc("fc1", Some("relu3"), f, d1, &mut b)?;
    let h2 = fc("fc2", Some("relu4"), h1, d2, &mut b)?;
    let logits = fc("fc3", None, h2, d3, &mut b)?;
    b.finish(logits)
}
