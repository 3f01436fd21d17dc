//! Root identity (safety rule 7): a folder pair whose two roots are the same folder, or one
//! inside the other, is bad input — whatever the spelling of the paths, the links on the way
//! or the bind mounts that make one folder reachable under two names.
//!
//! Roots are compared by identity: each root resolves to its canonical path (the nearest
//! existing folder's, plus the part not created yet) and the device and inode of every folder
//! on that path. One root is inside the other when a folder on its path *is* the other root.
//! A nested root is accepted only when the other side's scan never reaches it (the filters
//! exclude it or a folder above it, the pair does not include subfolders, or it lies in a
//! subtree the engine never lists).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::path::RelPath;
use crate::vocab::{Entry, EntryKind};

/// A folder's device and inode.
type FolderId = (u64, u64);

/// A root as the file system sees it.
#[derive(Debug)]
struct Resolved {
    /// The path as given (for messages).
    given: PathBuf,
    /// The canonical path: the nearest existing folder resolved, then the missing part.
    canonical: PathBuf,
    /// Device and inode of the root itself, when it exists.
    id: Option<FolderId>,
    /// Device and inode of every existing folder on the canonical path, the deepest first,
    /// each with the components below it that lead to the root.
    ancestors: Vec<(FolderId, Vec<Vec<u8>>)>,
}

impl Resolved {
    fn of(given: &Path) -> Resolved {
        let absolute = if given.is_absolute() {
            given.to_path_buf()
        } else {
            std::env::current_dir()
                .unwrap_or_else(|_| PathBuf::from("/"))
                .join(given)
        };
        // The part that does not exist yet, innermost last.
        let mut missing: Vec<Vec<u8>> = Vec::new();
        // The kernel's reading of `..` first (after a link it is the link target's parent);
        // once a part is missing, no link can give `..` another meaning than the written one.
        let mut existing = absolute.clone();
        let mut as_written = false;
        let canonical_existing = loop {
            match std::fs::canonicalize(&existing) {
                Ok(c) => break c,
                Err(_) if !as_written => {
                    as_written = true;
                    existing = lexical(&absolute);
                }
                Err(_) => match (existing.parent(), existing.file_name()) {
                    (Some(parent), Some(name)) => {
                        missing.insert(0, bytes(name).to_vec());
                        existing = parent.to_path_buf();
                    }
                    _ => break existing.clone(),
                },
            }
        };
        let mut canonical = canonical_existing.clone();
        for part in &missing {
            canonical.push(OsStr::from_bytes(part));
        }
        let id = if missing.is_empty() {
            identity(&canonical_existing)
        } else {
            None
        };
        let mut ancestors = Vec::new();
        let mut below = missing;
        let mut dir = Some(canonical_existing.as_path());
        while let Some(d) = dir {
            if let Some(ident) = identity(d) {
                ancestors.push((ident, below.clone()));
            }
            if let Some(name) = d.file_name() {
                below.insert(0, bytes(name).to_vec());
            }
            dir = d.parent();
        }
        Resolved {
            given: given.to_path_buf(),
            canonical,
            id,
            ancestors,
        }
    }

    /// Where `outer` holds this root: the path below `outer` leading to it (empty when they
    /// are the same folder).
    fn inside(&self, outer: &Resolved) -> Option<Vec<Vec<u8>>> {
        if let Some(outer_id) = outer.id {
            if let Some((_, below)) = self.ancestors.iter().find(|(id, _)| *id == outer_id) {
                return Some(below.clone());
            }
        }
        // A root that does not exist yet has no inode: compare canonical paths.
        self.canonical
            .strip_prefix(&outer.canonical)
            .ok()
            .map(|rest| rest.iter().map(|c| bytes(c).to_vec()).collect())
    }
}

fn bytes(s: &OsStr) -> &[u8] {
    s.as_bytes()
}

/// `path` with `.` and `..` removed as written (only for the part that does not exist, where
/// no link can make `..` mean anything else).
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn identity(path: &Path) -> Option<FolderId> {
    std::fs::metadata(path)
        .ok()
        .filter(|m| m.is_dir())
        .map(|m| (m.dev(), m.ino()))
}

/// What the side holding the other root lists: everything its scan reaches.
pub(super) struct Reach<'a> {
    /// The pair's filters (the same on both sides).
    pub filter: &'a Filter,
    /// Whether the scan descends into subfolders.
    pub recursive: bool,
    /// Subtrees the engine never lists (its own folder, the marker, the versions folder).
    pub skip: &'a [RelPath],
}

impl Reach<'_> {
    /// Whether a scan of the outer root lists anything at or below `below`.
    fn reaches(&self, below: &[Vec<u8>]) -> bool {
        if !self.recursive {
            return false;
        }
        let mut prefix = RelPath::root();
        for part in below {
            prefix = match prefix.join(part) {
                Ok(p) => p,
                Err(_) => return true,
            };
            if self.skip.iter().any(|s| prefix.starts_with(s)) {
                return false;
            }
            let dir = Entry {
                path: prefix.clone(),
                kind: EntryKind::Dir,
                size: 0,
                mtime_ns: 0,
                mode: 0o755,
                owner: None,
                file_id: 0,
            };
            if !self.filter.accepts_dir(&dir) {
                return false;
            }
        }
        true
    }
}

/// Refuses a pair whose roots are the same folder, or one inside the other where the outer
/// side's scan would reach the inner root.
///
/// # Errors
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming both roots.
pub(super) fn check(folder: &str, source: &Path, destination: &Path, reach: &Reach) -> Result<()> {
    let (src, dst) = (Resolved::of(source), Resolved::of(destination));
    let shown = |r: &Resolved| {
        if lexical(&r.given) == r.canonical {
            format!("{}", r.given.display())
        } else {
            format!("{} ({})", r.given.display(), r.canonical.display())
        }
    };
    let same =
        matches!((src.id, dst.id), (Some(a), Some(b)) if a == b) || src.canonical == dst.canonical;
    if same {
        return Err(Error::invalid(format!(
            "folder {folder:?}: the source {} and the destination {} are the same folder",
            shown(&src),
            shown(&dst)
        )));
    }
    let nested = [
        (&dst, &src, "destination", "source"),
        (&src, &dst, "source", "destination"),
    ];
    for (inner, outer, inner_name, outer_name) in nested {
        if let Some(below) = inner.inside(outer) {
            if below.is_empty() {
                return Err(Error::invalid(format!(
                    "folder {folder:?}: the source {} and the destination {} are the same folder",
                    shown(&src),
                    shown(&dst)
                )));
            }
            if reach.reaches(&below) {
                let rel = below
                    .iter()
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                return Err(Error::invalid(format!(
                    "folder {folder:?}: the {inner_name} {} is inside the {outer_name} {}; \
                     exclude {rel:?} with the filters, or pick a {inner_name} outside it",
                    shown(inner),
                    shown(outer)
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::FilterSpec;

    fn everything() -> Filter {
        Filter::everything()
    }

    fn check_with(filter: &Filter, src: &Path, dst: &Path) -> Result<()> {
        let reach = Reach {
            filter,
            recursive: true,
            skip: &[],
        };
        check("f", src, dst, &reach)
    }

    #[test]
    fn the_same_folder_is_refused_however_it_is_spelled() {
        let d = tempfile::tempdir().unwrap();
        let m = d.path().join("m");
        std::fs::create_dir(&m).unwrap();
        std::os::unix::fs::symlink(&m, d.path().join("link")).unwrap();
        let spellings = [
            d.path().join("m/"),
            d.path().join("./m"),
            d.path().join("m/."),
            d.path().join("x/../m"),
            d.path().join("link"),
            d.path().join("link/"),
        ];
        for other in spellings {
            let e = check_with(&everything(), &m, &other).unwrap_err();
            assert!(e.to_string().contains("same folder"), "{other:?}: {e}");
            let e = check_with(&everything(), &other, &m).unwrap_err();
            assert!(e.to_string().contains("same folder"), "{other:?}: {e}");
        }
    }

    #[test]
    fn a_destination_inside_the_source_is_refused_even_before_it_exists() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("src");
        std::fs::create_dir(&src).unwrap();
        for dst in [src.join("backup"), src.join("a/b/backup")] {
            let e = check_with(&everything(), &src, &dst).unwrap_err();
            assert!(e.to_string().contains("is inside the source"), "{e}");
            std::fs::create_dir_all(&dst).unwrap();
            let e = check_with(&everything(), &src, &dst).unwrap_err();
            assert!(e.to_string().contains("is inside the source"), "{e}");
        }
    }

    #[test]
    fn a_source_inside_the_destination_is_refused_through_links() {
        let d = tempfile::tempdir().unwrap();
        let outer = d.path().join("outer");
        std::fs::create_dir_all(outer.join("inner")).unwrap();
        std::os::unix::fs::symlink(outer.join("inner"), d.path().join("alias")).unwrap();
        let e = check_with(&everything(), &d.path().join("alias"), &outer).unwrap_err();
        assert!(e.to_string().contains("source"), "{e}");
        assert!(e.to_string().contains("is inside the destination"), "{e}");
    }

    #[test]
    fn a_nested_root_the_filters_exclude_is_accepted() {
        let d = tempfile::tempdir().unwrap();
        let home = d.path().join("home");
        std::fs::create_dir_all(home.join("backup")).unwrap();
        let spec = FilterSpec {
            exclude_folders: vec!["backup".into()],
            ..FilterSpec::default()
        };
        let filter = Filter::new(&spec, 0).unwrap();
        check_with(&filter, &home, &home.join("backup")).unwrap();
        check_with(&filter, &home.join("backup"), &home).unwrap();
        // Excluding a folder above the nested root is enough too.
        check_with(&filter, &home, &home.join("backup/2026")).unwrap();
        // A filter that does not exclude it does not help.
        let other = FilterSpec {
            exclude_folders: vec!["cache".into()],
            ..FilterSpec::default()
        };
        let filter = Filter::new(&other, 0).unwrap();
        assert!(check_with(&filter, &home, &home.join("backup")).is_err());
    }

    #[test]
    fn a_nested_root_the_scan_never_reaches_is_accepted() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("src");
        std::fs::create_dir(&src).unwrap();
        let filter = everything();
        let flat = Reach {
            filter: &filter,
            recursive: false,
            skip: &[],
        };
        check("f", &src, &src.join("backup"), &flat).unwrap();
        let skip = [RelPath::new(".ferrysync").unwrap()];
        let own = Reach {
            filter: &filter,
            recursive: true,
            skip: &skip,
        };
        check("f", &src, &src.join(".ferrysync/x"), &own).unwrap();
    }

    #[test]
    fn siblings_and_prefixes_of_names_are_not_nested() {
        let d = tempfile::tempdir().unwrap();
        for p in ["a", "ab", "b"] {
            std::fs::create_dir(d.path().join(p)).unwrap();
        }
        check_with(&everything(), &d.path().join("a"), &d.path().join("ab")).unwrap();
        check_with(&everything(), &d.path().join("ab"), &d.path().join("a")).unwrap();
        check_with(&everything(), &d.path().join("a"), &d.path().join("b/new")).unwrap();
    }
}
