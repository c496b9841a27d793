//! Abstract element spaces: what a path is a subset *of*.
//!
//! A [`PathSpace`] lists the traced layers of one network, in forward order. Each
//! [`LayerSpace`] gives the shapes (and hence sizes) of the layer's three element spaces:
//! neurons (the layer's output tensor), synapses (in the canonical compact encoding of spec
//! §1.5) and weights. The crate knows nothing else about the network: the opaque
//! [`Fingerprint`] supplied by the caller ties a space to one network's content.

use serde::{Deserialize, Serialize};

use crate::error::{AlgebraError, LayerSpaceIssue, PathSpaceIssue, Result, SpaceDifference};
use crate::kind::{ElementKind, Fingerprint, LayerKind, LayerSelection};

/// Largest size of one element space, in bits (2⁴⁰ ≈ 1.1·10¹², i.e. 128 GiB of bitset).
pub const MAX_SPACE_BITS: usize = 1 << 40;
/// Largest number of layers in a [`PathSpace`].
pub const MAX_LAYERS: usize = 1 << 16;
/// Largest length of a layer name, in bytes.
pub const MAX_NAME_LEN: usize = 4096;
/// Largest number of dimensions of an element-space shape.
pub const MAX_RANK: usize = 8;

/// Shapes and sizes of the three element spaces of one traced layer.
///
/// A shape's size is the product of its dimensions; an **empty shape denotes an absent space
/// of size 0** (e.g. the weights of a pooling layer), not a scalar.
///
/// ```
/// use effpath_algebra::{ElementKind, LayerSpace};
/// let conv1 = LayerSpace::conv2d("conv1", 1, 6, 1, [5, 5], [24, 24])?;
/// assert_eq!(conv1.size(ElementKind::Synapse), 86_400);
/// assert_eq!(conv1.unravel(ElementKind::Weight, 149), Some(vec![5, 0, 4, 4]));
/// # Ok::<(), effpath_algebra::AlgebraError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "LayerSpaceRepr", into = "LayerSpaceRepr")]
pub struct LayerSpace {
    name: String,
    kind: LayerKind,
    shapes: [Vec<usize>; 3],
    sizes: [usize; 3],
}

/// Serde form of [`LayerSpace`] (validated on deserialization).
#[derive(Clone, Serialize, Deserialize)]
struct LayerSpaceRepr {
    name: String,
    kind: LayerKind,
    neuron_shape: Vec<usize>,
    synapse_shape: Vec<usize>,
    weight_shape: Vec<usize>,
}

impl TryFrom<LayerSpaceRepr> for LayerSpace {
    type Error = AlgebraError;
    fn try_from(r: LayerSpaceRepr) -> Result<Self> {
        LayerSpace::new(
            r.name,
            r.kind,
            r.neuron_shape,
            r.synapse_shape,
            r.weight_shape,
        )
    }
}

impl From<LayerSpace> for LayerSpaceRepr {
    fn from(s: LayerSpace) -> Self {
        let [neuron_shape, synapse_shape, weight_shape] = s.shapes;
        LayerSpaceRepr {
            name: s.name,
            kind: s.kind,
            neuron_shape,
            synapse_shape,
            weight_shape,
        }
    }
}

fn shape_size(name: &str, kind: ElementKind, shape: &[usize]) -> Result<usize> {
    let invalid = |reason: LayerSpaceIssue| AlgebraError::InvalidLayerSpace {
        name: name.to_owned(),
        reason,
    };
    if shape.len() > MAX_RANK {
        return Err(invalid(LayerSpaceIssue::TooManyDimensions {
            kind,
            shape: shape.to_vec(),
        }));
    }
    if shape.is_empty() {
        return Ok(0);
    }
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= MAX_SPACE_BITS)
        .ok_or_else(|| {
            invalid(LayerSpaceIssue::TooManyElements {
                kind,
                shape: shape.to_vec(),
            })
        })
}

impl LayerSpace {
    /// A layer space from explicit shapes (neurons, synapses, weights).
    ///
    /// Errors ([`AlgebraError::InvalidLayerSpace`]) if a non-weighted layer has weights, a
    /// shape has more than [`MAX_RANK`] dimensions or more than [`MAX_SPACE_BITS`] elements,
    /// or the name is longer than [`MAX_NAME_LEN`] bytes.
    pub fn new(
        name: impl Into<String>,
        kind: LayerKind,
        neuron_shape: Vec<usize>,
        synapse_shape: Vec<usize>,
        weight_shape: Vec<usize>,
    ) -> Result<Self> {
        let name = name.into();
        if name.len() > MAX_NAME_LEN {
            return Err(AlgebraError::InvalidLayerSpace {
                name: name.chars().take(40).collect(),
                reason: LayerSpaceIssue::NameTooLong { len: name.len() },
            });
        }
        let shapes = [neuron_shape, synapse_shape, weight_shape];
        let mut sizes = [0usize; 3];
        for kind_e in ElementKind::ALL {
            sizes[kind_e.index()] = shape_size(&name, kind_e, &shapes[kind_e.index()])?;
        }
        if !kind.is_weighted() && sizes[ElementKind::Weight.index()] != 0 {
            return Err(AlgebraError::InvalidLayerSpace {
                name,
                reason: LayerSpaceIssue::UnexpectedWeights {
                    kind,
                    weight_shape: shapes[2].clone(),
                },
            });
        }
        Ok(LayerSpace {
            name,
            kind,
            shapes,
            sizes,
        })
    }

    /// A layer space from sizes only (each shape is one flat dimension; size 0 = absent).
    pub fn flat(
        name: impl Into<String>,
        kind: LayerKind,
        neurons: usize,
        synapses: usize,
        weights: usize,
    ) -> Result<Self> {
        let flat = |n: usize| if n == 0 { Vec::new() } else { vec![n] };
        LayerSpace::new(name, kind, flat(neurons), flat(synapses), flat(weights))
    }

    /// Dense layer `n_in → n_out`: neurons (n_out), synapses (n_in, n_out), weights (n_out, n_in).
    pub fn dense(name: impl Into<String>, n_in: usize, n_out: usize) -> Result<Self> {
        LayerSpace::new(
            name,
            LayerKind::Dense,
            vec![n_out],
            vec![n_in, n_out],
            vec![n_out, n_in],
        )
    }

    /// 2-D convolution with `groups` groups, kernel `[kh, kw]` and output size `[oh, ow]`:
    /// neurons (c_out, oh, ow), synapses (c_in/groups, kh, kw, c_out, oh, ow),
    /// weights (c_out, c_in/groups, kh, kw).
    pub fn conv2d(
        name: impl Into<String>,
        c_in: usize,
        c_out: usize,
        groups: usize,
        kernel: [usize; 2],
        output: [usize; 2],
    ) -> Result<Self> {
        let name = name.into();
        if groups == 0 || !c_in.is_multiple_of(groups) || !c_out.is_multiple_of(groups) {
            return Err(AlgebraError::InvalidLayerSpace {
                name,
                reason: LayerSpaceIssue::Groups {
                    groups,
                    c_in,
                    c_out,
                },
            });
        }
        let [kh, kw] = kernel;
        let [oh, ow] = output;
        let cg = c_in / groups;
        LayerSpace::new(
            name,
            LayerKind::Conv2d,
            vec![c_out, oh, ow],
            vec![cg, kh, kw, c_out, oh, ow],
            vec![c_out, cg, kh, kw],
        )
    }

    /// 2-D max pooling over `channels` channels: neurons (c, oh, ow), synapses (kh, kw, c, oh, ow).
    pub fn max_pool2d(
        name: impl Into<String>,
        channels: usize,
        kernel: [usize; 2],
        output: [usize; 2],
    ) -> Result<Self> {
        Self::pool(name, LayerKind::MaxPool2d, channels, kernel, output)
    }

    /// 2-D average pooling over `channels` channels: neurons (c, oh, ow), synapses (kh, kw, c, oh, ow).
    pub fn avg_pool2d(
        name: impl Into<String>,
        channels: usize,
        kernel: [usize; 2],
        output: [usize; 2],
    ) -> Result<Self> {
        Self::pool(name, LayerKind::AvgPool2d, channels, kernel, output)
    }

    fn pool(
        name: impl Into<String>,
        kind: LayerKind,
        c: usize,
        [kh, kw]: [usize; 2],
        [oh, ow]: [usize; 2],
    ) -> Result<Self> {
        LayerSpace::new(
            name,
            kind,
            vec![c, oh, ow],
            vec![kh, kw, c, oh, ow],
            Vec::new(),
        )
    }

    /// Global average pooling of a (c, h, w) input: neurons (c), synapses (c, h, w).
    pub fn global_avg_pool(name: impl Into<String>, input: [usize; 3]) -> Result<Self> {
        LayerSpace::new(
            name,
            LayerKind::GlobalAvgPool,
            vec![input[0]],
            input.to_vec(),
            Vec::new(),
        )
    }

    /// Layer name (unique within a [`PathSpace`]).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Layer kind.
    pub fn kind(&self) -> LayerKind {
        self.kind
    }

    /// Number of elements of one element space.
    pub fn size(&self, kind: ElementKind) -> usize {
        self.sizes[kind.index()]
    }

    /// Number of neurons (output tensor elements).
    pub fn neurons(&self) -> usize {
        self.size(ElementKind::Neuron)
    }

    /// Number of synapses (multiply-accumulates for conv/dense).
    pub fn synapses(&self) -> usize {
        self.size(ElementKind::Synapse)
    }

    /// Number of weights (0 for pooling layers).
    pub fn weights(&self) -> usize {
        self.size(ElementKind::Weight)
    }

    /// Shape of one element space (empty = absent space).
    pub fn shape(&self, kind: ElementKind) -> &[usize] {
        &self.shapes[kind.index()]
    }

    /// Multi-index of a flat (row-major) index, or `None` if out of range.
    pub fn unravel(&self, kind: ElementKind, flat: usize) -> Option<Vec<usize>> {
        if flat >= self.size(kind) {
            return None;
        }
        let shape = self.shape(kind);
        let mut out = vec![0; shape.len()];
        let mut rest = flat;
        for (o, &d) in out.iter_mut().zip(shape).rev() {
            *o = rest % d;
            rest /= d;
        }
        Some(out)
    }

    /// Flat (row-major) index of a multi-index, or `None` if the rank or a coordinate is wrong.
    pub fn ravel(&self, kind: ElementKind, index: &[usize]) -> Option<usize> {
        let shape = self.shape(kind);
        if shape.is_empty() || index.len() != shape.len() {
            return None;
        }
        index
            .iter()
            .zip(shape)
            .try_fold(0usize, |acc, (&i, &d)| (i < d).then(|| acc * d + i))
    }
}

/// The element spaces of every traced layer of one network, in forward order, plus the
/// network's fingerprint. Paths over the same `PathSpace` (equal fingerprint and layers) can
/// be combined; share it through an `Arc`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "PathSpaceRepr")]
pub struct PathSpace {
    fingerprint: Fingerprint,
    layers: Vec<LayerSpace>,
}

#[derive(Deserialize)]
struct PathSpaceRepr {
    fingerprint: Fingerprint,
    layers: Vec<LayerSpace>,
}

impl TryFrom<PathSpaceRepr> for PathSpace {
    type Error = AlgebraError;
    fn try_from(r: PathSpaceRepr) -> Result<Self> {
        PathSpace::new(r.fingerprint, r.layers)
    }
}

impl PathSpace {
    /// A path space; errors if two layers share a name or there are more than [`MAX_LAYERS`].
    pub fn new(fingerprint: impl Into<Fingerprint>, layers: Vec<LayerSpace>) -> Result<Self> {
        if layers.len() > MAX_LAYERS {
            return Err(AlgebraError::InvalidPathSpace {
                reason: PathSpaceIssue::TooManyLayers {
                    layers: layers.len(),
                },
            });
        }
        let mut names: Vec<&str> = layers.iter().map(|l| l.name()).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(AlgebraError::InvalidPathSpace {
                reason: PathSpaceIssue::DuplicateName {
                    name: w[0].to_owned(),
                },
            });
        }
        Ok(PathSpace {
            fingerprint: fingerprint.into(),
            layers,
        })
    }

    /// The network fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// All layer spaces, in forward order.
    pub fn layers(&self) -> &[LayerSpace] {
        &self.layers
    }

    /// Number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// `true` if the space has no layers.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// One layer space, or [`AlgebraError::LayerOutOfRange`].
    pub fn layer(&self, layer: usize) -> Result<&LayerSpace> {
        self.layers.get(layer).ok_or(AlgebraError::LayerOutOfRange {
            layer,
            layers: self.layers.len(),
        })
    }

    /// Index of the layer with this name.
    pub fn layer_index(&self, name: &str) -> Option<usize> {
        self.layers.iter().position(|l| l.name() == name)
    }

    /// Indices of the selected layers, in forward order.
    pub fn selected(&self, selection: LayerSelection) -> impl Iterator<Item = usize> + '_ {
        self.layers
            .iter()
            .enumerate()
            .filter(move |(_, l)| selection.includes(l.kind()))
            .map(|(i, _)| i)
    }

    /// Total size of one element space over the selected layers.
    pub fn total(&self, kind: ElementKind, selection: LayerSelection) -> usize {
        self.selected(selection)
            .map(|i| self.layers[i].size(kind))
            .sum()
    }

    /// `Ok` if `other` describes the same network and layers, else
    /// [`AlgebraError::SpaceMismatch`] naming the first difference.
    pub fn check_same(&self, other: &PathSpace) -> Result<()> {
        let detail = if self.fingerprint != other.fingerprint {
            SpaceDifference::Fingerprint
        } else if self.layers.len() != other.layers.len() {
            SpaceDifference::LayerCount {
                left: self.layers.len(),
                right: other.layers.len(),
            }
        } else if let Some((index, (a, b))) = self
            .layers
            .iter()
            .zip(&other.layers)
            .enumerate()
            .find(|(_, (a, b))| a != b)
        {
            SpaceDifference::Layer {
                index,
                left: Box::new(a.clone()),
                right: Box::new(b.clone()),
            }
        } else {
            return Ok(());
        };
        Err(AlgebraError::SpaceMismatch {
            left: self.fingerprint,
            right: other.fingerprint,
            detail,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conv_and_pool_shapes_follow_the_compact_encoding() {
        let c = LayerSpace::conv2d("c", 6, 16, 1, [5, 5], [8, 8]).unwrap();
        assert_eq!(c.shape(ElementKind::Synapse), &[6, 5, 5, 16, 8, 8]);
        assert_eq!(
            (c.neurons(), c.synapses(), c.weights()),
            (1024, 153_600, 2400)
        );
        let g = LayerSpace::conv2d("g", 8, 4, 2, [3, 3], [2, 2]).unwrap();
        assert_eq!(g.shape(ElementKind::Weight), &[4, 4, 3, 3]);
        assert!(LayerSpace::conv2d("bad", 3, 4, 2, [3, 3], [2, 2]).is_err());
        let p = LayerSpace::max_pool2d("p", 6, [2, 2], [12, 12]).unwrap();
        assert_eq!((p.neurons(), p.synapses(), p.weights()), (864, 3456, 0));
        let gap = LayerSpace::global_avg_pool("gap", [64, 7, 7]).unwrap();
        assert_eq!((gap.neurons(), gap.synapses()), (64, 3136));
    }

    #[test]
    fn ravel_and_unravel_are_inverse() {
        let c = LayerSpace::conv2d("c", 1, 6, 1, [5, 5], [24, 24]).unwrap();
        let idx = [0, 2, 3, 4, 10, 11];
        let flat = c.ravel(ElementKind::Synapse, &idx).unwrap();
        assert_eq!(flat, ((((2 * 5 + 3) * 6 + 4) * 24 + 10) * 24) + 11);
        assert_eq!(c.unravel(ElementKind::Synapse, flat).unwrap(), idx);
        assert_eq!(c.unravel(ElementKind::Synapse, 86_400), None);
        assert_eq!(c.ravel(ElementKind::Synapse, &[0, 5, 0, 0, 0, 0]), None);
        let p = LayerSpace::max_pool2d("p", 1, [2, 2], [1, 1]).unwrap();
        assert_eq!(p.ravel(ElementKind::Weight, &[]), None);
    }

    #[test]
    fn invalid_spaces_are_rejected() {
        assert!(matches!(
            LayerSpace::new("p", LayerKind::MaxPool2d, vec![4], vec![4], vec![2]),
            Err(AlgebraError::InvalidLayerSpace { .. })
        ));
        assert!(
            LayerSpace::new("x", LayerKind::Dense, vec![usize::MAX, 2], vec![1], vec![1]).is_err()
        );
        assert!(LayerSpace::new("x", LayerKind::Dense, vec![1; 9], vec![1], vec![1]).is_err());
        let a = LayerSpace::dense("a", 2, 3).unwrap();
        assert!(matches!(
            PathSpace::new([0; 32], vec![a.clone(), a]),
            Err(AlgebraError::InvalidPathSpace { .. })
        ));
    }

    #[test]
    fn check_same_names_the_difference() {
        let a = PathSpace::new([1; 32], vec![LayerSpace::dense("fc", 2, 3).unwrap()]).unwrap();
        let b = PathSpace::new([1; 32], vec![LayerSpace::dense("fc", 2, 4).unwrap()]).unwrap();
        let c = PathSpace::new([2; 32], a.layers().to_vec()).unwrap();
        assert!(a.check_same(&a.clone()).is_ok());
        let e = a.check_same(&b).unwrap_err().to_string();
        assert!(e.contains("layer 0 differs"), "{e}");
        let e = a.check_same(&c).unwrap_err().to_string();
        assert!(
            e.contains("fingerprints differ") && e.contains(&"01".repeat(32)),
            "{e}"
        );
    }

    #[test]
    fn serde_round_trip_validates() {
        let s = PathSpace::new(
            [7; 32],
            vec![LayerSpace::conv2d("c", 1, 2, 1, [3, 3], [4, 4]).unwrap()],
        )
        .unwrap();
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains(&"07".repeat(32)));
        let back: PathSpace = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        let bad = json
            .replace("\"MaxPool2d\"", "x")
            .replace("\"Conv2d\"", "\"MaxPool2d\"");
        assert!(serde_json::from_str::<PathSpace>(&bad).is_err());
    }
}
