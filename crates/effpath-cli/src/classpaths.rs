//! Shared helpers of the path commands: layer op names, element-kind and layer-selection
//! arguments, loading class-path files and the class summary that `profile` and `merge`
//! print.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use clap::ValueEnum;
use effpath::ClassPaths;
use effpath::algebra::{ElementKind, LayerKind, LayerSelection};

use crate::output::{self, Align, Table};

/// The `op` name of a traced layer in the JSON and tables.
pub fn op_name(kind: LayerKind) -> &'static str {
    match kind {
        LayerKind::Conv2d => "conv",
        LayerKind::Dense => "dense",
        LayerKind::MaxPool2d => "maxpool",
        LayerKind::AvgPool2d => "avgpool",
        LayerKind::GlobalAvgPool => "global_avgpool",
        _ => "other",
    }
}

/// Which element space a metric counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// Synapses (edges): input–output neuron pairs
    Synapse,
    /// Neurons (points): elements of the layers' output tensors
    Neuron,
    /// Weights: distinct parameters (pool layers have none)
    Weight,
}

impl From<KindArg> for ElementKind {
    fn from(k: KindArg) -> ElementKind {
        match k {
            KindArg::Synapse => ElementKind::Synapse,
            KindArg::Neuron => ElementKind::Neuron,
            KindArg::Weight => ElementKind::Weight,
        }
    }
}

/// Which layers an aggregated metric sums over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LayersArg {
    /// Every traced layer (conv, dense and pool layers)
    All,
    /// Only layers with weights (conv and dense)
    Weighted,
}

impl From<LayersArg> for LayerSelection {
    fn from(l: LayersArg) -> LayerSelection {
        match l {
            LayersArg::All => LayerSelection::All,
            LayersArg::Weighted => LayerSelection::Weighted,
        }
    }
}

/// Loads a class-path file (of any network), naming the file on error.
pub fn load(path: &Path) -> Result<ClassPaths> {
    ClassPaths::load(path, None)
        .with_context(|| format!("cannot load class paths from {}", path.display()))
}

/// A one-line description of the options class paths were built with.
pub fn describe_options(cp: &ClassPaths) -> String {
    let o = cp.options();
    let layers = o.last_layers.map_or_else(
        || "all layers".to_owned(),
        |n| format!("last {n} weighted layers"),
    );
    format!("θ = {}, {layers}", o.theta)
}

/// Per-class image counts and synapse densities, then the overall path's synapse density.
pub fn write_summary(cp: &ClassPaths, out: &mut impl Write) -> Result<()> {
    let mut table = Table::new(&[
        ("class", Align::Right),
        ("images", Align::Right),
        ("synapse density", Align::Right),
    ]);
    for (c, &n) in cp.images_per_class().iter().enumerate() {
        let density = cp
            .class(c)
            .and_then(|p| p.density(ElementKind::Synapse, LayerSelection::All));
        table.row(vec![
            c.to_string(),
            output::thousands(n as u64),
            output::percent_or_dash(density),
        ]);
    }
    table.write(out, "  ")?;
    let total: usize = cp.images_per_class().iter().sum();
    let overall = cp.overall();
    writeln!(
        out,
        "images: {} in {} of {} classes",
        output::thousands(total as u64),
        cp.path_set().len(),
        cp.classes()
    )?;
    writeln!(
        out,
        "overall synapse density: {} (all layers), {} (weighted layers)",
        output::percent_or_dash(overall.density(ElementKind::Synapse, LayerSelection::All)),
        output::percent_or_dash(overall.density(ElementKind::Synapse, LayerSelection::Weighted)),
    )?;
    Ok(())
}
