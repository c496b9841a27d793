//! A heat map of a matrix with a colour bar, cell values and missing cells (e.g. the class ×
//! class Jaccard matrix of the paper's Fig. 2).

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{CategoryAxis, FONT, Figure, drawing_error, viridis};

/// Width of the colour-bar panel, in pixels.
const COLORBAR_WIDTH: u32 = 130;
/// Colour of cells without a value.
const MISSING: RGBColor = RGBColor(215, 215, 215);

/// A matrix drawn as coloured cells: row 0 at the top, column 0 at the left.
#[derive(Debug, Clone, Copy)]
pub struct Heatmap<'a> {
    /// `values[row][col]`; `None` cells are drawn grey with a dash.
    pub values: &'a [Vec<Option<f64>>],
    /// One label per row (the y axis).
    pub row_labels: &'a [String],
    /// One label per column (the x axis).
    pub col_labels: &'a [String],
    /// The title above the map.
    pub title: &'a str,
    /// The x-axis description.
    pub x_desc: &'a str,
    /// The y-axis description.
    pub y_desc: &'a str,
    /// The values mapped to the two ends of the colour map (larger values clamp).
    pub range: (f64, f64),
    /// The caption of the colour bar.
    pub bar_label: &'a str,
}

impl Heatmap<'_> {
    fn rows(&self) -> usize {
        self.values.len().max(1)
    }

    fn cols(&self) -> usize {
        self.values.iter().map(Vec::len).max().unwrap_or(0).max(1)
    }

    /// Side of one cell in pixels.
    fn cell(&self) -> u32 {
        (640 / self.rows().max(self.cols()) as u32).clamp(4, 64)
    }

    /// `range` with a non-empty, finite span.
    fn span(&self) -> (f64, f64) {
        let (lo, hi) = self.range;
        let lo = if lo.is_finite() { lo } else { 0.0 };
        let hi = if hi.is_finite() && hi > lo {
            hi
        } else {
            lo + 1.0
        };
        (lo, hi)
    }

    fn label(labels: &[String], axis: CategoryAxis, v: f64) -> &str {
        axis.index(v)
            .and_then(|i| labels.get(i))
            .map_or("", String::as_str)
    }

    fn draw_map<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let (rows, cols) = (self.rows(), self.cols());
        let (xa, ya) = (
            CategoryAxis::new(cols, false),
            CategoryAxis::new(rows, true),
        );
        let mut chart = ChartBuilder::on(area)
            .caption(self.title, (FONT, 22))
            .margin(15)
            .x_label_area_size(55)
            .y_label_area_size(70)
            .build_cartesian_2d(xa, ya)
            .map_err(drawing_error)?;
        let x_label = |v: &f64| Self::label(self.col_labels, xa, *v).to_owned();
        let y_label = |v: &f64| Self::label(self.row_labels, ya, *v).to_owned();
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(cols)
            .y_labels(rows)
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .x_desc(self.x_desc)
            .y_desc(self.y_desc)
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 16))
            .draw()
            .map_err(drawing_error)?;
        let (lo, hi) = self.span();
        let t = |v: f64| (v - lo) / (hi - lo);
        let cells = self.values.iter().enumerate().flat_map(|(r, row)| {
            row.iter()
                .enumerate()
                .map(move |(c, v)| (r as f64, c as f64, *v))
        });
        chart
            .draw_series(cells.clone().map(|(r, c, v)| {
                let color = v.map_or(MISSING, |v| viridis(t(v)));
                Rectangle::new([(c, r), (c + 1.0, r + 1.0)], color.filled())
            }))
            .map_err(drawing_error)?;
        let cell = self.cell();
        if cell >= 30 {
            let size = f64::from(cell / 4).clamp(9.0, 14.0);
            let centred = Pos::new(HPos::Center, VPos::Center);
            chart
                .draw_series(cells.map(|(r, c, v)| {
                    let (text, color): (String, &'static RGBColor) = match v {
                        Some(v) if t(v) < 0.6 => (format!("{v:.2}"), &WHITE),
                        Some(v) => (format!("{v:.2}"), &BLACK),
                        None => ("–".to_owned(), &BLACK),
                    };
                    let style = TextStyle::from((FONT, size).into_font())
                        .color(color)
                        .pos(centred);
                    Text::new(text, (c + 0.5, r + 0.5), style)
                }))
                .map_err(drawing_error)?;
        }
        Ok(())
    }

    fn draw_colorbar<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let (lo, hi) = self.span();
        let mut bar = ChartBuilder::on(area)
            .caption(self.bar_label, (FONT, 15))
            .set_label_area_size(LabelAreaPosition::Top, 12)
            .margin_top(20)
            .margin_bottom(62)
            .margin_left(10)
            .margin_right(10)
            .right_y_label_area_size(50)
            .build_cartesian_2d(0f64..1f64, lo..hi)
            .map_err(drawing_error)?;
        bar.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_labels(6)
            .y_label_formatter(&|v| format!("{v:.2}"))
            .label_style((FONT, 13))
            .draw()
            .map_err(drawing_error)?;
        const STEPS: usize = 128;
        let step = (hi - lo) / STEPS as f64;
        bar.draw_series((0..STEPS).map(|i| {
            let y = lo + i as f64 * step;
            let color = viridis((i as f64 + 0.5) / STEPS as f64);
            Rectangle::new([(0.0, y), (1.0, y + step)], color.filled())
        }))
        .map_err(drawing_error)?;
        Ok(())
    }
}

impl Figure for Heatmap<'_> {
    fn size(&self) -> (u32, u32) {
        let cell = self.cell();
        let w = cell * self.cols() as u32 + 120 + COLORBAR_WIDTH;
        let h = cell * self.rows() as u32 + 140;
        (w.max(480), h.max(360))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (w, _) = self.size();
        let (map, bar) = root.split_horizontally(w - COLORBAR_WIDTH);
        self.draw_map(&map)?;
        self.draw_colorbar(&bar)
    }
}
