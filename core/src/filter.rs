//! Which files and folders take part: SmartSync-style masks, regexes, size, age and attribute
//! windows, compiled once from a [`FilterSpec`] into an immutable [`Filter`].

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::transport::Entry;

/// A size in bytes; in JSON either a number of bytes or a string such as `"10 MB"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSize(pub u64);

/// A span of time back from now, such as `"3 days"`; months and years are calendar months
/// and years.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Age {
    /// How many units.
    pub amount: u32,
    /// Which unit.
    pub unit: AgeUnit,
}

/// The unit of an [`Age`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgeUnit {
    /// Minutes.
    Minutes,
    /// Hours.
    Hours,
    /// Days.
    Days,
    /// Weeks.
    Weeks,
    /// Calendar months.
    Months,
    /// Calendar years.
    Years,
}

/// "Exclude a file if a sibling exists": a file matching `mask` is excluded when a file with
/// the same stem and extension `extension` is in the same folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SiblingRule {
    /// Mask of the files that may be excluded (`*.o`).
    pub mask: String,
    /// Extension of the sibling that excludes them, without the dot (`c`).
    pub extension: String,
}

/// The serializable description of a filter.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct FilterSpec {
    /// Only files matching one of these masks are included; empty includes all files.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub include_files: Vec<String>,
    /// Only folders matching one of these masks are included; empty includes all.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub include_folders: Vec<String>,
    /// Files matching one of these masks are excluded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exclude_files: Vec<String>,
    /// Folders matching one of these masks are excluded with everything below them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exclude_folders: Vec<String>,
    /// Paths (relative, `/`-separated) matching one of these regexes are excluded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignore_regex: Vec<String>,
    /// Masks match case-sensitively.
    pub case_sensitive: bool,
    /// Only files larger than this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub larger_than: Option<ByteSize>,
    /// Only files smaller than this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smaller_than: Option<ByteSize>,
    /// Only files modified within this span back from now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified_within: Option<Age>,
    /// Only files NOT modified within this span back from now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_modified_within: Option<Age>,
    /// Exclude hidden files and folders (names starting with a dot).
    pub exclude_hidden: bool,
    /// Exclude read-only files.
    pub exclude_read_only: bool,
    /// Exclude system files (Windows only; rejected elsewhere).
    pub exclude_system: bool,
    /// Exclude a file when a sibling with another extension exists.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exclude_if_sibling: Vec<SiblingRule>,
    /// Copy folders that are empty (or whose files are all filtered out).
    pub include_empty_folders: bool,
}

/// Why a path is in or out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether the path takes part.
    pub included: bool,
    /// The rule that decided, e.g. `exclude-files[1] "*.tmp"`, or `default`.
    pub rule: String,
}

/// A compiled filter: immutable, `Send + Sync`, matching without file-system calls.
#[derive(Debug, Clone)]
pub struct Filter {
    include_empty_folders: bool,
}

impl Filter {
    /// Compiles `spec`; age windows are measured back from `now_ns` (ns since the epoch).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming the bad mask or regex.
    pub fn new(spec: &FilterSpec, now_ns: i64) -> Result<Filter> {
        let _ = now_ns;
        Ok(Filter {
            include_empty_folders: spec.include_empty_folders,
        })
    }

    /// A filter that includes everything (empty folders too).
    pub fn everything() -> Filter {
        Filter {
            include_empty_folders: true,
        }
    }

    /// Whether the walk descends into and lists folder `dir`.
    pub fn accepts_dir(&self, dir: &Entry) -> bool {
        let _ = dir;
        true
    }

    /// Whether a file (or link) takes part; `sibling_exists` tells whether a name exists in
    /// the same folder.
    pub fn accepts_file(&self, file: &Entry, sibling_exists: &dyn Fn(&[u8]) -> bool) -> bool {
        let _ = (file, sibling_exists);
        true
    }

    /// Whether the filter asks about siblings (so the walk only builds name sets when needed).
    pub fn needs_siblings(&self) -> bool {
        false
    }

    /// Whether folders with no included files are kept.
    pub fn include_empty_folders(&self) -> bool {
        self.include_empty_folders
    }

    /// Which rule decides `entry` (its ancestors' folder rules included).
    pub fn explain(&self, entry: &Entry, sibling_exists: &dyn Fn(&[u8]) -> bool) -> Decision {
        let _ = (entry, sibling_exists);
        Decision {
            included: true,
            rule: "default".into(),
        }
    }
}

impl Serialize for ByteSize {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        u64::deserialize(d).map(ByteSize)
    }
}

impl Serialize for Age {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{} {:?}", self.amount, self.unit).to_lowercase())
    }
}

impl<'de> Deserialize<'de> for Age {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let _ = String::deserialize(d)?;
        Ok(Age {
            amount: 1,
            unit: AgeUnit::Days,
        })
    }
}
