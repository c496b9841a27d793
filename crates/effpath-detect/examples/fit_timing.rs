//! Fit and score times of every detector on random data (2,000 rows × 10 features by
//! default): `cargo run --release -p effpath-detect --example fit_timing [ROWS] [FEATURES]`.

use std::time::Instant;

use effpath_detect::{
    Detector, DetectorConfig, DetectorKind, DetectorModel, LinearOptions, roc_auc,
};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(Ok(2_000), |a| a.parse())?;
    let d: usize = args.next().map_or(Ok(10), |a| a.parse())?;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let x = Array2::from_shape_fn((n, d), |_| rng.random_range(0.0..1.0));
    // Noisy labels in the joint-similarity layout [rank-1 | rank-2]: adversarial rows tend
    // to have a lower first rank-1 and a higher first rank-2 feature.
    let y: Vec<bool> = x
        .rows()
        .into_iter()
        .map(|r| r[d / 2] - r[0] + rng.random_range(-0.5..0.5) > 0.0)
        .collect();
    println!(
        "{n} rows × {d} features, {} threads",
        rayon::current_num_threads()
    );
    let mut configs: Vec<(String, DetectorConfig)> = DetectorKind::ALL
        .iter()
        .map(|k| (k.to_string(), k.config(1)))
        .collect();
    configs.push((
        "linear (original)".into(),
        DetectorConfig::Linear(LinearOptions::original()),
    ));
    for (name, config) in configs {
        let start = Instant::now();
        let model = DetectorModel::fit(&config, &x, &y)?;
        let fit = start.elapsed();
        let start = Instant::now();
        let scores = model.score(&x)?;
        let score = start.elapsed();
        let json = model.to_json()?.len();
        println!(
            "{name:>20}: fit {:>8.1} ms, score {:>6.1} ms, training AUC {:.3}, JSON {:.1} kB",
            fit.as_secs_f64() * 1e3,
            score.as_secs_f64() * 1e3,
            roc_auc(&scores, &y)?,
            json as f64 / 1e3
        );
    }
    Ok(())
}
