//! `ProfileStore` and the group-export functions `profiles_from_json`/`profiles_to_json`.

use std::path::PathBuf;

use pyo3::prelude::*;

use crate::errors::IntoPyResult;
use crate::profile::Profile;

/// A folder of profile files, one per profile, laid out as the group tree.
#[pyclass(module = "ferrysync._native", frozen)]
pub struct ProfileStore {
    inner: ferrysync::ProfileStore,
}

fn wrap(profiles: Vec<ferrysync::Profile>) -> Vec<Profile> {
    profiles
        .into_iter()
        .map(|inner| Profile { inner })
        .collect()
}

#[pymethods]
impl ProfileStore {
    /// Opens the store in `path`, creating the folder (and its parents) when missing.
    #[new]
    fn new(py: Python<'_>, path: PathBuf) -> PyResult<ProfileStore> {
        let inner = py
            .detach(move || ferrysync::ProfileStore::open(path))
            .py()?;
        Ok(ProfileStore { inner })
    }

    /// The store's folder.
    #[getter]
    fn root(&self) -> PathBuf {
        self.inner.root().to_path_buf()
    }

    /// Every profile, sorted by group, then name.
    fn list(&self, py: Python<'_>) -> PyResult<Vec<Profile>> {
        let store = &self.inner;
        py.detach(|| store.list()).py().map(wrap)
    }

    /// The profile with `key` (`group/name`, `/name`, or a bare `name`).
    fn get(&self, py: Python<'_>, key: &str) -> PyResult<Profile> {
        let store = &self.inner;
        let inner = py.detach(|| store.get(key)).py()?;
        Ok(Profile { inner })
    }

    /// Inserts `profile`, or replaces the one with the same group and name.
    fn save(&self, py: Python<'_>, profile: &Profile) -> PyResult<()> {
        let store = &self.inner;
        let profile = &profile.inner;
        py.detach(|| store.save(profile)).py()
    }

    /// Adds the profiles of `text` (one profile or a group export); returns their keys.
    #[pyo3(signature = (text, overwrite = false))]
    fn import_json(&self, py: Python<'_>, text: &str, overwrite: bool) -> PyResult<Vec<String>> {
        let store = &self.inner;
        py.detach(|| store.import(text, overwrite)).py()
    }

    /// The profile with `key` as a single-profile JSON document.
    fn export(&self, py: Python<'_>, key: &str) -> PyResult<String> {
        let store = &self.inner;
        py.detach(|| store.export(key)).py()
    }

    /// The profiles of `group` and its subgroups as a group export (`""` exports all).
    fn export_group(&self, py: Python<'_>, group: &str) -> PyResult<String> {
        let store = &self.inner;
        py.detach(|| store.export_group(group)).py()
    }

    /// Renames the profile with `key` to `new_name` in the same group.
    fn rename(&self, py: Python<'_>, key: &str, new_name: &str) -> PyResult<()> {
        let store = &self.inner;
        py.detach(|| store.rename(key, new_name)).py()
    }

    /// Copies the profile with `key` as `new_name` in the same group.
    fn duplicate(&self, py: Python<'_>, key: &str, new_name: &str) -> PyResult<()> {
        let store = &self.inner;
        py.detach(|| store.duplicate(key, new_name)).py()
    }

    /// Deletes the profile with `key` (its group folder stays).
    fn delete(&self, py: Python<'_>, key: &str) -> PyResult<()> {
        let store = &self.inner;
        py.detach(|| store.delete(key)).py()
    }

    /// Enables or disables the profile with `key`.
    fn set_enabled(&self, py: Python<'_>, key: &str, enabled: bool) -> PyResult<()> {
        let store = &self.inner;
        py.detach(|| store.set_enabled(key, enabled)).py()
    }

    /// The group tree as sorted paths, every level included (`"Daily"`, `"Daily/Docs"`).
    fn groups(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let store = &self.inner;
        py.detach(|| store.groups()).py()
    }

    fn __repr__(&self) -> String {
        format!(
            "ProfileStore({:?})",
            self.inner.root().display().to_string()
        )
    }
}

/// Parses and validates a document of either shape (one profile or a group export).
#[pyfunction]
pub fn profiles_from_json(py: Python<'_>, text: &str) -> PyResult<Vec<Profile>> {
    py.detach(|| ferrysync::profiles_from_json(text))
        .py()
        .map(wrap)
}

/// A group export of `profiles`: pretty JSON, `{"format": 1, "profiles": [...]}`.
#[pyfunction]
pub fn profiles_to_json(profiles: Vec<PyRef<'_, Profile>>) -> String {
    let list: Vec<ferrysync::Profile> = profiles.iter().map(|p| p.inner.clone()).collect();
    ferrysync::profiles_to_json(&list)
}
