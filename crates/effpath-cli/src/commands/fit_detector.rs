//! `effpath fit-detector`: trains a detector on feature tables of normal and adversarial
//! examples and saves it with its decision threshold.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use effpath::DetectorKind;
use effpath::detect::{Detector, DetectorModel, roc_auc};
use effpath::guard::DetectorFile;
use effpath::ndarray::{Axis, concatenate};

use crate::features_csv::FeatureTable;

/// Arguments of `effpath fit-detector`.
#[derive(Debug, Args)]
pub struct FitDetectorArgs {
    /// Feature table of normal examples (from `effpath features`)
    #[arg(long, value_name = "F0.csv")]
    normal: PathBuf,

    /// Feature tables of adversarial examples (one or more)
    #[arg(long, value_name = "F1.csv", required = true, num_args = 1..)]
    adversarial: Vec<PathBuf>,

    /// Detector model
    #[arg(long, default_value = "random-forest")]
    model: DetectorKind,

    /// Seed of the detector's random choices
    #[arg(long, default_value_t = 0)]
    seed: u64,

    /// False-positive rate on the normal training rows that sets the decision threshold
    #[arg(long, default_value_t = 0.05)]
    fpr: f64,

    /// Where to write the detector (JSON)
    #[arg(long, value_name = "DET.json")]
    out: PathBuf,
}

/// Runs `effpath fit-detector`.
pub fn run(args: &FitDetectorArgs, out: &mut impl Write) -> Result<()> {
    if !(0.0..1.0).contains(&args.fpr) {
        bail!("--fpr {} must be in [0, 1)", args.fpr);
    }
    let normal = FeatureTable::load(&args.normal)?;
    let mut adv = Vec::new();
    for path in &args.adversarial {
        let t = FeatureTable::load(path)?;
        if t.meta != normal.meta {
            bail!(
                "{} was computed with another model or other feature options than {}",
                path.display(),
                args.normal.display()
            );
        }
        adv.push(t);
    }
    let (x0, dropped0) = normal.matrix();
    let mut parts = vec![x0.clone()];
    let mut dropped = dropped0;
    for t in &adv {
        let (m, d) = t.matrix();
        dropped += d;
        parts.push(m);
    }
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    let x = concatenate(Axis(0), &views)?;
    let n0 = x0.nrows();
    let y: Vec<bool> = (0..x.nrows()).map(|i| i >= n0).collect();
    let model = DetectorModel::fit(&args.model.config(args.seed), &x, &y)?;
    let train_auc = roc_auc(&model.score(&x)?, &y)?;
    let file = DetectorFile::new(
        normal.meta.model_fingerprint,
        normal.meta.features,
        normal.meta.names.clone(),
        model,
        &x0,
        args.fpr,
    )?;
    file.save(&args.out)?;
    writeln!(
        out,
        "trained {} on {} normal + {} adversarial rows ({dropped} dropped: undefined similarity); training AUC {:.4}; threshold {:.6} (FPR {:.0}% on normal training rows)",
        args.model,
        n0,
        x.nrows() - n0,
        train_auc,
        file.threshold,
        100.0 * args.fpr
    )?;
    writeln!(out, "wrote {}", args.out.display())?;
    Ok(())
}
