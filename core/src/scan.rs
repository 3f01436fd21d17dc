//! Walking a replica into a [`Listing`]: in parallel, pruning excluded folders as it goes.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crossbeam_channel::{unbounded, Receiver, Sender};

use crate::error::{Error, ErrorKind, Result};
use crate::filter::Filter;
use crate::path::RelPath;
use crate::profile::SymlinkMode;
use crate::transport::{is_temp_name, Transport};
use crate::vocab::{Entry, EntryKind, RunControl};

/// How a tree is walked.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ScanOptions {
    /// Descend into subfolders (a profile folder's "include subfolders").
    pub recursive: bool,
    /// What to do with symbolic links. A walk that must never follow a link (a destination,
    /// safety rule 8) lists them as links ([`SymlinkMode::Copy`]) and leaves the profile's
    /// mode to [`Listing::links_seen_against`].
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
    /// Links listed as links that the filters left out, sorted: where the other side has an
    /// entry at the same path, the planner must see them all the same.
    unlisted_links: Vec<Entry>,
    /// Whether folders with nothing listed below them were left out (the filters' "include
    /// empty folders" off).
    prunes_empty_folders: bool,
    /// The folders so left out, sorted.
    left_out_empty: Vec<RelPath>,
    /// Links the walk followed (their entries are what they lead to), sorted.
    followed: Vec<RelPath>,
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

    /// Whether `path` or anything below it could not be read: its subtree is not all known.
    pub fn is_incomplete_within(&self, path: &RelPath) -> bool {
        self.unreadable
            .iter()
            .any(|u| path.starts_with(u) || u.starts_with(path))
    }

    /// Leftover temporary files of interrupted runs.
    pub fn temporaries(&self) -> &[RelPath] {
        &self.temporaries
    }

    /// Treats the links this (source) listing left out — skipped by the symlink mode, or
    /// excluded by the filters — as subtrees it does not know: the planner neither replaces
    /// nor deletes what the other side holds at their paths ("excluded entries are neither
    /// copied nor deleted").
    pub fn shield_left_out_links(&mut self) {
        let links: Vec<RelPath> = self.unlisted_links.iter().map(|l| l.path.clone()).collect();
        self.unreadable.extend(links);
        self.unreadable.sort();
    }

    /// Whether `path` is a followed link or lies below one: what it holds is reached
    /// through the link, and nothing is ever deleted or written through a link.
    pub fn is_through_link(&self, path: &RelPath) -> bool {
        self.followed.iter().any(|l| path.starts_with(l))
    }

    /// The links the walk followed, sorted.
    pub fn followed_links(&self) -> &[RelPath] {
        &self.followed
    }

    /// Adds an unreadable folder (for tests and other replicas).
    pub fn mark_unreadable(&mut self, path: RelPath) {
        self.unreadable.push(path);
    }

    /// Whether `path` is a folder the walk found but left out because nothing below it is
    /// listed (empty folders are not synchronized): it exists, excluded, not deleted.
    pub fn is_left_out_empty(&self, path: &RelPath) -> bool {
        self.left_out_empty.binary_search(path).is_ok()
    }

    /// Adds a folder left out as empty (for tests).
    #[cfg(test)]
    pub(crate) fn mark_left_out_empty(&mut self, path: RelPath) {
        self.left_out(vec![path]);
    }

    /// Remembers folders left out as empty.
    fn left_out(&mut self, folders: Vec<RelPath>) {
        if folders.is_empty() {
            return;
        }
        self.left_out_empty.extend(folders);
        self.left_out_empty.sort_unstable();
        self.left_out_empty.dedup();
    }

    /// The newest entry of every path across `listings`, oldest first: a versioned backup's
    /// earlier backups as one destination.
    pub(crate) fn latest_of(listings: impl IntoIterator<Item = Listing>) -> Listing {
        let mut latest: BTreeMap<RelPath, (Entry, bool)> = BTreeMap::new();
        let mut prunes_empty_folders = false;
        for listing in listings {
            prunes_empty_folders |= listing.prunes_empty_folders;
            for e in listing.entries {
                latest.insert(e.path.clone(), (e, true));
            }
            for e in listing.unlisted_links {
                latest.insert(e.path.clone(), (e, false));
            }
        }
        let (listed, unlisted): (Vec<_>, Vec<_>) = latest.into_values().partition(|(_, l)| *l);
        Listing {
            entries: listed.into_iter().map(|(e, _)| e).collect(),
            unlisted_links: unlisted.into_iter().map(|(e, _)| e).collect(),
            prunes_empty_folders,
            ..Listing::default()
        }
    }

    /// This listing as the planner sees it against `other`, the other side's listing, when
    /// this side was walked without following links (a destination, or either side of a
    /// two-way pair: safety rule 8) and `mode` is what the profile does with the source's
    /// links:
    /// - a link where `other` has a file or folder is always seen, even when the filters left
    ///   it out: it is a kind change, and a plan replaces the link itself, never writing
    ///   through it;
    /// - with [`SymlinkMode::Skip`] every other link is left out: like an excluded file, it is
    ///   neither copied, nor deleted, nor counted;
    /// - with [`SymlinkMode::Copy`] and [`SymlinkMode::Follow`] the links the filters accept
    ///   stay (a mirror deletes the ones the source lacks, as links), and one they left out is
    ///   seen where `other` has a link too.
    ///
    /// Folders that held nothing but left-out links are left out as well when the listing
    /// leaves out empty folders.
    pub fn links_seen_against(mut self, other: &Listing, mode: SymlinkMode) -> Listing {
        let other_has = |path: &RelPath, links_too: bool| {
            other
                .get(path)
                .is_some_and(|e| links_too || e.kind != EntryKind::Symlink)
        };
        let before = self.entries.len();
        if mode == SymlinkMode::Skip {
            self.entries
                .retain(|e| e.kind != EntryKind::Symlink || other_has(&e.path, false));
        }
        let dropped = self.entries.len() < before;
        let (seen, unlisted): (Vec<Entry>, Vec<Entry>) = std::mem::take(&mut self.unlisted_links)
            .into_iter()
            .partition(|l| other_has(&l.path, mode != SymlinkMode::Skip));
        self.unlisted_links = unlisted;
        if !seen.is_empty() {
            self.entries.extend(seen);
            self.entries.sort_unstable_by(|a, b| a.path.cmp(&b.path));
        }
        if dropped && self.prunes_empty_folders {
            let (kept, left_out) = drop_empty_folders(
                std::mem::take(&mut self.entries),
                &self.unreadable,
                // Only with "include empty folders" off, which keeps no empty folder.
                |_| false,
            );
            self.entries = kept;
            self.left_out(left_out);
        }
        self
    }
}

/// The folders from the root down to a queued folder, by file id: a link that leads back to
/// one of them is a loop. A folder reached another way (a link to a sibling) is not.
struct Ancestors {
    id: u64,
    up: Option<Arc<Ancestors>>,
}

impl Ancestors {
    fn below(up: Option<&Arc<Ancestors>>, id: u64) -> Arc<Ancestors> {
        Arc::new(Ancestors {
            id,
            up: up.cloned(),
        })
    }

    fn contains(&self, id: u64) -> bool {
        let mut at = Some(self);
        while let Some(a) = at {
            if a.id == id {
                return true;
            }
            at = a.up.as_deref();
        }
        false
    }
}

/// A folder waiting to be read, and (when links are followed) the folders above it.
type Queued = (RelPath, Option<Arc<Ancestors>>);

struct Walk<'a> {
    transport: &'a dyn Transport,
    filter: &'a Filter,
    opts: &'a ScanOptions,
    pending: AtomicUsize,
}

#[derive(Default)]
struct Found {
    /// The accepted children of each folder read.
    chunks: Vec<(RelPath, Vec<Entry>)>,
    warnings: Vec<ScanWarning>,
    unreadable: Vec<RelPath>,
    temporaries: Vec<RelPath>,
    unlisted_links: Vec<Entry>,
    followed: Vec<RelPath>,
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
    let root_id = match transport.stat_follow(&root)? {
        None => {
            return Err(Error::new(ErrorKind::NotFound, "folder does not exist")
                .with_path(transport.describe()))
        }
        Some(e) if e.kind != EntryKind::Dir => {
            return Err(Error::invalid("not a folder").with_path(transport.describe()))
        }
        Some(e) => e.file_id,
    };
    // The root must be readable: an unreadable root is an unavailable folder, not a warning.
    let first = transport.read_dir(&root)?;

    let walk = Walk {
        transport,
        filter,
        opts,
        pending: AtomicUsize::new(0),
    };
    let (tx, rx) = unbounded::<Option<Queued>>();
    let threads = opts.threads.max(1);
    let mut found = Found::default();
    let ancestors = walk.chain(None, root_id);
    walk.take_children((root.clone(), ancestors), first, &tx, &mut found);
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
        found.unlisted_links.append(&mut part.unlisted_links);
        found.followed.append(&mut part.followed);
    }
    if opts.control.as_ref().is_some_and(RunControl::is_cancelled) {
        return Err(Error::new(ErrorKind::Cancelled, "cancelled while scanning")
            .with_path(transport.describe()));
    }
    let mut entries = depth_first(found.chunks);
    found.unreadable.sort();
    let prunes_empty_folders = !filter.include_empty_folders();
    let mut left_out_empty = Vec::new();
    if !filter.keeps_every_empty_folder() {
        (entries, left_out_empty) = drop_empty_folders(entries, &found.unreadable, |dir| {
            filter.keeps_empty_folder(dir)
        });
    }
    found.warnings.sort_by(|a, b| a.path.cmp(&b.path));
    found.followed.sort();
    found
        .unlisted_links
        .sort_unstable_by(|a, b| a.path.cmp(&b.path));
    Ok(Listing {
        entries,
        warnings: found.warnings,
        unreadable: found.unreadable,
        temporaries: found.temporaries,
        unlisted_links: found.unlisted_links,
        prunes_empty_folders,
        left_out_empty,
        followed: found.followed,
    })
}

impl Walk<'_> {
    /// The ancestors of the folder `id` below `up`, when links are followed (only a followed
    /// link can lead back up).
    fn chain(&self, up: Option<&Arc<Ancestors>>, id: u64) -> Option<Arc<Ancestors>> {
        (self.opts.symlinks == SymlinkMode::Follow).then(|| Ancestors::below(up, id))
    }

    fn worker(
        &self,
        tx: &Sender<Option<Queued>>,
        rx: &Receiver<Option<Queued>>,
        threads: usize,
    ) -> Found {
        let mut found = Found::default();
        while let Ok(Some((dir, ancestors))) = rx.recv() {
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
            // A folder not read is never a reason to delete its copy: its subtree is unknown.
            match listed {
                Ok(children) => self.take_children((dir, ancestors), children, tx, &mut found),
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    found.warnings.push(ScanWarning {
                        path: dir.clone(),
                        message: "folder vanished during the scan".into(),
                    });
                    found.unreadable.push(dir);
                }
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
        (dir, ancestors): Queued,
        children: Vec<Entry>,
        tx: &Sender<Option<Queued>>,
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
                    // Left out like an excluded entry: the other side's entry at its path is
                    // neither replaced nor deleted.
                    SymlinkMode::Skip => {
                        found.unlisted_links.push(child);
                        continue;
                    }
                    SymlinkMode::Copy => {}
                    SymlinkMode::Follow => match self.transport.stat_follow(&child.path) {
                        Ok(Some(target)) => {
                            found.followed.push(child.path);
                            child = target;
                        }
                        // What the link leads to is gone (an unmounted drive, say): its copy
                        // is kept.
                        Ok(None) => {
                            found.warnings.push(ScanWarning {
                                path: child.path.clone(),
                                message: "broken symbolic link skipped".into(),
                            });
                            found.unreadable.push(child.path);
                            continue;
                        }
                        // What the link leads to is unknown: its copy is kept.
                        Err(e) => {
                            found.warnings.push(ScanWarning {
                                path: child.path.clone(),
                                message: format!("cannot follow symbolic link: {}", e.message()),
                            });
                            found.unreadable.push(child.path);
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
                    if child.file_id != 0
                        && ancestors
                            .as_ref()
                            .is_some_and(|a| a.contains(child.file_id))
                    {
                        // Listing it would never end; its copy is kept.
                        found.warnings.push(ScanWarning {
                            path: child.path.clone(),
                            message: "symbolic link loop (leads to a folder above it) skipped"
                                .into(),
                        });
                        found.unreadable.push(child.path);
                        continue;
                    }
                    self.pending.fetch_add(1, Ordering::SeqCst);
                    let below = self.chain(ancestors.as_ref(), child.file_id);
                    let _ = tx.send(Some((child.path.clone(), below)));
                    kept.push(child);
                }
                EntryKind::File | EntryKind::Symlink => {
                    if self.filter.accepts_file(&child, &sibling_exists) {
                        kept.push(child);
                    } else if child.kind == EntryKind::Symlink {
                        found.unlisted_links.push(child);
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

/// Drops folders with nothing kept below them, except those `keeps` keeps empty; returns the
/// kept entries and the dropped folders (both sorted). Entries are sorted, so a folder's
/// subtree directly follows it: a folder has content iff the nearest kept entry after it lies
/// below it. A folder holding an unreadable path stays (its contents are unknown).
fn drop_empty_folders(
    entries: Vec<Entry>,
    unreadable: &[RelPath],
    keeps: impl Fn(&Entry) -> bool,
) -> (Vec<Entry>, Vec<RelPath>) {
    let mut keep = vec![false; entries.len()];
    let mut next_kept: Option<usize> = None;
    for i in (0..entries.len()).rev() {
        let e = &entries[i];
        keep[i] = e.kind != EntryKind::Dir
            || keeps(e)
            || unreadable.iter().any(|u| u.starts_with(&e.path))
            || next_kept.is_some_and(|j| entries[j].path.starts_with(&e.path));
        if keep[i] {
            next_kept = Some(i);
        }
    }
    let mut dropped = Vec::new();
    let kept = entries
        .into_iter()
        .zip(keep)
        .filter_map(|(e, k)| {
            if !k {
                dropped.push(e.path);
                return None;
            }
            Some(e)
        })
        .collect();
    (kept, dropped)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::transport::LocalTransport;
    use std::fs;

    /// Entries (for the tests of the scan and of both planners) from lines like `d a`, `f a/x 10 100` (size, mtime in seconds), `l a/ln 3 100`,
    /// with an optional file id `#7` and mode `m600`.
    pub(crate) fn entries(spec: &str) -> Vec<Entry> {
        spec.split(',')
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|line| {
                let mut it = line.split_whitespace();
                let kind = match it.next().unwrap() {
                    "d" => EntryKind::Dir,
                    "f" => EntryKind::File,
                    "l" => EntryKind::Symlink,
                    "s" => EntryKind::Special,
                    k => panic!("kind {k}"),
                };
                let path = RelPath::new(it.next().unwrap()).unwrap();
                let mut e = Entry {
                    path,
                    kind,
                    size: 0,
                    mtime_ns: 0,
                    mode: 0o644,
                    owner: None,
                    file_id: 0,
                };
                let mut numbers = Vec::new();
                for field in it {
                    if let Some(id) = field.strip_prefix('#') {
                        e.file_id = id.parse().unwrap();
                    } else if let Some(m) = field.strip_prefix('m') {
                        e.mode = u32::from_str_radix(m, 8).unwrap();
                    } else {
                        numbers.push(field.parse::<i64>().unwrap());
                    }
                }
                e.size = numbers.first().map_or(0, |&n| n as u64);
                e.mtime_ns = numbers.get(1).map_or(0, |&n| n * 1_000_000_000);
                e
            })
            .collect()
    }

    /// A listing from [`entries`] lines.
    pub(crate) fn listing(spec: &str) -> Listing {
        Listing::from_entries(entries(spec))
    }

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
        // A pruned folder is known as left out, not as missing.
        assert!(l.is_left_out_empty(&RelPath::new("a/empty").unwrap()));
        assert!(!l.is_left_out_empty(&RelPath::new("a/gone").unwrap()));
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

    /// Item 13 of issue 10: with `include-folders` and empty folders on, only listed folders,
    /// what lies below them, and the folders leading to them are listed.
    #[test]
    fn include_folders_list_only_listed_folders_and_the_way_to_them() {
        let d = tempfile::tempdir().unwrap();
        for dir in ["Doc/empty", "Other/Sub", "deep/a/Doc", "deep/b", "lone"] {
            fs::create_dir_all(d.path().join(dir)).unwrap();
        }
        for f in ["Doc/x", "Other/y", "deep/a/Doc/z", "deep/b/w", "top"] {
            fs::write(d.path().join(f), f.as_bytes()).unwrap();
        }
        let t = LocalTransport::new(d.path());
        let listed = |spec: &str| {
            let spec: crate::filter::FilterSpec = serde_json::from_str(spec).unwrap();
            names(&scan(&t, &Filter::new(&spec, 0).unwrap(), &ScanOptions::default()).unwrap())
        };
        let expected = [
            "Doc",
            "Doc/empty",
            "Doc/x",
            "deep",
            "deep/a",
            "deep/a/Doc",
            "deep/a/Doc/z",
            "top",
        ];
        assert_eq!(
            listed(r#"{"include-folders": ["Doc"], "include-empty-folders": true}"#),
            expected
        );
        assert_eq!(
            listed(r#"{"include-folders": ["Doc"], "include-empty-folders": false}"#),
            [
                "Doc",
                "Doc/x",
                "deep",
                "deep/a",
                "deep/a/Doc",
                "deep/a/Doc/z",
                "top"
            ]
        );
        assert_eq!(
            listed(r#"{"include-folders": ["deep/a/Doc"]}"#),
            ["deep", "deep/a", "deep/a/Doc", "deep/a/Doc/z", "top"]
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

    /// Following links, as the scan of a source whose profile follows them (its transport
    /// reads through links: [`LocalTransport::following_links`]).
    fn follow() -> ScanOptions {
        ScanOptions {
            symlinks: SymlinkMode::Follow,
            ..ScanOptions::default()
        }
    }

    /// Issue 10 item 4b: a link to a sibling is listed under both names; it is no loop.
    #[test]
    fn a_link_to_a_sibling_folder_is_listed_under_both_names() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("same/deeper")).unwrap();
        fs::write(d.path().join("same/deeper/a.txt"), "a").unwrap();
        std::os::unix::fs::symlink("same", d.path().join("lnk")).unwrap();
        std::os::unix::fs::symlink("../same/deeper", d.path().join("same/again")).unwrap();
        let l = scan(
            &LocalTransport::following_links(d.path()),
            &Filter::everything(),
            &follow(),
        )
        .unwrap();
        assert!(l.warnings().is_empty(), "{:?}", l.warnings());
        assert!(l.unreadable().is_empty());
        assert_eq!(
            names(&l),
            [
                "lnk",
                "lnk/again",
                "lnk/again/a.txt",
                "lnk/deeper",
                "lnk/deeper/a.txt",
                "same",
                "same/again",
                "same/again/a.txt",
                "same/deeper",
                "same/deeper/a.txt"
            ]
        );
    }

    /// Issue 10 item 4b: a link leading to one of its own ancestors is a loop: reported,
    /// skipped, and marked incomplete so that nothing below it is deleted elsewhere.
    #[test]
    fn a_link_to_an_ancestor_is_a_loop_marked_incomplete() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("a")).unwrap();
        fs::write(d.path().join("a/f.txt"), "f").unwrap();
        std::os::unix::fs::symlink("..", d.path().join("a/up")).unwrap();
        std::os::unix::fs::symlink(".", d.path().join("a/self")).unwrap();
        let l = scan(
            &LocalTransport::following_links(d.path()),
            &Filter::everything(),
            &follow(),
        )
        .unwrap();
        assert_eq!(names(&l), ["a", "a/f.txt"]);
        let up = RelPath::new("a/up").unwrap();
        let looped: Vec<&RelPath> = l
            .warnings()
            .iter()
            .filter(|w| w.message.contains("loop"))
            .map(|w| &w.path)
            .collect();
        assert_eq!(looped, [&RelPath::new("a/self").unwrap(), &up]);
        assert!(l.is_incomplete_at(&up.join(b"anything").unwrap()));
        assert!(!l.is_incomplete_at(&RelPath::new("a/f.txt").unwrap()));
    }

    /// A loop closed by a real folder below a followed link (the root reached again through
    /// the link's target) is a loop too.
    #[test]
    fn the_root_reached_again_through_a_link_is_a_loop() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("outer/root");
        fs::create_dir_all(&root).unwrap();
        fs::write(root.join("f.txt"), "f").unwrap();
        std::os::unix::fs::symlink("..", root.join("out")).unwrap();
        let l = scan(
            &LocalTransport::following_links(&root),
            &Filter::everything(),
            &follow(),
        )
        .unwrap();
        assert_eq!(names(&l), ["f.txt", "out"]);
        assert_eq!(l.unreadable(), [RelPath::new("out/root").unwrap()]);
    }

    /// Listing lines as in the planner's tests: `d a`, `f a/x`, `l a/ln`.
    fn listed(spec: &str) -> Listing {
        listing(spec)
    }

    fn seen(dst: Listing, src: &str, mode: SymlinkMode) -> Vec<String> {
        names(&dst.links_seen_against(&listed(src), mode))
    }

    /// Issue 10 items 3 and 4: a destination's links against the source's listing.
    #[test]
    fn destination_links_are_seen_where_the_source_has_an_entry_and_as_the_mode_says() {
        let dst = || listed("l dir 4 1, l f 4 1, l gone 4 1, l both 4 1, f k 1 1");
        let src = "d dir, f dir/in 1 1, f f 1 1, l both 4 1, f k 1 1";
        assert_eq!(seen(dst(), src, SymlinkMode::Skip), ["dir", "f", "k"]);
        for mode in [SymlinkMode::Copy, SymlinkMode::Follow] {
            assert_eq!(
                seen(dst(), src, mode),
                ["both", "dir", "f", "gone", "k"],
                "{mode:?}"
            );
        }
    }

    #[test]
    fn links_the_filters_left_out_are_seen_where_the_other_side_has_an_entry() {
        let mut dst = listed("f k 1 1");
        dst.unlisted_links = entries("l dir 4 1, l docs 4 1, l ln 4 1");
        let src = "d dir, f dir/in.txt 1 1, l ln 4 1, f k 1 1";
        let both = ["dir", "k"];
        assert_eq!(seen(dst.clone(), src, SymlinkMode::Skip), both);
        assert_eq!(
            seen(dst.clone(), src, SymlinkMode::Copy),
            ["dir", "k", "ln"]
        );
        let settled = dst.links_seen_against(&listed(src), SymlinkMode::Follow);
        assert_eq!(names(&settled), ["dir", "k", "ln"]);
        assert_eq!(settled.unlisted_links.len(), 1, "docs stays left out");
    }

    #[test]
    fn folders_holding_only_left_out_links_go_when_empty_folders_do() {
        let mut dst = listed("d x, l x/l 4 1, d y, f y/k 1 1");
        assert_eq!(seen(dst.clone(), "", SymlinkMode::Skip), ["x", "y", "y/k"]);
        dst.prunes_empty_folders = true;
        assert_eq!(seen(dst.clone(), "", SymlinkMode::Skip), ["y", "y/k"]);
        assert_eq!(seen(dst, "", SymlinkMode::Copy), ["x", "x/l", "y", "y/k"]);
    }

    /// A walk listing links as links sets aside the ones the filters leave out, for
    /// [`Listing::links_seen_against`].
    #[test]
    fn links_the_filters_leave_out_are_set_aside() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("elsewhere")).unwrap();
        fs::write(d.path().join("a.txt"), "a").unwrap();
        std::os::unix::fs::symlink("elsewhere", d.path().join("dir")).unwrap();
        std::os::unix::fs::symlink("a.txt", d.path().join("ln.txt")).unwrap();
        let spec = crate::filter::FilterSpec {
            include_files: vec!["*.txt".into()],
            ..Default::default()
        };
        let opts = ScanOptions {
            symlinks: SymlinkMode::Copy,
            ..ScanOptions::default()
        };
        let l = scan(
            &LocalTransport::new(d.path()),
            &Filter::new(&spec, 0).unwrap(),
            &opts,
        )
        .unwrap();
        assert_eq!(names(&l), ["a.txt", "elsewhere", "ln.txt"]);
        let src = listed("d dir, f dir/in.txt 1 1");
        assert_eq!(
            names(&l.links_seen_against(&src, SymlinkMode::Skip)),
            ["a.txt", "dir", "elsewhere"]
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

    /// Trees in memory and faults, as the walk sees them.
    mod over_transports {
        use std::time::Duration;

        use super::*;
        use crate::transport::{Call, Fault, Faulty, Tree, TEMP_PREFIX};

        fn p(s: &str) -> RelPath {
            RelPath::new(s).unwrap()
        }

        fn listing(t: &dyn Transport) -> Listing {
            let opts = ScanOptions {
                symlinks: SymlinkMode::Copy,
                ..ScanOptions::default()
            };
            scan(t, &Filter::everything(), &opts).unwrap()
        }

        /// What a listing says of each entry that two trees built from one description share.
        fn seen(l: &Listing) -> Vec<(RelPath, EntryKind, u64, Option<i64>)> {
            l.entries()
                .iter()
                .map(|e| {
                    let time = (e.kind == EntryKind::File).then_some(e.mtime_ns);
                    (e.path.clone(), e.kind, e.size, time)
                })
                .collect()
        }

        const TREE: &str = "
            a.txt = alpha
            docs/b.txt = beta @1500000000
            docs/deep/c.txt = gamma
            empty/
            link -> docs/b.txt
        ";

        const FAULTY_TREE: &str = "
            a = 1
            sub/b = 2
            sub/deeper/c = 3
            other/d = 4
        ";

        fn listed(t: &dyn Transport) -> Result<Listing> {
            scan(t, &Filter::everything(), &ScanOptions::default())
        }

        #[test]
        fn a_tree_in_memory_scans_as_the_same_tree_on_disk() {
            let dir = tempfile::tempdir().unwrap();
            let tree = Tree::new(&format!("{TREE}\ndocs/{TEMP_PREFIX}left = over"));
            let local = LocalTransport::new(dir.path());
            tree.build_in(&local).unwrap();
            let memory = tree.in_memory("m");
            let (on_disk, in_memory) = (listing(&local), listing(&memory));
            assert_eq!(seen(&in_memory), seen(&on_disk));
            assert_eq!(
                in_memory.temporaries(),
                [p(&format!("docs/{TEMP_PREFIX}left"))]
            );
            assert_eq!(in_memory.temporaries(), on_disk.temporaries());
            // A socket, FIFO or device is reported, never listed.
            memory.add_special(&p("docs/fifo")).unwrap();
            let l = listing(&memory);
            assert_eq!(seen(&l), seen(&on_disk));
            assert_eq!(l.warnings()[0].path, p("docs/fifo"));
        }

        #[test]
        fn a_following_view_in_memory_is_walked_through_its_links() {
            let follow = Tree::new("real/f = inside\nl -> real\nlf -> real/f")
                .in_memory("m")
                .following_links();
            // A following view of a scan follows links as a source set to follow them.
            let opts = ScanOptions {
                symlinks: SymlinkMode::Follow,
                ..ScanOptions::default()
            };
            let l = scan(&follow, &Filter::everything(), &opts).unwrap();
            assert!(l.get(&p("l/f")).is_some(), "{:?}", l.entries());
        }

        #[test]
        fn a_folder_gone_while_walked_is_a_warning_and_an_unreadable_root_an_error() {
            let t = Faulty::new(Tree::new(FAULTY_TREE).in_memory("t")).with(
                Fault::on(Call::ReadDir)
                    .under("other")
                    .fail(ErrorKind::NotFound),
            );
            let l = listed(&t).unwrap();
            assert_eq!(l.warnings()[0].message, "folder vanished during the scan");
            assert!(l.get(&p("sub/deeper/c")).is_some());
            let t = Faulty::new(Tree::new(FAULTY_TREE).in_memory("t"))
                .with(Fault::on(Call::ReadDir).nth(1).reset());
            let e = listed(&t).unwrap_err();
            assert!(e.is_retryable(), "{e}");
            // Slow listings are still complete ones.
            let t = Faulty::new(Tree::new(FAULTY_TREE).in_memory("t"))
                .with(Fault::on(Call::ReadDir).delay(Duration::from_millis(5)));
            assert_eq!(listed(&t).unwrap().len(), 7);
            assert_eq!(t.count(Call::ReadDir), 4);
        }
    }
}
