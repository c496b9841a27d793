//! `effpath demo`: the whole method on the shipped defaults — class paths of the trained
//! LeNet on the MNIST training split, attacks on correctly classified test digits, path
//! features, six detectors, AUC per attack, and a report folder.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use effpath::attack::{
    AdversarialPatch, Attack, AttackResult, Bim, CarliniWagnerL2, Classifier, DeepFool, Fgsm, Jsma,
    RandomNoise, Summary, random_targets,
};
use effpath::detect::Detector;
use effpath::detect::{ExperimentData, ExperimentOptions, last_layers, run_experiment};
use effpath::guard::DetectorFile;
use effpath::ndarray::{Array2, Array4, Axis, stack};
use effpath::{
    ClassPaths, DetectorKind, DetectorModel, FeatureOptions, Mnist, Normalization, PathFeatures,
    ProfileOptions,
};

use crate::data::model_normalization;
use crate::model::ModelArgs;
use crate::output;
use crate::report::{AttackRow, CLASSPATHS_FILE, Report, ReportFiles, Sweep, detector_file_name};

/// Every attack the demo knows, in report order.
pub const ATTACKS: [&str; 8] = [
    "fgsm",
    "bim",
    "deepfool",
    "jsma",
    "cw-l2",
    "cw-l2-targeted",
    "random-noise",
    "patch",
];

/// Arguments of `effpath demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The model: an .onnx file for 1×28×28 digits, or `lenet5-mnist` (shipped)
    #[arg(long, default_value = "lenet5-mnist")]
    model: PathBuf,

    /// Report folder
    #[arg(long, default_value = "report")]
    out: PathBuf,

    /// Correctly classified test images per class to attack
    #[arg(long, default_value_t = 100)]
    per_class: usize,

    /// Attacks to run (comma-separated)
    #[arg(long, value_delimiter = ',', default_values_t = ATTACKS.map(String::from))]
    attacks: Vec<String>,

    /// Repetitions of each detection experiment (fresh splits and seeds)
    #[arg(long, default_value_t = 5)]
    repetitions: usize,

    /// Cumulative threshold θ
    #[arg(long, default_value_t = 0.5)]
    theta: f64,

    /// Maximum C&W iterations per binary-search step (the paper's setting is 10,000)
    #[arg(long, default_value_t = 1000)]
    cw_iterations: usize,

    /// Seed of every random choice
    #[arg(long, default_value_t = 0)]
    seed: u64,

    /// No progress bars
    #[arg(short, long)]
    quiet: bool,
}

/// Indices of the first `k` correctly classified images of each class.
fn normal_indices(
    clf: &Classifier<'_>,
    pixels: &Array4<f32>,
    labels: &[usize],
    k: usize,
) -> Result<Vec<usize>> {
    let logits = clf.logits(pixels)?;
    let mut count = vec![0usize; clf.num_classes()];
    let mut keep = Vec::new();
    for (i, row) in logits.rows().into_iter().enumerate() {
        let l = labels[i];
        if effpath::ir::argmax(row.iter().copied()) == l && count[l] < k {
            count[l] += 1;
            keep.push(i);
        }
    }
    Ok(keep)
}

/// Features of pixel images as complete rows; returns the matrix and the number dropped.
fn features(
    f: &PathFeatures<'_>,
    pixels: &Array4<f32>,
    norm: Normalization,
) -> Result<(Array2<f64>, usize, Vec<Vec<f64>>)> {
    let mut x = pixels.clone();
    norm.apply(&mut x);
    let rows = f.compute_batch(&x.into_dyn())?;
    let complete: Vec<Vec<f64>> = rows.iter().filter_map(|r| r.complete()).collect();
    let dropped = rows.len() - complete.len();
    let flat: Vec<f64> = complete.iter().flatten().copied().collect();
    Ok((
        Array2::from_shape_vec((complete.len(), f.len()), flat)?,
        dropped,
        complete,
    ))
}

fn run_attack(
    name: &str,
    args: &DemoArgs,
    clf: &Classifier<'_>,
    x: &Array4<f32>,
    labels: &[usize],
    train_pixels: &Array4<f32>,
    bar: &indicatif::ProgressBar,
) -> Result<Vec<AttackResult>> {
    let progress = |n: u64| bar.inc(n);
    let targets = random_targets(labels, clf.num_classes(), args.seed);
    let cw = CarliniWagnerL2 {
        max_iterations: args.cw_iterations,
        ..CarliniWagnerL2::default()
    };
    let seed = args.seed;
    Ok(match name {
        "fgsm" => Fgsm::default().run_with_progress(clf, x, labels, None, seed, &progress)?,
        "bim" => Bim::default().run_with_progress(clf, x, labels, None, seed, &progress)?,
        "deepfool" => {
            DeepFool::default().run_with_progress(clf, x, labels, None, seed, &progress)?
        }
        "jsma" => {
            Jsma::default().run_with_progress(clf, x, labels, Some(&targets), seed, &progress)?
        }
        "cw-l2" => cw.run_with_progress(clf, x, labels, None, seed, &progress)?,
        "cw-l2-targeted" => {
            cw.run_with_progress(clf, x, labels, Some(&targets), seed, &progress)?
        }
        "random-noise" => {
            RandomNoise::default().run_with_progress(clf, x, labels, None, seed, &progress)?
        }
        "patch" => {
            let patch = AdversarialPatch::default().train(clf, train_pixels, seed)?;
            patch.run_with_progress(clf, x, labels, None, seed, &progress)?
        }
        other => bail!("unknown attack `{other}` (known: {})", ATTACKS.join(", ")),
    })
}

/// Mean AUC per attack of the linear (joint-similarity) detector on `data`.
fn linear_auc(
    data: &ExperimentData,
    args: &DemoArgs,
    train_fraction: f64,
    train_attacks: Option<Vec<String>>,
) -> Result<Vec<f64>> {
    let opts = ExperimentOptions {
        detector: DetectorKind::Linear,
        repetitions: args.repetitions,
        seed: args.seed,
        train_fraction,
        train_attacks,
        ..ExperimentOptions::default()
    };
    Ok(run_experiment(data, &opts)?
        .summary()
        .into_iter()
        .map(|(m, _)| m)
        .collect())
}

/// The paper's sweeps with the linear detector: number of layers (Fig. 12/20), training-set
/// size (Fig. 18), attacks used for training (Fig. 10/19) and θ (Fig. 11).
fn sweeps(
    args: &DemoArgs,
    data: &ExperimentData,
    net: &effpath::Network,
    train: (&effpath::ndarray::ArrayD<f32>, &[usize]),
    x: &Array4<f32>,
    adversarial: &[(String, Array4<f32>)],
    norm: Normalization,
) -> Result<Vec<Sweep>> {
    let names: Vec<String> = data.attacks.iter().map(|(n, _)| n.clone()).collect();
    // Rows are per setting; the report wants one series per attack.
    let collect = |rows: Vec<Vec<f64>>| -> Vec<(String, Vec<f64>)> {
        names
            .iter()
            .enumerate()
            .map(|(k, n)| (n.clone(), rows.iter().map(|r| r[k]).collect()))
            .collect()
    };
    let layers = data.normal.ncols() / 2;
    let mut out = Vec::new();
    let mut rows = Vec::new();
    for n in 1..=layers {
        let d = ExperimentData {
            normal: last_layers(&data.normal, n)?,
            attacks: data
                .attacks
                .iter()
                .map(|(a, m)| Ok((a.clone(), last_layers(m, n)?)))
                .collect::<Result<_>>()?,
        };
        rows.push(linear_auc(&d, args, 0.1, None)?);
    }
    let xs: Vec<f64> = (1..=layers).map(|n| n as f64).collect();
    out.push(Sweep {
        stem: "sweep_layers".into(),
        title: "AUC vs number of last layers used".into(),
        x_desc: "last n weighted layers".into(),
        series: collect(rows),
        xs,
    });
    let fracs = [0.1, 0.2, 0.3, 0.4, 0.5];
    let rows = fracs
        .iter()
        .map(|&f| linear_auc(data, args, f, None))
        .collect::<Result<Vec<_>>>()?;
    out.push(Sweep {
        stem: "sweep_training_size".into(),
        title: "AUC vs training fraction".into(),
        x_desc: "fraction of examples used for training".into(),
        series: collect(rows),
        xs: fracs.to_vec(),
    });
    let rows = (1..=names.len())
        .map(|k| linear_auc(data, args, 0.1, Some(names[..k].to_vec())))
        .collect::<Result<Vec<_>>>()?;
    let xs: Vec<f64> = (1..=names.len()).map(|k| k as f64).collect();
    out.push(Sweep {
        stem: "sweep_generalisation".into(),
        title: "AUC vs attacks used for training (in report order)".into(),
        x_desc: "number of attacks in the training set".into(),
        series: collect(rows),
        xs,
    });
    let thetas = [0.1, 0.3, 0.5, 0.7, 0.9, 1.0];
    let mut rows = Vec::new();
    for &theta in &thetas {
        let popts = ProfileOptions {
            extract: effpath::ExtractOptions::default().with_theta(theta),
            ..ProfileOptions::default()
        };
        let cp = ClassPaths::profile(net, train.0, train.1, &popts, |_, _| {})?;
        let f = PathFeatures::new(
            net,
            &cp,
            FeatureOptions {
                extract: *cp.options(),
                ..FeatureOptions::default()
            },
        )?;
        let mut d = ExperimentData {
            normal: features(&f, x, norm)?.0,
            attacks: Vec::new(),
        };
        for (a, adv) in adversarial.iter().filter(|(a, _)| names.contains(a)) {
            d.attacks.push((a.clone(), features(&f, adv, norm)?.0));
        }
        rows.push(linear_auc(&d, args, 0.1, None)?);
    }
    out.push(Sweep {
        stem: "sweep_theta".into(),
        title: "AUC vs θ".into(),
        x_desc: "θ".into(),
        series: collect(rows),
        xs: thetas.to_vec(),
    });
    Ok(out)
}

/// False-positive rate on the normal training rows that sets the threshold of the demo's
/// detector files (the default of `effpath fit-detector`).
const DETECTOR_FILE_FPR: f64 = 0.05;

/// Writes `classpaths.bin` and one `detector-<kind>.json` per detector kind into the report
/// folder: each detector fitted on the training rows of the first repetition (the normal
/// training split and every attack's training split), its threshold at
/// [`DETECTOR_FILE_FPR`] on the normal training rows — the files `effpath profile` and
/// `effpath fit-detector` write and `effpath detect` reads.
fn write_detector_files(
    args: &DemoArgs,
    net: &effpath::Network,
    cp: &ClassPaths,
    data: &ExperimentData,
    features: FeatureOptions,
    names: &[String],
) -> Result<ReportFiles> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let classpaths = args.out.join(CLASSPATHS_FILE);
    cp.save(&classpaths)
        .with_context(|| format!("cannot write {}", classpaths.display()))?;
    let options = ExperimentOptions {
        seed: args.seed,
        ..ExperimentOptions::default()
    };
    let split = data.split(&options, 0)?;
    let train = data.training_set(&options, &split)?;
    let normal = train.normal();
    let mut detectors = Vec::new();
    for kind in DetectorKind::ALL {
        let model = DetectorModel::fit(&kind.config(split.seed), &train.x, &train.labels)?;
        let file = DetectorFile::new(
            net.fingerprint().to_string(),
            features,
            names.to_vec(),
            model,
            &normal,
            DETECTOR_FILE_FPR,
        )?;
        let name = detector_file_name(kind);
        let path = args.out.join(&name);
        file.save(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        detectors.push((kind, name));
    }
    Ok(ReportFiles {
        model: args.model.display().to_string(),
        dir: args.out.display().to_string(),
        classpaths: CLASSPATHS_FILE.to_string(),
        detectors,
        normal_rows: train.normal_rows,
        adversarial_rows: train.x.nrows() - train.normal_rows,
        fpr: DETECTOR_FILE_FPR,
    })
}

/// Runs `effpath demo`.
pub fn run(args: &DemoArgs, out: &mut impl Write) -> Result<()> {
    if let Some(a) = args.attacks.iter().find(|a| !ATTACKS.contains(&a.as_str())) {
        bail!("unknown attack `{a}` (known: {})", ATTACKS.join(", "));
    }
    if args.per_class == 0 || args.repetitions == 0 {
        bail!("--per-class and --repetitions must be at least 1");
    }
    let started = std::time::Instant::now();
    let net = ModelArgs {
        model: args.model.clone(),
        random_weights: None,
    }
    .load()?
    .net;
    let norm = model_normalization(&net);
    let clf = Classifier::new(&net, norm)?;
    let (train, test) = (Mnist::embedded_train()?, Mnist::embedded_test()?);
    crate::data::check_image_shape(&net, train.rows(), train.cols())?;

    writeln!(
        out,
        "1/5 class paths of {} training images (θ = {})",
        train.len(),
        args.theta
    )?;
    out.flush()?;
    let train_x = train.to_tensor(.., norm)?.into_dyn();
    let train_labels: Vec<usize> = train.labels().iter().map(|&l| l as usize).collect();
    let popts = ProfileOptions {
        extract: effpath::ExtractOptions::default().with_theta(args.theta),
        ..ProfileOptions::default()
    };
    let bar = output::progress_bar(train.len() as u64, args.quiet);
    let cp = ClassPaths::profile(&net, &train_x, &train_labels, &popts, |done, _| {
        bar.set_position(done as u64)
    })?;
    bar.finish_and_clear();

    let test_pixels = test.to_tensor(.., Normalization::None)?;
    let test_labels: Vec<usize> = test.labels().iter().map(|&l| l as usize).collect();
    let keep = normal_indices(&clf, &test_pixels, &test_labels, args.per_class)?;
    let x = test_pixels.select(Axis(0), &keep);
    let labels: Vec<usize> = keep.iter().map(|&i| test_labels[i]).collect();
    let train_pixels = train.to_tensor(0..train.len().min(2000), Normalization::None)?;

    writeln!(
        out,
        "2/5 attacks on {} correctly classified test digits",
        keep.len()
    )?;
    out.flush()?;
    let mut attack_rows = Vec::new();
    let mut adversarial: Vec<(String, Array4<f32>)> = Vec::new();
    for name in &args.attacks {
        let t = std::time::Instant::now();
        let bar = output::progress_bar(keep.len() as u64, args.quiet);
        bar.set_message(name.clone());
        let results = run_attack(name, args, &clf, &x, &labels, &train_pixels, &bar)?;
        bar.finish_and_clear();
        let ok: Vec<_> = results
            .iter()
            .filter(|r| r.success)
            .map(|r| r.adversarial.view())
            .collect();
        let summary = Summary::of(&results);
        writeln!(
            out,
            "    {name:<15} {:>4}/{:<4} succeeded, mean L2 {:.3}, mean L∞ {:.3} ({:.1}s)",
            summary.successes,
            summary.attacked,
            summary.l2.mean,
            summary.linf.mean,
            t.elapsed().as_secs_f64()
        )?;
        out.flush()?;
        attack_rows.push(AttackRow {
            name: name.clone(),
            summary,
            seconds: t.elapsed().as_secs_f64(),
        });
        if !ok.is_empty() {
            adversarial.push((name.clone(), stack(Axis(0), &ok)?));
        }
    }

    writeln!(
        out,
        "3/5 path features (rank-1 and rank-2 similarity per weighted layer)"
    )?;
    let fopts = FeatureOptions {
        extract: *cp.options(),
        ..FeatureOptions::default()
    };
    let f = PathFeatures::new(&net, &cp, fopts)?;
    let (normal, dropped, normal_rows) = features(&f, &x, norm)?;
    let mut data = ExperimentData {
        normal,
        attacks: Vec::new(),
    };
    let mut attack_feature_rows = Vec::new();
    let mut dropped_rows = vec![("normal".to_string(), dropped)];
    for (name, adv) in &adversarial {
        let (m, d, rows) = features(&f, adv, norm)?;
        dropped_rows.push((name.clone(), d));
        if m.nrows() >= 10 {
            data.attacks.push((name.clone(), m));
            attack_feature_rows.push((name.clone(), rows));
        }
    }
    if data.attacks.is_empty() {
        bail!("no attack produced at least 10 adversarial examples; raise --per-class");
    }

    writeln!(
        out,
        "4/5 detectors ({} repetitions, 10% train / 90% test)",
        args.repetitions
    )?;
    let mut results = Vec::new();
    for kind in DetectorKind::ALL {
        let opts = ExperimentOptions {
            detector: kind,
            repetitions: args.repetitions,
            seed: args.seed,
            ..ExperimentOptions::default()
        };
        results.push(run_experiment(&data, &opts)?);
    }
    let files = write_detector_files(args, &net, &cp, &data, fopts, &f.names())?;
    writeln!(
        out,
        "5/5 sweeps with the linear detector: layers, training size, attacks for training, θ"
    )?;
    out.flush()?;
    let sweeps = sweeps(
        args,
        &data,
        &net,
        (&train_x, &train_labels),
        &x,
        &adversarial,
        norm,
    )?;
    let report = Report {
        sweeps,
        model: args.model.display().to_string(),
        fingerprint: net.fingerprint().to_string(),
        theta: args.theta,
        normal_images: keep.len(),
        feature_names: f.names(),
        attacks: attack_rows,
        dropped: dropped_rows,
        auc: results,
        normal_rows,
        attack_rows: attack_feature_rows,
        files,
        class_jaccard: cp
            .jaccard_matrix(effpath::ElementKind::Synapse, effpath::LayerSelection::All)?,
        seconds: started.elapsed().as_secs_f64(),
    };
    report.print_table(out)?;
    report.write(&args.out)?;
    writeln!(out, "report: {}", args.out.join("index.html").display())?;
    if let Some((_, name)) = report.files.detectors.first() {
        writeln!(
            out,
            "flag inputs with a saved detector: {}",
            report
                .files
                .detect_command(name, &["--dataset", "mnist-test", "--limit", "100"])
        )?;
    }
    Ok(())
}
