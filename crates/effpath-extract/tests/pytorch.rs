//! Paths on the real PyTorch exports of `effpath-ir/tests/data/pytorch` (every family and
//! exporter of issue 11): the seed is the only kept logit, every kept synapse ends in a kept
//! neuron, extraction is deterministic, and paths grow with θ.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use effpath_algebra::ElementKind;
use effpath_extract::{ExtractOptions, Extractor, NetworkSpace};
use effpath_ir::{Network, Op};
use ndarray::{ArrayD, Axis, IxDyn};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../effpath-ir/tests/data/pytorch");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "onnx"))
        .collect();
    v.sort();
    v
}

/// The first input of the batch stored beside a fixture.
fn first_input(model: &Path, net: &Network) -> ArrayD<f32> {
    let bytes = std::fs::read(model.with_extension("bin")).unwrap();
    let per: usize = net.input_shape().iter().product();
    let v: Vec<f32> = bytes[..per * 4]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    ArrayD::from_shape_vec(IxDyn(net.input_shape()), v).unwrap()
}

/// The output neuron (flat index into the layer's output) of synapse multi-index `s`.
fn synapse_output(op: &Op, s: &[usize], out: &[usize]) -> usize {
    match op {
        Op::Dense(_) => s[1],
        Op::Conv2d(_) => (s[3] * out[1] + s[4]) * out[2] + s[5],
        Op::MaxPool2d(_) | Op::AvgPool2d(_) => (s[2] * out[1] + s[3]) * out[2] + s[4],
        Op::GlobalAvgPool => s[0],
        other => panic!("{} is not a traced layer", other.kind()),
    }
}

#[test]
fn paths_on_every_pytorch_fixture_keep_the_invariants() {
    let all = fixtures();
    assert!(all.len() >= 12);
    for path in &all {
        let name = path.display();
        let net = effpath_ir::onnx::load(path).unwrap();
        let x = first_input(path, &net);
        let space = NetworkSpace::new(&net).unwrap();
        let ex = Extractor::new(&net, ExtractOptions::default()).unwrap();
        let e = ex.extract(&x).unwrap();
        assert_eq!(e, ex.extract(&x).unwrap(), "{name}: not deterministic");
        let batch = x.clone().insert_axis(Axis(0));
        assert_eq!(ex.extract_batch(&batch).unwrap()[0], e, "{name}");
        let p = &e.path;
        let last = p.layers().len() - 1;
        assert_eq!(
            p.layers()[last]
                .iter_ones(ElementKind::Neuron)
                .collect::<Vec<_>>(),
            vec![e.seed_class],
            "{name}: the seed is not the only logit"
        );
        let mut kept_total = 0;
        for (l, layer) in p.layers().iter().enumerate() {
            let node = &net.nodes()[space.node_of_layer(l).unwrap()];
            let ls = &ex.space().layers()[l];
            let out = ls.shape(ElementKind::Neuron).to_vec();
            kept_total += layer.iter_ones(ElementKind::Neuron).count();
            for syn in layer.iter_ones(ElementKind::Synapse) {
                let s = ls.unravel(ElementKind::Synapse, syn).unwrap();
                let o = synapse_output(&node.op, &s, &out);
                assert!(
                    layer.contains(ElementKind::Neuron, o),
                    "{name}: layer {l} synapse {syn} ends in neuron {o}, not kept"
                );
            }
        }
        assert!(kept_total > 1, "{name}: empty path");
        let lo = Extractor::new(&net, ExtractOptions::default().with_theta(0.3))
            .unwrap()
            .extract(&x)
            .unwrap()
            .path;
        let hi = Extractor::new(&net, ExtractOptions::default().with_theta(0.8))
            .unwrap()
            .extract(&x)
            .unwrap()
            .path;
        assert!(
            lo.difference(&hi).unwrap().is_empty(),
            "{name}: the path at θ = 0.3 is not inside the path at θ = 0.8"
        );
    }
}
