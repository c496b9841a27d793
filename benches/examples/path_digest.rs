//! Prints a digest (per-layer kept counts + SHA-256 of every kept index) of the rank-1 and
//! rank-2 paths, full and last-3, of ImageNet-size `light/` topologies with seeded random
//! weights, and how long each extraction took — to check that a change to the extractor or
//! the path algebra keeps every bit on large networks (run before and after, diff the output):
//!
//! `cargo run --release -p effpath-benches --example path_digest -- bvlc_alexnet resnet50`

use std::time::Instant;

use effpath_algebra::ElementKind;
use effpath_benches::{input_batch, light_model};
use effpath_extract::{ExtractOptions, Extractor, Seed};
use sha2::{Digest, Sha256};

fn main() {
    let names: Vec<String> = std::env::args().skip(1).collect();
    for name in &names {
        let net = light_model(name, 1);
        let x = input_batch(&net, 1);
        let acts = net.forward(&x).expect("forward");
        let d = ExtractOptions::default();
        for (case, opts) in [
            ("rank1", d),
            ("rank2", d.with_seed(Seed::Rank(2))),
            ("rank1-last3", d.with_last_layers(3)),
        ] {
            let ex = Extractor::new(&net, opts).expect("options");
            let t = Instant::now();
            let e = ex.extract_sample(&acts, 0).expect("extract");
            let ms = t.elapsed().as_secs_f64() * 1e3;
            let mut h = Sha256::new();
            let mut total = [0usize; 3];
            for (l, layer) in e.path.layers().iter().enumerate() {
                for kind in ElementKind::ALL {
                    for i in layer.iter_ones(kind) {
                        h.update((l as u64).to_le_bytes());
                        h.update((kind.index() as u64).to_le_bytes());
                        h.update((i as u64).to_le_bytes());
                        total[kind.index()] += 1;
                    }
                }
            }
            let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
            let heap = e.path.heap_bytes();
            println!(
                "{name} {case} kept {total:?} {hex} ({ms:.0} ms; path holds {heap} bytes = {:.2} per kept synapse)",
                heap as f64 / total[1].max(1) as f64
            );
        }
    }
}
