//! Shared set-up for effpath's criterion benchmarks (the benchmarks are in `benches/`).
//!
//! Run them with `cargo bench -p effpath-benches`, or one of them quickly with
//! `cargo bench -p effpath-benches --bench forward -- --warm-up-time 1 --measurement-time 3`.

use std::path::PathBuf;

use effpath_ir::{Network, onnx};
use ndarray::{ArrayD, IxDyn};

/// Path of a `light/` ONNX architecture shipped with the conformance tests.
pub fn light_model_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/effpath-ir/tests/data/onnx-conformance/light")
        .join(format!("light_{name}.onnx"))
}

/// A `light/` architecture with seeded He-normal weights (the shipped files have constant
/// weights, which make every activation identical).
pub fn light_model(name: &str, seed: u64) -> Network {
    let net = onnx::load(light_model_path(name)).unwrap_or_else(|e| panic!("loading {name}: {e}"));
    net.with_random_weights(seed)
}

/// A deterministic input batch in [0, 1) for `net`.
pub fn input_batch(net: &Network, batch: usize) -> ArrayD<f32> {
    let mut shape = vec![batch];
    shape.extend_from_slice(net.input_shape());
    let n: usize = shape.iter().product();
    let data = (0..n)
        .map(|i| ((i * 2_654_435_761) % 1000) as f32 / 1000.0)
        .collect();
    ArrayD::from_shape_vec(IxDyn(&shape), data).unwrap_or_else(|e| panic!("input shape: {e}"))
}
