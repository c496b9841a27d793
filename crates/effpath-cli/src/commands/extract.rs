//! `effpath extract`: the effective path of one input, per traced layer.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use effpath::algebra::{ElementKind, LayerSelection};
use effpath::extract::Seed;
use effpath::{ExtractOptions, Extractor, Path};
use serde::Serialize;

use crate::classpaths::op_name;
use crate::data::SampleArgs;
use crate::model::ModelArgs;
use crate::output::{self, Align, Table};

/// Arguments of `effpath extract`.
#[derive(Debug, Args)]
pub struct ExtractArgs {
    #[command(flatten)]
    model: ModelArgs,

    #[command(flatten)]
    sample: SampleArgs,

    /// Cumulative threshold θ in (0, 1]: each neuron keeps its largest inputs until their
    /// contributions reach θ of the total
    #[arg(long, value_name = "θ", default_value_t = 0.5)]
    theta: f64,

    /// Start the path at the logit of this rank (1 = the prediction, 2 = the runner-up)
    #[arg(long, value_name = "K", default_value_t = 1)]
    rank: usize,

    /// Extract only the last N weighted (conv/dense) layers and the pools between them
    #[arg(long, value_name = "N")]
    last_layers: Option<usize>,

    /// Write the per-layer counts and spaces as JSON to this file
    #[arg(long, value_name = "OUT.json")]
    json: Option<PathBuf>,

    /// Write the path itself to this file (effpath's binary path format, as `Path::save`
    /// and Python's `effpath.Path.load` read it)
    #[arg(long, value_name = "PATH.bin")]
    out: Option<PathBuf>,
}

/// Seconds spent in each phase.
#[derive(Debug, Serialize)]
struct Timing {
    /// Loading the model and the input.
    load: f64,
    /// The forward pass.
    forward: f64,
    /// The backward extraction.
    extract: f64,
}

/// One traced layer of the JSON report.
#[derive(Debug, Serialize)]
struct LayerReport {
    name: String,
    op: &'static str,
    points: usize,
    edges: usize,
    weights: usize,
    point_space: usize,
    edge_space: usize,
    weight_space: usize,
}

/// The JSON report.
#[derive(Debug, Serialize)]
struct Report {
    model_fingerprint: String,
    theta: f64,
    rank: usize,
    predicted: usize,
    seed: usize,
    timing_s: Timing,
    layers: Vec<LayerReport>,
}

fn layers(path: &Path) -> Vec<LayerReport> {
    path.space()
        .layers()
        .iter()
        .zip(path.layers())
        .map(|(space, kept)| LayerReport {
            name: space.name().to_owned(),
            op: op_name(space.kind()),
            points: kept.count(ElementKind::Neuron),
            edges: kept.count(ElementKind::Synapse),
            weights: kept.count(ElementKind::Weight),
            point_space: space.neurons(),
            edge_space: space.synapses(),
            weight_space: space.weights(),
        })
        .collect()
}

/// Runs `effpath extract`.
pub fn run(args: &ExtractArgs, out: &mut impl Write) -> Result<()> {
    let start = Instant::now();
    let model = args.model.load()?;
    let net = &model.net;
    let sample = args.sample.load(net)?;
    let mut options = ExtractOptions::default()
        .with_theta(args.theta)
        .with_seed(Seed::Rank(args.rank));
    options.last_layers = args.last_layers;
    let extractor = Extractor::new(net, options)?;
    let loaded = Instant::now();
    let acts = net.forward(&sample.x)?;
    let forwarded = Instant::now();
    let extraction = extractor.extract_sample(&acts, 0)?;
    let done = Instant::now();
    let report = Report {
        model_fingerprint: net.fingerprint().to_string(),
        theta: args.theta,
        rank: args.rank,
        predicted: extraction.predicted,
        seed: extraction.seed_class,
        timing_s: Timing {
            load: (loaded - start).as_secs_f64(),
            forward: (forwarded - loaded).as_secs_f64(),
            extract: (done - forwarded).as_secs_f64(),
        },
        layers: layers(&extraction.path),
    };
    if let Some(path) = &args.json {
        output::write_json_file(path, &report)?;
    }
    if let Some(file) = &args.out {
        output::write_file(file, &extraction.path.to_bytes())?;
    }
    writeln!(out, "model: {} ({})", model.name, report.model_fingerprint)?;
    writeln!(out, "input: {}", sample.description)?;
    writeln!(
        out,
        "predicted class {}; path from class {} (rank {}), θ = {}",
        report.predicted, report.seed, report.rank, report.theta
    )?;
    write_table(&report.layers, out)?;
    let path = &extraction.path;
    writeln!(
        out,
        "synapse density: {} (all layers), {} (weighted layers)",
        output::percent_or_dash(path.density(ElementKind::Synapse, LayerSelection::All)),
        output::percent_or_dash(path.density(ElementKind::Synapse, LayerSelection::Weighted)),
    )?;
    let t = &report.timing_s;
    writeln!(
        out,
        "time: load {:.3} s, forward {:.3} s, extract {:.3} s",
        t.load, t.forward, t.extract
    )?;
    if let Some(path) = &args.json {
        writeln!(out, "wrote {}", path.display())?;
    }
    Ok(())
}

fn write_table(layers: &[LayerReport], out: &mut impl Write) -> Result<()> {
    let n = |v: usize| output::thousands(v as u64);
    let frac = |kept: usize, all: usize| {
        let d = (all > 0).then(|| kept as f64 / all as f64);
        output::percent_or_dash(d)
    };
    let mut table = Table::new(&[
        ("layer", Align::Left),
        ("op", Align::Left),
        ("neurons", Align::Right),
        ("of", Align::Right),
        ("synapses", Align::Right),
        ("of", Align::Right),
        ("density", Align::Right),
        ("weights", Align::Right),
        ("of", Align::Right),
    ]);
    for l in layers {
        table.row(vec![
            l.name.clone(),
            l.op.to_owned(),
            n(l.points),
            n(l.point_space),
            n(l.edges),
            n(l.edge_space),
            frac(l.edges, l.edge_space),
            n(l.weights),
            n(l.weight_space),
        ]);
    }
    table.write(out, "  ")?;
    Ok(())
}
