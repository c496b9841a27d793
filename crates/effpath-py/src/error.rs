//! The exception of the package and how errors of the Rust crates become it.

use pyo3::PyErr;
use pyo3::create_exception;
use pyo3::exceptions::PyException;

create_exception!(
    effpath,
    EffpathError,
    PyException,
    "An error of effpath's Rust core; the message is the Rust error's, which says what and \
     where (the model, file, layer or option)."
);

/// The Python exception of an effpath error: its message, with the chain of causes.
pub fn to_py(error: impl std::error::Error) -> PyErr {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = s.source();
    }
    EffpathError::new_err(message)
}

/// `Result::map_err(to_py)` as a method.
pub trait IntoPy<T> {
    /// The Python exception of the error.
    fn py_err(self) -> Result<T, PyErr>;
}

impl<T, E: std::error::Error> IntoPy<T> for Result<T, E> {
    fn py_err(self) -> Result<T, PyErr> {
        self.map_err(to_py)
    }
}
