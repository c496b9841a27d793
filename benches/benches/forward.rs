//! Forward-pass throughput: LeNet-5 and two real ImageNet topologies from ONNX's `light/`
//! models (AlexNet, ResNet-50) with seeded random weights, batch 1 and 64. For the
//! side-by-side comparison with onnxruntime see `benches/ort_compare.py`.
//! `forward` records every tensor (what extraction needs); `predict` frees them as it goes.

use criterion::{Criterion, criterion_group, criterion_main};
use effpath_benches::{input_batch, light_model};
use effpath_ir::zoo;
use std::hint::black_box;

fn lenet(c: &mut Criterion) {
    let net = zoo::lenet5(0);
    let mut g = c.benchmark_group("lenet5");
    for batch in [1, 64] {
        let x = input_batch(&net, batch);
        g.bench_function(format!("forward/batch{batch}"), |b| {
            b.iter(|| black_box(net.forward(&x)))
        });
        g.bench_function(format!("predict/batch{batch}"), |b| {
            b.iter(|| black_box(net.predict(&x)))
        });
    }
    g.finish();
}

fn imagenet(c: &mut Criterion) {
    let mut g = c.benchmark_group("imagenet");
    g.sample_size(10);
    for name in ["bvlc_alexnet", "resnet50"] {
        let net = light_model(name, 1);
        for batch in [1, 64] {
            let x = input_batch(&net, batch);
            g.bench_function(format!("{name}/forward/batch{batch}"), |b| {
                b.iter(|| black_box(net.forward(&x)))
            });
            g.bench_function(format!("{name}/predict/batch{batch}"), |b| {
                b.iter(|| black_box(net.predict(&x)))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, lenet, imagenet);
criterion_main!(benches);
