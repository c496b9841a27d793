//! Figures as PNG or SVG files, drawn with plotters and the embedded DejaVu Sans font.
//!
//! Every figure is a plain-data struct implementing [`Figure`] (a heat map, grouped bars;
//! later ROC curves) and is written with [`save`], which picks PNG or SVG by the file
//! extension and writes the file atomically. PNGs are rendered into memory and encoded by
//! [`png`]; no system library is used.

pub mod bars;
pub mod heatmap;
pub mod lines;
pub mod png;
pub mod scatter;

use std::ops::Range;
use std::path::Path;
use std::sync::OnceLock;

use anyhow::{Result, anyhow, bail};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::prelude::*;
use plotters::style::FontStyle;

pub use bars::GroupedBars;
pub use heatmap::Heatmap;
pub use lines::Lines;

/// The font every figure uses, registered with plotters as `sans-serif`.
pub const FONT: &str = "sans-serif";

/// DejaVu Sans (Bitstream Vera licence, see `assets/README.md`).
static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// Registers the embedded font once; later calls return the first outcome.
fn register_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, DEJAVU_SANS).is_ok()
    });
    if ok {
        Ok(())
    } else {
        bail!("the embedded font could not be loaded")
    }
}

/// A figure that can be drawn on any plotters backend.
pub trait Figure {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);

    /// Draws the figure on a white `root`.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>;
}

/// The file formats [`save`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Portable Network Graphics (RGB, 8 bits per channel).
    Png,
    /// Scalable Vector Graphics (text as `<text>` elements in `sans-serif`).
    Svg,
}

impl Format {
    /// The format named by a path's extension (`.png` or `.svg`, any case).
    pub fn of(path: &Path) -> Result<Format> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("png") => Ok(Format::Png),
            Some("svg") => Ok(Format::Svg),
            _ => bail!(
                "cannot tell the image format of {}: use a .png or .svg file name",
                path.display()
            ),
        }
    }
}

/// Checks, before any work, that the file given to a `--png` or `--svg` option has the
/// matching extension.
pub fn check_output(path: &Path, format: Format) -> Result<()> {
    let (flag, ext) = match format {
        Format::Png => ("--png", "png"),
        Format::Svg => ("--svg", "svg"),
    };
    if Format::of(path).ok() != Some(format) {
        bail!(
            "{flag} needs a file name ending in .{ext}, got {}",
            path.display()
        );
    }
    Ok(())
}

/// Turns a plotters error (not always `'static`) into an [`anyhow::Error`].
pub fn drawing_error(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("drawing failed: {e}")
}

/// Draws the legend of `chart`'s labelled series at `position`, in the style of every figure.
pub fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(position)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.85))
        .label_font((FONT, 14))
        .draw()
        .map_err(drawing_error)
}

/// Draws `figure` and writes it to `path` as PNG or SVG (by extension), atomically.
pub fn save(figure: &impl Figure, path: &Path) -> Result<()> {
    let format = Format::of(path)?;
    register_font()?;
    let (w, h) = figure.size();
    let bytes = match format {
        Format::Png => {
            let mut rgb = vec![0u8; w as usize * h as usize * 3];
            {
                let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
                root.fill(&WHITE).map_err(drawing_error)?;
                figure.draw(&root)?;
                root.present().map_err(drawing_error)?;
            }
            png::encode_rgb(w, h, &rgb)?
        }
        Format::Svg => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
                root.fill(&WHITE).map_err(drawing_error)?;
                figure.draw(&root)?;
                root.present().map_err(drawing_error)?;
            }
            svg.into_bytes()
        }
    };
    crate::output::write_file(path, &bytes)
}

/// An axis of `n` equal categories over `[0, n]`: category `i` spans `[i, i + 1]` and its key
/// point (tick and label) is its centre `i + 0.5`. `reversed` puts category 0 at the far end
/// (top of a y axis). Labels come from a label formatter (`x_label_formatter`).
#[derive(Debug, Clone, Copy)]
pub struct CategoryAxis {
    n: usize,
    reversed: bool,
}

impl CategoryAxis {
    /// `n` categories (at least one is assumed for drawing).
    pub fn new(n: usize, reversed: bool) -> Self {
        CategoryAxis {
            n: n.max(1),
            reversed,
        }
    }

    /// The category whose key point is `value`, if any.
    pub fn index(&self, value: f64) -> Option<usize> {
        (value >= 0.0 && value < self.n as f64).then_some(value as usize)
    }
}

impl Ranged for CategoryAxis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let mut t = value / self.n as f64;
        if self.reversed {
            t = 1.0 - t;
        }
        limit.0 + (t * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        let max = hint.max_num_points().max(1);
        let step = self.n.div_ceil(max);
        (0..self.n).step_by(step).map(|i| i as f64 + 0.5).collect()
    }

    fn range(&self) -> Range<f64> {
        0.0..self.n as f64
    }
}

/// Without a label formatter, a category is labelled by its index.
impl ValueFormatter<f64> for CategoryAxis {
    fn format(value: &f64) -> String {
        format!("{}", value.floor())
    }

    fn format_ext(&self, value: &f64) -> String {
        self.index(*value)
            .map(|i| i.to_string())
            .unwrap_or_default()
    }
}

/// A colour of the viridis map for `t` in `[0, 1]` (clamped), by linear interpolation
/// between five anchors of the original map.
pub fn viridis(t: f64) -> RGBColor {
    const ANCHORS: [(u8, u8, u8); 5] = [
        (68, 1, 84),
        (59, 82, 139),
        (33, 145, 140),
        (94, 201, 98),
        (253, 231, 37),
    ];
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let x = t * (ANCHORS.len() - 1) as f64;
    let i = (x.floor() as usize).min(ANCHORS.len() - 2);
    let f = x - i as f64;
    let (a, b) = (ANCHORS[i], ANCHORS[i + 1]);
    let mix = |p: u8, q: u8| (f64::from(p) + f * (f64::from(q) - f64::from(p))).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Several distinguishable colours for series (cycled).
pub fn series_color(i: usize) -> RGBColor {
    const COLORS: [RGBColor; 10] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
        RGBColor(188, 189, 34),
        RGBColor(23, 190, 207),
    ];
    COLORS[i % COLORS.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_extension() {
        assert_eq!(Format::of(Path::new("a/b.PNG")).ok(), Some(Format::Png));
        assert_eq!(Format::of(Path::new("b.svg")).ok(), Some(Format::Svg));
        assert!(Format::of(Path::new("b.pdf")).is_err());
        assert!(Format::of(Path::new("png")).is_err());
    }

    #[test]
    fn category_axis_maps_centres() {
        let a = CategoryAxis::new(4, false);
        assert_eq!(a.map(&0.0, (0, 400)), 0);
        assert_eq!(a.map(&2.5, (0, 400)), 250);
        assert_eq!(CategoryAxis::new(4, true).map(&0.0, (0, 400)), 400);
        assert_eq!(a.key_points(10usize), vec![0.5, 1.5, 2.5, 3.5]);
        assert_eq!(a.key_points(2usize), vec![0.5, 2.5]);
        assert_eq!(a.index(3.5), Some(3));
        assert_eq!(a.index(4.5), None);
    }

    #[test]
    fn viridis_ends_and_clamps() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        assert_eq!(viridis(7.0), viridis(1.0));
        assert_eq!(viridis(f64::NAN), viridis(0.0));
    }
}
