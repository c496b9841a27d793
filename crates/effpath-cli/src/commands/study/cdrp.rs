//! The CDRP baseline (Wang et al., CVPR 2018; the paper's Figs. 8/17–19 and Table 1): gate
//! vectors of the normal and adversarial images of the detection section as detector
//! features, the training-size and generalisation curves of effective paths and CDRP with the
//! same detector, and the time per image of CDRP, full and partial extraction on the same
//! images.

use std::time::Instant;

use anyhow::Result;
use effpath::detect::{ExperimentData, ExperimentOptions, run_experiment};
use effpath::extract::cdrp::{Cdrp, CdrpOptions};
use effpath::ndarray::{Array4, ArrayD, Axis};
use effpath::{DetectorKind, Extractor, Network};
use serde::Serialize;

use effpath::data::Normalization;

/// The detector of the two curves (it takes any features; the linear detector needs
/// rank-1/rank-2 similarity pairs).
pub const CURVE_DETECTOR: DetectorKind = DetectorKind::RandomForest;

/// Training fractions of the training-size curve (Fig. 18).
pub const FRACTIONS: [f64; 5] = [0.1, 0.2, 0.3, 0.4, 0.5];

/// Images timed per method (the first normal ones), each once untimed first.
pub const TIMED_IMAGES: usize = 20;

/// Weighted layers of the partial extraction that is timed.
pub const PARTIAL_LAYERS: usize = 3;

/// The gate vectors of a set of images, with what the optimisation reached on them.
pub struct GateSet {
    /// One row per image.
    pub rows: effpath::ndarray::Array2<f64>,
    /// Images whose prediction the final gates keep.
    pub kept: usize,
    /// Mean fraction of open (non-zero) gates.
    pub open: f64,
}

/// Gate vectors of `pixels` (in [0, 1], normalised here for the model).
pub fn gate_set(cdrp: &Cdrp, pixels: &Array4<f32>, norm: Normalization) -> Result<GateSet> {
    let mut x = pixels.clone();
    norm.apply(&mut x);
    let gates = cdrp.gates_batch(&x.into_dyn())?;
    let open: f64 = gates
        .iter()
        .map(|g| g.values.iter().filter(|&&v| v > 0.0).count() as f64 / cdrp.width() as f64)
        .sum();
    Ok(GateSet {
        rows: cdrp.matrix(&gates),
        kept: gates.iter().filter(|g| g.kept).count(),
        open: open / gates.len().max(1) as f64,
    })
}

/// One method's curve: mean AUC over attacks per setting, and per attack.
#[derive(Debug, Clone, Serialize)]
pub struct Curve {
    /// `effective path` or `CDRP`.
    pub method: &'static str,
    /// Mean AUC over the attacks, per setting.
    pub mean: Vec<f64>,
    /// Per attack: its AUC per setting.
    pub per_attack: Vec<(String, Vec<f64>)>,
}

/// Time per image of each method on the same images.
#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    /// Images timed.
    pub images: usize,
    /// The forward pass alone.
    pub forward: f64,
    /// CDRP's gate optimisation.
    pub cdrp: f64,
    /// Full effective-path extraction (its forward pass included).
    pub full: f64,
    /// Extraction of the last [`PARTIAL_LAYERS`] weighted layers (forward included).
    pub partial: f64,
    /// The number of weighted layers of the partial extraction.
    pub partial_layers: usize,
}

/// The CDRP section's numbers.
#[derive(Debug, Clone, Serialize)]
pub struct CdrpSection {
    /// The gate optimisation's hyper-parameters.
    pub options: CdrpOptions,
    /// Gates per image.
    pub gates: usize,
    /// Normal images and how many of them the final gates keep the prediction of.
    pub normal_kept: (usize, usize),
    /// Mean fraction of gates left open on the normal images.
    pub normal_open: f64,
    /// Fractions of the training-size curve.
    pub fractions: Vec<f64>,
    /// Training-size curves (Fig. 18): effective path, then CDRP.
    pub training_size: Vec<Curve>,
    /// Attack names in the order the generalisation curve adds them to training.
    pub attacks: Vec<String>,
    /// Generalisation curves (Fig. 19): detector trained on the first `k` attacks.
    pub generalisation: Vec<Curve>,
    /// Table 1.
    pub timing: Timing,
}

/// The curves for one method's data.
fn curves(
    method: &'static str,
    data: &ExperimentData,
    repetitions: usize,
    seed: u64,
) -> Result<(Curve, Curve)> {
    let names: Vec<String> = data.attacks.iter().map(|(n, _)| n.clone()).collect();
    let auc = |train_fraction: f64, train_attacks: Option<Vec<String>>| -> Result<Vec<f64>> {
        let opts = ExperimentOptions {
            detector: CURVE_DETECTOR,
            repetitions,
            seed,
            train_fraction,
            train_attacks,
            ..ExperimentOptions::default()
        };
        Ok(run_experiment(data, &opts)?.mean_auc())
    };
    let curve = |rows: Vec<Vec<f64>>| Curve {
        method,
        mean: rows
            .iter()
            .map(|r| r.iter().sum::<f64>() / r.len().max(1) as f64)
            .collect(),
        per_attack: names
            .iter()
            .enumerate()
            .map(|(k, n)| (n.clone(), rows.iter().map(|r| r[k]).collect()))
            .collect(),
    };
    let size = FRACTIONS
        .iter()
        .map(|&f| auc(f, None))
        .collect::<Result<Vec<_>>>()?;
    let general = (1..=names.len())
        .map(|k| auc(0.1, Some(names[..k].to_vec())))
        .collect::<Result<Vec<_>>>()?;
    Ok((curve(size), curve(general)))
}

/// Mean seconds per image of `run` over the first [`TIMED_IMAGES`] of `x`, each run once
/// untimed first.
fn per_image(x: &ArrayD<f32>, mut run: impl FnMut(&ArrayD<f32>) -> Result<()>) -> Result<f64> {
    let n = x.len_of(Axis(0)).min(TIMED_IMAGES);
    let mut total = 0.0;
    for k in 0..n {
        let one = x.index_axis(Axis(0), k).to_owned();
        run(&one)?;
        let t = Instant::now();
        run(&one)?;
        total += t.elapsed().as_secs_f64();
    }
    Ok(total / n.max(1) as f64)
}

/// Times CDRP, full and partial extraction and the forward pass on the same images.
fn timing(
    net: &Network,
    cdrp: &Cdrp,
    extract: effpath::ExtractOptions,
    x: &ArrayD<f32>,
) -> Result<Timing> {
    let full = Extractor::new(net, extract)?;
    let layers = PARTIAL_LAYERS.min(net.weighted_nodes().len());
    let partial = Extractor::new(net, extract.with_last_layers(layers))?;
    Ok(Timing {
        images: x.len_of(Axis(0)).min(TIMED_IMAGES),
        forward: per_image(x, |i| Ok(net.predict(i).map(drop)?))?,
        cdrp: per_image(x, |i| Ok(cdrp.gates(i).map(drop)?))?,
        full: per_image(x, |i| Ok(full.extract(i).map(drop)?))?,
        partial: per_image(x, |i| Ok(partial.extract(i).map(drop)?))?,
        partial_layers: layers,
    })
}

/// What [`section`] works on.
pub struct SectionInputs<'a> {
    /// The network.
    pub net: &'a Network,
    /// The gates.
    pub cdrp: &'a Cdrp,
    /// The options of the effective paths.
    pub extract: effpath::ExtractOptions,
    /// The synapse features of the detection section.
    pub paths: &'a ExperimentData,
    /// The gate vectors of the same images.
    pub gates: &'a ExperimentData,
    /// How the normal images' gates came out.
    pub normal: &'a GateSet,
    /// The normal images, normalised for the model.
    pub normal_x: &'a ArrayD<f32>,
}

/// Curves and timing of the CDRP section.
pub fn section(i: &SectionInputs<'_>, repetitions: usize, seed: u64) -> Result<CdrpSection> {
    let (ep_size, ep_general) = curves("effective path", i.paths, repetitions, seed)?;
    let (cdrp_size, cdrp_general) = curves("CDRP", i.gates, repetitions, seed)?;
    Ok(CdrpSection {
        options: *i.cdrp.options(),
        gates: i.cdrp.width(),
        normal_kept: (i.normal.rows.nrows(), i.normal.kept),
        normal_open: i.normal.open,
        fractions: FRACTIONS.to_vec(),
        training_size: vec![ep_size, cdrp_size],
        attacks: i.paths.attacks.iter().map(|(n, _)| n.clone()).collect(),
        generalisation: vec![ep_general, cdrp_general],
        timing: timing(i.net, i.cdrp, i.extract, i.normal_x)?,
    })
}
