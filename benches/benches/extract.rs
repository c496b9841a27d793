//! Per-image extraction next to the forward pass of the same network and image, so that the
//! ratio extraction ÷ forward can be read from one run: LeNet-5 (MNIST digit), and the
//! torchvision exports of `benches/ort_compare.py` (MNIST CNN, AlexNet, ResNet-18, ResNet-50,
//! VGG-11; random init, in the gitignored `benches/models/`) where present — else the ONNX
//! `light/` topology of the same network with seeded random weights — plus DenseNet-121
//! (`light/`); full and last-3-layers partial extraction. Plus class-path profiling throughput
//! on the MNIST subset, 1 vs 2 threads.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use effpath_benches::{input_batch, light_model};
use effpath_data::{Mnist, Normalization};
use effpath_extract::{ClassPaths, ExtractOptions, Extractor, ProfileOptions};
use effpath_ir::Network;
use std::hint::black_box;

fn side_by_side(
    c: &mut Criterion,
    group: &str,
    net: &Network,
    x: &ndarray::ArrayD<f32>,
    samples: usize,
) {
    let mut g = c.benchmark_group(group);
    g.sample_size(samples);
    g.bench_function("forward", |b| b.iter(|| black_box(net.forward(x))));
    let acts = net.forward(x).expect("forward");
    for (name, opts) in [
        ("extract_full", ExtractOptions::default()),
        (
            "extract_last3",
            ExtractOptions::default().with_last_layers(3),
        ),
    ] {
        let ex = Extractor::new(net, opts).expect("options");
        g.bench_function(name, |b| b.iter(|| black_box(ex.extract_sample(&acts, 0))));
    }
    g.finish();
}

fn lenet(c: &mut Criterion) {
    let net = effpath::models::lenet5_mnist().expect("shipped model");
    let x = Mnist::embedded_test()
        .expect("mnist")
        .to_tensor(0..1, Normalization::MNIST)
        .expect("tensor")
        .into_dyn();
    side_by_side(c, "lenet5", &net, &x, 50);
}

/// A torchvision export from `benches/models/` if present, else the `light/` topology.
/// Returns the network and the benchmark group's name (`light_…` for a fallback).
fn model(export: &str, light: Option<&str>) -> Option<(Network, String)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join(format!("{export}.onnx"));
    if path.exists() {
        let net = effpath_ir::onnx::load(&path).expect("a benches/models export");
        return Some((net, export.to_owned()));
    }
    light.map(|l| (light_model(l, 1), format!("light_{l}")))
}

fn imagenet(c: &mut Criterion) {
    for (export, light) in [
        ("mnist", None),
        ("alexnet", Some("bvlc_alexnet")),
        ("resnet18", None),
        ("resnet50", Some("resnet50")),
        ("vgg11", Some("vgg19")),
        ("densenet121", Some("densenet121")),
    ] {
        let Some((net, group)) = model(export, light) else {
            eprintln!(
                "{export}: no benches/models/{export}.onnx (run benches/ort_compare.py); skipped"
            );
            continue;
        };
        let x = input_batch(&net, 1);
        side_by_side(c, &group, &net, &x, 10);
    }
}

fn profiling(c: &mut Criterion) {
    let net = effpath::models::lenet5_mnist().expect("shipped model");
    let data = Mnist::embedded_train().expect("mnist");
    let n = 2048;
    let x = data
        .to_tensor(0..n, Normalization::MNIST)
        .expect("tensor")
        .into_dyn();
    let labels = &data.labels()[..n];
    let mut g = c.benchmark_group("profile_lenet5_mnist");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        g.bench_function(format!("threads{threads}"), |b| {
            b.iter(|| {
                pool.install(|| {
                    black_box(ClassPaths::profile(
                        &net,
                        &x,
                        labels,
                        &ProfileOptions::default(),
                        |_, _| {},
                    ))
                })
            })
        });
    }
    g.finish();
}

criterion_group!(benches, lenet, imagenet, profiling);
criterion_main!(benches);
