//! Values between Python and JSON, and times.

use std::path::PathBuf;
use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use serde_json::{Map, Value};

use crate::errors;

/// `exclude_files` → `exclude-files`: keyword arguments are the JSON keys in snake_case.
pub fn kebab(key: &str) -> String {
    key.replace('_', "-")
}

/// `exclude-files` → `exclude_files`.
pub fn snake(key: &str) -> String {
    key.replace('-', "_")
}

/// `value` with every object key renamed by `rename`, at every depth.
fn rename_keys(value: Value, rename: fn(&str) -> String) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (rename(&k), rename_keys(v, rename)))
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| rename_keys(v, rename)).collect())
        }
        v => v,
    }
}

/// A path argument (`str` or `os.PathLike`) as text. Anything else is a `TypeError`, as for
/// every path argument of the module; a path that is not UTF-8 cannot be written in a
/// profile and is an `InvalidInputError`.
pub fn path_text(value: &Bound<'_, PyAny>, name: &str) -> PyResult<String> {
    let py = value.py();
    let path: PathBuf = value
        .extract()
        .map_err(|e: PyErr| PyTypeError::new_err(format!("{name}: {}", e.value(py))))?;
    path.into_os_string().into_string().map_err(|p| {
        errors::to_py(ferrysync::Error::invalid(format!(
            "{name}: {p:?} is not valid UTF-8"
        )))
    })
}

/// A Python value as JSON, dict keys in kebab-case. Dicts, lists and tuples are walked here,
/// so that their items may be `os.PathLike` (written as their string) or `Folder`s (written
/// as their JSON object); everything else is converted by pythonize.
pub fn to_json(value: &Bound<'_, PyAny>, at: &str) -> PyResult<Value> {
    if let Ok(folder) = value.cast::<crate::profile::Folder>() {
        return serde_json::to_value(&folder.get().inner)
            .map_err(|e| PyTypeError::new_err(e.to_string()));
    }
    if let Ok(dict) = value.cast::<PyDict>() {
        let mut map = Map::new();
        for (k, v) in dict.iter() {
            let key: String = k
                .extract()
                .map_err(|_| PyTypeError::new_err(format!("{at}: keys must be strings")))?;
            let value = to_json(&v, &format!("{at}.{key}"))?;
            map.insert(kebab(&key), value);
        }
        return Ok(Value::Object(map));
    }
    if value.cast::<PyList>().is_ok() || value.cast::<PyTuple>().is_ok() {
        let mut items = Vec::new();
        for (i, item) in value.try_iter()?.enumerate() {
            items.push(to_json(&item?, &format!("{at}[{i}]"))?);
        }
        return Ok(Value::Array(items));
    }
    if value.cast::<PyString>().is_err() && value.hasattr("__fspath__")? {
        return path_text(value, at).map(Value::String);
    }
    let json: Value = pythonize::depythonize(value).map_err(|e| {
        let type_name = value
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default();
        PyTypeError::new_err(format!(
            "{at}: cannot be written as JSON ({type_name}): {e}"
        ))
    })?;
    Ok(rename_keys(json, kebab))
}

/// JSON as Python values (by pythonize); object keys in snake_case.
pub fn to_py(py: Python<'_>, value: Value) -> PyResult<Bound<'_, PyAny>> {
    Ok(pythonize::pythonize(py, &rename_keys(value, snake))?)
}

/// A serializable value as a Python dict (or list, ...) with snake_case keys.
pub fn serialized<'py, T: serde::Serialize>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    let json = serde_json::to_value(value).map_err(|e| PyTypeError::new_err(e.to_string()))?;
    to_py(py, json)
}

/// Nanoseconds since the epoch as an aware `datetime` in UTC.
pub fn datetime(py: Python<'_>, ns: i64) -> PyResult<Bound<'_, PyAny>> {
    let dt = py.import("datetime")?;
    let utc = dt.getattr("timezone")?.getattr("utc")?;
    let epoch = dt
        .getattr("datetime")?
        .call1((1970, 1, 1, 0, 0, 0, 0, utc))?;
    let delta = dt.getattr("timedelta")?.call1((
        ns.div_euclid(86_400_000_000_000),
        ns.rem_euclid(86_400_000_000_000) / 1_000_000_000,
        ns.rem_euclid(1_000_000_000) / 1_000,
    ))?;
    epoch.call_method1("__add__", (delta,))
}

/// A duration as a `datetime.timedelta`.
pub fn timedelta(py: Python<'_>, d: Duration) -> PyResult<Bound<'_, PyAny>> {
    let secs = d.as_secs();
    py.import("datetime")?.getattr("timedelta")?.call1((
        secs / 86_400,
        secs % 86_400,
        d.subsec_micros(),
    ))
}

/// A JSON text of `value` for `to_json()` methods.
pub fn pretty<T: serde::Serialize>(value: &T) -> PyResult<String> {
    serde_json::to_string_pretty(value).map_err(|e| PyTypeError::new_err(e.to_string()))
}

/// An aware `datetime` (a naive one is local time, as `datetime.timestamp()` takes it) as
/// nanoseconds since the epoch.
pub fn ns_of(when: &Bound<'_, PyAny>) -> PyResult<i64> {
    let py = when.py();
    let dt = py.import("datetime")?;
    if !when.is_instance(&dt.getattr("datetime")?)? {
        return Err(PyTypeError::new_err(format!(
            "expected a datetime.datetime, not {}",
            when.get_type().name()?
        )));
    }
    let aware = if when.getattr("tzinfo")?.is_none() {
        when.call_method0("astimezone")?
    } else {
        when.clone()
    };
    let utc = dt.getattr("timezone")?.getattr("utc")?;
    let epoch = dt
        .getattr("datetime")?
        .call1((1970, 1, 1, 0, 0, 0, 0, utc))?;
    let delta = aware.call_method1("__sub__", (epoch,))?;
    let days: i64 = delta.getattr("days")?.extract()?;
    let secs: i64 = delta.getattr("seconds")?.extract()?;
    let micros: i64 = delta.getattr("microseconds")?.extract()?;
    Ok(days * 86_400_000_000_000 + secs * 1_000_000_000 + micros * 1_000)
}
