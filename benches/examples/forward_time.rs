//! Times effpath's forward pass on one ONNX file, for `benches/ort_compare.py`.
//!
//! ```text
//! cargo run --release -p effpath-benches --example forward_time -- \
//!     MODEL.onnx INPUT.npy OUTPUT.npy [ITERATIONS] [WARM_UP]
//! ```
//!
//! Loads `MODEL.onnx` with `effpath_ir::onnx::load`, reads the batch `INPUT.npy` (f32,
//! `(batch, per-sample shape…)`), runs `Network::forward` and `Network::predict` `WARM_UP`
//! times (default 2) and then `ITERATIONS` times each (default 10), writes the logits of
//! `predict` to `OUTPUT.npy` and prints one JSON line: the median and minimum wall-clock
//! milliseconds of each, the median CPU milliseconds (all threads, from Linux `schedstat`:
//! less sensitive to other load on the machine), the thread count and the batch size. The thread count is rayon's global pool
//! (`RAYON_NUM_THREADS`).

use std::fs::File;
use std::hint::black_box;
use std::time::Instant;

use effpath_ir::onnx;
use ndarray::ArrayD;
use ndarray_npy::{ReadNpyExt, WriteNpyExt};

/// CPU time of all threads of this process so far, in ms (Linux `schedstat`; 0 elsewhere).
fn cpu_ms() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .sum::<f64>()
        / 1e6
}

/// Median and minimum wall-clock ms, and median CPU ms (all threads), of `iterations` runs.
fn time(iterations: usize, warm_up: usize, mut f: impl FnMut()) -> (f64, f64, f64) {
    for _ in 0..warm_up {
        f();
    }
    let (mut ms, mut cpu): (Vec<f64>, Vec<f64>) = (0..iterations)
        .map(|_| {
            let c = cpu_ms();
            let t = Instant::now();
            f();
            (t.elapsed().as_secs_f64() * 1e3, cpu_ms() - c)
        })
        .unzip();
    ms.sort_by(f64::total_cmp);
    cpu.sort_by(f64::total_cmp);
    (ms[ms.len() / 2], ms[0], cpu[cpu.len() / 2])
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, input, output, rest @ ..] = args.as_slice() else {
        anyhow::bail!("usage: forward_time MODEL.onnx INPUT.npy OUTPUT.npy [ITERATIONS] [WARM_UP]");
    };
    let iterations: usize = rest.first().map_or(Ok(10), |s| s.parse())?.max(1);
    let warm_up: usize = rest.get(1).map_or(Ok(2), |s| s.parse())?;
    let net = onnx::load(model)?;
    let x = ArrayD::<f32>::read_npy(File::open(input)?)?;
    let logits = net.predict(&x)?;
    logits.write_npy(File::create(output)?)?;
    let (forward_ms, forward_min, forward_cpu) = time(iterations, warm_up, || {
        black_box(
            net.forward(&x)
                .expect("the input was checked by the first predict"),
        );
    });
    let (predict_ms, predict_min, predict_cpu) = time(iterations, warm_up, || {
        black_box(
            net.predict(&x)
                .expect("the input was checked by the first predict"),
        );
    });
    println!(
        "{{\"forward_ms\": {forward_ms:.4}, \"forward_min_ms\": {forward_min:.4}, \"predict_ms\": {predict_ms:.4}, \"predict_min_ms\": {predict_min:.4}, \"forward_cpu_ms\": {forward_cpu:.4}, \"predict_cpu_ms\": {predict_cpu:.4}, \"threads\": {}, \"batch\": {}}}",
        rayon::current_num_threads(),
        x.shape()[0]
    );
    Ok(())
}
