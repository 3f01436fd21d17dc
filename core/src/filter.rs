//! Which files and folders take part: SmartSync-style masks, regexes, size, age and attribute
//! windows, compiled once from a [`FilterSpec`] into an immutable [`Filter`].

mod age;
pub(crate) mod mask;
mod size;

use regex::RegexSet;
use serde::{Deserialize, Serialize};

pub use self::age::{Age, AgeUnit};
use self::mask::{prefixes, MaskSet};
pub use self::size::ByteSize;
use crate::error::{Error, Result};
use crate::vocab::{Entry, EntryKind};

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

/// The serializable description of a filter. The default includes everything, empty folders
/// too (a mirror is then an exact copy, as `rsync -a` makes one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
#[non_exhaustive]
pub struct FilterSpec {
    /// Only files matching one of these masks are included; empty includes all files.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub include_files: Vec<String>,
    /// Only these folders (and what lies below them) take part, with the folders on the way
    /// to them; empty includes all. Files at the root are always included; files directly in
    /// a folder on the way are not, and such a folder takes part only when something below it
    /// does (see [`Filter`]). Masks as in [`exclude_folders`](FilterSpec::exclude_folders).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub include_folders: Vec<String>,
    /// Files matching one of these masks are excluded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exclude_files: Vec<String>,
    /// Folders matching one of these masks are excluded with everything below them.
    ///
    /// `\` and `/` are both separators. `Doc` is every folder named Doc at any depth;
    /// `Doc\` (or `Doc/`, `\Doc`) only the top-level one; `*\Doc` every Doc that is not
    /// top-level. A mask with a separator inside is a path from the root, with or without a
    /// trailing separator (`a\b` and `a\b\` are both the folder `b` in the top-level `a`),
    /// except that a leading `*` stands for one or more folders (`*\a\b`); `**` matches any
    /// number of folders.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exclude_folders: Vec<String>,
    /// Files and folders whose relative path (`/`-separated, lossy UTF-8) one of these
    /// regexes finds a match in are excluded. Case-sensitive unless the regex says `(?i)`.
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
    /// Copy folders that are empty (or whose files are all filtered out). Default: true.
    pub include_empty_folders: bool,
}

impl Default for FilterSpec {
    fn default() -> Self {
        FilterSpec {
            include_files: Vec::new(),
            include_folders: Vec::new(),
            exclude_files: Vec::new(),
            exclude_folders: Vec::new(),
            ignore_regex: Vec::new(),
            case_sensitive: false,
            larger_than: None,
            smaller_than: None,
            modified_within: None,
            not_modified_within: None,
            exclude_hidden: false,
            exclude_read_only: false,
            exclude_system: false,
            exclude_if_sibling: Vec::new(),
            include_empty_folders: true,
        }
    }
}

/// A folder's own filters, laid over the profile's [`FilterSpec`] field by field: a field the
/// folder sets replaces the profile's, a field it leaves out (a key absent from the JSON) is
/// the profile's. So a folder that sets only `exclude-files` keeps the profile's
/// `include-files`. Setting a field to nothing is explicit: `[]` for a list, `null` for a size
/// or age window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
#[non_exhaustive]
pub struct FilterOverrides {
    /// Replaces [`FilterSpec::include_files`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_files: Option<Vec<String>>,
    /// Replaces [`FilterSpec::include_folders`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_folders: Option<Vec<String>>,
    /// Replaces [`FilterSpec::exclude_files`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude_files: Option<Vec<String>>,
    /// Replaces [`FilterSpec::exclude_folders`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude_folders: Option<Vec<String>>,
    /// Replaces [`FilterSpec::ignore_regex`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore_regex: Option<Vec<String>>,
    /// Replaces [`FilterSpec::case_sensitive`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_sensitive: Option<bool>,
    /// Replaces [`FilterSpec::larger_than`]; `Some(None)` (`null`) is no lower bound.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "set")]
    pub larger_than: Option<Option<ByteSize>>,
    /// Replaces [`FilterSpec::smaller_than`]; `Some(None)` (`null`) is no upper bound.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "set")]
    pub smaller_than: Option<Option<ByteSize>>,
    /// Replaces [`FilterSpec::modified_within`]; `Some(None)` (`null`) is no window.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "set")]
    pub modified_within: Option<Option<Age>>,
    /// Replaces [`FilterSpec::not_modified_within`]; `Some(None)` (`null`) is no window.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "set")]
    pub not_modified_within: Option<Option<Age>>,
    /// Replaces [`FilterSpec::exclude_hidden`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude_hidden: Option<bool>,
    /// Replaces [`FilterSpec::exclude_read_only`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude_read_only: Option<bool>,
    /// Replaces [`FilterSpec::exclude_system`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude_system: Option<bool>,
    /// Replaces [`FilterSpec::exclude_if_sibling`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude_if_sibling: Option<Vec<SiblingRule>>,
    /// Replaces [`FilterSpec::include_empty_folders`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_empty_folders: Option<bool>,
}

/// A key that is present is set, even to `null` (an absent key stays `None` by `default`).
fn set<'de, D, T>(d: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

impl FilterOverrides {
    /// `base` with the fields these overrides set replaced.
    pub fn apply_to(&self, base: &FilterSpec) -> FilterSpec {
        fn pick<T: Clone>(own: &Option<T>, inherited: &T) -> T {
            own.as_ref().unwrap_or(inherited).clone()
        }
        FilterSpec {
            include_files: pick(&self.include_files, &base.include_files),
            include_folders: pick(&self.include_folders, &base.include_folders),
            exclude_files: pick(&self.exclude_files, &base.exclude_files),
            exclude_folders: pick(&self.exclude_folders, &base.exclude_folders),
            ignore_regex: pick(&self.ignore_regex, &base.ignore_regex),
            case_sensitive: pick(&self.case_sensitive, &base.case_sensitive),
            larger_than: pick(&self.larger_than, &base.larger_than),
            smaller_than: pick(&self.smaller_than, &base.smaller_than),
            modified_within: pick(&self.modified_within, &base.modified_within),
            not_modified_within: pick(&self.not_modified_within, &base.not_modified_within),
            exclude_hidden: pick(&self.exclude_hidden, &base.exclude_hidden),
            exclude_read_only: pick(&self.exclude_read_only, &base.exclude_read_only),
            exclude_system: pick(&self.exclude_system, &base.exclude_system),
            exclude_if_sibling: pick(&self.exclude_if_sibling, &base.exclude_if_sibling),
            include_empty_folders: pick(&self.include_empty_folders, &base.include_empty_folders),
        }
    }
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
///
/// # Semantics
///
/// Masks use `*`, `?`, `[...]` classes and `{a,b}` alternates; they are case-insensitive
/// unless [`FilterSpec::case_sensitive`] is set. Regexes are case-sensitive unless they say
/// `(?i)`, and search the whole relative path (`/`-separated, lossy UTF-8) unanchored: write
/// `^build/` or `\.bak$` to anchor.
///
/// - **Folders** ([`accepts_dir`](Filter::accepts_dir)) are pruned by `exclude-hidden`,
///   `exclude-folders`, `ignore-regex` and `include-folders` (a folder that no mask matches,
///   below no folder a mask matches, and below which no mask can match).
/// - **Files and links** ([`accepts_file`](Filter::accepts_file)) are excluded, in this
///   order, by `exclude-hidden`, `exclude-read-only`, the size and age windows (regular files
///   only, not links), `exclude-files`, `include-files` (when not empty, the name must match
///   one), `include-folders`, `ignore-regex` and `exclude-if-sibling`. The first rule that
///   excludes is the one [`explain`](Filter::explain) names.
///
/// `include-folders`, when not empty, admits the *listed* folders (those a mask matches),
/// what lies below them, and the folders on the way to them. A folder on the way (`a` and
/// `a/b` for the mask `a/b/Doc`; any folder for the mask `Doc`, which matches at any depth) is
/// descended, so that deeper matches are found, but the files directly inside it are
/// excluded, and it takes part only when something below it does, even with
/// `include-empty-folders` ([`keeps_empty_folder`](Filter::keeps_empty_folder)). A folder no
/// listed folder can lie in or below is pruned. Files at the root are always admitted by this
/// rule. Folder masks (for both lists) are described on [`FilterSpec::exclude_folders`].
///
/// Size windows are strict (`larger-than 10 KB` excludes a file of exactly 10240 bytes). Age
/// windows compare the modification time with the cutoff [`Age::cutoff_ns`] computes from the
/// `now_ns` given to [`Filter::new`]: a file modified exactly at the cutoff, or in the future,
/// is "modified within".
///
/// [`accepts_dir`](Filter::accepts_dir) and [`accepts_file`](Filter::accepts_file) judge
/// the entry alone, trusting that the walk accepted its ancestors;
/// [`explain`](Filter::explain) judges the ancestors too.
#[derive(Debug, Clone)]
pub struct Filter {
    include_files: MaskSet,
    include_folders: MaskSet,
    exclude_files: MaskSet,
    exclude_folders: MaskSet,
    ignore_regex: RegexSet,
    regex_texts: Vec<String>,
    larger_than: Option<ByteSize>,
    smaller_than: Option<ByteSize>,
    modified_within: Option<(Age, i64)>,
    not_modified_within: Option<(Age, i64)>,
    exclude_hidden: bool,
    exclude_read_only: bool,
    siblings: MaskSet,
    sibling_extensions: Vec<Vec<u8>>,
    include_empty_folders: bool,
}

/// The rule behind a decision, kept small so that judging allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    Default,
    IncludeFiles(usize),
    NoIncludeFiles,
    IncludeFolders(usize),
    NoIncludeFolders,
    /// A folder that is not listed but may lead to one that is.
    OnTheWay,
    /// A folder that is not listed and cannot lead to one that is.
    NothingListedBelow,
    /// A folder with nothing below it, and empty folders are left out.
    NoEmptyFolders,
    ExcludeFiles(usize),
    ExcludeFolders(usize),
    IgnoreRegex(usize),
    LargerThan,
    SmallerThan,
    ModifiedWithin,
    NotModifiedWithin,
    Hidden,
    ReadOnly,
    Sibling(usize),
}

impl Filter {
    /// Compiles `spec`; age windows are measured back from `now_ns` (ns since the epoch).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming the bad mask or regex
    /// (`exclude-files[2]: invalid mask "a[": ...`), a bad sibling extension, or windows that
    /// leave no file at all; [`ErrorKind::NotSupported`](crate::ErrorKind::NotSupported) for
    /// `exclude-system` outside Windows.
    pub fn new(spec: &FilterSpec, now_ns: i64) -> Result<Filter> {
        if spec.exclude_system && !cfg!(windows) {
            return Err(Error::not_supported(
                "filters.exclude-system on this platform",
            ));
        }
        let cs = spec.case_sensitive;
        let ignore_regex = compile_regexes(&spec.ignore_regex)?;
        if let (Some(larger), Some(smaller)) = (spec.larger_than, spec.smaller_than) {
            if smaller.0 <= larger.0.saturating_add(1) {
                return Err(Error::invalid(format!(
                    "larger-than {larger} and smaller-than {smaller} leave no file"
                )));
            }
        }
        let modified_within = spec.modified_within.map(|a| (a, a.cutoff_ns(now_ns)));
        let not_modified_within = spec.not_modified_within.map(|a| (a, a.cutoff_ns(now_ns)));
        if let (Some((within, from)), Some((not_within, until))) =
            (modified_within, not_modified_within)
        {
            if from >= until {
                return Err(Error::invalid(format!(
                    "modified-within {within} and not-modified-within {not_within} \
                     leave no file"
                )));
            }
        }
        let sibling_masks: Vec<String> = spec
            .exclude_if_sibling
            .iter()
            .map(|r| r.mask.clone())
            .collect();
        let sibling_extensions = spec
            .exclude_if_sibling
            .iter()
            .enumerate()
            .map(|(i, rule)| {
                let ext = rule.extension.strip_prefix('.').unwrap_or(&rule.extension);
                if ext.contains(['/', '\\', '\0']) {
                    return Err(Error::invalid(format!(
                        "exclude-if-sibling[{i}]: invalid extension \"{}\": contains a separator",
                        rule.extension
                    )));
                }
                Ok(ext.as_bytes().to_vec())
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Filter {
            include_files: MaskSet::names("include-files", &spec.include_files, cs)?,
            include_folders: MaskSet::folders("include-folders", &spec.include_folders, cs)?,
            exclude_files: MaskSet::names("exclude-files", &spec.exclude_files, cs)?,
            exclude_folders: MaskSet::folders("exclude-folders", &spec.exclude_folders, cs)?,
            ignore_regex,
            regex_texts: spec.ignore_regex.clone(),
            larger_than: spec.larger_than,
            smaller_than: spec.smaller_than,
            modified_within,
            not_modified_within,
            exclude_hidden: spec.exclude_hidden,
            exclude_read_only: spec.exclude_read_only,
            siblings: MaskSet::names("exclude-if-sibling", &sibling_masks, cs)?,
            sibling_extensions,
            include_empty_folders: spec.include_empty_folders,
        })
    }

    /// A filter that includes everything (empty folders too).
    pub fn everything() -> Filter {
        Filter {
            include_files: MaskSet::empty(),
            include_folders: MaskSet::empty(),
            exclude_files: MaskSet::empty(),
            exclude_folders: MaskSet::empty(),
            ignore_regex: RegexSet::empty(),
            regex_texts: Vec::new(),
            larger_than: None,
            smaller_than: None,
            modified_within: None,
            not_modified_within: None,
            exclude_hidden: false,
            exclude_read_only: false,
            siblings: MaskSet::empty(),
            sibling_extensions: Vec::new(),
            include_empty_folders: true,
        }
    }

    /// Whether the walk descends into and lists folder `dir`.
    pub fn accepts_dir(&self, dir: &Entry) -> bool {
        self.judge_dir(dir.path.as_bytes()).is_none()
    }

    /// Whether a file (or link) takes part; `sibling_exists` tells whether a name exists in
    /// the same folder.
    pub fn accepts_file(&self, file: &Entry, sibling_exists: &dyn Fn(&[u8]) -> bool) -> bool {
        self.judge_file(file, sibling_exists).is_none()
    }

    /// Whether the filter asks about siblings (so the walk only builds name sets when needed).
    pub fn needs_siblings(&self) -> bool {
        !self.siblings.is_empty()
    }

    /// Whether folders with nothing below them that takes part may be kept
    /// (`include-empty-folders`); [`keeps_empty_folder`](Filter::keeps_empty_folder) tells
    /// which.
    pub fn include_empty_folders(&self) -> bool {
        self.include_empty_folders
    }

    /// Whether every folder the walk accepts takes part even with nothing below it:
    /// `include-empty-folders` is on and no `include-folders` list narrows it. When false,
    /// [`keeps_empty_folder`](Filter::keeps_empty_folder) tells folder by folder, and a folder
    /// it does not keep takes part only when something below it does.
    pub fn keeps_every_empty_folder(&self) -> bool {
        self.include_empty_folders && self.include_folders.is_empty()
    }

    /// Whether folder `dir` (which the walk accepted) takes part even when nothing below it
    /// does: `include-empty-folders` is on and, when `include-folders` lists folders, `dir` is
    /// one of them or lies below one. A folder merely on the way to a listed folder does not.
    pub fn keeps_empty_folder(&self, dir: &Entry) -> bool {
        self.include_empty_folders
            && (self.include_folders.is_empty()
                || self
                    .include_folders
                    .matches_path_or_ancestor(dir.path.as_bytes()))
    }

    /// Why folder `dir` is left out when nothing below it takes part, or `None` when it takes
    /// part anyway ([`keeps_empty_folder`](Filter::keeps_empty_folder)). With
    /// [`explain`](Filter::explain), which cannot look below a folder, this completes the
    /// decision for a folder the walk found empty.
    pub fn explain_empty_folder(&self, dir: &Entry) -> Option<Decision> {
        if self.keeps_empty_folder(dir) {
            return None;
        }
        let rule = if self.include_empty_folders {
            Rule::NothingListedBelow
        } else {
            Rule::NoEmptyFolders
        };
        Some(Decision {
            included: false,
            rule: self.describe(rule),
        })
    }

    /// Which rule decides `entry` (its ancestors' folder rules included).
    ///
    /// An excluded entry names the rule that excluded it, or that excluded the outermost
    /// excluded ancestor folder. An included file names the `include-files` mask that
    /// admitted it, else the `include-folders` mask, else `default`; an included folder names
    /// the `include-folders` mask that matches it or an ancestor, else, when `include-folders`
    /// lists folders, `include-folders (only on the way to a listed folder)` (it takes part
    /// only if something below it does: the filter alone cannot tell), else `default`.
    pub fn explain(&self, entry: &Entry, sibling_exists: &dyn Fn(&[u8]) -> bool) -> Decision {
        let path = entry.path.as_bytes();
        let excluded = |rule| Decision {
            included: false,
            rule: self.describe(rule),
        };
        if let Some(rule) = prefixes(parent_of(path)).find_map(|dir| self.judge_dir(dir)) {
            return excluded(rule);
        }
        let rule = if entry.kind == EntryKind::Dir {
            if let Some(rule) = self.judge_dir(path) {
                return excluded(rule);
            }
            match self.include_folders.first_match_on_path_or_ancestor(path) {
                Some(i) => Rule::IncludeFolders(i),
                None if self.include_folders.is_empty() => Rule::Default,
                None => Rule::OnTheWay,
            }
        } else {
            if let Some(rule) = self.judge_file(entry, sibling_exists) {
                return excluded(rule);
            }
            let parent = parent_of(path);
            if let Some(i) = self.include_files.first_match(entry.path.file_name()) {
                Rule::IncludeFiles(i)
            } else if let Some(i) = self.include_folders.first_match_on_path_or_ancestor(parent) {
                Rule::IncludeFolders(i)
            } else {
                Rule::Default
            }
        };
        Decision {
            included: true,
            rule: self.describe(rule),
        }
    }

    /// The rule that prunes the folder at `path`, if any.
    fn judge_dir(&self, path: &[u8]) -> Option<Rule> {
        if path.is_empty() {
            return None;
        }
        if self.exclude_hidden && name_of(path).first() == Some(&b'.') {
            return Some(Rule::Hidden);
        }
        if let Some(i) = self.exclude_folders.first_match(path) {
            return Some(Rule::ExcludeFolders(i));
        }
        if let Some(i) = self.regex_match(path) {
            return Some(Rule::IgnoreRegex(i));
        }
        let listed = &self.include_folders;
        if !listed.is_empty()
            && !listed.matches_path_or_ancestor(path)
            && !listed.may_match_below(path)
        {
            return Some(Rule::NothingListedBelow);
        }
        None
    }

    /// The rule that excludes `file` itself, if any.
    fn judge_file(&self, file: &Entry, sibling_exists: &dyn Fn(&[u8]) -> bool) -> Option<Rule> {
        let path = file.path.as_bytes();
        let name = file.path.file_name();
        if self.exclude_hidden && file.is_hidden() {
            return Some(Rule::Hidden);
        }
        if self.exclude_read_only && file.is_read_only() {
            return Some(Rule::ReadOnly);
        }
        if file.kind == EntryKind::File {
            if self.larger_than.is_some_and(|min| file.size <= min.0) {
                return Some(Rule::LargerThan);
            }
            if self.smaller_than.is_some_and(|max| file.size >= max.0) {
                return Some(Rule::SmallerThan);
            }
            if self
                .modified_within
                .is_some_and(|(_, from)| file.mtime_ns < from)
            {
                return Some(Rule::ModifiedWithin);
            }
            if self
                .not_modified_within
                .is_some_and(|(_, until)| file.mtime_ns >= until)
            {
                return Some(Rule::NotModifiedWithin);
            }
        }
        if let Some(i) = self.exclude_files.first_match(name) {
            return Some(Rule::ExcludeFiles(i));
        }
        if !self.include_files.is_empty() && !self.include_files.is_match(name) {
            return Some(Rule::NoIncludeFiles);
        }
        let parent = parent_of(path);
        if !self.include_folders.is_empty()
            && !parent.is_empty()
            && !self.include_folders.matches_path_or_ancestor(parent)
        {
            return Some(Rule::NoIncludeFolders);
        }
        if let Some(i) = self.regex_match(path) {
            return Some(Rule::IgnoreRegex(i));
        }
        self.sibling_match(name, sibling_exists).map(Rule::Sibling)
    }

    fn regex_match(&self, path: &[u8]) -> Option<usize> {
        if self.regex_texts.is_empty() {
            return None;
        }
        let text = String::from_utf8_lossy(path);
        self.ignore_regex.matches(&text).iter().next()
    }

    /// The first sibling rule whose mask matches `name` and whose sibling exists.
    fn sibling_match(&self, name: &[u8], sibling_exists: &dyn Fn(&[u8]) -> bool) -> Option<usize> {
        let stem = match name.iter().rposition(|&b| b == b'.') {
            Some(dot) if dot > 0 => &name[..dot],
            _ => name,
        };
        self.siblings.all_matches(name).into_iter().find(|&i| {
            let ext = &self.sibling_extensions[i];
            let mut sibling = stem.to_vec();
            if !ext.is_empty() {
                sibling.push(b'.');
                sibling.extend_from_slice(ext);
            }
            sibling != name && sibling_exists(&sibling)
        })
    }

    fn describe(&self, rule: Rule) -> String {
        let mask =
            |field: &str, set: &MaskSet, i: usize| format!("{field}[{i}] \"{}\"", set.text(i));
        match rule {
            Rule::Default => "default".into(),
            Rule::IncludeFiles(i) => mask("include-files", &self.include_files, i),
            Rule::NoIncludeFiles => "include-files (no mask matches)".into(),
            Rule::IncludeFolders(i) => mask("include-folders", &self.include_folders, i),
            Rule::NoIncludeFolders => "include-folders (no mask matches the folder)".into(),
            Rule::OnTheWay => "include-folders (only on the way to a listed folder)".into(),
            Rule::NothingListedBelow => "include-folders (no listed folder in or below it)".into(),
            Rule::NoEmptyFolders => {
                "include-empty-folders (off, and nothing below it takes part)".into()
            }
            Rule::ExcludeFiles(i) => mask("exclude-files", &self.exclude_files, i),
            Rule::ExcludeFolders(i) => mask("exclude-folders", &self.exclude_folders, i),
            Rule::IgnoreRegex(i) => format!("ignore-regex[{i}] \"{}\"", self.regex_texts[i]),
            Rule::LargerThan => format!("larger-than {}", self.larger_than.unwrap_or_default()),
            Rule::SmallerThan => format!("smaller-than {}", self.smaller_than.unwrap_or_default()),
            Rule::ModifiedWithin => match self.modified_within {
                Some((age, _)) => format!("modified-within {age}"),
                None => "modified-within".into(),
            },
            Rule::NotModifiedWithin => match self.not_modified_within {
                Some((age, _)) => format!("not-modified-within {age}"),
                None => "not-modified-within".into(),
            },
            Rule::Hidden => "exclude-hidden".into(),
            Rule::ReadOnly => "exclude-read-only".into(),
            Rule::Sibling(i) => mask("exclude-if-sibling", &self.siblings, i),
        }
    }
}

/// Checks each regex on its own (so the error names it), then compiles them into one set.
fn compile_regexes(texts: &[String]) -> Result<RegexSet> {
    for (i, text) in texts.iter().enumerate() {
        if let Err(e) = regex::Regex::new(text) {
            return Err(Error::invalid(format!(
                "ignore-regex[{i}]: invalid regex \"{text}\": {}",
                regex_reason(&e)
            )));
        }
    }
    RegexSet::new(texts).map_err(|e| Error::invalid(format!("ignore-regex: {}", regex_reason(&e))))
}

/// The one-line core of a regex error (its `Display` spans several lines with a caret).
fn regex_reason(err: &regex::Error) -> String {
    let text = err.to_string();
    text.lines()
        .rev()
        .find_map(|line| line.trim().strip_prefix("error: "))
        .map(str::to_owned)
        .unwrap_or_else(|| text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// The folder part of a `/`-separated path (empty at the root).
fn parent_of(path: &[u8]) -> &[u8] {
    &path[..path.iter().rposition(|&b| b == b'/').unwrap_or(0)]
}

/// The last component of a `/`-separated path.
fn name_of(path: &[u8]) -> &[u8] {
    path.rsplit(|&b| b == b'/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::RelPath;
    use crate::ErrorKind;

    const SECOND: i64 = 1_000_000_000;
    const NOW: i64 = 1_700_000_000 * SECOND;
    const KB: u64 = 1024;

    fn entry(path: impl AsRef<[u8]>, kind: EntryKind) -> Entry {
        Entry {
            path: RelPath::new(path).unwrap(),
            kind,
            size: if kind == EntryKind::Dir { 0 } else { 100 },
            mtime_ns: NOW - 3600 * SECOND,
            mode: if kind == EntryKind::Dir { 0o755 } else { 0o644 },
            owner: None,
            file_id: 0,
        }
    }

    fn f(path: &str) -> Entry {
        entry(path, EntryKind::File)
    }

    fn d(path: impl AsRef<[u8]>) -> Entry {
        entry(path, EntryKind::Dir)
    }

    fn link(path: &str) -> Entry {
        entry(path, EntryKind::Symlink)
    }

    /// Test-only tweaks of an entry's metadata.
    trait With {
        fn size(self, size: u64) -> Entry;
        fn modified_ago(self, ns: i64) -> Entry;
        fn mode(self, mode: u32) -> Entry;
    }

    impl With for Entry {
        fn size(mut self, size: u64) -> Entry {
            self.size = size;
            self
        }
        fn modified_ago(mut self, ns: i64) -> Entry {
            self.mtime_ns = NOW - ns;
            self
        }
        fn mode(mut self, mode: u32) -> Entry {
            self.mode = mode;
            self
        }
    }

    /// The names that exist next to every file in these tests.
    fn sibling_exists(name: &[u8]) -> bool {
        [&b"x.c"[..], b"a.b.c", b"notes"].contains(&name)
    }

    fn filter(spec: &str) -> Filter {
        let spec: FilterSpec = serde_json::from_str(spec).unwrap();
        Filter::new(&spec, NOW).unwrap()
    }

    /// What the walk does: every ancestor folder must be accepted, then the entry itself.
    fn walk_accepts(filter: &Filter, entry: &Entry) -> bool {
        let ancestors =
            prefixes(parent_of(entry.path.as_bytes())).all(|p| filter.accepts_dir(&d(p)));
        ancestors
            && if entry.kind == EntryKind::Dir {
                filter.accepts_dir(entry)
            } else {
                filter.accepts_file(entry, &sibling_exists)
            }
    }

    /// The rule of a folder that takes part only when a listed folder lies below it.
    const LEADS: &str = "include-folders (only on the way to a listed folder)";
    /// The rule of a folder no listed folder can lie in or below.
    const NOTHING_BELOW: &str = "include-folders (no listed folder in or below it)";

    macro_rules! decisions {
        ($($name:ident: $spec:expr, $entry:expr => $included:expr, $rule:expr;)*) => {$(
            #[test]
            fn $name() {
                let filter = filter($spec);
                let entry = $entry;
                let decision = filter.explain(&entry, &sibling_exists);
                let expected = Decision { included: $included, rule: $rule.to_string() };
                assert_eq!(decision, expected, "explain {:?}", entry.path);
                assert_eq!(walk_accepts(&filter, &entry), $included, "walk {:?}", entry.path);
            }
        )*};
    }

    decisions! {
        // include-files
        include_files_empty_takes_all: r#"{}"#, f("a/b.txt") => true, "default";
        include_files_match_ignores_case: r#"{"include-files": ["*.doc"]}"#, f("a/x.DOC") => true, r#"include-files[0] "*.doc""#;
        include_files_case_sensitive_misses: r#"{"include-files": ["*.doc"], "case-sensitive": true}"#, f("x.DOC") => false, "include-files (no mask matches)";
        include_files_no_match: r#"{"include-files": ["*.doc", "*.xls"]}"#, f("a/x.txt") => false, "include-files (no mask matches)";
        include_files_second_mask: r#"{"include-files": ["*.doc", "report??.xls"]}"#, f("report12.xls") => true, r#"include-files[1] "report??.xls""#;
        include_files_question_is_one_char: r#"{"include-files": ["report??.xls"]}"#, f("report1.xls") => false, "include-files (no mask matches)";
        include_files_class: r#"{"include-files": ["file[0-9].txt"]}"#, f("file7.txt") => true, r#"include-files[0] "file[0-9].txt""#;
        include_files_class_misses: r#"{"include-files": ["file[0-9].txt"]}"#, f("filex.txt") => false, "include-files (no mask matches)";
        include_files_exact_name: r#"{"include-files": ["Thumbs.db"]}"#, f("a/b/thumbs.db") => true, r#"include-files[0] "Thumbs.db""#;
        include_files_leave_folders: r#"{"include-files": ["*.doc"]}"#, d("a/sub") => true, "default";
        include_files_apply_to_links: r#"{"include-files": ["*.doc"]}"#, link("a/x.lnk") => false, "include-files (no mask matches)";

        // include-folders
        include_folders_root_file: r#"{"include-folders": ["Docs"]}"#, f("x.txt") => true, "default";
        include_folders_direct: r#"{"include-folders": ["Docs"]}"#, f("docs/x.txt") => true, r#"include-folders[0] "Docs""#;
        include_folders_below_match: r#"{"include-folders": ["Docs"]}"#, f("Docs/sub/x.txt") => true, r#"include-folders[0] "Docs""#;
        include_folders_other_file_out: r#"{"include-folders": ["Docs"]}"#, f("Other/x.txt") => false, "include-folders (no mask matches the folder)";
        include_folders_other_dir_descended: r#"{"include-folders": ["Docs"]}"#, d("Other") => true, LEADS;
        include_folders_matching_dir: r#"{"include-folders": ["Docs"]}"#, d("Other/Docs") => true, r#"include-folders[0] "Docs""#;
        include_folders_deep_match: r#"{"include-folders": ["Docs"]}"#, f("Other/Docs/x.txt") => true, r#"include-folders[0] "Docs""#;
        include_folders_top_only: r#"{"include-folders": ["Docs\\"]}"#, f("Other/Docs/x.txt") => false, NOTHING_BELOW;
        include_folders_path: r#"{"include-folders": ["a/b"]}"#, f("a/b/c/x") => true, r#"include-folders[0] "a/b""#;
        include_folders_path_parent_out: r#"{"include-folders": ["a/b"]}"#, f("a/x") => false, "include-folders (no mask matches the folder)";
        include_folders_case_sensitive: r#"{"include-folders": ["Docs"], "case-sensitive": true}"#, f("docs/x.txt") => false, "include-folders (no mask matches the folder)";
        // include-folders: only listed folders, what lies below them, and the folders leading
        // to them take part (issue 10, item 13)
        include_folders_top_only_prunes_others: r#"{"include-folders": ["Docs\\"]}"#, d("Other") => false, NOTHING_BELOW;
        include_folders_anchored_first_step: r#"{"include-folders": ["a/b/Doc"]}"#, d("a") => true, LEADS;
        include_folders_anchored_second_step: r#"{"include-folders": ["a/b/Doc"]}"#, d("a/b") => true, LEADS;
        include_folders_anchored_listed: r#"{"include-folders": ["a/b/Doc"]}"#, d("a/b/Doc") => true, r#"include-folders[0] "a/b/Doc""#;
        include_folders_anchored_below_listed: r#"{"include-folders": ["a/b/Doc"]}"#, d("a/b/Doc/x") => true, r#"include-folders[0] "a/b/Doc""#;
        include_folders_anchored_sibling: r#"{"include-folders": ["a/b/Doc"]}"#, d("a/c") => false, NOTHING_BELOW;
        include_folders_anchored_other_top: r#"{"include-folders": ["a/b/Doc"]}"#, d("b") => false, NOTHING_BELOW;
        include_folders_anchored_file_on_the_way: r#"{"include-folders": ["a/b/Doc"]}"#, f("a/b/x.txt") => false, "include-folders (no mask matches the folder)";
        include_folders_anchored_file_elsewhere: r#"{"include-folders": ["a/b/Doc"]}"#, f("a/c/x.txt") => false, NOTHING_BELOW;
        include_folders_anchored_ignores_case: r#"{"include-folders": ["A/B/Doc"]}"#, d("a/b") => true, LEADS;
        include_folders_anchored_case_sensitive: r#"{"include-folders": ["A/B/Doc"], "case-sensitive": true}"#, d("a") => false, NOTHING_BELOW;
        include_folders_star_step: r#"{"include-folders": ["a/*/Doc"]}"#, d("a/anything") => true, LEADS;
        include_folders_star_step_too_deep: r#"{"include-folders": ["a/*/Doc"]}"#, d("a/x/y") => false, NOTHING_BELOW;
        include_folders_nested_leads_anywhere: r#"{"include-folders": ["*/Doc"]}"#, d("x/y/z") => true, LEADS;
        include_folders_double_star_leads: r#"{"include-folders": ["a/**/Doc"]}"#, d("a/x/y") => true, LEADS;
        include_folders_double_star_prefix: r#"{"include-folders": ["a/**/Doc"]}"#, d("b") => false, NOTHING_BELOW;
        include_folders_any_listed: r#"{"include-folders": ["a/b/Doc", "c"]}"#, d("x") => true, LEADS;
        include_folders_exclusion_named_first: r#"{"include-folders": ["a/b"], "exclude-folders": ["q"]}"#, d("q") => false, r#"exclude-folders[0] "q""#;
        include_files_named_before_folders: r#"{"include-folders": ["Docs"], "include-files": ["*.txt"]}"#, f("Docs/x.txt") => true, r#"include-files[0] "*.txt""#;

        // exclude-files
        exclude_files_ignores_case: r#"{"exclude-files": ["*.tmp", "~*"]}"#, f("a/x.TMP") => false, r#"exclude-files[0] "*.tmp""#;
        exclude_files_second_mask: r#"{"exclude-files": ["*.tmp", "~*"]}"#, f("~lock.doc") => false, r#"exclude-files[1] "~*""#;
        exclude_files_case_sensitive: r#"{"exclude-files": ["*.tmp"], "case-sensitive": true}"#, f("x.TMP") => true, "default";
        exclude_files_beat_include: r#"{"include-files": ["*.tmp"], "exclude-files": ["*.tmp"]}"#, f("x.tmp") => false, r#"exclude-files[0] "*.tmp""#;
        exclude_files_leave_folders: r#"{"exclude-files": ["*"]}"#, d("a") => true, "default";
        exclude_files_match_the_name_only: r#"{"exclude-files": ["a*"]}"#, f("a/x") => true, "default";

        // exclude-folders: "Doc" is every Doc
        exclude_folders_any_depth1: r#"{"exclude-folders": ["Doc"]}"#, d("Doc") => false, r#"exclude-folders[0] "Doc""#;
        exclude_folders_any_depth2: r#"{"exclude-folders": ["Doc"]}"#, d("a/Doc") => false, r#"exclude-folders[0] "Doc""#;
        exclude_folders_any_depth3: r#"{"exclude-folders": ["Doc"]}"#, d("a/b/Doc") => false, r#"exclude-folders[0] "Doc""#;
        exclude_folders_any_ignores_case: r#"{"exclude-folders": ["Doc"]}"#, d("a/DOC") => false, r#"exclude-folders[0] "Doc""#;
        exclude_folders_any_case_sensitive: r#"{"exclude-folders": ["Doc"], "case-sensitive": true}"#, d("a/doc") => true, "default";
        exclude_folders_whole_name: r#"{"exclude-folders": ["Doc"]}"#, d("Docs") => true, "default";
        exclude_folders_not_files: r#"{"exclude-folders": ["Doc"]}"#, f("a/Doc") => true, "default";
        exclude_folders_ancestor: r#"{"exclude-folders": ["x", "Doc"]}"#, f("a/b/Doc/c/x.txt") => false, r#"exclude-folders[1] "Doc""#;
        exclude_folders_ancestor_dir: r#"{"exclude-folders": ["Doc"]}"#, d("a/Doc/c") => false, r#"exclude-folders[0] "Doc""#;
        exclude_folders_wildcard: r#"{"exclude-folders": ["*.git"]}"#, d("a/x.GIT") => false, r#"exclude-folders[0] "*.git""#;

        // exclude-folders: "Doc\" is only the top-level Doc
        exclude_folders_top_backslash_depth1: r#"{"exclude-folders": ["Doc\\"]}"#, d("Doc") => false, r#"exclude-folders[0] "Doc\""#;
        exclude_folders_top_backslash_depth2: r#"{"exclude-folders": ["Doc\\"]}"#, d("a/Doc") => true, "default";
        exclude_folders_top_backslash_depth3: r#"{"exclude-folders": ["Doc\\"]}"#, d("a/b/Doc") => true, "default";
        exclude_folders_top_slash_depth1: r#"{"exclude-folders": ["Doc/"]}"#, d("Doc") => false, r#"exclude-folders[0] "Doc/""#;
        exclude_folders_top_slash_depth2: r#"{"exclude-folders": ["Doc/"]}"#, d("a/Doc") => true, "default";
        exclude_folders_top_slash_depth3: r#"{"exclude-folders": ["Doc/"]}"#, d("a/b/Doc") => true, "default";
        exclude_folders_top_ignores_case: r#"{"exclude-folders": ["Doc\\"]}"#, d("doc") => false, r#"exclude-folders[0] "Doc\""#;
        exclude_folders_top_case_sensitive: r#"{"exclude-folders": ["Doc\\"], "case-sensitive": true}"#, d("doc") => true, "default";
        exclude_folders_top_file_below: r#"{"exclude-folders": ["Doc/"]}"#, f("Doc/x/y.txt") => false, r#"exclude-folders[0] "Doc/""#;

        // exclude-folders: "*\Doc" is every Doc below the top level
        exclude_folders_nested_backslash_depth1: r#"{"exclude-folders": ["*\\Doc"]}"#, d("Doc") => true, "default";
        exclude_folders_nested_backslash_depth2: r#"{"exclude-folders": ["*\\Doc"]}"#, d("a/Doc") => false, r#"exclude-folders[0] "*\Doc""#;
        exclude_folders_nested_backslash_depth3: r#"{"exclude-folders": ["*\\Doc"]}"#, d("a/b/Doc") => false, r#"exclude-folders[0] "*\Doc""#;
        exclude_folders_nested_slash_depth1: r#"{"exclude-folders": ["*/Doc"]}"#, d("Doc") => true, "default";
        exclude_folders_nested_slash_depth2: r#"{"exclude-folders": ["*/Doc"]}"#, d("a/Doc") => false, r#"exclude-folders[0] "*/Doc""#;
        exclude_folders_nested_slash_depth3: r#"{"exclude-folders": ["*/Doc"]}"#, d("a/b/Doc") => false, r#"exclude-folders[0] "*/Doc""#;
        exclude_folders_nested_ignores_case: r#"{"exclude-folders": ["*/Doc"]}"#, d("a/b/dOC") => false, r#"exclude-folders[0] "*/Doc""#;
        exclude_folders_nested_case_sensitive: r#"{"exclude-folders": ["*/Doc"], "case-sensitive": true}"#, d("a/b/dOC") => true, "default";
        exclude_folders_nested_keeps_top_files: r#"{"exclude-folders": ["*/Doc"]}"#, f("Doc/x.txt") => true, "default";

        // exclude-folders: paths from the root
        exclude_folders_path: r#"{"exclude-folders": ["a\\b"]}"#, d("a/b") => false, r#"exclude-folders[0] "a\b""#;
        exclude_folders_path_trailing: r#"{"exclude-folders": ["a/b/"]}"#, d("a/b") => false, r#"exclude-folders[0] "a/b/""#;
        exclude_folders_path_is_anchored: r#"{"exclude-folders": ["a/b"]}"#, d("x/a/b") => true, "default";
        exclude_folders_path_not_parent: r#"{"exclude-folders": ["a/b"]}"#, d("a") => true, "default";
        exclude_folders_path_file_below: r#"{"exclude-folders": ["a/b"]}"#, f("a/b/c.txt") => false, r#"exclude-folders[0] "a/b""#;
        exclude_folders_path_star_component: r#"{"exclude-folders": ["a/*/c"]}"#, d("a/x/c") => false, r#"exclude-folders[0] "a/*/c""#;
        exclude_folders_path_star_stays_in_component: r#"{"exclude-folders": ["a/*/c"]}"#, d("a/x/y/c") => true, "default";
        exclude_folders_nested_path_depth2: r#"{"exclude-folders": ["*/x/y"]}"#, d("x/y") => true, "default";
        exclude_folders_nested_path_depth3: r#"{"exclude-folders": ["*/x/y"]}"#, d("q/x/y") => false, r#"exclude-folders[0] "*/x/y""#;
        exclude_folders_double_star: r#"{"exclude-folders": ["**/x/y"]}"#, d("x/y") => false, r#"exclude-folders[0] "**/x/y""#;

        // ignore-regex
        regex_excludes_file: r#"{"ignore-regex": ["\\.bak$"]}"#, f("a/x.bak") => false, r#"ignore-regex[0] "\.bak$""#;
        regex_is_case_sensitive: r#"{"ignore-regex": ["\\.bak$"]}"#, f("a/x.BAK") => true, "default";
        regex_case_insensitive_flag: r#"{"ignore-regex": ["(?i)\\.bak$"]}"#, f("a/x.BAK") => false, r#"ignore-regex[0] "(?i)\.bak$""#;
        regex_sees_full_path: r#"{"ignore-regex": ["^a/b/"]}"#, f("a/b/c.txt") => false, r#"ignore-regex[0] "^a/b/""#;
        regex_prunes_folder: r#"{"ignore-regex": ["x", "^a/cache$"]}"#, d("a/cache") => false, r#"ignore-regex[1] "^a/cache$""#;
        regex_prunes_folder_for_files_below: r#"{"ignore-regex": ["^a/cache$"]}"#, f("a/cache/z.txt") => false, r#"ignore-regex[0] "^a/cache$""#;
        regex_is_unanchored: r#"{"ignore-regex": ["cache"]}"#, f("a/mycache.txt") => false, r#"ignore-regex[0] "cache""#;
        regex_on_lossy_utf8: r#"{"ignore-regex": ["caf\uFFFD"]}"#, entry(b"caf\xe9", EntryKind::File) => false, "ignore-regex[0] \"caf\u{FFFD}\"";

        // size windows
        larger_than_boundary_out: r#"{"larger-than": "10 KB"}"#, f("x").size(10 * KB) => false, "larger-than 10 KB";
        larger_than_boundary_in: r#"{"larger-than": "10 KB"}"#, f("x").size(10 * KB + 1) => true, "default";
        larger_than_bytes: r#"{"larger-than": 100}"#, f("x").size(101) => true, "default";
        smaller_than_boundary_out: r#"{"smaller-than": "1 MiB"}"#, f("x").size(KB * KB) => false, "smaller-than 1 MB";
        smaller_than_boundary_in: r#"{"smaller-than": "1 MiB"}"#, f("x").size(KB * KB - 1) => true, "default";
        size_window_inside: r#"{"larger-than": "1k", "smaller-than": "1.5 KB"}"#, f("x").size(1500) => true, "default";
        size_window_above: r#"{"larger-than": "1k", "smaller-than": "1.5 KB"}"#, f("x").size(1536) => false, "smaller-than 1536 bytes";
        size_leaves_folders: r#"{"larger-than": "10 KB"}"#, d("a") => true, "default";
        size_leaves_links: r#"{"larger-than": "10 KB"}"#, link("a").size(5) => true, "default";

        // age windows
        modified_within_boundary_in: r#"{"modified-within": "3 days"}"#, f("x").modified_ago(3 * 86_400 * SECOND) => true, "default";
        modified_within_boundary_out: r#"{"modified-within": "3 days"}"#, f("x").modified_ago(3 * 86_400 * SECOND + 1) => false, "modified-within 3 days";
        modified_within_future: r#"{"modified-within": "3d"}"#, f("x").modified_ago(-SECOND) => true, "default";
        modified_within_minutes: r#"{"modified-within": "30m"}"#, f("x").modified_ago(29 * 60 * SECOND) => true, "default";
        modified_within_minutes_out: r#"{"modified-within": "30m"}"#, f("x").modified_ago(31 * 60 * SECOND) => false, "modified-within 30 minutes";
        modified_within_week: r#"{"modified-within": "1 week"}"#, f("x").modified_ago(8 * 86_400 * SECOND) => false, "modified-within 1 week";
        not_modified_within_boundary_out: r#"{"not-modified-within": "2h"}"#, f("x").modified_ago(7200 * SECOND) => false, "not-modified-within 2 hours";
        not_modified_within_boundary_in: r#"{"not-modified-within": "2h"}"#, f("x").modified_ago(7200 * SECOND + 1) => true, "default";
        not_modified_within_year: r#"{"not-modified-within": "1 year"}"#, f("x").modified_ago(400 * 86_400 * SECOND) => true, "default";
        not_modified_within_year_out: r#"{"not-modified-within": "1y"}"#, f("x").modified_ago(300 * 86_400 * SECOND) => false, "not-modified-within 1 year";
        age_window_between: r#"{"modified-within": "1 week", "not-modified-within": "1 day"}"#, f("x").modified_ago(2 * 86_400 * SECOND) => true, "default";
        age_leaves_folders: r#"{"modified-within": "1 minute"}"#, d("a") => true, "default";

        // attributes
        hidden_file: r#"{"exclude-hidden": true}"#, f("a/.bashrc") => false, "exclude-hidden";
        hidden_folder: r#"{"exclude-hidden": true}"#, d("a/.git") => false, "exclude-hidden";
        hidden_folder_prunes_below: r#"{"exclude-hidden": true}"#, f("a/.git/config") => false, "exclude-hidden";
        hidden_off: r#"{}"#, f("a/.bashrc") => true, "default";
        visible_file: r#"{"exclude-hidden": true}"#, f("a/x.txt") => true, "default";
        read_only_file: r#"{"exclude-read-only": true}"#, f("x").mode(0o444) => false, "exclude-read-only";
        writable_file: r#"{"exclude-read-only": true}"#, f("x").mode(0o644) => true, "default";
        group_writable_file: r#"{"exclude-read-only": true}"#, f("x").mode(0o464) => true, "default";
        unknown_mode_is_writable: r#"{"exclude-read-only": true}"#, f("x").mode(0) => true, "default";
        read_only_folder_kept: r#"{"exclude-read-only": true}"#, d("a").mode(0o555) => true, "default";
        read_only_off: r#"{}"#, f("x").mode(0o444) => true, "default";

        // exclude-if-sibling
        sibling_exists_excludes: r#"{"exclude-if-sibling": [{"mask": "*.o", "extension": "c"}]}"#, f("src/x.o") => false, r#"exclude-if-sibling[0] "*.o""#;
        sibling_missing_keeps: r#"{"exclude-if-sibling": [{"mask": "*.o", "extension": "c"}]}"#, f("src/y.o") => true, "default";
        sibling_mask_ignores_case: r#"{"exclude-if-sibling": [{"mask": "*.o", "extension": "c"}]}"#, f("x.O") => false, r#"exclude-if-sibling[0] "*.o""#;
        sibling_mask_must_match: r#"{"exclude-if-sibling": [{"mask": "*.o", "extension": "c"}]}"#, f("x.obj") => true, "default";
        sibling_stem_up_to_last_dot: r#"{"exclude-if-sibling": [{"mask": "*.o", "extension": "c"}]}"#, f("a.b.o") => false, r#"exclude-if-sibling[0] "*.o""#;
        sibling_dotted_extension: r#"{"exclude-if-sibling": [{"mask": "*.o", "extension": ".c"}]}"#, f("x.o") => false, r#"exclude-if-sibling[0] "*.o""#;
        sibling_second_rule: r#"{"exclude-if-sibling": [{"mask": "*.o", "extension": "h"}, {"mask": "*.bak", "extension": ""}]}"#, f("notes.bak") => false, r#"exclude-if-sibling[1] "*.bak""#;
        sibling_is_not_itself: r#"{"exclude-if-sibling": [{"mask": "*.c", "extension": "c"}]}"#, f("x.c") => true, "default";

        // which rule is named first
        hidden_named_before_masks: r#"{"exclude-hidden": true, "exclude-files": [".*"]}"#, f(".x") => false, "exclude-hidden";
        outer_folder_named_first: r#"{"exclude-folders": ["b"], "ignore-regex": ["^a$"]}"#, f("a/b/c") => false, r#"ignore-regex[0] "^a$""#;
    }

    macro_rules! spec_errors {
        ($($name:ident: $spec:expr => $kind:ident, $message:expr;)*) => {$(
            #[test]
            fn $name() {
                let spec: FilterSpec = serde_json::from_str($spec).unwrap();
                let err = Filter::new(&spec, NOW).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::$kind);
                assert_eq!(err.to_string(), $message);
            }
        )*};
    }

    spec_errors! {
        bad_mask_names_field_and_index: r#"{"exclude-files": ["ok", "*.x", "a["]}"# => InvalidInput,
            r#"exclude-files[2]: invalid mask "a[": unclosed character class; missing ']'"#;
        empty_mask: r#"{"include-folders": ["Docs", " "]}"# => InvalidInput,
            r#"include-folders[1]: invalid mask " ": empty"#;
        separator_only_folder_mask: r#"{"exclude-folders": ["\\"]}"# => InvalidInput,
            r#"exclude-folders[0]: invalid mask "\": no folder name"#;
        file_mask_with_path: r#"{"include-files": ["a/b.txt"]}"# => InvalidInput,
            r#"include-files[0]: invalid mask "a/b.txt": a file mask matches names, not paths; use a folder mask"#;
        bad_folder_mask: r#"{"include-folders": ["a/[b"]}"# => InvalidInput,
            r#"include-folders[0]: invalid mask "a/[b": unclosed character class; missing ']'"#;
        bad_regex: r#"{"ignore-regex": ["ok", "("]}"# => InvalidInput,
            r#"ignore-regex[1]: invalid regex "(": unclosed group"#;
        bad_sibling_mask: r#"{"exclude-if-sibling": [{"mask": "[", "extension": "c"}]}"# => InvalidInput,
            r#"exclude-if-sibling[0]: invalid mask "[": unclosed character class; missing ']'"#;
        bad_sibling_extension: r#"{"exclude-if-sibling": [{"mask": "*.o", "extension": "a/c"}]}"# => InvalidInput,
            r#"exclude-if-sibling[0]: invalid extension "a/c": contains a separator"#;
        empty_size_window: r#"{"larger-than": "10 KB", "smaller-than": 10241}"# => InvalidInput,
            "larger-than 10 KB and smaller-than 10241 bytes leave no file";
        empty_age_window: r#"{"modified-within": "1 day", "not-modified-within": "24h"}"# => InvalidInput,
            "modified-within 1 day and not-modified-within 24 hours leave no file";
        system_attribute_is_windows_only: r#"{"exclude-system": true}"# => NotSupported,
            "filters.exclude-system on this platform: not supported yet";
    }

    #[test]
    fn narrowest_size_window_is_accepted() {
        let filter = filter(r#"{"larger-than": 10, "smaller-than": 12}"#);
        assert!(filter.accepts_file(&f("x").size(11), &sibling_exists));
        assert!(!filter.accepts_file(&f("x").size(12), &sibling_exists));
    }

    #[test]
    fn everything_includes_everything() {
        let filter = Filter::everything();
        assert!(filter.include_empty_folders());
        assert!(!filter.needs_siblings());
        for e in [
            f(".x").mode(0o444),
            d("a/.git"),
            link("l"),
            f("a/b/c.tmp").size(0),
        ] {
            assert!(walk_accepts(&filter, &e), "{:?}", e.path);
            assert_eq!(filter.explain(&e, &|_| true).rule, "default");
        }
    }

    /// Item 13 of issue 10: with `include-folders`, an empty folder takes part only when it
    /// is listed or lies below a listed one; folders merely on the way take part only when
    /// something below them does.
    #[test]
    fn empty_folders_are_kept_only_where_listed() {
        let listed = filter(r#"{"include-folders": ["Doc"], "include-empty-folders": true}"#);
        assert!(listed.keeps_empty_folder(&d("Doc")));
        assert!(listed.keeps_empty_folder(&d("x/Doc/y")));
        assert!(!listed.keeps_empty_folder(&d("Other")));
        assert!(!listed.keeps_empty_folder(&d("x/Docs")));
        assert!(listed.include_empty_folders());
        assert!(
            !listed.keeps_every_empty_folder(),
            "not every folder is kept"
        );
        assert!(filter("{}").keeps_every_empty_folder());

        let no_empty = filter(r#"{"include-folders": ["Doc"], "include-empty-folders": false}"#);
        assert!(!no_empty.keeps_empty_folder(&d("Doc")));
        assert!(!filter(r#"{"include-empty-folders": false}"#).keeps_empty_folder(&d("a")));
        assert!(filter("{}").keeps_empty_folder(&d("a")));
    }

    #[test]
    fn an_empty_folder_is_explained_by_the_rule_that_drops_it() {
        let listed = filter(r#"{"include-folders": ["Doc"]}"#);
        assert_eq!(listed.explain_empty_folder(&d("x/Doc")), None);
        let other = listed.explain_empty_folder(&d("Other")).unwrap();
        assert!(!other.included);
        assert_eq!(other.rule, NOTHING_BELOW);
        let no_empty = filter(r#"{"include-folders": ["Doc"], "include-empty-folders": false}"#);
        assert_eq!(
            no_empty.explain_empty_folder(&d("Doc")).unwrap().rule,
            "include-empty-folders (off, and nothing below it takes part)"
        );
        assert_eq!(filter("{}").explain_empty_folder(&d("a")), None);
    }

    #[test]
    fn options_are_exposed() {
        assert!(!filter("{}").needs_siblings());
        assert!(filter("{}").include_empty_folders());
        assert!(!filter(r#"{"include-empty-folders": false}"#).include_empty_folders());
        let f = filter(
            r#"{"include-empty-folders": true, "exclude-if-sibling": [{"mask": "*.o", "extension": "c"}]}"#,
        );
        assert!(f.needs_siblings());
        assert!(f.include_empty_folders());
    }

    #[test]
    fn sibling_callback_is_asked_for_the_sibling_name() {
        let filter = filter(r#"{"exclude-if-sibling": [{"mask": "*.o", "extension": "c"}]}"#);
        let asked = std::cell::RefCell::new(Vec::new());
        let exists = |name: &[u8]| {
            asked.borrow_mut().push(name.to_vec());
            false
        };
        assert!(filter.accepts_file(&f("dir/main.o"), &exists));
        assert_eq!(*asked.borrow(), [b"main.c".to_vec()]);
    }

    #[test]
    fn root_is_always_included() {
        let filter = filter(r#"{"exclude-folders": ["*"], "ignore-regex": [""]}"#);
        assert!(filter.accepts_dir(&d("")));
        assert!(filter.explain(&d(""), &sibling_exists).included);
        assert!(!filter.accepts_dir(&d("a")));
    }

    #[test]
    fn filter_is_send_sync_clone() {
        fn assert_traits<T: Send + Sync + Clone + 'static>() {}
        assert_traits::<Filter>();
        let original = filter(r#"{"exclude-files": ["*.tmp"]}"#);
        let copy = original.clone();
        let handle = std::thread::spawn(move || copy.accepts_file(&f("x.tmp"), &|_| false));
        assert!(!handle.join().unwrap());
        assert!(!original.accepts_file(&f("x.tmp"), &|_| false));
    }

    #[test]
    fn spec_round_trips_through_json() {
        let json = r#"{"include-files":["*.doc"],"exclude-folders":["Doc\\","*\\Temp"],"case-sensitive":true,"larger-than":"1.5 KB","modified-within":"6mo","not-modified-within":"30m","exclude-if-sibling":[{"mask":"*.o","extension":"c"}],"include-empty-folders":true}"#;
        let spec: FilterSpec = serde_json::from_str(json).unwrap();
        assert_eq!(spec.larger_than, Some(ByteSize(1536)));
        let back = serde_json::to_string(&spec).unwrap();
        assert!(back.contains(r#""larger-than":1536"#), "{back}");
        assert!(back.contains(r#""modified-within":"6 months""#), "{back}");
        assert_eq!(serde_json::from_str::<FilterSpec>(&back).unwrap(), spec);
    }

    /// Every field of a spec can be set on a folder: a spec written as overrides, laid over
    /// anything, gives the spec back.
    #[test]
    fn overrides_cover_every_field() {
        let json = r#"{"include-files":["*.doc"],"include-folders":["a"],"exclude-files":["*.x"],"exclude-folders":["b"],"ignore-regex":["c"],"case-sensitive":true,"larger-than":1,"smaller-than":99,"modified-within":"1d","not-modified-within":"1h","exclude-hidden":true,"exclude-read-only":true,"exclude-system":true,"exclude-if-sibling":[{"mask":"*.o","extension":"c"}],"include-empty-folders":false}"#;
        let spec: FilterSpec = serde_json::from_str(json).unwrap();
        let text = serde_json::to_string(&spec).unwrap();
        let all: FilterOverrides = serde_json::from_str(&text).unwrap();
        assert_eq!(all.apply_to(&FilterSpec::default()), spec);
        assert_eq!(serde_json::to_string(&all).unwrap(), text);
        assert_eq!(
            FilterOverrides::default().apply_to(&spec),
            spec,
            "nothing set: all inherited"
        );
    }

    /// One row of `globset`'s own `matches!`/`nmatches!` tests.
    #[derive(serde::Deserialize)]
    struct GlobVector {
        name: String,
        glob: String,
        path: String,
        expect: bool,
        options: String,
        cfg: Option<String>,
    }

    #[test]
    fn globset_vectors_hold_for_the_mask_layer() {
        let rows: Vec<GlobVector> = serde_json::from_str(include_str!(
            "../../tests/data/globset/globset-glob-vectors.json"
        ))
        .unwrap();
        let mut ran = 0;
        let mut failures = Vec::new();
        for row in &rows {
            let on_this_platform = match row.cfg.as_deref() {
                None => true,
                Some("#[cfg(unix)]") => cfg!(unix),
                Some("#[cfg(not(unix))]") => !cfg!(unix),
                Some(other) => panic!("{}: unknown cfg {other}", row.name),
            };
            // The mask layer never escapes with `\` (NOBSESC is its behaviour) and has no
            // empty alternates; rows relying on either do not apply.
            let (case_sensitive, literal_separator) = match row.options.as_str() {
                "default" | "NOBSESC" => (true, false),
                "CASEI" => (false, false),
                "SLASHLIT" => (true, true),
                "BSESC" | "EALTRE" => continue,
                other => panic!("{}: unknown options {other}", row.name),
            };
            let relies_on_escape = row.options != "NOBSESC" && row.glob.contains('\\');
            if !on_this_platform || relies_on_escape {
                continue;
            }
            ran += 1;
            let matched = mask::glob(&row.glob, case_sensitive, literal_separator)
                .unwrap_or_else(|e| panic!("{}: {e}", row.name))
                .compile_matcher()
                .is_match(&row.path);
            if matched != row.expect {
                failures.push(format!("{} {:?} {:?}", row.name, row.glob, row.path));
            }
        }
        assert!(failures.is_empty(), "failed: {failures:#?}");
        assert_eq!(rows.len(), 128);
        assert_eq!(ran, 119, "rows run");
    }
}
