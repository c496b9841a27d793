//! Profiling at ImageNet scale: class paths of a `light/` topology with seeded random weights
//! (default ResNet-50) over `N` seeded random images assigned round-robin to `C` classes
//! (random weights classify nothing correctly, so the labels are synthetic; extraction,
//! folding and the file are what real labels would cost). Images are generated, run forward
//! in small batches and folded into per-class unions as they come, so memory is bounded by
//! the class paths, not by `N`. Prints wall time, the class-path file size, kept elements, and
//! the heap held by the class paths; run under `/usr/bin/time -v` for the peak RSS:
//!
//! `/usr/bin/time -v cargo run --release -p effpath-benches --example profile_scale -- resnet50 200 20 /tmp/cp.bin`

use std::time::Instant;

use effpath_algebra::ElementKind;
use effpath_benches::light_model;
use effpath_extract::{ClassPaths, ExtractOptions, Extractor};
use ndarray::{ArrayD, Axis, IxDyn};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let name = args.first().map_or("resnet50", String::as_str);
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let classes: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20);
    let out = args.get(3).map_or("/tmp/classpaths.bin", String::as_str);
    let net = light_model(name, 1);
    let ex = Extractor::new(&net, ExtractOptions::default()).expect("options");
    let t = Instant::now();
    let batch = 4;
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let paths = (0..n.div_ceil(batch)).flat_map(|b| {
        let rows = batch.min(n - b * batch);
        let mut shape = vec![rows];
        shape.extend_from_slice(net.input_shape());
        let x = ArrayD::from_shape_simple_fn(IxDyn(&shape), || {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 40) as f32 / (1u64 << 24) as f32
        });
        let acts = net.forward(&x).expect("forward");
        let ex = &ex;
        (0..x.len_of(Axis(0)))
            .map(move |k| {
                let p = ex.extract_sample(&acts, k).expect("extract").path;
                ((b * batch + k) % classes, p)
            })
            .collect::<Vec<_>>()
    });
    let cp = ClassPaths::from_paths(ex.space(), net.num_classes(), ex.checked_options(), paths)
        .expect("class paths");
    let profiled = t.elapsed().as_secs_f64();
    cp.save(out).expect("save");
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    let kept: usize = cp
        .path_set()
        .iter()
        .map(|(_, p)| p.count(ElementKind::Synapse, effpath_algebra::LayerSelection::All))
        .sum();
    let heap: usize = cp.path_set().iter().map(|(_, p)| p.heap_bytes()).sum();
    println!(
        "{name}: {n} images, {classes} classes: profiled in {profiled:.1} s ({:.0} ms/image), \
         {kept} kept synapses over the class paths, class paths hold {:.1} MB, file {out} {:.1} MB \
         ({:.2} bytes per kept synapse)",
        profiled * 1e3 / n as f64,
        heap as f64 / 1e6,
        bytes as f64 / 1e6,
        bytes as f64 / kept.max(1) as f64
    );
}
