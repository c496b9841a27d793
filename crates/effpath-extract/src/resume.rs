//! Chunked, resumable profiling of a labelled `u8` data set ([`ResumableProfiler`]).
//!
//! The images of a range are profiled in chunks; each finished chunk's class paths are saved
//! atomically to a checkpoint directory next to a [`CheckpointManifest`] (`manifest.json`)
//! that identifies the run. Running the same profile again after an interruption loads the
//! chunks that check out instead of recomputing them and merges all chunks in order: the
//! result is byte-identical to an uninterrupted run (each image's path depends on that image
//! only, and a chunk is told how many images each class already has, for the per-class cap).

use std::num::NonZeroUsize;
use std::ops::Range;
use std::path::{Path, PathBuf};

use effpath_algebra::Fingerprint;
use effpath_data::{DataError, LabeledImages, Normalization};
use effpath_ir::Network;
use serde::{Deserialize, Serialize};

use crate::checksum::Fnv1a;
use crate::error::{ExtractError, Result};
use crate::extractor::ExtractOptions;
use crate::profile::{ClassPaths, ProfileOptions, Profiler};

/// File name of the manifest in a checkpoint directory.
pub const CHECKPOINT_MANIFEST: &str = "manifest.json";
/// The `format` field of a checkpoint manifest.
pub const CHECKPOINT_FORMAT: &str = "effpath-profile-checkpoint";
/// The manifest version this build writes and resumes from. Version 1 (written before the
/// options were stored as their serde form) is refused with
/// [`ExtractError::CheckpointVersion`]: its run must be started over.
pub const CHECKPOINT_VERSION: u32 = 2;

/// What identifies a profiling run, stored as `manifest.json` in its checkpoint directory: a
/// rerun resumes only if its manifest is equal (`==`) to the stored one.
///
/// The batch size is not part of it: the result never depends on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointManifest {
    /// Always [`CHECKPOINT_FORMAT`].
    pub format: String,
    /// [`CHECKPOINT_VERSION`] when written by this build.
    pub version: u32,
    /// The network's fingerprint.
    pub model: Fingerprint,
    /// FNV-1a 64 of the image size, pixels and labels of the profiled range (detects a
    /// different data set on resume; not a cryptographic hash).
    pub data_digest: u64,
    /// The profiled images `[start, end)` of the data set.
    pub range: [usize; 2],
    /// How the `u8` pixels are normalised for the model.
    pub normalization: Normalization,
    /// How each image's path is extracted.
    pub extract: ExtractOptions,
    /// At most this many correctly classified images per class.
    pub per_class_cap: Option<usize>,
    /// Images per chunk.
    pub chunk_size: NonZeroUsize,
}

/// A field of a [`CheckpointManifest`], as named in a mismatch message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestField {
    /// [`CheckpointManifest::format`].
    Format,
    /// [`CheckpointManifest::version`].
    Version,
    /// [`CheckpointManifest::model`].
    Model,
    /// [`CheckpointManifest::data_digest`].
    Data,
    /// [`CheckpointManifest::range`].
    Range,
    /// [`CheckpointManifest::normalization`].
    Normalization,
    /// θ of [`CheckpointManifest::extract`].
    Theta,
    /// The seed of [`CheckpointManifest::extract`].
    Seed,
    /// `last_layers` of [`CheckpointManifest::extract`].
    LastLayers,
    /// The threshold base of [`CheckpointManifest::extract`].
    ThresholdBase,
    /// [`CheckpointManifest::per_class_cap`].
    PerClass,
    /// [`CheckpointManifest::chunk_size`].
    ChunkSize,
}

impl std::fmt::Display for ManifestField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ManifestField::Format => "format",
            ManifestField::Version => "version",
            ManifestField::Model => "model",
            ManifestField::Data => "data",
            ManifestField::Range => "image range",
            ManifestField::Normalization => "normalization",
            ManifestField::Theta => "theta",
            ManifestField::Seed => "seed",
            ManifestField::LastLayers => "last layers",
            ManifestField::ThresholdBase => "threshold base",
            ManifestField::PerClass => "per class",
            ManifestField::ChunkSize => "chunk size",
        })
    }
}

impl CheckpointManifest {
    /// The first field in which `self` and `other` differ (compared with `==`), with both
    /// values as displayed in a message; `None` when they are equal.
    pub fn difference(
        &self,
        other: &CheckpointManifest,
    ) -> Option<(ManifestField, String, String)> {
        fn show<T: std::fmt::Debug>(a: &T, b: &T) -> (String, String) {
            (format!("{a:?}"), format!("{b:?}"))
        }
        let (a, b) = (self, other);
        let (ea, eb) = (&a.extract, &b.extract);
        let (field, values) = if a.format != b.format {
            (ManifestField::Format, (a.format.clone(), b.format.clone()))
        } else if a.version != b.version {
            (ManifestField::Version, show(&a.version, &b.version))
        } else if a.model != b.model {
            (
                ManifestField::Model,
                (a.model.to_string(), b.model.to_string()),
            )
        } else if a.data_digest != b.data_digest {
            let hex = |d: u64| format!("{d:016x}");
            (
                ManifestField::Data,
                (hex(a.data_digest), hex(b.data_digest)),
            )
        } else if a.range != b.range {
            (ManifestField::Range, show(&a.range, &b.range))
        } else if a.normalization != b.normalization {
            let (x, y) = (a.normalization.to_string(), b.normalization.to_string());
            (ManifestField::Normalization, (x, y))
        } else if ea.theta != eb.theta {
            let (x, y) = (ea.theta.to_string(), eb.theta.to_string());
            (ManifestField::Theta, (x, y))
        } else if ea.seed != eb.seed {
            (ManifestField::Seed, show(&ea.seed, &eb.seed))
        } else if ea.last_layers != eb.last_layers {
            (
                ManifestField::LastLayers,
                show(&ea.last_layers, &eb.last_layers),
            )
        } else if ea.threshold_base != eb.threshold_base {
            let values = show(&ea.threshold_base, &eb.threshold_base);
            (ManifestField::ThresholdBase, values)
        } else if a.per_class_cap != b.per_class_cap {
            (
                ManifestField::PerClass,
                show(&a.per_class_cap, &b.per_class_cap),
            )
        } else if a.chunk_size != b.chunk_size {
            (ManifestField::ChunkSize, show(&a.chunk_size, &b.chunk_size))
        } else {
            return None;
        };
        Some((field, values.0, values.1))
    }
}

/// Why a saved chunk was not used (it is recomputed).
#[derive(Debug)]
#[non_exhaustive]
pub enum ChunkRejection {
    /// It was extracted with other options.
    Options {
        /// The options found in the chunk.
        found: ExtractOptions,
    },
    /// It has another number of classes.
    Classes {
        /// The number found in the chunk.
        found: usize,
    },
    /// It counts more images than the chunk holds.
    TooManyImages {
        /// Images counted in the saved chunk.
        found: usize,
        /// Images of the chunk.
        chunk: usize,
    },
    /// It cannot be read or decoded, or belongs to another network.
    Unreadable(Box<ExtractError>),
}

impl std::fmt::Display for ChunkRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChunkRejection::Options { .. } => f.write_str("other extraction options"),
            ChunkRejection::Classes { found } => write!(f, "{found} classes"),
            ChunkRejection::TooManyImages { .. } => f.write_str("more images than the chunk holds"),
            ChunkRejection::Unreadable(e) => write!(f, "{e}"),
        }
    }
}

/// What a [`ResumableProfiler`] reports while it runs.
#[derive(Debug)]
pub enum ProfileEvent<'a> {
    /// `done` images of the range are finished (profiled or loaded from a chunk).
    Progress {
        /// Images finished, counted from the start of the range.
        done: usize,
    },
    /// A saved chunk does not check out and is recomputed.
    ChunkRejected {
        /// The chunk file.
        file: &'a Path,
        /// Why.
        reason: &'a ChunkRejection,
    },
}

/// The result of [`ResumableProfiler::run`].
#[derive(Debug)]
pub struct ProfileRun {
    /// The class paths of the range.
    pub class_paths: ClassPaths,
    /// The checkpoint used, if any; remove it with [`Checkpoint::remove`] once the class
    /// paths are saved.
    pub checkpoint: Option<Checkpoint>,
}

/// A checkpoint directory after a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The directory.
    pub dir: PathBuf,
    /// Chunks of the range.
    pub chunks: usize,
    /// Chunks loaded from an earlier run instead of computed.
    pub loaded: usize,
}

impl Checkpoint {
    /// Removes the checkpoint's files (manifest, chunks, leftover temporary files of an
    /// interrupted write), then the directory if it is empty: anything else in it is left
    /// alone.
    pub fn remove(&self) -> Result<()> {
        let dir = &self.dir;
        let entries = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))?;
        for entry in entries {
            let path = entry.map_err(|e| DataError::io(dir, e))?.path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let ours = name == CHECKPOINT_MANIFEST
                || (name.starts_with("chunk-") && name.ends_with(".bin"))
                || (name.starts_with('.') && name.ends_with(".tmp"));
            if ours && path.is_file() {
                std::fs::remove_file(&path).map_err(|e| DataError::io(&path, e))?;
            }
        }
        // Only an empty directory is removed.
        let _ = std::fs::remove_dir(dir);
        Ok(())
    }
}

/// Profiles a range of a labelled `u8` data set batch by batch (only the `u8` images and
/// the class paths are held in memory), optionally in chunks saved to a checkpoint directory
/// so that an interrupted run resumes where it stopped.
///
/// ```
/// use effpath_extract::{ProfileOptions, ResumableProfiler};
/// let net = effpath_ir::zoo::lenet5(2);
/// let data = effpath_data::Mnist::embedded_test()?;
/// let dir = std::env::temp_dir().join(format!("effpath-resume-doc-{}", std::process::id()));
/// let norm = effpath_data::Normalization::MNIST;
/// let options = ProfileOptions::default();
/// let chunk = std::num::NonZeroUsize::new(8).ok_or("zero")?;
/// let run = ResumableProfiler::new(&net, &data, norm, &options, 0..20)?
///     .with_checkpoint(&dir, chunk)
///     .run(|_| {})?;
/// let plain = ResumableProfiler::new(&net, &data, norm, &options, 0..20)?.run(|_| {})?;
/// assert_eq!(run.class_paths.to_bytes(), plain.class_paths.to_bytes());
/// run.checkpoint.ok_or("checkpoint")?.remove()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ResumableProfiler<'a> {
    net: &'a Network,
    data: &'a LabeledImages,
    normalization: Normalization,
    options: ProfileOptions,
    range: Range<usize>,
    checkpoint: Option<(PathBuf, NonZeroUsize)>,
}

impl<'a> ResumableProfiler<'a> {
    /// A profiler of the images `range` of `data`, each pixel `p` given to `net` as
    /// `normalization((p / 255))`. Errors if the range is not within the data set.
    pub fn new(
        net: &'a Network,
        data: &'a LabeledImages,
        normalization: Normalization,
        options: &ProfileOptions,
        range: Range<usize>,
    ) -> Result<Self> {
        if range.start > range.end || range.end > data.len() {
            return Err(DataError::RangeOutOfBounds {
                start: range.start,
                end: range.end,
                len: data.len(),
            }
            .into());
        }
        Ok(ResumableProfiler {
            net,
            data,
            normalization,
            options: *options,
            range,
            checkpoint: None,
        })
    }

    /// Saves every finished chunk of `chunk_size` images in `dir` (created if needed) and
    /// resumes from the chunks an earlier run of the same profile saved there.
    pub fn with_checkpoint(mut self, dir: impl Into<PathBuf>, chunk_size: NonZeroUsize) -> Self {
        self.checkpoint = Some((dir.into(), chunk_size));
        self
    }

    /// The manifest that identifies this run with chunks of `chunk_size` images.
    pub fn manifest(&self, chunk_size: NonZeroUsize) -> CheckpointManifest {
        CheckpointManifest {
            format: CHECKPOINT_FORMAT.into(),
            version: CHECKPOINT_VERSION,
            model: self.net.fingerprint(),
            data_digest: data_digest(self.data, self.range.clone()),
            range: [self.range.start, self.range.end],
            normalization: self.normalization,
            extract: self.options.extract,
            per_class_cap: self.options.per_class_cap,
            chunk_size,
        }
    }

    /// Profiles the range (resuming from the checkpoint, if one was given); `on_event` hears
    /// of the progress and of saved chunks that are recomputed.
    ///
    /// A checkpoint directory that holds another run's manifest is refused
    /// ([`ExtractError::CheckpointMismatch`]) and left alone.
    pub fn run(&self, mut on_event: impl FnMut(ProfileEvent<'_>)) -> Result<ProfileRun> {
        let Some((dir, chunk_size)) = &self.checkpoint else {
            let prior = vec![0; self.net.num_classes()];
            let class_paths = self.profile(self.range.clone(), &prior, &mut on_event)?;
            return Ok(ProfileRun {
                class_paths,
                checkpoint: None,
            });
        };
        let manifest = self.manifest(*chunk_size);
        open_checkpoint(dir, &manifest)?;
        let (first, last) = (self.range.start, self.range.end);
        let size = chunk_size.get();
        let chunks: Vec<Range<usize>> = (first..last)
            .step_by(size)
            .map(|s| s..s.saturating_add(size).min(last))
            .collect();
        let classes = self.net.num_classes();
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
            let part = match self.load_chunk(&file, chunk.len()) {
                Some(Ok(part)) => {
                    loaded += 1;
                    on_event(ProfileEvent::Progress {
                        done: chunk.end - first,
                    });
                    part
                }
                found => {
                    if let Some(Err(reason)) = &found {
                        on_event(ProfileEvent::ChunkRejected {
                            file: &file,
                            reason,
                        });
                    }
                    let part = self.profile(chunk.clone(), &prior, &mut on_event)?;
                    part.save(&file)?;
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
        let class_paths = match merged {
            Some(m) => m,
            None => self.profile(first..first, &prior, &mut on_event)?,
        };
        Ok(ProfileRun {
            class_paths,
            checkpoint: Some(Checkpoint {
                dir: dir.clone(),
                chunks: chunks.len(),
                loaded,
            }),
        })
    }

    /// Profiles `range`, converting one batch at a time to `f32`; `prior` counts the images
    /// of each class taken before this range (for the per-class cap).
    fn profile(
        &self,
        range: Range<usize>,
        prior: &[usize],
        on_event: &mut impl FnMut(ProfileEvent<'_>),
    ) -> Result<ClassPaths> {
        let mut profiler = Profiler::new(self.net, &self.options)?.with_prior_counts(prior)?;
        let batch = self.options.batch_size.max(1);
        for start in range.clone().step_by(batch) {
            if profiler.is_full() {
                break;
            }
            let end = start.saturating_add(batch).min(range.end);
            let images = self.data.to_tensor(start..end, self.normalization)?;
            let labels = &self.data.labels()[start..end];
            profiler.add_batch(&images.into_dyn(), labels)?;
            on_event(ProfileEvent::Progress {
                done: end - self.range.start,
            });
        }
        profiler.finish()
    }

    /// A saved chunk of `images` images: `None` if there is none, `Some(Err)` if it does not
    /// check out (network, options, classes, image count).
    fn load_chunk(
        &self,
        file: &Path,
        images: usize,
    ) -> Option<std::result::Result<ClassPaths, ChunkRejection>> {
        if !file.is_file() {
            return None;
        }
        Some(match ClassPaths::load_for(file, self.net) {
            Ok(cp) if cp.options() != &self.options.extract => Err(ChunkRejection::Options {
                found: *cp.options(),
            }),
            Ok(cp) if cp.classes() != self.net.num_classes() => Err(ChunkRejection::Classes {
                found: cp.classes(),
            }),
            Ok(cp) if cp.images_per_class().iter().sum::<usize>() > images => {
                Err(ChunkRejection::TooManyImages {
                    found: cp.images_per_class().iter().sum(),
                    chunk: images,
                })
            }
            Ok(cp) => Ok(cp),
            Err(e) => Err(ChunkRejection::Unreadable(Box::new(e))),
        })
    }
}

/// The `format` and `version` fields of a manifest, read before the rest.
#[derive(Deserialize)]
struct ManifestHeader {
    format: String,
    version: u32,
}

/// Creates the checkpoint directory with its manifest, or checks that an existing one belongs
/// to the same run.
fn open_checkpoint(dir: &Path, manifest: &CheckpointManifest) -> Result<()> {
    let path = dir.join(CHECKPOINT_MANIFEST);
    let json = serde_json::to_string_pretty(manifest).map_err(|source| {
        ExtractError::CheckpointManifest {
            path: path.clone(),
            source,
        }
    })?;
    if path.is_file() {
        let text = std::fs::read_to_string(&path).map_err(|e| DataError::io(&path, e))?;
        let unreadable = |source| ExtractError::CheckpointManifest {
            path: path.clone(),
            source,
        };
        let header: ManifestHeader = serde_json::from_str(&text).map_err(unreadable)?;
        if header.format != CHECKPOINT_FORMAT {
            return Err(ExtractError::CheckpointFormat {
                path,
                found: header.format,
            });
        }
        if header.version != CHECKPOINT_VERSION {
            return Err(ExtractError::CheckpointVersion {
                path,
                found: header.version,
                supported: CHECKPOINT_VERSION,
            });
        }
        let found: CheckpointManifest = serde_json::from_str(&text).map_err(unreadable)?;
        // Ours as read back from its JSON, so that both sides went through the same float
        // parsing before `==`.
        let ours: CheckpointManifest = serde_json::from_str(&json).map_err(unreadable)?;
        if found != ours {
            return Err(ExtractError::CheckpointMismatch {
                dir: dir.to_path_buf(),
                found: Box::new(found),
                expected: Box::new(ours),
            });
        }
        return Ok(());
    }
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))?;
        if entries.next().is_some() {
            return Err(ExtractError::CheckpointNotEmpty {
                dir: dir.to_path_buf(),
            });
        }
    } else {
        std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    }
    effpath_data::write_atomic(&path, |w| w.write_all(json.as_bytes()))?;
    Ok(())
}

/// FNV-1a 64 over the image size, the pixels and the labels of `range` (in bounds).
fn data_digest(data: &LabeledImages, range: Range<usize>) -> u64 {
    use std::hash::Hasher;
    let mut h = Fnv1a::default();
    for v in [data.rows() as u64, data.cols() as u64] {
        h.write(&v.to_le_bytes());
    }
    let images = data.images();
    let images = images.slice_axis(ndarray::Axis(0), range.clone().into());
    match images.as_slice() {
        Some(pixels) => h.write(pixels),
        None => images.iter().for_each(|&b| h.write_u8(b)),
    }
    // One byte per label while every label fits one (what IDX data always gives, and the
    // digest checkpoints already record), else a marker and eight bytes per label.
    let labels = &data.labels()[range];
    match labels
        .iter()
        .map(|&l| u8::try_from(l))
        .collect::<Result<Vec<u8>, _>>()
    {
        Ok(bytes) => h.write(&bytes),
        Err(_) => {
            h.write(b"u64 labels");
            labels
                .iter()
                .for_each(|&l| h.write(&(l as u64).to_le_bytes()));
        }
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (Network, LabeledImages) {
        let net = effpath_ir::zoo::lenet5(3).with_random_weights(4);
        let data = effpath_data::Mnist::embedded_test().expect("embedded MNIST");
        (net, data)
    }

    fn options() -> ProfileOptions {
        ProfileOptions {
            per_class_cap: Some(3),
            batch_size: 7,
            ..ProfileOptions::default()
        }
    }

    /// A fresh, empty-to-be checkpoint directory path of this test process.
    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("effpath-resume-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn chunk(n: usize) -> NonZeroUsize {
        NonZeroUsize::new(n).expect("nonzero")
    }

    fn chunk_files(dir: &Path) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("dir")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "bin"))
            .collect();
        v.sort();
        v
    }

    /// A run whose checkpoint keeps only some chunks (as after a kill) resumes from them and
    /// gives the bytes of an uninterrupted, unchunked run.
    #[test]
    fn resume_gives_identical_bytes() {
        let (net, data) = setup();
        let norm = Normalization::MNIST;
        let p = ResumableProfiler::new(&net, &data, norm, &options(), 10..70).expect("profiler");
        let whole = p.run(|_| {}).expect("run").class_paths.to_bytes();

        let dir = scratch("resume");
        let p = p.with_checkpoint(&dir, chunk(16));
        let first = p.run(|_| {}).expect("checkpointed run");
        let cp = first.checkpoint.expect("checkpoint");
        assert_eq!((cp.chunks, cp.loaded), (4, 0));
        assert_eq!(first.class_paths.to_bytes(), whole);
        // As after a kill: some chunks are gone, one is damaged.
        let files = chunk_files(&dir);
        assert_eq!(files.len(), 4);
        std::fs::remove_file(&files[3]).expect("remove");
        std::fs::write(&files[1], b"not a class-path file").expect("damage");

        let mut rejected = Vec::new();
        let mut last = 0;
        let again = p
            .run(|e| match e {
                ProfileEvent::Progress { done } => last = done,
                ProfileEvent::ChunkRejected { file, .. } => rejected.push(file.to_path_buf()),
            })
            .expect("resumed run");
        assert_eq!(again.class_paths.to_bytes(), whole);
        assert_eq!(rejected, vec![files[1].clone()]);
        assert_eq!(last, 60);
        let cp = again.checkpoint.expect("checkpoint");
        assert_eq!((cp.chunks, cp.loaded), (4, 2));
        cp.remove().expect("remove");
        assert!(!dir.exists());
    }

    /// A checkpoint of another run is refused with a typed error, and left alone.
    #[test]
    fn mismatching_options_are_refused() {
        let (net, data) = setup();
        let norm = Normalization::MNIST;
        let dir = scratch("mismatch");
        let p = ResumableProfiler::new(&net, &data, norm, &options(), 0..20)
            .expect("profiler")
            .with_checkpoint(&dir, chunk(8));
        p.run(|_| {}).expect("run");
        let files = chunk_files(&dir);

        let mut other = options();
        other.extract.theta = 0.3;
        let err = ResumableProfiler::new(&net, &data, norm, &other, 0..20)
            .expect("profiler")
            .with_checkpoint(&dir, chunk(8))
            .run(|_| {})
            .expect_err("other theta");
        match &err {
            ExtractError::CheckpointMismatch {
                found, expected, ..
            } => {
                assert_eq!(found.extract.theta, 0.5);
                assert_eq!(expected.extract.theta, 0.3);
                assert_eq!(
                    found.difference(expected).map(|d| d.0),
                    Some(ManifestField::Theta)
                );
            }
            other => panic!("{other}"),
        }
        let message = err.to_string();
        assert!(
            message.contains("another profiling run") && message.contains("theta"),
            "{message}"
        );
        // Another chunk size or range is another run too (another range holds other images:
        // the data digest is the first field to differ).
        for (range, size, field) in [
            (0..20, 5, ManifestField::ChunkSize),
            (0..21, 8, ManifestField::Data),
        ] {
            let err = ResumableProfiler::new(&net, &data, norm, &options(), range)
                .expect("profiler")
                .with_checkpoint(&dir, chunk(size))
                .run(|_| {})
                .expect_err("other run");
            assert!(
                matches!(&err, ExtractError::CheckpointMismatch { found, expected, .. }
                    if found.difference(expected).map(|d| d.0) == Some(field)),
                "{err}"
            );
        }
        // The batch size is not part of the run's identity.
        let mut batch = options();
        batch.batch_size = 3;
        let run = ResumableProfiler::new(&net, &data, norm, &batch, 0..20)
            .expect("profiler")
            .with_checkpoint(&dir, chunk(8))
            .run(|_| {})
            .expect("same run");
        assert_eq!(run.checkpoint.map(|c| c.loaded), Some(files.len()));
        assert_eq!(chunk_files(&dir), files);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A manifest written by the previous format (options as `Debug` strings, version 1) is
    /// refused with a typed error that says to start over.
    #[test]
    fn version_1_manifests_are_refused() {
        let (net, data) = setup();
        let dir = scratch("version");
        std::fs::create_dir(&dir).expect("mkdir");
        let old = r#"{"format": "effpath-profile-checkpoint", "version": 1, "model": "00",
            "data_digest": "0123456789abcdef", "range": [0, 20], "normalization": "none",
            "theta": 0.5, "last_layers": null, "per_class": null, "seed": "Rank(1)",
            "threshold_base": "ProductSum", "chunk_size": 8}"#;
        std::fs::write(dir.join(CHECKPOINT_MANIFEST), old).expect("write");
        let err = ResumableProfiler::new(&net, &data, Normalization::MNIST, &options(), 0..20)
            .expect("profiler")
            .with_checkpoint(&dir, chunk(8))
            .run(|_| {})
            .expect_err("version 1");
        assert!(
            matches!(
                err,
                ExtractError::CheckpointVersion {
                    found: 1,
                    supported: CHECKPOINT_VERSION,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("start over"), "{err}");

        std::fs::write(dir.join(CHECKPOINT_MANIFEST), "{}").expect("write");
        let err = ResumableProfiler::new(&net, &data, Normalization::MNIST, &options(), 0..20)
            .expect("profiler")
            .with_checkpoint(&dir, chunk(8))
            .run(|_| {})
            .expect_err("not a manifest");
        assert!(
            matches!(err, ExtractError::CheckpointManifest { .. }),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn ranges_are_checked() {
        let (net, data) = setup();
        let n = data.len();
        let opts = ProfileOptions::default();
        assert!(
            ResumableProfiler::new(&net, &data, Normalization::MNIST, &opts, 0..n + 1).is_err()
        );
        let empty = ResumableProfiler::new(&net, &data, Normalization::MNIST, &opts, 5..5)
            .expect("empty range")
            .run(|_| {})
            .expect("run");
        assert_eq!(
            empty.class_paths.images_per_class().iter().sum::<usize>(),
            0
        );
    }
}
