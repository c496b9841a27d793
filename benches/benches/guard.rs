//! The guard's cost at inference time (one image): [`Guard::check`] — forward pass, rank-1 and
//! rank-2 extraction of the last `n` weighted layers, the `2n` path-similarity features and
//! the linear detector's score — beside the plain forward pass (`predict`) of the same
//! network and image, for `n` from 1 to all weighted layers. Read the overhead as
//! `guard_n ÷ predict` of one run.
//!
//! * The shipped models on their embedded data — LeNet-5 on MNIST and the small ResNet on
//!   Fashion-MNIST (both trained): class paths of 1,000 training images; the linear detector
//!   is fitted on 100 test images against the same images with Gaussian noise (the
//!   detector's quality is not what is measured here, its cost is). `n` = 1…all.
//! * ResNet-50 (random weights: the torchvision export in `benches/models/` if present, else
//!   ONNX's `light/` topology): class paths built from the rank-1 and rank-2 paths of 8 random
//!   images, each under the class it was extracted for (random weights classify nothing
//!   correctly), so that every image's rank-1 and rank-2 classes have paths; the detector is
//!   fitted on those 8 rows against noisy copies. `n` ∈ {1, 2, 3, 5, 10, 20, all}.

use criterion::{Criterion, criterion_group, criterion_main};
use effpath::guard::{DetectorFile, Guard};
use effpath::models::Shipped;
use effpath_benches::{input_batch, light_model};
use effpath_data::{Normalization, Split};
use effpath_detect::{Detector, DetectorKind, DetectorModel};
use effpath_extract::{
    ClassPaths, ExtractOptions, Extractor, FeatureOptions, FeatureRow, PathFeatures,
    ProfileOptions, Seed,
};
use effpath_ir::Network;
use ndarray::{Array2, ArrayD, Axis, concatenate};
use std::hint::black_box;

/// `x` plus seeded Gaussian-like noise of standard deviation `sigma` (sum of uniforms).
fn noisy(x: &ArrayD<f32>, sigma: f32, mut seed: u64) -> ArrayD<f32> {
    x.mapv(|v| {
        let mut u = 0.0f32;
        for _ in 0..4 {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            u += (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
        }
        v + u * sigma * 1.7
    })
}

/// The complete feature rows of `images` as a matrix.
fn rows(features: &PathFeatures, images: &ArrayD<f32>) -> Array2<f64> {
    let rows = features.compute_batch(images).expect("features");
    FeatureRow::complete_matrix(&rows, features.len()).0
}

/// A guard over the last `n` weighted layers, its linear detector fitted on `normal` vs
/// `noise` images.
fn guard<'a>(
    net: &'a Network,
    class_paths: &'a ClassPaths,
    n: usize,
    normal: &ArrayD<f32>,
    noise: &ArrayD<f32>,
) -> Guard<'a> {
    let options = FeatureOptions {
        extract: ExtractOptions::default().with_last_layers(n),
        last_layers: Some(n),
        ..FeatureOptions::default()
    };
    let features = PathFeatures::new(net, class_paths, options).expect("features");
    let (xa, xb) = (rows(&features, normal), rows(&features, noise));
    let x = concatenate(Axis(0), &[xa.view(), xb.view()]).expect("same width");
    let y: Vec<bool> = (0..x.nrows()).map(|i| i >= xa.nrows()).collect();
    let model =
        DetectorModel::fit(&DetectorKind::Linear.config(7), &x, &y).expect("linear detector");
    let file = DetectorFile::new(
        net.fingerprint(),
        options,
        features.names(),
        model,
        &xa,
        0.05,
    )
    .expect("detector file");
    Guard::new(net, class_paths, file).expect("guard")
}

/// One network's benchmark: its class paths, the benchmark image, the detector's training
/// images, and the `n` to measure.
struct Case<'a> {
    net: &'a Network,
    class_paths: &'a ClassPaths,
    image: &'a ArrayD<f32>,
    normal: &'a ArrayD<f32>,
    noise: &'a ArrayD<f32>,
    layers: Vec<usize>,
}

fn side_by_side(c: &mut Criterion, group: &str, case: &Case, samples: usize) {
    let mut g = c.benchmark_group(group);
    g.sample_size(samples);
    g.bench_function("predict", |b| {
        b.iter(|| black_box(case.net.predict(case.image)))
    });
    for &n in &case.layers {
        let guard = guard(case.net, case.class_paths, n, case.normal, case.noise);
        g.bench_function(format!("guard_{n}"), |b| {
            b.iter(|| black_box(guard.check(case.image)))
        });
    }
    g.finish();
}

/// A shipped model on its embedded dataset: class paths of 1,000 training images, the linear
/// detector fitted on 100 test images against noisy copies, `n` = 1…all weighted layers.
fn shipped(c: &mut Criterion, model: Shipped, group: &str, samples: usize) {
    let net = model.load().expect("shipped model");
    let data = model.dataset();
    let norm: Normalization = data.normalization();
    let train = data.load(Split::Train).expect("embedded data");
    let test = data.load(Split::Test).expect("embedded data");
    let images = train.to_tensor(0..1000, norm).expect("tensor").into_dyn();
    let labels = &train.labels()[..1000];
    let class_paths =
        ClassPaths::profile(&net, &images, labels, &ProfileOptions::default(), |_, _| {})
            .expect("class paths");
    let normal = test.to_tensor(0..100, norm).expect("tensor").into_dyn();
    let noise = noisy(&normal, 0.8, 1);
    let image = test.to_tensor(100..101, norm).expect("tensor").into_dyn();
    let all = class_paths
        .space()
        .selected(effpath_algebra::LayerSelection::Weighted)
        .count();
    let layers: Vec<usize> = (1..=all).collect();
    let case = Case {
        net: &net,
        class_paths: &class_paths,
        image: &image,
        normal: &normal,
        noise: &noise,
        layers,
    };
    side_by_side(c, group, &case, samples);
}

fn lenet(c: &mut Criterion) {
    shipped(c, Shipped::Lenet5Mnist, "guard_lenet5", 50);
}

fn fashion_resnet(c: &mut Criterion) {
    shipped(
        c,
        Shipped::ResnetSmallFashion,
        "guard_resnet_small_fashion",
        20,
    );
}

fn resnet50(c: &mut Criterion) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/resnet50.onnx");
    let (net, group) = if path.exists() {
        let net = effpath_ir::onnx::load(&path).expect("a benches/models export");
        (net, "guard_resnet50")
    } else {
        (light_model("resnet50", 1), "guard_light_resnet50")
    };
    let normal = input_batch(&net, 8);
    let acts = net.forward(&normal).expect("forward");
    let options = ExtractOptions::default();
    let mut paths = Vec::new();
    for seed in [Seed::Rank(1), Seed::Rank(2)] {
        let ex = Extractor::new(&net, options.with_seed(seed)).expect("extractor");
        for i in 0..acts.batch_size() {
            let e = ex.extract_sample(&acts, i).expect("extract");
            paths.push((e.seed_class, e.path));
        }
    }
    let ex = Extractor::new(&net, options).expect("extractor");
    let class_paths =
        ClassPaths::from_paths(ex.space(), net.num_classes(), ex.checked_options(), paths)
            .expect("class paths");
    let noise = noisy(&normal, 0.5, 2);
    let image = normal.slice_axis(Axis(0), (0..1).into()).to_owned();
    let all = class_paths
        .space()
        .selected(effpath_algebra::LayerSelection::Weighted)
        .count();
    let mut layers: Vec<usize> = [1, 2, 3, 5, 10, 20]
        .into_iter()
        .filter(|&n| n < all)
        .collect();
    layers.push(all);
    let case = Case {
        net: &net,
        class_paths: &class_paths,
        image: &image,
        normal: &normal,
        noise: &noise,
        layers,
    };
    side_by_side(c, group, &case, 10);
}

criterion_group!(benches, lenet, fashion_resnet, resnet50);
criterion_main!(benches);
