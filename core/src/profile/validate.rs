//! The rules a profile must follow beyond its JSON types; each error names its JSON path.

use std::collections::HashMap;
use std::fmt::Display;

use super::{DeletionMode, Operation, Profile};
use crate::compare::Comparator;
use crate::error::{Error, Result};
use crate::filter::{Filter, FilterSpec};
use crate::location::Location;

/// More worker threads than this is a typo, not a plan.
pub(crate) const MAX_THREADS: usize = 256;

/// Times further apart than a day are not "the same time, give or take".
pub(crate) const MAX_MTIME_TOLERANCE_MS: u64 = 24 * 60 * 60 * 1000;

fn invalid(path: &str, message: impl Display) -> Error {
    Error::invalid(format!("{path}: {message}"))
}

/// Re-labels an error from another module with the JSON path it belongs to.
fn at(path: &str, err: Error) -> Error {
    Error::new(err.kind(), format!("{path}: {}", err.message()))
}

/// What is wrong with `name` as a single, plain file name (a profile name or a group
/// component), if anything.
fn file_name_problem(what: &str, name: &str) -> Option<String> {
    if name.is_empty() {
        return Some(format!("{what} is empty"));
    }
    if name == "." || name == ".." {
        return Some(format!("{what} {name:?} is not allowed"));
    }
    name.chars()
        .find(|c| matches!(c, '/' | '\\' | '\0'))
        .map(|c| format!("{what} {name:?} must not contain {c:?}"))
}

/// Checks a profile name: it must make a single, plain file name.
pub(crate) fn check_name(path: &str, name: &str) -> Result<()> {
    match file_name_problem("profile name", name) {
        Some(problem) => Err(invalid(path, problem)),
        None => Ok(()),
    }
}

/// Checks a `/`-separated group path; empty is the top of the tree.
pub(crate) fn check_group(path: &str, group: &str) -> Result<()> {
    if group.is_empty() {
        return Ok(());
    }
    match group
        .split('/')
        .find_map(|c| file_name_problem("group component", c))
    {
        Some(problem) => Err(invalid(path, format!("{group:?}: {problem}"))),
        None => Ok(()),
    }
}

fn check_filters(path: &str, spec: &FilterSpec) -> Result<()> {
    Filter::new(spec, 0).map(drop).map_err(|e| at(path, e))
}

impl Profile {
    /// Checks the rules the JSON types cannot express. [`Profile::from_json`] and
    /// [`Profile::load`] run it; call it after changing a profile in code.
    ///
    /// # Errors
    /// The first broken rule, its message starting with the JSON path (`folders[1].source: ...`):
    /// [`ErrorKind::NotSupported`](crate::ErrorKind::NotSupported) for following links in a
    /// two-way sync and the `schedule`, `programs`, `notifications` and `access` keys;
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for an empty or slashed name,
    /// a conflict name without `{stem}`/`{name}` or with a separator, a bad conflict-rule mask,
    /// an empty group component, empty or duplicate folder names, an empty source or
    /// destination or both the same, a bad marker, filters that do not compile, `"versions"`
    /// deletion without versions, a versions folder with `..`, more than 256 threads, or an
    /// mtime tolerance above a day.
    pub fn validate(&self) -> Result<()> {
        check_name("name", &self.name)?;
        check_group("group", &self.group)?;

        if self.operation == Operation::Synchronize {
            if self.copy.symlinks == crate::profile::SymlinkMode::Follow {
                return Err(Error::not_supported(
                    "copy.symlinks \"follow\" with operation \"synchronize\"",
                ));
            }
            let name = &self.sync.conflict_name;
            if !name.contains("{stem}") && !name.contains("{name}") {
                return Err(invalid(
                    "sync.conflict-name",
                    format!("{name:?} must contain {{stem}} or {{name}}"),
                ));
            }
            if name.contains('/') || name.contains('\\') {
                return Err(invalid(
                    "sync.conflict-name",
                    format!("{name:?} must not contain a path separator"),
                ));
            }
            super::ConflictPolicies::new(&self.sync, self.filters.case_sensitive)?;
        }
        for (key, value) in [
            ("schedule", &self.schedule),
            ("programs", &self.programs),
            ("notifications", &self.notifications),
            ("access", &self.access),
        ] {
            if value.is_some() {
                return Err(Error::not_supported(key));
            }
        }

        // The profile's own filters first: a folder inherits what it does not set.
        check_filters("filters", &self.filters)?;
        let mut names = HashMap::new();
        for (i, folder) in self.folders.iter().enumerate() {
            let here = format!("folders[{i}]");
            if folder.name.is_empty() {
                return Err(invalid(&format!("{here}.name"), "folder name is empty"));
            }
            if let Some(first) = names.insert(folder.name.as_str(), i) {
                return Err(invalid(
                    &format!("{here}.name"),
                    format!(
                        "duplicate folder name {:?} (also folders[{first}])",
                        folder.name
                    ),
                ));
            }
            if folder.source.is_empty() {
                return Err(invalid(&format!("{here}.source"), "source is empty"));
            }
            if folder.destination.is_empty() {
                return Err(invalid(
                    &format!("{here}.destination"),
                    "destination is empty",
                ));
            }
            for (key, text) in [
                ("source", &folder.source),
                ("destination", &folder.destination),
            ] {
                Location::check(text).map_err(|e| at(&format!("{here}.{key}"), e))?;
            }
            if folder.source == folder.destination {
                return Err(invalid(
                    &format!("{here}.destination"),
                    format!("same as the source ({:?})", folder.source),
                ));
            }
            folder
                .marker_spec()
                .map_err(|e| at(&format!("{here}.marker"), e))?;
            if folder.filters.is_some() {
                check_filters(&format!("{here}.filters"), &folder.effective_filters(self))?;
            }
        }
        Comparator::new(&self.comparison).map_err(|e| at("comparison", e))?;
        if self.comparison.mtime_tolerance_ms > MAX_MTIME_TOLERANCE_MS {
            return Err(invalid(
                "comparison.mtime-tolerance-ms",
                format!(
                    "{} is more than a day ({MAX_MTIME_TOLERANCE_MS})",
                    self.comparison.mtime_tolerance_ms
                ),
            ));
        }

        if self.copy.threads > MAX_THREADS {
            return Err(invalid(
                "copy.threads",
                format!(
                    "{} is more than {MAX_THREADS} (0 picks a number from the machine)",
                    self.copy.threads
                ),
            ));
        }

        let versions = &self.versions;
        if versions.deleted_files == DeletionMode::Versions && versions.keep == 0 {
            return Err(invalid(
                "versions.deleted-files",
                "\"versions\" needs versions.keep above 0 (set versions.keep, or delete to \
                 \"trash\" or \"erase\")",
            ));
        }
        if let Some(folder) = &versions.folder {
            if folder.is_empty() {
                return Err(invalid(
                    "versions.folder",
                    "empty (leave the key out for the default)",
                ));
            }
            if folder.split(['/', '\\']).any(|c| c == "..") {
                return Err(invalid(
                    "versions.folder",
                    format!("{folder:?} must not contain \"..\""),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::filter::FilterOverrides;
    use crate::profile::Folder;

    fn valid() -> Profile {
        Profile::new("p", Operation::Mirror)
            .with_folder(Folder::new("a", "/src/a", "/dst/a"))
            .with_folder(Folder::new("b", "/src/b", "/dst/b"))
    }

    /// Issue 11, item 1: remote locations are valid profiles (the engine says which it
    /// cannot reach yet); an undefined variable is for when the folder is used.
    #[test]
    fn remote_locations_are_valid() {
        for url in [
            "sftp://me:pw@h:22/srv",
            "ftp://h/pub",
            "ftps://h/",
            "webdav://h/d",
            "webdavs://h/d",
            "s3://bucket/prefix?region=eu-west-1",
            "az://container/prefix",
            "gs://bucket",
            "file:///dst/a",
            "memory://tree",
            "sftp://h/$FERRYSYNC_SURELY_UNDEFINED",
        ] {
            let mut p = valid();
            p.folders[0].destination = url.into();
            p.validate().unwrap_or_else(|e| panic!("{url}: {e}"));
        }
    }

    /// Each row: a change to a valid profile, the error kind, and how the message must start.
    macro_rules! broken {
        ($($name:ident: |$p:ident| $change:expr => $kind:ident, $prefix:expr;)*) => {$(
            #[test]
            fn $name() {
                let mut $p = valid();
                $change;
                let err = $p.validate().expect_err("profile should be rejected");
                assert_eq!(err.kind(), ErrorKind::$kind, "{err}");
                assert!(
                    err.to_string().starts_with($prefix),
                    "message {:?} should start with {:?}",
                    err.to_string(),
                    $prefix
                );
            }
        )*};
    }

    broken! {
        empty_name: |p| p.name.clear() => InvalidInput, "name: profile name is empty";
        name_with_slash: |p| p.name = "a/b".into() => InvalidInput,
            "name: profile name \"a/b\" must not contain '/'";
        name_dot_dot: |p| p.name = "..".into() => InvalidInput, "name: profile name \"..\"";
        empty_group_component: |p| p.group = "Daily//Docs".into() => InvalidInput,
            "group: \"Daily//Docs\": group component is empty";
        trailing_group_slash: |p| p.group = "Daily/".into() => InvalidInput, "group: ";
        escaping_group: |p| p.group = "../etc".into() => InvalidInput,
            "group: \"../etc\": group component \"..\" is not allowed";
        empty_folder_name: |p| p.folders[1].name.clear() => InvalidInput,
            "folders[1].name: folder name is empty";
        duplicate_folder_name: |p| p.folders[1].name = "a".into() => InvalidInput,
            "folders[1].name: duplicate folder name \"a\" (also folders[0])";
        empty_source: |p| p.folders[0].source.clear() => InvalidInput,
            "folders[0].source: source is empty";
        empty_destination: |p| p.folders[1].destination.clear() => InvalidInput,
            "folders[1].destination: destination is empty";
        source_is_destination: |p| p.folders[1].destination = "/src/b".into() => InvalidInput,
            "folders[1].destination: same as the source";
        // Issue 11, item 1: a URL that does not parse is bad input at its JSON path, and
        // the message keeps the password out.
        destination_with_a_bad_port: |p| {
            p.folders[0].destination = "sftp://me:hunter2@backup.example:99999/srv".into()
        } => InvalidInput, "folders[0].destination: \"sftp://me:***@backup.example:99999/srv\": ";
        source_with_an_unknown_scheme: |p| p.folders[1].source = "http://h/x".into() => InvalidInput,
            "folders[1].source: \"http://h/x\": unknown scheme \"http\"";
        destination_without_a_bucket: |p| p.folders[1].destination = "s3:///prefix".into()
            => InvalidInput, "folders[1].destination: \"s3:///prefix\": no bucket";
        destination_with_a_fragment: |p| p.folders[0].destination = "ftp://h/a#b".into()
            => InvalidInput, "folders[0].destination: \"ftp://h/a#b\": has a fragment";
        synchronize_following_links: |p| {
            p.operation = Operation::Synchronize;
            p.copy.symlinks = crate::profile::SymlinkMode::Follow;
        } => NotSupported,
            "copy.symlinks \"follow\" with operation \"synchronize\": not supported yet";
        conflict_name_without_stem: |p| {
            p.operation = Operation::Synchronize;
            p.sync.conflict_name = "conflict {date}".into();
        } => InvalidInput,
            "sync.conflict-name: \"conflict {date}\" must contain {stem} or {name}";
        schedule: |p| p.schedule = Some(serde_json::json!({})) => NotSupported,
            "schedule: not supported yet";
        programs: |p| p.programs = Some(serde_json::json!([])) => NotSupported,
            "programs: not supported yet";
        notifications: |p| p.notifications = Some(serde_json::json!(true)) => NotSupported,
            "notifications: not supported yet";
        access: |p| p.access = Some(serde_json::json!("me")) => NotSupported,
            "access: not supported yet";
        deleted_to_versions_without_versions: |p| {
            p.versions.deleted_files = DeletionMode::Versions
        } => InvalidInput, "versions.deleted-files: \"versions\" needs versions.keep above 0";
        versions_folder_escapes: |p| p.versions.folder = Some("../old".into()) =>
            InvalidInput, "versions.folder: \"../old\" must not contain \"..\"";
        versions_folder_escapes_inside: |p| p.versions.folder = Some("/a/../b".into()) =>
            InvalidInput, "versions.folder: ";
        versions_folder_empty: |p| p.versions.folder = Some(String::new()) =>
            InvalidInput, "versions.folder: empty";
        marker_absolute: |p| p.folders[1].marker = Some("/etc/marker".into()) =>
            InvalidInput, "folders[1].marker: path \"/etc/marker\" is absolute";
        marker_escapes: |p| p.folders[0].marker = Some("../m=x".into()) =>
            InvalidInput, "folders[0].marker: path \"../m\" leaves its tree";
        marker_empty_path: |p| p.folders[0].marker = Some("=x".into()) =>
            InvalidInput, "folders[0].marker: \"=x\" names no file";
        marker_empty_regex: |p| p.folders[0].marker = Some("m=".into()) =>
            InvalidInput, "folders[0].marker: \"m=\": empty regex";
        marker_bad_regex: |p| p.folders[0].marker = Some("m=(".into()) =>
            InvalidInput, "folders[0].marker: \"m=(\": invalid regex: ";
        too_many_threads: |p| p.copy.threads = 257 => InvalidInput,
            "copy.threads: 257 is more than 256";
        tolerance_above_a_day: |p| p.comparison.mtime_tolerance_ms = 86_400_001 =>
            InvalidInput, "comparison.mtime-tolerance-ms: 86400001 is more than a day";
    }

    #[test]
    fn limits_are_inclusive() {
        let mut p = valid();
        p.copy.threads = MAX_THREADS;
        p.comparison.mtime_tolerance_ms = MAX_MTIME_TOLERANCE_MS;
        p.versions.keep = 1;
        p.versions.deleted_files = DeletionMode::Versions;
        p.versions.folder = Some("a..b/.versions".into());
        p.group = "Daily/Docs".into();
        p.folders[0].marker = Some("sub/.marker=^id=42$".into());
        p.validate().unwrap();
    }

    #[test]
    fn filter_errors_carry_the_json_path() {
        // Whatever the filter compiler rejects, validation reports under the right key.
        let bad = FilterSpec {
            ignore_regex: vec!["(".into()],
            exclude_files: vec!["[".into()],
            ..FilterSpec::default()
        };
        let expected = Filter::new(&bad, 0).err().map(|e| e.message().to_string());

        let mut p = valid();
        p.folders[1].filters = Some(FilterOverrides {
            ignore_regex: Some(bad.ignore_regex.clone()),
            exclude_files: Some(bad.exclude_files.clone()),
            ..FilterOverrides::default()
        });
        let got = p.validate().err().map(|e| e.to_string());
        assert_eq!(
            got,
            expected
                .as_ref()
                .map(|m| format!("folders[1].filters: {m}"))
        );

        let mut p = valid();
        p.filters = bad;
        let got = p.validate().err().map(|e| e.to_string());
        assert_eq!(got, expected.map(|m| format!("filters: {m}")));
    }
}
