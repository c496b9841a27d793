//! Grouped bar charts: one group per category (e.g. a layer), one bar per series (e.g. the
//! neuron, synapse and weight densities).

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{CategoryAxis, FONT, Figure, drawing_error, series_color};

/// Above this many bars, values are not printed on top of them.
const MAX_LABELLED_BARS: usize = 40;

/// Bars of several series side by side per category; missing values draw no bar.
#[derive(Debug, Clone, Copy)]
pub struct GroupedBars<'a> {
    /// The categories along the x axis.
    pub categories: &'a [String],
    /// `(name, one value per category)`; the names make the legend.
    pub series: &'a [(String, Vec<Option<f64>>)],
    /// The title above the chart.
    pub title: &'a str,
    /// The x-axis description.
    pub x_desc: &'a str,
    /// The y-axis description.
    pub y_desc: &'a str,
    /// Show values (fractions) as percentages.
    pub percent: bool,
}

impl GroupedBars<'_> {
    fn format(&self, v: f64) -> String {
        if !self.percent {
            return format!("{v:.3}");
        }
        let p = 100.0 * v;
        match p.abs() {
            0.0 => "0%".to_owned(),
            a if a >= 10.0 => format!("{p:.0}%"),
            a if a >= 1.0 => format!("{p:.1}%"),
            _ => format!("{p:.2}%"),
        }
    }

    fn max_value(&self) -> f64 {
        let max = self
            .series
            .iter()
            .flat_map(|(_, v)| v.iter().flatten())
            .copied()
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        if max > 0.0 { max * 1.35 } else { 1.0 }
    }
}

impl Figure for GroupedBars<'_> {
    fn size(&self) -> (u32, u32) {
        let bars = (self.categories.len() * (self.series.len() + 1)) as u32;
        ((140 + 22 * bars).clamp(640, 2400), 480)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let n = self.categories.len();
        let xa = CategoryAxis::new(n, false);
        let top = self.max_value();
        let mut chart = ChartBuilder::on(root)
            .caption(self.title, (FONT, 22))
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(xa, 0.0..top)
            .map_err(drawing_error)?;
        let x_label = |v: &f64| {
            xa.index(*v)
                .and_then(|i| self.categories.get(i))
                .cloned()
                .unwrap_or_default()
        };
        let y_label = |v: &f64| self.format(*v);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .x_labels(n)
            .y_labels(8)
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .x_desc(self.x_desc)
            .y_desc(self.y_desc)
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 16))
            .draw()
            .map_err(drawing_error)?;
        let width = 0.8 / self.series.len().max(1) as f64;
        let label_values = n * self.series.len() <= MAX_LABELLED_BARS;
        let above = Pos::new(HPos::Center, VPos::Bottom);
        for (s, (name, values)) in self.series.iter().enumerate() {
            let color = series_color(s);
            let bars = values.iter().enumerate().filter_map(|(i, v)| {
                let v = (*v)?;
                let x0 = i as f64 + 0.1 + s as f64 * width;
                Some((x0, v))
            });
            chart
                .draw_series(
                    bars.clone().map(|(x0, v)| {
                        Rectangle::new([(x0, 0.0), (x0 + width, v)], color.filled())
                    }),
                )
                .map_err(drawing_error)?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 12, y + 6)], color.filled())
                });
            if label_values {
                chart
                    .draw_series(bars.map(|(x0, v)| {
                        let style = TextStyle::from((FONT, 11).into_font()).pos(above);
                        Text::new(self.format(v), (x0 + width / 2.0, v), style)
                    }))
                    .map_err(drawing_error)?;
            }
        }
        super::draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    }
}
