//! `effpath train`: trains a network from scratch and saves it as ONNX.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use effpath::Network;
use effpath::data::{IdxOptions, LabeledImages, Mnist, Normalization, Split};
use effpath::ir::zoo;
use effpath::training::{Event, Schedule, TrainConfig, TrainReport, train};

use crate::output;

/// Architectures `train` can build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Arch {
    /// The paper's LeNet-5 for 1×28×28 inputs
    Lenet5,
    /// A small residual CNN (batch norm, skip connections, 77,754 parameters)
    ResnetSmall,
}

/// Arguments of `effpath train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Architecture
    #[arg(long, value_enum, default_value = "lenet5")]
    arch: Arch,

    /// Training data: mnist (the embedded subset), fashion-mnist (found via
    /// $EFFPATH_FASHION_MNIST_DIR or /usr/share/datasets/fashion-mnist), or a directory with
    /// train-/t10k-images-idx3-ubyte[.gz] and the matching label files
    #[arg(long, value_name = "NAME|DIR", default_value = "mnist")]
    data: String,

    /// Passes over the training set
    #[arg(long, default_value_t = 20)]
    epochs: usize,

    /// Seed of the initial weights and of the shuffling
    #[arg(long, default_value_t = 0)]
    seed: u64,

    /// Base learning rate
    #[arg(long, default_value_t = 0.03)]
    lr: f32,

    /// SGD momentum
    #[arg(long, default_value_t = 0.9)]
    momentum: f32,

    /// L2 weight decay on every parameter
    #[arg(long, default_value_t = 1e-4)]
    weight_decay: f32,

    /// Minibatch size
    #[arg(long, default_value_t = 64)]
    batch_size: usize,

    /// Learning-rate schedule: constant, cosine, or step:EVERY:GAMMA
    #[arg(long, default_value = "cosine", value_parser = parse_schedule)]
    schedule: Schedule,

    /// Random shift augmentation, in pixels (0 = none)
    #[arg(long, default_value_t = 2)]
    shift: usize,

    /// Input normalisation [default: mnist or fashion-mnist after --data; required for a DIR]
    #[arg(long, value_name = "SPEC")]
    normalize: Option<Normalization>,

    /// Where to write the trained model (.onnx); the normalisation is recorded in it
    #[arg(long, value_name = "MODEL.onnx")]
    out: PathBuf,

    /// Also write the per-epoch statistics as JSON
    #[arg(long, value_name = "FILE.json")]
    report: Option<PathBuf>,

    /// No progress bar
    #[arg(short, long)]
    quiet: bool,
}

fn parse_schedule(s: &str) -> Result<Schedule, String> {
    match s {
        "constant" => Ok(Schedule::Constant),
        "cosine" => Ok(Schedule::Cosine),
        _ => {
            let parts: Vec<&str> = s.split(':').collect();
            match parts.as_slice() {
                ["step", every, gamma] => Ok(Schedule::Step {
                    every: every
                        .parse()
                        .map_err(|e| format!("step every `{every}`: {e}"))?,
                    gamma: gamma
                        .parse()
                        .map_err(|e| format!("step gamma `{gamma}`: {e}"))?,
                }),
                _ => Err(format!(
                    "`{s}`: expected constant, cosine or step:EVERY:GAMMA"
                )),
            }
        }
    }
}

/// Train and test splits of `--data`, and its default normalisation.
fn load_data(spec: &str) -> Result<(LabeledImages, LabeledImages, Option<Normalization>)> {
    if spec == "mnist" {
        return Ok((
            Mnist::embedded_train()?,
            Mnist::embedded_test()?,
            Some(Normalization::MNIST),
        ));
    }
    let (dir, norm) = if spec == "fashion-mnist" {
        let candidates: Vec<PathBuf> = std::env::var_os("EFFPATH_FASHION_MNIST_DIR")
            .map(PathBuf::from)
            .into_iter()
            .chain([
                PathBuf::from("/usr/share/datasets/fashion-mnist"),
                PathBuf::from("../shared/data/fashion-mnist"),
            ])
            .collect();
        match candidates.iter().find(|d| d.is_dir()) {
            Some(d) => (d.clone(), Some(Normalization::FASHION_MNIST)),
            None => bail!(
                "Fashion-MNIST not found (set EFFPATH_FASHION_MNIST_DIR, install the Debian package \
                 dataset-fashion-mnist, or pass its directory as --data DIR)"
            ),
        }
    } else {
        (PathBuf::from(spec), None)
    };
    let load = |split| {
        effpath::data::load_idx_dir(&dir, split, &IdxOptions::default())
            .with_context(|| format!("cannot read {split:?} data from {}", dir.display()))
    };
    Ok((load(Split::Train)?, load(Split::Test)?, norm))
}

fn build(arch: Arch, seed: u64, data: &LabeledImages) -> Result<Network> {
    match arch {
        Arch::Lenet5 => {
            if (data.rows(), data.cols()) != (28, 28) {
                bail!(
                    "lenet5 needs 28×28 images, the data has {}×{}",
                    data.rows(),
                    data.cols()
                );
            }
            Ok(zoo::lenet5(seed))
        }
        Arch::ResnetSmall => {
            let classes = data
                .labels()
                .iter()
                .map(|&l| l + 1)
                .max()
                .unwrap_or(0)
                .max(2);
            Ok(zoo::resnet_small(
                seed,
                [1, data.rows(), data.cols()],
                classes,
            )?)
        }
    }
}

/// Runs `effpath train`.
pub fn run(args: &TrainArgs, out: &mut impl Write) -> Result<()> {
    let (train_set, test_set, default_norm) = load_data(&args.data)?;
    let Some(normalization) = args.normalize.or(default_norm) else {
        bail!("--normalize is required with a data directory (e.g. --normalize mnist or MEAN,STD)");
    };
    let mut net = build(args.arch, args.seed, &train_set)?;
    // Fields not set on the command line keep their library defaults.
    #[allow(clippy::needless_update)]
    let cfg = TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        lr: args.lr,
        momentum: args.momentum,
        weight_decay: args.weight_decay,
        schedule: args.schedule,
        seed: args.seed,
        normalization,
        max_shift: args.shift,
        ..TrainConfig::default()
    };
    cfg.validate()?;
    let steps = train_set.len().div_ceil(args.batch_size.max(1)) * args.epochs;
    let bar = output::progress_bar(steps as u64, args.quiet);
    let report: TrainReport = train(&mut net, &train_set, Some(&test_set), &cfg, |e| match e {
        Event::Step {
            epoch,
            loss,
            accuracy,
            ..
        } => {
            bar.inc(1);
            bar.set_message(format!(
                "epoch {epoch} loss {loss:.4} acc {:.2}%",
                100.0 * accuracy
            ));
        }
        Event::Epoch(s) => bar.println(format!(
            "epoch {:>3}: loss {:.4}, train {:.2}%, test {}",
            s.epoch,
            s.train_loss,
            100.0 * s.train_accuracy,
            s.test_accuracy
                .map_or("-".into(), |a| format!("{:.2}%", 100.0 * a))
        )),
    })?;
    bar.finish_and_clear();
    let net = match normalization {
        Normalization::MeanStd { mean, std } => net.with_input_normalization(Some([mean, std]))?,
        Normalization::None => net,
    };
    effpath::onnx::save(&net, &args.out)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    if let Some(path) = &args.report {
        output::write_json_file(path, &report)?;
    }
    write_summary(out, &report, &net, &args.out)
}

fn write_summary(
    out: &mut impl Write,
    report: &TrainReport,
    net: &Network,
    path: &Path,
) -> Result<()> {
    for s in &report.epochs {
        writeln!(
            out,
            "epoch {:>3}: loss {:.4}, train {:.2}%, test {}",
            s.epoch,
            s.train_loss,
            100.0 * s.train_accuracy,
            s.test_accuracy
                .map_or("-".into(), |a| format!("{:.2}%", 100.0 * a))
        )?;
    }
    writeln!(
        out,
        "saved {} (fingerprint {})",
        path.display(),
        net.fingerprint()
    )?;
    Ok(())
}
