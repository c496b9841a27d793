//! NumPy arguments, checked for dtype and rank with errors that say what was given and how to
//! fix it, and results handed to NumPy without a copy.

use ndarray::ArrayD;
use numpy::{PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

/// How a Python object looks, for an error message: `a float64 array of shape (2, 28, 28)`,
/// or its type name.
fn describe(x: &Bound<'_, PyAny>) -> String {
    match x.cast::<numpy::PyUntypedArray>() {
        Ok(a) => {
            let dtype = a
                .dtype()
                .str()
                .map_or_else(|_| "?".into(), |s| s.to_string());
            let dims: Vec<String> = a.shape().iter().map(usize::to_string).collect();
            let comma = if dims.len() == 1 { "," } else { "" };
            format!("a {dtype} array of shape ({}{comma})", dims.join(", "))
        }
        Err(_) => {
            let name = x
                .get_type()
                .name()
                .map_or_else(|_| "?".into(), |s| s.to_string());
            format!("a {name}")
        }
    }
}

/// A float32 NumPy array of any shape, copied into the owned tensor the Rust API takes (one
/// memory copy; the array's strides may be anything).
pub fn f32_tensor(x: &Bound<'_, PyAny>, what: &str) -> PyResult<ArrayD<f32>> {
    match x.cast::<PyArrayDyn<f32>>() {
        Ok(a) => Ok(a.readonly().as_array().to_owned()),
        Err(_) => Err(PyTypeError::new_err(format!(
            "{what} must be a float32 NumPy array, got {} (convert with \
             numpy.asarray({what}, dtype=numpy.float32))",
            describe(x)
        ))),
    }
}

/// Class labels: a one-dimensional array of any integer dtype with `expected` entries, none
/// negative.
pub fn labels(y: &Bound<'_, PyAny>, what: &str, expected: usize) -> PyResult<Vec<usize>> {
    let bad_type = || {
        PyTypeError::new_err(format!(
            "{what} must be a one-dimensional integer NumPy array, got {}",
            describe(y)
        ))
    };
    let array = y.cast::<numpy::PyUntypedArray>().map_err(|_| bad_type())?;
    let kind: String = array.dtype().getattr("kind")?.extract()?;
    if !matches!(kind.as_str(), "i" | "u") || array.ndim() != 1 {
        return Err(bad_type());
    }
    let wide = y.call_method1("astype", ("int64",))?;
    let wide = wide.cast::<PyArrayDyn<i64>>().map_err(|_| bad_type())?;
    let values = wide.readonly();
    let values = values.as_array();
    if values.len() != expected {
        return Err(PyValueError::new_err(format!(
            "{what} has {} entries for {expected} images",
            values.len()
        )));
    }
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            usize::try_from(v).map_err(|_| {
                PyValueError::new_err(format!("{what}[{i}] is {v}, not a class index"))
            })
        })
        .collect()
}

/// Pixel images: uint8 (divided by 255) or float32 in `[0, 1]`, any shape.
pub fn pixels(x: &Bound<'_, PyAny>, what: &str) -> PyResult<ArrayD<f32>> {
    if let Ok(a) = x.cast::<PyArrayDyn<u8>>() {
        return Ok(a.readonly().as_array().mapv(|p| f32::from(p) / 255.0));
    }
    let Ok(a) = x.cast::<PyArrayDyn<f32>>() else {
        return Err(PyTypeError::new_err(format!(
            "{what} must be a uint8 or float32 NumPy array of pixels, got {}",
            describe(x)
        )));
    };
    let v = a.readonly().as_array().to_owned();
    if let Some((i, p)) = v
        .iter()
        .enumerate()
        .find(|(_, p)| !(0.0..=1.0).contains(*p))
    {
        return Err(PyValueError::new_err(format!(
            "{what} holds {p} at flat index {i}: float pixels must lie in [0, 1]"
        )));
    }
    Ok(v)
}
