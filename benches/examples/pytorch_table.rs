//! The per-architecture table of issue 11: for every `<arch>.<exporter>.onnx` in
//! `benches/models/pytorch/` (written by `benches/pytorch/export_torchvision.py`), whether it
//! imports, the largest logit difference to PyTorch (absolute, and relative to the largest
//! |logit|), and the time of one rank-1 extraction (θ = 0.5) on the stored image. Writes a
//! Markdown table to stdout:
//!
//! `cargo run --release -p effpath-benches --example pytorch_table > benches/pytorch/table.md`

use std::path::{Path, PathBuf};
use std::time::Instant;

use effpath_algebra::ElementKind;
use effpath_extract::{ExtractOptions, Extractor};
use ndarray::{ArrayD, IxDyn};

fn read_f32(path: &Path) -> Option<Vec<f32>> {
    let bytes = std::fs::read(path).ok()?;
    Some(
        bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

fn row(path: &Path) -> String {
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (arch, exporter) = name.split_once('.').unwrap_or((&name, "?"));
    let t = Instant::now();
    let net = match effpath_ir::onnx::load(path) {
        Ok(n) => n,
        Err(e) => return format!("| {arch} | {exporter} | ✗ `{e}` | | | |"),
    };
    let import_s = t.elapsed().as_secs_f64();
    let Some(data) = read_f32(&path.with_extension("bin")) else {
        return format!("| {arch} | {exporter} | ✓ ({import_s:.1} s) | no .bin | | |");
    };
    let per: usize = net.input_shape().iter().product();
    let mut shape = vec![1];
    shape.extend_from_slice(net.input_shape());
    let Ok(x) = ArrayD::from_shape_vec(IxDyn(&shape), data[..per.min(data.len())].to_vec()) else {
        return format!("| {arch} | {exporter} | ✓ | input size mismatch | | |");
    };
    let want = &data[per..];
    let diff = match net.predict(&x) {
        Ok(z) => {
            let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
            let d = z
                .iter()
                .zip(want)
                .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            format!("{d:.2e} ({:.1e} rel.)", d / scale.max(f32::MIN_POSITIVE))
        }
        Err(e) => format!("forward failed: {e}"),
    };
    let ex = match Extractor::new(&net, ExtractOptions::default()) {
        Ok(ex) => ex,
        Err(e) => return format!("| {arch} | {exporter} | ✓ | {diff} | ✗ `{e}` | |"),
    };
    let t = Instant::now();
    match ex.extract(&x) {
        Ok(e) => {
            let s = t.elapsed().as_secs_f64();
            let neurons: usize = e
                .path
                .layers()
                .iter()
                .map(|l| l.iter_ones(ElementKind::Neuron).count())
                .sum();
            format!(
                "| {arch} | {exporter} | ✓ ({} nodes) | {diff} | {s:.2} s | {neurons} |",
                net.nodes().len()
            )
        }
        Err(e) => format!("| {arch} | {exporter} | ✓ | {diff} | ✗ `{e}` | |"),
    }
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("models/pytorch"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "onnx"));
    files.sort();
    println!(
        "| architecture | exporter | import | max logit diff vs PyTorch | extraction (1 image, θ = 0.5) | kept neurons |"
    );
    println!("|---|---|---|---|---|---|");
    for f in &files {
        println!("{}", row(f));
    }
}
