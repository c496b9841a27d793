//! Scatter plots: named point sets in one plane (a t-SNE embedding coloured by attack).

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{FONT, Figure, drawing_error, series_color};

/// Several named point sets on shared axes, whose ranges cover every point.
#[derive(Debug, Clone, Copy)]
pub struct Scatter<'a> {
    /// `(name, points)`; the names make the legend.
    pub series: &'a [(String, Vec<(f64, f64)>)],
    /// The title above the chart.
    pub title: &'a str,
}

impl Scatter<'_> {
    fn range(&self, pick: impl Fn(&(f64, f64)) -> f64) -> (f64, f64) {
        let (lo, hi) = self
            .series
            .iter()
            .flat_map(|(_, p)| p.iter().map(&pick))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
        if lo.is_finite() && hi > lo {
            let pad = 0.05 * (hi - lo);
            (lo - pad, hi + pad)
        } else {
            (-1.0, 1.0)
        }
    }
}

impl Figure for Scatter<'_> {
    fn size(&self) -> (u32, u32) {
        (760, 640)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (x, y) = (self.range(|p| p.0), self.range(|p| p.1));
        let mut chart = ChartBuilder::on(root)
            .caption(self.title, (FONT, 22))
            .margin(15)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d(x.0..x.1, y.0..y.1)
            .map_err(drawing_error)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .label_style((FONT, 12))
            .draw()
            .map_err(drawing_error)?;
        for (s, (name, points)) in self.series.iter().enumerate() {
            let color = series_color(s);
            chart
                .draw_series(
                    points
                        .iter()
                        .map(|&p| Circle::new(p, 3, color.mix(0.75).filled())),
                )
                .map_err(drawing_error)?
                .label(name.as_str())
                .legend(move |(x, y)| Circle::new((x + 8, y), 4, color.filled()));
        }
        super::draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    }
}
