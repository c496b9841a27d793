//! A network built in code, exported to ONNX and re-imported, computes bit-identical outputs.

#![allow(clippy::unwrap_used)]

use effpath_ir::{BatchNorm, Conv2d, Lrn, Network, NetworkBuilder, Op, Window2d, onnx, zoo};
use ndarray::{Array1, Array2, Array4, ArrayD, IxDyn};

/// A small network using every op kind: grouped/strided/padded convs, batch norm, a skip
/// connection, concat, LRN, both pools, transpose, reshape, global pooling and softmax.
fn every_op_network() -> Network {
    let mut b = NetworkBuilder::new(vec![4, 9, 9]);
    let x = b.input();
    let c1 = b
        .conv2d(
            x,
            Conv2d::new(Array4::zeros((8, 2, 3, 3)), Some(Array1::zeros(8)))
                .with_groups(2)
                .with_padding(1),
        )
        .unwrap();
    let bn = b
        .batch_norm(
            c1,
            BatchNorm {
                gamma: Array1::ones(8),
                beta: Array1::zeros(8),
                mean: Array1::zeros(8),
                var: Array1::ones(8),
                epsilon: 1e-5,
            },
        )
        .unwrap();
    let r = b.relu(bn).unwrap();
    let c2 = b
        .conv2d(r, Conv2d::new(Array4::zeros((8, 8, 1, 1)), None))
        .unwrap();
    let skip = b.add(&[c2, r]).unwrap();
    let l = b
        .lrn(
            skip,
            Lrn {
                size: 3,
                alpha: 1e-2,
                beta: 0.75,
                bias: 1.0,
            },
        )
        .unwrap();
    let mut asym = Window2d::new([2, 2], [2, 2]);
    asym.pads_end = [1, 1];
    let mp = b.max_pool(l, asym).unwrap();
    let ap = b
        .avg_pool(l, Window2d::new([3, 3], [2, 2]).with_padding(1), false)
        .unwrap();
    let cat = b.concat(&[mp, ap], 0).unwrap();
    let t = b.push(Op::Transpose(vec![0, 2, 1]), &[cat]).unwrap();
    let rs = b.push(Op::Reshape(vec![16, 25, 1]), &[t]).unwrap();
    let g = b.global_avg_pool(rs).unwrap();
    let f = b.flatten(g).unwrap();
    let d = b
        .dense(f, Array2::zeros((10, 16)), Some(Array1::zeros(10)))
        .unwrap();
    let s = b.softmax(d).unwrap();
    b.finish(s).unwrap().with_random_weights(11)
}

fn input(shape: &[usize], batch: usize) -> ArrayD<f32> {
    let mut full = vec![batch];
    full.extend_from_slice(shape);
    let n: usize = full.iter().product();
    let data = (0..n)
        .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
        .collect();
    ArrayD::from_shape_vec(IxDyn(&full), data).unwrap()
}

fn assert_roundtrip(net: &Network) {
    let bytes = onnx::to_bytes(net);
    let back = onnx::from_bytes(&bytes).unwrap();
    assert_eq!(back.fingerprint(), net.fingerprint());
    assert_eq!(back.nodes().len(), net.nodes().len());
    let x = input(net.input_shape(), 3);
    let a = net.forward(&x).unwrap();
    let b = back.forward(&x).unwrap();
    for (i, (p, q)) in a.values().iter().zip(b.values()).enumerate() {
        let same = p
            .iter()
            .zip(q.iter())
            .all(|(u, v)| u.to_bits() == v.to_bits());
        assert!(
            same && p.shape() == q.shape(),
            "value {i} differs after the round trip"
        );
    }
}

#[test]
fn lenet_roundtrip_is_bit_identical() {
    assert_roundtrip(&zoo::lenet5(5));
}

#[test]
fn every_op_roundtrip_is_bit_identical() {
    let net = every_op_network();
    assert_eq!(net.nodes().len(), 15);
    assert_roundtrip(&net);
}

#[test]
fn save_and_load_file() {
    let dir = std::env::temp_dir().join(format!("effpath-ir-rt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("lenet.onnx");
    let net = zoo::lenet5(9);
    onnx::save(&net, &path).unwrap();
    let back = onnx::load(&path).unwrap();
    assert_eq!(back.fingerprint(), net.fingerprint());
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name() != "lenet.onnx")
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn import_errors_name_the_problem() {
    let err = onnx::from_bytes(b"\xff\xff\xff garbage").unwrap_err();
    assert!(err.to_string().contains("ONNX decode error"), "{err}");
    let err = onnx::load("/nonexistent/model.onnx").unwrap_err();
    assert!(err.to_string().contains("/nonexistent/model.onnx"), "{err}");
}

#[test]
fn input_normalization_survives_onnx_and_enters_the_fingerprint() {
    let plain = zoo::lenet5(2);
    let net = plain
        .clone()
        .with_input_normalization(Some([0.1307, 0.3081]))
        .unwrap();
    assert_ne!(net.fingerprint(), plain.fingerprint());
    let back = onnx::from_bytes(&onnx::to_bytes(&net)).unwrap();
    assert_eq!(back.input_normalization(), Some([0.1307, 0.3081]));
    assert_eq!(back.fingerprint(), net.fingerprint());
    assert_eq!(
        onnx::from_bytes(&onnx::to_bytes(&plain))
            .unwrap()
            .input_normalization(),
        None
    );
    assert!(
        plain
            .clone()
            .with_input_normalization(Some([0.0, 0.0]))
            .is_err()
    );
    assert!(
        plain
            .with_input_normalization(Some([f32::NAN, 1.0]))
            .is_err()
    );
}
