//! Each attack on the trained LeNet-5: success rates and distortions are sane, FGSM's ε is
//! minimal, C&W beats DeepFool in L2, and the results are consistent (re-checked success,
//! clipping, determinism, filtering of misclassified sources and of targets).

mod common;

use effpath_attack::{
    AdversarialPatch, Attack, AttackError, AttackResult, AttackRun, Bim, CarliniWagnerL2, Checked,
    Classifier, DeepFool, Distortion, Fgsm, Jsma, ParamGuard, RandomNoise, Summary, random_targets,
};
use ndarray::{Array4, Axis};

/// Checks what every result must satisfy, whatever the attack.
fn check_consistent(
    clf: &Classifier<'_>,
    x: &Array4<f32>,
    labels: &[usize],
    results: &[AttackResult],
) {
    assert_eq!(results.len(), labels.len());
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r.index, i);
        assert_eq!(r.label, labels[i]);
        assert!(
            r.adversarial.iter().all(|v| (0.0..=1.0).contains(v)),
            "image {i} not in [0, 1]"
        );
        let adv = r.adversarial.view().insert_axis(Axis(0)).to_owned();
        let pred = clf.predict(&adv).expect("predict")[0];
        assert_eq!(
            pred, r.adversarial_prediction,
            "image {i}: prediction re-check"
        );
        let d = Distortion::between(x.index_axis(Axis(0), i), r.adversarial.view()).expect("shape");
        assert_eq!(d, r.distortion, "image {i}: distortion");
        if r.success {
            assert_eq!(r.original_prediction, r.label);
            assert_ne!(pred, r.label);
            if let Some(t) = r.target {
                assert_eq!(pred, t);
            }
            assert!(r.distortion.l0 > 0 && r.distortion.l2 > 0.0);
        } else {
            assert_eq!(r.adversarial, x.index_axis(Axis(0), i));
        }
    }
}

fn run(
    attack: &dyn Attack,
    clf: &Classifier<'_>,
    x: &Array4<f32>,
    labels: &[usize],
    targets: Option<&[usize]>,
) -> Vec<AttackResult> {
    let r = attack.run(clf, x, labels, targets, 0).expect("attack runs");
    check_consistent(clf, x, labels, &r);
    r
}

/// The attack of valid parameters `p`, checked.
fn ok<P: ParamGuard + std::fmt::Debug>(p: P) -> Checked<P> {
    let shown = format!("{p:?}");
    p.check().unwrap_or_else(|e| panic!("{shown}: {e}"))
}

/// A reduced C&W (fewer, faster binary-search steps) for the mechanics tests.
fn quick_cw() -> Checked<CarliniWagnerL2> {
    ok(CarliniWagnerL2 {
        binary_search_steps: 6,
        max_iterations: 300,
        learning_rate: 0.05,
        ..CarliniWagnerL2::default()
    })
}

#[test]
fn deepfool_and_cw_succeed_and_cw_finds_smaller_perturbations() {
    let net = common::lenet();
    let clf = common::classifier(&net);
    let (x, labels) = common::correct_images(&clf, 2);
    assert_eq!(labels.len(), 20);
    let df = Summary::of(&run(&ok(DeepFool::default()), &clf, &x, &labels, None));
    let cw = Summary::of(&run(&quick_cw(), &clf, &x, &labels, None));
    assert_eq!(df.attacked, 20);
    assert!(df.success_rate() >= 0.95, "DeepFool: {df:?}");
    assert!(cw.success_rate() >= 0.95, "C&W: {cw:?}");
    assert!(
        cw.l2.mean < df.l2.mean,
        "C&W L2 {} vs DeepFool {}",
        cw.l2.mean,
        df.l2.mean
    );
    // MNIST-scale L2 distortions: well above 0, well below the image norm.
    assert!(df.l2.mean > 0.3 && df.l2.mean < 5.0, "{df:?}");
}

#[test]
fn fgsm_epsilon_is_the_smallest_on_the_grid() {
    let net = common::lenet();
    let clf = common::classifier(&net);
    let (x, labels) = common::correct_images(&clf, 1);
    let fgsm = ok(Fgsm {
        refine: false,
        ..Fgsm::default()
    });
    let results = run(&fgsm, &clf, &x, &labels, None);
    let s = Summary::of(&results);
    assert!(s.success_rate() >= 0.8, "{s:?}");
    let mut checked = 0;
    for r in results.iter().filter(|r| r.success && r.iterations > 1) {
        let j = r.iterations; // candidates evaluated = index of ε = j / 1000
        assert!(
            (r.distortion.linf - j as f32 / 1000.0).abs() < 1e-4,
            "{r:?}"
        );
        // The grid truncated before ε (same points up to ε − 1/1000) does not succeed.
        let before = ok(Fgsm {
            epsilons: j - 1,
            max_epsilon: (j - 1) as f32 / 1000.0,
            refine: false,
        });
        let one = x
            .index_axis(Axis(0), r.index)
            .insert_axis(Axis(0))
            .to_owned();
        let again = before.run(&clf, &one, &[r.label], None, 0).expect("runs");
        assert!(
            !again[0].success,
            "ε − 1/1000 also succeeds for image {}",
            r.index
        );
        checked += 1;
    }
    assert!(checked >= 5);
    // With foolbox's refinement, ε can only shrink.
    let refined = run(&ok(Fgsm::default()), &clf, &x, &labels, None);
    for (a, b) in refined.iter().zip(&results) {
        assert_eq!(a.success, b.success);
        assert!(a.distortion.linf <= b.distortion.linf + 1e-6);
    }
}

#[test]
fn default_attacks_on_a_handful_of_images() {
    let net = common::lenet();
    let clf = common::classifier(&net);
    let (x, labels) = common::correct_images(&clf, 1);
    let targets = random_targets(&labels, 10, 3);
    type Case<'t> = (Box<dyn Attack>, Option<&'t [usize]>, f64);
    let cases: Vec<Case<'_>> = vec![
        (Box::new(ok(Fgsm::default())), None, 0.7),
        (Box::new(ok(Bim::default())), None, 0.9),
        (Box::new(ok(Jsma::default())), None, 0.9),
        (Box::new(ok(DeepFool::default())), None, 0.95),
        (Box::new(ok(RandomNoise::default())), None, 0.6),
        (Box::new(ok(Fgsm::default())), Some(&targets), 0.0),
        (Box::new(ok(Bim::targeted())), Some(&targets), 0.0),
        (Box::new(ok(Jsma::default())), Some(&targets), 0.7),
    ];
    for (attack, t, min_rate) in cases {
        let r = run(attack.as_ref(), &clf, &x, &labels, t);
        let s = Summary::of(&r);
        assert_eq!(s.attacked, 10, "{}", attack.name());
        assert!(
            s.success_rate() >= min_rate,
            "{} (targeted: {}): {s:?}",
            attack.name(),
            t.is_some()
        );
        if attack.name() == "bim" {
            // The smallest-L2 iterate is kept; BIM's L∞ stays well below FGSM's budget of 1.
            assert!(s.linf.mean < 0.3, "{s:?}");
        }
        if attack.name() == "jsma" {
            assert!(
                r.iter().all(|r| r.distortion.linf <= 0.7 + 1e-5),
                "≤ 7 changes of 0.1"
            );
        }
    }
}

#[test]
fn targeted_success_means_the_target() {
    let net = common::lenet();
    let clf = common::classifier(&net);
    let (x, labels) = common::correct_images(&clf, 1);
    let mut targets = random_targets(&labels, 10, 5);
    targets[0] = labels[0]; // a target equal to the label is never attacked
    let r = run(&quick_cw(), &clf, &x, &labels, Some(&targets));
    assert!(!r[0].success && r[0].iterations == 0);
    assert_eq!(r[0].target, Some(labels[0]));
    let s = Summary::of(&r);
    assert_eq!(s.attacked, 9);
    assert!(s.successes >= 8, "{s:?}");
    for r in r.iter().filter(|r| r.success) {
        assert_eq!(Some(r.adversarial_prediction), r.target);
    }
}

#[test]
fn misclassified_sources_are_not_attacked() {
    let net = common::lenet();
    let clf = common::classifier(&net);
    let (x, mut labels) = common::correct_images(&clf, 1);
    labels[3] = (labels[3] + 1) % 10; // now the prediction disagrees with the label
    for attack in [
        Box::new(ok(DeepFool::default())) as Box<dyn Attack>,
        Box::new(quick_cw()),
        Box::new(ok(RandomNoise::default())),
    ] {
        let r = run(attack.as_ref(), &clf, &x, &labels, None);
        assert!(!r[3].success, "{}", attack.name());
        assert_eq!(r[3].iterations, 0);
        assert_ne!(r[3].original_prediction, r[3].label);
        assert_eq!(Summary::of(&r).attacked, 9);
    }
}

#[test]
fn runs_are_deterministic_per_seed() {
    let net = common::lenet();
    let clf = common::classifier(&net);
    let (x, labels) = common::correct_images(&clf, 1);
    let jsma = ok(Jsma {
        num_random_targets: 2,
        max_iter: 200,
        ..Jsma::default()
    });
    let noise = ok(RandomNoise::default());
    for attack in [&jsma as &dyn Attack, &noise, &quick_cw()] {
        let a = attack.run(&clf, &x, &labels, None, 11).expect("runs");
        let b = attack.run(&clf, &x, &labels, None, 11).expect("runs");
        assert_eq!(a, b, "{}", attack.name());
    }
    let a = noise.run(&clf, &x, &labels, None, 1).expect("runs");
    let b = noise.run(&clf, &x, &labels, None, 2).expect("runs");
    assert_ne!(a, b, "another seed draws other noise");
    // A sub-batch gives the same results as the full batch (images are independent).
    let sub = x.select(Axis(0), &[2, 5]);
    let full = quick_cw().run(&clf, &x, &labels, None, 0).expect("runs");
    let part = quick_cw()
        .run(&clf, &sub, &[labels[2], labels[5]], None, 0)
        .expect("runs");
    assert_eq!(part[0].adversarial, full[2].adversarial);
    assert_eq!(part[1].adversarial, full[5].adversarial);
}

#[test]
fn adversarial_patch_trains_and_is_universal() {
    let net = common::lenet();
    let clf = common::classifier(&net);
    let (x, labels) = common::correct_images(&clf, 3);
    let train = effpath_data::Mnist::embedded_train()
        .expect("mnist")
        .to_tensor(0..2000, effpath_data::Normalization::None)
        .expect("tensor");
    let spec = ok(AdversarialPatch {
        steps: 300,
        ..AdversarialPatch::default()
    });
    let patch = spec.train(&clf, &train, 0).expect("trains");
    assert_eq!(patch.patch.dim(), (1, 15, 15)); // sqrt(0.3 · 784) ≈ 15
    assert_eq!(
        patch,
        spec.train(&clf, &train, 0).expect("trains"),
        "seeded"
    );
    let r = run(&patch, &clf, &x, &labels, None);
    let s = Summary::of(&r);
    assert_eq!(s.attacked, 27, "class-8 images are not attacked");
    assert!(s.success_rate() >= 0.5, "{s:?}");
    assert!(
        r.iter()
            .filter(|r| r.success)
            .all(|r| r.distortion.l0 <= 225)
    );
    let wrong = vec![3; labels.len()];
    assert!(matches!(
        patch.run(&clf, &x, &labels, Some(&wrong), 0),
        Err(AttackError::Input(_))
    ));
}

#[test]
fn invalid_inputs_are_errors() {
    let net = common::lenet();
    let clf = common::classifier(&net);
    let (x, labels) = common::correct_images(&clf, 1);
    let fgsm = ok(Fgsm::default());
    let input_err =
        |r: Result<Vec<AttackResult>, AttackError>| matches!(r, Err(AttackError::Input(_)));
    assert!(input_err(fgsm.run(&clf, &x, &labels[1..], None, 0)));
    assert!(input_err(fgsm.run(&clf, &x, &labels, Some(&[1, 2]), 0)));
    let mut bad = labels.clone();
    bad[0] = 10;
    assert!(input_err(fgsm.run(&clf, &x, &bad, None, 0)));
    let mut big = x.clone();
    big[[0, 0, 0, 0]] = 1.5;
    assert!(input_err(fgsm.run(&clf, &big, &labels, None, 0)));
    let wrong_shape = Array4::<f32>::zeros((1, 1, 27, 28));
    assert!(input_err(fgsm.run(&clf, &wrong_shape, &[0], None, 0)));
    let targets = random_targets(&labels, 10, 0);
    assert!(input_err(ok(DeepFool::default()).run(
        &clf,
        &x,
        &labels,
        Some(&targets),
        0
    )));
    let zero = Fgsm {
        epsilons: 0,
        ..Fgsm::default()
    };
    assert!(matches!(
        zero.check(),
        Err(AttackError::Parameter {
            name: "epsilons",
            ..
        })
    ));
    // An empty batch is fine.
    let empty = Array4::<f32>::zeros((0, 1, 28, 28));
    assert!(
        ok(DeepFool::default())
            .run(&clf, &empty, &[], None, 0)
            .expect("empty")
            .is_empty()
    );
}

#[test]
fn progress_counts_every_image_once() {
    let net = common::lenet();
    let clf = common::classifier(&net);
    let (x, mut labels) = common::correct_images(&clf, 1);
    labels[0] = (labels[0] + 1) % 10;
    let total = std::sync::atomic::AtomicU64::new(0);
    let progress = |n: u64| {
        total.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    };
    for attack in [
        &ok(Fgsm::default()) as &dyn Attack,
        &ok(Bim {
            epsilons: 3,
            ..Bim::default()
        }),
        &ok(DeepFool::default()),
        &ok(Jsma {
            max_iter: 50,
            ..Jsma::default()
        }),
        &quick_cw(),
        &ok(RandomNoise { max_draws: 20 }),
    ] {
        total.store(0, std::sync::atomic::Ordering::Relaxed);
        attack
            .run_with_progress(&AttackRun {
                progress: &progress,
                ..AttackRun::new(&clf, &x, &labels)
            })
            .expect("runs");
        assert_eq!(
            total.load(std::sync::atomic::Ordering::Relaxed),
            10,
            "{}",
            attack.name()
        );
    }
}

/// Activation matching reaches the target class within its budget, the binary search
/// shrinks the budget (the kept image is within max_epsilon, and a fixed small budget
/// succeeds less often), and the guides come from the batch: a target class without a
/// correctly classified image in the batch is never reached.
#[test]
fn activation_matching_reaches_targets_within_the_budget() {
    use effpath_attack::{ActivationMatching, MatchLoss};
    let net = common::lenet();
    let clf = common::classifier(&net);
    let (x, labels) = common::correct_images(&clf, 1);
    let targets = random_targets(&labels, 10, 3);
    for loss in [MatchLoss::L2, MatchLoss::Cosine] {
        let params = ActivationMatching {
            loss,
            ..ActivationMatching::default()
        };
        let attack = ok(params.clone());
        let r = run(&attack, &clf, &x, &labels, Some(&targets));
        let s = Summary::of(&r);
        assert!(s.successes >= 8, "{loss:?}: {s:?}");
        for r in r.iter().filter(|r| r.success) {
            assert_eq!(Some(r.adversarial_prediction), r.target);
            assert!(r.distortion.l2 <= attack.max_epsilon + 1e-4, "{r:?}");
        }
        let small = run(
            &ok(params.at_budget(0.5)),
            &clf,
            &x,
            &labels,
            Some(&targets),
        );
        assert!(Summary::of(&small).successes < s.successes, "{loss:?}");
    }
    // Only one image per class: drop the images of class targets[0]'s label so that no
    // guide exists for that target.
    let missing = targets[0];
    let keep: Vec<usize> = (0..labels.len())
        .filter(|&i| labels[i] != missing)
        .collect();
    let (x2, l2, t2): (Array4<f32>, Vec<usize>, Vec<usize>) = (
        x.select(Axis(0), &keep),
        keep.iter().map(|&i| labels[i]).collect(),
        keep.iter().map(|&i| targets[i]).collect(),
    );
    let r = run(
        &ok(ActivationMatching::default()),
        &clf,
        &x2,
        &l2,
        Some(&t2),
    );
    for r in &r {
        if r.target == Some(missing) {
            assert!(!r.success, "no guide of class {missing}");
        }
    }
}
