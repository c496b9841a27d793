//! Finite-difference checks of the ops of issue 11: every activation, broadcasting binary
//! ops, Slice, Pad and dilated convolutions.

use ndarray::{Array1, Array4};

use super::{Check, check_gradients, distinct, rng, uniform};
use crate::builder::NetworkBuilder;
use crate::graph::{Network, ValueId};
use crate::op::{Activation, Binary, Conv2d, Op, Pad, Slice};

fn net(
    input_shape: &[usize],
    f: impl FnOnce(&mut NetworkBuilder, ValueId) -> crate::Result<ValueId>,
) -> Network {
    let mut b = NetworkBuilder::new(input_shape.to_vec());
    let x = b.input();
    let y = f(&mut b, x).expect("valid test network");
    b.finish(y).expect("valid test network")
}

#[test]
fn activation_gradients() {
    let acts = [
        Activation::Clip {
            min: -0.5,
            max: 0.6,
        },
        Activation::LeakyRelu(0.1),
        Activation::Prelu(Array1::from(vec![0.2, -0.3, 0.5])),
        Activation::Prelu(Array1::from(vec![0.25])),
        Activation::Elu(1.0),
        Activation::Selu {
            alpha: 1.673_263_2,
            gamma: 1.050_701,
        },
        Activation::Sigmoid,
        Activation::HardSigmoid {
            alpha: 0.4,
            beta: 0.5,
        },
        Activation::HardSwish,
        Activation::Tanh,
        Activation::Softplus,
        Activation::Gelu { tanh: false },
        Activation::Gelu { tanh: true },
        Activation::Erf,
        Activation::Silu,
    ];
    for (i, act) in acts.into_iter().enumerate() {
        let n = net(&[3, 2, 2], |b, x| b.push(Op::Activation(act), &[x]));
        // Inputs spread over [−4, 4] (HardSwish's kinks at ±3), away from each other.
        let x = distinct(&[2, 3, 2, 2], 0.05, &mut rng(i as u64)).mapv(|v| v * 4.0);
        check_gradients(&n, &x, n.output(), Check::default(), i as u64);
    }
}

#[test]
fn broadcast_binary_gradients() {
    for (i, op) in [Binary::Add, Binary::Sub, Binary::Mul, Binary::Div]
        .into_iter()
        .enumerate()
    {
        // (C, H, W) ∘ (C, 1, 1) where the gate is a positive function of the input (Div).
        let n = net(&[3, 2, 2], |b, x| {
            let g = b.global_avg_pool(x)?;
            let g = b.push(Op::Activation(Activation::Sigmoid), &[g])?;
            b.push(Op::Binary(op), &[x, g])
        });
        let x = uniform(&[2, 3, 2, 2], -1.0, 1.0, &mut rng(10 + i as u64));
        check_gradients(&n, &x, n.output(), Check::default(), i as u64);
        // And the other way round: (C, 1, 1) ∘ (C, H, W).
        let n = net(&[3, 2, 2], |b, x| {
            let g = b.global_avg_pool(x)?;
            let d = b.push(Op::Activation(Activation::Softplus), &[x])?;
            b.push(Op::Binary(op), &[g, d])
        });
        check_gradients(&n, &x, n.output(), Check::default(), 20 + i as u64);
    }
}

#[test]
fn slice_and_pad_gradients() {
    let s = Slice {
        axis: 0,
        start: 1,
        step: 2,
        len: 2,
    };
    let n = net(&[5, 3], |b, x| b.push(Op::Slice(s), &[x]));
    let x = uniform(&[2, 5, 3], -1.0, 1.0, &mut rng(30));
    check_gradients(&n, &x, n.output(), Check::default(), 30);
    let p = Pad {
        begin: vec![0, 1, 2],
        end: vec![1, 0, 1],
        value: 0.5,
    };
    let n = net(&[2, 3, 3], |b, x| b.push(Op::Pad(p), &[x]));
    let x = uniform(&[2, 2, 3, 3], -1.0, 1.0, &mut rng(31));
    check_gradients(&n, &x, n.output(), Check::default(), 31);
}

#[test]
fn dilated_conv_gradients() {
    for (i, (groups, dil, pad)) in [(1, [2, 2], 2), (2, [2, 3], 1), (1, [3, 1], 0)]
        .into_iter()
        .enumerate()
    {
        let w = uniform(&[4, 4 / groups, 3, 2], -0.5, 0.5, &mut rng(40 + i as u64));
        let w: Array4<f32> = w.into_dimensionality().expect("4-D weight");
        let conv = Conv2d::new(w, Some(Array1::from(vec![0.1, -0.2, 0.3, 0.0])))
            .with_groups(groups)
            .with_dilation(dil)
            .with_stride([1, 2])
            .with_padding(pad);
        let n = net(&[4, 7, 7], |b, x| b.conv2d(x, conv));
        let x = uniform(&[2, 4, 7, 7], -1.0, 1.0, &mut rng(50 + i as u64));
        check_gradients(&n, &x, n.output(), Check::default(), i as u64);
    }
}
