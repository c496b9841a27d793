//! Every op rule on a tiny network with hand-computed expectations.

#![allow(clippy::unwrap_used)]

use effpath_algebra::{ElementKind, Path};
use effpath_extract::{ExtractOptions, Extractor, Seed};
use effpath_ir::{BatchNorm, Conv2d, Network, NetworkBuilder, Window2d};
use ndarray::{Array1, Array2, Array4, ArrayD, IxDyn};

fn arr(shape: &[usize], v: &[f32]) -> ArrayD<f32> {
    ArrayD::from_shape_vec(IxDyn(shape), v.to_vec()).unwrap()
}

fn ones(path: &Path, layer: usize, kind: ElementKind) -> Vec<usize> {
    path.layers()[layer].iter_ones(kind).collect()
}

fn run(net: &Network, x: &ArrayD<f32>, opts: ExtractOptions) -> Path {
    Extractor::new(net, opts).unwrap().extract(x).unwrap().path
}

fn dense(b: &mut NetworkBuilder, x: effpath_ir::ValueId, rows: &[&[f32]]) -> effpath_ir::ValueId {
    let w = Array2::from_shape_vec((rows.len(), rows[0].len()), rows.concat()).unwrap();
    b.dense(x, w, None).unwrap()
}

#[test]
fn dense_keeps_the_largest_products_and_flips_negative_outputs() {
    let mut b = NetworkBuilder::new(vec![3]);
    let x = b.input();
    let y = dense(&mut b, x, &[&[-1.0, -2.0, 0.5], &[0.5, -1.0, 3.0]]);
    let net = b.finish(y).unwrap();
    let input = arr(&[3], &[1.0, 1.0, 1.0]);
    // Prediction = class 1 (2.5): products [0.5, -1, 3], target 1.25 → input 2 alone.
    let p = run(&net, &input, ExtractOptions::default());
    assert_eq!(ones(&p, 0, ElementKind::Neuron), vec![1]);
    assert_eq!(ones(&p, 0, ElementKind::Synapse), vec![2 * 2 + 1]);
    assert_eq!(ones(&p, 0, ElementKind::Weight), vec![3 + 2]);
    // Class 0 has output −2.5 < 0: products negated to [1, 2, −0.5] → input 1.
    let p = run(
        &net,
        &input,
        ExtractOptions::default().with_seed(Seed::Class(0)),
    );
    assert_eq!(ones(&p, 0, ElementKind::Synapse), vec![2]);
    assert_eq!(ones(&p, 0, ElementKind::Weight), vec![1]);
    // Rank 2 = the runner-up = class 0.
    let p2 = run(
        &net,
        &input,
        ExtractOptions::default().with_seed(Seed::Rank(2)),
    );
    assert_eq!(p2, p);
}

#[test]
fn conv_uses_the_clipped_receptive_field_and_true_kernel_offsets() {
    let mut b = NetworkBuilder::new(vec![1, 3, 3]);
    let x = b.input();
    let k = Array4::from_shape_vec((1, 1, 3, 3), vec![0., 0., 0., 0., 1., 1., 0., 1., 1.]).unwrap();
    let c = b.conv2d(x, Conv2d::new(k, None).with_padding(1)).unwrap();
    let f = b.flatten(c).unwrap();
    let mut onehot = vec![0.0f32; 9];
    onehot[0] = 1.0;
    let y = dense(&mut b, f, &[&onehot]);
    let net = b.finish(y).unwrap();
    let input = arr(&[1, 3, 3], &[1., 2., 0., 3., 4., 0., 0., 0., 0.]);
    let p = run(&net, &input, ExtractOptions::default());
    // Conv neuron (0,0,0) = 1 + 2 + 3 + 4 = 10; its window is clipped to rows/cols 0..2; the
    // products 4 and 3 reach half of 10. Kernel offsets are (2,2) and (2,1), not (1,1)/(1,0).
    assert_eq!(ones(&p, 0, ElementKind::Neuron), vec![0]);
    assert_eq!(ones(&p, 0, ElementKind::Weight), vec![7, 8]);
    // Synapse (ic, ki, kj, oc, oy, ox) over (1, 3, 3, 1, 3, 3).
    assert_eq!(ones(&p, 0, ElementKind::Synapse), vec![7 * 9, 8 * 9]);
    assert_eq!(ones(&p, 1, ElementKind::Synapse), vec![0]);
}

#[test]
fn max_pool_keeps_all_tied_maxima_and_avg_pool_ranks_inputs() {
    for (avg, expected) in [(false, vec![0, 1, 3]), (true, vec![0, 1])] {
        let mut b = NetworkBuilder::new(vec![1, 2, 2]);
        let x = b.input();
        let w = Window2d::new([2, 2], [2, 2]);
        let p = if avg {
            b.avg_pool(x, w, true).unwrap()
        } else {
            b.max_pool(x, w).unwrap()
        };
        let f = b.flatten(p).unwrap();
        let y = dense(&mut b, f, &[&[1.0], &[-1.0]]);
        let net = b.finish(y).unwrap();
        let input = if avg {
            arr(&[1, 2, 2], &[4., 3., 2., 1.])
        } else {
            arr(&[1, 2, 2], &[5., 5., 1., 5.])
        };
        let path = run(&net, &input, ExtractOptions::default());
        // Synapse (kh_off, kw_off, c, oy, ox) over (2, 2, 1, 1, 1) = the window position.
        assert_eq!(
            ones(&path, 0, ElementKind::Synapse),
            expected,
            "avg = {avg}"
        );
        assert_eq!(ones(&path, 0, ElementKind::Neuron), vec![0]);
    }
}

/// x → relu → r; r → dense(×2) → d; d + r → dense([1, 1]) → logit.
fn skip_net() -> Network {
    let mut b = NetworkBuilder::new(vec![2]);
    let x = b.input();
    let r = b.relu(x).unwrap();
    let d = dense(&mut b, r, &[&[2.0, 0.0], &[0.0, 2.0]]);
    let s = b.add(&[d, r]).unwrap();
    let y = dense(&mut b, s, &[&[1.0, 1.0]]);
    b.finish(y).unwrap()
}

#[test]
fn add_keeps_one_branch_at_half_and_both_at_high_theta() {
    let net = skip_net();
    let input = arr(&[2], &[1.0, 3.0]);
    // Logit products [3, 9] → sum element 1; Add candidates (6, 3): 1/2 ≥ 0.5 → the dense branch.
    let p = run(&net, &input, ExtractOptions::default());
    assert_eq!(ones(&p, 0, ElementKind::Neuron), vec![1]);
    assert_eq!(ones(&p, 0, ElementKind::Synapse), vec![3]);
    assert_eq!(ones(&p, 1, ElementKind::Synapse), vec![1]);
    // θ = 0.9: logit needs both (3 + 9 ≥ 10.8); Add element 1 needs both branches (6+3 ≥ 8.1),
    // element 0 too (2+1 ≥ 2.7).
    let p = run(&net, &input, ExtractOptions::default().with_theta(0.9));
    assert_eq!(ones(&p, 0, ElementKind::Neuron), vec![0, 1]);
    assert_eq!(ones(&p, 1, ElementKind::Synapse), vec![0, 1]);
}

fn bn_net(gamma: f32, beta: f32) -> Network {
    let mut b = NetworkBuilder::new(vec![2]);
    let x = b.input();
    let y = dense(&mut b, x, &[&[1.0, -2.0]]);
    let bn = BatchNorm {
        gamma: Array1::from(vec![gamma]),
        beta: Array1::from(vec![beta]),
        mean: Array1::zeros(1),
        var: Array1::ones(1),
        epsilon: 0.0,
    };
    let z = b.batch_norm(y, bn).unwrap();
    let out = dense(&mut b, z, &[&[1.0]]);
    b.finish(out).unwrap()
}

#[test]
fn batch_norm_flips_select_drivers_of_the_post_norm_value() {
    let input = arr(&[2], &[1.0, 3.0]);
    // y = 1 − 6 = −5. γ = −1: z = 5 > 0; the drivers of z are the negative products of y →
    // input 1 (product −6).
    let p = run(&bn_net(-1.0, 0.0), &input, ExtractOptions::default());
    assert_eq!(ones(&p, 0, ElementKind::Synapse), vec![1]);
    // γ = 1, β = 10: z = 5 > 0 while y < 0; the driver of z is the positive product → input 0.
    let p = run(&bn_net(1.0, 10.0), &input, ExtractOptions::default());
    assert_eq!(ones(&p, 0, ElementKind::Synapse), vec![0]);
    // γ = 1, β = 0: z = −5 < 0, plain negative-output rule → input 1.
    let p = run(&bn_net(1.0, 0.0), &input, ExtractOptions::default());
    assert_eq!(ones(&p, 0, ElementKind::Synapse), vec![1]);
}

#[test]
fn concat_and_global_pool_route_points() {
    let mut b = NetworkBuilder::new(vec![1, 2, 2]);
    let x = b.input();
    let k1 = Array4::from_elem((1, 1, 1, 1), 1.0);
    let k2 = Array4::from_elem((1, 1, 1, 1), -1.0);
    let a = b.conv2d(x, Conv2d::new(k1, None)).unwrap();
    let c = b.conv2d(x, Conv2d::new(k2, None)).unwrap();
    let cat = b.concat(&[a, c], 0).unwrap();
    let g = b.global_avg_pool(cat).unwrap();
    let f = b.flatten(g).unwrap();
    let y = dense(&mut b, f, &[&[0.0, -1.0]]);
    let net = b.finish(y).unwrap();
    // Input [1, 2, 3, 4]: channel 1 of the concat is −x, its mean −2.5, the logit +2.5 → keeps
    // pool neuron 1; GAP over (−1, −2, −3, −4) with output −2.5 < 0 → negated (1, 2, 3, 4),
    // target 5 → positions 3 and 2 (4 + 3 ≥ 5), i.e. synapses 4 + 3 and 4 + 2 of (C, H, W).
    let input = arr(&[1, 2, 2], &[1., 2., 3., 4.]);
    let p = run(&net, &input, ExtractOptions::default());
    let space = Extractor::new(&net, ExtractOptions::default())
        .unwrap()
        .space()
        .clone();
    let gap = space.layer_index("globalavgpool_3").unwrap();
    assert_eq!(ones(&p, gap, ElementKind::Neuron), vec![1]);
    assert_eq!(ones(&p, gap, ElementKind::Synapse), vec![6, 7]);
    // Routed to the second conv only (layer 1), its neurons 2 and 3.
    assert!(p.layers()[0].is_empty());
    assert_eq!(ones(&p, 1, ElementKind::Neuron), vec![2, 3]);
}

#[test]
fn partial_extraction_stops_after_the_last_n_weighted_layers() {
    let net = effpath_ir::zoo::lenet5(4);
    let x = ArrayD::from_shape_fn(IxDyn(&[1, 28, 28]), |d| {
        ((d[1] * 28 + d[2]) % 17) as f32 / 17.0
    });
    let full = run(&net, &x, ExtractOptions::default());
    let last2 = run(&net, &x, ExtractOptions::default().with_last_layers(2));
    // Layers: conv1 pool1 conv2 pool2 fc1 fc2 fc3; the last two weighted layers are fc2, fc3.
    for l in 0..5 {
        assert!(last2.layers()[l].is_empty(), "layer {l} should be empty");
    }
    for l in 5..7 {
        assert_eq!(
            last2.layers()[l],
            full.layers()[l],
            "layer {l} should match the full path"
        );
    }
    let last4 = run(&net, &x, ExtractOptions::default().with_last_layers(4));
    // conv2, fc1, fc2, fc3 and the pool between them (pool2); pool1 feeds conv2 and is not traced.
    assert!(last4.layers()[0].is_empty() && last4.layers()[1].is_empty());
    assert!((2..7).all(|l| last4.layers()[l] == full.layers()[l]));
}

#[test]
fn bad_options_are_typed_errors() {
    let net = effpath_ir::zoo::lenet5(0);
    for theta in [0.0, -0.1, 1.5, f64::NAN] {
        assert!(Extractor::new(&net, ExtractOptions::default().with_theta(theta)).is_err());
    }
    assert!(Extractor::new(&net, ExtractOptions::default().with_seed(Seed::Rank(0))).is_err());
    assert!(Extractor::new(&net, ExtractOptions::default().with_seed(Seed::Rank(11))).is_err());
    assert!(Extractor::new(&net, ExtractOptions::default().with_seed(Seed::Class(10))).is_err());
    assert!(Extractor::new(&net, ExtractOptions::default().with_last_layers(0)).is_err());
    let ex = Extractor::new(&net, ExtractOptions::default()).unwrap();
    let mut x = ArrayD::zeros(IxDyn(&[1, 28, 28]));
    x[[0, 3, 3]] = f32::NAN;
    assert!(ex.extract(&x).is_err());
    assert!(ex.extract(&ArrayD::zeros(IxDyn(&[2, 2]))).is_err());
}
