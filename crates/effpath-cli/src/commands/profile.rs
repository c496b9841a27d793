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
use std::ops::Range;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use effpath::ExtractOptions;
use effpath::extract::{ProfileEvent, ProfileOptions, ResumableProfiler};

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

/// Part `index` of `count` (`--shard I/N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which part, `0 ≤ index < count`.
    pub index: usize,
    /// Number of parts, at least 1.
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("`{s}` is not I/N with 0 ≤ I < N (e.g. 0/4)");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// The images of this part of `0..n`: parts are contiguous and their sizes differ by at
    /// most one.
    pub fn range(self, n: usize) -> Range<usize> {
        let at = |i: usize| (i as u128 * n as u128 / self.count as u128) as usize;
        at(self.index)..at(self.index + 1)
    }
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
                s.index,
                s.count
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
    let shard = args
        .shard
        .map_or_else(String::new, |s| format!(", shard {}/{}", s.index, s.count));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_cover_contiguously() {
        assert_eq!("1/3".parse(), Ok(Shard { index: 1, count: 3 }));
        for bad in ["3/3", "0/0", "1", "a/2", "-1/2", "1/2/3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        for n in [0, 1, 7, 200, 7996] {
            for count in 1..6 {
                let parts: Vec<_> = (0..count)
                    .map(|index| Shard { index, count }.range(n))
                    .collect();
                assert_eq!(parts[0].start, 0);
                assert_eq!(parts[count - 1].end, n);
                for w in parts.windows(2) {
                    assert_eq!(w[0].end, w[1].start);
                }
                let sizes: Vec<usize> = parts.iter().map(|r| r.len()).collect();
                let (lo, hi) = (sizes.iter().min(), sizes.iter().max());
                assert!(hi.zip(lo).is_some_and(|(h, l)| h - l <= 1), "{sizes:?}");
            }
        }
    }
}
