//! Rust errors to Python exceptions: the classes live in `ferrysync._errors` (pure Python,
//! so that `NotFoundError` can also be a `FileNotFoundError`); this picks one by kind.

use pyo3::prelude::*;

/// The Python exception for `err`: the subclass of `ferrysync.SyncError` for its kind, with
/// the path (when there is one) at the start of the message and in `.path`.
pub fn to_py(err: ferrysync::Error) -> PyErr {
    Python::attach(|py| {
        let made = (|| -> PyResult<PyErr> {
            let module = py.import("ferrysync._errors")?;
            let path = err.path().map(|p| p.display().to_string());
            let exc =
                module.call_method1("_from_kind", (err.kind().name(), err.to_string(), path))?;
            Ok(PyErr::from_value(exc))
        })();
        made.unwrap_or_else(|e| e)
    })
}

/// Shorthand for results of the core.
pub trait IntoPyResult<T> {
    /// The result with a Python exception for the error.
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for ferrysync::Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}
