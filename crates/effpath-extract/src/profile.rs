//! Class paths (spec §3): per class, the union of the paths of its correctly classified
//! training images; the overall path is the union of the class paths.

use std::sync::Arc;

use effpath_algebra::{ElementKind, Fingerprint, LayerSelection, Path, PathSet, PathSpace};
use effpath_ir::Network;
use ndarray::{ArrayD, Axis};
use rayon::prelude::*;

use crate::error::{ExtractError, Result};
use crate::extractor::{ExtractOptions, Extractor};

/// Options of [`ClassPaths::profile`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProfileOptions {
    /// How each image's path is extracted (θ, seed, partial extraction).
    pub extract: ExtractOptions,
    /// At most this many correctly classified images per class (the first ones in data order).
    pub per_class_cap: Option<usize>,
    /// Images run through the network per forward pass.
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
///     .map(|r| r.iter().enumerate().fold(0, |b, (i, v)| if *v > r[b] { i } else { b })).collect();
/// let cp = ClassPaths::profile(&net, &images, &labels, &ProfileOptions::default(), |_, _| {})?;
/// assert_eq!(cp.images_per_class().iter().sum::<usize>(), 8);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ClassPaths {
    paths: PathSet,
    images: Vec<usize>,
    options: ExtractOptions,
}

impl ClassPaths {
    /// Profiles `images` `(N, …)` (already normalised as the model expects) with their
    /// `labels`: only correctly classified images count. Runs batches one after another and
    /// extracts within a batch in parallel; the result does not depend on the thread count.
    /// `progress(done, total)` is called after every batch.
    pub fn profile(
        net: &Network,
        images: &ArrayD<f32>,
        labels: &[usize],
        options: &ProfileOptions,
        progress: impl Fn(usize, usize),
    ) -> Result<ClassPaths> {
        let n = images.shape().first().copied().unwrap_or(0);
        if labels.len() != n {
            return Err(ExtractError::Labels(format!(
                "{} labels for {n} images",
                labels.len()
            )));
        }
        let classes = net.num_classes();
        if let Some(bad) = labels.iter().find(|&&l| l >= classes) {
            return Err(ExtractError::Labels(format!(
                "label {bad} for a network with {classes} classes"
            )));
        }
        let ex = Extractor::new(net, options.extract)?;
        let mut acc = Accumulator::new(ex.space(), classes, options.extract);
        let batch = options.batch_size.max(1);
        let cap = options.per_class_cap.unwrap_or(usize::MAX);
        for start in (0..n).step_by(batch) {
            let end = (start + batch).min(n);
            let chunk = images.slice_axis(Axis(0), (start..end).into()).to_owned();
            let acts = net.forward(&chunk)?;
            let logits = acts.logits();
            let mut chosen = Vec::new();
            for (k, row) in logits.rows().into_iter().enumerate() {
                let label = labels[start + k];
                let pred = row
                    .iter()
                    .enumerate()
                    .fold(0, |b, (i, v)| if *v > row[b] { i } else { b });
                if pred == label && acc.images[label] < cap {
                    acc.images[label] += 1;
                    chosen.push(k);
                }
            }
            let paths: Vec<Path> = chosen
                .par_iter()
                .map(|&k| ex.extract_sample(&acts, k).map(|e| e.path))
                .collect::<Result<_>>()?;
            for (k, p) in chosen.iter().zip(paths) {
                acc.add(labels[start + k], &p)?;
            }
            progress(end, n);
            if acc.images.iter().all(|&c| c >= cap) {
                // Every class is full: the remaining images cannot change the result.
                progress(n, n);
                break;
            }
        }
        acc.finish()
    }

    /// Builds class paths from already extracted `(class, path)` pairs, each path extracted
    /// with `options`.
    pub fn from_paths(
        space: &Arc<PathSpace>,
        classes: usize,
        options: ExtractOptions,
        paths: impl IntoIterator<Item = (usize, Path)>,
    ) -> Result<Self> {
        let mut acc = Accumulator::new(space, classes, options);
        for (c, p) in paths {
            if c >= classes {
                return Err(ExtractError::Labels(format!("class {c} of {classes}")));
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
            options: ExtractOptions::default(),
        }
    }

    /// Class paths from their parts, checked: every label of `paths` must be a class
    /// (`< images.len()`) and a class with a path must have at least one image.
    pub fn try_from_parts(
        paths: PathSet,
        images: Vec<usize>,
        options: ExtractOptions,
    ) -> Result<Self> {
        for label in paths.labels() {
            match images.get(label as usize) {
                None => {
                    return Err(ExtractError::Labels(format!(
                        "class path {label} of {} classes",
                        images.len()
                    )));
                }
                Some(0) => {
                    return Err(ExtractError::Labels(format!(
                        "class {label} has a path but no images"
                    )));
                }
                Some(_) => {}
            }
        }
        Ok(ClassPaths {
            paths,
            images,
            options,
        })
    }

    /// The same class paths, recorded as built with `options`.
    pub fn with_options(mut self, options: ExtractOptions) -> Self {
        self.options = options;
        self
    }

    /// The extraction options the class paths were built with.
    pub fn options(&self) -> &ExtractOptions {
        &self.options
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
        let (a, b) = (&self.options, &other.options);
        let differences = [
            (a.theta != b.theta).then(|| format!("theta {} vs {}", a.theta, b.theta)),
            (a.seed != b.seed).then(|| format!("seed {:?} vs {:?}", a.seed, b.seed)),
            (a.last_layers != b.last_layers)
                .then(|| format!("last layers {:?} vs {:?}", a.last_layers, b.last_layers)),
            (a.threshold_base != b.threshold_base).then(|| {
                format!(
                    "threshold base {:?} vs {:?}",
                    a.threshold_base, b.threshold_base
                )
            }),
        ];
        let differences: Vec<String> = differences.into_iter().flatten().collect();
        if !differences.is_empty() {
            return Err(ExtractError::Mismatch(format!(
                "extraction options differ: {}",
                differences.join(", ")
            )));
        }
        if self.classes() != other.classes() {
            return Err(ExtractError::Mismatch(format!(
                "{} classes vs {} classes",
                self.classes(),
                other.classes()
            )));
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

/// Folds per-image paths into per-class unions as they come.
struct Accumulator {
    space: Arc<PathSpace>,
    unions: Vec<Option<Path>>,
    images: Vec<usize>,
    options: ExtractOptions,
}

impl Accumulator {
    fn new(space: &Arc<PathSpace>, classes: usize, options: ExtractOptions) -> Self {
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
