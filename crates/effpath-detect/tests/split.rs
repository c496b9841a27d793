//! Experiment helpers: seeded splits, mean ± std.

use effpath_detect::{DetectError, Interval, OptionIssue, mean_std, split_indices};

#[test]
fn split_sizes_and_partition() {
    for (n, fraction, test) in [
        (10, 0.9, 9),
        (100, 0.9, 90),
        (7, 0.5, 4),
        (5, 0.0, 0),
        (5, 1.0, 5),
        (0, 0.3, 0),
        (100, 0.07, 7),
    ] {
        let (train, test_part) = split_indices(n, fraction, 3).expect("split");
        assert_eq!(test_part.len(), test, "n {n}, fraction {fraction}");
        assert_eq!(train.len(), n - test);
        let mut all: Vec<usize> = train.iter().chain(&test_part).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..n).collect::<Vec<_>>());
    }
}

#[test]
fn split_is_seeded() {
    let a = split_indices(50, 0.9, 1).expect("split");
    assert_eq!(a, split_indices(50, 0.9, 1).expect("split"));
    assert_ne!(a, split_indices(50, 0.9, 2).expect("split"));
}

#[test]
fn split_rejects_bad_fractions() {
    for bad in [-0.1, 1.5, f64::NAN] {
        assert!(matches!(
            split_indices(10, bad, 0),
            Err(DetectError::InvalidOption {
                option: "test_fraction",
                issue: OptionIssue::Fraction {
                    interval: Interval::Closed01,
                    ..
                },
            })
        ));
    }
}

#[test]
fn mean_and_sample_std() {
    let (mean, std) = mean_std(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
    assert_eq!(mean, 5.0);
    assert!((std - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
    assert_eq!(mean_std(&[3.5]), (3.5, 0.0));
    let (m, s) = mean_std(&[]);
    assert!(m.is_nan() && s.is_nan());
}
