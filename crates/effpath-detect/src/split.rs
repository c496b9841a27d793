//! Small helpers for experiments: seeded train/test splits and mean ± standard deviation.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::error::{DetectError, Interval, OptionIssue, Result};

/// Splits `0..n` into `(train, test)` index lists at random (seeded).
///
/// As scikit-learn's `train_test_split`: the test part has `⌈test_fraction · n⌉` indices, the
/// training part the rest; both are in the order of one seeded permutation (the test part is
/// its beginning). The same `(n, test_fraction, seed)` always gives the same split.
///
/// Errors: `test_fraction` not in [0, 1].
///
/// ```
/// let (train, test) = effpath_detect::split_indices(10, 0.9, 7)?;
/// assert_eq!((train.len(), test.len()), (1, 9));
/// # Ok::<(), effpath_detect::DetectError>(())
/// ```
pub fn split_indices(n: usize, test_fraction: f64, seed: u64) -> Result<(Vec<usize>, Vec<usize>)> {
    if !(0.0..=1.0).contains(&test_fraction) {
        return Err(DetectError::option(
            "test_fraction",
            OptionIssue::Fraction {
                value: test_fraction,
                interval: Interval::Closed01,
            },
        ));
    }
    // The tolerance keeps products such as 0.07 · 100 = 7.000000000000001 at 7.
    let n_test = ((test_fraction * n as f64 - 1e-9).ceil().max(0.0) as usize).min(n);
    let mut permutation: Vec<usize> = (0..n).collect();
    permutation.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let train = permutation.split_off(n_test);
    Ok((train, permutation))
}

/// Mean and sample standard deviation (divisor `n − 1`, as pandas' `std`) of `values`.
///
/// One value → standard deviation 0; no values → `(NaN, NaN)`.
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return (mean, 0.0);
    }
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    (mean, variance.sqrt())
}
