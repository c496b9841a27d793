//! `effpath profile`: class paths (per class, the union of the effective paths of its
//! correctly classified images) saved to a class-path file.
//!
//! The profiling itself — batch by batch, in chunks of `--chunk-size` images saved to the
//! checkpoint directory (`<out>.parts/` unless `--checkpoint` says otherwise) with a
//! `manifest.json` that identifies the run, resumed from after an interruption — is
//! `effpath_extract::ResumableProfiler`; this command parses the arguments, shows the progress,
//! saves the result, removes the checkpoint directory and prints a summary.

use std::io::Write;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use effpath::ExtractOptions;
use effpath::extract::{ProfileEvent, ProfileOptions, ResumableProfiler, Shard};

use crate::classpaths::{describe_options, write_summary};
use crate::data::{LabeledArgs, check_image_shape};
use crate::model::ModelArgs;
use crate::output;

/// Arguments of `effpath profile`.
#[derive(Debug, Args)]
pub struct ProfileArgs {
    #[command(flatten)]
    model: ModelArgs,

    #[command(flatten)]
    data: LabeledArgs,

    /// Cumulative threshold θ in (0, 1] of every image's path
    #[arg(long, value_name = "θ", default_value_t = 0.5)]
    theta: f64,

    /// Extract only the last N weighted (conv/dense) layers and the pools between them
    #[arg(long, value_name = "N")]
    last_layers: Option<usize>,

    /// At most K correctly classified images per class (the first ones in data order; per
    /// part with --shard)
    #[arg(long, value_name = "K")]
    per_class: Option<usize>,

    /// Profile only the I-th of N contiguous, near-equal parts of the images (0 ≤ I < N);
    /// merge the parts with `effpath merge`
    #[arg(long, value_name = "I/N")]
    shard: Option<Shard>,

    /// Use only the first N images (before sharding)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    limit: Option<u64>,

    /// Images per forward pass
    #[arg(long, value_name = "B", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    batch_size: u32,

    /// The class-path file to write
    #[arg(long, value_name = "FILE")]
    out: PathBuf,

    /// Checkpoint directory: finished chunks are saved there, and a rerun of the same command
    /// after an interruption resumes from them [default: FILE.parts next to --out]
    #[arg(long, value_name = "DIR", conflicts_with = "no_checkpoint")]
    checkpoint: Option<PathBuf>,

    /// Images per checkpoint chunk
    #[arg(long, value_name = "N", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(1..))]
    chunk_size: u32,

    /// Save no checkpoint (an interrupted run then starts over)
    #[arg(long)]
    no_checkpoint: bool,

    /// No progress bar (it is also hidden when stderr is not a terminal)
    #[arg(long, short)]
    quiet: bool,
}

/// Runs `effpath profile`.
pub fn run(args: &ProfileArgs, out: &mut impl Write) -> Result<()> {
    let start = Instant::now();
    let model = args.model.load()?;
    let net = &model.net;
    let (data, source) = args.data.load()?;
    check_image_shape(net, data.rows(), data.cols())?;
    let n = args.limit.map_or(data.len(), |l| {
        data.len().min(usize::try_from(l).unwrap_or(usize::MAX))
    });
    let range = args.shard.map_or(0..n, |s| s.range(n));
    if range.is_empty() {
        match args.shard {
            Some(s) => bail!(
                "no images to profile: shard {}/{} of {n} images is empty",
                s.index(),
                s.count()
            ),
            None => bail!("no images to profile: {source} holds none"),
        }
    }
    let mut extract = ExtractOptions::default().with_theta(args.theta);
    extract.last_layers = args.last_layers;
    let options = ProfileOptions {
        extract,
        per_class_cap: args.per_class,
        batch_size: args.batch_size as usize,
    };
    let norm = args.data.normalization(&model.net);
    let mut profiler = ResumableProfiler::new(net, &data, norm, &options, range.clone())?;
    if !args.no_checkpoint {
        let dir = args.checkpoint.clone().unwrap_or_else(|| {
            let mut name = args.out.as_os_str().to_owned();
            name.push(".parts");
            PathBuf::from(name)
        });
        let chunk_size = NonZeroUsize::new(args.chunk_size as usize)
            .context("--chunk-size must be at least 1")?;
        profiler = profiler.with_checkpoint(dir, chunk_size);
    }
    let bar = output::progress_bar(range.len() as u64, args.quiet);
    let run = profiler.run(|event| match event {
        ProfileEvent::Progress { done } => bar.set_position(done as u64),
        ProfileEvent::ChunkRejected { file, reason } => eprintln!(
            "warning: checkpoint {} does not check out ({reason}); recomputing it",
            file.display()
        ),
    })?;
    bar.finish_and_clear();
    let class_paths = &run.class_paths;
    class_paths
        .save(&args.out)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    if let Some(checkpoint) = &run.checkpoint {
        checkpoint.remove()?;
        if checkpoint.loaded > 0 {
            writeln!(
                out,
                "resumed: {} of {} chunks loaded from {}",
                checkpoint.loaded,
                checkpoint.chunks,
                checkpoint.dir.display()
            )?;
        }
    }
    writeln!(out, "model: {} ({})", model.name, net.fingerprint())?;
    let shard = args.shard.map_or_else(String::new, |s| {
        format!(", shard {}/{}", s.index(), s.count())
    });
    writeln!(
        out,
        "data: {source}, images {}..{} of {}{shard}",
        range.start,
        range.end,
        output::thousands(data.len() as u64)
    )?;
    writeln!(out, "options: {}", describe_options(class_paths))?;
    write_summary(class_paths, out)?;
    writeln!(
        out,
        "wrote {} in {:.1} s",
        args.out.display(),
        start.elapsed().as_secs_f64()
    )?;
    Ok(())
}
