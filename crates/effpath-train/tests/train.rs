//! Training learns, is deterministic per seed, and rejects bad configurations and data.

#![allow(clippy::unwrap_used)]

use effpath_data::{Mnist, Normalization};
use effpath_train::{Event, Schedule, TrainConfig, evaluate, train};

fn small(n: usize) -> effpath_data::LabeledImages {
    Mnist::embedded_train()
        .unwrap()
        .subset(&(0..n).collect::<Vec<_>>())
        .unwrap()
}

#[test]
fn lenet_learns_and_training_is_deterministic() {
    let data = small(1024);
    let test = Mnist::embedded_test()
        .unwrap()
        .subset(&(0..500).collect::<Vec<_>>())
        .unwrap();
    let cfg = TrainConfig {
        epochs: 3,
        lr: 0.03,
        schedule: Schedule::Cosine,
        max_shift: 1,
        seed: 5,
        ..TrainConfig::default()
    };
    let mut a = effpath_ir::zoo::lenet5(1);
    let before = evaluate(&a, &test, Normalization::MNIST, 128).unwrap();
    let mut steps = 0;
    let report = train(&mut a, &data, Some(&test), &cfg, |e| {
        if matches!(e, Event::Step { .. }) {
            steps += 1;
        }
    })
    .unwrap();
    assert_eq!(steps, 3 * 16);
    let first = &report.epochs[0];
    let last = report.epochs.last().unwrap();
    assert!(
        last.train_loss < first.train_loss,
        "loss did not decrease: {report:?}"
    );
    let after = last.test_accuracy.unwrap();
    assert!(
        after > 0.8 && after > before + 0.5,
        "test accuracy {before} → {after}"
    );
    let mut b = effpath_ir::zoo::lenet5(1);
    train(&mut b, &data, Some(&test), &cfg, |_| {}).unwrap();
    assert_eq!(
        a.fingerprint(),
        b.fingerprint(),
        "same seed must give the same model"
    );
    let mut c = effpath_ir::zoo::lenet5(1);
    train(&mut c, &data, None, &TrainConfig { seed: 6, ..cfg }, |_| {}).unwrap();
    assert_ne!(a.fingerprint(), c.fingerprint());
}

#[test]
fn bad_configuration_and_data_are_errors() {
    let data = small(64);
    let mut net = effpath_ir::zoo::lenet5(0);
    for cfg in [
        TrainConfig {
            epochs: 0,
            ..TrainConfig::default()
        },
        TrainConfig {
            lr: -1.0,
            ..TrainConfig::default()
        },
        TrainConfig {
            momentum: 1.0,
            ..TrainConfig::default()
        },
        TrainConfig {
            schedule: Schedule::Step {
                every: 0,
                gamma: 0.1,
            },
            ..TrainConfig::default()
        },
    ] {
        assert!(
            train(&mut net, &data, None, &cfg, |_| {}).is_err(),
            "{cfg:?}"
        );
    }
    let mut wrong = effpath_ir::NetworkBuilder::new(vec![1, 8, 8]);
    let x = wrong.input();
    let f = wrong.flatten(x).unwrap();
    let y = wrong
        .dense(f, ndarray::Array2::zeros((10, 64)), None)
        .unwrap();
    let mut wrong = wrong.finish(y).unwrap();
    let err = train(&mut wrong, &data, None, &TrainConfig::default(), |_| {}).unwrap_err();
    assert!(err.to_string().contains("expects [1, 8, 8]"), "{err}");
    let diverge = TrainConfig {
        lr: 1e12,
        epochs: 3,
        ..TrainConfig::default()
    };
    let err = train(
        &mut effpath_ir::zoo::lenet5(0),
        &data,
        None,
        &diverge,
        |_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("diverged"), "{err}");
}
