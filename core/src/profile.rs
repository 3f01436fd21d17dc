//! Profiles: named sets of folder pairs with the options that say how they are synchronized.
//!
//! The JSON form (`"format": 1`, kebab-case keys) is the stable file format. Unknown keys and
//! invalid values are rejected with their JSON path; options reserved for a later release are
//! rejected with "not supported yet".

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::compare::CompareOptions;
use crate::error::{Error, Result};
use crate::filter::{Age, ByteSize, FilterOverrides, FilterSpec};
use crate::location::Location;
use crate::path::RelPath;
use crate::transport::Role;

mod conflict;
mod json;
mod store;
mod validate;

pub(crate) use conflict::ConflictPolicies;

pub use json::{profiles_from_json, profiles_to_json, FORMAT};
pub use store::ProfileStore;

/// What a profile does with each folder pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Operation {
    /// Copy new and modified files from source to destination.
    Copy,
    /// Copy, then delete what the destination has and the source does not.
    #[default]
    Mirror,
    /// Copy, verify, then delete the source files (and emptied source folders).
    Move,
    /// Copy new and changed files into a new timestamped folder of the destination per run.
    VersionedBackup,
    /// Two-way synchronization: changes on either side reach the other; see [`SyncOptions`].
    Synchronize,
}

impl Operation {
    /// The kebab-case name used in JSON and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Copy => "copy",
            Operation::Mirror => "mirror",
            Operation::Move => "move",
            Operation::VersionedBackup => "versioned-backup",
            Operation::Synchronize => "synchronize",
        }
    }
}

/// What to do when a folder's source (or destination) is missing or unreadable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IfUnavailable {
    /// Skip the folder and report it as information (in the report's skipped folders); the
    /// run is not the worse for it.
    Info,
    /// Skip the folder and report it with a warning: the run ends
    /// [`Incomplete`](crate::RunStatus::Incomplete).
    #[default]
    Warning,
    /// Abort the whole profile before anything changed
    /// ([`ErrorKind::Unavailable`](crate::ErrorKind::Unavailable)).
    Abort,
}

/// One folder pair of a profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[non_exhaustive]
pub struct Folder {
    /// Unique within the profile.
    pub name: String,
    /// Source folder (a path, `$VAR`/`${VAR}` expanded when the profile runs).
    pub source: String,
    /// Destination folder.
    pub destination: String,
    /// Whether subfolders are synchronized too.
    #[serde(default = "yes")]
    pub include_subfolders: bool,
    /// Whether this pair takes part in runs. A disabled pair is skipped and reported, unless
    /// a run names it ([`RunOptions::folders`](crate::RunOptions::folders)).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// This folder's own filters, laid over the profile's field by field (a field the folder
    /// does not set is the profile's); `None` is the profile's filters unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<FilterOverrides>,
    /// What happens when the source is missing.
    #[serde(default)]
    pub if_unavailable: IfUnavailable,
    /// Run only if this file exists on the destination: `"<path>[=<regex>]"`, the path relative
    /// to the destination root; with a regex, the file's content must match it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

fn yes() -> bool {
    true
}

impl Folder {
    /// A folder pair with default options.
    pub fn new(
        name: impl Into<String>,
        source: impl Into<String>,
        destination: impl Into<String>,
    ) -> Folder {
        Folder {
            name: name.into(),
            source: source.into(),
            destination: destination.into(),
            include_subfolders: true,
            enabled: true,
            filters: None,
            if_unavailable: IfUnavailable::default(),
            marker: None,
        }
    }

    /// The filters in force for this folder: the profile's, with the fields this folder's
    /// own [`filters`](Folder::filters) set replaced.
    pub fn effective_filters(&self, profile: &Profile) -> FilterSpec {
        match &self.filters {
            Some(own) => own.apply_to(&profile.filters),
            None => profile.filters.clone(),
        }
    }

    /// Forgets this folder's own filters, so the profile's apply again.
    pub fn reset_filters(&mut self) {
        self.filters = None;
    }

    /// The parsed [`marker`](Folder::marker): the file's path relative to the destination
    /// root, and the regex its content must match, if any. The text is split at the first
    /// `=`, so the regex may contain `=` but the path may not.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for an empty, absolute or
    /// escaping path, an empty regex after `=`, or a regex that does not compile.
    pub fn marker_spec(&self) -> Result<Option<(RelPath, Option<regex::Regex>)>> {
        let Some(marker) = &self.marker else {
            return Ok(None);
        };
        let (path, pattern) = match marker.split_once('=') {
            Some((path, pattern)) => (path, Some(pattern)),
            None => (marker.as_str(), None),
        };
        let rel = RelPath::new(path).map_err(|e| Error::invalid(e.message()))?;
        if rel.is_root() {
            return Err(Error::invalid(format!(
                "{marker:?} names no file (expected \"<path>[=<regex>]\")"
            )));
        }
        let regex = match pattern {
            None => None,
            Some("") => {
                return Err(Error::invalid(format!(
                    "{marker:?}: empty regex after \"=\" (leave out \"=\" to only require the file)"
                )))
            }
            Some(pattern) => Some(regex::Regex::new(pattern).map_err(|e| {
                Error::invalid(format!(
                    "{marker:?}: invalid regex: {}",
                    one_line(&e.to_string())
                ))
            })?),
        };
        Ok(Some((rel, regex)))
    }

    /// Where the source is: [`Location::parse`] of [`source`](Folder::source), its
    /// environment variables expanded.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming the folder and an
    /// undefined variable, or a URL that does not parse.
    pub fn source_location(&self) -> Result<Location> {
        self.locate("source", &self.source)
    }

    /// Where the destination is: [`Location::parse`] of
    /// [`destination`](Folder::destination).
    ///
    /// # Errors
    /// As [`Folder::source_location`].
    pub fn destination_location(&self) -> Result<Location> {
        self.locate("destination", &self.destination)
    }

    /// The source as a local folder, environment variables (and a leading `~`) expanded.
    ///
    /// # Errors
    /// As [`Folder::source_location`]; [`ErrorKind::NotSupported`](crate::ErrorKind::NotSupported)
    /// for a remote source (a URL).
    pub fn resolved_source(&self) -> Result<PathBuf> {
        local(self.source_location()?, Role::Source)
    }

    /// The destination as a local folder, environment variables (and a leading `~`)
    /// expanded.
    ///
    /// # Errors
    /// As [`Folder::resolved_source`].
    pub fn resolved_destination(&self) -> Result<PathBuf> {
        local(self.destination_location()?, Role::Destination)
    }

    fn locate(&self, which: &str, text: &str) -> Result<Location> {
        Location::parse(text).map_err(|e| {
            Error::new(
                e.kind(),
                format!("folder {:?} {which}: {}", self.name, e.message()),
            )
        })
    }
}

/// The local folder of `location`.
fn local(location: Location, role: Role) -> Result<PathBuf> {
    match location.local_path() {
        Some(path) => Ok(path.to_path_buf()),
        None => Err(crate::transport::not_supported(&location, role)),
    }
}

/// Regex syntax errors span several lines (the pattern, a caret, the reason); ours are one.
fn one_line(text: &str) -> String {
    text.split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// How symbolic links in the source are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SymlinkMode {
    /// Leave links out.
    #[default]
    Skip,
    /// Copy a link as a link.
    Copy,
    /// Copy what a link points to (loops are detected and reported).
    Follow,
}

/// How files are copied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
#[non_exhaustive]
pub struct CopyOptions {
    /// Worker threads; 0 picks a number from the machine.
    pub threads: usize,
    /// Write in place instead of to a temporary name renamed into place.
    pub copy_directly: bool,
    /// Re-read each copied file and compare its BLAKE3 hash with the source's.
    pub verify: bool,
    /// Give copies the source's permission bits.
    pub preserve_permissions: bool,
    /// Give copies the source's owner (only when running as root).
    pub preserve_owner: bool,
    /// Symbolic links.
    pub symlinks: SymlinkMode,
    /// How many times a failed file is tried again.
    pub retries: u32,
    /// Pause between tries, in milliseconds.
    pub retry_delay_ms: u64,
    /// Ask (through the run's confirm callback) before deleting unmatched destination files.
    pub confirm_deletes: bool,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            threads: 0,
            copy_directly: false,
            verify: false,
            preserve_permissions: true,
            preserve_owner: true,
            symlinks: SymlinkMode::Skip,
            retries: 2,
            retry_delay_ms: 500,
            confirm_deletes: false,
        }
    }
}

/// What happens to a file the run deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeletionMode {
    /// Remove it for good.
    #[default]
    Erase,
    /// Move it to the desktop trash (freedesktop trash on Linux).
    Trash,
    /// Keep it in the versions folder (needs `versions.keep` > 0).
    Versions,
}

/// File versions and deletions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
#[non_exhaustive]
pub struct VersionsOptions {
    /// Keep this many earlier versions of each replaced file; 0 keeps none.
    pub keep: u32,
    /// Where versions go: relative to the destination root, or absolute. Default
    /// `.ferrysync/versions` at the destination root (always excluded from sync).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    /// Drop the oldest versions when all versions together exceed this size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_total_size: Option<ByteSize>,
    /// Drop versions older than this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age: Option<Age>,
    /// What happens to files the run deletes.
    pub deleted_files: DeletionMode,
}

impl Default for VersionsOptions {
    fn default() -> Self {
        VersionsOptions {
            keep: 0,
            folder: None,
            max_total_size: None,
            max_age: None,
            deleted_files: DeletionMode::Erase,
        }
    }
}

impl VersionsOptions {
    /// Whether replaced files are kept as versions.
    pub fn enabled(&self) -> bool {
        self.keep > 0
    }
}

/// A limit on deletions: a count of entries, or a percentage of the destination's entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteLimit {
    /// At most this many entries.
    Count(u64),
    /// At most this percentage (0-100) of the entries the destination has.
    Percent(u8),
}

impl Default for DeleteLimit {
    fn default() -> Self {
        DeleteLimit::Percent(50)
    }
}

impl std::str::FromStr for DeleteLimit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Some(p) = s.strip_suffix('%') {
            let p: u8 = p
                .trim()
                .parse()
                .ok()
                .filter(|p| *p <= 100)
                .ok_or_else(|| format!("{s:?} is not a percentage from 0% to 100%"))?;
            Ok(DeleteLimit::Percent(p))
        } else {
            s.parse().map(DeleteLimit::Count).map_err(|_| {
                format!("{s:?} is neither a count (\"100\") nor a percentage (\"50%\")")
            })
        }
    }
}

impl std::fmt::Display for DeleteLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeleteLimit::Count(n) => write!(f, "{n}"),
            DeleteLimit::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl Serialize for DeleteLimit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            DeleteLimit::Count(n) => s.serialize_u64(*n),
            DeleteLimit::Percent(_) => s.serialize_str(&self.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for DeleteLimit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Count(u64),
            Text(String),
        }
        match Raw::deserialize(d).map_err(|_| {
            serde::de::Error::custom("expected a count (100) or a percentage (\"50%\")")
        })? {
            Raw::Count(n) => Ok(DeleteLimit::Count(n)),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// How a two-way conflict (both sides changed) is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictPolicy {
    /// Ask the run's [`crate::Prompt`] (the CLI asks interactively); without one, keep both.
    Prompt,
    /// The version modified later wins.
    Newer,
    /// The version modified earlier wins.
    Older,
    /// The larger file wins.
    Larger,
    /// The smaller file wins.
    Smaller,
    /// The source's version wins.
    Source,
    /// The destination's version wins.
    Destination,
    /// Keep both: the newer keeps the name, the older is renamed with
    /// [`SyncOptions::conflict_name`], and both end up on both sides.
    #[default]
    KeepBoth,
    /// Leave both sides as they are and report it.
    Skip,
}

impl ConflictPolicy {
    /// Every policy, in documentation order.
    pub const ALL: [ConflictPolicy; 9] = [
        ConflictPolicy::Prompt,
        ConflictPolicy::Newer,
        ConflictPolicy::Older,
        ConflictPolicy::Larger,
        ConflictPolicy::Smaller,
        ConflictPolicy::Source,
        ConflictPolicy::Destination,
        ConflictPolicy::KeepBoth,
        ConflictPolicy::Skip,
    ];

    /// The kebab-case name used in JSON and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ConflictPolicy::Prompt => "prompt",
            ConflictPolicy::Newer => "newer",
            ConflictPolicy::Older => "older",
            ConflictPolicy::Larger => "larger",
            ConflictPolicy::Smaller => "smaller",
            ConflictPolicy::Source => "source",
            ConflictPolicy::Destination => "destination",
            ConflictPolicy::KeepBoth => "keep-both",
            ConflictPolicy::Skip => "skip",
        }
    }
}

impl std::str::FromStr for ConflictPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ConflictPolicy::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = ConflictPolicy::ALL.iter().map(|p| p.name()).collect();
                format!(
                    "unknown conflict policy {s:?} (one of: {})",
                    names.join(", ")
                )
            })
    }
}

/// What becomes of the losing version when a conflict policy picks a winner (`newer`,
/// `older`, `larger`, `smaller`, `source`, `destination`, or a prompt's answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictLoser {
    /// The loser goes to its side's versions folder (`.ferrysync/versions`, or the profile's).
    #[default]
    Versions,
    /// The loser is renamed beside the winner with [`SyncOptions::conflict_name`], as the
    /// older version of a `keep-both` conflict is, and both end up on both sides.
    Rename,
}

impl ConflictLoser {
    /// Every choice, in documentation order.
    pub const ALL: [ConflictLoser; 2] = [ConflictLoser::Versions, ConflictLoser::Rename];

    /// The kebab-case name used in JSON and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ConflictLoser::Versions => "versions",
            ConflictLoser::Rename => "rename",
        }
    }
}

impl std::str::FromStr for ConflictLoser {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ConflictLoser::ALL
            .into_iter()
            .find(|l| l.name() == s)
            .ok_or_else(|| format!("unknown conflict loser {s:?} (one of: versions, rename)"))
    }
}

/// A conflict policy for the paths matching a file mask (`*.log`, `docs/*.docx`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ConflictRule {
    /// A file mask, matched like the filters' file masks (name, or relative path when it
    /// holds a separator), case-insensitive unless the filters are case-sensitive.
    pub mask: String,
    /// The policy for matching paths.
    pub policy: ConflictPolicy,
}

/// The default [`SyncOptions::conflict_name`].
pub const DEFAULT_CONFLICT_NAME: &str = "{stem} (conflict {date} {time} on {host}){ext}";

/// Two-way synchronization (operation `synchronize`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
#[non_exhaustive]
pub struct SyncOptions {
    /// The conflict policy for paths no rule matches.
    pub conflict: ConflictPolicy,
    /// Per-path policies: the first rule whose mask matches decides.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflict_rules: Vec<ConflictRule>,
    /// For files that differ at a first run (no state yet, or after a resync); `None` uses the
    /// conflict policies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_run: Option<ConflictPolicy>,
    /// The name the older version of a "keep both" conflict gets (and a loser kept with
    /// `conflict-loser: rename`): `{stem}` (name without extension), `{ext}` (with its dot,
    /// or empty), `{name}`, `{date}` (`YYYY-MM-DD`), `{time}` (`HHMMSS`), `{host}`; it must
    /// contain `{stem}` or `{name}`.
    pub conflict_name: String,
    /// Where the loser of a conflict a policy resolves goes: its side's versions folder
    /// (default), or renamed beside the winner with `conflict-name`.
    pub conflict_loser: ConflictLoser,
    /// Remove the folders a run leaves empty (it deleted or moved away everything below
    /// them), on both sides.
    pub remove_empty_dirs: bool,
    /// Detect renames and moves on one side and apply them as renames on the other.
    pub detect_renames: bool,
    /// The state database file; default `$XDG_DATA_HOME/ferrysync/<profile>.sqlite`
    /// (`~/.local/share/...`). Environment variables and `~` are expanded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            conflict: ConflictPolicy::KeepBoth,
            conflict_rules: Vec::new(),
            first_run: None,
            conflict_name: DEFAULT_CONFLICT_NAME.to_string(),
            conflict_loser: ConflictLoser::Versions,
            remove_empty_dirs: false,
            detect_renames: true,
            state: None,
        }
    }
}

impl SyncOptions {
    fn is_default(&self) -> bool {
        *self == SyncOptions::default()
    }
}

/// Safety guards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
#[non_exhaustive]
pub struct GuardOptions {
    /// A run that would delete more than this stops before changing anything (unless
    /// forced); `null` disables the guard. A count is exact. A percentage is of the
    /// destination's entries (two-way: of the pair's entries at the last sync, per side).
    /// One-way, the guard is there for a source that is empty, unmounted or the wrong folder,
    /// which leaves nearly every destination entry unmatched: an empty source that would
    /// delete destination entries is refused whatever the limit, and a percentage does not
    /// count a few deletions (10 or fewer) next to a source holding ten times as many
    /// entries (the stale leftovers of a destination a large mirror fills for the first time).
    pub max_delete: Option<DeleteLimit>,
}

impl Default for GuardOptions {
    fn default() -> Self {
        GuardOptions {
            max_delete: Some(DeleteLimit::default()),
        }
    }
}

/// A named set of folder pairs and how to synchronize them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[non_exhaustive]
pub struct Profile {
    /// Name, unique within its group.
    pub name: String,
    /// Group path in the profile tree, `/`-separated (`"Daily/Documents"`); empty for the top.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Disabled profiles do not run unless forced ([`RunOptions::force`](crate::RunOptions::force)).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// What the profile does.
    #[serde(default)]
    pub operation: Operation,
    /// The folder pairs.
    #[serde(default)]
    pub folders: Vec<Folder>,
    /// When two files differ.
    #[serde(default)]
    pub comparison: CompareOptions,
    /// Which files take part (folders may override).
    #[serde(default)]
    pub filters: FilterSpec,
    /// How files are copied.
    #[serde(default)]
    pub copy: CopyOptions,
    /// File versions and deletions.
    #[serde(default)]
    pub versions: VersionsOptions,
    /// Safety guards.
    #[serde(default)]
    pub guards: GuardOptions,
    /// Two-way synchronization options.
    #[serde(default, skip_serializing_if = "SyncOptions::is_default")]
    pub sync: SyncOptions,
    /// Schedule (a later release: rejected when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<serde_json::Value>,
    /// Programs run before and after (a later release: rejected when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub programs: Option<serde_json::Value>,
    /// Notifications (a later release: rejected when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notifications: Option<serde_json::Value>,
    /// Access control (a later release: rejected when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<serde_json::Value>,
}

impl Profile {
    /// A profile with default options and no folders.
    pub fn new(name: impl Into<String>, operation: Operation) -> Profile {
        Profile {
            name: name.into(),
            group: String::new(),
            description: String::new(),
            enabled: true,
            operation,
            folders: Vec::new(),
            comparison: CompareOptions::default(),
            filters: FilterSpec::default(),
            copy: CopyOptions::default(),
            versions: VersionsOptions::default(),
            guards: GuardOptions::default(),
            sync: SyncOptions::default(),
            schedule: None,
            programs: None,
            notifications: None,
            access: None,
        }
    }

    /// Adds a folder pair (builder style).
    pub fn with_folder(mut self, folder: Folder) -> Profile {
        self.folders.push(folder);
        self
    }

    /// The profile's key in a [`ProfileStore`]: `group/name`, or `name` at the top.
    pub fn key(&self) -> String {
        if self.group.is_empty() {
            self.name.clone()
        } else {
            format!("{}/{}", self.group, self.name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::location::expand_with;

    fn with_marker(marker: &str) -> Folder {
        let mut folder = Folder::new("f", "/a", "/b");
        folder.marker = Some(marker.to_string());
        folder
    }

    #[test]
    fn marker_without_regex() {
        let (path, regex) = with_marker("sub/.marker").marker_spec().unwrap().unwrap();
        assert_eq!(path, RelPath::new("sub/.marker").unwrap());
        assert!(regex.is_none());
        assert!(Folder::new("f", "/a", "/b")
            .marker_spec()
            .unwrap()
            .is_none());
    }

    #[test]
    fn marker_splits_at_the_first_equals_sign() {
        let (path, regex) = with_marker(".id=^disk=backup-[0-9]+$")
            .marker_spec()
            .unwrap()
            .unwrap();
        assert_eq!(path, RelPath::new(".id").unwrap());
        let regex = regex.unwrap();
        assert!(regex.is_match("disk=backup-42"));
        assert!(!regex.is_match("disk=other"));
    }

    #[test]
    fn bad_markers_are_invalid_input() {
        for marker in ["", "=x", ".", "/abs", "../up", "m=", "m=("] {
            let err = with_marker(marker).marker_spec().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{marker:?}: {err}");
            assert!(!err.message().contains('\n'), "{err}");
        }
    }

    #[test]
    fn resolved_paths_expand_variables_and_name_the_folder() {
        let folder = Folder::new("f", "/data/$$cash", "/backup/plain");
        assert_eq!(
            folder.resolved_source().unwrap(),
            PathBuf::from("/data/$cash")
        );
        assert_eq!(
            folder.resolved_destination().unwrap(),
            PathBuf::from("/backup/plain")
        );

        let folder = Folder::new("f", "/a", "$FERRYSYNC_TEST_SURELY_UNDEFINED/x");
        let err = folder.resolved_destination().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(
            err.message().starts_with("folder \"f\" destination: "),
            "{err}"
        );
        assert!(err.message().contains("FERRYSYNC_TEST_SURELY_UNDEFINED"));
    }

    #[test]
    fn key_joins_group_and_name() {
        let mut p = Profile::new("docs", Operation::Copy);
        assert_eq!(p.key(), "docs");
        p.group = "Daily/Work".into();
        assert_eq!(p.key(), "Daily/Work/docs");
    }

    /// A profile whose filters set every list, a size window and `exclude-hidden`, with one
    /// folder whose own `filters` are `folder_filters` (JSON).
    fn with_folder_filters(folder_filters: &str) -> Profile {
        Profile::from_json(&format!(
            r#"{{"format": 1, "name": "p", "folders": [
                {{"name": "f", "source": "/a", "destination": "/b", "filters": {folder_filters}}}],
              "filters": {{"include-files": ["*.txt"], "exclude-files": ["*.tmp"],
                "exclude-folders": ["cache"], "larger-than": 10, "exclude-hidden": true}}}}"#
        ))
        .unwrap_or_else(|e| panic!("{folder_filters}: {e}"))
    }

    /// Item 13 of issue 10: a folder that sets only `exclude-files` keeps the profile's
    /// `include-files` (and every other field it does not set), as SmartSync's folder pages do.
    #[test]
    fn a_folder_inherits_each_filter_field_it_does_not_set() {
        let p = with_folder_filters(r#"{"exclude-files": ["*.bak"]}"#);
        let spec = p.folders[0].effective_filters(&p);
        assert_eq!(spec.include_files, ["*.txt"]);
        assert_eq!(
            spec.exclude_files,
            ["*.bak"],
            "a set field replaces the profile's"
        );
        assert_eq!(spec.exclude_folders, ["cache"]);
        assert_eq!(spec.larger_than, Some(ByteSize(10)));
        assert!(spec.exclude_hidden);
        assert!(spec.include_empty_folders);
    }

    #[test]
    fn a_folder_filter_set_to_nothing_means_none() {
        let p = with_folder_filters(
            r#"{"include-files": [], "larger-than": null, "exclude-hidden": false}"#,
        );
        let spec = p.folders[0].effective_filters(&p);
        assert!(spec.include_files.is_empty(), "an explicit [] is no mask");
        assert_eq!(spec.larger_than, None, "an explicit null is no limit");
        assert!(!spec.exclude_hidden);
        assert_eq!(
            spec.exclude_files,
            ["*.tmp"],
            "what the folder leaves out is inherited"
        );
    }

    #[test]
    fn folder_filters_round_trip_as_written() {
        for own in [
            r#"{}"#,
            r#"{"include-files": []}"#,
            r#"{"larger-than": null, "exclude-files": ["*.bak"]}"#,
            r#"{"case-sensitive": false, "include-empty-folders": true, "smaller-than": 100}"#,
        ] {
            let p = with_folder_filters(own);
            let text = p.to_json();
            assert_eq!(Profile::from_json(&text).unwrap(), p, "{text}");
            let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
            let written = &doc["folders"][0]["filters"];
            let typed: serde_json::Value = serde_json::from_str(own).unwrap();
            assert_eq!(*written, typed, "only the keys the folder sets are written");
        }
    }

    #[test]
    fn a_folder_without_filters_has_the_profiles() {
        let mut p = with_folder_filters("{}");
        p.folders[0].reset_filters();
        assert_eq!(p.folders[0].effective_filters(&p), p.filters);
        assert!(!p.to_json().contains(r#""filters": {}"#));
    }

    /// The filters a folder runs with are checked as a whole: the profile's `larger-than`
    /// and the folder's `smaller-than` together leave no file.
    #[test]
    fn inherited_and_own_filters_are_validated_together() {
        let err = Profile::from_json(
            r#"{"format": 1, "name": "p", "folders": [
                {"name": "f", "source": "/a", "destination": "/b",
                 "filters": {"smaller-than": 5}}],
              "filters": {"larger-than": 10}}"#,
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(
            err.message(),
            "folders[0].filters: larger-than 10 bytes and smaller-than 5 bytes leave no file"
        );
    }

    /// The samples in `examples/profiles` load, validate and resolve, so they never rot.
    #[test]
    fn sample_profiles_load() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/profiles");
        let env = |name: &str| match name {
            "HOME" => Some("/home/me".to_string()),
            "USER" => Some("me".to_string()),
            _ => None,
        };
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension() != Some(std::ffi::OsStr::new("json")) {
                continue;
            }
            let profile = Profile::load(&path).unwrap_or_else(|e| panic!("{e}"));
            assert!(!profile.folders.is_empty(), "{}", path.display());
            for folder in &profile.folders {
                for text in [&folder.source, &folder.destination] {
                    let resolved = expand_with(text, env)
                        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                    assert!(resolved.starts_with('/'), "{resolved}");
                }
                folder.marker_spec().unwrap();
            }
            assert_eq!(
                path.file_stem().unwrap().to_str().unwrap(),
                profile.name,
                "a sample's file is named after its profile"
            );
            names.push(profile.name);
        }
        names.sort();
        assert_eq!(names, ["documents-mirror", "documents-sync", "photos-copy"]);
    }
}
