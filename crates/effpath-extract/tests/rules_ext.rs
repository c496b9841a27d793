//! The rules of the ops PyTorch exports (decisions 18–23) on tiny networks with
//! hand-computed expectations.

#![allow(clippy::unwrap_used)]

use effpath_algebra::{ElementKind, Path};
use effpath_extract::{ExtractOptions, Extractor};
use effpath_ir::{Activation, Binary, Conv2d, Network, NetworkBuilder, Op, Pad, Slice, ValueId};
use ndarray::{Array2, Array4, ArrayD, IxDyn};

fn arr(shape: &[usize], v: &[f32]) -> ArrayD<f32> {
    ArrayD::from_shape_vec(IxDyn(shape), v.to_vec()).unwrap()
}

fn ones(path: &Path, layer: usize, kind: ElementKind) -> Vec<usize> {
    path.layers()[layer].iter_ones(kind).collect()
}

fn run(net: &Network, x: &ArrayD<f32>, theta: f64) -> Path {
    Extractor::new(net, ExtractOptions::default().with_theta(theta))
        .unwrap()
        .extract(x)
        .unwrap()
        .path
}

fn dense(b: &mut NetworkBuilder, x: ValueId, rows: &[&[f32]]) -> ValueId {
    let w = Array2::from_shape_vec((rows.len(), rows[0].len()), rows.concat()).unwrap();
    b.dense(x, w, None).unwrap()
}

fn identity(n: usize) -> Vec<Vec<f32>> {
    (0..n)
        .map(|i| (0..n).map(|j| f32::from(u8::from(i == j))).collect())
        .collect()
}

fn conv1x1_identity(b: &mut NetworkBuilder, x: ValueId, c: usize) -> ValueId {
    let mut k = Array4::zeros((c, c, 1, 1));
    for i in 0..c {
        k[[i, i, 0, 0]] = 1.0;
    }
    b.conv2d(x, Conv2d::new(k, None)).unwrap()
}

#[test]
fn activations_pass_kept_neurons_through_like_relu() {
    let mut b = NetworkBuilder::new(vec![3]);
    let x = b.input();
    let id = identity(3);
    let rows: Vec<&[f32]> = id.iter().map(Vec::as_slice).collect();
    let h = dense(&mut b, x, &rows);
    let t = b.push(Op::Activation(Activation::Tanh), &[h]).unwrap();
    let y = dense(&mut b, t, &[&[1.0, -1.0, 1.0]]);
    let net = b.finish(y).unwrap();
    // tanh([1, −2, 0.5]) = [0.76, −0.96, 0.46]; products [0.76, 0.96, 0.46], Σ 2.18, half
    // 1.09 → inputs 1 then 0; tanh passes them to the first layer's neurons 0 and 1.
    let p = run(&net, &arr(&[3], &[1.0, -2.0, 0.5]), 0.5);
    assert_eq!(ones(&p, 0, ElementKind::Neuron), vec![0, 1]);
    assert_eq!(ones(&p, 1, ElementKind::Synapse), vec![0, 1]);
}

/// conv 1×1 identity `a` of x `(2, 1, 2)`, gate `g` = global pool of x `(2, 1, 1)`,
/// `a ∘ g` flattened, a dense reading element 3 (channel 1, column 1).
fn gate_net(op: Binary) -> Network {
    let mut b = NetworkBuilder::new(vec![2, 1, 2]);
    let x = b.input();
    let a = conv1x1_identity(&mut b, x, 2);
    let g = b.global_avg_pool(x).unwrap();
    let y = b.push(Op::Binary(op), &[a, g]).unwrap();
    let f = b.flatten(y).unwrap();
    let out = dense(&mut b, f, &[&[0.0, 0.0, 0.0, 1.0]]);
    b.finish(out).unwrap()
}

#[test]
fn broadcast_add_selects_a_summand_at_the_mapped_index() {
    let net = gate_net(Binary::Add);
    let x = arr(&[2, 1, 2], &[1.0, 2.0, 3.0, 5.0]);
    // y[3] = a[3] + g[1] = 5 + 4. θ = 0.5: one summand, the larger: a[3]; the gate's pool is
    // not reached.
    let p = run(&net, &x, 0.5);
    assert_eq!(ones(&p, 0, ElementKind::Neuron), vec![3]);
    assert!(ones(&p, 1, ElementKind::Neuron).is_empty());
    // θ = 0.9: 5 < 8.1, so both; gate channel 1 = mean(3, 5) keeps both inputs (8 ≥ 7.2).
    let p = run(&net, &x, 0.9);
    assert_eq!(ones(&p, 0, ElementKind::Neuron), vec![3]);
    assert_eq!(ones(&p, 1, ElementKind::Neuron), vec![1]);
    assert_eq!(ones(&p, 1, ElementKind::Synapse), vec![2, 3]);
}

#[test]
fn gating_mul_keeps_the_gated_neuron_and_traces_the_gate() {
    let net = gate_net(Binary::Mul);
    let x = arr(&[2, 1, 2], &[1.0, 2.0, 3.0, 5.0]);
    // y[3] = a[3]·g[1] = 20: both factors kept at any θ; the gate's pool then selects 5 of
    // (3, 5) at θ = 0.5.
    let p = run(&net, &x, 0.5);
    assert_eq!(ones(&p, 0, ElementKind::Neuron), vec![3]);
    assert_eq!(ones(&p, 1, ElementKind::Neuron), vec![1]);
    assert_eq!(ones(&p, 1, ElementKind::Synapse), vec![3]);
}

#[test]
fn slice_maps_output_points_to_strided_inputs() {
    let mut b = NetworkBuilder::new(vec![4]);
    let x = b.input();
    let id = identity(4);
    let rows: Vec<&[f32]> = id.iter().map(Vec::as_slice).collect();
    let h = dense(&mut b, x, &rows);
    let s = Slice {
        axis: 0,
        start: 1,
        step: 2,
        len: 2,
    };
    let s = b.push(Op::Slice(s), &[h]).unwrap();
    let y = dense(&mut b, s, &[&[1.0, 1.0]]);
    let net = b.finish(y).unwrap();
    // Slice picks h[1], h[3] = 2, 7; θ = 0.5 keeps the 7 = slice point 1 = input 3.
    let p = run(&net, &arr(&[4], &[0.0, 2.0, 0.0, 7.0]), 0.5);
    assert_eq!(ones(&p, 1, ElementKind::Synapse), vec![1]);
    assert_eq!(ones(&p, 0, ElementKind::Neuron), vec![3]);
}

fn pad_net(value: f32) -> Network {
    let mut b = NetworkBuilder::new(vec![1, 2, 2]);
    let x = b.input();
    let c = conv1x1_identity(&mut b, x, 1);
    let pad = Pad {
        begin: vec![0, 1, 0],
        end: vec![0, 0, 1],
        value,
    };
    let p = b.push(Op::Pad(pad), &[c]).unwrap();
    let f = b.flatten(p).unwrap();
    let out = dense(&mut b, f, &[&[1.0; 9]]);
    b.finish(out).unwrap()
}

#[test]
fn pad_subtracts_the_leading_padding_and_drops_padded_points() {
    let x = arr(&[1, 2, 2], &[1.0, 2.0, 3.0, 4.0]);
    // Padded 3×3: [0 0 0; 1 2 0; 3 4 0]; Σ 10, half 5 → 4 and 3 (flat 7, 6) → conv (1, 1)
    // and (1, 0) = flat 3, 2.
    let p = run(&pad_net(0.0), &x, 0.5);
    assert_eq!(ones(&p, 1, ElementKind::Synapse), vec![6, 7]);
    assert_eq!(ones(&p, 0, ElementKind::Neuron), vec![2, 3]);
    // Padding 5: the four first 5s (flat 0, 1, 2, 5) reach half of 35; all are padding, so
    // nothing reaches the conv.
    let p = run(&pad_net(5.0), &x, 0.5);
    assert_eq!(ones(&p, 1, ElementKind::Synapse), vec![0, 1, 2, 5]);
    assert!(ones(&p, 0, ElementKind::Neuron).is_empty());
}

#[test]
fn dilated_conv_uses_the_dilated_taps_and_true_kernel_offsets() {
    let mut b = NetworkBuilder::new(vec![1, 5, 5]);
    let x = b.input();
    let k = Array4::from_shape_vec((1, 1, 2, 2), vec![1.0, 2.0, 3.0, 4.0]).unwrap();
    let c = b
        .conv2d(x, Conv2d::new(k, None).with_dilation([2, 2]))
        .unwrap();
    assert_eq!(b.shape(c), Some(&[1, 3, 3][..]));
    let f = b.flatten(c).unwrap();
    let mut onehot = vec![0.0f32; 9];
    onehot[0] = 1.0;
    let y = dense(&mut b, f, &[&onehot]);
    let net = b.finish(y).unwrap();
    let input: Vec<f32> = (1..=25).map(|v| v as f32).collect();
    // Output (0, 0) reads x(0,0)=1, x(0,2)=3, x(2,0)=11, x(2,2)=13 with weights 1..4:
    // products 1, 6, 33, 52; 52 ≥ 92/2 → tap (1, 1) alone: weight 3, synapse
    // (ic 0, ki 1, kj 1, oc 0, oy 0, ox 0) over (1, 2, 2, 1, 3, 3) = 27.
    let p = run(&net, &arr(&[1, 5, 5], &input), 0.5);
    assert_eq!(ones(&p, 0, ElementKind::Neuron), vec![0]);
    assert_eq!(ones(&p, 0, ElementKind::Weight), vec![3]);
    assert_eq!(ones(&p, 0, ElementKind::Synapse), vec![27]);
    assert_eq!(net.predict(&arr(&[1, 5, 5], &input)).unwrap()[[0, 0]], 92.0);
}
