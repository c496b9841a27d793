//! An adversarial-input guard: a network, its class paths and a trained detector, checked
//! together, callable at inference time.

use std::path::Path as FsPath;

use effpath_detect::{Detector, DetectorModel};
use effpath_extract::{ClassPaths, FeatureOptions, FeatureRow, PathFeatures};
use ndarray::{Array2, ArrayD};
use serde::{Deserialize, Serialize};

use effpath_ir::Fingerprint;

use crate::{Error, Network, Result};

/// The `format` of every detector file.
pub(crate) const FORMAT: &str = "effpath-guard";
/// The detector file version written and read.
pub(crate) const VERSION: u32 = 1;

/// A trained detector with everything needed to apply it again: the model it belongs to,
/// how features were computed, and the decision threshold. Saved as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectorFile {
    /// Always `effpath-guard`.
    pub format: String,
    /// File format version.
    pub version: u32,
    /// Fingerprint of the network the features come from (in the JSON: 64 hex digits).
    pub model_fingerprint: Fingerprint,
    /// How features are computed.
    pub features: FeatureOptions,
    /// Feature names, e.g. `rank1/conv1`.
    pub feature_names: Vec<String>,
    /// Scores at or above this are flagged as adversarial.
    pub threshold: f64,
    /// The trained detector.
    pub detector: DetectorModel,
}

impl DetectorFile {
    /// Wraps a trained detector for the model with fingerprint `model_fingerprint`
    /// ([`Network::fingerprint`]). The threshold is chosen on the training rows so that at most
    /// `fpr` of the normal rows score at or above it (e.g. 0.05), by
    /// [`effpath_detect::threshold_at_fpr`].
    pub fn new(
        model_fingerprint: Fingerprint,
        features: FeatureOptions,
        feature_names: Vec<String>,
        detector: DetectorModel,
        normal_train: &Array2<f64>,
        fpr: f64,
    ) -> Result<Self> {
        let scores = detector.score(normal_train)?;
        // The rule of the reported operating points (`effpath_detect::threshold_at_fpr`).
        // (`f64::MAX`, not infinity, when there are no rows: JSON has no infinity, and
        // serde_json would write it as `null`, which does not load back.)
        let threshold = if scores.is_empty() {
            f64::MAX
        } else {
            effpath_detect::threshold_at_fpr(&scores, fpr.clamp(0.0, 1.0))?.min(f64::MAX)
        };
        Ok(DetectorFile {
            format: FORMAT.into(),
            version: VERSION,
            model_fingerprint,
            features,
            feature_names,
            threshold,
            detector,
        })
    }

    /// Writes the file atomically as JSON.
    pub fn save(&self, path: impl AsRef<FsPath>) -> Result<()> {
        let json =
            serde_json::to_vec_pretty(self).map_err(|source| Error::GuardEncode { source })?;
        effpath_data::write_atomic(path, |w| w.write_all(&json))?;
        Ok(())
    }

    /// Reads a file written by [`DetectorFile::save`], checking its format and version.
    pub fn load(path: impl AsRef<FsPath>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| effpath_data::DataError::io(path, e))?;
        Self::from_json(&bytes, &path.display().to_string())
    }

    /// Decodes the JSON of a detector file (`source` names it in errors), checking its format,
    /// version and the detector's internal consistency ([`DetectorModel::validate`]: a tree
    /// whose children point back or out of range would otherwise loop or panic when scoring).
    pub fn from_json(json: &[u8], source: &str) -> Result<Self> {
        let file: DetectorFile = serde_json::from_slice(json).map_err(|e| Error::GuardJson {
            file: source.to_owned(),
            source: e,
        })?;
        if file.format != FORMAT || file.version != VERSION {
            return Err(Error::GuardFormat {
                file: source.to_owned(),
                format: file.format,
                version: file.version,
            });
        }
        file.detector.validate().map_err(|e| Error::GuardDetector {
            file: source.to_owned(),
            source: e,
        })?;
        Ok(file)
    }
}

/// The verdict on one image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// Predicted class.
    pub predicted: usize,
    /// Detector score (higher = more likely adversarial); `None` when a similarity was
    /// undefined (an empty image path in some layer), in which case the image is flagged.
    pub score: Option<f64>,
    /// Whether the image is flagged as adversarial.
    pub flagged: bool,
}

/// A network + class paths + detector, checked to belong together.
///
/// ```no_run
/// use effpath::guard::{DetectorFile, Guard};
/// let net = effpath::models::lenet5_mnist()?;
/// let cp = effpath::ClassPaths::load_for("classpaths.bin", &net)?;
/// let det = DetectorFile::load("detector.json")?;
/// let guard = Guard::new(&net, &cp, det)?;
/// let x = effpath::data::Mnist::embedded_test()?.to_tensor(0..8, effpath::data::Normalization::MNIST)?.into_dyn();
/// for v in guard.check(&x)? {
///     println!("class {} score {:?} flagged {}", v.predicted, v.score, v.flagged);
/// }
/// # Ok::<(), effpath::Error>(())
/// ```
#[derive(Debug)]
pub struct Guard<'a> {
    features: PathFeatures<'a>,
    file: DetectorFile,
}

impl<'a> Guard<'a> {
    /// Checks that the detector file was made for `net` and its feature layout, and prepares
    /// feature extraction against `class_paths`.
    pub fn new(net: &'a Network, class_paths: &'a ClassPaths, file: DetectorFile) -> Result<Self> {
        let fp = net.fingerprint();
        if file.model_fingerprint != fp {
            return Err(Error::GuardModel {
                detector: file.model_fingerprint,
                model: fp,
            });
        }
        let features = PathFeatures::new(net, class_paths, file.features)?;
        if features.names() != file.feature_names {
            return Err(Error::GuardFeatures {
                expected: file.feature_names,
                got: features.names(),
            });
        }
        Ok(Guard { features, file })
    }

    /// Feature rows of a batch (normalised as the model expects).
    pub fn features(&self, images: &ArrayD<f32>) -> Result<Vec<FeatureRow>> {
        Ok(self.features.compute_batch(images)?)
    }

    /// Verdicts for a batch `(N, …)` (normalised as the model expects).
    pub fn check(&self, images: &ArrayD<f32>) -> Result<Vec<Verdict>> {
        let rows = self.features(images)?;
        let (x, _) = FeatureRow::complete_matrix(&rows, self.features.len());
        let mut scores = if x.nrows() == 0 {
            Vec::new()
        } else {
            self.file.detector.score(&x)?
        }
        .into_iter();
        Ok(rows
            .iter()
            .map(|r| {
                let score = r.complete().and_then(|_| scores.next());
                Verdict {
                    predicted: r.predicted,
                    score,
                    flagged: score.is_none_or(|s| s >= self.file.threshold),
                }
            })
            .collect())
    }

    /// The decision threshold.
    pub fn threshold(&self) -> f64 {
        self.file.threshold
    }

    /// The feature extraction the guard scores.
    pub fn path_features(&self) -> &PathFeatures<'a> {
        &self.features
    }

    /// The trained detector.
    pub fn detector(&self) -> &DetectorModel {
        &self.file.detector
    }
}
