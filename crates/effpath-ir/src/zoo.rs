//! Ready-made networks: the paper's LeNet-5 and a small residual network.

use ndarray::{Array1, Array2, Array4};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::builder::NetworkBuilder;
use crate::error::{GraphIssue, Result};
use crate::graph::{Network, ValueId};
use crate::op::{BatchNorm, Conv2d, Op, Window2d};
use crate::random::{fill_normal, glorot_uniform};

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

/// A small residual CNN (ResNet-style, for 28×28 grayscale images such as Fashion-MNIST),
/// with seeded He-normal weights (an untrained network; train it with `effpath-train`):
///
/// ```text
/// stem:    conv 3×3 (C_in → 16, pad 1) → BN → ReLU
/// block1:  residual block 16 → 16, stride 1, identity shortcut
/// block2:  residual block 16 → 32, stride 2, projection shortcut (conv 1×1 stride 2 → BN)
/// block3:  residual block 32 → 64, stride 2, projection shortcut
/// head:    global average pool → flatten → dense 64 → classes (logits)
///
/// residual block: conv 3×3 (stride s, pad 1) → BN → ReLU → conv 3×3 (pad 1) → BN
///                 → Add(shortcut) → ReLU
/// ```
///
/// `input` is the per-sample shape `[C_in, H, W]` (any size: a 28×28 input gives 28×28,
/// 14×14 and 7×7 feature maps). Convolutions have no bias (the batch norm after each one has
/// a shift); the dense layer has one. Every conv and the dense weight are He-normal
/// (`std = sqrt(2 / fan_in)`, drawn in node order from a ChaCha8 stream seeded with `seed`),
/// the dense bias is 0, and every batch norm starts as the identity (gamma 1, beta 0, running
/// mean 0, running variance 1, epsilon 1e-5). Node names follow the structure: `stem.conv`,
/// `stem.bn`, `stem.relu`, `block1.conv1`, `block1.bn1`, `block1.relu1`, `block1.conv2`,
/// `block1.bn2`, `block1.add`, `block1.relu2`, `block2.proj.conv`, `block2.proj.bn`, …,
/// `pool`, `flatten`, `fc`. For 1 input channel and 10 classes: 77,754 trainable
/// parameters (76,432 conv weights, 640 dense weights, 10 biases, 672 batch-norm scales and
/// shifts over 336 channels); about 9.3 M multiply–accumulates per 28×28 sample.
///
/// Train it with batch statistics ([`Network::forward_train`]); inference uses the running
/// statistics. Errors ([`IrError::Graph`](crate::IrError::Graph)) on a zero input dimension or zero classes.
///
/// ```
/// let net = effpath_ir::zoo::resnet_small(0, [1, 28, 28], 10)?;
/// assert_eq!(net.parameter_count(), 77_754);
/// assert_eq!(net.num_classes(), 10);
/// let x = ndarray::ArrayD::<f32>::zeros(ndarray::IxDyn(&[2, 1, 28, 28]));
/// assert_eq!(net.predict(&x)?.dim(), (2, 10));
/// # Ok::<(), effpath_ir::IrError>(())
/// ```
pub fn resnet_small(seed: u64, input: [usize; 3], classes: usize) -> Result<Network> {
    if input.contains(&0) || classes == 0 {
        return Err(GraphIssue::EmptyModel {
            model: "resnet_small",
            input: input.to_vec(),
            classes,
        }
        .into());
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut b = NetworkBuilder::new(input.to_vec());
    // conv k×k (no bias) named `{name}{conv}` → BN named `{name}{bn}`.
    let mut conv_bn = |b: &mut NetworkBuilder,
                       name: [&str; 3],
                       x: ValueId,
                       cin: usize,
                       cout: usize,
                       k: usize,
                       stride: usize|
     -> Result<ValueId> {
        let mut w = Array4::zeros((cout, cin, k, k));
        fill_normal(&mut w, (2.0 / (cin * k * k) as f32).sqrt(), &mut rng);
        let conv = Conv2d::new(w, None)
            .with_stride([stride, stride])
            .with_padding(k / 2);
        let [prefix, conv_name, bn_name] = name;
        let c = b.push_named(format!("{prefix}{conv_name}"), Op::Conv2d(conv), &[x])?;
        let bn = BatchNorm {
            gamma: Array1::ones(cout),
            beta: Array1::zeros(cout),
            mean: Array1::zeros(cout),
            var: Array1::ones(cout),
            epsilon: 1e-5,
        };
        b.push_named(format!("{prefix}{bn_name}"), Op::BatchNorm(bn), &[c])
    };
    let x = b.input();
    let s = conv_bn(&mut b, ["stem.", "conv", "bn"], x, input[0], 16, 3, 1)?;
    let mut h = b.push_named("stem.relu", Op::Relu, &[s])?;
    for (i, (cin, cout, stride)) in [(16, 16, 1), (16, 32, 2), (32, 64, 2)]
        .into_iter()
        .enumerate()
    {
        let name = format!("block{}", i + 1);
        let p = format!("{name}.");
        let a = conv_bn(&mut b, [&p, "conv1", "bn1"], h, cin, cout, 3, stride)?;
        let a = b.push_named(format!("{name}.relu1"), Op::Relu, &[a])?;
        let a = conv_bn(&mut b, [&p, "conv2", "bn2"], a, cout, cout, 3, 1)?;
        let shortcut = if cin == cout && stride == 1 {
            h
        } else {
            conv_bn(
                &mut b,
                [&p, "proj.conv", "proj.bn"],
                h,
                cin,
                cout,
                1,
                stride,
            )?
        };
        let sum = b.push_named(format!("{name}.add"), Op::Add, &[a, shortcut])?;
        h = b.push_named(format!("{name}.relu2"), Op::Relu, &[sum])?;
    }
    let g = b.push_named("pool", Op::GlobalAvgPool, &[h])?;
    let f = b.push_named("flatten", Op::Flatten, &[g])?;
    let mut w = Array2::zeros((classes, 64));
    fill_normal(&mut w, (2.0f32 / 64.0).sqrt(), &mut rng);
    let dense = crate::Dense {
        weight: w,
        bias: Some(Array1::zeros(classes)),
    };
    let logits = b.push_named("fc", Op::Dense(dense), &[f])?;
    b.finish(logits)
}
