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
fn resnet_small_trains_in_training_mode_and_updates_running_stats() {
    let data = small(512);
    let mut net = effpath_ir::zoo::resnet_small(0, [1, 28, 28], 10).unwrap();
    let before = net.clone();
    let cfg = TrainConfig {
        epochs: 1,
        batch_size: 32,
        lr: 0.1,
        weight_decay: 5e-4,
        seed: 1,
        ..TrainConfig::default()
    };
    let mut step_losses = Vec::new();
    let mut last = (0.0, 0usize);
    train(&mut net, &data, None, &cfg, |e| {
        if let Event::Step { loss, step, .. } = *e {
            // `loss` is the running mean over the epoch: recover each step's loss.
            step_losses.push(loss * step as f64 - last.0 * last.1 as f64);
            last = (loss, step);
        }
    })
    .unwrap();
    assert_eq!(step_losses.len(), 16);
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    let (first, end) = (mean(&step_losses[..4]), mean(&step_losses[12..]));
    assert!(end < 0.85 * first, "loss {first} → {end}: {step_losses:?}");
    let mut bns = 0;
    for (i, node) in net.nodes().iter().enumerate() {
        if let effpath_ir::Op::BatchNorm(b) = &node.op {
            let effpath_ir::Op::BatchNorm(b0) = &before.nodes()[i].op else {
                unreachable!("same structure")
            };
            assert!(b.mean != b0.mean && b.var != b0.var, "{}", node.name);
            assert!(b.var.iter().all(|&v| v > 0.0), "{}", node.name);
            bns += 1;
        }
    }
    assert_eq!(bns, 9);
    // Evaluation runs in inference mode (running statistics).
    let acc = evaluate(&net, &small(256), Normalization::MNIST, 64).unwrap();
    assert!((0.0..=1.0).contains(&acc));
    // bn_momentum 0 freezes the running statistics (and is otherwise the same training).
    let mut frozen = effpath_ir::zoo::resnet_small(0, [1, 28, 28], 10).unwrap();
    let cfg0 = TrainConfig {
        bn_momentum: 0.0,
        ..cfg
    };
    train(&mut frozen, &small(64), None, &cfg0, |_| {}).unwrap();
    for (a, b) in frozen.nodes().iter().zip(before.nodes()) {
        if let (effpath_ir::Op::BatchNorm(x), effpath_ir::Op::BatchNorm(y)) = (&a.op, &b.op) {
            assert_eq!((&x.mean, &x.var), (&y.mean, &y.var));
        }
    }
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
            bn_momentum: 1.5,
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
    // The loss explodes (2.3 → 5e10 → 7e37 → ∞): give it enough epochs to leave f32's range
    // whatever the rounding of the kernels.
    let diverge = TrainConfig {
        lr: 1e12,
        epochs: 8,
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

#[test]
fn observed_training_is_the_same_training_and_sees_every_epoch() {
    let data = small(256);
    let cfg = TrainConfig {
        epochs: 3,
        lr: 0.03,
        seed: 2,
        ..TrainConfig::default()
    };
    let mut plain = effpath_ir::zoo::lenet5(3);
    train(&mut plain, &data, None, &cfg, |_| {}).unwrap();
    let mut observed = effpath_ir::zoo::lenet5(3);
    let mut seen = Vec::new();
    effpath_train::train_observed(
        &mut observed,
        &data,
        None,
        &cfg,
        |_| {},
        |stats, net| {
            seen.push((stats.epoch, net.fingerprint()));
        },
    )
    .unwrap();
    assert_eq!(observed.fingerprint(), plain.fingerprint());
    let epochs: Vec<usize> = seen.iter().map(|(e, _)| *e).collect();
    assert_eq!(epochs, [1, 2, 3]);
    // The network handed over changes from epoch to epoch, and the last one is the result.
    assert_ne!(seen[0].1, seen[1].1);
    assert_eq!(seen[2].1, observed.fingerprint());
}
