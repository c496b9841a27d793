//! `Network`: an ONNX model loaded into effpath's IR, its prediction and input normalisation;
//! the shipped models and data sets.

use std::path::PathBuf;
use std::sync::Arc;

use effpath::data::{Embedded, IdxOptions, Normalization, Split};
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArray3, PyArrayDyn};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::arrays;
use crate::error::IntoPy;

/// Runs `f` on a pool of `threads` threads (rayon's global pool when `None`).
pub fn with_threads<T: Send>(threads: Option<usize>, f: impl FnOnce() -> T + Send) -> PyResult<T> {
    match threads {
        None => Ok(f()),
        Some(0) => Err(PyValueError::new_err("threads must be at least 1")),
        Some(n) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| PyValueError::new_err(format!("cannot start {n} threads: {e}")))?;
            Ok(pool.install(f))
        }
    }
}

/// A validated network (a DAG of ops over NCHW float32 tensors), imported from ONNX.
///
/// Inputs are what the model takes (normalised); `normalize` maps pixels to them with the
/// normalisation the model records.
#[pyclass(module = "effpath._native", frozen)]
pub struct Network {
    pub(crate) inner: Arc<effpath::Network>,
}

impl Network {
    pub(crate) fn net(&self) -> &effpath::Network {
        &self.inner
    }
}

#[pymethods]
impl Network {
    /// The per-sample input shape, e.g. `(1, 28, 28)`.
    #[getter]
    fn input_shape(&self) -> Vec<usize> {
        self.inner.input_shape().to_vec()
    }

    /// The number of classes (logits).
    #[getter]
    fn classes(&self) -> usize {
        self.inner.num_classes()
    }

    /// The model's fingerprint: 64 hex digits of a SHA-256 over its ops and weights.
    #[getter]
    fn fingerprint(&self) -> String {
        self.inner.fingerprint().to_string()
    }

    /// The input normalisation `(mean, std)` recorded in the model, or `None`.
    #[getter]
    fn normalization(&self) -> Option<(f32, f32)> {
        self.inner.input_normalization().map(|[m, s]| (m, s))
    }

    /// Logits `(N, classes)` of a float32 batch `(N, …)` (or one sample without the batch
    /// axis).
    #[pyo3(signature = (x, *, threads = None))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let x = arrays::f32_tensor(x, "x")?;
        let net = self.net();
        let logits = py
            .detach(|| with_threads(threads, || net.predict(&x)))?
            .py_err()?;
        Ok(logits.into_pyarray(py))
    }

    /// Model inputs from pixels (uint8, or float32 in [0, 1]) with the model's recorded
    /// normalisation (none when it records none): `(p / 255 - mean) / std` for uint8.
    fn normalize<'py>(
        &self,
        py: Python<'py>,
        pixels: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
        let mut x = arrays::pixels(pixels, "pixels")?;
        let norm = match self.inner.input_normalization() {
            Some([mean, std]) => Normalization::MeanStd { mean, std },
            None => Normalization::None,
        };
        norm.apply(&mut x);
        Ok(x.into_pyarray(py))
    }

    /// The model as ONNX bytes (what `effpath.from_bytes` reads back).
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &effpath::onnx::to_bytes(&self.inner))
    }

    /// Writes the model as an ONNX file (atomically).
    fn save(&self, path: PathBuf) -> PyResult<()> {
        effpath::onnx::save(&self.inner, path).py_err()
    }

    fn __repr__(&self) -> String {
        format!(
            "Network(input_shape={:?}, classes={}, nodes={}, fingerprint='{}')",
            self.inner.input_shape(),
            self.inner.num_classes(),
            self.inner.nodes().len(),
            self.inner.fingerprint()
        )
    }
}

impl From<effpath::Network> for Network {
    fn from(net: effpath::Network) -> Self {
        Network {
            inner: Arc::new(net),
        }
    }
}

/// Loads an ONNX file.
#[pyfunction]
pub fn load(py: Python<'_>, path: PathBuf) -> PyResult<Network> {
    Ok(py.detach(|| effpath::onnx::load(path)).py_err()?.into())
}

/// Reads a model from ONNX bytes.
#[pyfunction]
pub fn from_bytes(py: Python<'_>, data: &[u8]) -> PyResult<Network> {
    Ok(py
        .detach(|| effpath::onnx::from_bytes(data))
        .py_err()?
        .into())
}

/// A trained model shipped with effpath: `lenet5-mnist` or `resnet-small-fashion`.
#[pyfunction]
pub fn shipped(name: &str) -> PyResult<Network> {
    let model: effpath::models::Shipped = name.parse().py_err()?;
    Ok(model.load().py_err()?.into())
}

/// An IDX file (gzip or plain): images `(N, H, W)` uint8 for an image file, labels `(N,)`
/// int64 for a label file.
#[pyfunction]
pub fn read_idx(py: Python<'_>, path: PathBuf) -> PyResult<Py<PyAny>> {
    let options = IdxOptions::default();
    match effpath::data::read_images(&path, &options) {
        Ok(images) => Ok(images.into_pyarray(py).into_any().unbind()),
        Err(image_error) => match effpath::data::read_labels(&path, &options) {
            Ok(labels) => {
                let labels: Vec<i64> = labels.into_iter().map(|l| l as i64).collect();
                Ok(PyArray1::from_vec(py, labels).into_any().unbind())
            }
            Err(_) => Err(crate::error::to_py(image_error)),
        },
    }
}

/// Images `(N, H, W)` uint8 and their labels `(N,)` int64.
type LabelledImages<'py> = (Bound<'py, PyArray3<u8>>, Bound<'py, PyArray1<i64>>);

/// An embedded data set (`mnist` or `fashion-mnist`, split `train` or `test`): images
/// `(N, 28, 28)` uint8 and labels `(N,)` int64.
#[pyfunction]
#[pyo3(signature = (name, split = "test"))]
pub fn embedded<'py>(py: Python<'py>, name: &str, split: &str) -> PyResult<LabelledImages<'py>> {
    let data: Embedded = name.parse().py_err()?;
    let split = match split {
        "train" => Split::Train,
        "test" => Split::Test,
        other => {
            return Err(PyValueError::new_err(format!(
                "split `{other}` is not `train` or `test`"
            )));
        }
    };
    let images = data.load(split).py_err()?;
    let labels: Vec<i64> = images.labels().iter().map(|&l| l as i64).collect();
    Ok((
        images.images().to_owned().into_pyarray(py),
        PyArray1::from_vec(py, labels),
    ))
}
