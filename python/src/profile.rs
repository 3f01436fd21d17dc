//! `Profile` and `Folder`: built from keyword arguments through the JSON parser.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::{Map, Value};

use crate::convert::{self, kebab};
use crate::errors::{self, IntoPyResult};

/// A named set of folder pairs and how to synchronize them.
#[pyclass(module = "ferrysync._native", frozen, eq)]
#[derive(PartialEq)]
pub struct Profile {
    pub inner: ferrysync::Profile,
}

/// Adds the keyword arguments to `doc`, keys in kebab-case.
fn add_options(doc: &mut Map<String, Value>, options: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
    if let Some(options) = options {
        for (key, value) in options.iter() {
            let key: String = key.extract()?;
            let value = convert::to_json(&value, &key)?;
            doc.insert(kebab(&key), value);
        }
    }
    Ok(())
}

#[pymethods]
impl Profile {
    /// A profile from keyword arguments: the keys of the JSON format in snake_case.
    #[new]
    #[pyo3(signature = (name, operation = "mirror", folders = None, **options))]
    fn new(
        name: &str,
        operation: &str,
        folders: Option<&Bound<'_, PyAny>>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Profile> {
        let mut doc = Map::new();
        doc.insert("format".into(), Value::from(ferrysync::FORMAT));
        doc.insert("name".into(), Value::from(name));
        doc.insert("operation".into(), Value::from(operation));
        if let Some(folders) = folders {
            doc.insert("folders".into(), convert::to_json(folders, "folders")?);
        }
        add_options(&mut doc, options)?;
        let text = Value::Object(doc).to_string();
        Ok(Profile {
            inner: ferrysync::Profile::from_json(&text).py()?,
        })
    }

    /// Parses and validates a single-profile JSON document.
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str) -> PyResult<Profile> {
        let text = text.to_owned();
        let inner = py
            .detach(move || ferrysync::Profile::from_json(&text))
            .py()?;
        Ok(Profile { inner })
    }

    /// Reads a single-profile JSON file.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Profile> {
        let inner = py.detach(move || ferrysync::Profile::load(path)).py()?;
        Ok(Profile { inner })
    }

    /// The profile as pretty JSON with `"format": 1`.
    fn to_json(&self) -> String {
        self.inner.to_json()
    }

    /// The profile as a dict with snake_case keys (the keyword arguments of the constructor).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::serialized(py, &self.inner)
    }

    /// Validates and writes the profile atomically to `path`.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let inner = self.inner.clone();
        py.detach(move || inner.save(path)).py()
    }

    /// Checks the profile's rules (the constructor already did).
    fn validate(&self) -> PyResult<()> {
        self.inner.validate().py()
    }

    #[getter]
    fn name(&self) -> &str {
        &self.inner.name
    }

    #[getter]
    fn operation(&self) -> &'static str {
        self.inner.operation.name()
    }

    #[getter]
    fn group(&self) -> &str {
        &self.inner.group
    }

    #[getter]
    fn description(&self) -> &str {
        &self.inner.description
    }

    #[getter]
    fn enabled(&self) -> bool {
        self.inner.enabled
    }

    #[getter]
    fn folders<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let folders = self
            .inner
            .folders
            .iter()
            .map(|f| Folder { inner: f.clone() });
        PyList::new(py, folders)
    }

    fn __repr__(&self) -> String {
        format!(
            "Profile(name={:?}, operation={:?}, folders={})",
            self.inner.name,
            self.inner.operation.name(),
            self.inner.folders.len()
        )
    }
}

/// One folder pair of a profile.
#[pyclass(module = "ferrysync._native", frozen, eq)]
#[derive(PartialEq)]
pub struct Folder {
    pub inner: ferrysync::Folder,
}

#[pymethods]
impl Folder {
    /// A folder pair from keyword arguments: the keys of the JSON format in snake_case.
    #[new]
    #[pyo3(signature = (name, source, destination, **options))]
    fn new(
        name: &str,
        source: &Bound<'_, PyAny>,
        destination: &Bound<'_, PyAny>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Folder> {
        let mut folder = Map::new();
        folder.insert("name".into(), Value::from(name));
        folder.insert(
            "source".into(),
            Value::from(convert::path_text(source, "source")?),
        );
        folder.insert(
            "destination".into(),
            Value::from(convert::path_text(destination, "destination")?),
        );
        add_options(&mut folder, options)?;
        // The folder is parsed and validated as the only folder of a profile, and the
        // messages lose the `folders[0].` that says so.
        let doc =
            serde_json::json!({"format": ferrysync::FORMAT, "name": "folder", "folders": [folder]});
        match ferrysync::Profile::from_json(&doc.to_string()) {
            Ok(mut profile) => Ok(Folder {
                inner: profile.folders.remove(0),
            }),
            Err(e) => {
                let message = e.message();
                let message = message
                    .strip_prefix("folders[0].")
                    .or_else(|| message.strip_prefix("folders[0]: "))
                    .unwrap_or(message);
                let err = ferrysync::Error::new(e.kind(), message);
                Err(errors::to_py(match e.path() {
                    Some(p) => err.with_path(p),
                    None => err,
                }))
            }
        }
    }

    /// The folder as a dict with snake_case keys.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::serialized(py, &self.inner)
    }

    #[getter]
    fn name(&self) -> &str {
        &self.inner.name
    }

    #[getter]
    fn source(&self) -> &str {
        &self.inner.source
    }

    #[getter]
    fn destination(&self) -> &str {
        &self.inner.destination
    }

    #[getter]
    fn include_subfolders(&self) -> bool {
        self.inner.include_subfolders
    }

    #[getter]
    fn enabled(&self) -> bool {
        self.inner.enabled
    }

    #[getter]
    fn marker(&self) -> Option<&str> {
        self.inner.marker.as_deref()
    }

    #[getter]
    fn filters<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.inner
            .filters
            .as_ref()
            .map(|f| convert::serialized(py, f))
            .transpose()
    }

    fn __repr__(&self) -> String {
        format!(
            "Folder(name={:?}, source={:?}, destination={:?})",
            self.inner.name, self.inner.source, self.inner.destination
        )
    }
}
