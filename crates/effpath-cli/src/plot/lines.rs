//! Line charts: ROC curves (with the chance diagonal) and distribution curves.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{FONT, Figure, drawing_error, series_color};

/// Several named polylines on shared numeric axes.
#[derive(Debug, Clone, Copy)]
pub struct Lines<'a> {
    /// `(name, points)`; the names make the legend.
    pub series: &'a [(String, Vec<(f64, f64)>)],
    /// The title above the chart.
    pub title: &'a str,
    /// The x-axis description.
    pub x_desc: &'a str,
    /// The y-axis description.
    pub y_desc: &'a str,
    /// The x range.
    pub x_range: (f64, f64),
    /// The y range.
    pub y_range: (f64, f64),
    /// Draw the dashed diagonal y = x (for ROC curves).
    pub diagonal: bool,
    /// Put the legend in the upper left corner (else lower right).
    pub legend_upper_left: bool,
}

impl Figure for Lines<'_> {
    fn size(&self) -> (u32, u32) {
        (720, 560)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let mut chart = ChartBuilder::on(root)
            .caption(self.title, (FONT, 22))
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d(
                self.x_range.0..self.x_range.1,
                self.y_range.0..self.y_range.1,
            )
            .map_err(drawing_error)?;
        chart
            .configure_mesh()
            .light_line_style(RGBColor(235, 235, 235))
            .x_desc(self.x_desc)
            .y_desc(self.y_desc)
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 16))
            .draw()
            .map_err(drawing_error)?;
        if self.diagonal {
            let (lo, hi) = (
                self.x_range.0.max(self.y_range.0),
                self.x_range.1.min(self.y_range.1),
            );
            let dashes = (0..40).map(|i| {
                let a = lo + (hi - lo) * i as f64 / 40.0;
                let b = lo + (hi - lo) * (i as f64 + 0.5) / 40.0;
                PathElement::new(vec![(a, a), (b, b)], BLACK.mix(0.4))
            });
            chart.draw_series(dashes).map_err(drawing_error)?;
        }
        for (s, (name, points)) in self.series.iter().enumerate() {
            let color = series_color(s);
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    color.stroke_width(2),
                ))
                .map_err(drawing_error)?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
        }
        let position = if self.legend_upper_left {
            SeriesLabelPosition::UpperLeft
        } else {
            SeriesLabelPosition::LowerRight
        };
        super::draw_legend(&mut chart, position)?;
        Ok(())
    }
}
