//! `effpath detect`: flags adversarial inputs with a trained detector (the guard).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use effpath::ClassPaths;
use effpath::guard::{DetectorFile, Guard};
use serde::Serialize;

use crate::model::ModelArgs;
use crate::output;
use crate::pixels::PixelArgs;

/// Arguments of `effpath detect`.
#[derive(Debug, Args)]
pub struct DetectArgs {
    #[command(flatten)]
    model: ModelArgs,

    /// Class-path file of the model (from `effpath profile`)
    #[arg(long, value_name = "CP.bin")]
    classpaths: PathBuf,

    /// Trained detector (from `effpath fit-detector`)
    #[arg(long, value_name = "DET.json")]
    detector: PathBuf,

    #[command(flatten)]
    pixels: PixelArgs,

    /// Flag scores at or above this [default: the detector's threshold]
    #[arg(long)]
    threshold: Option<f64>,

    /// Print JSON instead of a table
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Line {
    /// Index of the image in its source (for an `effpath attack` archive: the dataset
    /// index of the attacked image).
    index: usize,
    predicted: usize,
    score: Option<f64>,
    flagged: bool,
}

/// Runs `effpath detect`.
pub fn run(args: &DetectArgs, out: &mut impl Write) -> Result<()> {
    let model = args.model.load()?;
    let net = &model.net;
    let cp = ClassPaths::load_for(&args.classpaths, net)
        .with_context(|| format!("cannot use class paths {}", args.classpaths.display()))?;
    let file = DetectorFile::load(&args.detector)?;
    let guard = Guard::new(net, &cp, file)?;
    let threshold = args.threshold.unwrap_or(guard.threshold());
    let pixels = args.pixels.load(net)?;
    let lines: Vec<Line> = guard
        .check(&pixels.x)?
        .into_iter()
        .enumerate()
        .map(|(k, v)| Line {
            index: pixels.index(k),
            predicted: v.predicted,
            score: v.score,
            flagged: v.score.is_none_or(|s| s >= threshold),
        })
        .collect();
    if args.json {
        return output::write_json(
            out,
            &serde_json::json!({ "threshold": threshold, "images": lines }),
        );
    }
    writeln!(
        out,
        "{:>6}  {:>9}  {:>10}  flagged",
        "index", "predicted", "score"
    )?;
    for l in &lines {
        let score = l
            .score
            .map_or("undefined".to_string(), |s| format!("{s:.6}"));
        writeln!(
            out,
            "{:>6}  {:>9}  {:>10}  {}",
            l.index,
            l.predicted,
            score,
            if l.flagged { "yes" } else { "no" }
        )?;
    }
    let flagged = lines.iter().filter(|l| l.flagged).count();
    writeln!(
        out,
        "{flagged} of {} flagged (threshold {threshold:.6})",
        lines.len()
    )?;
    Ok(())
}
