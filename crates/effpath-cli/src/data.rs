//! Shared image-input logic: the embedded datasets, IDX files, `.npy` inputs, the check that
//! images fit the model's input, the one `--input` convention ([`InputScaleArgs`]: `[0, 1]`
//! pixels unless `--normalized`), and the argument groups that select one sample or a
//! labelled set.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::{ArgGroup, Args, ValueEnum};
use effpath::Network;
use effpath::data::{
    Embedded, IdxOptions, LabeledImages, Normalization, Split, read_images, read_npy,
};
use effpath::ir::FitIssue;
use effpath::ndarray::{ArrayD, Axis};

use crate::output;

/// A split of a dataset compiled into effpath, usable instead of IDX files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Dataset {
    /// The embedded MNIST subset's training split (7,996 digits)
    MnistTrain,
    /// The embedded MNIST subset's test split (2,004 digits)
    MnistTest,
    /// The embedded Fashion-MNIST subset's training split (the first 10,000 images)
    FashionMnistTrain,
    /// The embedded Fashion-MNIST subset's test split (the first 2,000 images)
    FashionMnistTest,
}

impl Dataset {
    /// The embedded dataset and split.
    pub fn parts(self) -> (Embedded, Split) {
        match self {
            Dataset::MnistTrain => (Embedded::Mnist, Split::Train),
            Dataset::MnistTest => (Embedded::Mnist, Split::Test),
            Dataset::FashionMnistTrain => (Embedded::FashionMnist, Split::Train),
            Dataset::FashionMnistTest => (Embedded::FashionMnist, Split::Test),
        }
    }

    /// The test split of `data`.
    pub fn test_of(data: Embedded) -> Dataset {
        match data {
            Embedded::Mnist => Dataset::MnistTest,
            Embedded::FashionMnist => Dataset::FashionMnistTest,
        }
    }

    /// Decodes the embedded images and labels.
    pub fn load(self) -> Result<LabeledImages> {
        let (data, split) = self.parts();
        Ok(data.load(split)?)
    }

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Dataset::MnistTrain => "mnist-train",
            Dataset::MnistTest => "mnist-test",
            Dataset::FashionMnistTrain => "fashion-mnist-train",
            Dataset::FashionMnistTest => "fashion-mnist-test",
        }
    }
}

/// Checks that `rows`×`cols` grayscale images, fed as `(1, rows, cols)`, fit the model input
/// (the library's check, [`Network::check_labelled`], without labels).
pub fn check_image_shape(net: &Network, rows: usize, cols: usize) -> Result<()> {
    net.check_labelled(&[0, 1, rows, cols], &[], 0)
        .map_err(fit_error)
}

/// Checks that the first `n` images of `data` and their labels fit the model
/// ([`Network::check_labelled`]).
pub fn check_fit(net: &Network, data: &LabeledImages, n: usize) -> Result<()> {
    let labels = data.labels().get(..n).unwrap_or(data.labels());
    net.check_labelled(&[labels.len(), 1, data.rows(), data.cols()], labels, 0)
        .map_err(fit_error)
}

/// The one-line error of a fit check, with image shapes written as on the command line.
fn fit_error(issue: FitIssue) -> anyhow::Error {
    if let FitIssue::ImageShape { expected, got } = &issue {
        return anyhow::anyhow!(
            "the images are {} (grayscale) but the model expects input {}",
            output::shape(got),
            output::shape(expected)
        );
    }
    issue.into()
}

/// How `--input` values and images are brought to the model's input scale, shared by every
/// command with `--input` (`predict`, `extract`, `features`, `detect`).
///
/// `--input` holds `[0, 1]` pixels, like IDX images and the embedded datasets: they are
/// normalised by `--normalize` or else by the model's recorded normalisation. `--normalized`
/// says the values of `--input` are already normalised for the model and are used as given.
#[derive(Debug, Args)]
pub struct InputScaleArgs {
    /// Input normalisation: none, mnist, fashion-mnist or MEAN,STD [default: the model's]
    ///
    /// Pixels (IDX and embedded images divided by 255, and the [0, 1] values of --input) are
    /// mapped to (x - MEAN) / STD. Without this option, the normalisation recorded in the
    /// model (ONNX metadata `effpath.input_normalization`, as the shipped models have) is
    /// used, or none.
    #[arg(long, value_name = "SPEC")]
    normalize: Option<Normalization>,

    /// The values of --input are already normalised for the model; used as given
    ///
    /// Without it, --input holds pixels in [0, 1] and is normalised like images are.
    // Every struct that flattens this one has `input`, `images` and `dataset`, one of them
    // required: conflicting with the other two is needing `--input`.
    #[arg(long, conflicts_with_all = ["normalize", "images", "dataset"])]
    normalized: bool,
}

impl InputScaleArgs {
    /// The normalisation of pixels: `--normalize` if given, else the model's recorded one.
    pub fn pixels(&self, net: &Network) -> Normalization {
        self.normalize.unwrap_or_else(|| model_normalization(net))
    }

    /// How the values of `--input` are read: `None` for model inputs used as given
    /// (`--normalized`), else the normalisation of their `[0, 1]` pixels.
    pub fn input(&self, net: &Network) -> Option<Normalization> {
        (!self.normalized).then(|| self.pixels(net))
    }
}

/// Checks the values read from `path` for `--input`: `[0, 1]` pixels when they are to be
/// normalised (`pixels`), else finite model inputs.
pub fn check_input_values<'a>(
    path: &Path,
    values: impl IntoIterator<Item = &'a f32>,
    pixels: bool,
) -> Result<()> {
    let mut values = values.into_iter();
    if pixels {
        if let Some(bad) = values.position(|v| !(0.0..=1.0).contains(v)) {
            bail!(
                "{}: value at flat index {bad} is outside [0, 1] (pixels expected; pass \
                 --normalized for values already normalised for the model)",
                path.display()
            );
        }
    } else if let Some(bad) = values.position(|v| !v.is_finite()) {
        bail!(
            "{}: value at flat index {bad} is not finite",
            path.display()
        );
    }
    Ok(())
}

/// One input, chosen by `--input`, `--images --index` or `--dataset --index` (shared by
/// `predict` and `extract`).
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("source").required(true).args(["input", "images", "dataset"])))]
pub struct SampleArgs {
    /// A float32 .npy of shape (C,H,W) or (1,C,H,W) equal to the model input, pixels in
    /// [0, 1] (normalised as images are), or model inputs with --normalized
    #[arg(long, value_name = "X.npy")]
    input: Option<PathBuf>,

    /// An IDX image file (gzip or plain), e.g. t10k-images-idx3-ubyte.gz; needs --index
    #[arg(long, value_name = "IDX", requires = "index")]
    images: Option<PathBuf>,

    /// An embedded dataset instead of an IDX file; needs --index
    #[arg(long, value_enum, value_name = "NAME", requires = "index")]
    dataset: Option<Dataset>,

    /// Which image of --images or --dataset to use (0-based)
    #[arg(long, value_name = "N", conflicts_with = "input")]
    index: Option<usize>,

    #[command(flatten)]
    scale: InputScaleArgs,
}

/// One input ready for the network, and how to describe it.
#[derive(Debug)]
pub struct Sample {
    /// Shape `(1, per-sample input shape)`.
    pub x: ArrayD<f32>,
    /// Where it came from.
    pub description: String,
}

impl SampleArgs {
    /// Loads and normalises the chosen input, checked against the model's input shape.
    pub fn load(&self, net: &Network) -> Result<Sample> {
        if let Some(path) = &self.input {
            return load_npy(path, net, self.scale.input(net));
        }
        let norm = self.scale.pixels(net);
        let Some(index) = self.index else {
            bail!("--index is required with --images and --dataset");
        };
        if let Some(path) = &self.images {
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
        let Some(dataset) = self.dataset else {
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
}

/// Reads one `--input`: `[0, 1]` pixels normalised by `norm`, or (`None`) model inputs.
fn load_npy(path: &Path, net: &Network, norm: Option<Normalization>) -> Result<Sample> {
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
            "{} holds a batch of {} inputs, not one (shape {} or 1×{})",
            path.display(),
            got[0],
            output::shape(expected),
            output::shape(expected)
        );
    }
    check_input_values(path, x.iter(), norm.is_some())?;
    if let Some(norm) = norm {
        norm.apply(&mut x);
    }
    let description = path.display().to_string();
    Ok(Sample { x, description })
}

/// A labelled image set, chosen by `--images --labels` or `--dataset` (shared by `eval` and
/// `profile`).
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("source").required(true).args(["images", "dataset"])))]
pub struct LabeledArgs {
    /// An IDX image file (gzip or plain); needs --labels
    #[arg(long, value_name = "IDX", requires = "labels")]
    images: Option<PathBuf>,

    /// The IDX label file matching --images (gzip or plain)
    #[arg(long, value_name = "IDX", requires = "images")]
    labels: Option<PathBuf>,

    /// An embedded dataset instead of --images/--labels
    #[arg(long, value_enum, value_name = "NAME", conflicts_with_all = ["images", "labels"])]
    dataset: Option<Dataset>,

    /// Input normalisation: none, mnist, fashion-mnist or MEAN,STD [default: the model's]
    ///
    /// Pixels are divided by 255, then mapped to (x - MEAN) / STD. Without this option, the
    /// normalisation recorded in the model (ONNX metadata `effpath.input_normalization`, as
    /// the shipped models have) is used, or none.
    #[arg(long, value_name = "SPEC")]
    pub normalize: Option<Normalization>,
}

/// The normalisation recorded in the model (ONNX metadata `effpath.input_normalization`),
/// or none.
pub fn model_normalization(net: &Network) -> Normalization {
    match net.input_normalization() {
        Some([mean, std]) => Normalization::MeanStd { mean, std },
        None => Normalization::None,
    }
}

impl LabeledArgs {
    /// `--normalize` if given, else the model's recorded normalisation, else none.
    pub fn normalization(&self, net: &Network) -> Normalization {
        self.normalize.unwrap_or_else(|| model_normalization(net))
    }

    /// Loads the images and labels; returns them with a name for the output.
    pub fn load(&self) -> Result<(LabeledImages, String)> {
        if let Some(dataset) = self.dataset {
            return Ok((dataset.load()?, dataset.name().to_owned()));
        }
        let (Some(images), Some(labels)) = (&self.images, &self.labels) else {
            bail!("either --dataset or both --images and --labels are required");
        };
        let data = LabeledImages::from_idx_files(images, labels, &IdxOptions::default())?;
        Ok((data, images.display().to_string()))
    }
}
