//! Extraction invariants under proptest on random small networks built from the ops of
//! issue 11 (activations, dilated convs, Pad, Slice, broadcasting Add/Mul gates): one seed
//! logit, synapses ending in kept neurons, determinism, and θ monotonicity.

#![allow(clippy::unwrap_used)]

use effpath_algebra::ElementKind;
use effpath_extract::{ExtractOptions, Extractor, NetworkSpace};
use effpath_ir::{Activation, Binary, Conv2d, Network, NetworkBuilder, Op, Pad, Slice, ValueId};
use ndarray::{Array1, Array2, Array4, ArrayD, IxDyn};
use proptest::prelude::*;

/// A tiny deterministic generator (every choice comes from the seed).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> usize {
        (self.next() % n) as usize
    }
    fn value(&mut self) -> f32 {
        (self.next() % 2001) as f32 / 1000.0 - 1.0
    }
}

fn activation(g: &mut Lcg, channels: usize) -> Activation {
    match g.below(13) {
        0 => Activation::Clip { min: 0.0, max: 6.0 },
        1 => Activation::LeakyRelu(0.1),
        2 => Activation::Prelu(Array1::from_shape_fn(channels, |c| 0.1 * c as f32 - 0.2)),
        3 => Activation::Elu(1.0),
        4 => Activation::Selu {
            alpha: 1.673_263_2,
            gamma: 1.050_701,
        },
        5 => Activation::Sigmoid,
        6 => Activation::HardSigmoid {
            alpha: 0.2,
            beta: 0.5,
        },
        7 => Activation::HardSwish,
        8 => Activation::Tanh,
        9 => Activation::Softplus,
        10 => Activation::Gelu {
            tanh: g.below(2) == 1,
        },
        11 => Activation::Erf,
        _ => Activation::Silu,
    }
}

fn conv(g: &mut Lcg, cin: usize, cout: usize, dilation: [usize; 2], pad: usize) -> Conv2d {
    let w = Array4::from_shape_fn((cout, cin, 3, 3), |_| g.value());
    Conv2d::new(w, Some(Array1::from_shape_fn(cout, |_| 0.1 * g.value())))
        .with_dilation(dilation)
        .with_padding(pad)
}

/// A random network on `(2, 8, 8)` inputs: conv (maybe dilated) → activation → maybe Pad →
/// conv → activation → maybe a channel Slice → a broadcast gate (Mul or Add with a pooled,
/// activated branch) → global pool → flatten → dense to 4 classes.
fn random_network(seed: u64) -> Network {
    let mut g = Lcg(seed);
    let mut b = NetworkBuilder::new(vec![2, 8, 8]);
    let x = b.input();
    let d = 1 + g.below(2);
    let dw = 1 + g.below(2);
    let c1 = b.conv2d(x, conv(&mut g, 2, 4, [d, dw], d)).unwrap();
    let a1 = b
        .push(Op::Activation(activation(&mut g, 4)), &[c1])
        .unwrap();
    let mut h = a1;
    if g.below(2) == 1 {
        let p = Pad {
            begin: vec![0, 1, 0],
            end: vec![0, 0, 2],
            value: 0.1 * g.value(),
        };
        h = b.push(Op::Pad(p), &[h]).unwrap();
    }
    let c2 = b.conv2d(h, conv(&mut g, 4, 6, [1, 1], 1)).unwrap();
    let mut h: ValueId = b
        .push(Op::Activation(activation(&mut g, 6)), &[c2])
        .unwrap();
    let mut ch = 6;
    if g.below(2) == 1 {
        let s = Slice {
            axis: 0,
            start: g.below(2),
            step: 2,
            len: 3,
        };
        h = b.push(Op::Slice(s), &[h]).unwrap();
        ch = 3;
    }
    let pooled = b.global_avg_pool(h).unwrap();
    let gate = b
        .push(Op::Activation(Activation::Sigmoid), &[pooled])
        .unwrap();
    let op = if g.below(2) == 1 {
        Binary::Mul
    } else {
        Binary::Add
    };
    let gated = b.push(Op::Binary(op), &[h, gate]).unwrap();
    let gp = b.global_avg_pool(gated).unwrap();
    let f = b.flatten(gp).unwrap();
    let w = Array2::from_shape_fn((4, ch), |_| g.value());
    let y = b.dense(f, w, None).unwrap();
    b.finish(y).unwrap()
}

fn image(seed: u64) -> ArrayD<f32> {
    let mut g = Lcg(seed ^ 0x9e37_79b9);
    ArrayD::from_shape_fn(IxDyn(&[2, 8, 8]), |_| g.value())
}

fn synapse_output(op: &Op, s: &[usize], out: &[usize]) -> usize {
    match op {
        Op::Dense(_) => s[1],
        Op::Conv2d(_) => (s[3] * out[1] + s[4]) * out[2] + s[5],
        Op::GlobalAvgPool => s[0],
        other => panic!("unexpected traced op {}", other.kind()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn new_ops_keep_the_extraction_invariants(net_seed in 0u64..10_000, x in 0u64..10_000, t1 in 0.05f64..1.0, t2 in 0.05f64..1.0) {
        let net = random_network(net_seed);
        let img = image(x);
        let space = NetworkSpace::new(&net).unwrap();
        let (lo, hi) = if t1 <= t2 { (t1, t2) } else { (t2, t1) };
        let ex = Extractor::new(&net, ExtractOptions::default().with_theta(lo)).unwrap();
        let e = ex.extract(&img).unwrap();
        prop_assert_eq!(&e, &ex.extract(&img).unwrap());
        let p = &e.path;
        let last = p.layers().len() - 1;
        prop_assert_eq!(p.layers()[last].iter_ones(ElementKind::Neuron).collect::<Vec<_>>(), vec![e.seed_class]);
        for (l, layer) in p.layers().iter().enumerate() {
            let node = &net.nodes()[space.node_of_layer(l).unwrap()];
            let ls = &ex.space().layers()[l];
            let out = ls.shape(ElementKind::Neuron).to_vec();
            for syn in layer.iter_ones(ElementKind::Synapse) {
                let s = ls.unravel(ElementKind::Synapse, syn).unwrap();
                let o = synapse_output(&node.op, &s, &out);
                prop_assert!(layer.contains(ElementKind::Neuron, o), "layer {} synapse {} → neuron {} not kept", l, syn, o);
            }
        }
        let big = Extractor::new(&net, ExtractOptions::default().with_theta(hi)).unwrap().extract(&img).unwrap().path;
        prop_assert!(p.difference(&big).unwrap().is_empty(), "path at θ={} is not inside the path at θ={}", lo, hi);
    }
}
