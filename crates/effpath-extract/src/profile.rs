//! Class paths (spec §3): per class, the union of the paths of its correctly classified
//! training images; the overall path is the union of the class paths.

use std::sync::Arc;

use effpath_algebra::{ElementKind, Fingerprint, LayerSelection, Path, PathSet, PathSpace};
use effpath_data::Label;
use effpath_ir::Network;
use ndarray::{ArrayD, Axis};
use rayon::prelude::*;

use crate::error::{ExtractError, Mismatch, Result};
use crate::extractor::{CheckedExtractOptions, ExtractOptions, Extractor};

/// Bytes of recorded activations one profiling forward pass may hold (256 MiB).
pub const ACTIVATION_BUDGET: usize = 256 << 20;

/// The batch size actually used for `net`: `requested`, capped by [`ACTIVATION_BUDGET`].
fn capped_batch(net: &Network, requested: usize) -> usize {
    let per_sample: usize = net
        .shapes()
        .iter()
        .map(|s| s.iter().product::<usize>() * std::mem::size_of::<f32>())
        .sum();
    requested
        .max(1)
        .min((ACTIVATION_BUDGET / per_sample.max(1)).max(1))
}

/// Options of [`ClassPaths::profile`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProfileOptions {
    /// How each image's path is extracted (θ, seed, partial extraction).
    pub extract: ExtractOptions,
    /// At most this many correctly classified images per class (the first ones in data order).
    pub per_class_cap: Option<usize>,
    /// Images run through the network per forward pass, at most; fewer when that many would
    /// hold more than [`ACTIVATION_BUDGET`] bytes of activations (the forward pass keeps every
    /// tensor: for ResNet-50 about 100 MB per image). The result never depends on it.
    pub batch_size: usize,
}

impl Default for ProfileOptions {
    fn default() -> Self {
        ProfileOptions {
            extract: ExtractOptions::default(),
            per_class_cap: None,
            batch_size: 256,
        }
    }
}

/// Per-class paths of a network plus how many images built each.
///
/// ```
/// use effpath_extract::{ClassPaths, ProfileOptions};
/// let net = effpath_ir::zoo::lenet5(2);
/// let images = ndarray::ArrayD::from_shape_fn(ndarray::IxDyn(&[8, 1, 28, 28]), |d| (d[0] * 7 + d[2] * d[3]) as f32 % 5.0 / 5.0);
/// // Label every image with the network's own prediction, so all count as correct.
/// let labels: Vec<usize> = net.predict(&images)?.rows().into_iter()
///     .map(|r| effpath_ir::argmax(r.iter().copied())).collect();
/// let cp = ClassPaths::profile(&net, &images, &labels, &ProfileOptions::default(), |_, _| {})?;
/// assert_eq!(cp.images_per_class().iter().sum::<usize>(), 8);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ClassPaths {
    paths: PathSet,
    images: Vec<usize>,
    options: CheckedExtractOptions,
}

impl ClassPaths {
    /// Profiles `images` `(N, …)` (already normalised as the model expects) with their
    /// `labels`: only correctly classified images count. Runs batches one after another and
    /// extracts within a batch in parallel; the result does not depend on the thread count,
    /// nor on the batch size (each sample's path depends on that sample only).
    /// `progress(done, total)` is called after every batch.
    ///
    /// To profile a data set that should not be held in memory as one `f32` tensor, feed it
    /// batch by batch to a [`Profiler`], which this function uses.
    pub fn profile(
        net: &Network,
        images: &ArrayD<f32>,
        labels: &[Label],
        options: &ProfileOptions,
        progress: impl Fn(usize, usize),
    ) -> Result<ClassPaths> {
        let n = images.shape().first().copied().unwrap_or(0);
        net.check_labelled(images.shape(), labels, 0)?;
        let mut profiler = Profiler::new(net, options)?;
        let batch = options.batch_size.max(1);
        for start in (0..n).step_by(batch) {
            let end = (start + batch).min(n);
            let chunk = images.slice_axis(Axis(0), (start..end).into()).to_owned();
            profiler.add_batch(&chunk, &labels[start..end])?;
            progress(end, n);
            if profiler.is_full() {
                // Every class is full: the remaining images cannot change the result.
                progress(n, n);
                break;
            }
        }
        profiler.finish()
    }

    /// Builds class paths from already extracted `(class, path)` pairs, each path extracted
    /// with `options` (e.g. [`Extractor::checked_options`]).
    pub fn from_paths(
        space: &Arc<PathSpace>,
        classes: usize,
        options: CheckedExtractOptions,
        paths: impl IntoIterator<Item = (usize, Path)>,
    ) -> Result<Self> {
        let mut acc = Accumulator::new(space, classes, options);
        for (c, p) in paths {
            if c >= classes {
                return Err(ExtractError::ClassOutOfRange { class: c, classes });
            }
            acc.images[c] += 1;
            acc.add(c, &p)?;
        }
        acc.finish()
    }

    /// The path of class `c` (`None` when no image of that class was correctly classified).
    pub fn class(&self, c: usize) -> Option<&Path> {
        self.paths.get(c as u32)
    }

    /// Correctly classified images that built each class path.
    pub fn images_per_class(&self) -> &[usize] {
        &self.images
    }

    /// The per-class paths as a labelled set (for saving).
    pub fn path_set(&self) -> &PathSet {
        &self.paths
    }

    /// The overall path: the union of all class paths.
    pub fn overall(&self) -> Path {
        self.paths.union_all()
    }

    /// Class × class Jaccard similarity (aggregated over `selection`); `None` where a class has
    /// no path or both are empty.
    pub fn jaccard_matrix(
        &self,
        kind: ElementKind,
        selection: LayerSelection,
    ) -> Result<Vec<Vec<Option<f64>>>> {
        let n = self.images.len();
        let mut m = vec![vec![None; n]; n];
        for (a, row) in m.iter_mut().enumerate() {
            for (b, cell) in row.iter_mut().enumerate() {
                if let (Some(p), Some(q)) = (self.class(a), self.class(b)) {
                    *cell = p.jaccard(q, kind, selection)?;
                }
            }
        }
        Ok(m)
    }

    /// Class paths from a [`PathSet`] with the image counts, recorded as built with the
    /// default [`ExtractOptions`] (see [`ClassPaths::with_options`] and
    /// [`ClassPaths::try_from_parts`]). The labels of `paths` should be below `images.len()`.
    pub fn from_parts(paths: PathSet, images: Vec<usize>) -> Self {
        ClassPaths {
            paths,
            images,
            options: CheckedExtractOptions::default(),
        }
    }

    /// Class paths from their parts, checked: every label of `paths` must be a class
    /// (`< images.len()`) and a class with a path must have at least one image.
    pub fn try_from_parts(
        paths: PathSet,
        images: Vec<usize>,
        options: CheckedExtractOptions,
    ) -> Result<Self> {
        for label in paths.labels() {
            crate::classfile::check_label(label, &images)?;
        }
        Ok(ClassPaths {
            paths,
            images,
            options,
        })
    }

    /// The same class paths, recorded as built with `options`.
    pub fn with_options(mut self, options: CheckedExtractOptions) -> Self {
        self.options = options;
        self
    }

    /// The extraction options the class paths were built with (valid: they were checked when
    /// the class paths were built or read).
    pub fn options(&self) -> &ExtractOptions {
        &self.options
    }

    /// The extraction options the class paths were built with, checked.
    pub fn checked_options(&self) -> CheckedExtractOptions {
        self.options
    }

    /// Number of classes (of the network; classes without a path included).
    pub fn classes(&self) -> usize {
        self.images.len()
    }

    /// The path space of the class paths.
    pub fn space(&self) -> &Arc<PathSpace> {
        self.paths.space()
    }

    /// The fingerprint of the network the class paths belong to.
    pub fn fingerprint(&self) -> Fingerprint {
        self.paths.space().fingerprint()
    }

    /// Adds `other` (e.g. another shard of the same training set): unions the paths of each
    /// class and adds the image counts. Errors, leaving `self` unchanged, if the two were
    /// built for different networks (spaces), with different options or class counts.
    pub fn merge(&mut self, other: &ClassPaths) -> Result<()> {
        self.space().check_same(other.space())?;
        if self.options != other.options {
            return Err(ExtractError::Mismatch(Mismatch::Options {
                ours: *self.options,
                theirs: *other.options,
            }));
        }
        if self.classes() != other.classes() {
            return Err(ExtractError::Mismatch(Mismatch::Classes {
                ours: self.classes(),
                theirs: other.classes(),
            }));
        }
        for (label, path) in other.paths.iter() {
            let merged = match self.paths.remove(label) {
                Some(mut mine) => {
                    mine.union_with(path)?;
                    mine
                }
                None => path.clone(),
            };
            self.paths.insert(label, merged)?;
        }
        for (mine, theirs) in self.images.iter_mut().zip(&other.images) {
            *mine = mine.saturating_add(*theirs);
        }
        Ok(())
    }
}

/// Streaming profiling: batches of images go in one after another, each image's path is folded
/// into its class path as soon as it is extracted, and only the class paths are kept — memory
/// does not grow with the number of images. The result equals [`ClassPaths::profile`] on the
/// concatenated batches, however the images are cut into batches.
///
/// With [`ProfileOptions::per_class_cap`], a profiler that continues earlier work (e.g. the
/// next chunk of a resumable run) is told how many images each class already has with
/// [`Profiler::with_prior_counts`]; its own result then holds only its new images.
///
/// ```
/// use effpath_extract::{ClassPaths, Profiler, ProfileOptions};
/// use ndarray::{ArrayD, Axis, IxDyn};
/// let net = effpath_ir::zoo::lenet5(2);
/// let images = ArrayD::from_shape_fn(IxDyn(&[6, 1, 28, 28]), |d| (d[0] * 7 + d[2] * d[3]) as f32 % 5.0 / 5.0);
/// let labels: Vec<usize> = net.predict(&images)?.rows().into_iter()
///     .map(|r| effpath_ir::argmax(r.iter().copied())).collect();
/// let options = ProfileOptions::default();
/// let mut p = Profiler::new(&net, &options)?;
/// for (start, end) in [(0, 4), (4, 6)] {
///     let batch = images.slice_axis(Axis(0), (start..end).into()).to_owned();
///     p.add_batch(&batch, &labels[start..end])?;
/// }
/// let streamed = p.finish()?;
/// assert_eq!(streamed, ClassPaths::profile(&net, &images, &labels, &options, |_, _| {})?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Profiler<'n> {
    net: &'n Network,
    extractor: Extractor<'n>,
    acc: Accumulator,
    cap: usize,
    batch_size: usize,
    /// Images of each class counted before this profiler (for the cap only).
    prior: Vec<usize>,
    seen: usize,
}

impl<'n> Profiler<'n> {
    /// A profiler of `net` with `options` (validated as by [`Extractor::new`]).
    pub fn new(net: &'n Network, options: &ProfileOptions) -> Result<Self> {
        let extractor = Extractor::new(net, options.extract)?;
        let classes = net.num_classes();
        let acc = Accumulator::new(extractor.space(), classes, extractor.checked_options());
        Ok(Profiler {
            net,
            extractor,
            acc,
            cap: options.per_class_cap.unwrap_or(usize::MAX),
            batch_size: capped_batch(net, options.batch_size),
            prior: vec![0; classes],
            seen: 0,
        })
    }

    /// Counts `counts[c]` earlier images of class `c` against the per-class cap (one count
    /// per class of the network). The counts are not part of [`Profiler::finish`]'s result.
    pub fn with_prior_counts(mut self, counts: &[usize]) -> Result<Self> {
        if counts.len() != self.prior.len() {
            return Err(ExtractError::PriorCounts {
                expected: self.prior.len(),
                got: counts.len(),
            });
        }
        self.prior = counts.to_vec();
        Ok(self)
    }

    /// Adds a batch `(B, …)` of images (normalised as the model expects) with their labels:
    /// runs it forward (in slices of [`ProfileOptions::batch_size`]), extracts the paths of the
    /// correctly classified images below the cap in parallel and folds them into the class
    /// paths. Errors leave the profiler in an unspecified but safe state.
    pub fn add_batch(&mut self, images: &ArrayD<f32>, labels: &[Label]) -> Result<()> {
        let n = images.shape().first().copied().unwrap_or(0);
        self.net.check_labelled(images.shape(), labels, self.seen)?;
        if n <= self.batch_size {
            return self.add_slice(images, labels);
        }
        for start in (0..n).step_by(self.batch_size) {
            let end = (start + self.batch_size).min(n);
            let slice = images.slice_axis(Axis(0), (start..end).into()).to_owned();
            self.add_slice(&slice, &labels[start..end])?;
        }
        Ok(())
    }

    fn add_slice(&mut self, images: &ArrayD<f32>, labels: &[Label]) -> Result<()> {
        let start = self.seen;
        self.seen += labels.len();
        if self.is_full() {
            return Ok(());
        }
        let acts = self.net.forward(images)?;
        let logits = acts.logits();
        let mut chosen = Vec::new();
        for (k, row) in logits.rows().into_iter().enumerate() {
            let label = labels[k];
            let pred = effpath_ir::argmax(row.iter().copied());
            if pred == label && self.prior[label].saturating_add(self.acc.images[label]) < self.cap
            {
                self.acc.images[label] += 1;
                chosen.push(k);
            }
        }
        let ex = &self.extractor;
        let paths: Vec<Path> = chosen
            .par_iter()
            .map(|&k| {
                ex.extract_sample(&acts, k)
                    .map(|e| e.path)
                    .map_err(|e| match e {
                        ExtractError::NonFinite {
                            tensor,
                            sample,
                            index,
                        } => ExtractError::NonFinite {
                            tensor,
                            sample: start + sample,
                            index,
                        },
                        other => other,
                    })
            })
            .collect::<Result<_>>()?;
        for (k, p) in chosen.iter().zip(paths) {
            self.acc.add(labels[*k], &p)?;
        }
        Ok(())
    }

    /// Whether every class has reached the per-class cap (prior counts included): further
    /// images cannot change the result.
    pub fn is_full(&self) -> bool {
        self.prior
            .iter()
            .zip(&self.acc.images)
            .all(|(&p, &c)| p.saturating_add(c) >= self.cap)
    }

    /// Images added so far (correct or not).
    pub fn images_seen(&self) -> usize {
        self.seen
    }

    /// The images of each class folded in so far (prior counts excluded).
    pub fn images_per_class(&self) -> &[usize] {
        &self.acc.images
    }

    /// The class paths of the images added.
    pub fn finish(self) -> Result<ClassPaths> {
        self.acc.finish()
    }
}

/// Folds per-image paths into per-class unions as they come.
#[derive(Debug)]
struct Accumulator {
    space: Arc<PathSpace>,
    unions: Vec<Option<Path>>,
    images: Vec<usize>,
    options: CheckedExtractOptions,
}

impl Accumulator {
    fn new(space: &Arc<PathSpace>, classes: usize, options: CheckedExtractOptions) -> Self {
        Accumulator {
            space: space.clone(),
            unions: vec![None; classes],
            images: vec![0; classes],
            options,
        }
    }

    fn add(&mut self, class: usize, p: &Path) -> Result<()> {
        match &mut self.unions[class] {
            Some(u) => u.union_with(p)?,
            slot @ None => *slot = Some(p.clone()),
        }
        Ok(())
    }

    fn finish(self) -> Result<ClassPaths> {
        let mut set = PathSet::new(&self.space);
        for (c, u) in self.unions.into_iter().enumerate() {
            if let Some(u) = u {
                set.insert(c as u32, u)?;
            }
        }
        Ok(ClassPaths {
            paths: set,
            images: self.images,
            options: self.options,
        })
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{ArrayD, Axis, IxDyn};

    use super::*;

    fn data(net: &Network, n: usize) -> (ArrayD<f32>, Vec<usize>) {
        let x = ArrayD::from_shape_fn(IxDyn(&[n, 1, 28, 28]), |d| {
            ((d[0] * 13 + d[2] * 5 + d[3] * d[0] + d[2] * d[3]) % 11) as f32 / 11.0
        });
        let labels = net
            .predict(&x)
            .expect("forward")
            .rows()
            .into_iter()
            .map(|r| effpath_ir::argmax(r.iter().copied()))
            .collect();
        (x, labels)
    }

    /// The result does not depend on how the images are cut into batches (every sample's path
    /// depends on that sample only), which resumable profiling relies on.
    #[test]
    fn batch_size_and_streaming_do_not_change_the_result() {
        let net = effpath_ir::zoo::lenet5(3).with_random_weights(4);
        let (x, labels) = data(&net, 23);
        let with = |batch_size: usize| ProfileOptions {
            batch_size,
            ..ProfileOptions::default()
        };
        let whole = ClassPaths::profile(&net, &x, &labels, &with(256), |_, _| {}).expect("profile");
        for b in [1, 4, 7, 23] {
            let cp = ClassPaths::profile(&net, &x, &labels, &with(b), |_, _| {}).expect("profile");
            assert_eq!(cp.to_bytes(), whole.to_bytes(), "batch size {b}");
        }
        let mut p = Profiler::new(&net, &with(5)).expect("profiler");
        for (s, e) in [(0, 3), (3, 16), (16, 23)] {
            let batch = x.slice_axis(Axis(0), (s..e).into()).to_owned();
            p.add_batch(&batch, &labels[s..e]).expect("batch");
        }
        assert_eq!(p.images_seen(), 23);
        assert_eq!(p.finish().expect("finish").to_bytes(), whole.to_bytes());
    }

    /// Chunks profiled with the counts of the chunks before them, then merged, equal one run
    /// with a per-class cap.
    #[test]
    fn chunks_with_prior_counts_merge_to_the_capped_whole() {
        let net = effpath_ir::zoo::lenet5(5).with_random_weights(6);
        let (x, labels) = data(&net, 30);
        let options = ProfileOptions {
            per_class_cap: Some(2),
            batch_size: 4,
            ..ProfileOptions::default()
        };
        let whole = ClassPaths::profile(&net, &x, &labels, &options, |_, _| {}).expect("profile");
        let mut prior = vec![0; net.num_classes()];
        let mut merged: Option<ClassPaths> = None;
        for (s, e) in [(0, 9), (9, 10), (10, 30)] {
            let mut p = Profiler::new(&net, &options)
                .and_then(|p| p.with_prior_counts(&prior))
                .expect("profiler");
            let batch = x.slice_axis(Axis(0), (s..e).into()).to_owned();
            p.add_batch(&batch, &labels[s..e]).expect("batch");
            let part = p.finish().expect("finish");
            for (c, n) in prior.iter_mut().zip(part.images_per_class()) {
                *c += n;
            }
            match &mut merged {
                Some(m) => m.merge(&part).expect("merge"),
                None => merged = Some(part),
            }
        }
        assert_eq!(merged.expect("parts").to_bytes(), whole.to_bytes());
        assert!(whole.images_per_class().iter().all(|&n| n <= 2));
        let p = Profiler::new(&net, &options).expect("profiler");
        assert!(p.with_prior_counts(&[1, 2]).is_err());
    }

    #[test]
    fn labels_are_checked() {
        let net = effpath_ir::zoo::lenet5(1);
        let (x, _) = data(&net, 3);
        let mut p = Profiler::new(&net, &ProfileOptions::default()).expect("profiler");
        assert!(p.add_batch(&x, &[0, 1]).is_err());
        let err = p.add_batch(&x, &[0, 10, 1]).expect_err("label 10");
        assert!(err.to_string().contains("label 10"), "{err}");
    }
}
