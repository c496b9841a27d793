//! Extraction invariants under proptest, on LeNet-5 with random weights and inputs.

#![allow(clippy::unwrap_used)]

use effpath_algebra::{ElementKind, LayerSelection, Path};
use effpath_extract::{ExtractOptions, Extractor, Seed};
use effpath_ir::{Network, Op, zoo};
use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;

fn image(seed: u64) -> ArrayD<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ArrayD::from_shape_fn(IxDyn(&[1, 28, 28]), |_| {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        // Mostly dark pixels with bright strokes, like MNIST, normalised.
        let u = (s >> 40) as f32 / (1u64 << 24) as f32;
        if u < 0.75 {
            -0.42
        } else {
            (u - 0.75) * 4.0 * 2.8 - 0.42
        }
    })
}

fn subset(a: &Path, b: &Path) -> bool {
    a.difference(b).unwrap().is_empty()
}

/// For traced layer `l` of LeNet, the (input neuron of layer l−1, output neuron) of a synapse.
fn synapse_ends(net: &Network, layer: usize, syn: usize) -> (Option<usize>, usize) {
    let ex = Extractor::new(net, ExtractOptions::default()).unwrap();
    let ls = &ex.space().layers()[layer];
    let s = ls.unravel(ElementKind::Synapse, syn).unwrap();
    let node = &net.nodes()[effpath_extract::NetworkSpace::new(net)
        .unwrap()
        .node_of_layer(layer)
        .unwrap()];
    let in_shape = net.shape(node.inputs[0]);
    match &node.op {
        Op::Conv2d(c) => {
            let (ic, ki, kj, oc, oy, ox) = (s[0], s[1], s[2], s[3], s[4], s[5]);
            let out_shape = ls.shape(ElementKind::Neuron);
            let iy = oy * c.window.stride[0] + ki - c.window.pads_begin[0];
            let ix = ox * c.window.stride[1] + kj - c.window.pads_begin[1];
            let input = (ic * in_shape[1] + iy) * in_shape[2] + ix;
            (
                (layer > 0).then_some(input),
                (oc * out_shape[1] + oy) * out_shape[2] + ox,
            )
        }
        Op::MaxPool2d(w) => {
            let (ki, kj, c, oy, ox) = (s[0], s[1], s[2], s[3], s[4]);
            let out_shape = ls.shape(ElementKind::Neuron);
            let iy = oy * w.stride[0] + ki - w.pads_begin[0];
            let ix = ox * w.stride[1] + kj - w.pads_begin[1];
            (
                Some((c * in_shape[1] + iy) * in_shape[2] + ix),
                (c * out_shape[1] + oy) * out_shape[2] + ox,
            )
        }
        Op::Dense(_) => (Some(s[0]), s[1]),
        other => panic!("unexpected traced op {}", other.kind()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn paths_grow_with_theta(w in 0u64..1000, x in 0u64..1000, t1 in 0.05f64..1.0, t2 in 0.05f64..1.0) {
        let net = zoo::lenet5(w);
        let (lo, hi) = if t1 <= t2 { (t1, t2) } else { (t2, t1) };
        let img = image(x);
        let a = Extractor::new(&net, ExtractOptions::default().with_theta(lo)).unwrap().extract(&img).unwrap().path;
        let b = Extractor::new(&net, ExtractOptions::default().with_theta(hi)).unwrap().extract(&img).unwrap().path;
        prop_assert!(subset(&a, &b), "path at θ={lo} is not inside the path at θ={hi}");
    }

    #[test]
    fn synapses_join_kept_neurons_and_the_seed_is_the_only_logit(w in 0u64..1000, x in 0u64..1000, rank in 1usize..4, theta in 0.1f64..1.0) {
        let net = zoo::lenet5(w);
        let ex = Extractor::new(&net, ExtractOptions::default().with_theta(theta).with_seed(Seed::Rank(rank))).unwrap();
        let e = ex.extract(&image(x)).unwrap();
        let p = &e.path;
        let last = p.layers().len() - 1;
        prop_assert_eq!(p.layers()[last].iter_ones(ElementKind::Neuron).collect::<Vec<_>>(), vec![e.seed_class]);
        for l in 0..p.layers().len() {
            for syn in p.layers()[l].iter_ones(ElementKind::Synapse) {
                let (input, output) = synapse_ends(&net, l, syn);
                prop_assert!(p.layers()[l].contains(ElementKind::Neuron, output), "layer {} synapse {} → output {} not kept", l, syn, output);
                if let Some(i) = input {
                    prop_assert!(p.layers()[l - 1].contains(ElementKind::Neuron, i), "layer {} synapse {} ← input {} not kept", l, syn, i);
                }
            }
            // Every kept neuron of a traced layer (except the logits) is read by a kept synapse
            // of the next layer.
            if l < last {
                let fed: std::collections::BTreeSet<usize> = p.layers()[l + 1]
                    .iter_ones(ElementKind::Synapse)
                    .filter_map(|s| synapse_ends(&net, l + 1, s).0)
                    .collect();
                let kept: std::collections::BTreeSet<usize> = p.layers()[l].iter_ones(ElementKind::Neuron).collect();
                prop_assert_eq!(kept, fed);
            }
        }
    }
}

#[test]
fn batch_extraction_equals_one_by_one_and_is_deterministic() {
    let net = zoo::lenet5(17);
    let ex = Extractor::new(&net, ExtractOptions::default()).unwrap();
    let imgs: Vec<ArrayD<f32>> = (0..6).map(image).collect();
    let views: Vec<_> = imgs.iter().map(|a| a.view()).collect();
    let batch = ndarray::stack(ndarray::Axis(0), &views).unwrap();
    let all = ex.extract_batch(&batch).unwrap();
    for (i, img) in imgs.iter().enumerate() {
        assert_eq!(all[i], ex.extract(img).unwrap());
    }
    assert_eq!(all, ex.extract_batch(&batch).unwrap());
    let d = all[0]
        .path
        .density(ElementKind::Synapse, LayerSelection::Weighted)
        .unwrap();
    assert!(d > 0.0 && d < 0.5, "density {d}");
}

/// One image's kept neurons of a layer are split across threads in fixed chunks: the path is
/// the same on 1, 2 and 3 threads (on a residual network whose wide layers keep hundreds of
/// neurons, so the parallel split is really taken).
#[test]
fn one_image_is_split_across_threads_with_the_same_result() {
    let net = zoo::resnet_small(5, [1, 28, 28], 10).unwrap();
    let x = image(11);
    let ex = Extractor::new(&net, ExtractOptions::default().with_theta(0.9)).unwrap();
    let on = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| ex.extract(&x).unwrap())
    };
    let one = on(1);
    let widest = one
        .path
        .layers()
        .iter()
        .map(|l| l.count(ElementKind::Neuron))
        .max()
        .unwrap();
    assert!(
        widest >= 512,
        "a layer keeps {widest} neurons: the split is not exercised"
    );
    for threads in [2, 3] {
        assert_eq!(on(threads), one, "{threads} threads");
    }
}
