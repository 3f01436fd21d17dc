//! Relative paths inside a replica: validated, byte-safe, ordered so that a folder's subtree
//! is contiguous.

use std::cmp::Ordering;
use std::ffi::OsStr;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A path relative to the root of a replica, with `/` separators.
///
/// It never holds an empty, `.` or `..` component, a NUL byte, or a leading `/`, so joining it
/// to a root can never leave the tree (safety rule 5). Names are kept as bytes exactly as the
/// file system gave them: non-UTF-8 names survive, and NFC/NFD forms are not normalized.
///
/// Ordering compares component by component, so `a` < `a/b` < `a.txt`: a folder is followed
/// directly by everything under it.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct RelPath(Box<[u8]>);

impl RelPath {
    /// The root of the replica (the empty path).
    pub fn root() -> RelPath {
        RelPath::default()
    }

    /// Parses a relative path, accepting `/` and (for portability) `\` as separators.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for an absolute path, a `..`
    /// component, a NUL byte, or a Windows drive or UNC prefix.
    pub fn new(path: impl AsRef<[u8]>) -> Result<RelPath> {
        let raw = path.as_ref();
        let shown = String::from_utf8_lossy(raw);
        if raw.contains(&0) {
            return Err(Error::invalid(format!(
                "path {shown:?} contains a NUL byte"
            )));
        }
        if raw.first().is_some_and(|&b| b == b'/' || b == b'\\') {
            return Err(Error::invalid(format!("path {shown:?} is absolute")));
        }
        if raw.len() >= 2 && raw[1] == b':' && raw[0].is_ascii_alphabetic() {
            return Err(Error::invalid(format!("path {shown:?} has a drive prefix")));
        }
        let mut out = Vec::with_capacity(raw.len());
        for part in raw.split(|&b| b == b'/' || b == b'\\') {
            match part {
                b"" | b"." => continue,
                b".." => {
                    return Err(Error::invalid(format!(
                        "path {shown:?} leaves its tree through \"..\""
                    )))
                }
                _ => {
                    if !out.is_empty() {
                        out.push(b'/');
                    }
                    out.extend_from_slice(part);
                }
            }
        }
        Ok(RelPath(out.into_boxed_slice()))
    }

    /// The path of `path` below `root`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when `path` is not inside `root`.
    pub fn from_path_under(root: &Path, path: &Path) -> Result<RelPath> {
        let rel = path.strip_prefix(root).map_err(|_| {
            Error::invalid(format!(
                "{} is not inside {}",
                path.display(),
                root.display()
            ))
        })?;
        RelPath::new(rel.as_os_str().as_bytes())
    }

    /// `self/name` for a single file name as read from a directory (no separators checked
    /// beyond the directory listing's guarantee).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when `name` is empty, `.`,
    /// `..`, or contains `/` or NUL.
    pub fn join(&self, name: &[u8]) -> Result<RelPath> {
        if name.is_empty()
            || name == b"."
            || name == b".."
            || name.contains(&b'/')
            || name.contains(&0)
        {
            return Err(Error::invalid(format!(
                "invalid file name {:?}",
                String::from_utf8_lossy(name)
            )));
        }
        let mut out = Vec::with_capacity(self.0.len() + 1 + name.len());
        out.extend_from_slice(&self.0);
        if !out.is_empty() {
            out.push(b'/');
        }
        out.extend_from_slice(name);
        Ok(RelPath(out.into_boxed_slice()))
    }

    /// The raw bytes, `/`-separated.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Whether this is the root.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The last component (empty for the root).
    pub fn file_name(&self) -> &[u8] {
        match self.0.iter().rposition(|&b| b == b'/') {
            Some(i) => &self.0[i + 1..],
            None => &self.0,
        }
    }

    /// The containing folder (`None` for the root).
    pub fn parent(&self) -> Option<RelPath> {
        if self.is_root() {
            return None;
        }
        Some(match self.0.iter().rposition(|&b| b == b'/') {
            Some(i) => RelPath(self.0[..i].into()),
            None => RelPath::root(),
        })
    }

    /// The components, outermost first.
    pub fn components(&self) -> impl Iterator<Item = &[u8]> {
        self.0.split(|&b| b == b'/').filter(|c| !c.is_empty())
    }

    /// Number of components (0 for the root, 1 for a top-level entry).
    pub fn depth(&self) -> usize {
        if self.is_root() {
            0
        } else {
            1 + self.0.iter().filter(|&&b| b == b'/').count()
        }
    }

    /// Whether `self` is `ancestor` or lies below it.
    pub fn starts_with(&self, ancestor: &RelPath) -> bool {
        ancestor.is_root()
            || (self.0.starts_with(&ancestor.0)
                && (self.0.len() == ancestor.0.len() || self.0[ancestor.0.len()] == b'/'))
    }

    /// `below` taken as relative to this path: `a/b` and `c/d` make `a/b/c/d`.
    pub(crate) fn concat(&self, below: &RelPath) -> RelPath {
        if self.is_root() {
            return below.clone();
        }
        if below.is_root() {
            return self.clone();
        }
        let mut out = Vec::with_capacity(self.0.len() + 1 + below.0.len());
        out.extend_from_slice(&self.0);
        out.push(b'/');
        out.extend_from_slice(&below.0);
        RelPath(out.into_boxed_slice())
    }

    /// This path relative to `ancestor`, when it is `ancestor` (the root) or lies below it.
    pub(crate) fn strip_prefix(&self, ancestor: &RelPath) -> Option<RelPath> {
        if !self.starts_with(ancestor) {
            return None;
        }
        let rest = match ancestor.0.len() {
            0 => &self.0[..],
            n if n == self.0.len() => &[][..],
            n => &self.0[n + 1..],
        };
        Some(RelPath(rest.into()))
    }

    /// This path below a local root.
    pub fn to_path(&self, root: &Path) -> PathBuf {
        if self.is_root() {
            root.to_path_buf()
        } else {
            root.join(OsStr::from_bytes(&self.0))
        }
    }

    /// The path as an `OsStr` (relative).
    pub fn as_os_str(&self) -> &OsStr {
        OsStr::from_bytes(&self.0)
    }

    /// A lossy UTF-8 rendering for messages and JSON.
    pub fn display(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }
}

impl Ord for RelPath {
    fn cmp(&self, other: &Self) -> Ordering {
        let key = |b: &u8| if *b == b'/' { 0u8 } else { *b };
        self.0.iter().map(key).cmp(other.0.iter().map(key))
    }
}

impl PartialOrd for RelPath {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.display())
    }
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

impl serde::Serialize for RelPath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.display())
    }
}

impl<'de> serde::Deserialize<'de> for RelPath {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RelPath::new(s.as_bytes()).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> RelPath {
        RelPath::new(s).unwrap()
    }

    #[test]
    fn concat_and_strip_prefix_undo_each_other() {
        assert_eq!(p("a/b").concat(&p("c/d")), p("a/b/c/d"));
        assert_eq!(RelPath::root().concat(&p("c")), p("c"));
        assert_eq!(p("a").concat(&RelPath::root()), p("a"));
        assert_eq!(p("a/b/c/d").strip_prefix(&p("a/b")), Some(p("c/d")));
        assert_eq!(p("a/b").strip_prefix(&p("a/b")), Some(RelPath::root()));
        assert_eq!(p("a/b").strip_prefix(&RelPath::root()), Some(p("a/b")));
        assert_eq!(p("a/bc").strip_prefix(&p("a/b")), None);
        assert_eq!(p("a").strip_prefix(&p("a/b")), None);
    }

    #[test]
    fn normalizes_separators_and_dots() {
        assert_eq!(p("a\\b/./c//").as_bytes(), b"a/b/c");
        assert!(p("").is_root());
        assert!(p("./").is_root());
    }

    #[test]
    fn rejects_paths_that_leave_the_tree() {
        for bad in [
            "../x",
            "a/../../x",
            "/etc/x",
            "\\\\server\\share",
            "C:\\x",
            "a\0b",
            "..\\x",
        ] {
            assert!(RelPath::new(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn subtree_is_contiguous_in_order() {
        let mut v = [p("a.txt"), p("a/b"), p("a"), p("a/b/c"), p("a-b"), p("b")];
        v.sort();
        let names: Vec<_> = v.iter().map(|r| r.display().into_owned()).collect();
        assert_eq!(names, ["a", "a/b", "a/b/c", "a-b", "a.txt", "b"]);
    }

    #[test]
    fn parent_name_depth() {
        let x = p("a/b/c.txt");
        assert_eq!(x.file_name(), b"c.txt");
        assert_eq!(x.parent().unwrap(), p("a/b"));
        assert_eq!(x.depth(), 3);
        assert!(x.starts_with(&p("a/b")));
        assert!(!p("a/bc").starts_with(&p("a/b")));
        assert_eq!(p("a").parent().unwrap(), RelPath::root());
    }

    #[test]
    fn non_utf8_names_survive() {
        let x = RelPath::root().join(b"caf\xe9").unwrap();
        assert_eq!(x.as_bytes(), b"caf\xe9");
        assert!(RelPath::root().join(b"a/b").is_err());
    }
}
