//! `Versions` (the versions folder of one destination), `Version`, and the reports of
//! restoring a tree and cleaning up.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;
use serde_json::{Map, Value};

use ferrysync::transport::{Role, Transport};
use ferrysync::{Error, ErrorKind, Location, RelPath};

use crate::convert;
use crate::errors::IntoPyResult;
use crate::profile::Profile;

/// The versions folder of one destination: list, restore and clean up earlier versions of
/// replaced and deleted files.
#[pyclass(module = "ferrysync._native", frozen)]
pub struct Versions {
    inner: ferrysync::Versions,
    destination: Arc<dyn Transport>,
    root: PathBuf,
    opts: ferrysync::VersionsOptions,
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// A relative path of the synchronized tree from a `str` or `os.PathLike`.
fn rel_path(path: &Path) -> PyResult<RelPath> {
    RelPath::new(path.as_os_str().as_bytes()).py()
}

impl Versions {
    /// The versions folder of the destination `at`, opened by the engine.
    fn open(at: Location, opts: ferrysync::VersionsOptions) -> PyResult<Versions> {
        let inner = ferrysync::Engine::new().versions(&at, &opts).py()?;
        let root = at
            .local_path()
            .map_or_else(|| PathBuf::from(at.describe()), Path::to_path_buf);
        Ok(Versions {
            destination: Arc::clone(inner.destination()),
            inner,
            root,
            opts,
        })
    }
}

fn wrap(list: Vec<ferrysync::Version>) -> Vec<Version> {
    list.into_iter().map(|inner| Version { inner }).collect()
}

#[pymethods]
impl Versions {
    /// The versions folder of the local folder `destination`. The options are those of a
    /// profile's `versions` group: `folder` relative to the destination (default
    /// `.ferrysync/versions`) or absolute, `max_total_size` as bytes or `"500MB"`, `max_age`
    /// as `"30 days"`.
    #[new]
    #[pyo3(signature = (destination, keep = 1, folder = None, max_total_size = None, max_age = None))]
    fn new(
        py: Python<'_>,
        destination: PathBuf,
        keep: u32,
        folder: Option<PathBuf>,
        max_total_size: Option<&Bound<'_, PyAny>>,
        max_age: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Versions> {
        let mut doc = Map::new();
        doc.insert("keep".into(), Value::from(keep));
        if let Some(folder) = folder {
            let text = folder.to_str().ok_or_else(|| {
                crate::errors::to_py(Error::invalid("versions folder is not valid UTF-8"))
            })?;
            doc.insert("folder".into(), Value::from(text));
        }
        if let Some(size) = max_total_size {
            doc.insert(
                "max-total-size".into(),
                convert::to_json(size, "max_total_size")?,
            );
        }
        if let Some(age) = max_age {
            doc.insert("max-age".into(), convert::to_json(age, "max_age")?);
        }
        let opts: ferrysync::VersionsOptions =
            serde_json::from_value(Value::Object(doc)).map_err(|e| {
                crate::errors::to_py(Error::new(
                    ErrorKind::InvalidInput,
                    format!("versions: {e}"),
                ))
            })?;
        py.detach(move || Versions::open(Location::local(destination), opts))
    }

    /// The versions folder of a folder pair of `profile` (`folder_name` may be left out when
    /// the profile has one folder), with the profile's `versions` options and the folder's
    /// destination, environment variables expanded.
    #[staticmethod]
    #[pyo3(signature = (profile, folder_name = None))]
    fn for_profile(profile: &Profile, folder_name: Option<&str>) -> PyResult<Versions> {
        let p = &profile.inner;
        let folder = match folder_name {
            Some(name) => p.folders.iter().find(|f| f.name == name).ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!("profile {:?} has no folder {name:?}", p.name),
                )
            }),
            None if p.folders.len() == 1 => Ok(&p.folders[0]),
            None => Err(Error::invalid(format!(
                "profile {:?} has {} folders: name one with folder_name",
                p.name,
                p.folders.len()
            ))),
        }
        .py()?;
        let at = folder.destination_location().py()?;
        Versions::open(at, p.versions.clone())
    }

    /// The destination folder.
    #[getter]
    fn destination(&self) -> PathBuf {
        self.root.clone()
    }

    /// The versions folder relative to the destination, when it lies inside it.
    #[getter]
    fn folder(&self) -> Option<String> {
        self.inner
            .inside_destination()
            .map(|p| p.display().into_owned())
    }

    /// The options (the profile's `versions` group) as a dict with snake_case keys.
    fn options<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::serialized(py, &self.opts)
    }

    /// The versions of `path` (relative to the destination root), newest first.
    fn list(&self, py: Python<'_>, path: PathBuf) -> PyResult<Vec<Version>> {
        let path = rel_path(&path)?;
        let inner = &self.inner;
        py.detach(|| inner.list(&path)).py().map(wrap)
    }

    /// Every stored version, by path, each path's newest first.
    fn list_all(&self, py: Python<'_>) -> PyResult<Vec<Version>> {
        let inner = &self.inner;
        py.detach(|| inner.list_all()).py().map(wrap)
    }

    /// Copies `version` back into the destination, at its own path or at `to` (relative to
    /// the destination root), with its modification time. A file already there is first kept
    /// as a version, so nothing is lost.
    #[pyo3(signature = (version, to = None))]
    fn restore(&self, py: Python<'_>, version: &Version, to: Option<PathBuf>) -> PyResult<()> {
        let to = match to {
            Some(to) => rel_path(&to)?,
            None => version.inner.path.clone(),
        };
        if to.is_root() {
            return Err(crate::errors::to_py(Error::invalid(
                "cannot restore a version onto the destination root",
            )));
        }
        let (inner, destination, version) = (&self.inner, &*self.destination, &version.inner);
        py.detach(|| inner.restore(version, destination, &to)).py()
    }

    /// Writes into the folder `into` the tree as it was at `when` (a naive datetime is local
    /// time). `into` is created when missing; one that holds anything is refused
    /// (`InvalidInputError`) unless `overwrite`: then each file the restore replaces is first
    /// kept as a version, in the destination's versions folder when `into` is the destination
    /// (a rollback in place) or inside it, else in `into/.ferrysync/versions`.
    #[pyo3(signature = (when, into, overwrite = false))]
    fn restore_as_of(
        &self,
        py: Python<'_>,
        when: &Bound<'_, PyAny>,
        into: PathBuf,
        overwrite: bool,
    ) -> PyResult<RestoreReport> {
        let at_ns = convert::ns_of(when)?;
        let (inner, live) = (&self.inner, &*self.destination);
        let report = py
            .detach(|| {
                let into = Location::local(into);
                let target = ferrysync::Engine::new().transport(&into, Role::Restore)?;
                let opts = ferrysync::RestoreOptions::overwriting(overwrite);
                inner.restore_tree_as_of(at_ns, live, &*target, &opts)
            })
            .py()?;
        Ok(RestoreReport { inner: report })
    }

    /// Applies every limit (`keep` and `max_age` per file, then `max_total_size`) to the
    /// whole versions folder.
    fn clean(&self, py: Python<'_>) -> PyResult<CleanReport> {
        let inner = &self.inner;
        let report = py.detach(|| inner.clean(now_ns())).py()?;
        Ok(CleanReport { inner: report })
    }

    fn __repr__(&self) -> String {
        format!("Versions({:?})", self.root.display().to_string())
    }
}

/// One stored version of a file.
#[pyclass(module = "ferrysync._native", frozen, eq)]
#[derive(PartialEq)]
pub struct Version {
    inner: ferrysync::Version,
}

#[pymethods]
impl Version {
    /// The file's path relative to the destination root.
    #[getter]
    fn path(&self) -> String {
        self.inner.path.display().into_owned()
    }

    /// When it was replaced or deleted: an aware datetime in UTC (millisecond resolution).
    #[getter]
    fn stored<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::datetime(py, self.inner.stored_ns)
    }

    /// Its modification time: an aware datetime in UTC.
    #[getter]
    fn mtime<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::datetime(py, self.inner.mtime_ns)
    }

    /// When it was stored, in nanoseconds since the epoch.
    #[getter]
    fn stored_ns(&self) -> i64 {
        self.inner.stored_ns
    }

    /// Its modification time, in nanoseconds since the epoch.
    #[getter]
    fn mtime_ns(&self) -> i64 {
        self.inner.mtime_ns
    }

    /// Its size in bytes.
    #[getter]
    fn size(&self) -> u64 {
        self.inner.size
    }

    /// Where it is, relative to the versions folder.
    #[getter]
    fn location(&self) -> String {
        self.inner.location.display().into_owned()
    }

    /// The version as a dict with snake_case keys (times in ns).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::serialized(py, &self.inner)
    }

    fn __repr__(&self) -> String {
        format!(
            "Version(path={:?}, stored_ns={}, size={})",
            self.inner.path.display(),
            self.inner.stored_ns,
            self.inner.size
        )
    }
}

/// What `Versions.restore_as_of` wrote.
#[pyclass(module = "ferrysync._native", frozen, eq)]
#[derive(PartialEq)]
pub struct RestoreReport {
    inner: ferrysync::RestoreReport,
}

#[pymethods]
impl RestoreReport {
    /// Files written.
    #[getter]
    fn files(&self) -> u64 {
        self.inner.files
    }

    /// Bytes written.
    #[getter]
    fn bytes(&self) -> u64 {
        self.inner.bytes
    }

    fn __repr__(&self) -> String {
        format!(
            "RestoreReport(files={}, bytes={})",
            self.inner.files, self.inner.bytes
        )
    }
}

/// What `Versions.clean` removed.
#[pyclass(module = "ferrysync._native", frozen, eq)]
#[derive(PartialEq)]
pub struct CleanReport {
    inner: ferrysync::CleanReport,
}

#[pymethods]
impl CleanReport {
    /// Versions removed.
    #[getter]
    fn removed(&self) -> u64 {
        self.inner.removed
    }

    /// Their total size in bytes.
    #[getter]
    fn bytes_freed(&self) -> u64 {
        self.inner.bytes_freed
    }

    fn __repr__(&self) -> String {
        format!(
            "CleanReport(removed={}, bytes_freed={})",
            self.inner.removed, self.inner.bytes_freed
        )
    }
}
