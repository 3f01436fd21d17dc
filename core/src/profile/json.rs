//! The JSON file format: one profile, or a group export of several.
//!
//! ```json
//! {"format": 1, "name": "docs", "folders": [...]}
//! {"format": 1, "profiles": [{"name": "docs", "group": "Daily", ...}, ...]}
//! ```

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use serde_path_to_error::Segment;

use super::Profile;
use crate::error::{Error, Result};

/// The version of the profile file format this release reads and writes.
pub const FORMAT: u64 = 1;

#[derive(Serialize)]
struct SingleOut<'a> {
    format: u64,
    #[serde(flatten)]
    profile: &'a Profile,
}

#[derive(Serialize)]
struct GroupOut<'a> {
    format: u64,
    profiles: &'a [Profile],
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupIn {
    profiles: Vec<Profile>,
}

/// The two shapes a document can have, parsed but not yet validated.
enum Document {
    Single(Box<Profile>),
    Group(Vec<Profile>),
}

/// Parses a document of either shape; checks `format` and types, not the profile rules.
fn parse(text: &str) -> Result<Document> {
    let Value::Object(mut map) = parse_value(text)? else {
        return Err(Error::invalid(
            "expected a JSON object with \"format\": 1 (a profile or a group export)",
        ));
    };
    check_format(&mut map)?;
    if map.contains_key("profiles") {
        let group: GroupIn = from_value(Value::Object(map))?;
        Ok(Document::Group(group.profiles))
    } else {
        Ok(Document::Single(Box::new(from_value(Value::Object(map))?)))
    }
}

/// Parses `text` as one JSON value. Unlike `serde_json::from_str`, which keeps the last of
/// two equal keys, an object that names a key twice is an error naming the object's JSON
/// path and the key's position (`folders[1]: duplicate key "source" at line 3 column 62`).
fn parse_value(text: &str) -> Result<Value> {
    let mut de = serde_json::Deserializer::from_str(text);
    StrictValue {
        path: String::new(),
    }
    .deserialize(&mut de)
    .and_then(|value| de.end().map(|()| value))
    .map_err(|e| {
        if e.is_data() {
            // The only data error a `Value` can meet: a duplicate key.
            Error::invalid(e.to_string())
        } else {
            Error::invalid(format!("not valid JSON: {e}"))
        }
    })
}

/// Deserializes any JSON value at `path` (`""` for the document), refusing duplicate keys.
struct StrictValue {
    path: String,
}

impl StrictValue {
    /// The value at key `key` of this object.
    fn key(&self, key: &str) -> StrictValue {
        let path = if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        };
        StrictValue { path }
    }

    /// The value at `index` of this list.
    fn index(&self, index: usize) -> StrictValue {
        StrictValue {
            path: format!("{}[{index}]", self.path),
        }
    }
}

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> std::result::Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> std::result::Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> std::result::Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self.index(items.len()))? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> std::result::Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                let message = format!("duplicate key {key:?}");
                return Err(de::Error::custom(if self.path.is_empty() {
                    message
                } else {
                    format!("{}: {message}", self.path)
                }));
            }
            let value = access.next_value_seed(self.key(&key))?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

/// Removes `format` from `map`, checking that it is there and is 1.
fn check_format(map: &mut Map<String, Value>) -> Result<()> {
    match map.remove("format") {
        None => Err(Error::invalid(
            "missing \"format\": 1 (is this a ferrysync profile?)",
        )),
        Some(Value::Number(n)) if n.as_u64() == Some(FORMAT) => Ok(()),
        Some(Value::Number(n)) => Err(Error::invalid(format!(
            "format: unsupported format {n} (this release reads format {FORMAT})"
        ))),
        Some(other) => Err(Error::invalid(format!(
            "format: expected the number {FORMAT}, found {other}"
        ))),
    }
}

/// Deserializes `value`, prefixing any error with the JSON path where it happened. An
/// unknown key is reported at the object that holds it (`folders[0]: unknown field ...`).
fn from_value<T: serde::de::DeserializeOwned>(value: Value) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut segments: Vec<_> = e.path().iter().collect();
        let inner = e.inner().to_string();
        if inner.starts_with("unknown field `") {
            segments.pop();
        }
        let mut path = String::new();
        for segment in segments {
            if !path.is_empty() && !matches!(segment, Segment::Seq { .. }) {
                path.push('.');
            }
            path.push_str(&segment.to_string());
        }
        if path.is_empty() {
            Error::invalid(inner)
        } else {
            Error::invalid(format!("{path}: {inner}"))
        }
    })
}

/// Prefixes a validation error of the profile at `profiles[index]` with its position.
fn in_group(index: usize, err: Error) -> Error {
    Error::new(err.kind(), format!("profiles[{index}].{}", err.message()))
}

/// Parses and validates a document of either shape (one profile or a group export).
///
/// # Errors
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for malformed JSON, a missing
/// or unsupported `format`, an unknown key, a wrong type or an invalid value, the message
/// starting with the JSON path (`profiles[1].folders[0].source: ...`); two profiles with the
/// same group and name; [`ErrorKind::NotSupported`](crate::ErrorKind::NotSupported) for
/// options of a later release.
pub fn profiles_from_json(text: &str) -> Result<Vec<Profile>> {
    match parse(text)? {
        Document::Single(profile) => {
            profile.validate()?;
            Ok(vec![*profile])
        }
        Document::Group(profiles) => {
            let mut seen = HashMap::new();
            for (i, profile) in profiles.iter().enumerate() {
                profile.validate().map_err(|e| in_group(i, e))?;
                if let Some(first) = seen.insert(profile.key(), i) {
                    return Err(Error::invalid(format!(
                        "profiles[{i}]: duplicate profile {:?} (also profiles[{first}])",
                        profile.key()
                    )));
                }
            }
            Ok(profiles)
        }
    }
}

/// A group export of `profiles`: pretty JSON, `{"format": 1, "profiles": [...]}`.
pub fn profiles_to_json(profiles: &[Profile]) -> String {
    let doc = GroupOut {
        format: FORMAT,
        profiles,
    };
    serde_json::to_string_pretty(&doc).expect("profiles always serialize")
}

impl Profile {
    /// Parses and [validates](Profile::validate) a single-profile document,
    /// `{"format": 1, "name": ..., ...}`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for malformed JSON, a missing
    /// or unsupported `format`, a group export, an unknown key, a wrong type or an invalid
    /// value, the message starting with the JSON path
    /// (`folders[1].filters.exclude-folders[0]: invalid type: ...`);
    /// [`ErrorKind::NotSupported`](crate::ErrorKind::NotSupported) for options of a later
    /// release.
    pub fn from_json(text: &str) -> Result<Profile> {
        let profile = parse_single(text)?;
        profile.validate()?;
        Ok(profile)
    }

    /// The profile as a single-profile document: pretty JSON with `"format": 1` first.
    pub fn to_json(&self) -> String {
        let doc = SingleOut {
            format: FORMAT,
            profile: self,
        };
        serde_json::to_string_pretty(&doc).expect("profiles always serialize")
    }

    /// Reads a single-profile document from `path` (see [`Profile::from_json`]).
    ///
    /// # Errors
    /// The file's read error, or the errors of [`Profile::from_json`]; each names `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Profile> {
        let path = path.as_ref();
        let text = fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Profile::from_json(&text).map_err(|e| e.with_path(path))
    }

    /// Validates the profile and writes it to `path` atomically: to a temporary file in the
    /// same folder, then renamed over `path`, so readers see the old file or the new one.
    ///
    /// # Errors
    /// The errors of [`Profile::validate`] (nothing is written), or the write's I/O error
    /// naming the file.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        self.validate()?;
        let mut text = self.to_json();
        text.push('\n');
        write_atomic(path.as_ref(), text.as_bytes())
    }
}

/// Parses a single-profile document without validating it.
fn parse_single(text: &str) -> Result<Profile> {
    match parse(text)? {
        Document::Single(profile) => Ok(*profile),
        Document::Group(profiles) => Err(Error::invalid(format!(
            "profiles: this is a group export of {} profiles, not a single profile",
            profiles.len()
        ))),
    }
}

/// Writes `bytes` to a temporary file next to `path`, flushes it to disk, and renames it
/// over `path`.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .ok_or_else(|| Error::invalid("not a file name").with_path(path))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(
        ".{}-{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let tmp = path.with_file_name(tmp_name);
    let written = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::{CompareMode, CompareOptions, MtimeRule};
    use crate::error::ErrorKind;
    use crate::filter::{Age, AgeUnit, ByteSize, FilterOverrides, FilterSpec, SiblingRule};
    use crate::profile::{
        ConflictLoser, ConflictPolicy, ConflictRule, CopyOptions, DeleteLimit, DeletionMode,
        Folder, GuardOptions, IfUnavailable, Operation, SymlinkMode, SyncOptions, VersionsOptions,
    };

    /// Each row: a bad document, the error kind, and how the message must start.
    macro_rules! bad_documents {
        ($($name:ident: $doc:expr => $kind:ident, $prefix:expr;)*) => {$(
            #[test]
            fn $name() {
                let err = Profile::from_json($doc).expect_err("document should be rejected");
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

    bad_documents! {
        not_json: "{" => InvalidInput, "not valid JSON: ";
        not_an_object: "[1]" => InvalidInput, "expected a JSON object";
        missing_format: r#"{"name": "p"}"# => InvalidInput, "missing \"format\": 1";
        format_two: r#"{"format": 2, "name": "p"}"# => InvalidInput,
            "format: unsupported format 2";
        format_as_string: r#"{"format": "1", "name": "p"}"# => InvalidInput,
            "format: expected the number 1";
        missing_name: r#"{"format": 1}"# => InvalidInput, "missing field `name`";
        unknown_top_key: r#"{"format": 1, "name": "p", "colour": 1}"# => InvalidInput,
            "unknown field `colour`, expected one of";
        unknown_folder_key: r#"{"format": 1, "name": "p", "folders": [
            {"name": "f", "sorce": "/a", "destination": "/b"}]}"# => InvalidInput,
            "folders[0]: unknown field `sorce`, expected one of";
        unknown_copy_key: r#"{"format": 1, "name": "p", "copy": {"thread": 2}}"# =>
            InvalidInput, "copy: unknown field `thread`";
        unknown_folder_filter_key: r#"{"format": 1, "name": "p", "folders": [
            {"name": "f", "source": "/a", "destination": "/b",
             "filters": {"exclude": ["*.tmp"]}}]}"# => InvalidInput,
            "folders[0].filters: unknown field `exclude`";
        unknown_sibling_rule_key: r#"{"format": 1, "name": "p", "filters":
            {"exclude-if-sibling": [{"mask": "*.o", "extension": "c", "ext": "c"}]}}"# =>
            InvalidInput, "filters.exclude-if-sibling[0]: unknown field `ext`";
        wrong_type_in_folder_filter: r#"{"format": 1, "name": "p", "folders": [
            {"name": "f", "source": "/a", "destination": "/b"},
            {"name": "g", "source": "/c", "destination": "/d",
             "filters": {"exclude-folders": [3]}}]}"# => InvalidInput,
            "folders[1].filters.exclude-folders[0]: invalid type: integer `3`, expected a string";
        wrong_type_enabled: r#"{"format": 1, "name": "p", "enabled": "yes"}"# =>
            InvalidInput, "enabled: invalid type: string \"yes\", expected a boolean";
        wrong_type_threads: r#"{"format": 1, "name": "p", "copy": {"threads": -1}}"# =>
            InvalidInput, "copy.threads: invalid value: integer `-1`";
        wrong_type_folders: r#"{"format": 1, "name": "p", "folders": {}}"# =>
            InvalidInput, "folders: invalid type: map, expected a sequence";
        wrong_type_larger_than: r#"{"format": 1, "name": "p", "filters":
            {"larger-than": true}}"# => InvalidInput, "filters.larger-than: ";
        bad_operation: r#"{"format": 1, "name": "p", "operation": "clone"}"# =>
            InvalidInput, "operation: unknown variant `clone`";
        bad_symlink_mode: r#"{"format": 1, "name": "p", "copy": {"symlinks": "jump"}}"# =>
            InvalidInput, "copy.symlinks: unknown variant `jump`";
        bad_deletion_mode: r#"{"format": 1, "name": "p",
            "versions": {"deleted-files": "shred"}}"# => InvalidInput,
            "versions.deleted-files: unknown variant `shred`";
        bad_if_unavailable: r#"{"format": 1, "name": "p", "folders": [
            {"name": "f", "source": "/a", "destination": "/b", "if-unavailable": "panic"}]}"#
            => InvalidInput, "folders[0].if-unavailable: unknown variant `panic`";
        bad_mtime_rule: r#"{"format": 1, "name": "p", "comparison": {"mtime": "newer"}}"# =>
            InvalidInput, "comparison.mtime: unknown variant `newer`";
        bad_delete_limit: r#"{"format": 1, "name": "p", "guards": {"max-delete": "120%"}}"#
            => InvalidInput, "guards.max-delete: \"120%\" is not a percentage";
        group_export_as_single: r#"{"format": 1, "profiles": []}"# => InvalidInput,
            "profiles: this is a group export";
        validation_runs: r#"{"format": 1, "name": "a/b"}"# => InvalidInput, "name: ";
        unknown_conflict_policy: r#"{"format": 1, "name": "p", "sync": {"conflict": "coin"}}"#
            => InvalidInput, "sync.conflict: unknown variant `coin`";
        unknown_conflict_loser: r#"{"format": 1, "name": "p",
            "sync": {"conflict-loser": "delete"}}"# => InvalidInput,
            "sync.conflict-loser: unknown variant `delete`";
        wrong_type_remove_empty_dirs: r#"{"format": 1, "name": "p",
            "sync": {"remove-empty-dirs": "yes"}}"# => InvalidInput,
            "sync.remove-empty-dirs: invalid type: string \"yes\", expected a boolean";
        // Item 14 of issue 10: a key given twice is a mistake, not "the last one wins".
        duplicate_top_key: r#"{"format": 1, "name": "p", "name": "q"}"# => InvalidInput,
            "duplicate key \"name\" at line 1 column 33";
        duplicate_format_key: r#"{"format": 1, "format": 1, "name": "p"}"# => InvalidInput,
            "duplicate key \"format\"";
        duplicate_folder_key: r#"{"format": 1, "name": "p", "folders": [
            {"name": "f", "source": "/a", "destination": "/b"},
            {"name": "g", "source": "/c", "destination": "/d", "source": "/e"}]}"# =>
            InvalidInput, "folders[1]: duplicate key \"source\" at line 3";
        duplicate_filter_key: r#"{"format": 1, "name": "p", "folders": [
            {"name": "f", "source": "/a", "destination": "/b",
             "filters": {"exclude-files": ["*.a"], "exclude-files": ["*.b"]}}]}"# =>
            InvalidInput, "folders[0].filters: duplicate key \"exclude-files\"";
        duplicate_key_in_a_list_of_objects: r#"{"format": 1, "name": "p", "filters":
            {"exclude-if-sibling": [{"mask": "*.o", "mask": "*.p", "extension": "c"}]}}"# =>
            InvalidInput, "filters.exclude-if-sibling[0]: duplicate key \"mask\"";
        duplicate_key_in_a_later_release_option: r#"{"format": 1, "name": "p",
            "schedule": {"daily": "01:00", "daily": "02:00"}}"# => InvalidInput,
            "schedule: duplicate key \"daily\"";
    }

    /// Same rows for group exports: paths start at `profiles[i]`.
    macro_rules! bad_groups {
        ($($name:ident: $doc:expr => $kind:ident, $prefix:expr;)*) => {$(
            #[test]
            fn $name() {
                let err = profiles_from_json($doc).expect_err("document should be rejected");
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

    bad_groups! {
        group_missing_format: r#"{"profiles": []}"# => InvalidInput, "missing \"format\"";
        group_unknown_key: r#"{"format": 1, "profiles": [], "name": "x"}"# => InvalidInput,
            "unknown field `name`, expected `profiles`";
        group_profile_unknown_key: r#"{"format": 1, "profiles": [{"name": "a"},
            {"name": "b", "folders": [{"name": "f", "source": "/a", "destination": "/b",
             "marker": 7}]}]}"# => InvalidInput,
            "profiles[1].folders[0].marker: invalid type: integer `7`, expected a string";
        group_profile_with_format: r#"{"format": 1, "profiles": [{"format": 1, "name": "a"}]}"#
            => InvalidInput, "profiles[0]: unknown field `format`";
        group_profiles_not_a_list: r#"{"format": 1, "profiles": {"name": "a"}}"# =>
            InvalidInput, "profiles: invalid type: map, expected a sequence";
        group_validation_names_profile: r#"{"format": 1, "profiles": [{"name": "a"},
            {"name": "b", "copy": {"threads": 1000}}]}"# => InvalidInput,
            "profiles[1].copy.threads: ";
        group_duplicate_profile: r#"{"format": 1, "profiles": [{"name": "a", "group": "g"},
            {"name": "a", "group": "g"}]}"# => InvalidInput,
            "profiles[1]: duplicate profile \"g/a\" (also profiles[0])";
        group_not_supported: r#"{"format": 1, "profiles": [{"name": "a", "schedule": {}}]}"#
            => NotSupported, "profiles[0].schedule: not supported yet";
        group_duplicate_key: r#"{"format": 1, "profiles": [{"name": "a"},
            {"name": "b", "enabled": true, "enabled": false}]}"# => InvalidInput,
            "profiles[1]: duplicate key \"enabled\"";
        group_duplicate_profiles_key: r#"{"format": 1, "profiles": [], "profiles": []}"# =>
            InvalidInput, "duplicate key \"profiles\"";
    }

    /// A profile with every option away from its default.
    fn everything() -> Profile {
        let filters = FilterSpec {
            include_files: vec!["*.txt".into(), "*.md".into()],
            include_folders: vec!["src".into()],
            exclude_files: vec!["*.tmp".into()],
            exclude_folders: vec!["target".into()],
            ignore_regex: vec![r"^build/.*\.o$".into()],
            case_sensitive: true,
            larger_than: Some(ByteSize(10)),
            smaller_than: Some(ByteSize(1 << 30)),
            modified_within: Some(Age {
                amount: 1,
                unit: AgeUnit::Days,
            }),
            not_modified_within: Some(Age {
                amount: 2,
                unit: AgeUnit::Hours,
            }),
            exclude_hidden: true,
            exclude_read_only: true,
            exclude_system: true,
            exclude_if_sibling: vec![SiblingRule {
                mask: "*.o".into(),
                extension: "c".into(),
            }],
            include_empty_folders: true,
        };
        let mut folder = Folder::new("docs", "$HOME/Documents", "/mnt/backup/docs");
        folder.include_subfolders = false;
        folder.enabled = false;
        folder.filters = Some(FilterOverrides {
            exclude_files: Some(vec!["*.bak".into()]),
            include_files: Some(Vec::new()),
            larger_than: Some(None),
            smaller_than: Some(Some(ByteSize(4096))),
            exclude_hidden: Some(false),
            ..FilterOverrides::default()
        });
        folder.if_unavailable = IfUnavailable::Abort;
        folder.marker = Some(".ferry-target=^backup-disk=1$".into());
        Profile {
            name: "everything".into(),
            group: "Daily/Work".into(),
            description: "Every option set".into(),
            enabled: false,
            operation: Operation::VersionedBackup,
            folders: vec![folder, Folder::new("music", "~/Music", "/mnt/backup/music")],
            comparison: CompareOptions {
                mode: CompareMode::NewOnly,
                mtime: MtimeRule::Later,
                mtime_tolerance_ms: 5000,
                ignore_hour_shifts: vec![1, -1],
                size: false,
                permissions: true,
                attributes: true,
                md5: true,
                blake3: true,
                content: true,
            },
            filters,
            copy: CopyOptions {
                threads: 8,
                copy_directly: true,
                verify: true,
                preserve_permissions: false,
                preserve_owner: false,
                symlinks: SymlinkMode::Follow,
                retries: 5,
                retry_delay_ms: 100,
                confirm_deletes: true,
            },
            versions: VersionsOptions {
                keep: 3,
                folder: Some(".old".into()),
                max_total_size: Some(ByteSize(1_000_000)),
                max_age: Some(Age {
                    amount: 1,
                    unit: AgeUnit::Days,
                }),
                deleted_files: DeletionMode::Versions,
            },
            guards: GuardOptions {
                max_delete: Some(DeleteLimit::Count(10)),
            },
            sync: SyncOptions {
                conflict: ConflictPolicy::Newer,
                conflict_rules: vec![ConflictRule {
                    mask: "*.docx".into(),
                    policy: ConflictPolicy::KeepBoth,
                }],
                first_run: Some(ConflictPolicy::Source),
                conflict_name: "{stem}.conflict-{date}{ext}".into(),
                conflict_loser: ConflictLoser::Rename,
                remove_empty_dirs: true,
                detect_renames: false,
                state: Some("~/state.sqlite".into()),
            },
            schedule: Some(serde_json::json!({"daily": "02:00"})),
            programs: Some(serde_json::json!(["echo"])),
            notifications: Some(serde_json::json!({"mail": "me@example.invalid"})),
            access: Some(serde_json::json!("private")),
        }
    }

    #[test]
    fn every_option_round_trips() {
        // Parsed without validation: the later-release keys and `exclude-system` (Windows
        // only) would be rejected, but the format must still carry them losslessly.
        let profile = everything();
        let text = profile.to_json();
        assert_eq!(parse_single(&text).unwrap(), profile, "{text}");
    }

    #[test]
    fn the_two_way_loser_and_empty_folder_options_have_their_documented_names() {
        let p = Profile::from_json(
            r#"{"format": 1, "name": "p", "operation": "synchronize",
                "folders": [{"name": "f", "source": "/a", "destination": "/b"}],
                "sync": {"conflict-loser": "rename", "remove-empty-dirs": true}}"#,
        )
        .unwrap();
        assert_eq!(p.sync.conflict_loser, ConflictLoser::Rename);
        assert!(p.sync.remove_empty_dirs);
        let text = p.to_json();
        assert!(text.contains(r#""conflict-loser": "rename""#), "{text}");
        assert!(text.contains(r#""remove-empty-dirs": true"#), "{text}");
        assert_eq!(
            SyncOptions::default().conflict_loser,
            ConflictLoser::Versions
        );
    }

    #[test]
    fn a_valid_rich_profile_round_trips_through_from_json() {
        let mut profile = everything();
        profile.filters.exclude_system = false;
        profile.schedule = None;
        profile.programs = None;
        profile.notifications = None;
        profile.access = None;
        profile.guards.max_delete = None;
        let text = profile.to_json();
        assert_eq!(Profile::from_json(&text).unwrap(), profile, "{text}");

        profile.guards.max_delete = Some(DeleteLimit::Percent(20));
        assert_eq!(Profile::from_json(&profile.to_json()).unwrap(), profile);
    }

    #[test]
    fn to_json_puts_format_first_and_is_pretty() {
        let text = Profile::new("p", Operation::Copy).to_json();
        assert!(
            text.starts_with("{\n  \"format\": 1,\n  \"name\": \"p\","),
            "{text}"
        );
        let group = profiles_to_json(&[Profile::new("p", Operation::Copy)]);
        assert!(
            group.starts_with("{\n  \"format\": 1,\n  \"profiles\": ["),
            "{group}"
        );
    }

    #[test]
    fn defaults_fill_missing_keys() {
        let profile = Profile::from_json(r#"{"format": 1, "name": "p"}"#).unwrap();
        assert_eq!(profile, Profile::new("p", Operation::Mirror));
    }

    #[test]
    fn both_shapes_load_as_lists() {
        let one = profiles_from_json(r#"{"format": 1, "name": "p"}"#).unwrap();
        assert_eq!(one, vec![Profile::new("p", Operation::Mirror)]);

        let mut a = Profile::new("a", Operation::Copy);
        a.group = "G".into();
        let b = Profile::new("b", Operation::Move);
        let list = vec![a, b];
        assert_eq!(profiles_from_json(&profiles_to_json(&list)).unwrap(), list);
    }

    #[test]
    fn load_and_save_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        let profile = Profile::new("p", Operation::Copy).with_folder(Folder::new("f", "/a", "/b"));
        profile.save(&path).unwrap();
        assert_eq!(Profile::load(&path).unwrap(), profile);
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);

        fs::write(&path, r#"{"format": 1, "name": 5}"#).unwrap();
        let err = Profile::load(&path).unwrap_err();
        assert_eq!(err.path(), Some(path.as_path()));
        assert!(err.message().starts_with("name: invalid type"), "{err}");

        let missing = dir.path().join("missing.json");
        let err = Profile::load(&missing).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(err.path(), Some(missing.as_path()));
    }

    #[test]
    fn save_refuses_an_invalid_profile() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        let err = Profile::new("", Operation::Copy).save(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(!path.exists());
    }
}
