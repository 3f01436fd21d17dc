//! Earlier versions of replaced and deleted files: keep, list, restore, clean up.
//!
//! Before the engine replaces or deletes a destination file it hands it to
//! [`Versions::preserve`], which moves it into the versions folder and then trims that file's
//! versions to the configured limits. [`Versions::clean`] applies every limit to the whole
//! folder; [`Versions::restore`] and [`Versions::restore_tree_as_of`] bring content back, and
//! keep every file they replace as a version too ([`RestoreOptions`]).
//!
//! # Where versions go
//!
//! [`VersionsOptions::folder`] unset: `.ferrysync/versions` inside the destination
//! ([`DEFAULT_VERSIONS_FOLDER`]). A relative folder lies inside the destination too, and the
//! sync walk skips it ([`Versions::inside_destination`]). An absolute folder is a local folder
//! of its own (unless it lies inside a local destination, which makes it relative again).
//!
//! # Layout
//!
//! The versions folder mirrors the synchronized tree. Each version is a plain file next to
//! the other versions of the same file, named after it with the time it was stored (replaced
//! or deleted) in UTC, to the millisecond, before the extension:
//!
//! ```text
//! <versions>/docs/report (2026-11-22 153012.123).txt    docs/report.txt, stored 15:30:12.123 UTC
//! <versions>/docs/report (2026-11-22 153012.123 #2).txt the next one stored in that millisecond
//! <versions>/Makefile (2026-11-22 153012.123)           no extension: the stamp is appended
//! <versions>/.bashrc (2026-11-22 153012.123)            a leading dot starts no extension
//! <versions>/a.tar (2026-11-22 153012.123).gz           the extension is after the last dot
//! <versions>/v1.0 final (2026-11-22 153012.123)         ...unless it has a space or parenthesis
//! ```
//!
//! An extension is what follows the last dot, when that dot neither starts nor ends the name
//! and what follows has no space or parenthesis.
//!
//! A name is taken only where nothing is, atomically (a rename that never replaces, or a
//! copy under a temporary name renamed so): when another writer took it since the folder was
//! read, the next one (`#2`, `#3`, …) is used. No stored version is ever replaced.
//!
//! The stamp is `YYYY-MM-DD HHMMSS.mmm` in UTC (no zone suffix). Reading a name back takes
//! only the last parenthesized stamp before the extension, and a name is accepted only when
//! writing it again gives exactly the same bytes, so user names that contain parentheses or
//! even stamps of their own (`a (2020-01-01 000000.000).txt`) round-trip, non-UTF-8 names
//! included. Files in the folder that are not named like this are left alone.
//!
//! A version keeps the file's modification time and permissions, so the stored time (in the
//! name) and the content's time (the file's mtime) are both at hand without any index.

mod name;

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Months};

use crate::error::{Error, ErrorKind, Result};
use crate::filter::{Age, AgeUnit};
use crate::location::Location;
use crate::path::RelPath;
use crate::profile::VersionsOptions;
use crate::transport::{
    temp_sibling, Entry, EntryKind, ExactStream, LocalTransports, Role, Source, Transport,
    TransportFactory, TransportRequest, WriteMode,
};

/// The default versions folder, relative to the destination root.
pub const DEFAULT_VERSIONS_FOLDER: &str = ".ferrysync/versions";

/// "Invalid cross-device link" (`EXDEV`, 18 on Linux and macOS): a rename that must be a copy.
const EXDEV: i32 = 18;

/// How many versions of one file may be stored in the same millisecond.
const MAX_SAME_MS: u32 = 10_000;

/// One stored version of a file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Version {
    /// The file's path relative to the synchronized root.
    pub path: RelPath,
    /// When it was replaced or deleted (ns since the epoch).
    pub stored_ns: i64,
    /// Its modification time (ns since the epoch).
    pub mtime_ns: i64,
    /// Its size in bytes.
    pub size: u64,
    /// Where it is, relative to the versions folder.
    pub location: RelPath,
}

/// What [`Versions::restore_tree_as_of`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct RestoreReport {
    /// Files written.
    pub files: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// How [`Versions::restore_tree_as_of`] treats the folder it writes into.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RestoreOptions {
    /// Write into a folder that is not empty, which is otherwise refused. Each file the
    /// restore replaces there is first kept as a version: in the versions folder of the
    /// destination when the folder is the destination or lies inside it, else in the
    /// folder's own [`DEFAULT_VERSIONS_FOLDER`] (`.ferrysync/versions`), which keeps all.
    pub overwrite: bool,
}

impl RestoreOptions {
    /// Options that write into a folder that is not empty when `overwrite` (see
    /// [`RestoreOptions::overwrite`]).
    pub fn overwriting(overwrite: bool) -> RestoreOptions {
        RestoreOptions { overwrite }
    }
}

/// What [`Versions::clean`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct CleanReport {
    /// Versions removed.
    pub removed: u64,
    /// Their total size in bytes.
    pub bytes_freed: u64,
}

/// The versions folder of one destination.
///
/// Cheap to clone; clones share the lock that keeps two threads from picking the same name.
#[derive(Debug, Clone)]
pub struct Versions {
    destination: Arc<dyn Transport>,
    store: Arc<dyn Transport>,
    base: RelPath,
    inside: bool,
    opts: VersionsOptions,
    naming: Arc<Mutex<()>>,
}

/// A version and its place among those stored in the same millisecond.
#[derive(Debug, Clone)]
struct Stored {
    version: Version,
    seq: u32,
}

impl Stored {
    /// Orders versions of one file from oldest to newest.
    fn key(&self) -> (i64, u32) {
        (self.version.stored_ns, self.seq)
    }
}

impl Versions {
    /// The versions folder of `destination` as `opts` configure it. An absolute folder
    /// outside the destination is a local folder ([`LocalTransports`]); an
    /// [`Engine`](crate::Engine) places it with its own factory
    /// ([`Engine::versions`](crate::Engine::versions)).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for a malformed folder: empty,
    /// containing `..`, or the destination root itself.
    pub fn new(destination: Arc<dyn Transport>, opts: &VersionsOptions) -> Result<Versions> {
        Versions::open(destination, opts, |folder| {
            LocalTransports.transport(
                &Location::local(folder),
                &TransportRequest::new(Role::Versions),
            )
        })
    }

    /// As [`Versions::new`], opening a folder outside the destination with `outside`.
    pub(crate) fn open(
        destination: Arc<dyn Transport>,
        opts: &VersionsOptions,
        outside: impl FnOnce(&Path) -> Result<Arc<dyn Transport>>,
    ) -> Result<Versions> {
        let folder = opts.folder.as_deref().unwrap_or(DEFAULT_VERSIONS_FOLDER);
        let invalid = |why: &str| Error::invalid(format!("versions folder {folder:?} {why}"));
        if folder.trim().is_empty() {
            return Err(invalid("is empty"));
        }
        let as_path = Path::new(folder);
        if as_path.components().any(|c| c == Component::ParentDir) {
            return Err(invalid("must not contain \"..\""));
        }
        let mut inside_at = None;
        if as_path.is_absolute() {
            let under_destination = destination
                .local_path(&RelPath::root())
                .and_then(|root| as_path.strip_prefix(root).ok().map(Path::to_path_buf));
            if let Some(rel) = under_destination {
                inside_at = Some(RelPath::new(std::os::unix::ffi::OsStrExt::as_bytes(
                    rel.as_os_str(),
                ))?);
            }
        } else {
            inside_at = Some(RelPath::new(folder).map_err(|e| invalid(e.message()))?);
        }
        let (store, base, inside) = match inside_at {
            Some(base) if base.is_root() => return Err(invalid("is the destination itself")),
            Some(base) => (Arc::clone(&destination), base, true),
            None => (outside(as_path)?, RelPath::root(), false),
        };
        Ok(Versions {
            destination,
            store,
            base,
            inside,
            opts: opts.clone(),
            naming: Arc::new(Mutex::new(())),
        })
    }

    /// The destination whose versions these are.
    pub fn destination(&self) -> &Arc<dyn Transport> {
        &self.destination
    }

    /// The versions folder relative to the destination root, when it lies inside it (the
    /// walk always excludes it).
    pub fn inside_destination(&self) -> Option<&RelPath> {
        self.inside.then_some(&self.base)
    }

    /// Moves the destination file `path` into the versions folder, stamped `now_ns`, then
    /// applies the retention limits to that path's versions.
    ///
    /// The file is renamed when the versions folder is on the same file system, and copied
    /// (keeping its modification time and permissions) then removed otherwise. Retention
    /// keeps the newest `keep` versions (at least this one) and drops those stored before
    /// `max-age`; it is best effort here, since the file has been kept by then: whatever it
    /// leaves, [`Versions::clean`] removes.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when there is no such file,
    /// [`ErrorKind::InvalidInput`] for a folder, link or a
    /// path inside the versions folder, and failures moving the file; the file is then still
    /// in place.
    pub fn preserve(&self, path: &RelPath, now_ns: i64) -> Result<()> {
        self.move_in(&*self.destination, path, now_ns)?;
        let _ = self.trim(path, now_ns);
        Ok(())
    }

    /// The versions of `path` (relative to the synchronized root), newest first.
    ///
    /// # Errors
    /// The versions folder cannot be read.
    pub fn list(&self, path: &RelPath) -> Result<Vec<Version>> {
        Ok(self
            .stored_of(path)?
            .into_iter()
            .map(|s| s.version)
            .collect())
    }

    /// Every stored version, by path, each path's newest first.
    ///
    /// # Errors
    /// The versions folder cannot be read.
    pub fn list_all(&self) -> Result<Vec<Version>> {
        let mut all = Vec::new();
        self.walk(&RelPath::root(), &mut all)?;
        all.sort_by(|a, b| {
            (a.version.path.cmp(&b.version.path)).then_with(|| b.key().cmp(&a.key()))
        });
        Ok(all.into_iter().map(|s| s.version).collect())
    }

    /// Copies `version` back to `to` in `target`, with its modification time. A file that
    /// `target` holds at `to` is first kept as a version, so nothing is lost: in this
    /// versions folder when `target` is the destination or a folder inside it, else in
    /// `target`'s own [`DEFAULT_VERSIONS_FOLDER`] (see [`RestoreOptions::overwrite`]).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when the version is gone,
    /// [`ErrorKind::InvalidInput`] when `to` is a folder or a link, or lies inside the
    /// versions folder, and any failure keeping the current file or writing the version (the
    /// current file is then either in place or kept as a version).
    pub fn restore(&self, version: &Version, target: &dyn Transport, to: &RelPath) -> Result<()> {
        self.restore_at(version, target, to, now_ns())
    }

    fn restore_at(
        &self,
        version: &Version,
        target: &dyn Transport,
        to: &RelPath,
        now_ns: i64,
    ) -> Result<()> {
        let source = self.at(&version.location);
        let entry = self
            .store
            .stat(&source)?
            .filter(|e| e.kind == EntryKind::File)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!("version {} of {} is gone", version.location, version.path),
                )
                .with_path(self.shown(&source))
            })?;
        let shelf = self.shelf_for(target)?;
        shelf.check(to)?;
        let displaced = shelf.keep_replaced(target, to, now_ns)?;
        if let Some(parent) = to.parent() {
            target.create_dir_all(&parent)?;
        }
        copy(&*self.store, &source, target, to, &entry)?;
        if let Some(kept) = displaced {
            shelf.trim(&kept, now_ns);
        }
        Ok(())
    }

    /// Writes into `into` the tree as it was at `at_ns`: for each path, the version with the
    /// smallest stored time after `at_ns` whose modification time is not after `at_ns` (a
    /// version stored at `t` held the content current until `t`); failing that, the file in
    /// `live` (the destination) if its modification time is not after `at_ns`. Paths with
    /// neither are not written, and neither is the versions folder.
    ///
    /// `into` is created when missing. A folder that holds anything (even only an empty
    /// folder) is refused unless `opts` say [`overwrite`](RestoreOptions::overwrite); then
    /// every file the restore replaces is first kept as a version, so nothing is lost.
    /// `into` may be the destination itself (`live`): that rolls it back in place, keeping
    /// the files it replaces in its versions folder. Files the restore does not write are
    /// left alone.
    ///
    /// Stored times have millisecond resolution.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for an `into` that is not empty (without `overwrite`) or
    /// lies inside the versions folder; any failure reading the versions or `live`, or
    /// writing into `into`.
    pub fn restore_tree_as_of(
        &self,
        at_ns: i64,
        live: &dyn Transport,
        into: &dyn Transport,
        opts: &RestoreOptions,
    ) -> Result<RestoreReport> {
        let into_root = RelPath::root();
        if !opts.overwrite && !read_dir_or_empty(into, &into_root)?.is_empty() {
            return Err(Error::invalid(
                "not empty: restore into an empty folder, or overwrite (each file replaced is then kept as a version)",
            )
            .with_path(shown(into, &into_root)));
        }
        let shelf = self.shelf_for(into)?;
        into.create_dir_all(&into_root)?;
        let now_ns = now_ns();
        let mut all = Vec::new();
        self.walk(&RelPath::root(), &mut all)?;
        let mut best: BTreeMap<RelPath, Stored> = BTreeMap::new();
        for s in all {
            let v = &s.version;
            if v.stored_ns <= at_ns || v.mtime_ns > at_ns {
                continue;
            }
            match best.get(&v.path) {
                Some(held) if held.key() <= s.key() => {}
                _ => {
                    best.insert(v.path.clone(), s);
                }
            }
        }
        let mut report = RestoreReport::default();
        let mut replaced = Vec::new();
        let mut write =
            |from: &dyn Transport, from_path: &RelPath, to: &RelPath, e: &Entry| -> Result<()> {
                shelf.check(to)?;
                replaced.extend(shelf.keep_replaced(into, to, now_ns)?);
                if let Some(parent) = to.parent() {
                    into.create_dir_all(&parent)?;
                }
                report.bytes += copy(from, from_path, into, to, e)?;
                report.files += 1;
                Ok(())
            };
        for (path, s) in &best {
            let source = self.at(&s.version.location);
            // The version may have been removed since the walk: then it is not there to use.
            if let Some(entry) = self.store.stat(&source)? {
                write(&*self.store, &source, path, &entry)?;
            }
        }
        let live_is_destination = self.is_destination(live);
        // Neither the versions folder nor, when `into` lies inside the destination, `into`
        // itself (what is written there would be walked and written again, deeper).
        let skip: Vec<&RelPath> = [self.inside_destination(), Some(&shelf.prefix)]
            .into_iter()
            .flatten()
            .filter(|s| live_is_destination && !s.is_root())
            .collect();
        // Rolling the destination back in place: its files as they are need no copy.
        let in_place = live_is_destination && shelf.in_place;
        let mut pending = vec![RelPath::root()];
        while let Some(dir) = pending.pop() {
            for entry in read_dir_or_empty(live, &dir)? {
                if skip.iter().any(|s| entry.path.starts_with(s)) {
                    continue;
                }
                match entry.kind {
                    EntryKind::Dir => pending.push(entry.path.clone()),
                    EntryKind::File
                        if !in_place
                            && entry.mtime_ns <= at_ns
                            && !best.contains_key(&entry.path) =>
                    {
                        write(live, &entry.path, &entry.path, &entry)?;
                    }
                    _ => {}
                }
            }
        }
        for kept in &replaced {
            shelf.trim(kept, now_ns);
        }
        Ok(report)
    }

    /// Applies every limit to the whole versions folder: `keep` and `max-age` per file, then
    /// `max-total-size` over all versions (oldest removed first); then removes the folders
    /// this left empty. Files not named like versions are neither counted nor removed.
    ///
    /// # Errors
    /// Any failure reading the versions folder or removing a version.
    pub fn clean(&self, now_ns: i64) -> Result<CleanReport> {
        let mut all = Vec::new();
        self.walk(&RelPath::root(), &mut all)?;
        let mut by_path: BTreeMap<RelPath, Vec<Stored>> = BTreeMap::new();
        for s in all {
            by_path.entry(s.version.path.clone()).or_default().push(s);
        }
        let mut kept = Vec::new();
        let mut dropped = Vec::new();
        for (_, list) in by_path {
            let (k, d) = self.retention(list, now_ns);
            kept.extend(k);
            dropped.extend(d);
        }
        if let Some(limit) = self.opts.max_total_size {
            kept.sort_by_key(|s| std::cmp::Reverse(s.key()));
            let mut total: u64 = kept.iter().map(|s| s.version.size).sum();
            while total > limit.0 {
                let Some(oldest) = kept.pop() else { break };
                total -= oldest.version.size;
                dropped.push(oldest);
            }
        }
        let mut report = CleanReport::default();
        for s in &dropped {
            if self.remove(s)? {
                report.removed += 1;
                report.bytes_freed += s.version.size;
            }
        }
        self.prune(&RelPath::root())?;
        Ok(report)
    }

    /// `loc` (relative to the versions folder) in the store's coordinates.
    fn at(&self, loc: &RelPath) -> RelPath {
        concat(&self.base, loc)
    }

    /// A path of the store for messages.
    fn shown(&self, path: &RelPath) -> PathBuf {
        shown(&*self.store, path)
    }

    fn is_destination(&self, t: &dyn Transport) -> bool {
        same_tree(t, &*self.destination)
    }

    /// Moves the file `path` of `from` into the versions folder as a version of `path`.
    fn move_in(&self, from: &dyn Transport, path: &RelPath, now_ns: i64) -> Result<Version> {
        if self.inside && path.starts_with(&self.base) && self.is_destination(from) {
            return Err(Error::invalid(format!(
                "{path}: lies inside the versions folder"
            )));
        }
        self.shelf().keep(from, path, path, now_ns)
    }

    /// This versions folder as a place to keep files.
    fn shelf(&self) -> Shelf<'_> {
        Shelf {
            store: &*self.store,
            base: self.base.clone(),
            naming: Some(&self.naming),
            versions: Some(self),
            prefix: RelPath::root(),
            in_place: true,
            inside: self.inside,
        }
    }

    /// Where a restore into `target` keeps the files it replaces: this versions folder when
    /// `target` is the destination or a folder inside it (a file `p` of `target` is then a
    /// version of the destination's `prefix/p`), else `target`'s own default versions folder.
    ///
    /// Trees are compared by their resolved local paths.
    fn shelf_for<'a>(&'a self, target: &'a dyn Transport) -> Result<Shelf<'a>> {
        let (Some(at), Some(destination)) = (resolved(target), resolved(&*self.destination)) else {
            return Ok(if self.is_destination(target) {
                self.shelf()
            } else {
                Shelf::own(target)
            });
        };
        if let Some(store) = resolved(&*self.store) {
            let store = store.join(self.base.to_path(Path::new("")));
            if at.starts_with(&store) {
                return Err(Error::invalid("lies inside the versions folder")
                    .with_path(shown(target, &RelPath::root())));
            }
        }
        let Ok(rel) = at.strip_prefix(&destination) else {
            return Ok(Shelf::own(target));
        };
        let prefix = RelPath::new(std::os::unix::ffi::OsStrExt::as_bytes(rel.as_os_str()))?;
        Ok(Shelf {
            in_place: prefix.is_root(),
            prefix,
            ..self.shelf()
        })
    }

    /// Applies `keep` and `max-age` to the versions of `path`.
    fn trim(&self, path: &RelPath, now_ns: i64) -> Result<()> {
        let (_, dropped) = self.retention(self.stored_of(path)?, now_ns);
        for s in &dropped {
            self.remove(s)?;
        }
        Ok(())
    }

    /// Splits one file's versions into those to keep (newest first) and those to drop.
    fn retention(&self, mut list: Vec<Stored>, now_ns: i64) -> (Vec<Stored>, Vec<Stored>) {
        list.sort_by_key(|s| std::cmp::Reverse(s.key()));
        let keep = self.opts.keep.max(1) as usize;
        let cutoff = self.opts.max_age.map(|age| age_cutoff_ns(age, now_ns));
        let (mut kept, mut dropped) = (Vec::new(), Vec::new());
        for (i, s) in list.into_iter().enumerate() {
            if i >= keep || cutoff.is_some_and(|c| s.version.stored_ns < c) {
                dropped.push(s);
            } else {
                kept.push(s);
            }
        }
        (kept, dropped)
    }

    /// Removes a stored version; `false` when it was already gone.
    fn remove(&self, s: &Stored) -> Result<bool> {
        match self.store.remove_file(&self.at(&s.version.location)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The versions of `path`, newest first.
    fn stored_of(&self, path: &RelPath) -> Result<Vec<Stored>> {
        let dir = path.parent().unwrap_or_default();
        let mut out: Vec<Stored> = read_dir_or_empty(&*self.store, &self.at(&dir))?
            .into_iter()
            .filter_map(|e| stored(&dir, &e))
            .filter(|s| s.version.path == *path)
            .collect();
        out.sort_by_key(|s| std::cmp::Reverse(s.key()));
        Ok(out)
    }

    /// Collects the versions under `dir` (relative to the versions folder).
    fn walk(&self, dir: &RelPath, out: &mut Vec<Stored>) -> Result<()> {
        for entry in read_dir_or_empty(&*self.store, &self.at(dir))? {
            match entry.kind {
                EntryKind::Dir => self.walk(&dir.join(entry.path.file_name())?, out)?,
                _ => out.extend(stored(dir, &entry)),
            }
        }
        Ok(())
    }

    /// Removes the empty folders below `dir` (relative to the versions folder), and `dir`
    /// itself unless it is the versions folder; whether `dir` is gone.
    fn prune(&self, dir: &RelPath) -> Result<bool> {
        let mut left = false;
        for entry in read_dir_or_empty(&*self.store, &self.at(dir))? {
            let gone =
                entry.kind == EntryKind::Dir && self.prune(&dir.join(entry.path.file_name())?)?;
            left |= !gone;
        }
        if left || dir.is_root() {
            return Ok(false);
        }
        match self.store.remove_dir(&self.at(dir)) {
            Ok(()) => Ok(true),
            // Something appeared, or a temporary (which listings hide) is still there.
            Err(e) if e.kind() == ErrorKind::Io && e.message().contains("not empty") => Ok(false),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(true),
            Err(e) => Err(e),
        }
    }
}

/// A versions folder as a place to keep files: the `base` folder of `store`.
struct Shelf<'a> {
    store: &'a dyn Transport,
    base: RelPath,
    /// Serializes the picking of names among the clones of one [`Versions`].
    naming: Option<&'a Mutex<()>>,
    /// The versions folder this is, whose retention limits apply (none for a restore
    /// target's own folder, which keeps everything).
    versions: Option<&'a Versions>,
    /// A file `p` of the tree being written is kept as a version of `prefix/p`.
    prefix: RelPath,
    /// Whether the tree being written is the one the versions are of (not a folder in it).
    in_place: bool,
    /// Whether the versions folder lies inside the tree being written (at `prefix/..`).
    inside: bool,
}

impl<'a> Shelf<'a> {
    /// `target`'s own default versions folder, which keeps every file.
    fn own(target: &'a dyn Transport) -> Shelf<'a> {
        Shelf {
            store: target,
            base: RelPath::new(DEFAULT_VERSIONS_FOLDER).expect("a valid relative path"),
            naming: None,
            versions: None,
            prefix: RelPath::root(),
            in_place: false,
            inside: true,
        }
    }

    /// Refuses to write `to` (in the tree being written) when it lies in the versions folder.
    fn check(&self, to: &RelPath) -> Result<()> {
        if to.is_root() {
            return Err(Error::invalid(
                "cannot restore a version onto the root folder",
            ));
        }
        if self.inside && concat(&self.prefix, to).starts_with(&self.base) {
            return Err(Error::invalid(format!(
                "{to}: lies inside the versions folder"
            )));
        }
        Ok(())
    }

    /// Keeps the file `target` holds at `to`, if any, as a version before a restore writes
    /// there; the path it is a version of.
    fn keep_replaced(
        &self,
        target: &dyn Transport,
        to: &RelPath,
        now_ns: i64,
    ) -> Result<Option<RelPath>> {
        match target.stat(to)? {
            None => Ok(None),
            Some(current) if current.kind == EntryKind::File => {
                let name_as = concat(&self.prefix, to);
                self.keep(target, to, &name_as, now_ns)?;
                Ok(Some(name_as))
            }
            Some(_) => Err(Error::invalid(format!(
                "{to}: cannot restore over something that is not a file"
            ))
            .with_path(shown(target, to))),
        }
    }

    /// Applies the retention limits to the versions of `path`, when this folder has any.
    /// Best effort: the file has been kept by then, and [`Versions::clean`] removes whatever
    /// this leaves.
    fn trim(&self, path: &RelPath, now_ns: i64) {
        if let Some(v) = self.versions {
            let _ = v.trim(path, now_ns);
        }
    }

    /// Moves the file `from_path` of `from` here as a version of `name_as`, stamped `now_ns`,
    /// under the first free name: a name is taken only if nothing is there, atomically, so
    /// no stored version is ever replaced, whoever else stores versions at the same time.
    fn keep(
        &self,
        from: &dyn Transport,
        from_path: &RelPath,
        name_as: &RelPath,
        now_ns: i64,
    ) -> Result<Version> {
        if name_as.is_root() {
            return Err(Error::invalid(
                "the root is not a file to keep as a version",
            ));
        }
        let entry = from.stat(from_path)?.ok_or_else(|| {
            Error::new(ErrorKind::NotFound, "no file to keep as a version")
                .with_path(shown(from, from_path))
        })?;
        if entry.kind != EntryKind::File {
            return Err(Error::invalid(format!(
                "{from_path}: only files are kept as versions"
            )));
        }
        let dir = name_as.parent().unwrap_or_default();
        let _naming = self
            .naming
            .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()));
        self.store.create_dir_all(&concat(&self.base, &dir))?;
        // A copy made into the folder under a temporary name, when the file cannot be moved.
        let mut staged = None;
        let mut placed = Err(Error::new(
            ErrorKind::AlreadyExists,
            "too many versions stored in the same millisecond",
        )
        .with_path(shown(from, from_path)));
        for seq in 1..=MAX_SAME_MS {
            let location = dir.join(&name::format(name_as.file_name(), now_ns, seq))?;
            let to = concat(&self.base, &location);
            if self.store.stat(&to)?.is_some() {
                continue;
            }
            match self.place(from, from_path, &to, &entry, &mut staged) {
                Ok(()) => {
                    placed = Ok(location);
                    break;
                }
                // Taken since the look: the next name.
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => {
                    placed = Err(e);
                    break;
                }
            }
        }
        if let Some(temp) = staged {
            let _ = self.store.remove_file(&temp);
        }
        Ok(Version {
            path: name_as.clone(),
            stored_ns: name::truncate_ms(now_ns),
            mtime_ns: entry.mtime_ns,
            size: entry.size,
            location: placed?,
        })
    }

    /// Moves `from_path` of `from` to the free name `to` of the store, never replacing
    /// anything there ([`ErrorKind::AlreadyExists`] when `to` was taken meanwhile): a rename
    /// when both are one file system; otherwise a copy to a temporary name (`staged`, made
    /// once and renamed to each name tried), then the removal of the original.
    fn place(
        &self,
        from: &dyn Transport,
        from_path: &RelPath,
        to: &RelPath,
        entry: &Entry,
        staged: &mut Option<RelPath>,
    ) -> Result<()> {
        if staged.is_none() {
            if same_tree(from, self.store) {
                match self.store.rename_no_replace(from_path, to) {
                    Err(e) if is_cross_device(&e) => {}
                    done => return done,
                }
            } else if let (Some(a), Some(b)) = (from.as_local(), self.store.as_local()) {
                // Two local trees may still share a file system; if not (or if anything else
                // stands in the way), copying says why.
                match a.rename_to_no_replace(from_path, b, to) {
                    Ok(()) => return Ok(()),
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => return Err(e),
                    Err(_) => {}
                }
            }
            let temp = temp_sibling(to);
            copy(from, from_path, self.store, &temp, entry)?;
            *staged = Some(temp);
        }
        if let Some(temp) = staged.as_ref() {
            self.store.rename_no_replace(temp, to)?;
            *staged = None;
        }
        if let Err(e) = from.remove_file(from_path) {
            let _ = self.store.remove_file(to);
            return Err(e);
        }
        Ok(())
    }
}

/// The local folder `t` is rooted at, links and `..` resolved (as far as it exists, the rest
/// appended); `None` for a tree that is not local.
fn resolved(t: &dyn Transport) -> Option<PathBuf> {
    let path = t.local_path(&RelPath::root())?;
    let path = if path.is_absolute() {
        path
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    let mut missing = Vec::new();
    let mut at = path.as_path();
    loop {
        if let Ok(real) = at.canonicalize() {
            return Some(missing.iter().rev().fold(real, |p, c| p.join(c)));
        }
        missing.push(at.file_name()?.to_owned());
        at = at.parent()?;
    }
}

/// A path of `t` for messages.
fn shown(t: &dyn Transport, path: &RelPath) -> PathBuf {
    t.local_path(path)
        .unwrap_or_else(|| path.to_path(Path::new(&t.describe())))
}

/// The version that `entry` (listed in `dir`, relative to the versions folder) is, if any.
fn stored(dir: &RelPath, entry: &Entry) -> Option<Stored> {
    if entry.kind != EntryKind::File {
        return None;
    }
    let parsed = name::parse(entry.path.file_name())?;
    Some(Stored {
        version: Version {
            path: dir.join(&parsed.original).ok()?,
            stored_ns: parsed.stored_ns,
            mtime_ns: entry.mtime_ns,
            size: entry.size,
            location: dir.join(entry.path.file_name()).ok()?,
        },
        seq: parsed.seq,
    })
}

/// `a/b`.
fn concat(a: &RelPath, b: &RelPath) -> RelPath {
    b.components().fold(a.clone(), |out, c| {
        out.join(c)
            .expect("the components of a RelPath are valid names")
    })
}

/// Whether two transports are the same tree (so a path means the same file in both).
fn same_tree(a: &dyn Transport, b: &dyn Transport) -> bool {
    std::ptr::addr_eq(a as *const dyn Transport, b as *const dyn Transport)
        || a.local_path(&RelPath::root())
            .is_some_and(|root| b.local_path(&RelPath::root()) == Some(root))
}

fn is_cross_device(err: &Error) -> bool {
    std::error::Error::source(err)
        .and_then(|s| s.downcast_ref::<io::Error>())
        .is_some_and(|e| e.raw_os_error() == Some(EXDEV))
}

/// The children of `dir`, none when it does not exist.
fn read_dir_or_empty(t: &dyn Transport, dir: &RelPath) -> Result<Vec<Entry>> {
    match t.read_dir(dir) {
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(Vec::new()),
        other => other,
    }
}

/// Copies the file `entry` between trees (atomically, with its metadata); the bytes
/// written. A stream that does not give the entry's size fails the copy, which then leaves
/// nothing at `to_path`.
fn copy(
    from: &dyn Transport,
    from_path: &RelPath,
    to: &dyn Transport,
    to_path: &RelPath,
    entry: &Entry,
) -> Result<u64> {
    let meta = &entry.meta();
    match from.open_local(from_path)? {
        Some(file) => {
            let source = Source::of_file(&file).map_err(|e| {
                let shown = from
                    .local_path(from_path)
                    .unwrap_or_else(|| from_path.as_os_str().into());
                Error::io(shown, e)
            })?;
            to.write(to_path, source, meta, WriteMode::Atomic)
        }
        None => {
            let mut input = ExactStream::new(from.open(from_path)?, entry.size);
            to.write(to_path, Source::Stream(&mut input), meta, WriteMode::Atomic)
        }
    }
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// The instant `age` before `now_ns`; months and years are calendar months and years
/// (31 March minus one month is 28 or 29 February).
pub(crate) fn age_cutoff_ns(age: Age, now_ns: i64) -> i64 {
    const MINUTE: i64 = 60_000_000_000;
    let span = |unit: i64| now_ns.saturating_sub(i64::from(age.amount).saturating_mul(unit));
    let months = |n: u32| {
        DateTime::from_timestamp_nanos(now_ns)
            .checked_sub_months(Months::new(n))
            .and_then(|t| t.timestamp_nanos_opt())
            .unwrap_or(i64::MIN)
    };
    match age.unit {
        AgeUnit::Minutes => span(MINUTE),
        AgeUnit::Hours => span(60 * MINUTE),
        AgeUnit::Days => span(24 * 60 * MINUTE),
        AgeUnit::Weeks => span(7 * 24 * 60 * MINUTE),
        AgeUnit::Months => months(age.amount),
        AgeUnit::Years => months(age.amount.saturating_mul(12)),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::fs;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    use super::*;
    use crate::filter::ByteSize;
    use crate::transport::{Capabilities, LocalTransport, Meta};

    const S: i64 = 1_000_000_000;
    const DAY: i64 = 86_400 * S;
    /// 2026-01-01 00:00:00 UTC
    const T0: i64 = 1_767_225_600 * S;

    fn p(s: &str) -> RelPath {
        RelPath::new(s).unwrap()
    }

    fn local(dir: &tempfile::TempDir) -> Arc<LocalTransport> {
        Arc::new(LocalTransport::new(dir.path()))
    }

    fn opts(keep: u32) -> VersionsOptions {
        VersionsOptions {
            keep,
            ..VersionsOptions::default()
        }
    }

    fn put(t: &dyn Transport, path: &RelPath, data: &[u8], mtime_ns: i64) {
        if let Some(parent) = path.parent() {
            t.create_dir_all(&parent).unwrap();
        }
        let meta = Meta {
            mtime_ns,
            mode: Some(0o644),
            owner: None,
        };
        let mut data = data;
        t.write(path, Source::Stream(&mut data), &meta, WriteMode::Direct)
            .unwrap();
    }

    fn content(v: &Versions, version: &Version) -> Vec<u8> {
        v.store.read_to_vec(&v.at(&version.location)).unwrap()
    }

    fn locations(list: &[Version]) -> Vec<String> {
        list.iter().map(|v| v.location.to_string()).collect()
    }

    /// Every file below `root`: path → (contents, mtime).
    fn snapshot(root: &Path) -> BTreeMap<String, (Vec<u8>, i64)> {
        let mut out = BTreeMap::new();
        let mut pending = vec![root.to_path_buf()];
        while let Some(dir) = pending.pop() {
            for e in fs::read_dir(&dir).unwrap() {
                let e = e.unwrap();
                let md = e.metadata().unwrap();
                if md.is_dir() {
                    pending.push(e.path());
                } else {
                    let rel = e.path().strip_prefix(root).unwrap().display().to_string();
                    let mtime = md.mtime() * S + md.mtime_nsec();
                    out.insert(rel, (fs::read(e.path()).unwrap(), mtime));
                }
            }
        }
        out
    }

    #[test]
    fn preserve_refuses_what_it_cannot_keep() {
        let dir = tempfile::tempdir().unwrap();
        let dest = local(&dir);
        let v = Versions::new(dest.clone(), &opts(5)).unwrap();
        let err = v.preserve(&p("missing.txt"), T0).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(err.path(), Some(&*dir.path().join("missing.txt")));

        dest.create_dir_all(&p("folder")).unwrap();
        let err = v.preserve(&p("folder"), T0).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);

        let inner = p(".ferrysync/versions/x.txt");
        put(&*dest, &inner, b"x", T0);
        let err = v.preserve(&inner, T0).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(dest.stat(&inner).unwrap().is_some());
    }

    #[test]
    fn keep_n_drops_the_oldest() {
        let dir = tempfile::tempdir().unwrap();
        let dest = local(&dir);
        let v = Versions::new(dest.clone(), &opts(3)).unwrap();
        let file = p("a.txt");
        for i in 0..5 {
            put(&*dest, &file, format!("v{i}").as_bytes(), T0 + i * S);
            v.preserve(&file, T0 + i * DAY).unwrap();
        }
        let list = v.list(&file).unwrap();
        let contents: Vec<_> = list.iter().map(|x| content(&v, x)).collect();
        assert_eq!(contents, [&b"v4"[..], b"v3", b"v2"]);
        assert_eq!(
            fs::read_dir(dir.path().join(DEFAULT_VERSIONS_FOLDER))
                .unwrap()
                .count(),
            3
        );
    }

    #[test]
    fn max_age_drops_versions_stored_too_long_ago() {
        let dir = tempfile::tempdir().unwrap();
        let dest = local(&dir);
        let o = VersionsOptions {
            max_age: Some(Age {
                amount: 2,
                unit: AgeUnit::Days,
            }),
            ..opts(10)
        };
        let v = Versions::new(dest.clone(), &o).unwrap();
        let file = p("a.txt");
        for day in [0, 1, 3] {
            put(&*dest, &file, b"x", T0);
            v.preserve(&file, T0 + day * DAY).unwrap();
        }
        let stored: Vec<_> = v.list(&file).unwrap().iter().map(|x| x.stored_ns).collect();
        // Stored exactly max-age ago is still kept.
        assert_eq!(stored, [T0 + 3 * DAY, T0 + DAY]);
    }

    #[test]
    fn age_cutoff_counts_calendar_months_and_years() {
        let at = |y, m, d| {
            chrono::NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_hms_opt(12, 0, 0)
                .unwrap()
                .and_utc()
                .timestamp_nanos_opt()
                .unwrap()
        };
        let age = |amount, unit| Age { amount, unit };
        let now = at(2024, 3, 31);
        assert_eq!(age_cutoff_ns(age(1, AgeUnit::Months), now), at(2024, 2, 29));
        assert_eq!(
            age_cutoff_ns(age(13, AgeUnit::Months), now),
            at(2023, 2, 28)
        );
        assert_eq!(
            age_cutoff_ns(age(1, AgeUnit::Years), at(2024, 2, 29)),
            at(2023, 2, 28)
        );
        assert_eq!(age_cutoff_ns(age(2, AgeUnit::Weeks), now), at(2024, 3, 17));
        assert_eq!(age_cutoff_ns(age(3, AgeUnit::Days), now), at(2024, 3, 28));
        assert_eq!(
            age_cutoff_ns(age(90, AgeUnit::Minutes), now),
            now - 90 * 60 * S
        );
        assert_eq!(
            age_cutoff_ns(age(5, AgeUnit::Hours), now),
            now - 5 * 3600 * S
        );
        assert_eq!(age_cutoff_ns(age(u32::MAX, AgeUnit::Years), now), i64::MIN);
    }

    #[test]
    fn clean_applies_max_total_size_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let dest = local(&dir);
        let o = VersionsOptions {
            max_total_size: Some(ByteSize(25)),
            ..opts(10)
        };
        let v = Versions::new(dest.clone(), &o).unwrap();
        for (path, day) in [("a.txt", 1), ("b/c.txt", 2), ("a.txt", 3)] {
            put(&*dest, &p(path), b"0123456789", T0);
            v.preserve(&p(path), T0 + day * DAY).unwrap();
        }
        // preserve leaves the total size to clean.
        assert_eq!(v.list_all().unwrap().len(), 3);
        let report = v.clean(T0 + 4 * DAY).unwrap();
        assert_eq!(
            report,
            CleanReport {
                removed: 1,
                bytes_freed: 10
            }
        );
        let left: Vec<_> = v
            .list_all()
            .unwrap()
            .into_iter()
            .map(|x| (x.path.to_string(), x.stored_ns))
            .collect();
        assert_eq!(
            left,
            [
                ("a.txt".to_string(), T0 + 3 * DAY),
                ("b/c.txt".to_string(), T0 + 2 * DAY)
            ]
        );
        assert_eq!(v.clean(T0 + 4 * DAY).unwrap(), CleanReport::default());

        // clean also applies keep per file, with options changed since.
        let v1 = Versions::new(dest.clone(), &opts(1)).unwrap();
        put(&*dest, &p("a.txt"), b"new", T0);
        v.preserve(&p("a.txt"), T0 + 5 * DAY).unwrap();
        let report = v1.clean(T0 + 6 * DAY).unwrap();
        assert_eq!(report.removed, 1);
        assert_eq!(report.bytes_freed, 10);
        assert_eq!(v1.list(&p("a.txt")).unwrap()[0].stored_ns, T0 + 5 * DAY);
    }

    #[test]
    fn clean_removes_emptied_folders_and_leaves_foreign_files() {
        let dir = tempfile::tempdir().unwrap();
        let dest = local(&dir);
        let o = VersionsOptions {
            max_age: Some(Age {
                amount: 1,
                unit: AgeUnit::Days,
            }),
            ..opts(5)
        };
        let v = Versions::new(dest.clone(), &o).unwrap();
        put(&*dest, &p("deep/x/y.txt"), b"old", T0);
        v.preserve(&p("deep/x/y.txt"), T0).unwrap();
        put(&*dest, &p("deep/z.txt"), b"new", T0);
        v.preserve(&p("deep/z.txt"), T0 + 3 * DAY).unwrap();
        let root = dir.path().join(DEFAULT_VERSIONS_FOLDER);
        fs::create_dir_all(root.join("empty/sub")).unwrap();
        fs::create_dir_all(root.join("mine")).unwrap();
        fs::write(root.join("mine/notes.txt"), b"not a version").unwrap();

        let report = v.clean(T0 + 3 * DAY).unwrap();
        assert_eq!(
            report,
            CleanReport {
                removed: 1,
                bytes_freed: 3
            }
        );
        assert!(!root.join("deep/x").exists());
        assert!(!root.join("empty").exists());
        assert!(root.join("deep").is_dir());
        assert!(root.join("mine/notes.txt").is_file());

        assert_eq!(v.clean(T0 + 9 * DAY).unwrap().removed, 1);
        assert!(!root.join("deep").exists());
        // The versions folder itself stays.
        assert!(root.is_dir());
    }

    #[test]
    fn stored_names_round_trip_through_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let dest = local(&dir);
        let v = Versions::new(dest.clone(), &opts(5)).unwrap();
        let names: [&[u8]; 7] = [
            b"report (final).txt",
            b"a (2020-01-01 000000.000).txt",
            b"Makefile",
            b".bashrc",
            b"caf\xe9.txt",
            b"\xff\xfe",
            b"archive.tar.gz",
        ];
        for (i, name) in names.iter().enumerate() {
            let path = p("sub").join(name).unwrap();
            put(&*dest, &path, name, T0 + i as i64);
            v.preserve(&path, T0 + DAY).unwrap();
            let list = v.list(&path).unwrap();
            assert_eq!(list.len(), 1, "{path:?}");
            assert_eq!(list[0].path, path);
            assert_eq!(content(&v, &list[0]), *name);
        }
        let all: Vec<_> = v.list_all().unwrap().into_iter().map(|x| x.path).collect();
        let mut expected: Vec<_> = names.iter().map(|n| p("sub").join(n).unwrap()).collect();
        expected.sort();
        assert_eq!(all, expected);
    }

    #[test]
    fn absolute_folder_elsewhere_keeps_mtime_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        // A different file system, when there is one: the rename fails and it is copied.
        let shm = Path::new("/dev/shm");
        let other_fs = shm
            .is_dir()
            .then(|| tempfile::tempdir_in(shm).ok())
            .flatten();
        // Faulty without faults hides the local paths, as a remote backend would.
        let remote = Arc::new(crate::transport::Faulty::new(LocalTransport::new(
            dir.path(),
        )));
        let local_dest: Arc<dyn Transport> = local(&dir);
        let cases: Vec<(Arc<dyn Transport>, &Path)> = [
            Some((local_dest.clone(), elsewhere.path())),
            other_fs.as_ref().map(|d| (local_dest.clone(), d.path())),
            Some((remote as Arc<dyn Transport>, elsewhere.path())),
        ]
        .into_iter()
        .flatten()
        .collect();
        for (i, (dest, folder)) in cases.into_iter().enumerate() {
            let o = VersionsOptions {
                folder: Some(folder.display().to_string()),
                ..opts(5)
            };
            let v = Versions::new(dest.clone(), &o).unwrap();
            assert_eq!(v.inside_destination(), None);
            let file = p(&format!("a{i}/f.txt"));
            put(&*dest, &file, b"data", T0);
            dest.set_meta(
                &file,
                &Meta {
                    mtime_ns: T0 + 7,
                    mode: Some(0o600),
                    owner: None,
                },
            )
            .unwrap();
            v.preserve(&file, T0 + DAY).unwrap();
            assert!(dest.stat(&file).unwrap().is_none(), "case {i}");
            assert!(!dir.path().join(DEFAULT_VERSIONS_FOLDER).exists());
            let stored = folder.join(format!("a{i}/f (2026-01-02 000000.000).txt"));
            assert_eq!(fs::read(&stored).unwrap(), b"data", "case {i}");
            let md = fs::metadata(&stored).unwrap();
            assert_eq!(md.mtime() * S + md.mtime_nsec(), T0 + 7, "case {i}");
            assert_eq!(md.permissions().mode() & 0o7777, 0o600, "case {i}");
            assert_eq!(v.list(&file).unwrap()[0].mtime_ns, T0 + 7);
        }
    }

    #[test]
    fn folder_is_validated_and_located() {
        let dir = tempfile::tempdir().unwrap();
        let dest: Arc<dyn Transport> = local(&dir);
        let with = |folder: &str| {
            Versions::new(
                dest.clone(),
                &VersionsOptions {
                    folder: Some(folder.to_string()),
                    ..opts(1)
                },
            )
        };
        for bad in ["../v", "a/../../v", "a\\..\\v", "/tmp/../etc", "", " ", "."] {
            let err = with(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad:?}");
        }
        assert!(with("../v").unwrap_err().to_string().contains(".."));
        assert_eq!(
            with(&dir.path().display().to_string()).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        let v = with("old/versions").unwrap();
        assert_eq!(v.inside_destination(), Some(&p("old/versions")));
        // An absolute folder inside a local destination is still excluded from the walk.
        let v = with(&dir.path().join("kept").display().to_string()).unwrap();
        assert_eq!(v.inside_destination(), Some(&p("kept")));
    }

    #[test]
    fn restore_copies_back_and_keeps_the_displaced_file() {
        let dir = tempfile::tempdir().unwrap();
        let dest = local(&dir);
        let v = Versions::new(dest.clone(), &opts(5)).unwrap();
        let file = p("f.txt");
        put(&*dest, &file, b"one", T0);
        v.preserve(&file, T0 + DAY).unwrap();
        put(&*dest, &file, b"two", T0 + DAY);
        let first = v.list(&file).unwrap().remove(0);

        v.restore_at(&first, &*dest, &file, T0 + 2 * DAY).unwrap();
        let now = dest.stat(&file).unwrap().unwrap();
        assert_eq!(
            (dest.read_to_vec(&file).unwrap(), now.mtime_ns),
            (b"one".to_vec(), T0)
        );
        let list = v.list(&file).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].stored_ns, T0 + 2 * DAY);
        assert_eq!(list[0].mtime_ns, T0 + DAY);
        assert_eq!(content(&v, &list[0]), b"two");
        assert_eq!(list[1], first);

        // Elsewhere, into a new folder.
        let other_dir = tempfile::tempdir().unwrap();
        let other = local(&other_dir);
        v.restore(&first, &*other, &p("x/y.txt")).unwrap();
        let y = other.stat(&p("x/y.txt")).unwrap().unwrap();
        assert_eq!((y.size, y.mtime_ns), (3, T0));
        assert_eq!(v.list(&p("x/y.txt")).unwrap(), []);

        // Over a folder: refused, nothing moved.
        other.create_dir_all(&p("d")).unwrap();
        let err = v.restore(&first, &*other, &p("d")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);

        let gone = Version {
            location: p("f (2001-01-01 000000.000).txt"),
            ..first
        };
        let err = v.restore(&gone, &*dest, &file).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(dest.read_to_vec(&file).unwrap(), b"one");
    }

    #[test]
    fn restore_tree_as_of_rebuilds_past_states() {
        let dir = tempfile::tempdir().unwrap();
        let dest = local(&dir);
        let v = Versions::new(dest.clone(), &opts(10)).unwrap();
        let (a, b, c) = (p("a.txt"), p("sub/b.txt"), p("c.txt"));
        let t = |s: i64| T0 + s * S;
        // t100: a1, b1 appear.
        put(&*dest, &a, b"a1", t(100));
        put(&*dest, &b, b"b1", t(100));
        // t200: a replaced by a2; c1 appears.
        v.preserve(&a, t(200)).unwrap();
        put(&*dest, &a, b"a2", t(200));
        put(&*dest, &c, b"c1", t(200));
        // t300: b deleted; a replaced by a3.
        v.preserve(&b, t(300)).unwrap();
        v.preserve(&a, t(300)).unwrap();
        put(&*dest, &a, b"a3", t(300));

        let state = |at: i64| {
            let out = tempfile::tempdir().unwrap();
            let report = v
                .restore_tree_as_of(at, &*dest, &*local(&out), &RestoreOptions::default())
                .unwrap();
            let files = snapshot(out.path());
            assert_eq!(report.files, files.len() as u64);
            let bytes: usize = files.values().map(|(d, _)| d.len()).sum();
            assert_eq!(report.bytes, bytes as u64);
            files
                .into_iter()
                .map(|(k, (data, mtime))| (k, String::from_utf8(data).unwrap(), mtime))
                .collect::<Vec<_>>()
        };
        let row = |k: &str, d: &str, m: i64| (k.to_string(), d.to_string(), m);
        assert_eq!(state(t(50)), []);
        assert_eq!(
            state(t(150)),
            [row("a.txt", "a1", t(100)), row("sub/b.txt", "b1", t(100))]
        );
        assert_eq!(
            state(t(250)),
            [
                row("a.txt", "a2", t(200)),
                row("c.txt", "c1", t(200)),
                row("sub/b.txt", "b1", t(100)),
            ]
        );
        assert_eq!(
            state(t(350)),
            [row("a.txt", "a3", t(300)), row("c.txt", "c1", t(200))]
        );
        // Nothing in the destination changed.
        assert_eq!(v.list_all().unwrap().len(), 3);
        assert_eq!(dest.read_to_vec(&a).unwrap(), b"a3");
    }

    /// A destination whose versions folder always looks free: as if another writer took
    /// each name right after this one looked.
    #[derive(Debug)]
    struct Blind(LocalTransport);

    impl Transport for Blind {
        fn describe(&self) -> String {
            self.0.describe()
        }
        fn capabilities(&self) -> Capabilities {
            self.0.capabilities()
        }
        fn stat(&self, path: &RelPath) -> Result<Option<Entry>> {
            if path.starts_with(&p(DEFAULT_VERSIONS_FOLDER)) && path.file_name() != b"versions" {
                return Ok(None);
            }
            self.0.stat(path)
        }
        fn stat_follow(&self, path: &RelPath) -> Result<Option<Entry>> {
            self.0.stat_follow(path)
        }
        fn read_dir(&self, dir: &RelPath) -> Result<Vec<Entry>> {
            self.0.read_dir(dir)
        }
        fn open(&self, path: &RelPath) -> Result<Box<dyn io::Read + Send>> {
            self.0.open(path)
        }
        fn write(&self, path: &RelPath, s: Source<'_>, m: &Meta, w: WriteMode) -> Result<u64> {
            self.0.write(path, s, m, w)
        }
        fn create_dir(&self, path: &RelPath) -> Result<()> {
            self.0.create_dir(path)
        }
        fn set_meta(&self, path: &RelPath, meta: &Meta) -> Result<()> {
            self.0.set_meta(path, meta)
        }
        fn remove_file(&self, path: &RelPath) -> Result<()> {
            self.0.remove_file(path)
        }
        fn remove_dir(&self, path: &RelPath) -> Result<()> {
            self.0.remove_dir(path)
        }
        fn rename(&self, from: &RelPath, to: &RelPath) -> Result<()> {
            self.0.rename(from, to)
        }
        fn rename_no_replace(&self, from: &RelPath, to: &RelPath) -> Result<()> {
            self.0.rename_no_replace(from, to)
        }
        fn read_link(&self, path: &RelPath) -> Result<Vec<u8>> {
            self.0.read_link(path)
        }
        fn symlink(&self, path: &RelPath, target: &[u8]) -> Result<()> {
            self.0.symlink(path, target)
        }
        fn local_path(&self, path: &RelPath) -> Option<PathBuf> {
            self.0.local_path(path)
        }
    }

    #[test]
    fn a_version_name_taken_after_the_look_is_never_replaced() {
        // Safety rule 9: the name was checked, then the file renamed onto it, replacing
        // whatever another writer had stored there meanwhile.
        let dir = tempfile::tempdir().unwrap();
        let dest: Arc<dyn Transport> = Arc::new(Blind(LocalTransport::new(dir.path())));
        let v = Versions::new(dest.clone(), &opts(10)).unwrap();
        let file = p("a.txt");
        for content in [&b"first"[..], b"second", b"third"] {
            put(&*dest, &file, content, T0);
            v.preserve(&file, T0 + DAY).unwrap();
        }
        let mut kept: Vec<_> = v
            .list(&file)
            .unwrap()
            .iter()
            .map(|x| content(&v, x))
            .collect();
        kept.sort();
        assert_eq!(kept, [&b"first"[..], b"second", b"third"]);
    }

    #[test]
    fn a_file_preserved_twice_in_one_millisecond_keeps_both() {
        let dir = tempfile::tempdir().unwrap();
        let dest = local(&dir);
        let v = Versions::new(dest.clone(), &opts(10)).unwrap();
        // Another Versions of the same folder (another run) shares no lock with `v`.
        let other = Versions::new(dest.clone(), &opts(10)).unwrap();
        let file = p("a.txt");
        put(&*dest, &file, b"one", T0);
        v.preserve(&file, T0 + DAY).unwrap();
        put(&*dest, &file, b"two", T0);
        other.preserve(&file, T0 + DAY).unwrap();
        let list = v.list(&file).unwrap();
        assert_eq!(
            locations(&list),
            [
                "a (2026-01-02 000000.000 #2).txt",
                "a (2026-01-02 000000.000).txt"
            ]
        );
        assert_eq!(content(&v, &list[0]), b"two");
        assert_eq!(content(&v, &list[1]), b"one");
    }

    /// A destination with versions of `a.txt` ("old" until t(200), stored then) and live
    /// files `a.txt` ("new") and `b.txt` ("bee"), both from t(100)...t(200).
    fn history(dir: &tempfile::TempDir) -> (Arc<LocalTransport>, Versions) {
        let dest = local(dir);
        let v = Versions::new(dest.clone(), &opts(10)).unwrap();
        put(&*dest, &p("a.txt"), b"old", T0 + 100 * S);
        v.preserve(&p("a.txt"), T0 + 200 * S).unwrap();
        put(&*dest, &p("a.txt"), b"new", T0 + 200 * S);
        put(&*dest, &p("b.txt"), b"bee", T0 + 100 * S);
        (dest, v)
    }

    fn overwrite() -> RestoreOptions {
        RestoreOptions { overwrite: true }
    }

    #[test]
    fn restoring_a_tree_into_a_folder_that_is_not_empty_is_refused() {
        // Issue 10, item 5: the restore wrote over the files the folder held.
        let dir = tempfile::tempdir().unwrap();
        let (dest, v) = history(&dir);
        let at = T0 + 150 * S;
        for holds in ["mine.txt", "a.txt", "empty/"] {
            let out = tempfile::tempdir().unwrap();
            match holds.strip_suffix('/') {
                Some(folder) => fs::create_dir(out.path().join(folder)).unwrap(),
                None => fs::write(out.path().join(holds), "mine").unwrap(),
            }
            let before = snapshot(out.path());
            let err = v
                .restore_tree_as_of(at, &*dest, &*local(&out), &RestoreOptions::default())
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{holds}");
            assert_eq!(err.path(), Some(out.path()), "{holds}");
            assert!(err.message().contains("overwrite"), "{err}");
            assert_eq!(snapshot(out.path()), before, "{holds}");
            assert!(!out.path().join(".ferrysync").exists());
        }
        // Missing or empty: written.
        let out = tempfile::tempdir().unwrap();
        let fresh = out.path().join("new/deeper");
        let r = v
            .restore_tree_as_of(
                at,
                &*dest,
                &LocalTransport::new(&fresh),
                &RestoreOptions::default(),
            )
            .unwrap();
        assert_eq!(r.files, 2);
        assert_eq!(fs::read(fresh.join("a.txt")).unwrap(), b"old");
    }

    #[test]
    fn overwriting_restores_keep_each_replaced_file_in_the_folders_own_versions() {
        let dir = tempfile::tempdir().unwrap();
        let (dest, v) = history(&dir);
        let out = tempfile::tempdir().unwrap();
        fs::write(out.path().join("a.txt"), "mine").unwrap();
        fs::write(out.path().join("other.txt"), "untouched").unwrap();
        let into = local(&out);
        let r = v
            .restore_tree_as_of(T0 + 150 * S, &*dest, &*into, &overwrite())
            .unwrap();
        assert_eq!((r.files, r.bytes), (2, 6));
        assert_eq!(fs::read(out.path().join("a.txt")).unwrap(), b"old");
        assert_eq!(fs::read(out.path().join("b.txt")).unwrap(), b"bee");
        assert_eq!(
            fs::read(out.path().join("other.txt")).unwrap(),
            b"untouched"
        );
        let own = Versions::new(into.clone(), &VersionsOptions::default()).unwrap();
        let kept = own.list_all().unwrap();
        assert_eq!(kept.len(), 1, "{kept:?}");
        assert_eq!(kept[0].path, p("a.txt"));
        assert_eq!(content(&own, &kept[0]), b"mine");
        // The destination's versions are not the target's.
        assert_eq!(v.list_all().unwrap().len(), 1);

        // Again: what the first restore wrote is kept in turn, under another name.
        v.restore_tree_as_of(T0 + 250 * S, &*dest, &*into, &overwrite())
            .unwrap();
        assert_eq!(fs::read(out.path().join("a.txt")).unwrap(), b"new");
        let kept: Vec<_> = own.list(&p("a.txt")).unwrap();
        let contents: Vec<_> = kept.iter().map(|x| content(&own, x)).collect();
        assert_eq!(contents.len(), 2);
        assert!(contents.contains(&b"mine".to_vec()) && contents.contains(&b"old".to_vec()));
        assert_eq!(own.list(&p("b.txt")).unwrap().len(), 1);
    }

    #[test]
    fn a_tree_restored_into_the_destination_keeps_what_it_replaces_as_versions() {
        let dir = tempfile::tempdir().unwrap();
        let (dest, v) = history(&dir);
        put(&*dest, &p("c.txt"), b"later", T0 + 300 * S);
        // Spelled differently, through a link: still the destination.
        let link = tempfile::tempdir().unwrap();
        let spelled = link.path().join("dest");
        std::os::unix::fs::symlink(dir.path(), &spelled).unwrap();
        let err = v
            .restore_tree_as_of(
                T0 + 150 * S,
                &*dest,
                &LocalTransport::new(&spelled),
                &RestoreOptions::default(),
            )
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        let r = v
            .restore_tree_as_of(
                T0 + 150 * S,
                &*dest,
                &LocalTransport::new(&spelled),
                &overwrite(),
            )
            .unwrap();
        assert_eq!(r.files, 1);
        assert_eq!(dest.read_to_vec(&p("a.txt")).unwrap(), b"old");
        assert_eq!(dest.read_to_vec(&p("b.txt")).unwrap(), b"bee");
        assert_eq!(dest.read_to_vec(&p("c.txt")).unwrap(), b"later");
        let a: Vec<_> = v.list(&p("a.txt")).unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(content(&v, &a[0]), b"new");
        assert_eq!(v.list_all().unwrap().len(), 2);
        assert!(!dir.path().join(".ferrysync/versions/.ferrysync").exists());
    }

    #[test]
    fn a_tree_restored_into_a_folder_of_the_destination_keeps_what_it_replaces_there() {
        let dir = tempfile::tempdir().unwrap();
        let (dest, v) = history(&dir);
        put(&*dest, &p("sub/a.txt"), b"sub's", T0);
        put(&*dest, &p("d/e/f.txt"), b"deep", T0);
        let into = LocalTransport::new(dir.path().join("sub"));
        v.restore_tree_as_of(T0 + 150 * S, &*dest, &into, &overwrite())
            .unwrap();
        assert_eq!(dest.read_to_vec(&p("sub/a.txt")).unwrap(), b"old");
        assert_eq!(dest.read_to_vec(&p("sub/d/e/f.txt")).unwrap(), b"deep");
        // What the restore wrote into `sub` is not walked and written again below it.
        assert!(!dir.path().join("sub/sub").exists());
        let kept = v.list(&p("sub/a.txt")).unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(content(&v, &kept[0]), b"sub's");
        assert!(!dir.path().join("sub/.ferrysync").exists());

        // Never into the versions folder itself.
        for inside in [".ferrysync/versions", ".ferrysync/versions/x"] {
            let into = LocalTransport::new(dir.path().join(inside));
            let err = v
                .restore_tree_as_of(T0 + 150 * S, &*dest, &into, &overwrite())
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{inside}");
        }
        assert!(!dir.path().join(".ferrysync/versions/x").exists());
    }

    #[test]
    fn a_version_restored_over_a_file_of_another_tree_keeps_it_there() {
        let dir = tempfile::tempdir().unwrap();
        let (_, v) = history(&dir);
        let old = v.list(&p("a.txt")).unwrap().remove(0);
        let out = tempfile::tempdir().unwrap();
        let other = local(&out);
        put(&*other, &p("x/y.txt"), b"theirs", T0);
        v.restore(&old, &*other, &p("x/y.txt")).unwrap();
        assert_eq!(other.read_to_vec(&p("x/y.txt")).unwrap(), b"old");
        let own = Versions::new(other.clone(), &VersionsOptions::default()).unwrap();
        let kept = own.list(&p("x/y.txt")).unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(content(&own, &kept[0]), b"theirs");
        assert_eq!(v.list(&p("x/y.txt")).unwrap(), []);

        // Nothing is restored into a versions folder.
        for to in [".ferrysync/versions/a.txt", ".ferrysync/versions"] {
            let err = v.restore(&old, &*other, &p(to)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{to}");
        }
    }

    #[test]
    fn versions_can_be_shared_by_worker_threads() {
        fn shared<T: Send + Sync + Clone>() {}
        shared::<Versions>();
    }
}
