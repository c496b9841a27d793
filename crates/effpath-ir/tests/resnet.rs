//! `zoo::resnet_small`: structure, seeded initialisation, training-mode forward/backward and
//! running-stat updates, and a bit-identical ONNX round trip.

#![allow(clippy::unwrap_used)]

use effpath_ir::{Mode, Network, Op, ParamGrad, ValueId, onnx, softmax_cross_entropy, zoo};
use ndarray::{ArrayD, IxDyn};

fn input(batch: usize, shape: &[usize]) -> ArrayD<f32> {
    let mut full = vec![batch];
    full.extend_from_slice(shape);
    let n: usize = full.iter().product();
    let data = (0..n)
        .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
        .collect();
    ArrayD::from_shape_vec(IxDyn(&full), data).unwrap()
}

fn node(net: &Network, name: &str) -> usize {
    net.nodes()
        .iter()
        .position(|n| n.name == name)
        .unwrap_or_else(|| panic!("no node {name}"))
}

#[test]
fn resnet_small_structure() {
    let net = zoo::resnet_small(0, [1, 28, 28], 10).unwrap();
    assert_eq!(net.parameter_count(), 77_754);
    assert_eq!(net.num_classes(), 10);
    assert_eq!(net.logits(), net.output());
    let kinds = |k: &str| net.nodes().iter().filter(|n| n.op.kind() == k).count();
    // stem + 2 per block + 2 projections.
    assert_eq!(kinds("Conv2d"), 9);
    assert_eq!(kinds("BatchNorm"), 9);
    assert_eq!(kinds("Add"), 3);
    assert_eq!(kinds("Relu"), 7);
    assert_eq!(kinds("Dense"), 1);
    assert_eq!(
        net.shape(ValueId(node(&net, "stem.relu") + 1)),
        &[16, 28, 28]
    );
    assert_eq!(
        net.shape(ValueId(node(&net, "block1.relu2") + 1)),
        &[16, 28, 28]
    );
    assert_eq!(
        net.shape(ValueId(node(&net, "block2.relu2") + 1)),
        &[32, 14, 14]
    );
    assert_eq!(
        net.shape(ValueId(node(&net, "block3.relu2") + 1)),
        &[64, 7, 7]
    );
    assert_eq!(net.shape(ValueId(node(&net, "pool") + 1)), &[64, 1, 1]);
    // block1 has an identity shortcut (adds the stem output); blocks 2 and 3 project.
    let add1 = &net.nodes()[node(&net, "block1.add")];
    assert_eq!(add1.inputs[1], ValueId(node(&net, "stem.relu") + 1));
    let add2 = &net.nodes()[node(&net, "block2.add")];
    assert_eq!(add2.inputs[1], ValueId(node(&net, "block2.proj.bn") + 1));
    let Op::Conv2d(proj) = &net.nodes()[node(&net, "block3.proj.conv")].op else {
        panic!("a conv");
    };
    assert_eq!(
        (proj.weight.dim(), proj.window.stride),
        ((64, 32, 1, 1), [2, 2])
    );
    // Convs have no bias, batch norms start as the identity, the dense bias is 0.
    for n in net.nodes() {
        match &n.op {
            Op::Conv2d(c) => assert!(c.bias.is_none(), "{}", n.name),
            Op::BatchNorm(b) => {
                assert!(b.gamma.iter().all(|&v| v == 1.0) && b.beta.iter().all(|&v| v == 0.0));
                assert!(b.mean.iter().all(|&v| v == 0.0) && b.var.iter().all(|&v| v == 1.0));
                assert_eq!(b.epsilon, 1e-5);
            }
            Op::Dense(d) => assert!(d.bias.as_ref().unwrap().iter().all(|&v| v == 0.0)),
            _ => {}
        }
    }
    // He-normal: the 36,864 weights of block3.conv2 have std ≈ sqrt(2 / 576).
    let Op::Conv2d(c) = &net.nodes()[node(&net, "block3.conv2")].op else {
        panic!("a conv");
    };
    let n = c.weight.len() as f64;
    let mean = c.weight.iter().map(|&v| v as f64).sum::<f64>() / n;
    let std = (c
        .weight
        .iter()
        .map(|&v| (v as f64 - mean).powi(2))
        .sum::<f64>()
        / n)
        .sqrt();
    let want = (2.0f64 / 576.0).sqrt();
    assert!(
        mean.abs() < 0.1 * want && (std / want - 1.0).abs() < 0.03,
        "{mean} {std}"
    );
}

#[test]
fn resnet_small_is_seeded_and_checks_its_arguments() {
    let a = zoo::resnet_small(3, [1, 28, 28], 10).unwrap();
    assert_eq!(a, zoo::resnet_small(3, [1, 28, 28], 10).unwrap());
    assert_ne!(
        a.fingerprint(),
        zoo::resnet_small(4, [1, 28, 28], 10).unwrap().fingerprint()
    );
    // Other input sizes and channel counts work (odd sizes, tiny images, RGB).
    for (shape, classes) in [([3, 32, 32], 100), ([1, 5, 7], 2), ([2, 1, 1], 1)] {
        let net = zoo::resnet_small(0, shape, classes).unwrap();
        let logits = net.predict(&input(2, &shape)).unwrap();
        assert_eq!(logits.dim(), (2, classes));
        assert!(logits.iter().all(|v| v.is_finite()));
    }
    assert!(zoo::resnet_small(0, [0, 28, 28], 10).is_err());
    assert!(zoo::resnet_small(0, [1, 28, 0], 10).is_err());
    assert!(zoo::resnet_small(0, [1, 28, 28], 0).is_err());
}

/// A few SGD steps in training mode with running-stat updates, as `effpath-train` does.
fn trained_a_little(net: &mut Network, x: &ArrayD<f32>, labels: &[usize]) -> Vec<f32> {
    let mut losses = Vec::new();
    for _ in 0..5 {
        let acts = net.forward_train(x).unwrap();
        let (loss, g) = softmax_cross_entropy(&acts.logits(), labels).unwrap();
        losses.push(loss);
        let grads = net.backward(&acts, &g.into_dyn(), net.logits()).unwrap();
        for i in 0..net.nodes().len() {
            let Some(pg) = grads.param(i).cloned() else {
                continue;
            };
            for (mut w, g) in net.parameters_mut(i).into_iter().zip(pg.tensors()) {
                w.scaled_add(-0.05, &g);
            }
        }
        net.update_batch_norm_stats(&acts, 0.1).unwrap();
    }
    losses
}

#[test]
fn training_mode_steps_learn_and_move_the_running_statistics() {
    let mut net = zoo::resnet_small(1, [1, 12, 12], 4).unwrap();
    let x = input(8, &[1, 12, 12]);
    let labels = [0, 1, 2, 3, 0, 1, 2, 3];
    let before = net.clone();
    // Every batch norm gets gamma/beta gradients in training mode.
    let acts = net.forward_train(&x).unwrap();
    assert_eq!(acts.mode(), Mode::Train);
    let (_, g) = softmax_cross_entropy(&acts.logits(), &labels).unwrap();
    let grads = net.backward(&acts, &g.into_dyn(), net.logits()).unwrap();
    for (i, n) in net.nodes().iter().enumerate() {
        if let Some(ParamGrad::BatchNorm { gamma, .. }) = grads.param(i) {
            assert!(acts.batch_norm_stats(i).is_some(), "{}", n.name);
            assert!(gamma.iter().any(|&v| v != 0.0), "{}", n.name);
        }
    }
    let losses = trained_a_little(&mut net, &x, &labels);
    assert!(losses[4] < losses[0], "{losses:?}");
    for i in 0..net.nodes().len() {
        if let Op::BatchNorm(b) = &net.nodes()[i].op {
            let Op::BatchNorm(b0) = &before.nodes()[i].op else {
                unreachable!()
            };
            assert_ne!(b.mean, b0.mean, "{}", net.nodes()[i].name);
            assert_ne!(b.var, b0.var, "{}", net.nodes()[i].name);
        }
    }
}

fn assert_onnx_roundtrip(net: &Network) {
    let bytes = onnx::to_bytes(net);
    let back = onnx::from_bytes(&bytes).unwrap();
    assert_eq!(back.fingerprint(), net.fingerprint());
    assert_eq!(back.nodes().len(), net.nodes().len());
    let x = input(3, net.input_shape());
    let (a, b) = (net.predict(&x).unwrap(), back.predict(&x).unwrap());
    assert!(
        a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()),
        "logits differ after the round trip"
    );
    let (a, b) = (net.forward(&x).unwrap(), back.forward(&x).unwrap());
    assert_eq!(a.values(), b.values());
}

#[test]
fn resnet_small_onnx_roundtrip_is_bit_identical() {
    let net = zoo::resnet_small(7, [1, 28, 28], 10).unwrap();
    assert_onnx_roundtrip(&net);
    // With non-trivial weights, batch-norm parameters and running statistics.
    let mut net = zoo::resnet_small(8, [1, 10, 10], 3).unwrap();
    let x = input(6, &[1, 10, 10]);
    trained_a_little(&mut net, &x, &[0, 1, 2, 0, 1, 2]);
    let net = net.with_input_normalization(Some([0.286, 0.353])).unwrap();
    assert_onnx_roundtrip(&net);
}
