//! The extractor: options, seeds, the backward walk over one sample, batches in parallel.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use effpath_algebra::{ElementKind, Path, PathSpace};
use effpath_ir::{Activations, Network, Op, ValueId};
use ndarray::ArrayD;
use rayon::prelude::*;

use crate::error::{ExtractError, OptionIssue, Result};
use crate::kernels::first_non_finite;
use crate::rules::{Job, LayerPicks, Rule, kernel_hwc, pass_through};
use crate::select::ThresholdBase;
use crate::space::NetworkSpace;
use crate::state::State;

/// Where a path starts (spec §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Seed {
    /// The class with the k-th largest logit (1 = the prediction, 2 = the runner-up); ties
    /// ordered by class index.
    Rank(usize),
    /// A fixed class.
    Class(usize),
}

/// Extraction options, unchecked; [`ExtractOptions::check`] validates them once into
/// [`CheckedExtractOptions`] (as [`Extractor::new`] does; the seed is checked against the
/// network there).
///
/// ```
/// use effpath_extract::{ExtractOptions, Seed};
/// let o = ExtractOptions::default().with_theta(0.3).with_seed(Seed::Rank(2)).with_last_layers(3);
/// assert_eq!(o.theta, 0.3);
/// assert_eq!(o.check()?.theta, 0.3);
/// # Ok::<(), effpath_extract::ExtractError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExtractOptions {
    /// Cumulative threshold θ ∈ (0, 1] (default 0.5).
    pub theta: f64,
    /// Which logit the path starts from (default: the prediction).
    pub seed: Seed,
    /// Extract only the last `n` weighted (Dense/Conv2d) layers, and the pools between them
    /// (the paper's partial extraction); `None` = the whole network.
    pub last_layers: Option<usize>,
    /// What θ multiplies (default: the sum of products, as the original implementation).
    pub threshold_base: ThresholdBase,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        ExtractOptions {
            theta: 0.5,
            seed: Seed::Rank(1),
            last_layers: None,
            threshold_base: ThresholdBase::ProductSum,
        }
    }
}

impl ExtractOptions {
    /// Sets θ.
    pub fn with_theta(mut self, theta: f64) -> Self {
        self.theta = theta;
        self
    }
    /// Sets the seed.
    pub fn with_seed(mut self, seed: Seed) -> Self {
        self.seed = seed;
        self
    }
    /// Restricts extraction to the last `n` weighted layers.
    pub fn with_last_layers(mut self, n: usize) -> Self {
        self.last_layers = Some(n);
        self
    }
    /// Sets the threshold base.
    pub fn with_threshold_base(mut self, base: ThresholdBase) -> Self {
        self.threshold_base = base;
        self
    }

    /// Validates the options on their own (whatever the network): θ ∈ (0, 1] and
    /// `last_layers` ≥ 1 when given. The one place these rules live.
    ///
    /// ```
    /// use effpath_extract::{ExtractOptions, OptionIssue};
    /// assert!(matches!(
    ///     ExtractOptions::default().with_theta(1.5).check(),
    ///     Err(OptionIssue::Theta(t)) if t == 1.5
    /// ));
    /// assert_eq!(
    ///     ExtractOptions::default().with_last_layers(0).check(),
    ///     Err(OptionIssue::LastLayers)
    /// );
    /// ```
    pub fn check(self) -> std::result::Result<CheckedExtractOptions, OptionIssue> {
        if !(self.theta > 0.0 && self.theta <= 1.0) {
            return Err(OptionIssue::Theta(self.theta));
        }
        if self.last_layers == Some(0) {
            return Err(OptionIssue::LastLayers);
        }
        Ok(CheckedExtractOptions(self))
    }
}

/// [`ExtractOptions`] that passed [`ExtractOptions::check`]; built only by it (or by
/// deserialising, which checks). Derefs to the options to read them.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "ExtractOptions", into = "ExtractOptions")]
pub struct CheckedExtractOptions(ExtractOptions);

impl CheckedExtractOptions {
    /// The options.
    pub fn get(&self) -> &ExtractOptions {
        &self.0
    }
}

impl Default for CheckedExtractOptions {
    /// The default options (valid).
    fn default() -> Self {
        CheckedExtractOptions(ExtractOptions::default())
    }
}

impl std::ops::Deref for CheckedExtractOptions {
    type Target = ExtractOptions;

    fn deref(&self) -> &ExtractOptions {
        &self.0
    }
}

impl TryFrom<ExtractOptions> for CheckedExtractOptions {
    type Error = OptionIssue;

    fn try_from(options: ExtractOptions) -> std::result::Result<Self, OptionIssue> {
        options.check()
    }
}

impl From<CheckedExtractOptions> for ExtractOptions {
    fn from(options: CheckedExtractOptions) -> Self {
        options.0
    }
}

/// The path of one sample with what it was seeded on.
#[derive(Debug, Clone, PartialEq)]
pub struct Extraction {
    /// The effective path.
    pub path: Path,
    /// The class the path starts from.
    pub seed_class: usize,
    /// The predicted class (top-1 logit, first on ties).
    pub predicted: usize,
    /// Points that got contradicting batch-norm flip signs from two readers (reset to +1).
    pub flip_conflicts: usize,
}

/// Extracts effective paths from one network with fixed options.
///
/// ```
/// use effpath_extract::{Extractor, ExtractOptions};
/// let net = effpath_ir::zoo::lenet5(1);
/// let ex = Extractor::new(&net, ExtractOptions::default())?;
/// let x = ndarray::ArrayD::from_elem(ndarray::IxDyn(&[1, 28, 28]), 0.5f32);
/// let e = ex.extract(&x)?;
/// assert_eq!(e.seed_class, e.predicted);
/// assert_eq!(e.path.layers()[6].count(effpath_algebra::ElementKind::Neuron), 1); // the seed logit
/// # Ok::<(), effpath_extract::ExtractError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Extractor<'n> {
    net: &'n Network,
    space: NetworkSpace,
    options: CheckedExtractOptions,
    /// Per node: a convolution's kernel reordered for position-major candidates (made on
    /// first use, shared by clones and threads).
    kernels: Arc<[OnceLock<Vec<f32>>]>,
}

fn sample_slice(a: &ArrayD<f32>, n: usize) -> Cow<'_, [f32]> {
    let per = a.len() / a.shape()[0].max(1);
    match a.as_slice() {
        Some(s) => Cow::Borrowed(&s[n * per..(n + 1) * per]),
        None => Cow::Owned(a.index_axis(ndarray::Axis(0), n).iter().copied().collect()),
    }
}

impl<'n> Extractor<'n> {
    /// Validates the options ([`ExtractOptions::check`]) and the seed against the network.
    pub fn new(net: &'n Network, options: ExtractOptions) -> Result<Self> {
        let options = options.check()?;
        let classes = net.num_classes();
        match options.seed {
            Seed::Rank(k) if k == 0 || k > classes => {
                return Err(ExtractError::SeedRank { rank: k, classes });
            }
            Seed::Class(c) if c >= classes => {
                return Err(ExtractError::SeedClass { class: c, classes });
            }
            _ => {}
        }
        Ok(Extractor {
            net,
            space: NetworkSpace::new(net)?,
            options,
            kernels: net.nodes().iter().map(|_| OnceLock::new()).collect(),
        })
    }

    /// The path space of the network.
    pub fn space(&self) -> &Arc<PathSpace> {
        self.space.space()
    }

    /// The options.
    pub fn options(&self) -> &ExtractOptions {
        &self.options
    }

    /// The options, checked (as class paths record them).
    pub fn checked_options(&self) -> CheckedExtractOptions {
        self.options
    }

    /// The network.
    pub fn network(&self) -> &'n Network {
        self.net
    }

    /// Runs the network on one input (per-sample shape or a batch of one) and extracts its path.
    pub fn extract(&self, input: &ArrayD<f32>) -> Result<Extraction> {
        let acts = self.net.forward(input)?;
        if acts.batch_size() != 1 {
            return Err(ExtractError::Sample {
                index: 1,
                batch: acts.batch_size(),
            });
        }
        self.extract_sample(&acts, 0)
    }

    /// Runs a batch `(N, …)` once and extracts every sample's path in parallel (rayon);
    /// the result does not depend on the thread count.
    pub fn extract_batch(&self, inputs: &ArrayD<f32>) -> Result<Vec<Extraction>> {
        let acts = self.net.forward(inputs)?;
        (0..acts.batch_size())
            .into_par_iter()
            .map(|n| self.extract_sample(&acts, n))
            .collect()
    }

    /// Extracts the path of sample `n` from the activations of a forward pass of this network.
    pub fn extract_sample(&self, acts: &Activations, n: usize) -> Result<Extraction> {
        let net = self.net;
        if n >= acts.batch_size() || acts.values().len() != net.nodes().len() + 1 {
            return Err(ExtractError::Sample {
                index: n,
                batch: acts.batch_size(),
            });
        }
        let values: Vec<Cow<[f32]>> = acts.values().iter().map(|a| sample_slice(a, n)).collect();
        let find = |vals: &Cow<[f32]>| first_non_finite(vals);
        let numel: usize = values.iter().map(|v| v.len()).sum();
        let non_finite: Vec<Option<usize>> = if numel < PARALLEL_ELEMENTS {
            values.iter().map(find).collect()
        } else {
            values.par_iter().map(find).collect()
        };
        for (v, found) in non_finite.into_iter().enumerate() {
            if let Some(index) = found {
                let tensor = net
                    .producer(ValueId(v))
                    .map_or(net.input_name().to_string(), |p| p.name.clone());
                return Err(ExtractError::NonFinite {
                    tensor,
                    sample: n,
                    index,
                });
            }
        }
        let logits_v = net.logits();
        let (seed_class, predicted) = seed_class(&values[logits_v.0], self.options.seed);
        let mut state = State::new(net);
        state.add(logits_v.0, seed_class as u32, 1);
        let rule = Rule {
            theta: self.options.theta,
            base: self.options.threshold_base,
        };
        let mut path = Path::empty(self.space.space());
        // What each traced layer keeps; its sets are built at the end, layers in parallel.
        let mut kept: Vec<(usize, ElementKind, Vec<usize>)> = Vec::new();
        let mut weighted = 0;
        for (i, node) in net.nodes().iter().enumerate().rev() {
            // Partial extraction counts every weighted node in reverse topological order,
            // traced or not, so that which layers are extracted never depends on the input
            // (or on θ): a skip connection that bypasses a weighted node still counts it.
            if node.op.is_weighted() {
                weighted += 1;
            }
            let stop = self.options.last_layers.is_some_and(|n| weighted >= n);
            let Some((mut points, flips)) = state.take(i + 1) else {
                if stop {
                    break;
                }
                continue;
            };
            let layer = self.space.layer_of_node(i);
            let flips = if layer.is_none() {
                let input = node.inputs[0].0;
                let (x, y) = (&*values[input], &*values[i + 1]);
                let out_shape = net.shape(ValueId(i + 1));
                match pass_through(&node.op, x, y, out_shape, &points.list, flips) {
                    Ok(flips) => {
                        state.add_all(input, points, flips);
                        if stop {
                            break;
                        }
                        continue;
                    }
                    Err(flips) => flips,
                }
            } else {
                flips
            };
            // Trace a layer's points in index order — channel by channel for a convolution,
            // so neighbouring neurons read the same kernel and overlapping windows (the path
            // does not depend on the order: kept elements are sets, a flip is −1 only if every
            // reader gave −1).
            points.list.sort_unstable();
            let job = Job {
                node,
                xs: node.inputs.iter().map(|v| &*values[v.0]).collect(),
                y: &values[i + 1],
                in_shapes: node.inputs.iter().map(|v| net.shape(*v)).collect(),
                out_shape: net.shape(ValueId(i + 1)),
                points: &points.list,
                flips: flips.as_deref(),
                kernel: self.kernel(i),
            };
            let mut picks = LayerPicks::default();
            rule.trace(&job, &mut state, &mut picks);
            if let Some(layer) = layer {
                kept.push((
                    layer,
                    ElementKind::Neuron,
                    points.list.iter().map(|&p| p as usize).collect(),
                ));
                kept.push((layer, ElementKind::Synapse, picks.synapses));
                kept.push((layer, ElementKind::Weight, picks.weights));
            }
            if stop {
                break;
            }
        }
        let build = |(layer, kind, idx): (usize, ElementKind, Vec<usize>)| {
            Ok((layer, kind, path.build_set(layer, kind, idx)?))
        };
        let total: usize = kept.iter().map(|k| k.2.len()).sum();
        let sets = if total < PARALLEL_ELEMENTS {
            kept.into_iter().map(build).collect::<Result<Vec<_>>>()?
        } else {
            kept.into_par_iter()
                .map(build)
                .collect::<Result<Vec<_>>>()?
        };
        for (layer, kind, set) in sets {
            path.insert_set(layer, kind, set)?;
        }
        Ok(Extraction {
            path,
            seed_class,
            predicted,
            flip_conflicts: state.conflicts,
        })
    }
}

impl Extractor<'_> {
    /// The `(C_out, kh, kw, C_in)` kernel of node `i` if it is a convolution the rules read
    /// position-major (undilated, larger than 1×1).
    fn kernel(&self, i: usize) -> Option<&[f32]> {
        let Op::Conv2d(c) = &self.net.nodes()[i].op else {
            return None;
        };
        let (_, _, kh, kw) = c.weight.dim();
        (c.dilation == [1, 1] && kh * kw > 1)
            .then(|| self.kernels[i].get_or_init(|| kernel_hwc(c)).as_slice())
    }
}

/// Below this many elements a per-image sweep stays on the calling thread (a rayon
/// fork-join costs about as much as sweeping this many elements).
const PARALLEL_ELEMENTS: usize = 1 << 16;

/// (seed class, predicted class) from one sample's logits.
fn seed_class(logits: &[f32], seed: Seed) -> (usize, usize) {
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
    let class = match seed {
        Seed::Rank(k) => order[k - 1],
        Seed::Class(c) => c,
    };
    (class, order[0])
}

/// The effective path of `input` through `net` at threshold `theta`, seeded at the prediction.
///
/// ```
/// let net = effpath_ir::zoo::lenet5(3);
/// let x = ndarray::ArrayD::from_elem(ndarray::IxDyn(&[1, 28, 28]), 0.2f32);
/// let path = effpath_extract::extract_path(&net, &x, 0.5)?;
/// assert!(path.count(effpath_algebra::ElementKind::Synapse, effpath_algebra::LayerSelection::All) > 0);
/// # Ok::<(), effpath_extract::ExtractError>(())
/// ```
pub fn extract_path(net: &Network, input: &ArrayD<f32>, theta: f64) -> Result<Path> {
    Ok(
        Extractor::new(net, ExtractOptions::default().with_theta(theta))?
            .extract(input)?
            .path,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_checked_once_into_the_checked_type() {
        let o = ExtractOptions::default()
            .with_theta(0.25)
            .with_last_layers(2);
        let checked = o.check().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((checked.theta, checked.last_layers), (0.25, Some(2)));
        assert_eq!(checked.get(), &o);
        assert_eq!(ExtractOptions::from(checked), o);
        for theta in [0.0, -1.0, 1.0 + 1e-12, f64::NAN, f64::INFINITY] {
            let got = ExtractOptions::default().with_theta(theta).check();
            assert!(
                matches!(got, Err(OptionIssue::Theta(t)) if t.to_bits() == theta.to_bits()),
                "{theta}: {got:?}"
            );
        }
        assert_eq!(
            ExtractOptions::default().with_last_layers(0).check(),
            Err(OptionIssue::LastLayers)
        );
        // The extractor refuses them with the same typed error.
        let net = effpath_ir::zoo::lenet5(0);
        let err = Extractor::new(&net, ExtractOptions::default().with_theta(2.0)).err();
        assert!(
            matches!(err, Some(ExtractError::Options(OptionIssue::Theta(2.0)))),
            "{err:?}"
        );
        assert_eq!(
            err.map(|e| e.to_string()).unwrap_or_default(),
            "theta must be in (0, 1], got 2"
        );
    }

    #[test]
    fn deserialising_checked_options_checks_them() {
        let json = serde_json::to_string(&ExtractOptions::default().with_theta(0.3))
            .unwrap_or_else(|e| panic!("{e}"));
        let ok: CheckedExtractOptions =
            serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok.theta, 0.3);
        assert_eq!(
            serde_json::to_string(&ok).unwrap_or_default(),
            json,
            "serialised as the plain options"
        );
        let bad = json.replace("0.3", "1.5");
        let err = serde_json::from_str::<CheckedExtractOptions>(&bad)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("theta must be in (0, 1], got 1.5"), "{err}");
        assert!(serde_json::from_str::<ExtractOptions>(&bad).is_ok());
    }
}
