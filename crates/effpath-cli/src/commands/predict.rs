//! `effpath predict`: classify one input and print the top-5 classes.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::{ArgGroup, Args};
use effpath::ndarray::{ArrayD, Axis};
use effpath::{IdxOptions, Network, Normalization, read_images, read_npy};
use serde::Serialize;

use crate::data::{Dataset, check_image_shape};
use crate::model::ModelArgs;
use crate::output::{self, Align, Table};

/// How many classes are reported.
const TOP: usize = 5;

/// Arguments of `effpath predict`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("source").required(true).args(["input", "images", "dataset"])))]
pub struct PredictArgs {
    #[command(flatten)]
    model: ModelArgs,

    /// A float32 .npy of shape (C,H,W) or (1,C,H,W) equal to the model input, already
    /// normalised as the model expects
    #[arg(long, value_name = "X.npy")]
    input: Option<PathBuf>,

    /// An IDX image file (gzip or plain), e.g. t10k-images-idx3-ubyte.gz; needs --index
    #[arg(long, value_name = "IDX", requires = "index")]
    images: Option<PathBuf>,

    /// An embedded dataset instead of an IDX file; needs --index
    #[arg(long, value_enum, value_name = "NAME", requires = "index")]
    dataset: Option<Dataset>,

    /// Which image of --images or --dataset to classify (0-based)
    #[arg(long, value_name = "N", conflicts_with = "input")]
    index: Option<usize>,

    /// Input normalisation: none, mnist, fashion-mnist or MEAN,STD [default: none]
    ///
    /// Image pixels are divided by 255, then mapped to (x - MEAN) / STD. The same map is
    /// applied to the values of --input. The default, none, feeds pixel/255 (and --input
    /// values) unchanged.
    #[arg(
        long,
        value_name = "SPEC",
        default_value = "none",
        hide_default_value = true
    )]
    normalize: Normalization,

    /// Print `{"logits": [...], "top5": [{"class": c, "logit": v}, ...]}` instead of a table
    #[arg(long)]
    json: bool,
}

/// One input ready for the network, and how to describe it.
struct Sample {
    /// Shape `(1, per-sample input shape)`.
    x: ArrayD<f32>,
    /// Where it came from.
    description: String,
}

/// One entry of the top-5 list.
#[derive(Debug, Serialize)]
struct Ranked {
    class: usize,
    logit: f32,
}

/// The `--json` output.
#[derive(Debug, Serialize)]
struct Prediction {
    logits: Vec<f32>,
    top5: Vec<Ranked>,
}

/// Runs `effpath predict`.
pub fn run(args: &PredictArgs, out: &mut impl Write) -> Result<()> {
    let model = args.model.load()?;
    let sample = load_sample(args, &model.net)?;
    let logits = model.net.predict(&sample.x)?;
    let logits: Vec<f32> = logits.iter().copied().collect();
    let mut order: Vec<usize> = (0..logits.len()).collect();
    // Descending by logit; ties (and NaNs, last) in class order.
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
    let top5 = order
        .iter()
        .take(TOP)
        .map(|&class| Ranked {
            class,
            logit: logits[class],
        })
        .collect();
    let prediction = Prediction { logits, top5 };
    if args.json {
        return output::write_json(out, &prediction);
    }
    writeln!(out, "model: {}", model.name)?;
    writeln!(out, "input: {}", sample.description)?;
    let probs = softmax(&prediction.logits);
    let mut table = Table::new(&[
        ("rank", Align::Right),
        ("class", Align::Right),
        ("logit", Align::Right),
        ("softmax", Align::Right),
    ]);
    for (rank, r) in prediction.top5.iter().enumerate() {
        table.row(vec![
            (rank + 1).to_string(),
            r.class.to_string(),
            format!("{:.4}", r.logit),
            output::percent(probs[r.class]),
        ]);
    }
    table.write(out, "  ")?;
    Ok(())
}

/// Softmax in `f64`, shifted by the maximum for stability.
fn softmax(logits: &[f32]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let exp: Vec<f64> = logits.iter().map(|&l| (l as f64 - max).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.iter().map(|e| e / sum).collect()
}

fn load_sample(args: &PredictArgs, net: &Network) -> Result<Sample> {
    let norm = args.normalize;
    if let Some(path) = &args.input {
        return load_npy(path, net, norm);
    }
    let Some(index) = args.index else {
        bail!("--index is required with --images and --dataset");
    };
    if let Some(path) = &args.images {
        let images = read_images(path, &IdxOptions::default())?;
        let (n, rows, cols) = images.dim();
        if index >= n {
            bail!(
                "--index {index} is out of range: {} holds {n} images",
                path.display()
            );
        }
        check_image_shape(net, rows, cols)?;
        let x = images
            .index_axis(Axis(0), index)
            .mapv(|p| norm.apply_value(f32::from(p) / 255.0))
            .insert_axis(Axis(0))
            .insert_axis(Axis(0))
            .into_dyn();
        let description = format!("image {index} of {}", path.display());
        return Ok(Sample { x, description });
    }
    let Some(dataset) = args.dataset else {
        bail!("one of --input, --images or --dataset is required");
    };
    let data = dataset.load()?;
    let Some(label) = data.label(index) else {
        bail!(
            "--index {index} is out of range: {} holds {} images",
            dataset.name(),
            data.len()
        );
    };
    check_image_shape(net, data.rows(), data.cols())?;
    let x = data.to_tensor(index..=index, norm)?.into_dyn();
    let description = format!("image {index} of {} (label {label})", dataset.name());
    Ok(Sample { x, description })
}

fn load_npy(path: &Path, net: &Network, norm: Normalization) -> Result<Sample> {
    let mut x = read_npy::<f32>(path)?;
    let expected = net.input_shape();
    let got = x.shape().to_vec();
    if got == expected {
        x.insert_axis_inplace(Axis(0));
    } else if got.len() != expected.len() + 1 || got[1..] != *expected {
        bail!(
            "{} has shape {} but the model expects {} or 1×{}",
            path.display(),
            output::shape(&got),
            output::shape(expected),
            output::shape(expected)
        );
    } else if got[0] != 1 {
        bail!(
            "{} holds a batch of {} inputs; predict classifies one (shape {} or 1×{})",
            path.display(),
            got[0],
            output::shape(expected),
            output::shape(expected)
        );
    }
    norm.apply(&mut x);
    let description = path.display().to_string();
    Ok(Sample { x, description })
}
