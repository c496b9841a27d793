//! `effpath inspect`: a model's layers, sizes and fingerprint.

use std::io::Write;

use anyhow::Result;
use clap::Args;
use effpath::Network;
use serde::Serialize;

use crate::model::ModelArgs;
use crate::output::{self, Align, Table};

/// Arguments of `effpath inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    #[command(flatten)]
    model: ModelArgs,

    /// Print the report as JSON instead of a table
    #[arg(long)]
    json: bool,
}

/// The full report, also the `--json` output.
#[derive(Debug, Serialize)]
struct Report {
    /// The MODEL argument.
    model: String,
    /// Name of the input tensor.
    input_name: String,
    /// Per-sample input shape.
    input_shape: Vec<usize>,
    /// Number of classes (elements of the logits).
    num_classes: usize,
    /// Value id of the logits (the output before a final Softmax/LogSoftmax).
    logits: usize,
    /// Value id of the output.
    output: usize,
    /// Total trainable parameters.
    parameters: usize,
    /// Multiply–accumulates for one sample.
    macs: usize,
    /// SHA-256 content fingerprint, hex.
    fingerprint: String,
    /// One entry per node, in forward order.
    layers: Vec<Layer>,
}

/// One node of the network.
#[derive(Debug, Serialize)]
struct Layer {
    /// Node index (0-based, forward order).
    index: usize,
    /// Value id of the node's output (`index + 1`; value 0 is the network input).
    value: usize,
    /// Node name.
    name: String,
    /// Op kind, e.g. `Conv2d`.
    op: &'static str,
    /// Value ids read by the node.
    inputs: Vec<usize>,
    /// Per-sample output shape.
    output_shape: Vec<usize>,
    /// Trainable parameters of the node.
    parameters: usize,
    /// Multiply–accumulates for one sample.
    macs: usize,
}

fn report(name: String, net: &Network) -> Report {
    let layers: Vec<Layer> = net
        .nodes()
        .iter()
        .enumerate()
        .map(|(i, node)| Layer {
            index: i,
            value: i + 1,
            name: node.name.clone(),
            op: node.op.kind(),
            inputs: node.inputs.iter().map(|v| v.0).collect(),
            output_shape: net.shapes()[i + 1].clone(),
            parameters: node.op.parameter_count(),
            macs: net.macs(i),
        })
        .collect();
    Report {
        model: name,
        input_name: net.input_name().to_owned(),
        input_shape: net.input_shape().to_vec(),
        num_classes: net.num_classes(),
        logits: net.logits().0,
        output: net.output().0,
        parameters: net.parameter_count(),
        macs: layers.iter().map(|l| l.macs).sum(),
        fingerprint: net.fingerprint().to_string(),
        layers,
    }
}

/// Runs `effpath inspect`.
pub fn run(args: &InspectArgs, out: &mut impl Write) -> Result<()> {
    let model = args.model.load()?;
    let report = report(model.name, &model.net);
    if args.json {
        return output::write_json(out, &report);
    }
    write_text(&report, out)?;
    Ok(())
}

fn write_text(r: &Report, out: &mut impl Write) -> std::io::Result<()> {
    let n = |v: usize| output::thousands(v as u64);
    writeln!(out, "model: {}", r.model)?;
    writeln!(
        out,
        "input: %0 `{}`, {} per sample",
        r.input_name,
        output::shape(&r.input_shape)
    )?;
    writeln!(out, "{} nodes:", r.layers.len())?;
    let mut table = Table::new(&[
        ("id", Align::Right),
        ("name", Align::Left),
        ("op", Align::Left),
        ("inputs", Align::Left),
        ("output", Align::Left),
        ("params", Align::Right),
        ("MACs", Align::Right),
    ]);
    for l in &r.layers {
        let inputs: Vec<String> = l.inputs.iter().map(|v| format!("%{v}")).collect();
        table.row(vec![
            format!("%{}", l.value),
            l.name.clone(),
            l.op.to_owned(),
            inputs.join(","),
            output::shape(&l.output_shape),
            n(l.parameters),
            n(l.macs),
        ]);
    }
    table.write(out, "  ")?;
    writeln!(out, "parameters: {}", n(r.parameters))?;
    writeln!(out, "MACs per sample: {}", n(r.macs))?;
    let softmax = match r.output.checked_sub(1).and_then(|i| r.layers.get(i)) {
        Some(out) if r.logits != r.output => format!(", before the {} %{}", out.op, r.output),
        _ => String::new(),
    };
    writeln!(
        out,
        "classes: {} (logits %{}{softmax})",
        r.num_classes, r.logits
    )?;
    writeln!(out, "fingerprint: {}", r.fingerprint)
}
