//! Golden paths: extraction on stored activations must keep every bit it had when the
//! fixtures were written (the extraction was checked neuron for neuron against an independent
//! implementation then). The activations are stored, not recomputed, so a faster forward pass
//! with different rounding cannot hide or fake a change in extraction.
//!
//! Regenerate (only when extraction is *meant* to change, and say why in the commit):
//! `EFFPATH_WRITE_GOLDEN=1 cargo test -p effpath-extract --release --test golden`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use effpath_algebra::{ElementKind, Path};
use effpath_data::{Mnist, Normalization, NpzArray, read_npz, write_npz};
use effpath_extract::{ExtractOptions, Extractor, Seed, ThresholdBase};
use effpath_ir::{Activations, Conv2d, Lrn, Network, NetworkBuilder, Op, Window2d, zoo};
use ndarray::{Array1, Array2, Array4, ArrayD, IxDyn};
use sha2::{Digest, Sha256};

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden")
}

/// Deterministic pseudo-random values in [-1, 1).
fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// Every op the extractor has a rule for, on a small input: grouped strided padded conv,
/// LRN, average pools (with and without padding counted), max pool, concat, transpose,
/// batch norm with a negative scale, a skip connection, global average pool, dense.
fn mixed_network() -> Network {
    let conv = |cout: usize, cin: usize, k: usize, seed: u64| {
        let w = Array4::from_shape_vec((cout, cin, k, k), noise(cout * cin * k * k, seed)).unwrap();
        Conv2d::new(w, Some(Array1::from_vec(noise(cout, seed + 100))))
    };
    let mut b = NetworkBuilder::new(vec![3, 11, 11]);
    let x = b.input();
    let mut c1 = conv(8, 3, 3, 1).with_stride([2, 1]);
    c1.window.pads_begin = [1, 0];
    c1.window.pads_end = [1, 2];
    let c1 = b.conv2d(x, c1).unwrap();
    let r1 = b.relu(c1).unwrap();
    let l = b
        .lrn(
            r1,
            Lrn {
                size: 3,
                alpha: 1e-3,
                beta: 0.75,
                bias: 1.0,
            },
        )
        .unwrap();
    let g = b.conv2d(l, conv(8, 2, 3, 2).with_groups(4)).unwrap();
    let mut pw = Window2d::new([2, 2], [1, 1]);
    pw.pads_begin = [1, 1];
    let a1 = b.avg_pool(g, pw.clone(), true).unwrap();
    let a2 = b.avg_pool(g, pw, false).unwrap();
    let m = b.max_pool(r1, Window2d::new([1, 1], [1, 1])).unwrap();
    let m = b.conv2d(m, conv(8, 8, 3, 3)).unwrap();
    let m = b.avg_pool(m, Window2d::new([1, 1], [1, 1]), true).unwrap();
    let cat = b.concat(&[a1, a2], 0).unwrap();
    let t = b.push(Op::Transpose(vec![0, 2, 1]), &[cat]).unwrap();
    let t = b.push(Op::Transpose(vec![0, 2, 1]), &[t]).unwrap();
    let squeeze = b.conv2d(t, conv(8, 16, 1, 4)).unwrap();
    let bn = effpath_ir::BatchNorm {
        gamma: Array1::from_vec(vec![1.0, -0.5, 2.0, 0.7, -1.2, 0.3, 1.0, 0.9]),
        beta: Array1::from_vec(noise(8, 9)),
        mean: Array1::from_vec(noise(8, 10)),
        var: Array1::from_elem(8, 0.8),
        epsilon: 1e-5,
    };
    let s = b.batch_norm(squeeze, bn).unwrap();
    let s = b.relu(s).unwrap();
    let m = b.max_pool(m, Window2d::new([2, 2], [1, 1])).unwrap();
    let s = b.max_pool(s, Window2d::new([2, 2], [1, 1])).unwrap();
    let sum = b.add(&[s, m]).unwrap();
    let gp = b.global_avg_pool(sum).unwrap();
    let f = b.flatten(gp).unwrap();
    let d = Array2::from_shape_vec((5, 8), noise(40, 11)).unwrap();
    let y = b.dense(f, d, Some(Array1::from_vec(noise(5, 12)))).unwrap();
    b.finish(y).unwrap()
}

/// The networks and inputs of the golden cases.
fn cases() -> Vec<(&'static str, Network, ArrayD<f32>)> {
    let lenet = effpath_ir::onnx::load(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../effpath/models/lenet5-mnist.onnx"),
    )
    .unwrap();
    let digits = Mnist::embedded_test()
        .unwrap()
        .to_tensor(0..4, Normalization::MNIST)
        .unwrap()
        .into_dyn();
    let resnet = zoo::resnet_small(3, [1, 12, 12], 10).unwrap();
    let rx = ArrayD::from_shape_vec(IxDyn(&[2, 1, 12, 12]), noise(288, 5)).unwrap();
    let mixed = mixed_network();
    let mx = ArrayD::from_shape_vec(IxDyn(&[3, 3, 11, 11]), noise(3 * 363, 6)).unwrap();
    vec![
        ("lenet5-mnist", lenet, digits),
        ("resnet-small", resnet, rx),
        ("mixed", mixed, mx),
    ]
}

fn option_sets() -> Vec<(&'static str, ExtractOptions)> {
    let d = ExtractOptions::default();
    vec![
        ("rank1", d),
        ("rank2", d.with_seed(Seed::Rank(2))),
        ("theta0.1", d.with_theta(0.1)),
        ("theta0.9", d.with_theta(0.9)),
        ("theta1", d.with_theta(1.0)),
        ("last3", d.with_last_layers(3)),
        ("output-base", d.with_threshold_base(ThresholdBase::Output)),
    ]
}

/// Per-layer kept counts and a SHA-256 of every kept index (layer, kind, index ascending).
fn digest(path: &Path) -> String {
    let mut h = Sha256::new();
    let mut counts = Vec::new();
    for (l, layer) in path.layers().iter().enumerate() {
        for kind in ElementKind::ALL {
            let mut n = 0usize;
            for i in layer.iter_ones(kind) {
                h.update((l as u64).to_le_bytes());
                h.update((kind.index() as u64).to_le_bytes());
                h.update((i as u64).to_le_bytes());
                n += 1;
            }
            counts.push(n.to_string());
        }
    }
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("{} {}", counts.join(","), hex)
}

fn activations_file(name: &str) -> PathBuf {
    data_dir().join(format!("{name}.npz"))
}

fn load_activations(name: &str, net: &Network) -> Activations {
    let values = (0..=net.nodes().len())
        .map(|v| read_npz::<f32>(activations_file(name), &format!("v{v}")).unwrap())
        .collect();
    Activations::from_values(net, values).unwrap()
}

#[test]
fn extraction_on_stored_activations_matches_the_golden_paths() {
    let golden_file = data_dir().join("golden.json");
    let write = std::env::var_os("EFFPATH_WRITE_GOLDEN").is_some();
    let mut found: BTreeMap<String, String> = BTreeMap::new();
    for (name, net, x) in cases() {
        if write {
            let acts = net.forward(&x).unwrap();
            let arrays: Vec<(String, ArrayD<f32>)> = acts
                .values()
                .iter()
                .enumerate()
                .map(|(v, a)| (format!("v{v}"), a.clone()))
                .collect();
            let named: Vec<(&str, NpzArray)> = arrays
                .iter()
                .map(|(n, a)| (n.as_str(), NpzArray::F32(a.view())))
                .collect();
            write_npz(activations_file(name), &named).unwrap();
        }
        let acts = load_activations(name, &net);
        for (opt_name, opts) in option_sets() {
            let ex = Extractor::new(&net, opts).unwrap();
            for n in 0..acts.batch_size() {
                let e = ex.extract_sample(&acts, n).unwrap();
                found.insert(format!("{name}/{opt_name}/{n}"), digest(&e.path));
            }
        }
    }
    if write {
        std::fs::write(&golden_file, serde_json::to_string_pretty(&found).unwrap()).unwrap();
    }
    let want: BTreeMap<String, String> =
        serde_json::from_str(&std::fs::read_to_string(&golden_file).unwrap()).unwrap();
    assert_eq!(want.len(), found.len(), "number of golden cases");
    for (case, digest) in &want {
        assert_eq!(found.get(case), Some(digest), "golden case {case}");
    }
}
