//! `effpath eval`: accuracy, per-class accuracy and the confusion matrix on labelled images.

use std::io::Write;

use anyhow::{Result, bail};
use clap::Args;
use effpath::Network;
use effpath::data::LabeledImages;
use serde::Serialize;

use crate::data::{LabeledArgs, check_fit, check_image_shape};
use crate::model::ModelArgs;
use crate::output::{self, Align, Table};

/// Above this many classes the text output omits the confusion matrix and the per-class rows
/// of classes without images (`--json` always has everything).
const MAX_TABLE_CLASSES: usize = 20;

/// Arguments of `effpath eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    #[command(flatten)]
    model: ModelArgs,

    #[command(flatten)]
    data: LabeledArgs,

    /// Images per forward pass
    #[arg(long, value_name = "N", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    batch_size: u32,

    /// Evaluate only the first N images
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    limit: Option<u64>,

    /// Print `{"accuracy", "n", "per_class", "confusion"}` as JSON instead of tables
    #[arg(long)]
    json: bool,

    /// No progress bar (it is also hidden when stderr is not a terminal)
    #[arg(long, short)]
    quiet: bool,
}

/// The `--json` output.
#[derive(Debug, Serialize)]
struct Summary {
    /// Fraction of correctly classified images, in `[0, 1]`.
    accuracy: f64,
    /// Number of images evaluated.
    n: usize,
    /// Accuracy per true class (`null` for a class without images).
    per_class: Vec<Option<f64>>,
    /// `confusion[true][predicted]` counts.
    confusion: Vec<Vec<u64>>,
}

/// Runs `effpath eval`.
pub fn run(args: &EvalArgs, out: &mut impl Write) -> Result<()> {
    let model = args.model.load()?;
    let (data, source) = args.data.load()?;
    let net = &model.net;
    check_image_shape(net, data.rows(), data.cols())?;
    let n = args.limit.map_or(data.len(), |l| {
        data.len().min(usize::try_from(l).unwrap_or(usize::MAX))
    });
    if n == 0 {
        bail!("{source} holds no images");
    }
    check_fit(net, &data, n)?;
    let confusion = confusion(net, &data, n, args)?;
    let summary = summarize(confusion, n);
    if args.json {
        return output::write_json(out, &summary);
    }
    write_text(&summary, &model.name, &source, out)?;
    Ok(())
}

/// Classifies the first `n` images in batches; returns `confusion[true][predicted]`.
fn confusion(
    net: &Network,
    data: &LabeledImages,
    n: usize,
    args: &EvalArgs,
) -> Result<Vec<Vec<u64>>> {
    let classes = net.num_classes();
    let mut confusion = vec![vec![0u64; classes]; classes];
    let bar = output::progress_bar(n as u64, args.quiet);
    let batch = args.batch_size as usize;
    for start in (0..n).step_by(batch) {
        let end = (start + batch).min(n);
        let x = data
            .to_tensor(start..end, args.data.normalization(net))?
            .into_dyn();
        let logits = net.predict(&x)?;
        for (row, &label) in logits.outer_iter().zip(&data.labels()[start..end]) {
            let predicted = effpath::ir::argmax(row.iter().copied());
            confusion[label][predicted] += 1;
        }
        bar.inc((end - start) as u64);
    }
    bar.finish_and_clear();
    Ok(confusion)
}

fn summarize(confusion: Vec<Vec<u64>>, n: usize) -> Summary {
    let correct: u64 = (0..confusion.len()).map(|c| confusion[c][c]).sum();
    let per_class = confusion
        .iter()
        .enumerate()
        .map(|(c, row)| {
            let total: u64 = row.iter().sum();
            (total > 0).then(|| row[c] as f64 / total as f64)
        })
        .collect();
    Summary {
        accuracy: correct as f64 / n as f64,
        n,
        per_class,
        confusion,
    }
}

fn write_text(s: &Summary, model: &str, source: &str, out: &mut impl Write) -> Result<()> {
    let correct: u64 = (0..s.confusion.len()).map(|c| s.confusion[c][c]).sum();
    writeln!(out, "model: {model}")?;
    writeln!(out, "data: {source}, {} images", s.n)?;
    writeln!(
        out,
        "accuracy: {} ({correct}/{})",
        output::percent(s.accuracy),
        s.n
    )?;
    writeln!(out, "\nper-class accuracy:")?;
    let mut table = Table::new(&[
        ("class", Align::Right),
        ("images", Align::Right),
        ("correct", Align::Right),
        ("accuracy", Align::Right),
    ]);
    let small = s.confusion.len() <= MAX_TABLE_CLASSES;
    for (c, row) in s.confusion.iter().enumerate() {
        if !small && s.per_class[c].is_none() {
            continue;
        }
        table.row(vec![
            c.to_string(),
            row.iter().sum::<u64>().to_string(),
            row[c].to_string(),
            s.per_class[c].map_or_else(|| "-".to_owned(), output::percent),
        ]);
    }
    table.write(out, "  ")?;
    if !small {
        writeln!(
            out,
            "\n(confusion matrix of {} classes omitted; see --json)",
            s.confusion.len()
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "\nconfusion matrix (rows: true class, columns: predicted class):"
    )?;
    let headers: Vec<String> = (0..s.confusion.len()).map(|c| c.to_string()).collect();
    let mut columns = vec![("", Align::Right)];
    columns.extend(headers.iter().map(|h| (h.as_str(), Align::Right)));
    let mut table = Table::new(&columns);
    for (c, row) in s.confusion.iter().enumerate() {
        let mut cells = vec![c.to_string()];
        cells.extend(row.iter().map(u64::to_string));
        table.row(cells);
    }
    table.write(out, "  ")?;
    Ok(())
}
