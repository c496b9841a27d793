//! `effpath profile`: class paths (per class, the union of the effective paths of its
//! correctly classified images) saved to a class-path file.
//!
//! Images are converted to `f32` and profiled batch by batch (only the `u8` images and the
//! class paths are held in memory). The range is processed in chunks of `--chunk-size` images;
//! each finished chunk's class paths are saved atomically to the checkpoint directory
//! (`<out>.parts/` unless `--checkpoint` says otherwise) next to a `manifest.json` that
//! identifies the run (model fingerprint, data digest, range, options, chunk size). Running the
//! same command again after an interruption loads the chunks that check out instead of
//! recomputing them, merges all chunks in order — the result is byte-identical to an
//! uninterrupted run — and removes the checkpoint directory.

use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use effpath::extract::Profiler;
use effpath::{ClassPaths, ExtractOptions, LabeledImages, Network, Normalization, ProfileOptions};
use serde::{Deserialize, Serialize};

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
    let bar = output::progress_bar(range.len() as u64, args.quiet);
    let job = Job {
        net,
        data: &data,
        norm,
        options: &options,
        bar: &bar,
        start: range.start,
    };
    let (class_paths, checkpoint) = if args.no_checkpoint {
        let prior = vec![0; net.num_classes()];
        (job.profile(range.clone(), &prior)?, None)
    } else {
        let dir = args.checkpoint.clone().unwrap_or_else(|| {
            let mut name = args.out.as_os_str().to_owned();
            name.push(".parts");
            PathBuf::from(name)
        });
        let manifest = Manifest::new(net, &data, norm, &options, range.clone(), args.chunk_size);
        let (cp, loaded, chunks) = job.profile_checkpointed(&dir, &manifest)?;
        (cp, Some((dir, loaded, chunks)))
    };
    bar.finish_and_clear();
    class_paths
        .save(&args.out)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    if let Some((dir, loaded, chunks)) = &checkpoint {
        remove_checkpoint(dir)?;
        if *loaded > 0 {
            writeln!(
                out,
                "resumed: {loaded} of {chunks} chunks loaded from {}",
                dir.display()
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
    writeln!(out, "options: {}", describe_options(&class_paths))?;
    write_summary(&class_paths, out)?;
    writeln!(
        out,
        "wrote {} in {:.1} s",
        args.out.display(),
        start.elapsed().as_secs_f64()
    )?;
    Ok(())
}

/// What identifies a profiling run, stored as `manifest.json` in its checkpoint directory: a
/// rerun resumes only if everything here is equal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Manifest {
    format: String,
    version: u32,
    /// Network fingerprint.
    model: String,
    /// FNV-1a 64 of the image size, pixels and labels of the profiled range.
    data_digest: String,
    /// The profiled images `[start, end)` of the data set.
    range: [usize; 2],
    normalization: String,
    theta: f64,
    last_layers: Option<usize>,
    per_class: Option<usize>,
    seed: String,
    threshold_base: String,
    chunk_size: u32,
}

const MANIFEST: &str = "manifest.json";
const MANIFEST_FORMAT: &str = "effpath-profile-checkpoint";

impl Manifest {
    fn new(
        net: &Network,
        data: &LabeledImages,
        norm: Normalization,
        options: &ProfileOptions,
        range: Range<usize>,
        chunk_size: u32,
    ) -> Manifest {
        let e = &options.extract;
        Manifest {
            format: MANIFEST_FORMAT.into(),
            version: 1,
            model: net.fingerprint().to_string(),
            data_digest: data_digest(data, range.clone()),
            range: [range.start, range.end],
            normalization: norm.to_string(),
            theta: e.theta,
            last_layers: e.last_layers,
            per_class: options.per_class_cap,
            seed: format!("{:?}", e.seed),
            threshold_base: format!("{:?}", e.threshold_base),
            chunk_size,
        }
    }

    /// The first field that differs from `other`, as `(name, mine, theirs)`.
    fn difference(&self, other: &Manifest) -> Option<(&'static str, String, String)> {
        let fields: [(&str, String, String); 12] = [
            ("format", self.format.clone(), other.format.clone()),
            (
                "version",
                self.version.to_string(),
                other.version.to_string(),
            ),
            ("model", self.model.clone(), other.model.clone()),
            ("data", self.data_digest.clone(), other.data_digest.clone()),
            (
                "image range",
                format!("{:?}", self.range),
                format!("{:?}", other.range),
            ),
            (
                "normalization",
                self.normalization.clone(),
                other.normalization.clone(),
            ),
            ("theta", self.theta.to_string(), other.theta.to_string()),
            (
                "last layers",
                format!("{:?}", self.last_layers),
                format!("{:?}", other.last_layers),
            ),
            (
                "per class",
                format!("{:?}", self.per_class),
                format!("{:?}", other.per_class),
            ),
            ("seed", self.seed.clone(), other.seed.clone()),
            (
                "threshold base",
                self.threshold_base.clone(),
                other.threshold_base.clone(),
            ),
            (
                "chunk size",
                self.chunk_size.to_string(),
                other.chunk_size.to_string(),
            ),
        ];
        fields.into_iter().find(|(_, a, b)| a != b)
    }
}

/// FNV-1a 64 over the image size, the pixels and the labels of `range` (detects a different
/// data set on resume; not a cryptographic hash).
fn data_digest(data: &LabeledImages, range: Range<usize>) -> String {
    use std::hash::Hasher;
    let mut h = effpath::extract::Fnv1a::default();
    for v in [data.rows() as u64, data.cols() as u64] {
        h.write(&v.to_le_bytes());
    }
    let images = data.images();
    let images = images.slice_axis(effpath::ndarray::Axis(0), range.clone().into());
    match images.as_slice() {
        Some(pixels) => h.write(pixels),
        None => images.iter().for_each(|&b| h.write_u8(b)),
    }
    h.write(&data.labels()[range]);
    format!("{:016x}", h.finish())
}

/// One profiling run: the network, the `u8` images, how to normalise them and the options.
struct Job<'a> {
    net: &'a Network,
    data: &'a LabeledImages,
    norm: Normalization,
    options: &'a ProfileOptions,
    bar: &'a indicatif::ProgressBar,
    /// First image of the whole range (for the progress bar).
    start: usize,
}

impl Job<'_> {
    /// Profiles `range`, converting one batch at a time to `f32`; `prior` counts the images
    /// of each class taken before this range (for `--per-class`).
    fn profile(&self, range: Range<usize>, prior: &[usize]) -> Result<ClassPaths> {
        let mut profiler = Profiler::new(self.net, self.options)?.with_prior_counts(prior)?;
        let batch = self.options.batch_size.max(1);
        for start in range.clone().step_by(batch) {
            if profiler.is_full() {
                break;
            }
            let end = (start + batch).min(range.end);
            let images = self.data.to_tensor(start..end, self.norm)?.into_dyn();
            let labels: Vec<usize> = self.data.labels()[start..end]
                .iter()
                .map(|&l| usize::from(l))
                .collect();
            profiler.add_batch(&images, &labels)?;
            self.bar.set_position((end - self.start) as u64);
        }
        Ok(profiler.finish()?)
    }

    /// Profiles the manifest's range chunk by chunk, saving every finished chunk in `dir` and
    /// loading the chunks a previous run of the same manifest saved. Returns the merged class
    /// paths, how many chunks were loaded and how many chunks the range has.
    fn profile_checkpointed(
        &self,
        dir: &Path,
        manifest: &Manifest,
    ) -> Result<(ClassPaths, usize, usize)> {
        open_checkpoint(dir, manifest)?;
        let [first, last] = manifest.range;
        let size = manifest.chunk_size as usize;
        let chunks: Vec<Range<usize>> = (first..last)
            .step_by(size)
            .map(|s| s..(s + size).min(last))
            .collect();
        let classes = self.net.num_classes();
        let fingerprint = effpath::algebra::Fingerprint(self.net.fingerprint().0);
        let mut prior = vec![0usize; classes];
        let mut merged: Option<ClassPaths> = None;
        let mut loaded = 0;
        for chunk in &chunks {
            if self
                .options
                .per_class_cap
                .is_some_and(|cap| prior.iter().all(|&c| c >= cap))
            {
                // Every class is full: the remaining chunks cannot change the result.
                break;
            }
            let file = dir.join(format!("chunk-{:010}-{:010}.bin", chunk.start, chunk.end));
            let part = match load_chunk(&file, fingerprint, self.options, classes, chunk.len()) {
                Some(part) => {
                    loaded += 1;
                    self.bar.set_position((chunk.end - self.start) as u64);
                    part
                }
                None => {
                    let part = self.profile(chunk.clone(), &prior)?;
                    part.save(&file)
                        .with_context(|| format!("cannot write checkpoint {}", file.display()))?;
                    part
                }
            };
            for (p, n) in prior.iter_mut().zip(part.images_per_class()) {
                *p = p.saturating_add(*n);
            }
            match &mut merged {
                Some(m) => m.merge(&part)?,
                None => merged = Some(part),
            }
        }
        let merged = match merged {
            Some(m) => m,
            None => self.profile(first..first, &prior)?,
        };
        Ok((merged, loaded, chunks.len()))
    }
}

/// Creates the checkpoint directory with its manifest, or checks that an existing one belongs
/// to the same run.
fn open_checkpoint(dir: &Path, manifest: &Manifest) -> Result<()> {
    let path = dir.join(MANIFEST);
    if path.is_file() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let found: Manifest = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a profile checkpoint manifest; delete {} to start over",
                path.display(),
                dir.display()
            )
        })?;
        if let Some((field, theirs, mine)) = found.difference(manifest) {
            bail!(
                "{} holds the checkpoint of another profiling run ({field}: {theirs} there, {mine} now); \
                 delete it to start over, or pass another --checkpoint",
                dir.display()
            );
        }
        return Ok(());
    }
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read checkpoint directory {}", dir.display()))?;
        if entries.next().is_some() {
            bail!(
                "checkpoint directory {} is not empty and has no {MANIFEST}: not a profile checkpoint",
                dir.display()
            );
        }
    } else {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create checkpoint directory {}", dir.display()))?;
    }
    let json = serde_json::to_string_pretty(manifest)?;
    effpath::write_atomic(&path, |w| w.write_all(json.as_bytes()))
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// A saved chunk, if it exists and checks out (network, options, classes, image count);
/// a chunk that does not is reported and recomputed.
fn load_chunk(
    file: &Path,
    fingerprint: effpath::algebra::Fingerprint,
    options: &ProfileOptions,
    classes: usize,
    images: usize,
) -> Option<ClassPaths> {
    if !file.is_file() {
        return None;
    }
    let problem = match ClassPaths::load(file, Some(fingerprint)) {
        Ok(cp) if cp.options() != &options.extract => "other extraction options".to_owned(),
        Ok(cp) if cp.classes() != classes => format!("{} classes", cp.classes()),
        Ok(cp) if cp.images_per_class().iter().sum::<usize>() > images => {
            "more images than the chunk holds".to_owned()
        }
        Ok(cp) => return Some(cp),
        Err(e) => e.to_string(),
    };
    eprintln!(
        "warning: checkpoint {} does not check out ({problem}); recomputing it",
        file.display()
    );
    None
}

/// Removes the checkpoint directory's files (manifest, chunks, leftover temporary files of an
/// interrupted write), then the directory if it is empty.
fn remove_checkpoint(dir: &Path) -> Result<()> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read checkpoint directory {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let ours = name == MANIFEST
            || (name.starts_with("chunk-") && name.ends_with(".bin"))
            || (name.starts_with('.') && name.ends_with(".tmp"));
        if ours && path.is_file() {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    // Only an empty directory is removed; anything else in it is left alone.
    let _ = std::fs::remove_dir(dir);
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
