//! Synthetic data sets with known answers, shared by the integration tests.
#![allow(dead_code)]

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A labelled data set.
pub struct Data {
    pub x: Array2<f64>,
    pub y: Vec<bool>,
}

fn uniform(n: usize, d: usize, low: f64, high: f64, rng: &mut ChaCha8Rng) -> Array2<f64> {
    Array2::from_shape_fn((n, d), |_| rng.random_range(low..high))
}

/// Uniform features in [−1, 1]; adversarial iff feature 0 > 0 (the others are noise).
pub fn threshold(n: usize, d: usize, seed: u64) -> Data {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = uniform(n, d, -1.0, 1.0, &mut rng);
    let y = x.column(0).iter().map(|&v| v > 0.0).collect();
    Data { x, y }
}

/// Uniform features in [0, 1]; adversarial iff exactly one of features 0 and 1 is > 0.5.
pub fn xor(n: usize, d: usize, seed: u64) -> Data {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = uniform(n, d, 0.0, 1.0, &mut rng);
    let y = x
        .rows()
        .into_iter()
        .map(|r| (r[0] > 0.5) != (r[1] > 0.5))
        .collect();
    Data { x, y }
}

/// Uniform features, labels drawn independently of them (nothing to learn).
pub fn noise(n: usize, d: usize, seed: u64) -> Data {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = uniform(n, d, 0.0, 1.0, &mut rng);
    let y = (0..n).map(|_| rng.random_bool(0.5)).collect();
    Data { x, y }
}

/// Path-similarity-like rows `[rank-1 sims (layers), rank-2 sims (layers)]`: normal rows
/// have high rank-1 and low rank-2 similarity, adversarial rows lower rank-1 and higher
/// rank-2 similarity, with overlapping ranges per layer.
pub fn joint_similarity(n: usize, layers: usize, seed: u64) -> Data {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Array2::zeros((n, 2 * layers));
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let adversarial = rng.random_bool(0.5);
        let (r1, r2) = if adversarial {
            ((0.25, 0.65), (0.2, 0.6))
        } else {
            ((0.45, 0.95), (0.05, 0.45))
        };
        for l in 0..layers {
            x[[i, l]] = rng.random_range(r1.0..r1.1);
            x[[i, layers + l]] = rng.random_range(r2.0..r2.1);
        }
        y.push(adversarial);
    }
    Data { x, y }
}

impl Data {
    /// The rows with the given indices.
    pub fn select(&self, rows: &[usize]) -> Data {
        Data {
            x: self.x.select(ndarray::Axis(0), rows),
            y: rows.iter().map(|&i| self.y[i]).collect(),
        }
    }

    /// First `n_train` rows for training, the rest for testing.
    pub fn split(&self, n_train: usize) -> (Data, Data) {
        let n = self.y.len();
        let train: Vec<usize> = (0..n_train).collect();
        let test: Vec<usize> = (n_train..n).collect();
        (self.select(&train), self.select(&test))
    }
}
