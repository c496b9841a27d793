//! `effpath demo`: the whole method on a shipped model and its embedded dataset — class
//! paths of the trained LeNet on the MNIST training split (or of the small ResNet on the
//! Fashion-MNIST subset, `--data fashion-mnist`), attacks on correctly classified test
//! images, path features, six detectors, AUC per attack, the guard's measured cost per number
//! of layers, and a report folder.

mod adaptive;
mod hardening;
mod overhead;

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use effpath::attack::{
    AttackConfig, AttackKind, AttackResult, AttackRun, Classifier, Summary, random_targets,
};
use effpath::baselines::{BaselineKind, BaselineSet};
use effpath::data::{Embedded, Normalization, Split};
use effpath::detect::{
    AucResult, Detector, ExperimentData, ExperimentOptions, last_layers, run_experiment,
};
use effpath::ensemble::GuardEnsemble;
use effpath::extract::{EmptyLayer, FeatureOptions, FeatureRow, ProfileOptions};
use effpath::guard::{DetectorFile, Guard};
use effpath::ndarray::{Array2, Array4, Axis, stack};
use effpath::{ClassPaths, DetectorKind, DetectorModel, PathFeatures};

use crate::data::{Dataset, model_normalization};
use crate::model::{ModelArgs, shipped};
use crate::output;
use crate::report::{
    Adaptive, AttackRow, CLASSPATHS_FILE, GuardCost, Report, ReportFiles, Stage, Stages, Sweep,
    detector_file_name,
};
use effpath::models::Shipped;

/// The attacks the demo runs, in report order (the paper's; the targeted FGSM and BIM of
/// `effpath attack` are left out).
pub const ATTACKS: [AttackKind; 8] = [
    AttackKind::Fgsm,
    AttackKind::Bim,
    AttackKind::Deepfool,
    AttackKind::Jsma,
    AttackKind::CwL2,
    AttackKind::CwL2Targeted,
    AttackKind::RandomNoise,
    AttackKind::Patch,
];

/// Sizes of a demo run: what `--fast` and the default run differ in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    /// Correctly classified test images per class to attack.
    pub per_class: usize,
    /// Of those, images per class the two C&W attacks (by far the slowest) attack: the
    /// first ones of each class; at most `per_class`.
    pub cw_per_class: usize,
    /// Repetitions of each detection experiment.
    pub repetitions: usize,
    /// Maximum C&W iterations per binary-search step.
    pub cw_iterations: usize,
    /// C&W binary-search steps on the constant `c`.
    pub cw_binary_steps: usize,
    /// Training images profiled into class paths (the first ones of the training split);
    /// `None` profiles all of them.
    pub profile_images: Option<usize>,
    /// BIM's number of step sizes (each run for 10 steps; the original's 100 on MNIST).
    pub bim_epsilons: usize,
}

/// The default run on MNIST (measured in the README: under 10 minutes on 2 cores).
pub const DEFAULT_PRESET: Preset = Preset {
    per_class: 100,
    cw_per_class: 50,
    repetitions: 5,
    cw_iterations: 300,
    cw_binary_steps: 6,
    profile_images: None,
    bim_epsilons: 100,
};

/// `--fast` on MNIST (about a minute on 2 cores; README).
pub const FAST_PRESET: Preset = Preset {
    per_class: 15,
    cw_per_class: 8,
    repetitions: 3,
    cw_iterations: 200,
    cw_binary_steps: 6,
    profile_images: Some(2000),
    bim_epsilons: 100,
};

/// The default run on Fashion-MNIST with the small ResNet (each image costs about 20 LeNet
/// forward passes, so fewer images than on MNIST; timings in the README).
pub const FASHION_DEFAULT_PRESET: Preset = Preset {
    per_class: 50,
    cw_per_class: 10,
    repetitions: 5,
    cw_iterations: 150,
    cw_binary_steps: 5,
    profile_images: None,
    bim_epsilons: 10,
};

/// `--fast` on Fashion-MNIST.
pub const FASHION_FAST_PRESET: Preset = Preset {
    per_class: 12,
    cw_per_class: 5,
    repetitions: 3,
    cw_iterations: 100,
    cw_binary_steps: 4,
    profile_images: Some(1000),
    bim_epsilons: 5,
};

impl Preset {
    /// The preset of a run on `data`, `--fast` or not.
    pub fn of(data: Embedded, fast: bool) -> Preset {
        match (data, fast) {
            (Embedded::Mnist, false) => DEFAULT_PRESET,
            (Embedded::Mnist, true) => FAST_PRESET,
            (Embedded::FashionMnist, false) => FASHION_DEFAULT_PRESET,
            (Embedded::FashionMnist, true) => FASHION_FAST_PRESET,
        }
    }
}

/// Arguments of `effpath demo`. Sizes left out come from the preset (the default run, or
/// `--fast`); a size given explicitly always wins over the preset.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The embedded dataset: mnist (with the shipped LeNet-5) or fashion-mnist (with the
    /// shipped small ResNet)
    #[arg(long, default_value = "mnist", value_name = "NAME")]
    data: Embedded,

    /// The model: an .onnx file for 1×28×28 images of --data, or a shipped model name
    /// [default: lenet5-mnist for mnist, resnet-small-fashion for fashion-mnist]
    #[arg(long)]
    model: Option<PathBuf>,

    /// Report folder
    #[arg(long, default_value = "report")]
    out: PathBuf,

    /// A quick run with every attack and detector. On mnist (about a minute on 2 cores): 15
    /// images per class (8 of them for C&W), 3 repetitions, C&W capped at 6 binary-search
    /// steps × 200 iterations, class paths of the first 2,000 training images; on
    /// fashion-mnist: 12 per class (5 for C&W), 3 repetitions, C&W 4 × 100, 1,000 training
    /// images. Explicit size flags override these
    #[arg(long)]
    fast: bool,

    /// Correctly classified test images per class to attack [default: 100 (fashion-mnist
    /// 50); --fast: 15 (12)]
    #[arg(long)]
    per_class: Option<usize>,

    /// Of those, images per class the C&W attacks attack (capped at --per-class)
    /// [default: 50 (fashion-mnist 10); --fast: 8 (5)]
    #[arg(long)]
    cw_per_class: Option<usize>,

    /// Attacks to run (comma-separated)
    #[arg(long, value_delimiter = ',', default_values_t = ATTACKS.map(|a| a.name().to_string()))]
    attacks: Vec<String>,

    /// Repetitions of each detection experiment (fresh splits and seeds) [default: 5;
    /// --fast: 3]
    #[arg(long)]
    repetitions: Option<usize>,

    /// Cumulative threshold θ
    #[arg(long, default_value_t = 0.5)]
    theta: f64,

    /// Maximum C&W iterations per binary-search step (the paper's setting is 10,000)
    /// [default: 300 (fashion-mnist 150); --fast: 200 (100)]
    #[arg(long)]
    cw_iterations: Option<usize>,

    /// C&W binary-search steps on the constant c (the paper's setting is 9) [default: 6
    /// (fashion-mnist 5); --fast: 6 (4)]
    #[arg(long)]
    cw_binary_steps: Option<usize>,

    /// Training images profiled into class paths, the first ones of the training split
    /// [default: all (7,996 / 10,000); --fast: 2000 (1000)]
    #[arg(long)]
    profile_images: Option<usize>,

    /// Seed of every random choice
    #[arg(long, default_value_t = 0)]
    seed: u64,

    /// Similarity of a layer where an image's path is empty: undefined (the row is dropped,
    /// as the original does) or one [default: undefined on mnist; one on fashion-mnist, where
    /// residual branches are often empty]
    #[arg(long, value_name = "POLICY")]
    empty_layer: Option<EmptyLayer>,

    /// No progress bars
    #[arg(short, long)]
    quiet: bool,
}

/// The demo's options, checked once: the preset with the explicit flags applied.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoOptions {
    /// The embedded dataset.
    pub data: Embedded,
    /// The model as given, or the shipped model for `data`.
    pub model: PathBuf,
    /// Report folder.
    pub out: PathBuf,
    /// Whether `--fast` chose the preset.
    pub fast: bool,
    /// The sizes.
    pub sizes: Preset,
    /// Attacks, each one of [`ATTACKS`].
    pub attacks: Vec<AttackKind>,
    /// θ (checked where the class paths are profiled).
    pub theta: f64,
    /// Seed.
    pub seed: u64,
    /// The similarity of an empty image layer.
    pub empty_layer: EmptyLayer,
    /// No progress bars.
    pub quiet: bool,
}

impl DemoArgs {
    /// The checked options: the preset (`--fast` or the default run), each size flag given
    /// explicitly overriding it.
    pub fn options(&self) -> Result<DemoOptions> {
        let names = || ATTACKS.map(AttackKind::name).join(", ");
        let attacks = self
            .attacks
            .iter()
            .map(|a| match a.parse::<AttackKind>() {
                Ok(k) if ATTACKS.contains(&k) => Ok(k),
                Ok(_) | Err(_) => bail!("unknown attack `{a}` (known: {})", names()),
            })
            .collect::<Result<Vec<_>>>()?;
        let preset = Preset::of(self.data, self.fast);
        let model = self
            .model
            .clone()
            .unwrap_or_else(|| Shipped::for_dataset(self.data).name().into());
        if let Some(m) = shipped(&model).filter(|m| m.dataset() != self.data) {
            bail!(
                "the shipped model {m} is trained on {}, not on --data {}",
                m.dataset(),
                self.data
            );
        }
        let per_class = self.per_class.unwrap_or(preset.per_class);
        let sizes = Preset {
            per_class,
            cw_per_class: self
                .cw_per_class
                .unwrap_or(preset.cw_per_class)
                .min(per_class),
            repetitions: self.repetitions.unwrap_or(preset.repetitions),
            cw_iterations: self.cw_iterations.unwrap_or(preset.cw_iterations),
            cw_binary_steps: self.cw_binary_steps.unwrap_or(preset.cw_binary_steps),
            profile_images: self.profile_images.or(preset.profile_images),
            bim_epsilons: preset.bim_epsilons,
        };
        for (flag, v) in [
            ("--per-class", sizes.per_class),
            ("--cw-per-class", sizes.cw_per_class),
            ("--repetitions", sizes.repetitions),
            ("--cw-iterations", sizes.cw_iterations),
            ("--cw-binary-steps", sizes.cw_binary_steps),
            ("--profile-images", sizes.profile_images.unwrap_or(1)),
        ] {
            if v == 0 {
                bail!("{flag} must be at least 1");
            }
        }
        Ok(DemoOptions {
            data: self.data,
            model,
            out: self.out.clone(),
            fast: self.fast,
            sizes,
            attacks,
            theta: self.theta,
            seed: self.seed,
            empty_layer: self.empty_layer.unwrap_or(match self.data {
                Embedded::Mnist => EmptyLayer::Undefined,
                Embedded::FashionMnist => EmptyLayer::One,
            }),
            quiet: self.quiet,
        })
    }
}

/// Prints a finished stage as one line: `stage  cw-l2  41.2 s`.
fn print_stage(out: &mut impl Write, stage: &Stage) -> Result<()> {
    writeln!(out, "stage  {:<26} {:>7.1} s", stage.name, stage.seconds)?;
    out.flush()?;
    Ok(())
}

/// Indices of the first `k` correctly classified images of each class.
pub(crate) fn normal_indices(
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

/// Path features of pixel images as complete rows.
pub(crate) struct FeatureSet {
    /// The complete rows.
    pub(crate) matrix: Array2<f64>,
    /// Rows dropped for an undefined similarity.
    pub(crate) dropped: usize,
    /// The complete rows as vectors (for the report).
    rows: Vec<Vec<f64>>,
    /// Which images the complete rows are of.
    kept: Vec<usize>,
}

/// Features of pixel images as complete rows.
pub(crate) fn features(
    f: &PathFeatures<'_>,
    pixels: &Array4<f32>,
    norm: Normalization,
) -> Result<FeatureSet> {
    let mut x = pixels.clone();
    norm.apply(&mut x);
    let rows = f.compute_batch(&x.into_dyn())?;
    let (matrix, dropped) = FeatureRow::complete_matrix(&rows, f.len());
    let kept = (0..rows.len())
        .filter(|&i| rows[i].complete().is_some_and(|v| v.len() == f.len()))
        .collect();
    let rows = matrix.rows().into_iter().map(|r| r.to_vec()).collect();
    Ok(FeatureSet {
        matrix,
        dropped,
        rows,
        kept,
    })
}

/// The baselines on the images the path detectors saw (the same kept rows), each scored by
/// logistic regression with the path detectors' splits, repetitions and seed.
fn baselines(
    args: &DemoOptions,
    stage: &mut dyn FnMut(String, Instant) -> Result<()>,
    set: BaselineSet<'_>,
    normal_kept: &[usize],
    attacks: &[(String, Array4<f32>, Vec<usize>)],
) -> Result<Vec<(BaselineKind, AucResult)>> {
    let attack_pixels: Vec<Array4<f32>> = attacks
        .iter()
        .map(|(_, a, kept)| a.select(Axis(0), kept))
        .collect();
    let attack_refs: Vec<&Array4<f32>> = attack_pixels.iter().collect();
    let normal = set.normal.select(Axis(0), normal_kept);
    let set = BaselineSet {
        normal: &normal,
        ..set
    };
    let mut out = Vec::new();
    for kind in BaselineKind::ALL {
        let t = Instant::now();
        let (normal_rows, attack_rows) = set.features(kind, &attack_refs)?;
        let data = ExperimentData {
            normal: normal_rows,
            attacks: attacks
                .iter()
                .map(|(name, _, _)| name.clone())
                .zip(attack_rows)
                .collect(),
        };
        let opts = ExperimentOptions {
            detector: DetectorKind::Logistic,
            repetitions: args.sizes.repetitions,
            seed: args.seed,
            ..ExperimentOptions::default()
        };
        out.push((kind, run_experiment(&data, &opts)?));
        stage(format!("baseline-{}", kind.name()), t)?;
    }
    Ok(out)
}

/// Whether `kind` is one of the C&W attacks (which take the `cw_per_class` subset).
pub(crate) fn is_cw(kind: AttackKind) -> bool {
    matches!(kind, AttackKind::CwL2 | AttackKind::CwL2Targeted)
}

/// Runs attack `kind` with the run's `sizes` on `normal`: the images, their labels and the
/// positions the C&W attacks take. Targets (random, per image) go to the targeted kinds and
/// to JSMA, the paper's targeted saliency attack.
pub(crate) fn run_attack(
    kind: AttackKind,
    (sizes, seed): (&Preset, u64),
    clf: &Classifier<'_>,
    normal: (&Array4<f32>, &[usize], &[usize]),
    train_pixels: &Array4<f32>,
    bar: &indicatif::ProgressBar,
) -> Result<Vec<AttackResult>> {
    let (x, labels, cw_subset) = normal;
    let progress = |n: u64| bar.inc(n);
    let mut config = kind.config();
    match &mut config {
        AttackConfig::CwL2(cw) | AttackConfig::CwL2Targeted(cw) => {
            cw.max_iterations = sizes.cw_iterations;
            cw.binary_search_steps = sizes.cw_binary_steps;
        }
        AttackConfig::Bim(bim) => bim.epsilons = sizes.bim_epsilons,
        AttackConfig::Fgsm(_)
        | AttackConfig::FgsmTargeted(_)
        | AttackConfig::BimTargeted(_)
        | AttackConfig::Deepfool(_)
        | AttackConfig::Jsma(_)
        | AttackConfig::RandomNoise(_)
        | AttackConfig::Patch(_)
        | AttackConfig::ActivationMatching(_)
        | AttackConfig::WhiteBox(_) => {}
    }
    let attack = config.attack(clf, Some(train_pixels), None, seed)?;
    let targets = random_targets(labels, clf.num_classes(), seed);
    let aimed = kind.targeted() || kind == AttackKind::Jsma;
    Ok(if is_cw(kind) {
        let cw_x = x.select(Axis(0), cw_subset);
        let cw_labels: Vec<usize> = cw_subset.iter().map(|&i| labels[i]).collect();
        let cw_targets: Vec<usize> = cw_subset.iter().map(|&i| targets[i]).collect();
        let t = aimed.then_some(cw_targets.as_slice());
        attack.run_with_progress(&AttackRun {
            clf,
            images: &cw_x,
            labels: &cw_labels,
            targets: t,
            seed,
            progress: &progress,
        })?
    } else {
        let t = aimed.then_some(targets.as_slice());
        attack.run_with_progress(&AttackRun {
            clf,
            images: x,
            labels,
            targets: t,
            seed,
            progress: &progress,
        })?
    })
}

/// Mean AUC per attack of the linear (joint-similarity) detector on `data`.
fn linear_auc(
    data: &ExperimentData,
    args: &DemoOptions,
    train_fraction: f64,
    train_attacks: Option<Vec<String>>,
) -> Result<Vec<f64>> {
    let opts = ExperimentOptions {
        detector: DetectorKind::Linear,
        repetitions: args.sizes.repetitions,
        seed: args.seed,
        train_fraction,
        train_attacks,
        ..ExperimentOptions::default()
    };
    Ok(run_experiment(data, &opts)?.mean_auc())
}

/// The paper's sweeps with the linear detector: number of layers (Fig. 12/20), training-set
/// size (Fig. 18), attacks used for training (Fig. 10/19) and θ (Fig. 11).
fn sweeps(
    args: &DemoOptions,
    stage: &mut dyn FnMut(&str, Instant) -> Result<()>,
    data: &ExperimentData,
    net: &effpath::Network,
    train: (&effpath::ndarray::ArrayD<f32>, &[usize]),
    pixels: (&Array4<f32>, &[(String, Array4<f32>)]),
    norm: Normalization,
) -> Result<Vec<Sweep>> {
    let (x, adversarial) = pixels;
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
    let t = Instant::now();
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
    stage("sweep-layers", t)?;
    let t = Instant::now();
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
    stage("sweep-training-size", t)?;
    let t = Instant::now();
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
    stage("sweep-generalisation", t)?;
    let t = Instant::now();
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
                empty_layer: args.empty_layer,
                ..FeatureOptions::default()
            },
        )?;
        let mut d = ExperimentData {
            normal: features(&f, x, norm)?.matrix,
            attacks: Vec::new(),
        };
        for (a, adv) in adversarial.iter().filter(|(a, _)| names.contains(a)) {
            d.attacks.push((a.clone(), features(&f, adv, norm)?.matrix));
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
    stage("sweep-theta", t)?;
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
    args: &DemoOptions,
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
    let mut detectors = Vec::new();
    let mut rows = (0, 0);
    for kind in DetectorKind::ALL {
        let (file, normal_rows, all_rows) = fit_detector_file(
            args.seed,
            net,
            data,
            (features, names),
            kind,
            DETECTOR_FILE_FPR,
        )?;
        rows = (normal_rows, all_rows);
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
        normal_rows: rows.0,
        adversarial_rows: rows.1 - rows.0,
        fpr: DETECTOR_FILE_FPR,
    })
}

/// A detector of `kind` fitted on the training rows of the first repetition (the normal
/// training split and every attack's training split), in a detector file whose threshold
/// leaves `fpr` of the normal training rows flagged; with the normal and all training row
/// counts.
fn fit_detector_file(
    seed: u64,
    net: &effpath::Network,
    data: &ExperimentData,
    (features, names): (FeatureOptions, &[String]),
    kind: DetectorKind,
    fpr: f64,
) -> Result<(DetectorFile, usize, usize)> {
    let options = ExperimentOptions {
        seed,
        ..ExperimentOptions::default()
    };
    let split = data.split(&options, 0)?;
    let train = data.training_set(&options, &split)?;
    let model = DetectorModel::fit(&kind.config(split.seed), &train.x, &train.labels)?;
    let file = DetectorFile::new(
        net.fingerprint(),
        features,
        names.to_vec(),
        model,
        &train.normal(),
        fpr,
    )?;
    Ok((file, train.normal_rows, train.x.nrows()))
}

/// Runs `effpath demo`.
pub fn run(args: &DemoArgs, out: &mut impl Write) -> Result<()> {
    let args = &args.options()?;
    let started = Instant::now();
    let mut stages = Stages::default();
    let net = ModelArgs {
        model: args.model.clone(),
        random_weights: None,
    }
    .load()?
    .net;
    let norm = model_normalization(&net);
    let clf = Classifier::new(&net, norm)?;
    let (train, test) = (args.data.load(Split::Train)?, args.data.load(Split::Test)?);
    crate::data::check_image_shape(&net, train.rows(), train.cols())?;

    let s = &args.sizes;
    writeln!(
        out,
        "{}: {} images per class ({} for C&W), {} repetitions, C&W {} binary-search steps × {} iterations",
        if args.fast { "--fast" } else { "sizes" },
        s.per_class,
        s.cw_per_class,
        s.repetitions,
        s.cw_binary_steps,
        s.cw_iterations
    )?;
    let profiled = s.profile_images.unwrap_or(train.len()).min(train.len());
    writeln!(
        out,
        "1/5 class paths of {profiled} training images (θ = {})",
        args.theta
    )?;
    out.flush()?;
    let t = Instant::now();
    let train_x = train.to_tensor(..profiled, norm)?.into_dyn();
    let train_labels = &train.labels()[..profiled];
    let popts = ProfileOptions {
        extract: effpath::ExtractOptions::default().with_theta(args.theta),
        ..ProfileOptions::default()
    };
    let bar = output::progress_bar(profiled as u64, args.quiet);
    let cp = ClassPaths::profile(&net, &train_x, train_labels, &popts, |done, _| {
        bar.set_position(done as u64)
    })?;
    bar.finish_and_clear();
    print_stage(out, stages.record("profile", t))?;

    let test_pixels = test.to_tensor(.., Normalization::None)?;
    let test_labels = test.labels();
    let keep = normal_indices(&clf, &test_pixels, test_labels, s.per_class)?;
    let x = test_pixels.select(Axis(0), &keep);
    let labels: Vec<usize> = keep.iter().map(|&i| test_labels[i]).collect();
    // The C&W attacks take the first `cw_per_class` of each class.
    let mut count = vec![0usize; clf.num_classes()];
    let cw_subset: Vec<usize> = (0..labels.len())
        .filter(|&i| {
            count[labels[i]] += 1;
            count[labels[i]] <= s.cw_per_class
        })
        .collect();
    let train_pixels = train.to_tensor(0..train.len().min(2000), Normalization::None)?;

    writeln!(
        out,
        "2/5 attacks on {} correctly classified {} test images",
        keep.len(),
        args.data
    )?;
    out.flush()?;
    let mut attack_rows = Vec::new();
    let mut adversarial: Vec<(String, Array4<f32>)> = Vec::new();
    for &kind in &args.attacks {
        let name = &kind.name().to_string();
        let t = Instant::now();
        let attacked = if is_cw(kind) {
            cw_subset.len()
        } else {
            keep.len()
        };
        let bar = output::progress_bar(attacked as u64, args.quiet);
        bar.set_message(name.clone());
        let results = run_attack(
            kind,
            (&args.sizes, args.seed),
            &clf,
            (&x, &labels, &cw_subset),
            &train_pixels,
            &bar,
        )?;
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
        let stage = stages.record(name.clone(), t);
        let seconds = stage.seconds;
        print_stage(out, stage)?;
        attack_rows.push(AttackRow {
            name: name.clone(),
            summary,
            seconds,
        });
        if !ok.is_empty() {
            adversarial.push((name.clone(), stack(Axis(0), &ok)?));
        }
    }

    writeln!(
        out,
        "3/5 path features (rank-1 and rank-2 similarity per weighted layer)"
    )?;
    out.flush()?;
    let t = Instant::now();
    let fopts = FeatureOptions {
        extract: *cp.options(),
        empty_layer: args.empty_layer,
        ..FeatureOptions::default()
    };
    let f = PathFeatures::new(&net, &cp, fopts)?;
    let normal_set = features(&f, &x, norm)?;
    let normal_rows = normal_set.rows;
    let mut data = ExperimentData {
        normal: normal_set.matrix,
        attacks: Vec::new(),
    };
    let mut attack_feature_rows = Vec::new();
    let mut attack_kept = Vec::new();
    let mut dropped_rows = vec![("normal".to_string(), normal_set.dropped)];
    for (name, adv) in &adversarial {
        let set = features(&f, adv, norm)?;
        dropped_rows.push((name.clone(), set.dropped));
        if set.matrix.nrows() >= 10 {
            data.attacks.push((name.clone(), set.matrix));
            attack_feature_rows.push((name.clone(), set.rows));
            attack_kept.push((name.clone(), adv.clone(), set.kept));
        }
    }
    if data.attacks.is_empty() {
        bail!(
            "no attack produced at least 10 adversarial examples with defined features ({}); raise --per-class{}",
            dropped_rows
                .iter()
                .map(|(set, n)| format!("{set}: {n} rows dropped"))
                .collect::<Vec<_>>()
                .join(", "),
            if args.empty_layer == EmptyLayer::Undefined {
                " or use --empty-layer one"
            } else {
                ""
            }
        );
    }
    print_stage(out, stages.record("features", t))?;

    writeln!(
        out,
        "4/5 detectors ({} repetitions, 10% train / 90% test)",
        s.repetitions
    )?;
    out.flush()?;
    let mut results = Vec::new();
    for kind in DetectorKind::ALL {
        let t = Instant::now();
        let opts = ExperimentOptions {
            detector: kind,
            repetitions: s.repetitions,
            seed: args.seed,
            ..ExperimentOptions::default()
        };
        results.push(run_experiment(&data, &opts)?);
        print_stage(out, stages.record(format!("detector-{}", kind.name()), t))?;
    }
    let train_labels_2k = &train.labels()[..train_pixels.len_of(Axis(0))];
    let baseline_results = baselines(
        args,
        &mut |name, t| print_stage(&mut *out, stages.record(name, t)),
        BaselineSet {
            network: &net,
            normalization: norm,
            train: (&train_pixels, train_labels_2k),
            normal: &x,
        },
        &normal_set.kept,
        &attack_kept,
    )?;
    let t = Instant::now();
    let files = write_detector_files(args, &net, &cp, &data, fopts, &f.names())?;
    print_stage(out, stages.record("detector-files", t))?;
    let t = Instant::now();
    let cw_median_l2 = attack_rows
        .iter()
        .find(|a| a.name == AttackKind::CwL2.name() && a.summary.successes > 0)
        .map(|a| a.summary.l2.median);
    let linear_file = args.out.join(detector_file_name(DetectorKind::Linear));
    let guard = Guard::new(&net, &cp, DetectorFile::load(&linear_file)?)?;
    let cw_x = x.select(Axis(0), &cw_subset);
    let cw_labels: Vec<usize> = cw_subset.iter().map(|&i| labels[i]).collect();
    let evasion = adaptive::evasion(
        &clf,
        adaptive::Target::Guard(&guard),
        norm,
        &x,
        (&cw_x, &cw_labels),
        &adaptive::budgets(args.fast, cw_median_l2),
        &[
            (Adaptive::ActivationMatching, 1),
            (Adaptive::ActivationMatching, 0),
            (Adaptive::WhiteBox, 0),
        ],
        args.seed,
    )?;
    print_stage(out, stages.record("adaptive-attack", t))?;
    // The hardening: the guard at several θ at once, clean and under the white-box attack.
    let t = Instant::now();
    let members = hardening::Members::build(&hardening::Inputs {
        net: &net,
        norm,
        train: (&train_x, train_labels),
        normal: &x,
        adversarial: &adversarial,
        empty_layer: args.empty_layer,
        seed: args.seed,
        fpr: DETECTOR_FILE_FPR,
    })?;
    let mut members = members;
    let single_rate = adaptive::Target::Guard(&guard)
        .verdicts(&x, norm)?
        .iter()
        .filter(|(_, flagged)| *flagged)
        .count() as f64
        / x.len_of(Axis(0)).max(1) as f64;
    let member_fpr = members.calibrate(&net, &x, norm, single_rate)?;
    let member_guards = members.guards(&net)?;
    let ensemble = GuardEnsemble::new(member_guards.iter().collect())?;
    let mut hardened = hardening::compare(member_fpr, &guard, &ensemble, &x, &adversarial, norm)?;
    hardened
        .rows
        .retain(|r| data.attacks.iter().any(|(a, _)| *a == r.attack));
    let mut evasion = evasion;
    evasion.extend(adaptive::evasion(
        &clf,
        adaptive::Target::Ensemble(&ensemble),
        norm,
        &x,
        (&cw_x, &cw_labels),
        &adaptive::budgets(args.fast, cw_median_l2),
        &[(Adaptive::WhiteBoxEnsemble, 0)],
        args.seed,
    )?);
    print_stage(out, stages.record("hardening", t))?;
    writeln!(
        out,
        "5/5 sweeps with the linear detector: layers, training size, attacks for training, θ"
    )?;
    out.flush()?;
    let mut sweeps = sweeps(
        args,
        &mut |name, t| print_stage(&mut *out, stages.record(name, t)),
        &data,
        &net,
        (&train_x, train_labels),
        (&x, &adversarial),
        norm,
    )?;
    let t = Instant::now();
    let mut normal_x = x.clone();
    norm.apply(&mut normal_x);
    let guard_costs = overhead::measure(
        &net,
        &cp,
        &data,
        fopts,
        args.seed,
        &normal_x.into_dyn(),
        DETECTOR_FILE_FPR,
    )?;
    if let Some(layers) = sweeps.iter().find(|sw| sw.stem == "sweep_layers") {
        sweeps.push(Sweep {
            stem: "sweep_overhead".into(),
            title: "AUC vs the guard's measured overhead (points: last n = 1…all layers)".into(),
            x_desc: "guard ÷ forward (one image, measured)".into(),
            xs: guard_costs.iter().map(GuardCost::ratio).collect(),
            series: layers.series.clone(),
        });
    }
    print_stage(out, stages.record("guard-overhead", t))?;
    let t = Instant::now();
    let mut report = Report {
        data: args.data,
        guard_costs,
        sweeps,
        model: args.model.display().to_string(),
        fingerprint: net.fingerprint().to_string(),
        theta: args.theta,
        normal_images: keep.len(),
        feature_names: f.names(),
        attacks: attack_rows,
        dropped: dropped_rows,
        auc: results,
        evasion,
        evasion_fpr: DETECTOR_FILE_FPR,
        cw_median_l2,
        hardening: Some(hardened),
        baselines: baseline_results,
        normal_rows,
        attack_rows: attack_feature_rows,
        files,
        class_jaccard: cp.jaccard_matrix(
            effpath::algebra::ElementKind::Synapse,
            effpath::algebra::LayerSelection::All,
        )?,
        seconds: 0.0,
        stages: stages.list,
    };
    report.print_table(out)?;
    report.write(&args.out, t, started)?;
    if let Some(stage) = report.stages.last() {
        print_stage(out, stage)?;
    }
    writeln!(out, "total  {:.1} s", started.elapsed().as_secs_f64())?;
    writeln!(out, "report: {}", args.out.join("index.html").display())?;
    if let Some((_, name)) = report.files.detectors.first() {
        writeln!(
            out,
            "flag inputs with a saved detector: {}",
            report.files.detect_command(
                name,
                &[
                    "--dataset",
                    Dataset::test_of(args.data).name(),
                    "--limit",
                    "100"
                ]
            )
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        demo: DemoArgs,
    }

    fn options(args: &[&str]) -> Result<DemoOptions> {
        let cli = Cli::try_parse_from(std::iter::once("demo").chain(args.iter().copied()))?;
        cli.demo.options()
    }

    #[test]
    fn without_flags_the_default_preset_applies() {
        let o = options(&[]).unwrap();
        assert!(!o.fast);
        assert_eq!(o.sizes, DEFAULT_PRESET);
        assert_eq!(o.attacks, ATTACKS.to_vec());
    }

    #[test]
    fn fast_resolves_to_the_fast_preset() {
        let o = options(&["--fast"]).unwrap();
        assert!(o.fast);
        assert_eq!(
            o.sizes,
            Preset {
                per_class: 15,
                cw_per_class: 8,
                repetitions: 3,
                cw_iterations: 200,
                cw_binary_steps: 6,
                profile_images: Some(2000),
                bim_epsilons: 100,
            }
        );
        // Every attack stays in.
        assert_eq!(o.attacks.len(), ATTACKS.len());
    }

    #[test]
    fn explicit_flags_override_the_fast_preset() {
        let o = options(&[
            "--fast",
            "--per-class",
            "30",
            "--repetitions",
            "4",
            "--cw-iterations",
            "1000",
            "--cw-binary-steps",
            "9",
            "--profile-images",
            "500",
        ])
        .unwrap();
        assert_eq!(
            o.sizes,
            Preset {
                per_class: 30,
                cw_per_class: FAST_PRESET.cw_per_class,
                repetitions: 4,
                cw_iterations: 1000,
                cw_binary_steps: 9,
                profile_images: Some(500),
                bim_epsilons: FAST_PRESET.bim_epsilons,
            }
        );
        // The order of the flags does not matter.
        let o = options(&["--cw-per-class", "2", "--fast"]).unwrap();
        assert_eq!(o.sizes.cw_per_class, 2);
        assert_eq!(o.sizes.per_class, FAST_PRESET.per_class);
    }

    #[test]
    fn cw_per_class_is_capped_at_per_class() {
        let o = options(&["--per-class", "3"]).unwrap();
        assert_eq!(o.sizes.cw_per_class, 3);
    }

    #[test]
    fn zero_sizes_and_unknown_attacks_are_rejected() {
        for flag in [
            "--per-class",
            "--cw-per-class",
            "--repetitions",
            "--cw-iterations",
            "--cw-binary-steps",
            "--profile-images",
        ] {
            let err = options(&["--fast", flag, "0"]).unwrap_err().to_string();
            assert!(err.contains(flag), "{flag}: {err}");
        }
        let err = options(&["--attacks", "fgsm,nope"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown attack `nope`"), "{err}");
    }
}
