//! Partial extraction (`last_layers = n`) stops after the n-th weighted node in reverse
//! topological order whether or not the path goes through it, so the extracted layers never
//! depend on the input or on θ (found by the `extract` fuzz target: a skip connection that
//! bypassed a weighted node let the walk reach an earlier one).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use effpath_algebra::ElementKind;
use effpath_extract::{ExtractOptions, Extractor, NetworkSpace};
use effpath_ir::{Conv2d, NetworkBuilder};
use ndarray::{Array1, Array2, Array4, ArrayD, IxDyn};

#[test]
fn a_bypassed_weighted_node_still_counts() {
    // x → conv_a → relu → {identity, conv_b (×0.001)} → add → flatten → dense.
    let mut b = NetworkBuilder::new(vec![1, 2, 2]);
    let x = b.input();
    let a = b
        .conv2d(x, Conv2d::new(Array4::from_elem((1, 1, 1, 1), 2.0), None))
        .unwrap();
    let r = b.relu(a).unwrap();
    let c = b
        .conv2d(r, Conv2d::new(Array4::from_elem((1, 1, 1, 1), 0.001), None))
        .unwrap();
    let s = b.add(&[r, c]).unwrap();
    let f = b.flatten(s).unwrap();
    let w = Array2::from_shape_vec((2, 4), vec![1.0, 1.0, 1.0, 1.0, -1.0, 0.5, 0.0, 0.2]).unwrap();
    let y = b.dense(f, w, Some(Array1::zeros(2))).unwrap();
    let net = b.finish(y).unwrap();
    let space = NetworkSpace::new(&net).unwrap();
    let layer_a = space.layer_of_node(0).unwrap();
    let layer_b = space.layer_of_node(2).unwrap();
    let input = ArrayD::from_shape_vec(IxDyn(&[1, 1, 2, 2]), vec![1.0, 2.0, 3.0, 4.0]).unwrap();

    let whole = Extractor::new(&net, ExtractOptions::default())
        .unwrap()
        .extract(&input)
        .unwrap();
    // The path runs through the identity branch: conv_b keeps nothing, conv_a keeps neurons.
    assert_eq!(whole.path.layers()[layer_b].count(ElementKind::Neuron), 0);
    assert!(whole.path.layers()[layer_a].count(ElementKind::Neuron) > 0);

    for theta in [0.3, 0.5, 0.9, 1.0] {
        let o = ExtractOptions::default()
            .with_theta(theta)
            .with_last_layers(2);
        let e = Extractor::new(&net, o).unwrap().extract(&input).unwrap();
        // The last two weighted nodes are the dense layer and conv_b: conv_a is never traced.
        assert!(
            e.path.layers()[layer_a].is_empty(),
            "θ = {theta}: conv_a is not among the last 2 weighted layers"
        );
    }
    let o = ExtractOptions::default().with_last_layers(3);
    let e = Extractor::new(&net, o).unwrap().extract(&input).unwrap();
    assert_eq!(e.path, whole.path, "3 weighted layers = the whole network");
}
