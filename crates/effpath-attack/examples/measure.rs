//! Measures every attack on correctly classified MNIST test images with the default
//! hyper-parameters: success rate, mean/median L2 and L∞, and time.
//!
//! `cargo run --release -p effpath-attack --example measure -- [PER_CLASS] [ATTACK…]`
//! (default 10 images per class, all attacks). Uses `tests/data/lenet-mnist.onnx`.

use std::time::Instant;

use effpath_attack::{
    AdversarialPatch, Attack, Bim, CarliniWagnerL2, Classifier, DeepFool, Fgsm, Jsma, ParamGuard,
    RandomNoise, Summary, random_targets,
};
use effpath_data::{Mnist, Normalization};
use ndarray::Axis;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let per_class: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(10);
    let wanted: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/lenet-mnist.onnx");
    let net = effpath_ir::onnx::load(path)?;
    let clf = Classifier::new(&net, Normalization::MNIST)?;
    let test = Mnist::embedded_test()?;
    // First `per_class` correctly classified images of each class.
    let all = test.to_tensor(.., Normalization::None)?;
    let preds = clf.predict(&all)?;
    let mut picked = Vec::new();
    let mut count = [0usize; 10];
    for (i, (&l, &p)) in test.labels().iter().zip(&preds).enumerate() {
        if l == p && count[l] < per_class {
            count[l] += 1;
            picked.push(i);
        }
    }
    let x = all.select(Axis(0), &picked);
    let labels: Vec<usize> = picked.iter().map(|&i| test.labels()[i]).collect();
    let targets = random_targets(&labels, 10, 1);
    println!("{} images", picked.len());
    println!(
        "{:<16} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "attack", "success", "L2 mean", "L2 med", "Linf mean", "Linf med", "iters", "time s"
    );
    let train = Mnist::embedded_train()?.to_tensor(.., Normalization::None)?;
    let mut runs: Vec<(&str, Box<dyn Attack>, bool)> = vec![
        ("fgsm", Box::new(Fgsm::default().check()?), false),
        ("fgsm-targeted", Box::new(Fgsm::default().check()?), true),
        ("bim", Box::new(Bim::default().check()?), false),
        ("bim-targeted", Box::new(Bim::targeted().check()?), true),
        ("deepfool", Box::new(DeepFool::default().check()?), false),
        ("jsma", Box::new(Jsma::default().check()?), false),
        (
            "cw-l2",
            Box::new(CarliniWagnerL2::default().check()?),
            false,
        ),
        (
            "cw-l2-targeted",
            Box::new(CarliniWagnerL2::default().check()?),
            true,
        ),
        (
            "random-noise",
            Box::new(RandomNoise::default().check()?),
            false,
        ),
    ];
    if wanted.is_empty() || wanted.contains(&"patch") {
        let t = Instant::now();
        let patch = AdversarialPatch::default()
            .check()?
            .train(&clf, &train, 0)?;
        println!("(patch training: {:.1} s)", t.elapsed().as_secs_f64());
        runs.push(("patch", Box::new(patch), false));
    }
    for (name, attack, targeted) in runs {
        if !wanted.is_empty() && !wanted.contains(&name) {
            continue;
        }
        let t = Instant::now();
        let r = attack.run(&clf, &x, &labels, targeted.then_some(&targets[..]), 0)?;
        let secs = t.elapsed().as_secs_f64();
        let s = Summary::of(&r);
        println!(
            "{:<16} {:>3}/{:<4} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>9.1} {:>9.1}",
            name,
            s.successes,
            s.attacked,
            s.l2.mean,
            s.l2.median,
            s.linf.mean,
            s.linf.median,
            s.mean_iterations,
            secs
        );
    }
    Ok(())
}
