//! Whole-network checks: LeNet-5, a residual block with batch norm, and `input_gradient`.

use ndarray::{Array1, Array2, Array4, Axis};

use super::{Check, check_gradients, rng, uniform};
use crate::builder::NetworkBuilder;
use crate::graph::Network;
use crate::op::{BatchNorm, Conv2d, Op};
use crate::softmax_cross_entropy;

#[test]
fn lenet5_input_and_parameter_gradients() {
    let net = crate::zoo::lenet5(3).with_random_weights(4);
    let x = uniform(&[2, 1, 28, 28], 0.0, 1.0, &mut rng(1));
    let chk = Check {
        eps: 1e-3,
        tol: 2e-2,
        max_coords: 40,
        one_sided: true,
    };
    check_gradients(&net, &x, net.logits(), chk, 2);
}

/// conv → BN → relu → conv → BN → add(skip) → relu → global avg pool → flatten → dense →
/// log-softmax, with random weights and non-trivial batch-norm statistics.
pub(super) fn residual(seed: u64) -> Network {
    let mut b = NetworkBuilder::new(vec![3, 6, 6]);
    let bn = |c: usize| BatchNorm {
        gamma: Array1::ones(c),
        beta: Array1::zeros(c),
        mean: Array1::zeros(c),
        var: Array1::ones(c),
        epsilon: 1e-5,
    };
    let conv = |cout: usize, cin: usize| {
        Conv2d::new(Array4::zeros((cout, cin, 3, 3)), Some(Array1::zeros(cout))).with_padding(1)
    };
    let x = b.input();
    let build = |b: &mut NetworkBuilder| -> crate::Result<_> {
        let c1 = b.conv2d(x, conv(4, 3))?;
        let n1 = b.batch_norm(c1, bn(4))?;
        let h = b.relu(n1)?;
        let c2 = b.conv2d(h, conv(4, 4))?;
        let n2 = b.batch_norm(c2, bn(4))?;
        let s = b.add(&[n2, h])?;
        let r = b.relu(s)?;
        let g = b.global_avg_pool(r)?;
        let f = b.flatten(g)?;
        let d = b.dense(f, Array2::zeros((5, 4)), Some(Array1::zeros(5)))?;
        b.push(Op::LogSoftmax, &[d])
    };
    let y = build(&mut b).expect("residual shapes are consistent");
    let mut net = b
        .finish(y)
        .expect("residual net is valid")
        .with_random_weights(seed);
    let mut r = rng(seed);
    for node in net.nodes_mut() {
        if let Op::BatchNorm(bn) = &mut node.op {
            let c = bn.gamma.len();
            let mut v = |lo, hi| {
                uniform(&[c], lo, hi, &mut r)
                    .into_dimensionality()
                    .expect("1-D")
            };
            bn.gamma = v(0.5, 1.5);
            bn.beta = v(-0.5, 0.5);
            bn.mean = v(-0.3, 0.3);
            bn.var = v(0.5, 2.0);
        }
    }
    net
}

#[test]
fn residual_network_with_batch_norm() {
    let net = residual(5);
    assert_eq!(
        net.consumers()[3].len(),
        2,
        "the skip value has two readers"
    );
    let x = uniform(&[3, 3, 6, 6], -1.0, 1.0, &mut rng(6));
    let chk = Check {
        eps: 1e-3,
        tol: 2e-2,
        max_coords: 60,
        one_sided: true,
    };
    check_gradients(&net, &x, net.output(), chk, 7);
    check_gradients(&net, &x, net.logits(), chk, 8);
}

#[test]
fn input_gradient_matches_backward_and_keeps_the_input_shape() {
    let net = crate::zoo::lenet5(9).with_random_weights(1);
    let x = uniform(&[3, 1, 28, 28], 0.0, 1.0, &mut rng(2));
    let labels = [1, 5, 9];
    let mut loss = 0.0;
    let dx = net
        .input_gradient(&x, |z| {
            let (l, g) = softmax_cross_entropy(z, &labels)?;
            loss = l;
            Ok(g)
        })
        .unwrap();
    assert_eq!(dx.shape(), x.shape());
    let acts = net.forward(&x).unwrap();
    let (l2, g) = softmax_cross_entropy(&acts.logits(), &labels).unwrap();
    assert_eq!(loss, l2);
    let want = net.backward(&acts, &g.into_dyn(), net.logits()).unwrap();
    assert_eq!(&dx, want.input());
    // The loss grows along the gradient (one small FGSM-like step).
    let step = 1e-2 / dx.mapv(|v| v * v).sum().sqrt();
    let x2 = &x + &dx.mapv(|v| v * step);
    let l3 = softmax_cross_entropy(&net.predict(&x2).unwrap(), &labels)
        .unwrap()
        .0;
    assert!(l3 > loss, "{l3} ≤ {loss}");
    // A single unbatched sample gives an unbatched gradient equal to the batched one.
    let x0 = x.index_axis(Axis(0), 0).to_owned();
    let d0 = net
        .input_gradient(&x0, |z| Ok(softmax_cross_entropy(z, &labels[..1])?.1))
        .unwrap();
    assert_eq!(d0.shape(), &[1, 28, 28]);
    let want0 = dx.index_axis(Axis(0), 0).mapv(|v| v * 3.0); // mean over 1 sample, not 3
    let err = (&d0 - &want0).mapv(f32::abs).fold(0f32, |a, &b| a.max(b));
    assert!(err < 1e-5, "max err {err}");
    // Errors of `grad_fn` and wrong gradient shapes are reported, not panicked.
    assert!(
        net.input_gradient(&x, |z| softmax_cross_entropy(z, &[0]).map(|p| p.1))
            .is_err()
    );
    assert!(matches!(
        net.input_gradient(&x, |_| Ok(Array2::zeros((3, 9)))),
        Err(crate::IrError::Shape { .. })
    ));
}

/// Seeds on several values give the sum of the single-seed input gradients (up to the
/// rounding of the order the contributions meet in), and two seeds on one value add up.
#[test]
fn seeded_backward_is_the_sum_of_single_seeds() {
    let net = residual(5);
    let x = uniform(&[2, 3, 6, 6], -1.0, 1.0, &mut rng(3));
    let acts = net.forward(&x).unwrap();
    let values: Vec<crate::graph::ValueId> = net
        .weighted_nodes()
        .into_iter()
        .map(|i| crate::graph::ValueId(i + 1))
        .collect();
    assert!(values.len() >= 2);
    let seeds: Vec<(crate::graph::ValueId, ndarray::ArrayD<f32>)> = values
        .iter()
        .enumerate()
        .map(|(k, &v)| {
            (
                v,
                uniform(acts.get(v).shape(), -1.0, 1.0, &mut rng(10 + k as u64)),
            )
        })
        .collect();
    let refs: Vec<_> = seeds.iter().map(|(v, g)| (*v, g)).collect();
    let got = net.backward_input_seeded(&acts, &refs).unwrap();
    let mut want = ndarray::ArrayD::<f32>::zeros(x.raw_dim());
    for (v, g) in &seeds {
        want += &net.backward_input(&acts, g, *v).unwrap();
    }
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
    let err = (&got - &want).iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(scale > 0.0 && err <= 1e-5 * scale, "err {err} of {scale}");
    let (v, g) = (&seeds[0].0, &seeds[0].1);
    let twice = net
        .backward_input_seeded(&acts, &[(*v, g), (*v, g)])
        .unwrap();
    let once = net.backward_input(&acts, &g.mapv(|e| 2.0 * e), *v).unwrap();
    assert_eq!(twice, once);
    assert!(
        net.backward_input_seeded(&acts, &[(crate::graph::ValueId(999), g)])
            .is_err()
    );
}

/// `backward_params_of` gives the full pass's parameter gradients of the nodes asked for,
/// `None` for the others, and the same input gradient.
#[test]
fn parameter_gradients_of_chosen_nodes_equal_the_full_pass() {
    let net = crate::zoo::lenet5(4).with_random_weights(2);
    let x = uniform(&[2, 1, 28, 28], 0.0, 1.0, &mut rng(3));
    let acts = net.forward(&x).unwrap();
    let (_, g) = softmax_cross_entropy(&acts.logits(), &[3, 8]).unwrap();
    let g = g.into_dyn();
    let full = net.backward(&acts, &g, net.logits()).unwrap();
    let weighted = net.weighted_nodes();
    let chosen = [weighted[1], weighted[3]];
    let some = net
        .backward_params_of(&acts, &g, net.logits(), &chosen)
        .unwrap();
    assert_eq!(some.input(), full.input());
    for i in 0..net.nodes().len() {
        if chosen.contains(&i) {
            assert_eq!(some.param(i), full.param(i), "node {i}");
        } else {
            assert!(some.param(i).is_none(), "node {i} was not asked for");
        }
    }
}
