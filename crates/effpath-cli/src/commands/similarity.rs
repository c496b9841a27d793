//! `effpath similarity`: the class × class Jaccard matrix of class paths (the paper's
//! Fig. 2) as a table, a CSV file and a heat map.

use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use effpath::algebra::{ElementKind, LayerSelection};

use crate::classpaths::{self, KindArg, LayersArg};
use crate::output::{self, Align, Table};
use crate::plot::{self, Format, Heatmap};

/// Above this many classes the matrix is not printed (the CSV always has it).
const MAX_PRINTED_CLASSES: usize = 20;

/// Arguments of `effpath similarity`.
#[derive(Debug, Args)]
pub struct SimilarityArgs {
    /// A class-path file (from `effpath profile` or `effpath merge`); no model is needed
    #[arg(value_name = "CLASSPATHS")]
    class_paths: PathBuf,

    /// Which elements the Jaccard index compares
    #[arg(long, value_enum, default_value_t = KindArg::Synapse)]
    kind: KindArg,

    /// Which layers are summed over (Σ|A∩B| / Σ|A∪B|)
    #[arg(long, value_enum, default_value_t = LayersArg::All)]
    layers: LayersArg,

    /// Write the matrix as CSV (a header row and column of class ids; empty cells for
    /// classes without a path)
    #[arg(long, value_name = "OUT.csv")]
    csv: Option<PathBuf>,

    /// Write a heat map as PNG
    #[arg(long, value_name = "OUT.png")]
    png: Option<PathBuf>,

    /// Write a heat map as SVG
    #[arg(long, value_name = "OUT.svg")]
    svg: Option<PathBuf>,
}

/// The matrix as CSV text.
fn csv(matrix: &[Vec<Option<f64>>]) -> String {
    let mut text = String::from("class");
    for c in 0..matrix.len() {
        let _ = write!(text, ",{c}");
    }
    text.push('\n');
    for (r, row) in matrix.iter().enumerate() {
        let _ = write!(text, "{r}");
        for v in row {
            text.push(',');
            if let Some(v) = v {
                let _ = write!(text, "{v:.6}");
            }
        }
        text.push('\n');
    }
    text
}

/// Mean of the defined off-diagonal cells.
fn mean_off_diagonal(matrix: &[Vec<Option<f64>>]) -> Option<f64> {
    let values: Vec<f64> = matrix
        .iter()
        .enumerate()
        .flat_map(|(r, row)| {
            row.iter()
                .enumerate()
                .filter(move |&(c, _)| c != r)
                .filter_map(|(_, v)| *v)
        })
        .collect();
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Runs `effpath similarity`.
pub fn run(args: &SimilarityArgs, out: &mut impl Write) -> Result<()> {
    for (path, format) in [(&args.png, Format::Png), (&args.svg, Format::Svg)] {
        if let Some(path) = path {
            plot::check_output(path, format)?;
        }
    }
    let cp = classpaths::load(&args.class_paths)?;
    let kind = ElementKind::from(args.kind);
    let selection = LayerSelection::from(args.layers);
    let matrix = cp.jaccard_matrix(kind, selection)?;
    let layers = match args.layers {
        LayersArg::All => "all layers",
        LayersArg::Weighted => "weighted layers",
    };
    writeln!(
        out,
        "class paths: {} (model {}, {})",
        args.class_paths.display(),
        cp.fingerprint(),
        classpaths::describe_options(&cp)
    )?;
    writeln!(out, "Jaccard similarity of {kind}s, {layers}:")?;
    let n = matrix.len();
    if n <= MAX_PRINTED_CLASSES {
        let ids: Vec<String> = (0..n).map(|c| c.to_string()).collect();
        let mut columns = vec![("", Align::Right)];
        columns.extend(ids.iter().map(|h| (h.as_str(), Align::Right)));
        let mut table = Table::new(&columns);
        for (r, row) in matrix.iter().enumerate() {
            let mut cells = vec![r.to_string()];
            cells.extend(
                row.iter()
                    .map(|v| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"))),
            );
            table.row(cells);
        }
        table.write(out, "  ")?;
    } else {
        writeln!(out, "  ({n} classes: see the CSV file)")?;
    }
    let mean = mean_off_diagonal(&matrix);
    writeln!(
        out,
        "mean off-diagonal Jaccard: {}",
        mean.map_or_else(|| "-".to_owned(), |m| format!("{m:.4}"))
    )?;
    if let Some(path) = &args.csv {
        output::write_file(path, csv(&matrix).as_bytes())?;
        writeln!(out, "wrote {}", path.display())?;
    }
    let labels: Vec<String> = (0..n).map(|c| c.to_string()).collect();
    let title = format!("Class path similarity (Jaccard of {kind}s, {layers})");
    let heatmap = Heatmap {
        values: &matrix,
        row_labels: &labels,
        col_labels: &labels,
        title: &title,
        x_desc: "class",
        y_desc: "class",
        range: (0.0, 1.0),
        bar_label: "Jaccard",
    };
    for path in [&args.png, &args.svg].into_iter().flatten() {
        plot::save(&heatmap, path)?;
        writeln!(out, "wrote {}", path.display())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_mean() {
        let m = vec![vec![Some(1.0), Some(0.25)], vec![Some(0.5), None]];
        assert_eq!(csv(&m), "class,0,1\n0,1.000000,0.250000\n1,0.500000,\n");
        assert_eq!(mean_off_diagonal(&m), Some(0.375));
        assert_eq!(mean_off_diagonal(&[vec![Some(1.0)]]), None);
    }
}
