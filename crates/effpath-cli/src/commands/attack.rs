//! `effpath attack`: adversarial examples of correctly classified images (FGSM, BIM,
//! DeepFool, JSMA, Carlini–Wagner L2, random noise, adversarial patch, and the adaptive
//! attacks: activation matching and the white-box attack on a guard), a summary table,
//! and an `.npz` archive of every attempted example.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use effpath::ClassPaths;
use effpath::attack::{
    Attack, AttackConfig, AttackKind, AttackResult, AttackRun, Classifier, Defence, Summary,
    random_targets,
};
use effpath::data::{LabeledImages, Normalization, NpzArray, archive, write_npz};
use effpath::defence::GuardDefence;
use effpath::guard::{DetectorFile, Guard};
use effpath::ndarray::{Array1, Array4, Axis};

use crate::data::{Dataset, LabeledArgs, check_fit, check_image_shape};
use crate::model::ModelArgs;
use crate::output::{self, Align, Table};

/// `--attack`: one of [`AttackKind::ALL`], listed in `--help`.
fn attack_kind() -> impl clap::builder::TypedValueParser<Value = AttackKind> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(AttackKind::ALL.map(AttackKind::name))
        .try_map(|s| s.parse::<AttackKind>())
}

/// Arguments of `effpath attack`.
#[derive(Debug, Args)]
pub struct AttackArgs {
    #[command(flatten)]
    model: ModelArgs,

    /// The attack (hyper-parameters default to the original's foolbox 1.3.2 settings; the
    /// *-targeted ones aim at a random other class per image)
    #[arg(long, value_name = "NAME", value_parser = attack_kind())]
    attack: AttackKind,

    /// Override a hyper-parameter of the attack, e.g. --param max_iterations=1000 (repeatable;
    /// fgsm: epsilons, max_epsilon, refine; bim: epsilons, max_epsilon, steps; deepfool:
    /// steps, subsample, overshoot; jsma: max_iter, theta, max_perturbations_per_pixel, fast,
    /// num_random_targets; cw-l2: confidence, learning_rate, binary_search_steps,
    /// max_iterations, abort_early, initial_const; random-noise: max_draws; patch: scale,
    /// target_class, steps, batch_size, learning_rate; activation-matching: layers, loss,
    /// max_epsilon, binary_steps, steps; white-box: max_epsilon, binary_steps, steps,
    /// detector_weight)
    #[arg(long = "param", value_name = "KEY=VALUE")]
    params: Vec<String>,

    #[command(flatten)]
    data: LabeledArgs,

    /// Attack at most K correctly classified images per class (the first ones in data order)
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
    per_class: Option<u64>,

    /// Attack at most N images in all (after --per-class)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    limit: Option<u64>,

    /// Seed of the random parts (targets, noise, patch training and placement)
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,

    /// Class-path file of the model (from `effpath profile`): with --detector, the defence
    /// the white-box attack attacks (--attack white-box only)
    #[arg(long, value_name = "CP.bin", requires = "detector")]
    classpaths: Option<PathBuf>,

    /// Trained detector (from `effpath fit-detector`) the white-box attack must evade, at
    /// its recorded threshold (--attack white-box only)
    #[arg(long, value_name = "DET.json", requires = "classpaths")]
    detector: Option<PathBuf>,

    /// Training images of the adversarial patch (--attack patch only)
    #[arg(long, value_enum, value_name = "NAME", default_value = "mnist-train")]
    patch_train: Dataset,

    /// The .npz archive to write: arrays adv (N,C,H,W float32 pixels in [0,1]; the source
    /// image where the attack failed), index, label, orig_pred, adv_pred, target (-1 when
    /// untargeted), iterations, l0 (int64), success (uint8 0/1), l2, linf (float32); one row
    /// per selected (correctly classified) image
    #[arg(long, value_name = "adv.npz")]
    out: PathBuf,

    /// No progress bar (it is also hidden when stderr is not a terminal)
    #[arg(long, short)]
    quiet: bool,
}

/// Runs `effpath attack`.
pub fn run(args: &AttackArgs, out: &mut impl Write) -> Result<()> {
    let model = args.model.load()?;
    let net = &model.net;
    let (data, source) = args.data.load()?;
    check_fit(net, &data, data.len())?;
    let norm = args.data.normalization(net);
    let clf = Classifier::new(net, norm)?;
    let (indices, x, labels) = select(&clf, &data, args)?;
    if indices.is_empty() {
        bail!("{source} holds no correctly classified images to attack");
    }
    let classes = clf.num_classes();
    let targets = args
        .attack
        .targeted()
        .then(|| random_targets(&labels, classes, args.seed));
    // The white-box attack's target: the model's guard (class paths + detector).
    let cp = match &args.classpaths {
        Some(p) => Some(
            ClassPaths::load_for(p, net)
                .with_context(|| format!("cannot use class paths {}", p.display()))?,
        ),
        None => None,
    };
    let guard = match (&cp, &args.detector) {
        (Some(cp), Some(d)) => Some(Guard::new(net, cp, DetectorFile::load(d)?)?),
        _ => None,
    };
    let defence = guard.as_ref().map(GuardDefence::new).transpose()?;
    let attack = build(args, &clf, defence.as_ref().map(|d| d as &dyn Defence))?;
    let bar = output::progress_bar(indices.len() as u64, args.quiet);
    let start = Instant::now();
    let results = attack.run_with_progress(&AttackRun {
        clf: &clf,
        images: &x,
        labels: &labels,
        targets: targets.as_deref(),
        seed: args.seed,
        progress: &|n: u64| bar.inc(n),
    })?;
    let seconds = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    write_archive(args, &indices, &x, &results)?;
    let summary = Summary::of(&results);
    writeln!(out, "model: {}", model.name)?;
    writeln!(out, "data: {source}, normalisation {norm}")?;
    writeln!(out, "attack: {}, seed {}", args.attack, args.seed)?;
    write_summary(out, &summary, seconds)?;
    writeln!(out, "wrote {}", args.out.display())?;
    Ok(())
}

/// The images to attack: correctly classified, the first `--per-class` of each class, at most
/// `--limit`; returns their dataset indices, pixels in `[0, 1]` and labels.
fn select(
    clf: &Classifier<'_>,
    data: &LabeledImages,
    args: &AttackArgs,
) -> Result<(Vec<usize>, Array4<f32>, Vec<usize>)> {
    let classes = clf.num_classes();
    let per_class = args
        .per_class
        .map_or(usize::MAX, |k| usize::try_from(k).unwrap_or(usize::MAX));
    let limit = args
        .limit
        .map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
    let mut count = vec![0usize; classes];
    let mut picked = Vec::new();
    const CHUNK: usize = 256;
    'outer: for start in (0..data.len()).step_by(CHUNK) {
        let end = (start + CHUNK).min(data.len());
        let x = data.to_tensor(start..end, Normalization::None)?;
        for (k, p) in clf.predict(&x)?.into_iter().enumerate() {
            let l = data.labels()[start + k];
            if p == l && count[l] < per_class {
                count[l] += 1;
                picked.push(start + k);
                if picked.len() >= limit {
                    break 'outer;
                }
            }
        }
        if count.iter().all(|&c| c >= per_class) {
            break;
        }
    }
    let x = data.select_tensor(&picked, Normalization::None)?;
    let labels = picked.iter().map(|&i| data.labels()[i]).collect();
    Ok((picked, x, labels))
}

/// The attack with the `--param KEY=VALUE` overrides applied (training the patch for
/// `patch`, on `--patch-train`).
fn build<'d>(
    args: &AttackArgs,
    clf: &Classifier<'_>,
    defence: Option<&'d dyn Defence>,
) -> Result<Box<dyn Attack + 'd>> {
    let mut config = args.attack.config();
    for raw in &args.params {
        let Some((key, value)) = raw.split_once('=') else {
            bail!("--param {raw:?} is not KEY=VALUE");
        };
        config = config.with_param(key.trim(), value)?;
    }
    // The hyper-parameters are validated once, here, before any data is loaded.
    config.check()?;
    let patch_training = match &config {
        AttackConfig::Patch(p) => {
            let train = args.patch_train.load()?;
            check_image_shape(clf.network(), train.rows(), train.cols())?;
            if !args.quiet {
                eprintln!(
                    "training the patch on {} ({} steps)…",
                    args.patch_train.name(),
                    p.steps
                );
            }
            Some(train.to_tensor(.., Normalization::None)?)
        }
        AttackConfig::Fgsm(_)
        | AttackConfig::FgsmTargeted(_)
        | AttackConfig::Bim(_)
        | AttackConfig::BimTargeted(_)
        | AttackConfig::Deepfool(_)
        | AttackConfig::Jsma(_)
        | AttackConfig::CwL2(_)
        | AttackConfig::CwL2Targeted(_)
        | AttackConfig::RandomNoise(_)
        | AttackConfig::ActivationMatching(_)
        | AttackConfig::WhiteBox(_) => None,
    };
    if config.needs_defence() && defence.is_none() {
        bail!(
            "--attack {} needs --classpaths and --detector (the defence it attacks)",
            args.attack
        );
    }
    Ok(config.attack(clf, patch_training.as_ref(), defence, args.seed)?)
}

/// Writes the `.npz` archive of all attempted examples.
fn write_archive(
    args: &AttackArgs,
    indices: &[usize],
    x: &Array4<f32>,
    results: &[AttackResult],
) -> Result<()> {
    let views: Vec<_> = results.iter().map(|r| r.adversarial.view()).collect();
    let adv = if views.is_empty() {
        Array4::zeros(x.raw_dim())
    } else {
        effpath::ndarray::stack(Axis(0), &views)?
    };
    let int = |f: &dyn Fn(&AttackResult) -> i64| -> Array1<i64> { results.iter().map(f).collect() };
    let float =
        |f: &dyn Fn(&AttackResult) -> f32| -> Array1<f32> { results.iter().map(f).collect() };
    let index: Array1<i64> = results.iter().map(|r| indices[r.index] as i64).collect();
    let label = int(&|r| r.label as i64);
    let orig = int(&|r| r.original_prediction as i64);
    let pred = int(&|r| r.adversarial_prediction as i64);
    let target = int(&|r| r.target.map_or(-1, |t| t as i64));
    let iterations = int(&|r| r.iterations as i64);
    let l0 = int(&|r| r.distortion.l0 as i64);
    let success: Array1<u8> = results.iter().map(|r| u8::from(r.success)).collect();
    let l2 = float(&|r| r.distortion.l2);
    let linf = float(&|r| r.distortion.linf);
    let arrays: Vec<(&str, NpzArray<'_>)> = vec![
        (archive::ADV, adv.view().into_dyn().into()),
        (archive::INDEX, index.view().into_dyn().into()),
        (archive::LABEL, label.view().into_dyn().into()),
        ("orig_pred", orig.view().into_dyn().into()),
        ("adv_pred", pred.view().into_dyn().into()),
        ("target", target.view().into_dyn().into()),
        (archive::SUCCESS, success.view().into_dyn().into()),
        ("l0", l0.view().into_dyn().into()),
        ("l2", l2.view().into_dyn().into()),
        ("linf", linf.view().into_dyn().into()),
        ("iterations", iterations.view().into_dyn().into()),
    ];
    write_npz(&args.out, &arrays).with_context(|| format!("cannot write {}", args.out.display()))
}

/// The summary table.
fn write_summary(out: &mut impl Write, s: &Summary, seconds: f64) -> Result<()> {
    writeln!(
        out,
        "attacked: {} correctly classified images, {} adversarial ({})\n",
        s.attacked,
        s.successes,
        if s.attacked == 0 {
            "-".to_owned()
        } else {
            output::percent(s.success_rate())
        }
    )?;
    let mut table = Table::new(&[
        ("distortion", Align::Left),
        ("mean", Align::Right),
        ("median", Align::Right),
    ]);
    let fmt = |v: f64| {
        if v.is_finite() {
            format!("{v:.4}")
        } else {
            "-".to_owned()
        }
    };
    for (name, stat) in [("L0", s.l0), ("L2", s.l2), ("Linf", s.linf)] {
        table.row(vec![name.to_owned(), fmt(stat.mean), fmt(stat.median)]);
    }
    table.write(out, "  ")?;
    writeln!(out, "\nmean iterations: {}", fmt(s.mean_iterations))?;
    writeln!(out, "time: {seconds:.1} s")?;
    Ok(())
}
