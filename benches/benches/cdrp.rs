//! CDRP against effective-path extraction (the paper's Table 1: on AlexNet CDRP takes ~70×
//! the time of full and ~240× that of partial extraction): per image, on the shipped models
//! and one embedded test image, the forward pass (`predict`), CDRP's gate optimisation with
//! its default options (30 forward + backward passes), full extraction and extraction of the
//! last 3 weighted layers (each with its forward pass). Read `cdrp ÷ full` and
//! `cdrp ÷ partial` from one run.

use criterion::{Criterion, criterion_group, criterion_main};
use effpath::models::Shipped;
use effpath_data::Split;
use effpath_extract::cdrp::{Cdrp, CdrpOptions};
use effpath_extract::{ExtractOptions, Extractor};
use std::hint::black_box;

fn side_by_side(c: &mut Criterion, model: Shipped, group: &str, samples: usize) {
    let net = model.load().expect("shipped model");
    let data = model.dataset();
    let test = data.load(Split::Test).expect("embedded data");
    let image = test
        .to_tensor(0..1, data.normalization())
        .expect("tensor")
        .into_dyn();
    let cdrp = Cdrp::new(&net, CdrpOptions::default()).expect("gates");
    let full = Extractor::new(&net, ExtractOptions::default()).expect("extractor");
    let partial =
        Extractor::new(&net, ExtractOptions::default().with_last_layers(3)).expect("extractor");
    let mut g = c.benchmark_group(group);
    g.sample_size(samples);
    g.bench_function("predict", |b| {
        b.iter(|| net.predict(black_box(&image)).expect("forward"))
    });
    g.bench_function("extract_full", |b| {
        b.iter(|| full.extract(black_box(&image)).expect("path"))
    });
    g.bench_function("extract_last3", |b| {
        b.iter(|| partial.extract(black_box(&image)).expect("path"))
    });
    g.bench_function("cdrp", |b| {
        b.iter(|| cdrp.gates(black_box(&image)).expect("gates"))
    });
    g.finish();
}

fn lenet(c: &mut Criterion) {
    side_by_side(c, Shipped::Lenet5Mnist, "cdrp_lenet5", 30);
}

fn fashion_resnet(c: &mut Criterion) {
    side_by_side(
        c,
        Shipped::ResnetSmallFashion,
        "cdrp_resnet_small_fashion",
        10,
    );
}

criterion_group!(benches, lenet, fashion_resnet);
criterion_main!(benches);
