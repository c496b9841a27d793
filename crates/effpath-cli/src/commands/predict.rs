//! `effpath predict`: classify one input and print the top-5 classes.

use std::io::Write;

use anyhow::Result;
use clap::Args;
use serde::Serialize;

use crate::data::SampleArgs;
use crate::model::ModelArgs;
use crate::output::{self, Align, Table};

/// How many classes are reported.
const TOP: usize = 5;

/// Arguments of `effpath predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    #[command(flatten)]
    model: ModelArgs,

    #[command(flatten)]
    sample: SampleArgs,

    /// Print `{"logits": [...], "top5": [{"class": c, "logit": v}, ...]}` instead of a table
    #[arg(long)]
    json: bool,
}

/// One entry of the top-5 list.
#[derive(Debug, Serialize)]
struct Ranked {
    class: usize,
    logit: f32,
}

/// The `--json` output.
#[derive(Debug, Serialize)]
struct Prediction {
    logits: Vec<f32>,
    top5: Vec<Ranked>,
}

/// Runs `effpath predict`.
pub fn run(args: &PredictArgs, out: &mut impl Write) -> Result<()> {
    let model = args.model.load()?;
    let sample = args.sample.load(&model.net)?;
    let logits = model.net.predict(&sample.x)?;
    let logits: Vec<f32> = logits.iter().copied().collect();
    let mut order: Vec<usize> = (0..logits.len()).collect();
    // Descending by logit; ties (and NaNs, last) in class order.
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
    let top5 = order
        .iter()
        .take(TOP)
        .map(|&class| Ranked {
            class,
            logit: logits[class],
        })
        .collect();
    let prediction = Prediction { logits, top5 };
    if args.json {
        return output::write_json(out, &prediction);
    }
    writeln!(out, "model: {}", model.name)?;
    writeln!(out, "input: {}", sample.description)?;
    let probs = softmax(&prediction.logits);
    let mut table = Table::new(&[
        ("rank", Align::Right),
        ("class", Align::Right),
        ("logit", Align::Right),
        ("softmax", Align::Right),
    ]);
    for (rank, r) in prediction.top5.iter().enumerate() {
        table.row(vec![
            (rank + 1).to_string(),
            r.class.to_string(),
            format!("{:.4}", r.logit),
            output::percent(probs[r.class]),
        ]);
    }
    table.write(out, "  ")?;
    Ok(())
}

/// Softmax in `f64`, shifted by the maximum for stability.
fn softmax(logits: &[f32]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let exp: Vec<f64> = logits.iter().map(|&l| (l as f64 - max).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.iter().map(|e| e / sum).collect()
}
