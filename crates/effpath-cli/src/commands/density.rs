//! `effpath density`: per-layer neuron, synapse and weight densities of the overall path
//! and of every class path, with size-weighted totals, and a bar chart.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use effpath::algebra::{ElementKind, LayerSelection};
use effpath::{ClassPaths, Path};
use serde::Serialize;

use crate::classpaths::{self, op_name};
use crate::output::{self, Align, Table};
use crate::plot::{self, Format, GroupedBars};

/// Arguments of `effpath density`.
#[derive(Debug, Args)]
pub struct DensityArgs {
    /// A class-path file (from `effpath profile` or `effpath merge`); no model is needed
    #[arg(value_name = "CLASSPATHS")]
    class_paths: PathBuf,

    /// Print everything as JSON instead of a table
    #[arg(long)]
    json: bool,

    /// Write a bar chart of the overall path's densities per layer as PNG
    #[arg(long, value_name = "OUT.png")]
    png: Option<PathBuf>,

    /// Write the same bar chart as SVG
    #[arg(long, value_name = "OUT.svg")]
    svg: Option<PathBuf>,
}

/// Densities of the three element kinds (`null` for an empty space).
#[derive(Debug, Serialize)]
struct Densities {
    neuron: Option<f64>,
    synapse: Option<f64>,
    weight: Option<f64>,
}

impl Densities {
    fn of(f: impl Fn(ElementKind) -> Option<f64>) -> Self {
        Densities {
            neuron: f(ElementKind::Neuron),
            synapse: f(ElementKind::Synapse),
            weight: f(ElementKind::Weight),
        }
    }

    fn cells(&self) -> [String; 3] {
        [self.neuron, self.synapse, self.weight].map(output::percent_or_dash)
    }
}

/// The densities of one path.
#[derive(Debug, Serialize)]
struct PathDensity {
    /// Per traced layer, in forward order.
    layers: Vec<Densities>,
    /// Σ kept / Σ all over every traced layer.
    total_all: Densities,
    /// Σ kept / Σ all over the conv and dense layers.
    total_weighted: Densities,
}

impl PathDensity {
    fn of(path: &Path) -> Self {
        PathDensity {
            layers: path
                .layers()
                .iter()
                .map(|l| Densities::of(|k| l.density(k)))
                .collect(),
            total_all: Densities::of(|k| path.density(k, LayerSelection::All)),
            total_weighted: Densities::of(|k| path.density(k, LayerSelection::Weighted)),
        }
    }
}

/// One traced layer's spaces.
#[derive(Debug, Serialize)]
struct LayerInfo {
    name: String,
    op: &'static str,
    neuron_space: usize,
    synapse_space: usize,
    weight_space: usize,
}

/// A class path's densities.
#[derive(Debug, Serialize)]
struct ClassDensity {
    class: usize,
    images: usize,
    #[serde(flatten)]
    density: PathDensity,
}

/// The whole report, also the `--json` output.
#[derive(Debug, Serialize)]
struct Report {
    model_fingerprint: String,
    theta: f64,
    last_layers: Option<usize>,
    images_per_class: Vec<usize>,
    layers: Vec<LayerInfo>,
    overall: PathDensity,
    /// Only classes that have a path.
    per_class: Vec<ClassDensity>,
}

fn report(cp: &ClassPaths) -> Report {
    let layers = cp
        .space()
        .layers()
        .iter()
        .map(|l| LayerInfo {
            name: l.name().to_owned(),
            op: op_name(l.kind()),
            neuron_space: l.neurons(),
            synapse_space: l.synapses(),
            weight_space: l.weights(),
        })
        .collect();
    let per_class = cp
        .path_set()
        .iter()
        .map(|(c, p)| ClassDensity {
            class: c as usize,
            images: cp.images_per_class().get(c as usize).copied().unwrap_or(0),
            density: PathDensity::of(p),
        })
        .collect();
    Report {
        model_fingerprint: cp.fingerprint().to_string(),
        theta: cp.options().theta,
        last_layers: cp.options().last_layers,
        images_per_class: cp.images_per_class().to_vec(),
        layers,
        overall: PathDensity::of(&cp.overall()),
        per_class,
    }
}

/// Runs `effpath density`.
pub fn run(args: &DensityArgs, out: &mut impl Write) -> Result<()> {
    for (path, format) in [(&args.png, Format::Png), (&args.svg, Format::Svg)] {
        if let Some(path) = path {
            plot::check_output(path, format)?;
        }
    }
    let cp = classpaths::load(&args.class_paths)?;
    let report = report(&cp);
    let plots: Vec<&PathBuf> = [&args.png, &args.svg].into_iter().flatten().collect();
    if !plots.is_empty() {
        let categories: Vec<String> = report.layers.iter().map(|l| l.name.clone()).collect();
        let d = &report.overall.layers;
        let series = [
            ("neurons".to_owned(), d.iter().map(|x| x.neuron).collect()),
            ("synapses".to_owned(), d.iter().map(|x| x.synapse).collect()),
            ("weights".to_owned(), d.iter().map(|x| x.weight).collect()),
        ];
        let title = format!(
            "Overall path density per layer ({})",
            classpaths::describe_options(&cp)
        );
        let bars = GroupedBars {
            categories: &categories,
            series: &series,
            title: &title,
            x_desc: "layer",
            y_desc: "density",
            percent: true,
        };
        for path in plots {
            plot::save(&bars, path)?;
        }
    }
    if args.json {
        return output::write_json(out, &report);
    }
    write_text(&report, &cp, args, out)
}

fn write_text(r: &Report, cp: &ClassPaths, args: &DensityArgs, out: &mut impl Write) -> Result<()> {
    writeln!(
        out,
        "class paths: {} (model {}, {})",
        args.class_paths.display(),
        r.model_fingerprint,
        classpaths::describe_options(cp)
    )?;
    let total: usize = r.images_per_class.iter().sum();
    writeln!(
        out,
        "images: {} in {} of {} classes",
        output::thousands(total as u64),
        r.per_class.len(),
        r.images_per_class.len()
    )?;
    let mut table = Table::new(&[
        ("path", Align::Left),
        ("layer", Align::Left),
        ("op", Align::Left),
        ("neurons", Align::Right),
        ("synapses", Align::Right),
        ("weights", Align::Right),
    ]);
    let classes = r.per_class.iter().map(|c| {
        (
            format!("class {} ({} images)", c.class, c.images),
            &c.density,
        )
    });
    let paths = std::iter::once(("overall".to_owned(), &r.overall)).chain(classes);
    for (i, (name, d)) in paths.enumerate() {
        if i > 0 {
            table.row(Vec::new());
        }
        for (l, (info, dens)) in r.layers.iter().zip(&d.layers).enumerate() {
            let label = if l == 0 { name.clone() } else { String::new() };
            let mut row = vec![label, info.name.clone(), info.op.to_owned()];
            row.extend(dens.cells());
            table.row(row);
        }
        for (what, dens) in [("all", &d.total_all), ("weighted", &d.total_weighted)] {
            let mut row = vec![String::new(), format!("total ({what})"), String::new()];
            row.extend(dens.cells());
            table.row(row);
        }
    }
    table.write(out, "  ")?;
    for path in [&args.png, &args.svg].into_iter().flatten() {
        writeln!(out, "wrote {}", path.display())?;
    }
    Ok(())
}
