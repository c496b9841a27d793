//! Detection features (spec §4.3–4.4): per weighted layer, the similarity |S ∩ P| / |S| of an
//! image's rank-1 path with its predicted class's path and of its rank-2 path with the
//! runner-up class's path.

use effpath_algebra::{ElementKind, Path};
use effpath_ir::{Activations, Network};
use ndarray::{Array2, ArrayD};
use rayon::prelude::*;

use crate::error::{ExtractError, OptionIssue, Result};
use crate::extractor::{ExtractOptions, Extraction, Extractor, Seed};
use crate::profile::ClassPaths;

/// The similarity of a layer in which the image's path is empty (|S| = 0, so |S ∩ P| / |S| is
/// 0/0). On a residual network this is common, not an accident: with θ ≤ ½ an `Add` keeps
/// one summand (decision 12), so a projection or block branch the other summand dominates
/// keeps nothing.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum EmptyLayer {
    /// Undefined (`None`): detectors drop the row, as the original does (spec §4.4,
    /// decision 14). The default, for parity; files written before the option existed mean
    /// this.
    #[default]
    Undefined,
    /// 1: nothing of the image's path in that layer lies outside the class path (the
    /// fraction outside, |S \ P| / |S|, is taken as 0). Keeps every row of a residual
    /// network.
    One,
}

impl EmptyLayer {
    /// Every policy.
    pub const ALL: [EmptyLayer; 2] = [EmptyLayer::Undefined, EmptyLayer::One];

    /// The name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            EmptyLayer::Undefined => "undefined",
            EmptyLayer::One => "one",
        }
    }

    /// The similarity value of an empty image layer under this policy.
    fn value(self) -> Option<f64> {
        match self {
            EmptyLayer::Undefined => None,
            EmptyLayer::One => Some(1.0),
        }
    }
}

impl std::fmt::Display for EmptyLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for EmptyLayer {
    type Err = ExtractError;

    fn from_str(s: &str) -> Result<Self> {
        EmptyLayer::ALL
            .into_iter()
            .find(|e| e.name() == s)
            .ok_or_else(|| ExtractError::UnknownEmptyLayer {
                name: s.to_owned(),
                known: EmptyLayer::ALL.map(EmptyLayer::name).to_vec(),
            })
    }
}

/// Options of [`PathFeatures`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FeatureOptions {
    /// How the image paths are extracted (θ, partial extraction); the seed is set per rank.
    pub extract: ExtractOptions,
    /// Keep only the features of the last `n` weighted layers (the extraction is unchanged).
    pub last_layers: Option<usize>,
    /// Which elements are compared (the original uses synapses).
    pub kind: ElementKind,
    /// The similarity of a layer where the image path is empty.
    #[serde(default)]
    pub empty_layer: EmptyLayer,
}

impl Default for FeatureOptions {
    fn default() -> Self {
        FeatureOptions {
            extract: ExtractOptions::default(),
            last_layers: None,
            kind: ElementKind::Synapse,
            empty_layer: EmptyLayer::Undefined,
        }
    }
}

/// The features of one image.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureRow {
    /// Predicted class (rank 1).
    pub predicted: usize,
    /// Runner-up class (rank 2).
    pub runner_up: usize,
    /// `[rank-1 similarity per layer…, rank-2 similarity per layer…]`, layers in forward
    /// order; `None` where the class has no path, or the image path is empty in that layer
    /// and [`FeatureOptions::empty_layer`] leaves it undefined.
    pub values: Vec<Option<f64>>,
}

impl FeatureRow {
    /// The values if every one is defined (rows with an undefined similarity are dropped).
    pub fn complete(&self) -> Option<Vec<f64>> {
        self.values.iter().copied().collect()
    }

    /// The complete rows of `rows` (every value defined, `width` values) as a matrix with one
    /// row each, in order, and how many rows were dropped — what a detector is fitted on or
    /// scores.
    pub fn complete_matrix<'r>(
        rows: impl IntoIterator<Item = &'r FeatureRow>,
        width: usize,
    ) -> (Array2<f64>, usize) {
        let (mut flat, mut kept, mut dropped) = (Vec::new(), 0, 0);
        for row in rows {
            match row.complete() {
                Some(v) if v.len() == width => {
                    flat.extend(v);
                    kept += 1;
                }
                Some(_) | None => dropped += 1,
            }
        }
        let m = Array2::from_shape_fn((kept, width), |(i, j)| flat[i * width + j]);
        (m, dropped)
    }
}

/// Computes detection features of images against the class paths of a network.
///
/// ```
/// use effpath_extract::{ClassPaths, FeatureOptions, PathFeatures, ProfileOptions};
/// let net = effpath_ir::zoo::lenet5(2);
/// let x = ndarray::ArrayD::from_shape_fn(ndarray::IxDyn(&[6, 1, 28, 28]), |d| ((d[0] + d[2] * d[3]) % 7) as f32 / 7.0);
/// let labels: Vec<usize> = net.predict(&x)?.rows().into_iter()
///     .map(|r| r.iter().enumerate().fold(0, |b, (i, v)| if *v > r[b] { i } else { b })).collect();
/// let cp = ClassPaths::profile(&net, &x, &labels, &ProfileOptions::default(), |_, _| {})?;
/// let f = PathFeatures::new(&net, &cp, FeatureOptions::default())?;
/// let rows = f.compute_batch(&x)?;
/// assert_eq!(rows[0].values.len(), 2 * 5); // LeNet-5 has 5 weighted layers
/// assert_eq!(rows[0].values[4], Some(1.0)); // a training image lies inside its class path
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct PathFeatures<'a> {
    rank1: Extractor<'a>,
    rank2: Extractor<'a>,
    class_paths: &'a ClassPaths,
    layers: Vec<usize>,
    kind: ElementKind,
    empty_layer: EmptyLayer,
}

impl<'a> PathFeatures<'a> {
    /// Checks that the class paths belong to `net` and prepares both extractors.
    pub fn new(
        net: &'a Network,
        class_paths: &'a ClassPaths,
        options: FeatureOptions,
    ) -> Result<Self> {
        let rank1 = Extractor::new(net, options.extract.with_seed(Seed::Rank(1)))?;
        let rank2 = Extractor::new(net, options.extract.with_seed(Seed::Rank(2)))?;
        rank1.space().check_same(class_paths.path_set().space())?;
        let weighted: Vec<usize> = rank1
            .space()
            .selected(effpath_algebra::LayerSelection::Weighted)
            .collect();
        let keep = match options.last_layers {
            Some(0) => return Err(OptionIssue::LastLayers.into()),
            Some(n) => n.min(weighted.len()),
            None => weighted.len(),
        };
        let layers = weighted[weighted.len() - keep..].to_vec();
        Ok(PathFeatures {
            rank1,
            rank2,
            class_paths,
            layers,
            kind: options.kind,
            empty_layer: options.empty_layer,
        })
    }

    /// Feature names: `rank1/<layer>` then `rank2/<layer>`.
    pub fn names(&self) -> Vec<String> {
        let space = self.rank1.space();
        ["rank1", "rank2"]
            .iter()
            .flat_map(|r| {
                self.layers
                    .iter()
                    .map(move |&l| format!("{r}/{}", space.layers()[l].name()))
            })
            .collect()
    }

    /// Number of features per row.
    pub fn len(&self) -> usize {
        2 * self.layers.len()
    }

    /// `true` when there are no features (never, for a network with a weighted layer).
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    fn similarities(&self, path: &Path, class: usize, out: &mut Vec<Option<f64>>) -> Result<()> {
        for &l in &self.layers {
            out.push(match self.class_paths.class(class) {
                Some(p) => path
                    .similarity_layer(p, l, self.kind)?
                    .or(self.empty_layer.value()),
                None => None,
            });
        }
        Ok(())
    }

    /// Features of sample `n` of a forward pass.
    pub fn compute(&self, acts: &Activations, n: usize) -> Result<FeatureRow> {
        Ok(self.compute_with_paths(acts, n)?.0)
    }

    /// [`PathFeatures::compute`] with the rank-1 and rank-2 extractions the features come
    /// from (what an attacker's stand-in for the features reads).
    pub fn compute_with_paths(
        &self,
        acts: &Activations,
        n: usize,
    ) -> Result<(FeatureRow, [Extraction; 2])> {
        let e1 = self.rank1.extract_sample(acts, n)?;
        let e2 = self.rank2.extract_sample(acts, n)?;
        let mut values = Vec::with_capacity(self.len());
        self.similarities(&e1.path, e1.seed_class, &mut values)?;
        self.similarities(&e2.path, e2.seed_class, &mut values)?;
        let row = FeatureRow {
            predicted: e1.predicted,
            runner_up: e2.seed_class,
            values,
        };
        Ok((row, [e1, e2]))
    }

    /// The traced layers (indices into the path space) the features compare, in feature
    /// order: feature `k` is rank `k / n + 1` at layer `layers()[k % n]`, `n = layers().len()`.
    pub fn layers(&self) -> &[usize] {
        &self.layers
    }

    /// The class paths compared against.
    pub fn class_paths(&self) -> &'a ClassPaths {
        self.class_paths
    }

    /// The network.
    pub fn network(&self) -> &'a Network {
        self.rank1.network()
    }

    /// Features of every image of a batch `(N, …)` (normalised as the model expects), in
    /// parallel.
    pub fn compute_batch(&self, images: &ArrayD<f32>) -> Result<Vec<FeatureRow>> {
        let acts = self.rank1.network().forward(images)?;
        (0..acts.batch_size())
            .into_par_iter()
            .map(|n| self.compute(&acts, n))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::{EmptyLayer, FeatureOptions, FeatureRow};

    #[test]
    fn empty_layer_policies_parse_and_old_files_mean_undefined() {
        for e in EmptyLayer::ALL {
            assert_eq!(e.name().parse::<EmptyLayer>().ok(), Some(e));
        }
        assert_eq!(EmptyLayer::Undefined.value(), None);
        assert_eq!(EmptyLayer::One.value(), Some(1.0));
        assert!(matches!(
            "zero".parse::<EmptyLayer>(),
            Err(crate::ExtractError::UnknownEmptyLayer { .. })
        ));
        // Options serialised before the field existed load as `Undefined` (what they meant).
        let mut json = serde_json::to_value(FeatureOptions {
            empty_layer: EmptyLayer::One,
            ..FeatureOptions::default()
        })
        .unwrap_or_default();
        assert_eq!(json["empty_layer"], "one");
        json.as_object_mut().map(|o| o.remove("empty_layer"));
        match serde_json::from_value::<FeatureOptions>(json) {
            Ok(old) => assert_eq!(old.empty_layer, EmptyLayer::Undefined),
            Err(e) => panic!("options without empty_layer do not load: {e}"),
        }
    }

    fn row(values: &[Option<f64>]) -> FeatureRow {
        FeatureRow {
            predicted: 0,
            runner_up: 1,
            values: values.to_vec(),
        }
    }

    #[test]
    fn complete_matrix_keeps_complete_rows_in_order() {
        let rows = [
            row(&[Some(1.0), Some(2.0)]),
            row(&[None, Some(3.0)]),
            row(&[Some(4.0), Some(5.0)]),
            row(&[Some(6.0)]),
        ];
        let (m, dropped) = FeatureRow::complete_matrix(&rows, 2);
        assert_eq!(m, ndarray::array![[1.0, 2.0], [4.0, 5.0]]);
        assert_eq!(dropped, 2);
        let (m, dropped) = FeatureRow::complete_matrix(&rows[1..2], 2);
        assert_eq!((m.dim(), dropped), ((0, 2), 1));
    }
}
