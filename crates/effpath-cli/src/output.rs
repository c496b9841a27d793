//! Shared output helpers: plain-text tables, number and shape formatting, JSON printing and
//! the one-line error report.

use std::io::{self, IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

/// Column alignment of a [`Table`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Pad on the right (text).
    Left,
    /// Pad on the left (numbers).
    Right,
}

/// A plain-text table: a header row and data rows, columns padded to their widest cell and
/// separated by two spaces.
#[derive(Debug)]
pub struct Table {
    columns: Vec<(String, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with the given column headers and alignments.
    pub fn new(columns: &[(&str, Align)]) -> Self {
        Table {
            columns: columns.iter().map(|&(h, a)| (h.to_owned(), a)).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row (missing cells are blank, extra cells are dropped).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Writes the table, each line prefixed by `indent`.
    pub fn write(&self, out: &mut impl Write, indent: &str) -> io::Result<()> {
        let n = self.columns.len();
        let cell = |row: &[String], c: usize| row.get(c).map_or("", String::as_str).to_owned();
        let mut widths: Vec<usize> = self.columns.iter().map(|(h, _)| width(h)).collect();
        for row in &self.rows {
            for (c, w) in widths.iter_mut().enumerate() {
                *w = (*w).max(width(&cell(row, c)));
            }
        }
        let header: Vec<String> = self.columns.iter().map(|(h, _)| h.clone()).collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::from(indent);
            for (c, (&w, (_, align))) in widths.iter().zip(&self.columns).enumerate() {
                let text = cell(row, c);
                let pad = " ".repeat(w - width(&text));
                match align {
                    Align::Left if c + 1 == n => line.push_str(&text),
                    Align::Left => line.extend([text, pad]),
                    Align::Right => line.extend([pad, text]),
                }
                if c + 1 < n {
                    line.push_str("  ");
                }
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

/// Display width of a cell, counting characters (the tables only hold ASCII, `×` and `%`).
fn width(s: &str) -> usize {
    s.chars().count()
}

/// `44426` → `"44,426"`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// `[1, 28, 28]` → `"1×28×28"` (`"scalar"` for an empty shape).
pub fn shape(dims: &[usize]) -> String {
    if dims.is_empty() {
        return "scalar".to_owned();
    }
    dims.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join("×")
}

/// `0.9123` → `"91.23%"`.
pub fn percent(fraction: f64) -> String {
    format!("{:.2}%", 100.0 * fraction)
}

/// Writes `value` as pretty JSON followed by a newline.
pub fn write_json(out: &mut impl Write, value: &impl Serialize) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}

/// A progress bar over `len` images on stderr; hidden with `quiet` or when stderr is not a
/// terminal.
pub fn progress_bar(len: u64, quiet: bool) -> ProgressBar {
    if quiet || !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} images [{elapsed_precise}, eta {eta}]")
    {
        bar.set_style(style);
    }
    bar
}

/// Writes `bytes` to `path` atomically (temporary file + rename).
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    effpath::data::write_atomic(path, |w| w.write_all(bytes))
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Writes `value` as pretty JSON (and a final newline) to `path` atomically.
pub fn write_json_file(path: &Path, value: &impl Serialize) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value)?;
    bytes.push(b'\n');
    write_file(path, &bytes)
}

/// A density as a percentage: two decimals from 1 % up, else three significant digits
/// (`0.000035` → `"0.00350%"`); `None` → `"-"`.
pub fn percent_or_dash(fraction: Option<f64>) -> String {
    let Some(f) = fraction else {
        return "-".to_owned();
    };
    let p = 100.0 * f;
    if p == 0.0 || !p.is_finite() {
        return format!("{p}%");
    }
    let decimals = if p.abs() >= 1.0 {
        2
    } else {
        (2 - p.abs().log10().floor() as i64).clamp(2, 10) as usize
    };
    format!("{p:.decimals$}%")
}

/// The error and its causes on one line, joined by `": "`. A cause whose text already
/// appears in the line (many errors print their source in their own message) is skipped,
/// and line breaks inside messages become spaces.
pub fn error_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    if line.is_empty() {
        line.push_str("unknown error");
    }
    line
}

/// Whether the error comes from writing to a closed pipe.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        let cases = [(0, "0"), (999, "999"), (1000, "1,000"), (44_426, "44,426")];
        for (n, want) in cases {
            assert_eq!(thousands(n), want);
        }
        assert_eq!(thousands(1_234_567_890), "1,234,567,890");
    }

    #[test]
    fn shapes_and_percent() {
        assert_eq!(shape(&[1, 28, 28]), "1×28×28");
        assert_eq!(shape(&[]), "scalar");
        assert_eq!(percent(0.5), "50.00%");
        assert_eq!(percent_or_dash(Some(0.5)), "50.00%");
        assert_eq!(percent_or_dash(Some(0.0024)), "0.240%");
        assert_eq!(percent_or_dash(Some(0.000_035)), "0.00350%");
        assert_eq!(percent_or_dash(Some(0.0)), "0%");
        assert_eq!(percent_or_dash(None), "-");
    }

    #[test]
    fn error_line_joins_and_deduplicates_causes() {
        let io = io::Error::new(io::ErrorKind::NotFound, "no such file");
        let err = anyhow::Error::new(io)
            .context("x.onnx: no such file")
            .context("cannot load\nmodel");
        assert_eq!(error_line(&err), "cannot load model: x.onnx: no such file");
        assert!(!is_broken_pipe(&err));
        let pipe = anyhow::Error::new(io::Error::from(io::ErrorKind::BrokenPipe)).context("x");
        assert!(is_broken_pipe(&pipe));
    }

    #[test]
    fn table_aligns_columns() -> io::Result<()> {
        let mut t = Table::new(&[("name", Align::Left), ("n", Align::Right)]);
        t.row(vec!["a".into(), "1,000".into()]);
        t.row(vec!["long name".into(), "7".into()]);
        let mut out = Vec::new();
        t.write(&mut out, "  ")?;
        let text = String::from_utf8_lossy(&out);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "  name           n");
        assert_eq!(lines[1], "  a          1,000");
        assert_eq!(lines[2], "  long name      7");
        Ok(())
    }
}
