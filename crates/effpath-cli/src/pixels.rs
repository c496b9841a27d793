//! Image batches in `[0, 1]` pixel space (the convention of every `--input`): `.npy` arrays
//! `(N, C, H, W)`, attack archives, IDX files, or an embedded dataset; normalised for the
//! model by effpath (or, with `--normalized`, `.npy` model inputs used as given).

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{ArgGroup, Args};
use effpath::Network;
use effpath::data::{IdxOptions, LabeledImages, Normalization, read_adversarial_npz, read_npy};
use effpath::ndarray::{ArrayD, Axis};

use crate::data::{Dataset, InputScaleArgs, check_image_shape, check_input_values};
use crate::output;

/// A batch of images in `[0, 1]`, chosen by `--input`, `--images` or `--dataset`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("pixels").required(true).args(["input", "images", "dataset"])))]
pub struct PixelArgs {
    /// A float32 .npy of shape (N,C,H,W), pixels in [0, 1] (normalised as images are) or
    /// model inputs with --normalized, or an .npz archive written by `effpath attack` (its
    /// successful adversarial examples, in [0, 1], are used; rows keep their original
    /// dataset index and label)
    #[arg(long, value_name = "X.npy|adv.npz")]
    input: Option<PathBuf>,

    /// An IDX image file (gzip or plain)
    #[arg(long, value_name = "IDX")]
    images: Option<PathBuf>,

    /// The IDX labels of --images (optional; adds a label column)
    #[arg(long, value_name = "IDX", requires = "images")]
    labels: Option<PathBuf>,

    /// An embedded dataset
    #[arg(long, value_enum, value_name = "NAME")]
    dataset: Option<Dataset>,

    /// Use only the first N images
    #[arg(long, value_name = "N")]
    limit: Option<usize>,

    #[command(flatten)]
    scale: InputScaleArgs,
}

/// A normalised batch ready for the network, with labels when known.
#[derive(Debug)]
pub struct Pixels {
    /// `(N, per-sample input shape)`, normalised.
    pub x: ArrayD<f32>,
    /// Labels, when the source has them.
    pub labels: Option<Vec<usize>>,
    /// The index of each image in its original source, when it is not its position here
    /// (the successful examples of an `effpath attack` archive).
    pub indices: Option<Vec<usize>>,
    /// Where the images came from.
    pub source: String,
}

fn from_labeled(
    data: &LabeledImages,
    limit: usize,
    norm: Normalization,
    net: &Network,
) -> Result<ArrayD<f32>> {
    check_image_shape(net, data.rows(), data.cols())?;
    Ok(data.to_tensor(0..limit.min(data.len()), norm)?.into_dyn())
}

impl Pixels {
    /// The original index of image `k` of the batch.
    pub fn index(&self, k: usize) -> usize {
        self.indices
            .as_ref()
            .and_then(|i| i.get(k).copied())
            .unwrap_or(k)
    }
}

impl PixelArgs {
    /// Loads, checks against the model input and normalises the batch.
    pub fn load(&self, net: &Network) -> Result<Pixels> {
        let norm = self.scale.pixels(net);
        let limit = self.limit.unwrap_or(usize::MAX);
        if let Some(path) = &self.input {
            let is_npz = path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("npz"));
            let input_norm = self.scale.input(net);
            let (x, labels, indices) = if is_npz {
                if input_norm.is_none() {
                    bail!(
                        "--normalized does not apply to {}: an attack archive holds [0, 1] \
                         pixels",
                        path.display()
                    );
                }
                let archive = read_adversarial_npz(path)?;
                if archive.indices.is_empty() {
                    bail!(
                        "{} holds no successful adversarial examples ({} attempted)",
                        path.display(),
                        archive.attempted
                    );
                }
                (archive.images, Some(archive.labels), Some(archive.indices))
            } else {
                (read_npy::<f32>(path)?, None, None)
            };
            let mut x = x;
            let expected = net.input_shape();
            if x.ndim() != expected.len() + 1 || x.shape()[1..] != *expected {
                bail!(
                    "{} has shape {} but the model needs N×{}",
                    path.display(),
                    output::shape(x.shape()),
                    output::shape(expected)
                );
            }
            check_input_values(path, x.iter(), input_norm.is_some())?;
            let n = x.shape()[0].min(limit);
            x = x.slice_axis(Axis(0), (0..n).into()).to_owned();
            if let Some(norm) = input_norm {
                norm.apply(&mut x);
            }
            let truncate = |v: Vec<usize>| v.into_iter().take(n).collect::<Vec<_>>();
            return Ok(Pixels {
                x,
                labels: labels.map(truncate),
                indices: indices.map(truncate),
                source: path.display().to_string(),
            });
        }
        if let Some(path) = &self.images {
            let data = match &self.labels {
                Some(labels) => {
                    LabeledImages::from_idx_files(path, labels, &IdxOptions::default())?
                }
                None => {
                    let images = effpath::data::read_images(path, &IdxOptions::default())?;
                    let n = images.dim().0;
                    LabeledImages::new(images, vec![0; n])?
                }
            };
            let x = from_labeled(&data, limit, norm, net)?;
            let n = x.shape()[0];
            let labels = self.labels.as_ref().map(|_| data.labels()[..n].to_vec());
            return Ok(Pixels {
                x,
                labels,
                indices: None,
                source: path.display().to_string(),
            });
        }
        let Some(dataset) = self.dataset else {
            bail!("one of --input, --images or --dataset is required");
        };
        let data = dataset.load()?;
        let x = from_labeled(&data, limit, norm, net)?;
        let n = x.shape()[0];
        Ok(Pixels {
            x,
            labels: Some(data.labels()[..n].to_vec()),
            indices: None,
            source: dataset.name().to_string(),
        })
    }
}
