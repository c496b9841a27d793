//! Detection features (`features`, `feature_names`) and the inference-time `Guard`.

use std::path::PathBuf;
use std::sync::Arc;

use effpath::extract::{EmptyLayer, FeatureOptions, PathFeatures};
use effpath::guard::DetectorFile;
use ndarray::{Array1, Array2};
use numpy::{IntoPyArray, PyArray1, PyArray2};
use pyo3::prelude::*;

use crate::arrays;
use crate::classpaths::ClassPaths;
use crate::error::IntoPy;
use crate::network::{Network, with_threads};
use crate::path::kind;

fn feature_options(
    class_paths: &ClassPaths,
    theta: Option<f64>,
    last_layers: Option<usize>,
    kind: &str,
    empty_layer: &str,
) -> PyResult<FeatureOptions> {
    let mut options = FeatureOptions {
        extract: *class_paths.inner.options(),
        last_layers,
        kind: self::kind(kind)?,
        empty_layer: empty_layer.parse::<EmptyLayer>().py_err()?,
    };
    if let Some(t) = theta {
        options.extract.theta = t;
    }
    Ok(options)
}

/// Rows of features as a float64 matrix, NaN where a similarity is undefined.
fn matrix(rows: &[effpath::extract::FeatureRow], width: usize) -> Array2<f64> {
    Array2::from_shape_fn((rows.len(), width), |(i, j)| {
        rows[i].values.get(j).copied().flatten().unwrap_or(f64::NAN)
    })
}

/// The detection features of float32 images `(N, …)` (model inputs) against `class_paths`:
/// per row, the rank-1 then the rank-2 similarity |S ∩ P_class| / |S| of each weighted layer,
/// NaN where undefined. θ defaults to the class paths' θ.
#[pyfunction]
#[pyo3(signature = (net, class_paths, x, theta = None, last_layers = None, kind = "synapse",
                    empty_layer = "undefined", *, threads = None))]
#[allow(clippy::too_many_arguments)]
pub fn features<'py>(
    py: Python<'py>,
    net: &Network,
    class_paths: &ClassPaths,
    x: &Bound<'py, PyAny>,
    theta: Option<f64>,
    last_layers: Option<usize>,
    kind: &str,
    empty_layer: &str,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let x = arrays::f32_tensor(x, "x")?;
    let options = feature_options(class_paths, theta, last_layers, kind, empty_layer)?;
    let (network, cp) = (net.net(), &class_paths.inner);
    let m = py
        .detach(|| {
            with_threads(threads, || {
                let f = PathFeatures::new(network, cp, options)?;
                f.compute_batch(&x).map(|rows| matrix(&rows, f.len()))
            })
        })?
        .py_err()?;
    Ok(m.into_pyarray(py))
}

/// The names of the columns of `features`: `rank1/<layer>…` then `rank2/<layer>…`.
#[pyfunction]
#[pyo3(signature = (net, class_paths, last_layers = None))]
pub fn feature_names(
    net: &Network,
    class_paths: &ClassPaths,
    last_layers: Option<usize>,
) -> PyResult<Vec<String>> {
    let options = feature_options(class_paths, None, last_layers, "synapse", "undefined")?;
    Ok(PathFeatures::new(net.net(), &class_paths.inner, options)
        .py_err()?
        .names())
}

/// `(predicted, score, flagged)` of a batch, as NumPy arrays.
type Verdicts<'py> = (
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<bool>>,
);

/// A network, its class paths and a detector file (from `effpath fit-detector`), checked to
/// belong together; scores and flags images at inference time.
#[pyclass(module = "effpath._native", frozen)]
pub struct Guard {
    net: Arc<effpath::Network>,
    class_paths: effpath::extract::ClassPaths,
    file: DetectorFile,
}

impl Guard {
    fn guard(&self) -> PyResult<effpath::guard::Guard<'_>> {
        effpath::guard::Guard::new(&self.net, &self.class_paths, self.file.clone()).py_err()
    }
}

#[pymethods]
impl Guard {
    /// Checks that the detector was made for `net` and the feature layout of `class_paths`.
    #[new]
    fn new(net: &Network, class_paths: &ClassPaths, detector: PathBuf) -> PyResult<Guard> {
        let file = DetectorFile::load(&detector).py_err()?;
        let guard = Guard {
            net: Arc::clone(&net.inner),
            class_paths: class_paths.inner.clone(),
            file,
        };
        guard.guard()?;
        Ok(guard)
    }

    /// Scores at or above this are flagged.
    #[getter]
    fn threshold(&self) -> f64 {
        self.file.threshold
    }

    /// The names of the features the detector reads.
    #[getter]
    fn feature_names(&self) -> Vec<String> {
        self.file.feature_names.clone()
    }

    /// Detector scores of float32 images `(N, …)` (model inputs): higher = more likely
    /// adversarial; NaN where a similarity is undefined (such images are flagged by `check`).
    #[pyo3(signature = (x, *, threads = None))]
    fn score<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let (_, scores, _) = self.verdicts(py, x, threads)?;
        Ok(scores.into_pyarray(py))
    }

    /// `(predicted, score, flagged)` arrays of float32 images `(N, …)` (model inputs).
    #[pyo3(signature = (x, *, threads = None))]
    fn check<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        threads: Option<usize>,
    ) -> PyResult<Verdicts<'py>> {
        let (predicted, scores, flagged) = self.verdicts(py, x, threads)?;
        Ok((
            predicted.into_pyarray(py),
            scores.into_pyarray(py),
            flagged.into_pyarray(py),
        ))
    }
}

impl Guard {
    fn verdicts(
        &self,
        py: Python<'_>,
        x: &Bound<'_, PyAny>,
        threads: Option<usize>,
    ) -> PyResult<(Array1<i64>, Array1<f64>, Array1<bool>)> {
        let x = arrays::f32_tensor(x, "x")?;
        let guard = self.guard()?;
        let verdicts = py
            .detach(|| with_threads(threads, || guard.check(&x)))?
            .py_err()?;
        let predicted = verdicts.iter().map(|v| v.predicted as i64).collect();
        let scores = verdicts
            .iter()
            .map(|v| v.score.unwrap_or(f64::NAN))
            .collect();
        let flagged = verdicts.iter().map(|v| v.flagged).collect();
        Ok((predicted, scores, flagged))
    }
}
