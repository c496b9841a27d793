//! `effpath study`: the paper's analyses beyond detection on a shipped model and its embedded
//! data set — masking the network to its overall path against magnitude pruning at equal
//! density (§2.2), the density of the union as classes merge (Fig. 3), the class hierarchy in
//! the class-path Jaccard matrix (App. B, Fashion-MNIST's groups), and per-layer densities
//! (Figs. 22/23), weight-based against synapse-based detection (App. C.2) and the CDRP
//! baseline (Figs. 8/17–19, Table 1), the class paths of a training run (App. E.1) — written
//! as a report folder (`index.html`, PNG/SVG figures, CSV and `study.json`). The computations are `effpath::study`; this command profiles, calls them,
//! draws and writes.

mod cdrp;
mod cdrp_report;
mod detection;
mod report;

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use effpath::ClassPaths;
use effpath::data::{Embedded, Split};
use effpath::extract::ProfileOptions;
use effpath::models::Shipped;
use effpath::study::{density_growth, hierarchy, layer_density, masking, training_phases};

use crate::commands::demo::Preset;
use crate::data::model_normalization;
use crate::output;

/// Fashion-MNIST's natural groups (App. B): tops, footwear, the rest.
pub const FASHION_GROUPS: [(&str, &[usize]); 3] = [
    ("tops", &[0, 2, 4, 6]),
    ("footwear", &[5, 7, 9]),
    ("others", &[1, 3, 8]),
];

/// A section of the study that can be left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Section {
    /// Weight-based against synapse-based detection (attacks and detectors: the slow part)
    Detection,
    /// Class paths at the checkpoints of a training run (trains a fresh network)
    Training,
}

/// Arguments of `effpath study`.
#[derive(Debug, Args)]
pub struct StudyArgs {
    /// The embedded data set: mnist (with the shipped LeNet-5) or fashion-mnist (with the
    /// shipped small ResNet)
    #[arg(long, default_value = "mnist", value_name = "NAME")]
    data: Embedded,

    /// A small run (a few minutes on 2 cores): 1,000 training images profiled, 500 test
    /// images, four masking fractions, the attack sizes of `demo --fast`
    #[arg(long)]
    fast: bool,

    /// Cumulative threshold θ of the image paths
    #[arg(long, value_name = "θ", default_value_t = 0.5)]
    theta: f64,

    /// Seed of the deactivated fractions of the masking experiment
    #[arg(long, default_value_t = 0)]
    seed: u64,

    /// Leave these sections out (comma-separated)
    #[arg(long, value_enum, value_delimiter = ',', value_name = "SECTION")]
    skip: Vec<Section>,

    /// The report folder
    #[arg(long, value_name = "DIR", default_value = "study")]
    out: PathBuf,

    /// No progress bar
    #[arg(short, long)]
    quiet: bool,
}

/// Runs `effpath study`.
pub fn run(args: &StudyArgs, out: &mut impl Write) -> Result<()> {
    let started = Instant::now();
    let model = Shipped::ALL
        .into_iter()
        .find(|m| m.dataset() == args.data)
        .context("no shipped model for this data set")?;
    let net = model.load()?;
    let norm = model_normalization(&net);
    let (train, test) = (args.data.load(Split::Train)?, args.data.load(Split::Test)?);
    let (n_train, n_test) = if args.fast {
        (train.len().min(1000), test.len().min(500))
    } else {
        (train.len(), test.len())
    };
    let labels =
        |d: &effpath::data::LabeledImages, n: usize| -> Vec<usize> { d.labels()[..n].to_vec() };
    let x_train = train.to_tensor(0..n_train, norm)?.into_dyn();
    let y_train = labels(&train, n_train);
    let x_test = test.to_tensor(0..n_test, norm)?.into_dyn();
    let y_test = labels(&test, n_test);

    let options = ProfileOptions {
        extract: effpath::ExtractOptions::default().with_theta(args.theta),
        ..ProfileOptions::default()
    };
    let bar = output::progress_bar(n_train as u64, args.quiet);
    let class_paths = ClassPaths::profile(&net, &x_train, &y_train, &options, |done, _| {
        bar.set_position(done as u64)
    })?;
    bar.finish_and_clear();
    let profiled = started.elapsed().as_secs_f64();

    let fractions: &[f64] = if args.fast {
        &[0.0, 0.25, 0.5, 0.75]
    } else {
        &[0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    };
    let mut study = report::Study {
        model: model.name(),
        data: args.data.name(),
        fast: args.fast,
        theta: args.theta,
        train_images: n_train,
        test_images: n_test,
        images_per_class: class_paths.images_per_class().to_vec(),
        masking: masking(&net, &class_paths, &x_test, &y_test, fractions, args.seed)?,
        growth: density_growth(
            &class_paths,
            &(0..class_paths.classes()).collect::<Vec<_>>(),
        )?,
        hierarchy: match args.data {
            Embedded::FashionMnist => Some(hierarchy(&class_paths, &FASHION_GROUPS)?),
            Embedded::Mnist => None,
        },
        layers: layer_density(&class_paths)?,
        detection: if args.skip.contains(&Section::Detection) {
            None
        } else {
            Some(detection::compare(
                &detection::Inputs {
                    net: &net,
                    norm,
                    class_paths: &class_paths,
                    test: &test,
                    train: &train,
                },
                &Preset::of(args.data, args.fast),
                args.seed,
            )?)
        },
        training: if args.skip.contains(&Section::Training) {
            None
        } else {
            Some(phases(args, model, (&train, &test), &options)?)
        },
        class_names: args.data.class_names().map(str::to_owned).to_vec(),
        seconds_profile: profiled,
        seconds_total: 0.0,
    };
    study.seconds_total = started.elapsed().as_secs_f64();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    study.write(&args.out)?;
    writeln!(out, "{}", study.summary())?;
    writeln!(
        out,
        "wrote {} in {:.1} s",
        args.out.join("index.html").display(),
        started.elapsed().as_secs_f64()
    )?;
    Ok(())
}

/// The training-phase section: a fresh network of the shipped model's architecture (seed
/// `--seed`) trained on the first training images (all of them, 1,000 with `--fast`) for 10
/// epochs (4 with `--fast`; the residual network 5 and 2), profiled before training and after
/// every epoch on the first 2,000 training images (500 with `--fast`).
fn phases(
    args: &StudyArgs,
    model: Shipped,
    (train, test): (&effpath::data::LabeledImages, &effpath::data::LabeledImages),
    options: &ProfileOptions,
) -> Result<report::Training> {
    let (net, epochs) = match model {
        Shipped::Lenet5Mnist => (
            effpath::ir::zoo::lenet5(args.seed),
            if args.fast { 4 } else { 10 },
        ),
        Shipped::ResnetSmallFashion => (
            effpath::ir::zoo::resnet_small(args.seed, [1, train.rows(), train.cols()], 10)?,
            if args.fast { 2 } else { 5 },
        ),
    };
    let n = if args.fast { 1000 } else { train.len() }.min(train.len());
    let subset = train.subset(&(0..n).collect::<Vec<_>>())?;
    let test_n = if args.fast { 500 } else { test.len() }.min(test.len());
    let test_subset = test.subset(&(0..test_n).collect::<Vec<_>>())?;
    let p = if args.fast { 500 } else { 2000 }.min(train.len());
    let norm = args.data.normalization();
    let x = train.to_tensor(0..p, norm)?.into_dyn();
    let labels = train.labels()[..p].to_vec();
    let cfg = effpath::training::TrainConfig {
        epochs,
        lr: 0.03,
        seed: args.seed,
        normalization: norm,
        ..effpath::training::TrainConfig::default()
    };
    Ok(report::Training {
        train_images: n,
        profiled_images: p,
        config: cfg.clone(),
        phases: training_phases(net, (&subset, &test_subset), &cfg, (&x, &labels), options)?,
    })
}
