//! Fit time of the smartcore-backed detectors vs training rows (two Gaussian blobs, 10
//! features, like the demo's LeNet features): `cargo run --release -p effpath-detect
//! --example svm_time`.

use std::time::Instant;

use effpath_detect::{Detector, Logistic, LogisticOptions, Svm, SvmOptions};
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let noise = Normal::new(0.0, 0.1)?;
    for n in [100usize, 500, 1000, 2000, 4000, 8000] {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let y: Vec<bool> = (0..n).map(|i| i % 4 == 0).collect();
        let x = Array2::from_shape_fn((n, 10), |(i, _)| {
            (if y[i] { 0.6 } else { 0.8 }) + noise.sample(&mut rng)
        });
        let all = SvmOptions {
            max_train_rows: None,
            ..SvmOptions::default()
        };
        let t = Instant::now();
        Svm::fit(&all, &x, &y)?;
        let svm = t.elapsed().as_secs_f64();
        let t = Instant::now();
        Logistic::fit(&LogisticOptions::default(), &x, &y)?;
        let lr = t.elapsed().as_secs_f64();
        println!("{n:>6} rows: svm {svm:.3} s, logistic {lr:.3} s");
    }
    Ok(())
}
