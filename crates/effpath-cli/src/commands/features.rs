//! `effpath features`: path-similarity features of images against class paths.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use effpath::extract::{EmptyLayer, FeatureOptions};
use effpath::{ClassPaths, PathFeatures};

use crate::features_csv::{FeatureMeta, FeatureTable, Row};
use crate::model::ModelArgs;
use crate::output;
use crate::pixels::PixelArgs;

/// Arguments of `effpath features`.
#[derive(Debug, Args)]
pub struct FeaturesArgs {
    #[command(flatten)]
    model: ModelArgs,

    /// Class-path file of the model (from `effpath profile`)
    #[arg(long, value_name = "CP.bin")]
    classpaths: PathBuf,

    #[command(flatten)]
    pixels: PixelArgs,

    /// Cumulative threshold θ of the image paths [default: the class paths' θ]
    #[arg(long)]
    theta: Option<f64>,

    /// Keep only the features of the last N weighted layers
    #[arg(long, value_name = "N")]
    last_layers: Option<usize>,

    /// Similarity of a layer where an image's path is empty: undefined (the row is dropped,
    /// as the original does) or one (keeps the rows of residual networks, whose branches are
    /// often empty)
    #[arg(long, value_name = "POLICY", default_value = "undefined")]
    empty_layer: EmptyLayer,

    /// Where to write the feature table (CSV)
    #[arg(long, value_name = "F.csv")]
    out: PathBuf,

    /// No progress output
    #[arg(short, long)]
    quiet: bool,
}

/// Runs `effpath features`.
pub fn run(args: &FeaturesArgs, out: &mut impl Write) -> Result<()> {
    let model = args.model.load()?;
    let net = &model.net;
    let cp = ClassPaths::load_for(&args.classpaths, net)
        .with_context(|| format!("cannot use class paths {}", args.classpaths.display()))?;
    let mut options = FeatureOptions {
        extract: *cp.options(),
        last_layers: args.last_layers,
        empty_layer: args.empty_layer,
        ..FeatureOptions::default()
    };
    if let Some(t) = args.theta {
        options.extract.theta = t;
    }
    let features = PathFeatures::new(net, &cp, options)?;
    let pixels = args.pixels.load(net)?;
    let n = pixels.x.shape()[0];
    let bar = output::progress_bar(n as u64, args.quiet);
    let mut rows = Vec::with_capacity(n);
    for start in (0..n).step_by(256) {
        let end = (start + 256).min(n);
        let batch = pixels
            .x
            .slice_axis(effpath::ndarray::Axis(0), (start..end).into())
            .to_owned();
        for (k, f) in features.compute_batch(&batch)?.into_iter().enumerate() {
            let position = start + k;
            rows.push(Row {
                index: pixels.index(position),
                label: pixels.labels.as_ref().map(|l| l[position]),
                features: f,
            });
        }
        bar.inc((end - start) as u64);
    }
    bar.finish_and_clear();
    let table = FeatureTable {
        meta: FeatureMeta {
            model_fingerprint: net.fingerprint(),
            features: options,
            names: features.names(),
        },
        rows,
    };
    table.save(&args.out)?;
    let (_, dropped) = table.matrix();
    writeln!(
        out,
        "wrote {}: {} rows × {} features from {} ({dropped} with an undefined similarity)",
        args.out.display(),
        n,
        table.meta.names.len(),
        pixels.source
    )?;
    Ok(())
}
