//! `Path` (an effective path, per traced layer), `Layer` (one layer of it, with the kept
//! indices as NumPy arrays) and `extract_path`.

use std::path::PathBuf;
use std::sync::Arc;

use effpath::algebra::{ElementKind, LayerSelection};
use effpath::extract::{ExtractOptions, Extractor, Seed};
use numpy::PyArray1;
use pyo3::exceptions::{PyIndexError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::arrays;
use crate::error::IntoPy;
use crate::network::{Network, with_threads};

/// An element kind from its name (`neuron`, `synapse`, `weight`).
pub fn kind(name: &str) -> PyResult<ElementKind> {
    ElementKind::ALL
        .into_iter()
        .find(|k| k.name() == name)
        .ok_or_else(|| {
            PyValueError::new_err(format!(
                "element kind `{name}` is not one of neuron, synapse, weight"
            ))
        })
}

/// A layer selection from its name (`all`: every traced layer; `weighted`: conv and dense).
pub fn selection(name: &str) -> PyResult<LayerSelection> {
    match name {
        "all" => Ok(LayerSelection::All),
        "weighted" => Ok(LayerSelection::Weighted),
        other => Err(PyValueError::new_err(format!(
            "layer selection `{other}` is not `all` or `weighted`"
        ))),
    }
}

/// The extraction options of the Python API (θ, the logit rank, partial extraction); the
/// Rust core checks them when an extractor is made.
pub fn extract_options(theta: f64, rank: usize, last_layers: Option<usize>) -> ExtractOptions {
    let mut options = ExtractOptions::default()
        .with_theta(theta)
        .with_seed(Seed::Rank(rank));
    options.last_layers = last_layers;
    options
}

/// The effective path of one input: per traced layer (conv, dense, pools), the kept neurons,
/// synapses and weights.
#[pyclass(module = "effpath._native", frozen, eq)]
pub struct Path {
    pub(crate) inner: Arc<effpath::algebra::Path>,
    predicted: Option<usize>,
    seed_class: Option<usize>,
}

impl PartialEq for Path {
    fn eq(&self, other: &Self) -> bool {
        self.inner == other.inner
    }
}

impl Path {
    pub(crate) fn new(path: effpath::algebra::Path) -> Self {
        Path {
            inner: Arc::new(path),
            predicted: None,
            seed_class: None,
        }
    }
}

#[pymethods]
impl Path {
    /// The traced layers, in forward order.
    #[getter]
    fn layers(&self) -> Vec<Layer> {
        (0..self.inner.layers().len())
            .map(|index| Layer {
                path: Arc::clone(&self.inner),
                index,
            })
            .collect()
    }

    /// One traced layer, by position or by node name.
    fn layer(&self, key: &Bound<'_, PyAny>) -> PyResult<Layer> {
        let space = self.inner.space();
        let index = if let Ok(i) = key.extract::<usize>() {
            (i < space.len()).then_some(i).ok_or_else(|| {
                PyIndexError::new_err(format!("layer {i}: the path has {} layers", space.len()))
            })?
        } else {
            let name: String = key.extract()?;
            space.layer_index(&name).ok_or_else(|| {
                PyIndexError::new_err(format!("the path has no layer named `{name}`"))
            })?
        };
        Ok(Layer {
            path: Arc::clone(&self.inner),
            index,
        })
    }

    /// The class the path starts from (`None` for a path read from bytes).
    #[getter]
    fn seed_class(&self) -> Option<usize> {
        self.seed_class
    }

    /// The predicted class of the input (`None` for a path read from bytes).
    #[getter]
    fn predicted(&self) -> Option<usize> {
        self.predicted
    }

    /// Fingerprint of the network the path belongs to.
    #[getter]
    fn fingerprint(&self) -> String {
        self.inner.space().fingerprint().to_string()
    }

    /// Number of kept elements of `kind` over the selected layers.
    #[pyo3(signature = (kind = "synapse", selection = "all"))]
    fn count(&self, kind: &str, selection: &str) -> PyResult<usize> {
        Ok(self
            .inner
            .count(self::kind(kind)?, self::selection(selection)?))
    }

    /// Kept ÷ all elements of `kind` over the selected layers (`None` when they have none).
    #[pyo3(signature = (kind = "synapse", selection = "all"))]
    fn density(&self, kind: &str, selection: &str) -> PyResult<Option<f64>> {
        Ok(self
            .inner
            .density(self::kind(kind)?, self::selection(selection)?))
    }

    /// |A ∩ B| / |A ∪ B| of the elements of `kind` over the selected layers (`None` when both
    /// are empty). The paths must belong to the same network.
    #[pyo3(signature = (other, kind = "synapse", selection = "all"))]
    fn jaccard(&self, other: &Path, kind: &str, selection: &str) -> PyResult<Option<f64>> {
        self.inner
            .jaccard(&other.inner, self::kind(kind)?, self::selection(selection)?)
            .py_err()
    }

    /// The path in effpath's binary path format (compressed, checksummed).
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.to_bytes())
    }

    /// Reads a path from the bytes of `to_bytes` (or a file written by `effpath extract --out`).
    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<Path> {
        Ok(Path::new(
            effpath::algebra::Path::from_bytes(data).py_err()?,
        ))
    }

    /// Writes the path file (atomically).
    fn save(&self, file: PathBuf) -> PyResult<()> {
        let bytes = self.inner.to_bytes();
        effpath::data::write_atomic(file, |w| w.write_all(&bytes)).py_err()
    }

    /// Reads a path file.
    #[staticmethod]
    fn load(file: PathBuf) -> PyResult<Path> {
        let bytes = std::fs::read(&file)
            .map_err(|e| effpath::data::DataError::io(&file, e))
            .py_err()?;
        Self::from_bytes(&bytes)
    }

    fn __repr__(&self) -> String {
        let c = self.inner.counts();
        format!(
            "Path(layers={}, neurons={}, synapses={}, weights={}, predicted={})",
            self.inner.layers().len(),
            c.get(ElementKind::Neuron),
            c.get(ElementKind::Synapse),
            c.get(ElementKind::Weight),
            self.predicted.map_or("None".into(), |p| p.to_string())
        )
    }
}

/// One traced layer of a path.
#[pyclass(module = "effpath._native", frozen)]
pub struct Layer {
    path: Arc<effpath::algebra::Path>,
    index: usize,
}

impl Layer {
    fn space(&self) -> &effpath::algebra::LayerSpace {
        &self.path.space().layers()[self.index]
    }

    fn set(&self) -> &effpath::algebra::LayerPath {
        &self.path.layers()[self.index]
    }
}

#[pymethods]
impl Layer {
    /// The node name, e.g. `conv1`.
    #[getter]
    fn name(&self) -> &str {
        self.space().name()
    }

    /// The layer's op: `Dense`, `Conv2d`, `MaxPool2d`, `AvgPool2d` or `GlobalAvgPool`.
    #[getter]
    fn op(&self) -> String {
        format!("{:?}", self.space().kind())
    }

    /// Whether the layer has weights (conv, dense).
    #[getter]
    fn weighted(&self) -> bool {
        self.space().kind().is_weighted()
    }

    /// Kept elements of `kind`.
    #[pyo3(signature = (kind = "synapse"))]
    fn count(&self, kind: &str) -> PyResult<usize> {
        Ok(self.set().count(self::kind(kind)?))
    }

    /// All elements of `kind` in the layer (the size of its space).
    #[pyo3(signature = (kind = "synapse"))]
    fn size(&self, kind: &str) -> PyResult<usize> {
        Ok(self.space().size(self::kind(kind)?))
    }

    /// The shape of the layer's space of `kind` (e.g. synapses of a conv:
    /// `(C_in/groups, kh, kw, C_out, OH, OW)`); flat indices are row-major in it.
    #[pyo3(signature = (kind = "synapse"))]
    fn shape(&self, kind: &str) -> PyResult<Vec<usize>> {
        Ok(self.space().shape(self::kind(kind)?).to_vec())
    }

    /// Kept ÷ all elements of `kind` (`None` for a layer without such elements).
    #[pyo3(signature = (kind = "synapse"))]
    fn density(&self, kind: &str) -> PyResult<Option<f64>> {
        let k = self::kind(kind)?;
        let size = self.space().size(k);
        Ok((size > 0).then(|| self.set().count(k) as f64 / size as f64))
    }

    /// The flat indices of the kept elements of `kind`, ascending, as a uint64 array.
    #[pyo3(signature = (kind = "synapse"))]
    fn kept<'py>(&self, py: Python<'py>, kind: &str) -> PyResult<Bound<'py, PyArray1<u64>>> {
        let ones: Vec<u64> = self
            .set()
            .iter_ones(self::kind(kind)?)
            .map(|i| i as u64)
            .collect();
        Ok(PyArray1::from_vec(py, ones))
    }

    fn __repr__(&self) -> String {
        let s = self.set();
        format!(
            "Layer(name='{}', op={:?}, neurons={}/{}, synapses={}/{}, weights={}/{})",
            self.space().name(),
            self.space().kind(),
            s.count(ElementKind::Neuron),
            self.space().neurons(),
            s.count(ElementKind::Synapse),
            self.space().synapses(),
            s.count(ElementKind::Weight),
            self.space().weights()
        )
    }
}

/// The effective path of `x` through `net`: one sample (the network's input shape) gives a
/// `Path`; a batch `(N, …)` gives a list of N paths.
#[pyfunction]
#[pyo3(signature = (net, x, theta = 0.5, rank = 1, last_layers = None, *, threads = None))]
pub fn extract_path(
    py: Python<'_>,
    net: &Network,
    x: &Bound<'_, PyAny>,
    theta: f64,
    rank: usize,
    last_layers: Option<usize>,
    threads: Option<usize>,
) -> PyResult<Py<PyAny>> {
    let x = arrays::f32_tensor(x, "x")?;
    let options = extract_options(theta, rank, last_layers);
    let network = net.net();
    let single = x.ndim() == network.input_shape().len();
    let extractions = py
        .detach(|| {
            with_threads(threads, || {
                Extractor::new(network, options).and_then(|e| e.extract_batch(&x))
            })
        })?
        .py_err()?;
    let mut paths = extractions.into_iter().map(|e| Path {
        inner: Arc::new(e.path),
        predicted: Some(e.predicted),
        seed_class: Some(e.seed_class),
    });
    if single {
        let path = paths
            .next()
            .ok_or_else(|| PyValueError::new_err("no sample in x"))?;
        return Ok(Py::new(py, path)?.into_any());
    }
    let list: Vec<Path> = paths.collect();
    Ok(list.into_pyobject(py)?.into_any().unbind())
}
