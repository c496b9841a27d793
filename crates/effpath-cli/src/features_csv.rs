//! Feature tables as CSV: one metadata comment line (model fingerprint, feature options, feature
//! names, as JSON), a header, then `index,label,predicted,runner_up,<features…>` rows with an
//! empty cell where a similarity is undefined.

use std::path::Path;

use anyhow::{Context, Result, bail};
use effpath::extract::{FeatureOptions, FeatureRow};
use effpath::ir::Fingerprint;
use effpath::ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::output;

const TAG: &str = "# effpath-features ";

/// What a feature table was computed with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureMeta {
    /// Fingerprint of the model (in the JSON: 64 hex digits).
    pub model_fingerprint: Fingerprint,
    /// Feature options (θ, partial extraction, last layers, element kind).
    pub features: FeatureOptions,
    /// Feature names.
    pub names: Vec<String>,
}

/// One row: the image index in its source, its label if known, and the features.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Index of the image in its source.
    pub index: usize,
    /// True label, when known.
    pub label: Option<usize>,
    /// The features.
    pub features: FeatureRow,
}

/// A whole feature table.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureTable {
    /// Metadata.
    pub meta: FeatureMeta,
    /// Rows.
    pub rows: Vec<Row>,
}

impl FeatureTable {
    /// Writes the table as CSV, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut s = format!("{TAG}{}\n", serde_json::to_string(&self.meta)?);
        s.push_str("index,label,predicted,runner_up");
        for n in &self.meta.names {
            s.push(',');
            s.push_str(n);
        }
        s.push('\n');
        for r in &self.rows {
            s.push_str(&format!(
                "{},{},{},{}",
                r.index,
                r.label.map_or(String::new(), |l| l.to_string()),
                r.features.predicted,
                r.features.runner_up
            ));
            for v in &r.features.values {
                s.push(',');
                if let Some(v) = v {
                    s.push_str(&format!("{v:?}"));
                }
            }
            s.push('\n');
        }
        output::write_file(path, s.as_bytes())
    }

    /// Reads a table written by [`FeatureTable::save`].
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut lines = text.lines();
        let meta: FeatureMeta = match lines.next().and_then(|l| l.strip_prefix(TAG)) {
            Some(json) => serde_json::from_str(json)
                .with_context(|| format!("{}: bad metadata line", path.display()))?,
            None => bail!(
                "{} is not an effpath feature table (no `{}` first line)",
                path.display(),
                TAG.trim()
            ),
        };
        let expected = 4 + meta.names.len();
        let _header = lines.next();
        let mut rows = Vec::new();
        for (k, line) in lines.enumerate() {
            let at = || format!("{} line {}", path.display(), k + 3);
            let cells: Vec<&str> = line.split(',').collect();
            if cells.len() != expected {
                bail!("{}: {} cells, expected {expected}", at(), cells.len());
            }
            let int = |s: &str| s.parse::<usize>().with_context(at);
            let values = cells[4..]
                .iter()
                .map(|c| {
                    if c.is_empty() {
                        Ok(None)
                    } else {
                        c.parse::<f64>().map(Some).with_context(at)
                    }
                })
                .collect::<Result<Vec<_>>>()?;
            rows.push(Row {
                index: int(cells[0])?,
                label: if cells[1].is_empty() {
                    None
                } else {
                    Some(int(cells[1])?)
                },
                features: FeatureRow {
                    predicted: int(cells[2])?,
                    runner_up: int(cells[3])?,
                    values,
                },
            });
        }
        Ok(FeatureTable { meta, rows })
    }

    /// The complete rows as a matrix, and how many were dropped for an undefined value.
    pub fn matrix(&self) -> (Array2<f64>, usize) {
        FeatureRow::complete_matrix(self.rows.iter().map(|r| &r.features), self.meta.names.len())
    }
}
