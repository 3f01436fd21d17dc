//! `Plan`, its `Action`s and their `Stamp`s: the preview of a run.

use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::types::PyList;
use serde_json::Value;

use crate::convert;

/// What a run of a profile will do: iterate it for the actions.
#[pyclass(module = "ferrysync._native", frozen)]
pub struct Plan {
    pub inner: Arc<ferrysync::Plan>,
}

#[pymethods]
impl Plan {
    /// The profile's name.
    #[getter]
    fn profile(&self) -> &str {
        &self.inner.profile
    }

    /// The operation.
    #[getter]
    fn operation(&self) -> &'static str {
        self.inner.operation.name()
    }

    /// Counts and bytes over all folders (snake_case keys: `new_files`, `bytes_to_copy`...).
    #[getter]
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::serialized(py, &self.inner.summary())
    }

    /// One dict per folder pair: `folder`, `source`, `destination`, `skipped`, `summary`...
    /// (the JSON of the folder's plan without its actions).
    #[getter]
    fn folders<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for folder in &self.inner.folders {
            let mut json = serde_json::to_value(folder)
                .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
            if let Value::Object(map) = &mut json {
                map.remove("actions");
                map.entry("skipped").or_insert(Value::Null);
            }
            list.append(convert::to_py(py, json)?)?;
        }
        Ok(list)
    }

    /// Whether the run would change nothing.
    fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// The plan as pretty JSON.
    fn to_json(&self) -> String {
        self.inner.to_json()
    }

    fn __len__(&self) -> usize {
        self.inner.folders.iter().map(|f| f.actions.len()).sum()
    }

    fn __iter__(&self) -> PlanIterator {
        PlanIterator {
            plan: self.inner.clone(),
            at: Mutex::new((0, 0)),
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "Plan(profile={:?}, actions={})",
            self.inner.profile,
            self.__len__()
        )
    }
}

/// Iterates the actions of a plan, folder by folder.
#[pyclass(module = "ferrysync._native", frozen)]
pub struct PlanIterator {
    plan: Arc<ferrysync::Plan>,
    at: Mutex<(usize, usize)>,
}

#[pymethods]
impl PlanIterator {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self) -> Option<Action> {
        let mut at = self.at.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let folder = self.plan.folders.get(at.0)?;
            if let Some(action) = folder.actions.get(at.1) {
                at.1 += 1;
                return Some(Action::new(&folder.folder, action));
            }
            *at = (at.0 + 1, 0);
        }
    }
}

/// One step of a plan.
#[pyclass(module = "ferrysync._native", frozen)]
#[derive(Clone)]
pub struct Action {
    folder: String,
    inner: ferrysync::Action,
}

impl Action {
    pub fn new(folder: &str, action: &ferrysync::Action) -> Action {
        Action {
            folder: folder.to_owned(),
            inner: action.clone(),
        }
    }

    fn field(&self, key: &str) -> Option<String> {
        let json = serde_json::to_value(&self.inner).ok()?;
        json.get(key)?.as_str().map(str::to_owned)
    }
}

/// A side's stamp for Python.
pub fn stamp(s: &Option<ferrysync::Stamp>) -> Option<Stamp> {
    s.as_ref().map(|s| Stamp {
        size: s.size,
        mtime_ns: s.mtime_ns,
    })
}

#[pymethods]
impl Action {
    /// The folder pair (its name in the profile).
    #[getter]
    fn folder(&self) -> &str {
        &self.folder
    }

    /// `create-dir`, `copy`, `update-meta`, `delete`, `delete-source`, `conflict`, and for
    /// two-way plans `rename` and `record`.
    #[getter]
    fn kind(&self) -> &'static str {
        self.inner.kind.name()
    }

    /// The path, relative to both roots, `/`-separated.
    #[getter]
    fn path(&self) -> String {
        self.inner.path.to_string()
    }

    /// `file`, `dir`, `symlink` or `special`.
    #[getter]
    fn entry(&self) -> &'static str {
        self.inner.entry.name()
    }

    /// `new`, `changed`, `unmatched`, `replaced`, `metadata`, `moved` or `kind-differs`;
    /// for two-way plans also `deleted`, `restored`, `renamed`, `identical`, `forgotten`,
    /// `emptied` (a folder the run leaves empty, with `remove-empty-dirs`) and `conflict`.
    #[getter]
    fn reason(&self) -> Option<String> {
        self.field("reason")
    }

    /// For `changed`: what differs (`source-newer`, `size`, `content`...); for a two-way
    /// `conflict`: which (`both-changed`, `both-created`, `changed-deleted`,
    /// `kind-changed`).
    #[getter]
    fn detail(&self) -> Option<String> {
        self.field("detail")
    }

    /// `new`, `modified`, `deleted`, `conflict`, `renamed` or `recorded` (how the preview
    /// groups it).
    #[getter]
    fn group(&self) -> &'static str {
        self.inner.group().name()
    }

    /// The side the action changes, `source` or `destination`: the destination, except for a
    /// move's source deletions and two-way actions going from the destination to the source.
    #[getter]
    fn to(&self) -> &'static str {
        self.inner.to.name()
    }

    /// For `rename`: the old path on side `to`, which becomes `path`.
    #[getter(from_path)]
    fn old_path(&self) -> Option<String> {
        self.inner.from.as_ref().map(|p| p.to_string())
    }

    /// For a two-way `conflict`: what the run does, `keep-both`, `wins`, `skip` or `prompt`.
    #[getter]
    fn resolution(&self) -> Option<&'static str> {
        self.inner.resolution.map(|r| match r {
            ferrysync::Resolution::KeepBoth(_) => "keep-both",
            ferrysync::Resolution::Wins(_) => "wins",
            ferrysync::Resolution::Skip => "skip",
            ferrysync::Resolution::Prompt => "prompt",
        })
    }

    /// The side `resolution` names: the winner, or the newer version, which keeps the name.
    #[getter]
    fn resolution_side(&self) -> Option<&'static str> {
        match self.inner.resolution? {
            ferrysync::Resolution::KeepBoth(side) | ferrysync::Resolution::Wins(side) => {
                Some(side.name())
            }
            ferrysync::Resolution::Skip | ferrysync::Resolution::Prompt => None,
        }
    }

    /// Bytes the action copies or frees.
    #[getter]
    fn size(&self) -> u64 {
        self.inner.size
    }

    /// The source side, when it has the path.
    #[getter]
    fn source(&self) -> Option<Stamp> {
        stamp(&self.inner.source)
    }

    /// The destination side, when it has the path.
    #[getter]
    fn destination(&self) -> Option<Stamp> {
        stamp(&self.inner.destination)
    }

    /// The action as pretty JSON.
    fn to_json(&self) -> PyResult<String> {
        convert::pretty(&self.inner)
    }

    fn __repr__(&self) -> String {
        format!(
            "Action(kind={:?}, path={:?}, reason={:?}, size={})",
            self.kind(),
            self.path(),
            self.reason().unwrap_or_default(),
            self.inner.size
        )
    }
}

/// Size and modification time of one side of an action.
#[pyclass(module = "ferrysync._native", frozen)]
pub struct Stamp {
    size: u64,
    mtime_ns: i64,
}

#[pymethods]
impl Stamp {
    /// Size in bytes.
    #[getter]
    fn size(&self) -> u64 {
        self.size
    }

    /// Modification time in nanoseconds since the epoch.
    #[getter]
    fn mtime_ns(&self) -> i64 {
        self.mtime_ns
    }

    /// Modification time, an aware `datetime` in UTC.
    #[getter]
    fn mtime<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::datetime(py, self.mtime_ns)
    }

    fn __repr__(&self) -> String {
        format!("Stamp(size={}, mtime_ns={})", self.size, self.mtime_ns)
    }
}
