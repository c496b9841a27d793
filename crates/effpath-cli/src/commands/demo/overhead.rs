//! The guard's measured cost per number of last weighted layers `n`: for each `n`, a linear
//! detector on the last-`n` features (fitted on the first repetition's training rows, as the
//! report's detector files are) inside a [`Guard`] that extracts only those layers, timed
//! image by image beside the plain forward pass of the same image.

use std::time::Instant;

use anyhow::Result;
use effpath::detect::{Detector, ExperimentData, ExperimentOptions, last_layers};
use effpath::extract::FeatureOptions;
use effpath::guard::{DetectorFile, Guard};
use effpath::ndarray::{ArrayD, Axis};
use effpath::{ClassPaths, DetectorKind, DetectorModel, Network, PathFeatures};

use crate::report::GuardCost;

/// Images timed (the first ones of the normal set); each is run once untimed first.
pub const TIMED_IMAGES: usize = 20;

/// Measures [`GuardCost`] for `n` = 1…all weighted layers (features as `base`, restricted
/// to the last `n`) on the first [`TIMED_IMAGES`] of
/// `images` (normalised for the model), each image once untimed first.
pub fn measure(
    net: &Network,
    class_paths: &ClassPaths,
    data: &ExperimentData,
    base: FeatureOptions,
    seed: u64,
    images: &ArrayD<f32>,
    fpr: f64,
) -> Result<Vec<GuardCost>> {
    let layers = data.normal.ncols() / 2;
    let options = ExperimentOptions {
        seed,
        ..ExperimentOptions::default()
    };
    let split = data.split(&options, 0)?;
    let train = data.training_set(&options, &split)?;
    let normal = train.normal();
    let mut guards = Vec::with_capacity(layers);
    for n in 1..=layers {
        let features = FeatureOptions {
            extract: base.extract.with_last_layers(n),
            last_layers: Some(n),
            ..base
        };
        let names = PathFeatures::new(net, class_paths, features)?.names();
        let model = DetectorModel::fit(
            &DetectorKind::Linear.config(split.seed),
            &last_layers(&train.x, n)?,
            &train.labels,
        )?;
        let file = DetectorFile::new(
            net.fingerprint(),
            features,
            names,
            model,
            &last_layers(&normal, n)?,
            fpr,
        )?;
        guards.push(Guard::new(net, class_paths, file)?);
    }
    let count = images.len_of(Axis(0)).min(TIMED_IMAGES);
    // (forward, guard) seconds per n; each guard run right after a forward pass of the same
    // image, so that both find the machine (caches, sleeping threads) in the same state.
    let mut totals = vec![(0.0, 0.0); layers];
    for i in 0..count {
        let x = images.slice_axis(Axis(0), (i..i + 1).into()).to_owned();
        for timed in [false, true] {
            for (g, (forward, guard)) in guards.iter().zip(&mut totals) {
                let t = Instant::now();
                net.predict(&x)?;
                let f = t.elapsed().as_secs_f64();
                let t = Instant::now();
                g.check(&x)?;
                if timed {
                    *forward += f;
                    *guard += t.elapsed().as_secs_f64();
                }
            }
        }
    }
    let per_image = |s: f64| 1e3 * s / count.max(1) as f64;
    Ok(totals
        .into_iter()
        .enumerate()
        .map(|(k, (forward, guard))| GuardCost {
            layers: k + 1,
            guard_ms: per_image(guard),
            forward_ms: per_image(forward),
            images: count,
        })
        .collect())
}
