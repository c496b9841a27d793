//! One finite-difference check per op (and per interesting configuration of an op).

use ndarray::{Array1, Array2, ArrayD, IxDyn};

use super::{Check, check_gradients, distinct, rng, uniform};
use crate::builder::NetworkBuilder;
use crate::graph::{Network, ValueId};
use crate::op::{BatchNorm, Conv2d, Lrn, Op, Window2d};

/// Builds a network from `input_shape` with `f(builder, input) -> output`.
fn net(
    input_shape: &[usize],
    f: impl FnOnce(&mut NetworkBuilder, ValueId) -> crate::Result<ValueId>,
) -> Network {
    let mut b = NetworkBuilder::new(input_shape.to_vec());
    let x = b.input();
    let y = f(&mut b, x).expect("valid test network");
    b.finish(y).expect("valid test network")
}

/// Checks a network with random weights on a batch of 3 random inputs.
fn check_random(net: &Network, seed: u64, chk: Check) {
    let net = net.with_random_weights(seed);
    let mut shape = vec![3];
    shape.extend_from_slice(net.input_shape());
    let x = uniform(&shape, -1.0, 1.0, &mut rng(seed + 100));
    check_gradients(&net, &x, net.output(), chk, seed);
}

fn conv(cout: usize, cin_g: usize, k: [usize; 2], seed: u64, bias: bool) -> Conv2d {
    let mut r = rng(seed);
    let w = uniform(&[cout, cin_g, k[0], k[1]], -0.5, 0.5, &mut r);
    let w = w.into_dimensionality::<ndarray::Ix4>().expect("4-D weight");
    let b = bias.then(|| Array1::from_shape_fn(cout, |i| 0.1 * i as f32 - 0.2));
    Conv2d::new(w, b)
}

#[test]
fn dense_gradients() {
    let n = net(&[6], |b, x| {
        b.dense(x, Array2::zeros((4, 6)), Some(Array1::zeros(4)))
    });
    check_random(&n, 1, Check::default());
    let n = net(&[5], |b, x| b.dense(x, Array2::zeros((3, 5)), None));
    check_random(&n, 2, Check::default());
}

#[test]
fn conv_gradients_grouped_strided_asymmetric_padding() {
    /// `(groups, cout, kernel, stride, pads_begin, pads_end, bias)`.
    type Case = (
        usize,
        usize,
        [usize; 2],
        [usize; 2],
        [usize; 2],
        [usize; 2],
        bool,
    );
    let cases: [Case; 6] = [
        (1, 3, [3, 3], [1, 1], [0, 0], [0, 0], true),
        (2, 6, [3, 2], [2, 1], [1, 0], [2, 1], true),
        (4, 8, [2, 2], [1, 2], [1, 1], [1, 1], false),
        (2, 4, [1, 1], [1, 1], [0, 0], [0, 0], true), // direct 1×1 path
        (1, 2, [1, 1], [2, 2], [1, 0], [0, 1], true), // 1×1 but strided and padded
        (4, 4, [3, 3], [2, 2], [2, 1], [0, 2], true), // depthwise
    ];
    for (i, &(groups, cout, k, stride, pb, pe, bias)) in cases.iter().enumerate() {
        let mut c = conv(cout, 4 / groups, k, i as u64, bias)
            .with_groups(groups)
            .with_stride(stride);
        c.window.pads_begin = pb;
        c.window.pads_end = pe;
        let n = net(&[4, 7, 6], |b, x| b.conv2d(x, c));
        let x = uniform(&[2, 4, 7, 6], -1.0, 1.0, &mut rng(i as u64));
        check_gradients(&n, &x, n.output(), Check::default(), 10 + i as u64);
    }
}

#[test]
fn max_pool_gradients_without_ties() {
    for (i, (k, s, pb, pe)) in [
        ([2, 2], [2, 2], [0, 0], [0, 0]),
        ([3, 3], [2, 1], [1, 0], [1, 2]),
        ([3, 2], [1, 2], [2, 1], [0, 1]),
    ]
    .into_iter()
    .enumerate()
    {
        let mut w = Window2d::new(k, s);
        w.pads_begin = pb;
        w.pads_end = pe;
        let n = net(&[2, 6, 7], |b, x| b.max_pool(x, w));
        let x = distinct(&[2, 2, 6, 7], 0.05, &mut rng(i as u64));
        check_gradients(&n, &x, n.output(), Check::default(), i as u64);
    }
}

#[test]
fn max_pool_ties_go_to_the_first_maximum() {
    let n = net(&[1, 2, 3], |b, x| {
        b.max_pool(x, Window2d::new([2, 3], [1, 1]))
    });
    let x = ArrayD::from_shape_vec(IxDyn(&[1, 1, 2, 3]), vec![0., 5., 5., 5., 1., 5.]).unwrap();
    let acts = n.forward(&x).unwrap();
    let g = ArrayD::from_elem(IxDyn(&[1, 1, 1, 1]), 2.0);
    let dx = n.backward_input(&acts, &g, n.output()).unwrap();
    assert_eq!(
        dx.iter().copied().collect::<Vec<_>>(),
        [0., 2., 0., 0., 0., 0.]
    );
}

#[test]
fn avg_pool_gradients_with_and_without_count_include_pad() {
    for include in [true, false] {
        let mut w = Window2d::new([3, 3], [2, 1]);
        w.pads_begin = [1, 2];
        w.pads_end = [2, 0];
        let n = net(&[2, 6, 5], |b, x| b.avg_pool(x, w, include));
        check_random(&n, 3, Check::default());
    }
    let n = net(&[3, 4, 5], |b, x| b.global_avg_pool(x));
    check_random(&n, 4, Check::default());
}

#[test]
fn relu_gradients() {
    let n = net(&[3, 4, 2], |b, x| b.relu(x));
    let x = distinct(&[2, 3, 4, 2], 0.05, &mut rng(5));
    check_gradients(&n, &x, n.output(), Check::default(), 5);
    // Exactly at the kink the gradient is 0.
    let n = net(&[2], |b, x| b.relu(x));
    let x = ArrayD::from_shape_vec(IxDyn(&[1, 2]), vec![0.0, 1.0]).unwrap();
    let acts = n.forward(&x).unwrap();
    let g = ArrayD::from_elem(IxDyn(&[1, 2]), 3.0);
    let dx = n.backward_input(&acts, &g, n.output()).unwrap();
    assert_eq!(dx.iter().copied().collect::<Vec<_>>(), [0.0, 3.0]);
}

#[test]
fn lrn_gradients() {
    for (i, size) in [1usize, 3, 4, 7].into_iter().enumerate() {
        let l = Lrn {
            size,
            alpha: 1.5,
            beta: 0.75,
            bias: 1.0,
        };
        let n = net(&[5, 2, 3], |b, x| b.lrn(x, l));
        let x = uniform(&[2, 5, 2, 3], -2.0, 2.0, &mut rng(i as u64));
        check_gradients(&n, &x, n.output(), Check::default(), i as u64);
    }
}

#[test]
fn batch_norm_gradients() {
    for shape in [vec![3, 4, 4], vec![5]] {
        let c = shape[0];
        let mut r = rng(6);
        let mut vec = |lo, hi| uniform(&[c], lo, hi, &mut r).into_dimensionality().unwrap();
        let bn = BatchNorm {
            gamma: vec(0.5, 1.5),
            beta: vec(-0.5, 0.5),
            mean: vec(-0.5, 0.5),
            var: vec(0.5, 2.0),
            epsilon: 1e-3,
        };
        let n = net(&shape, |b, x| b.batch_norm(x, bn));
        let mut xs = vec![2];
        xs.extend_from_slice(&shape);
        let x = uniform(&xs, -1.0, 1.0, &mut rng(7));
        check_gradients(&n, &x, n.output(), Check::default(), 7);
    }
}

#[test]
fn reshape_flatten_transpose_gradients() {
    let n = net(&[2, 3, 4], |b, x| {
        let t = b.push(Op::Transpose(vec![2, 0, 1]), &[x])?;
        let r = b.push(Op::Reshape(vec![4, 6]), &[t])?;
        let t2 = b.push(Op::Transpose(vec![1, 0]), &[r])?;
        b.flatten(t2)
    });
    check_random(&n, 8, Check::default());
    // A 3-cycle is not its own inverse: catches a gradient permuted the wrong way.
    let n = net(&[2, 3, 4], |b, x| {
        b.push(Op::Transpose(vec![1, 2, 0]), &[x])
    });
    check_random(&n, 9, Check::default());
}

#[test]
fn add_accumulates_every_reader() {
    let c = conv(2, 2, [3, 3], 3, true).with_padding(1);
    // x is read by the conv and twice by the add.
    let n = net(&[2, 4, 4], |b, x| {
        let y = b.conv2d(x, c)?;
        b.add(&[x, y, x])
    });
    check_random(&n, 10, Check::default());
}

#[test]
fn concat_gradients_on_every_axis() {
    for axis in 0..3 {
        let c = conv(3, 3, [3, 3], 4, true).with_padding(1);
        let n = net(&[3, 3, 4], |b, x| {
            let y = b.conv2d(x, c)?;
            let p = b.avg_pool(x, Window2d::new([3, 3], [1, 1]).with_padding(1), false)?;
            b.concat(&[y, x, p], axis)
        });
        check_random(&n, 11 + axis as u64, Check::default());
    }
}

#[test]
fn softmax_and_log_softmax_gradients() {
    for shape in [vec![6], vec![2, 3]] {
        let n = net(&shape, |b, x| b.softmax(x));
        check_random(&n, 12, Check::default());
        let n = net(&shape, |b, x| b.push(Op::LogSoftmax, &[x]));
        check_random(&n, 13, Check::default());
    }
}

#[test]
fn conv_weight_gradient_is_zero_after_at_and_errors_are_typed() {
    let c = conv(2, 1, [3, 3], 5, true);
    let n = net(&[1, 5, 5], |b, x| {
        let y = b.conv2d(x, c)?;
        let r = b.relu(y)?;
        let f = b.flatten(r)?;
        b.dense(f, Array2::from_elem((3, 18), 0.1), None)
    });
    let x = uniform(&[2, 1, 5, 5], -1.0, 1.0, &mut rng(0));
    let acts = n.forward(&x).unwrap();
    // Loss on the conv output: the dense layer gets zero gradients.
    let g = ArrayD::from_elem(IxDyn(&[2, 2, 3, 3]), 1.0);
    let grads = n.backward(&acts, &g, ValueId(1)).unwrap();
    let Some(super::super::ParamGrad::Dense { weight, bias }) = grads.param(3) else {
        panic!("node 3 is dense");
    };
    assert!(weight.iter().all(|&v| v == 0.0) && bias.is_none());
    assert!(grads.param(1).is_none());
    // Wrong gradient shape, wrong batch, unknown value.
    let bad = ArrayD::from_elem(IxDyn(&[2, 3, 3, 2]), 1.0);
    assert!(matches!(
        n.backward(&acts, &bad, ValueId(1)),
        Err(crate::IrError::Shape { .. })
    ));
    let bad = ArrayD::from_elem(IxDyn(&[3, 2, 3, 3]), 1.0);
    assert!(matches!(
        n.backward(&acts, &bad, ValueId(1)),
        Err(crate::IrError::Shape { .. })
    ));
    assert!(matches!(
        n.backward(&acts, &g, ValueId(9)),
        Err(crate::IrError::Graph(_))
    ));
    // Activations of another network.
    let other = net(&[1, 5, 5], |b, x| b.relu(x));
    let other_acts = other.forward(&x).unwrap();
    assert!(n.backward(&other_acts, &g, ValueId(1)).is_err());
    let lenet = crate::zoo::lenet5(0);
    let lacts = lenet
        .forward(&ArrayD::zeros(IxDyn(&[2, 1, 28, 28])))
        .unwrap();
    assert!(matches!(
        n.backward(&lacts, &g, ValueId(1)),
        Err(crate::IrError::Graph(_))
    ));
    // Same value count, different shapes.
    let other = net(&[1, 5, 5], |b, x| {
        let r = b.relu(x)?;
        let r = b.relu(r)?;
        let r = b.relu(r)?;
        b.flatten(r)
    });
    let other_acts = other.forward(&x).unwrap();
    assert!(matches!(
        n.backward(&other_acts, &g, ValueId(1)),
        Err(crate::IrError::Shape { .. })
    ));
}
