//! Walking a replica into a [`Listing`]: in parallel, pruning excluded folders as it goes.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crossbeam_channel::{unbounded, Receiver, Sender};

use crate::engine::RunControl;
use crate::error::{Error, ErrorKind, Result};
use crate::filter::Filter;
use crate::path::RelPath;
use crate::profile::SymlinkMode;
use crate::transport::{is_temp_name, Entry, EntryKind, Transport};

/// How a tree is walked.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Descend into subfolders (a profile folder's "include subfolders").
    pub recursive: bool,
    /// What to do with symbolic links.
    pub symlinks: SymlinkMode,
    /// Subtrees never listed (the versions folder, ferrysync's own state).
    pub skip: Vec<RelPath>,
    /// Parallel readers.
    pub threads: usize,
    /// Stops the walk early (with [`ErrorKind::Cancelled`]) when cancelled.
    pub control: Option<RunControl>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            recursive: true,
            symlinks: SymlinkMode::Skip,
            skip: Vec::new(),
            threads: 4,
            control: None,
        }
    }
}

/// Something the walk could not list, and why. The walk goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanWarning {
    /// The path concerned.
    pub path: RelPath,
    /// What happened.
    pub message: String,
}

/// The entries of one replica, sorted by path (a folder directly followed by its subtree).
#[derive(Debug, Clone, Default)]
pub struct Listing {
    entries: Vec<Entry>,
    warnings: Vec<ScanWarning>,
    unreadable: Vec<RelPath>,
    temporaries: Vec<RelPath>,
}

impl Listing {
    /// A listing of `entries` (sorted here); for tests and other replicas.
    pub fn from_entries(mut entries: Vec<Entry>) -> Listing {
        entries.sort_unstable_by(|a, b| a.path.cmp(&b.path));
        entries.dedup_by(|a, b| a.path == b.path);
        Listing {
            entries,
            ..Listing::default()
        }
    }

    /// The entries, sorted.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry at `path`.
    pub fn get(&self, path: &RelPath) -> Option<&Entry> {
        self.entries
            .binary_search_by(|e| e.path.cmp(path))
            .ok()
            .map(|i| &self.entries[i])
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Files (and links) and their total size.
    pub fn file_totals(&self) -> (u64, u64) {
        self.entries
            .iter()
            .filter(|e| e.kind != EntryKind::Dir)
            .fold((0, 0), |(n, b), e| (n + 1, b + e.size))
    }

    /// What the walk skipped with a warning.
    pub fn warnings(&self) -> &[ScanWarning] {
        &self.warnings
    }

    /// Folders that could not be read: their subtrees are incomplete, so nothing below them
    /// may be deleted on the other side.
    pub fn unreadable(&self) -> &[RelPath] {
        &self.unreadable
    }

    /// Whether `path` lies in a folder that could not be read.
    pub fn is_incomplete_at(&self, path: &RelPath) -> bool {
        self.unreadable.iter().any(|u| path.starts_with(u))
    }

    /// Leftover temporary files of interrupted runs.
    pub fn temporaries(&self) -> &[RelPath] {
        &self.temporaries
    }

    /// Adds an unreadable folder (for tests and other replicas).
    pub fn mark_unreadable(&mut self, path: RelPath) {
        self.unreadable.push(path);
    }
}

struct Walk<'a> {
    transport: &'a dyn Transport,
    filter: &'a Filter,
    opts: &'a ScanOptions,
    pending: AtomicUsize,
    visited_dirs: Mutex<HashSet<u64>>,
}

#[derive(Default)]
struct Found {
    /// The accepted children of each folder read.
    chunks: Vec<(RelPath, Vec<Entry>)>,
    warnings: Vec<ScanWarning>,
    unreadable: Vec<RelPath>,
    temporaries: Vec<RelPath>,
}

/// Walks `transport` from its root into a sorted [`Listing`], applying `filter` while walking
/// (excluded folders are not descended).
///
/// # Errors
/// [`ErrorKind::NotFound`] when the root does not exist, [`ErrorKind::InvalidInput`] when it is
/// not a folder, and any failure reading the root itself. Failures below the root are warnings
/// in the listing.
pub fn scan(transport: &dyn Transport, filter: &Filter, opts: &ScanOptions) -> Result<Listing> {
    let root = RelPath::root();
    match transport.stat_follow(&root)? {
        None => {
            return Err(Error::new(ErrorKind::NotFound, "folder does not exist")
                .with_path(transport.describe()))
        }
        Some(e) if e.kind != EntryKind::Dir => {
            return Err(Error::invalid("not a folder").with_path(transport.describe()))
        }
        Some(_) => {}
    }
    // The root must be readable: an unreadable root is an unavailable folder, not a warning.
    let first = transport.read_dir(&root)?;

    let walk = Walk {
        transport,
        filter,
        opts,
        pending: AtomicUsize::new(0),
        visited_dirs: Mutex::new(HashSet::new()),
    };
    let (tx, rx) = unbounded::<Option<RelPath>>();
    let threads = opts.threads.max(1);
    let mut found = Found::default();
    walk.take_children(root.clone(), first, &tx, &mut found);
    if walk.pending.load(Ordering::SeqCst) == 0 {
        for _ in 0..threads {
            let _ = tx.send(None);
        }
    }
    let results: Vec<Found> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (tx, rx) = (tx.clone(), rx.clone());
                let walk = &walk;
                s.spawn(move || walk.worker(&tx, &rx, threads))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    for mut part in results {
        found.chunks.append(&mut part.chunks);
        found.warnings.append(&mut part.warnings);
        found.unreadable.append(&mut part.unreadable);
        found.temporaries.append(&mut part.temporaries);
    }
    if opts.control.as_ref().is_some_and(RunControl::is_cancelled) {
        return Err(Error::new(ErrorKind::Cancelled, "cancelled while scanning")
            .with_path(transport.describe()));
    }
    let mut entries = depth_first(found.chunks);
    if !filter.include_empty_folders() {
        entries = drop_empty_folders(entries, &found.unreadable);
    }
    found.warnings.sort_by(|a, b| a.path.cmp(&b.path));
    found.unreadable.sort();
    Ok(Listing {
        entries,
        warnings: found.warnings,
        unreadable: found.unreadable,
        temporaries: found.temporaries,
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Walk<'_> {
    fn worker(
        &self,
        tx: &Sender<Option<RelPath>>,
        rx: &Receiver<Option<RelPath>>,
        threads: usize,
    ) -> Found {
        let mut found = Found::default();
        while let Ok(Some(dir)) = rx.recv() {
            let cancelled = self
                .opts
                .control
                .as_ref()
                .is_some_and(RunControl::is_cancelled);
            let listed = if cancelled {
                Ok(Vec::new())
            } else {
                self.transport.read_dir(&dir)
            };
            match listed {
                Ok(children) => self.take_children(dir, children, tx, &mut found),
                Err(e) if e.kind() == ErrorKind::NotFound => found.warnings.push(ScanWarning {
                    path: dir.clone(),
                    message: "folder vanished during the scan".into(),
                }),
                Err(e) => {
                    found.warnings.push(ScanWarning {
                        path: dir.clone(),
                        message: format!("cannot read folder: {}", e.message()),
                    });
                    found.unreadable.push(dir);
                }
            }
            if self.pending.fetch_sub(1, Ordering::SeqCst) == 1 {
                for _ in 0..threads {
                    let _ = tx.send(None);
                }
            }
        }
        found
    }

    fn take_children(
        &self,
        dir: RelPath,
        children: Vec<Entry>,
        tx: &Sender<Option<RelPath>>,
        found: &mut Found,
    ) {
        let mut kept = Vec::with_capacity(children.len());
        let names: Option<HashSet<Vec<u8>>> = self.filter.needs_siblings().then(|| {
            children
                .iter()
                .map(|c| c.path.file_name().to_vec())
                .collect()
        });
        let sibling_exists = |name: &[u8]| names.as_ref().is_some_and(|n| n.contains(name));
        for mut child in children {
            if is_temp_name(child.path.file_name()) {
                if child.kind == EntryKind::File {
                    found.temporaries.push(child.path);
                }
                continue;
            }
            if self.opts.skip.iter().any(|s| child.path.starts_with(s)) {
                continue;
            }
            if child.kind == EntryKind::Symlink {
                match self.opts.symlinks {
                    SymlinkMode::Skip => continue,
                    SymlinkMode::Copy => {}
                    SymlinkMode::Follow => match self.transport.stat_follow(&child.path) {
                        Ok(Some(target)) => child = target,
                        Ok(None) => {
                            found.warnings.push(ScanWarning {
                                path: child.path,
                                message: "broken symbolic link skipped".into(),
                            });
                            continue;
                        }
                        Err(e) => {
                            found.warnings.push(ScanWarning {
                                path: child.path,
                                message: format!("cannot follow symbolic link: {}", e.message()),
                            });
                            continue;
                        }
                    },
                }
            }
            match child.kind {
                EntryKind::Dir => {
                    if !self.opts.recursive || !self.filter.accepts_dir(&child) {
                        continue;
                    }
                    if self.opts.symlinks == SymlinkMode::Follow
                        && child.file_id != 0
                        && !lock(&self.visited_dirs).insert(child.file_id)
                    {
                        found.warnings.push(ScanWarning {
                            path: child.path,
                            message: "folder already visited (symbolic link loop) skipped".into(),
                        });
                        continue;
                    }
                    self.pending.fetch_add(1, Ordering::SeqCst);
                    let _ = tx.send(Some(child.path.clone()));
                    kept.push(child);
                }
                EntryKind::File | EntryKind::Symlink => {
                    if self.filter.accepts_file(&child, &sibling_exists) {
                        kept.push(child);
                    }
                }
                EntryKind::Special => found.warnings.push(ScanWarning {
                    path: child.path,
                    message: "socket, FIFO or device skipped".into(),
                }),
            }
        }
        found.chunks.push((dir, kept));
    }
}

/// Puts the folders' children in listing order without a global sort: depth first, each
/// folder's children by name (names hold no `/`, so byte order is [`RelPath`] order), a folder
/// directly followed by its subtree.
fn depth_first(chunks: Vec<(RelPath, Vec<Entry>)>) -> Vec<Entry> {
    let total = chunks.iter().map(|(_, c)| c.len()).sum();
    let mut by_dir: std::collections::HashMap<RelPath, Vec<Entry>> = chunks.into_iter().collect();
    let mut out = Vec::with_capacity(total);
    let mut stack: Vec<std::vec::IntoIter<Entry>> = Vec::new();
    let mut open = |dir: &RelPath, stack: &mut Vec<std::vec::IntoIter<Entry>>| {
        if let Some(mut children) = by_dir.remove(dir) {
            children.sort_unstable_by(|a, b| a.path.file_name().cmp(b.path.file_name()));
            stack.push(children.into_iter());
        }
    };
    open(&RelPath::root(), &mut stack);
    while let Some(top) = stack.last_mut() {
        match top.next() {
            Some(entry) => {
                let dir = (entry.kind == EntryKind::Dir).then(|| entry.path.clone());
                out.push(entry);
                if let Some(dir) = dir {
                    open(&dir, &mut stack);
                }
            }
            None => {
                stack.pop();
            }
        }
    }
    out
}

/// Drops folders with nothing kept below them. Entries are sorted, so a folder's subtree
/// directly follows it: a folder has content iff the nearest kept entry after it lies below it.
fn drop_empty_folders(entries: Vec<Entry>, unreadable: &[RelPath]) -> Vec<Entry> {
    let mut keep = vec![false; entries.len()];
    let mut next_kept: Option<usize> = None;
    for i in (0..entries.len()).rev() {
        let e = &entries[i];
        keep[i] = e.kind != EntryKind::Dir
            || unreadable.contains(&e.path)
            || next_kept.is_some_and(|j| entries[j].path.starts_with(&e.path));
        if keep[i] {
            next_kept = Some(i);
        }
    }
    entries
        .into_iter()
        .zip(keep)
        .filter_map(|(e, k)| k.then_some(e))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::LocalTransport;
    use std::fs;

    fn names(l: &Listing) -> Vec<String> {
        l.entries()
            .iter()
            .map(|e| e.path.display().into_owned())
            .collect()
    }

    fn tree() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for dir in ["a/b/c", "a/empty", "z"] {
            fs::create_dir_all(d.path().join(dir)).unwrap();
        }
        for f in [
            "a/b/c/f1",
            "a/f2",
            "z/f3",
            "top",
            ".ferry-tmp.00000000000000aa",
        ] {
            fs::write(d.path().join(f), f.as_bytes()).unwrap();
        }
        d
    }

    #[test]
    fn lists_sorted_without_temporaries_and_prunes_empty_folders() {
        let d = tree();
        let no_empty = crate::filter::FilterSpec {
            include_empty_folders: false,
            ..Default::default()
        };
        let l = scan(
            &LocalTransport::new(d.path()),
            &Filter::new(&no_empty, 0).unwrap(),
            &ScanOptions::default(),
        )
        .unwrap();
        assert_eq!(
            names(&l),
            ["a", "a/b", "a/b/c", "a/b/c/f1", "a/f2", "top", "z", "z/f3"]
        );
        assert_eq!(l.temporaries().len(), 1);
        assert_eq!(l.get(&RelPath::new("a/f2").unwrap()).unwrap().size, 4);
    }

    #[test]
    fn keeps_empty_folders_when_asked_and_respects_recursion() {
        let d = tree();
        let t = LocalTransport::new(d.path());
        let l = scan(&t, &Filter::everything(), &ScanOptions::default()).unwrap();
        assert!(names(&l).contains(&"a/empty".to_string()));
        let flat = ScanOptions {
            recursive: false,
            ..ScanOptions::default()
        };
        assert_eq!(
            names(&scan(&t, &Filter::everything(), &flat).unwrap()),
            ["top"]
        );
    }

    #[test]
    fn skip_prunes_a_subtree_and_missing_root_is_not_found() {
        let d = tree();
        let t = LocalTransport::new(d.path());
        let opts = ScanOptions {
            skip: vec![RelPath::new("a/b").unwrap()],
            ..ScanOptions::default()
        };
        assert_eq!(
            names(&scan(&t, &Filter::everything(), &opts).unwrap()),
            ["a", "a/empty", "a/f2", "top", "z", "z/f3"]
        );
        let err = scan(
            &LocalTransport::new(d.path().join("nope")),
            &Filter::everything(),
            &opts,
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
    }

    #[test]
    fn symlinks_skip_copy_follow_with_loop_detection() {
        let d = tree();
        std::os::unix::fs::symlink("a", d.path().join("link")).unwrap();
        std::os::unix::fs::symlink("..", d.path().join("a/up")).unwrap();
        let t = LocalTransport::new(d.path());
        let with = |symlinks| ScanOptions {
            symlinks,
            ..ScanOptions::default()
        };
        assert!(
            !names(&scan(&t, &Filter::everything(), &with(SymlinkMode::Skip)).unwrap())
                .contains(&"link".into())
        );
        let copied = scan(&t, &Filter::everything(), &with(SymlinkMode::Copy)).unwrap();
        assert_eq!(
            copied.get(&RelPath::new("link").unwrap()).unwrap().kind,
            EntryKind::Symlink
        );
        let followed = scan(&t, &Filter::everything(), &with(SymlinkMode::Follow)).unwrap();
        assert_eq!(
            followed.get(&RelPath::new("link").unwrap()).unwrap().kind,
            EntryKind::Dir
        );
        assert!(
            followed
                .warnings()
                .iter()
                .any(|w| w.message.contains("loop")),
            "{:?}",
            followed.warnings()
        );
    }

    #[test]
    fn depth_first_assembly_matches_path_order_on_tricky_names() {
        let d = tempfile::tempdir().unwrap();
        for dir in ["a", "a/b", "a-b", "a.d", "A", "a b", "z/y/x"] {
            fs::create_dir_all(d.path().join(dir)).unwrap();
        }
        for f in [
            "a.txt", "a/b.txt", "a/b/c", "a-b/x", "a.d/y", "A/q", "a b/r", "ab", "z/y/x/w",
        ] {
            fs::write(d.path().join(f), b"x").unwrap();
        }
        use std::os::unix::ffi::OsStrExt;
        fs::write(d.path().join(std::ffi::OsStr::from_bytes(b"a\xff")), b"x").unwrap();
        let l = scan(
            &LocalTransport::new(d.path()),
            &Filter::everything(),
            &ScanOptions::default(),
        )
        .unwrap();
        let mut sorted: Vec<RelPath> = l.entries().iter().map(|e| e.path.clone()).collect();
        sorted.sort();
        let got: Vec<RelPath> = l.entries().iter().map(|e| e.path.clone()).collect();
        assert_eq!(got, sorted);
        assert_eq!(got.len(), 19);
    }
}
