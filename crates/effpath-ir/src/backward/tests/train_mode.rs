//! Training-mode batch norm: the forward pass normalises with the batch statistics, the
//! backward pass differentiates through them (finite differences), the running statistics are
//! updated with momentum, and inference mode is untouched.

use ndarray::{Array1, Array2, Array4, ArrayD, Axis, Ix1, IxDyn};

use super::{Check, check_gradients_in, rng, uniform};
use crate::builder::NetworkBuilder;
use crate::forward::Mode;
use crate::graph::{Network, ValueId};
use crate::op::{BatchNorm, Conv2d, Op};

/// A batch norm over `c` channels with random gamma, beta and running statistics far from
/// any batch's, so that using the wrong statistics shows.
fn random_bn(c: usize, seed: u64) -> BatchNorm {
    let mut r = rng(seed);
    let mut v = |lo, hi| {
        uniform(&[c], lo, hi, &mut r)
            .into_dimensionality::<Ix1>()
            .expect("1-D")
    };
    BatchNorm {
        gamma: v(0.5, 1.5),
        beta: v(-0.5, 0.5),
        mean: v(2.0, 3.0),
        var: v(3.0, 5.0),
        epsilon: 1e-3,
    }
}

/// conv 3×3 (2 → 3, pad 1) → BN → relu → flatten → dense (→ 4), random weights.
fn conv_bn_relu_dense(seed: u64) -> Network {
    let mut b = NetworkBuilder::new(vec![2, 4, 4]);
    let x = b.input();
    let build = |b: &mut NetworkBuilder| -> crate::Result<ValueId> {
        let c = b.conv2d(
            x,
            Conv2d::new(Array4::zeros((3, 2, 3, 3)), Some(Array1::zeros(3))).with_padding(1),
        )?;
        let n = b.batch_norm(c, random_bn(3, 0))?;
        let r = b.relu(n)?;
        let f = b.flatten(r)?;
        b.dense(f, Array2::zeros((4, 48)), Some(Array1::zeros(4)))
    };
    let y = build(&mut b).expect("consistent shapes");
    let mut net = b
        .finish(y)
        .expect("valid network")
        .with_random_weights(seed);
    for node in net.nodes_mut() {
        if let Op::BatchNorm(bn) = &mut node.op {
            *bn = random_bn(bn.gamma.len(), seed + 1);
        }
    }
    net
}

/// The same network with the conv biases removed. A bias before a training-mode batch norm
/// cancels out (its exact gradient is 0), so finite differences of it are pure rounding noise.
fn without_conv_bias(net: &Network) -> Network {
    let mut net = net.clone();
    for node in net.nodes_mut() {
        if let Op::Conv2d(c) = &mut node.op {
            c.bias = None;
        }
    }
    net
}

fn chk() -> Check {
    Check {
        eps: 1e-3,
        tol: 2e-2,
        max_coords: 200,
        one_sided: true,
    }
}

#[test]
fn batch_norm_alone_training_gradients() {
    // Spatial (B, C, H, W) and 1-D (B, C) batch norms; the loss Σ r ⊙ y depends on x through
    // the batch mean and variance, which a per-element affine VJP would miss.
    for (i, shape) in [vec![3, 2, 3], vec![5]].into_iter().enumerate() {
        let mut b = NetworkBuilder::new(shape.clone());
        let x = b.input();
        let y = b
            .batch_norm(x, random_bn(shape[0], 3))
            .expect("valid batch norm");
        let net = b.finish(y).expect("valid network");
        let mut xs = vec![4];
        xs.extend_from_slice(&shape);
        let x = uniform(&xs, -1.0, 1.0, &mut rng(10 + i as u64));
        let smooth = Check {
            eps: 1e-3,
            tol: 1e-2,
            max_coords: 1000,
            one_sided: false,
        };
        check_gradients_in(&net, &x, net.output(), smooth, 20 + i as u64, Mode::Train);
    }
}

#[test]
fn conv_bn_relu_dense_training_gradients() {
    let net = conv_bn_relu_dense(4);
    let x = uniform(&[3, 2, 4, 4], -1.0, 1.0, &mut rng(5));
    let r = uniform(&[3, 4], -1.0, 1.0, &mut rng(7));
    // The conv bias feeds a training-mode batch norm: its gradient vanishes.
    let grads = net
        .backward(&net.forward_train(&x).expect("forward"), &r, net.logits())
        .expect("backward");
    let Some(crate::ParamGrad::Conv2d {
        weight,
        bias: Some(db),
    }) = grads.param(0)
    else {
        panic!("node 0 is a conv with a bias");
    };
    let wmax = weight.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(db.iter().all(|v| v.abs() <= 1e-5 * wmax), "{db} vs {wmax}");
    let net = without_conv_bias(&net);
    check_gradients_in(&net, &x, net.logits(), chk(), 6, Mode::Train);
    // The same network in inference mode still checks (and its gradients differ).
    check_gradients_in(&net, &x, net.logits(), chk(), 6, Mode::Inference);
    let train = net
        .backward(&net.forward_train(&x).expect("forward"), &r, net.logits())
        .expect("backward");
    let infer = net
        .backward(&net.forward(&x).expect("forward"), &r, net.logits())
        .expect("backward");
    assert_ne!(train.input(), infer.input());
    // Training-mode batch norm output has zero batch mean per channel, so Σ_batch dx of the
    // BN input is orthogonal to constants: its per-channel sum vanishes.
    let bn = 1;
    let acts = net.forward_train(&x).expect("forward");
    let g = ArrayD::from_elem(IxDyn(&[3, 3, 4, 4]), 1.0f32);
    let d = net
        .backward(&acts, &g, ValueId(bn + 1))
        .expect("backward to the BN output");
    assert!(d.input().iter().all(|v| v.abs() < 1e-5), "{:?}", d.input());
}

#[test]
fn residual_network_training_gradients() {
    let net = without_conv_bias(&super::nets::residual(5));
    let x = uniform(&[4, 3, 6, 6], -1.0, 1.0, &mut rng(8));
    check_gradients_in(&net, &x, net.output(), chk(), 9, Mode::Train);
}

/// Per-channel mean and biased variance over the batch and positions, in f64.
fn channel_stats(x: &ArrayD<f32>) -> (Vec<f64>, Vec<f64>) {
    let c = x.shape()[1];
    (0..c)
        .map(|ch| {
            let v: Vec<f64> = x
                .index_axis(Axis(1), ch)
                .iter()
                .map(|&a| a as f64)
                .collect();
            let m = v.iter().sum::<f64>() / v.len() as f64;
            let var = v.iter().map(|a| (a - m).powi(2)).sum::<f64>() / v.len() as f64;
            (m, var)
        })
        .unzip()
}

#[test]
fn training_forward_uses_batch_statistics() {
    let net = conv_bn_relu_dense(1);
    let x = uniform(&[5, 2, 4, 4], -1.0, 1.0, &mut rng(2));
    let acts = net.forward_train(&x).expect("forward");
    assert_eq!(acts.mode(), Mode::Train);
    let conv_out = acts.get(ValueId(1));
    let (mean, var) = channel_stats(conv_out);
    let (bm, bv) = acts.batch_norm_stats(1).expect("BN statistics");
    for c in 0..3 {
        assert!((bm[c] - mean[c]).abs() < 1e-9 && (bv[c] - var[c]).abs() < 1e-9);
    }
    assert!(acts.batch_norm_stats(0).is_none() && acts.batch_norm_stats(99).is_none());
    let Op::BatchNorm(bn) = &net.nodes()[1].op else {
        panic!("node 1 is the batch norm");
    };
    let y = acts.get(ValueId(2));
    for ((idx, &yv), &xv) in y.indexed_iter().zip(conv_out.iter()) {
        let c = idx[1];
        let want = (xv as f64 - mean[c]) / (var[c] + bn.epsilon as f64).sqrt() * bn.gamma[c] as f64
            + bn.beta[c] as f64;
        assert!((yv as f64 - want).abs() < 1e-5, "{idx:?}: {yv} vs {want}");
    }
    // Every other tensor is computed as in inference mode (bit for bit) from its inputs.
    let inf = net.forward(&x).expect("forward");
    assert_eq!(inf.mode(), Mode::Inference);
    assert!(inf.batch_norm_stats(1).is_none());
    assert_eq!(acts.get(ValueId(1)), inf.get(ValueId(1)));
    assert_ne!(acts.get(ValueId(2)), inf.get(ValueId(2)));
}

#[test]
fn inference_forward_is_unchanged() {
    // Inference BN is exactly x·scale + shift with `BatchNorm::affine` (f32), whatever the
    // batch; forward, forward_with(Inference) and predict agree bit for bit.
    let net = conv_bn_relu_dense(3);
    let x = uniform(&[4, 2, 4, 4], -1.0, 1.0, &mut rng(4));
    let a = net.forward(&x).expect("forward");
    let b = net.forward_with(&x, Mode::Inference).expect("forward");
    assert_eq!(a.values(), b.values());
    assert_eq!(a.logits(), net.predict(&x).expect("predict"));
    let Op::BatchNorm(bn) = &net.nodes()[1].op else {
        panic!("node 1 is the batch norm");
    };
    let (scale, shift) = bn.affine();
    for (idx, &yv) in a.get(ValueId(2)).indexed_iter() {
        let xv = a.get(ValueId(1))[&idx];
        assert_eq!(yv, xv * scale[idx[1]] + shift[idx[1]]);
    }
    // Per-sample results do not depend on the rest of the batch.
    let one = net
        .predict(&x.index_axis(Axis(0), 2).to_owned())
        .expect("predict");
    assert_eq!(one.row(0), a.logits().row(2));
    // Without batch norm, training mode is identical to inference mode.
    let lenet = crate::zoo::lenet5(2);
    let xl = uniform(&[3, 1, 28, 28], 0.0, 1.0, &mut rng(5));
    let (t, i) = (
        lenet.forward_train(&xl).expect("forward"),
        lenet.forward(&xl).expect("forward"),
    );
    assert_eq!(t.values(), i.values());
    let r = uniform(&[3, 10], -1.0, 1.0, &mut rng(6));
    let (gt, gi) = (
        lenet.backward(&t, &r, lenet.logits()).expect("backward"),
        lenet.backward(&i, &r, lenet.logits()).expect("backward"),
    );
    assert_eq!(gt.input(), gi.input());
    assert_eq!(gt.params(), gi.params());
}

#[test]
fn running_statistics_follow_pytorch_momentum() {
    let mut net = conv_bn_relu_dense(6);
    let x = uniform(&[3, 2, 4, 4], -1.0, 1.0, &mut rng(7));
    let acts = net.forward_train(&x).expect("forward");
    let (mean, var) = channel_stats(acts.get(ValueId(1)));
    let Op::BatchNorm(before) = net.nodes()[1].op.clone() else {
        panic!("node 1 is the batch norm");
    };
    let before_fp = net.fingerprint();
    // Inference-mode activations carry no statistics: no change.
    net.update_batch_norm_stats(&net.forward(&x).expect("forward"), 0.1)
        .expect("no-op");
    assert_eq!(net.fingerprint(), before_fp);
    assert!(net.update_batch_norm_stats(&acts, 1.5).is_err());
    assert!(net.update_batch_norm_stats(&acts, f32::NAN).is_err());
    net.update_batch_norm_stats(&acts, 0.1).expect("update");
    let n = (3 * 4 * 4) as f64;
    let (rm, rv) = net.batch_norm_stats_mut(1).expect("a batch norm");
    for c in 0..3 {
        let want_m = 0.9 * before.mean[c] as f64 + 0.1 * mean[c];
        let want_v = 0.9 * before.var[c] as f64 + 0.1 * var[c] * n / (n - 1.0);
        assert!((rm[c] as f64 - want_m).abs() < 1e-6, "mean {c}");
        assert!((rv[c] as f64 - want_v).abs() < 1e-6, "var {c}");
    }
    // Gamma and beta are untouched; momentum 1 copies the batch statistics.
    let Op::BatchNorm(after) = net.nodes()[1].op.clone() else {
        panic!("node 1 is the batch norm");
    };
    assert_eq!((after.gamma, after.beta), (before.gamma, before.beta));
    net.update_batch_norm_stats(&acts, 1.0).expect("update");
    let (rm, _) = net.batch_norm_stats_mut(1).expect("a batch norm");
    assert!((0..3).all(|c| (rm[c] as f64 - mean[c]).abs() < 1e-6));
    // Activations of another network are rejected.
    let mut other = crate::zoo::resnet_small(0, [2, 4, 4], 4).expect("valid");
    assert!(other.update_batch_norm_stats(&acts, 0.1).is_err());
}
