//! # effpath-py — effpath from Python
//!
//! The native module `effpath._native` of the `effpath` wheel (PyO3, stable ABI, built with
//! maturin). It mirrors the Rust facade on NumPy arrays; the pure-Python package around it
//! (`python/effpath/`) adds `from_torch`, the type stubs and `effpath.distributed` (profiling
//! on Ray).
//!
//! Modules: `error` (the `EffpathError` exception and how Rust errors become it), `arrays`
//! (NumPy arguments checked for dtype and rank, and results moved into NumPy arrays),
//! `network` (`Network`: load, predict, normalise; IDX and shipped models), `path`
//! (`Path`, `Layer`, `extract_path`), `classpaths` (`ClassPaths`, `Profiler`, `profile`,
//! `shard_range`), `guard` (`features`, `Guard`).
//!
//! Heavy calls release the interpreter lock and can run on their own thread count; results do
//! not depend on it.

mod arrays;
mod classpaths;
mod error;
mod guard;
mod network;
mod path;

use pyo3::prelude::*;

/// The native part of the `effpath` Python package.
#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("EffpathError", m.py().get_type::<error::EffpathError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<network::Network>()?;
    m.add_class::<path::Path>()?;
    m.add_class::<path::Layer>()?;
    m.add_class::<classpaths::ClassPaths>()?;
    m.add_class::<classpaths::Profiler>()?;
    m.add_class::<guard::Guard>()?;
    m.add_function(wrap_pyfunction!(network::load, m)?)?;
    m.add_function(wrap_pyfunction!(network::from_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(network::shipped, m)?)?;
    m.add_function(wrap_pyfunction!(network::read_idx, m)?)?;
    m.add_function(wrap_pyfunction!(network::embedded, m)?)?;
    m.add_function(wrap_pyfunction!(path::extract_path, m)?)?;
    m.add_function(wrap_pyfunction!(classpaths::profile, m)?)?;
    m.add_function(wrap_pyfunction!(classpaths::shard_range, m)?)?;
    m.add_function(wrap_pyfunction!(guard::features, m)?)?;
    m.add_function(wrap_pyfunction!(guard::feature_names, m)?)?;
    Ok(())
}
