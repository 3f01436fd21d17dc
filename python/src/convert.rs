//! Values between Python and JSON, and times.

use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Value};

/// `exclude_files` → `exclude-files`: keyword arguments are the JSON keys in snake_case.
pub fn kebab(key: &str) -> String {
    key.replace('_', "-")
}

/// `exclude-files` → `exclude_files`.
pub fn snake(key: &str) -> String {
    key.replace('-', "_")
}

/// A Python value as JSON. Dict keys are turned to kebab-case; `os.PathLike` becomes its
/// string; a `Folder` becomes its JSON object.
pub fn to_json(value: &Bound<'_, PyAny>, at: &str) -> PyResult<Value> {
    if value.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if value.cast::<PyInt>().is_ok() {
        if let Ok(n) = value.extract::<u64>() {
            return Ok(Value::from(n));
        }
        return Ok(Value::from(value.extract::<i64>()?));
    }
    if let Ok(f) = value.cast::<PyFloat>() {
        return Ok(serde_json::Number::from_f64(f.value())
            .map(Value::Number)
            .unwrap_or(Value::Null));
    }
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
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
    if value.hasattr("__fspath__")? {
        let os = value.py().import("os")?;
        let text = os.call_method1("fspath", (value,))?;
        let text: String = text
            .extract()
            .map_err(|_| PyTypeError::new_err(format!("{at}: expected a str path")))?;
        return Ok(Value::String(text));
    }
    Err(PyTypeError::new_err(format!(
        "{at}: cannot be written as JSON ({})",
        value.get_type().name()?
    )))
}

/// JSON as Python values; object keys in snake_case.
pub fn to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => u.into_pyobject(py)?.into_any(),
            (None, Some(i)) => i.into_pyobject(py)?.into_any(),
            _ => n.as_f64().unwrap_or(0.0).into_pyobject(py)?.into_any(),
        },
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(snake(k), to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

/// A serializable value as a Python dict (or list, ...) with snake_case keys.
pub fn serialized<'py, T: serde::Serialize>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    let json = serde_json::to_value(value).map_err(|e| PyTypeError::new_err(e.to_string()))?;
    to_py(py, &json)
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
