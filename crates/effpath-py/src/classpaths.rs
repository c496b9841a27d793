//! `ClassPaths` (per class, the union of the paths of its correctly classified images),
//! `Profiler` (streaming profiling, batch after batch), `profile` and `shard_range`.

use std::path::PathBuf;
use std::sync::Arc;

use effpath::extract::{ProfileOptions, Shard};
use ndarray::{Array2, ArrayD};
use numpy::{IntoPyArray, PyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::arrays;
use crate::error::IntoPy;
use crate::network::{Network, with_threads};
use crate::path::{Path, extract_options, kind, selection};

/// Per-class paths of a network and how many images built each.
#[pyclass(module = "effpath._native")]
pub struct ClassPaths {
    pub(crate) inner: effpath::extract::ClassPaths,
}

impl From<effpath::extract::ClassPaths> for ClassPaths {
    fn from(inner: effpath::extract::ClassPaths) -> Self {
        ClassPaths { inner }
    }
}

#[pymethods]
impl ClassPaths {
    /// Number of classes.
    #[getter]
    fn classes(&self) -> usize {
        self.inner.classes()
    }

    /// Images that built each class path.
    #[getter]
    fn images_per_class(&self) -> Vec<usize> {
        self.inner.images_per_class().to_vec()
    }

    /// The θ of the image paths.
    #[getter]
    fn theta(&self) -> f64 {
        self.inner.options().theta
    }

    /// The partial extraction of the image paths (`None`: the whole network).
    #[getter]
    fn last_layers(&self) -> Option<usize> {
        self.inner.options().last_layers
    }

    /// Fingerprint of the network.
    #[getter]
    fn fingerprint(&self) -> String {
        self.inner.fingerprint().to_string()
    }

    /// The path of class `c` (`None` when no image of it was profiled).
    fn class_path(&self, c: usize) -> Option<Path> {
        self.inner.class(c).map(|p| Path::new(p.clone()))
    }

    /// The union of all class paths.
    fn overall(&self) -> Path {
        Path::new(self.inner.overall())
    }

    /// Per class, the density of its path (`None` for a class without a path).
    #[pyo3(signature = (kind = "synapse", selection = "all"))]
    fn density(&self, kind: &str, selection: &str) -> PyResult<Vec<Option<f64>>> {
        let (k, s) = (self::kind(kind)?, self::selection(selection)?);
        Ok((0..self.inner.classes())
            .map(|c| self.inner.class(c).and_then(|p| p.density(k, s)))
            .collect())
    }

    /// Class × class Jaccard similarity as a float64 matrix, NaN where a class has no path.
    #[pyo3(signature = (kind = "synapse", selection = "all"))]
    fn jaccard<'py>(
        &self,
        py: Python<'py>,
        kind: &str,
        selection: &str,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let (k, s) = (self::kind(kind)?, self::selection(selection)?);
        let m = py.detach(|| self.inner.jaccard_matrix(k, s)).py_err()?;
        let n = m.len();
        let a = Array2::from_shape_fn((n, n), |(i, j)| m[i][j].unwrap_or(f64::NAN));
        Ok(a.into_pyarray(py))
    }

    /// Adds `other` in place: unions each class path and adds the image counts (e.g. another
    /// shard of the same training set). Both must be of the same network and options.
    fn merge(&mut self, other: &ClassPaths) -> PyResult<()> {
        self.inner.merge(&other.inner).py_err()
    }

    /// The class-path file's bytes (what `effpath profile` writes).
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.to_bytes())
    }

    /// Reads the bytes of a class-path file; with `net`, checks that they belong to it.
    #[staticmethod]
    #[pyo3(signature = (data, net = None))]
    fn from_bytes(data: &[u8], net: Option<&Network>) -> PyResult<ClassPaths> {
        let expected = net.map(|n| n.net().fingerprint());
        Ok(effpath::extract::ClassPaths::from_bytes(data, expected)
            .py_err()?
            .into())
    }

    /// Writes a class-path file (atomically).
    fn save(&self, file: PathBuf) -> PyResult<()> {
        self.inner.save(file).py_err()
    }

    /// Reads a class-path file; with `net`, checks that it belongs to it.
    #[staticmethod]
    #[pyo3(signature = (file, net = None))]
    fn load(file: PathBuf, net: Option<&Network>) -> PyResult<ClassPaths> {
        let expected = net.map(|n| n.net().fingerprint());
        Ok(effpath::extract::ClassPaths::load(file, expected)
            .py_err()?
            .into())
    }

    fn __eq__(&self, other: &ClassPaths) -> bool {
        self.inner == other.inner
    }

    fn __repr__(&self) -> String {
        format!(
            "ClassPaths(classes={}, images={}, theta={}, fingerprint='{}')",
            self.inner.classes(),
            self.inner.images_per_class().iter().sum::<usize>(),
            self.inner.options().theta,
            self.inner.fingerprint()
        )
    }
}

fn profile_options(
    theta: f64,
    last_layers: Option<usize>,
    per_class: Option<usize>,
    batch_size: usize,
) -> PyResult<ProfileOptions> {
    if batch_size == 0 {
        return Err(PyValueError::new_err("batch_size must be at least 1"));
    }
    Ok(ProfileOptions {
        extract: extract_options(theta, 1, last_layers),
        per_class_cap: per_class,
        batch_size,
    })
}

/// Profiles batches as they come (e.g. from a data loader): `add(x, labels)` folds the paths
/// of the correctly classified images into their class paths; `finish()` returns them. The
/// result equals `profile` on the concatenated batches, however they are cut.
#[pyclass(module = "effpath._native")]
pub struct Profiler {
    net: Arc<effpath::Network>,
    options: ProfileOptions,
    done: Option<effpath::extract::ClassPaths>,
    seen: usize,
}

#[pymethods]
impl Profiler {
    #[new]
    #[pyo3(signature = (net, theta = 0.5, last_layers = None, per_class = None, batch_size = 256))]
    fn new(
        net: &Network,
        theta: f64,
        last_layers: Option<usize>,
        per_class: Option<usize>,
        batch_size: usize,
    ) -> PyResult<Profiler> {
        let options = profile_options(theta, last_layers, per_class, batch_size)?;
        // Validates the options now rather than at the first batch.
        effpath::extract::Profiler::new(&net.inner, &options).py_err()?;
        Ok(Profiler {
            net: Arc::clone(&net.inner),
            options,
            done: None,
            seen: 0,
        })
    }

    /// Adds a float32 batch `(B, …)` (model inputs) with its integer labels `(B,)`.
    #[pyo3(signature = (x, labels, *, threads = None))]
    fn add(
        &mut self,
        py: Python<'_>,
        x: &Bound<'_, PyAny>,
        labels: &Bound<'_, PyAny>,
        threads: Option<usize>,
    ) -> PyResult<()> {
        let x = arrays::f32_tensor(x, "x")?;
        let n = x.shape().first().copied().unwrap_or(0);
        let labels = arrays::labels(labels, "labels", n)?;
        let (net, options) = (&*self.net, &self.options);
        let prior = self.done.as_ref().map(|d| d.images_per_class().to_vec());
        let part = py
            .detach(|| with_threads(threads, || profile_part(net, options, prior, &x, &labels)))?
            .py_err()?;
        match &mut self.done {
            Some(done) => done.merge(&part).py_err()?,
            None => self.done = Some(part),
        }
        self.seen += n;
        Ok(())
    }

    /// Images added so far (correct or not).
    #[getter]
    fn images_seen(&self) -> usize {
        self.seen
    }

    /// The class paths of the images added so far (the profiler can go on).
    fn finish(&self) -> PyResult<ClassPaths> {
        match &self.done {
            Some(done) => Ok(done.clone().into()),
            None => Ok(effpath::extract::Profiler::new(&self.net, &self.options)
                .and_then(effpath::extract::Profiler::finish)
                .py_err()?
                .into()),
        }
    }
}

/// The class paths of one batch, counting `prior` images per class against the cap.
fn profile_part(
    net: &effpath::Network,
    options: &ProfileOptions,
    prior: Option<Vec<usize>>,
    x: &ArrayD<f32>,
    labels: &[usize],
) -> effpath::extract::Result<effpath::extract::ClassPaths> {
    let mut profiler = effpath::extract::Profiler::new(net, options)?;
    if let Some(prior) = prior {
        profiler = profiler.with_prior_counts(&prior)?;
    }
    profiler.add_batch(x, labels)?;
    profiler.finish()
}

/// Class paths of `net` over float32 images `(N, …)` (model inputs) with integer labels
/// `(N,)`: per class, the union of the paths of its correctly classified images.
#[pyfunction]
#[pyo3(signature = (net, images, labels, theta = 0.5, last_layers = None, per_class = None,
                    batch_size = 256, *, threads = None))]
#[allow(clippy::too_many_arguments)]
pub fn profile(
    py: Python<'_>,
    net: &Network,
    images: &Bound<'_, PyAny>,
    labels: &Bound<'_, PyAny>,
    theta: f64,
    last_layers: Option<usize>,
    per_class: Option<usize>,
    batch_size: usize,
    threads: Option<usize>,
) -> PyResult<ClassPaths> {
    let x = arrays::f32_tensor(images, "images")?;
    let n = x.shape().first().copied().unwrap_or(0);
    let labels = arrays::labels(labels, "labels", n)?;
    let options = profile_options(theta, last_layers, per_class, batch_size)?;
    let network = net.net();
    let cp = py
        .detach(|| {
            with_threads(threads, || {
                profile_part(network, &options, None, &x, &labels)
            })
        })?
        .py_err()?;
    Ok(cp.into())
}

/// `(start, stop)` of part `index` of `count` of `n` items: the parts `effpath profile
/// --shard I/N` uses (contiguous, sizes differing by at most one).
#[pyfunction]
pub fn shard_range(n: usize, index: usize, count: usize) -> PyResult<(usize, usize)> {
    let r = Shard::new(index, count).py_err()?.range(n);
    Ok((r.start, r.end))
}
